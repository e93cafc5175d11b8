//! One attempt of a job as an executor sees it: what to run and how it ended.

use std::path::PathBuf;

/// Everything an executor needs to run one attempt, already resolved from the job
/// definition, its overrides and the engine's placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptSpec {
    /// Container (or process) name, unique per run, job and attempt:
    /// `flotilla-<run>-<job index>-<attempt>`. Creating it twice fails, so an attempt can
    /// never be started twice.
    pub name: String,
    /// Image to run (Docker executors only).
    pub image: String,
    /// Command: for Docker the container's `Cmd` (after the image's entrypoint); for a
    /// process executor the program and its arguments.
    pub command: Vec<String>,
    /// Environment, job definition first, then overrides, then the `AWS_BATCH_*` variables.
    pub env: Vec<(String, String)>,
    /// vCPUs the engine reserved: the hard CPU limit.
    pub vcpus: u32,
    /// MiB the engine reserved: the hard memory limit (no swap).
    pub memory_mib: u64,
    /// Device ids of the GPUs the engine assigned, as the host names them (UUIDs where
    /// known, else indices).
    pub gpu_devices: Vec<String>,
    /// Labels naming the run, job and attempt (Docker only; how a resumed driver finds it).
    pub labels: Vec<(String, String)>,
    /// Whether the job definition asks for a network (`networkConfiguration`); none otherwise.
    pub network: bool,
    /// Linux capabilities to keep (all others are dropped).
    pub capabilities: Vec<String>,
    /// `readonlyRootFilesystem`.
    pub read_only_root: bool,
    /// Where the attempt's stdout and stderr are written once it ends.
    pub log_dir: PathBuf,
}

/// How an attempt ended, as an executor observed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The container or process exited.
    Exited {
        /// Its exit code (128 + signal for a signal death).
        exit_code: i32,
        /// The kernel's OOM killer ended it (Docker's `State.OOMKilled`).
        oom_killed: bool,
    },
    /// It could not be created or started (bad image, bad command, device request refused).
    StartFailed(String),
    /// The host stopped answering while the attempt ran.
    HostLost(String),
}
