//! The process executor: runs an attempt as a plain child process of the driver, for GPU
//! hosts without Docker and any host declared `executor = "process"`.
//!
//! **No isolation.** Unlike the Docker executor, this one enforces none of the attempt's
//! limits: `vcpus` and `memory_mib` are not applied (no cgroups; the engine's accounting is
//! the only thing keeping jobs from overcommitting the host), and GPUs are assigned only
//! through `CUDA_VISIBLE_DEVICES` / `NVIDIA_VISIBLE_DEVICES`, which are advisory: a process can
//! change them, and NVML / `nvidia-smi` see every GPU regardless. `image`, `labels`,
//! `network`, `capabilities` and `read_only_root` are ignored. An OOM kill shows as a plain
//! SIGKILL (exit 137), never as `oom_killed`. Use Docker hosts where jobs must be contained.
//!
//! What it does provide, container-like:
//!
//! * a clean environment: only `PATH` and `HOME` from the driver, then the attempt's `env`,
//!   then the GPU variables;
//! * a fresh working directory `<log_dir>/work`, stdout and stderr in
//!   `<log_dir>/stdout.log` / `stderr.log`;
//! * its own process group, so that a stop reaches everything the job started (SIGTERM, then
//!   SIGKILL after the grace period), and whatever the job left running in that group when its
//!   main process ends is killed too, as it would be when a container ends. A job that moves a
//!   child into another group or session (`setsid`, daemons) escapes both.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::attempt::{AttemptSpec, Outcome};

/// Runs one attempt as a local process and waits for it to end.
///
/// * `spec.command[0]` is the program (looked up in the driver's `PATH`), the rest its
///   arguments; an empty command, a log directory that cannot be prepared or a program that
///   cannot be spawned → [`Outcome::StartFailed`] naming the cause.
/// * Environment: cleared, then `PATH` and `HOME` from the driver, then `spec.env` (which may
///   override them), then `CUDA_VISIBLE_DEVICES` and `NVIDIA_VISIBLE_DEVICES` set to
///   `spec.gpu_devices` joined with commas. They are set **even when no GPU is assigned**: CUDA
///   treats an empty `CUDA_VISIBLE_DEVICES` as "no device visible", whereas an unset one means
///   "every GPU". `CUDA_DEVICE_ORDER=PCI_BUS_ID` is added unless `spec.env` sets it, so that
///   GPU indices mean what `nvidia-smi` (and [`super::gpu`]) numbered (CUDA's default order is
///   fastest-first); UUIDs are unaffected.
/// * `running` is sent once the process has been spawned (a dropped receiver is ignored).
/// * When `stop` holds or changes to `Some(grace)`, the process group gets SIGTERM, then
///   SIGKILL once `grace` has passed if the main process is still alive. A later `Some` with a
///   shorter grace brings the SIGKILL forward (`Some(Duration::ZERO)`: kill now); `None` and a
///   dropped sender are ignored (a stop cannot be taken back).
/// * Returns [`Outcome::Exited`] with the exit code, or 128 + the signal number for a signal
///   death (143 for SIGTERM, 137 for SIGKILL), and `oom_killed: false` always (see the module
///   docs). If waiting on the child fails — the driver lost track of it — the group is killed
///   and [`Outcome::HostLost`] is returned.
///
/// If the future is dropped before the process ends, the whole process group is killed.
pub async fn run_process(
    spec: &AttemptSpec,
    mut stop: watch::Receiver<Option<Duration>>,
    running: oneshot::Sender<()>,
) -> Outcome {
    let Some((program, args)) = spec.command.split_first() else {
        return Outcome::StartFailed(format!(
            "{}: empty command: the process executor needs a program to run",
            spec.name
        ));
    };
    let (stdout, stderr, work_dir) = match prepare_dirs(&spec.log_dir) {
        Ok(prepared) => prepared,
        Err(e) => return Outcome::StartFailed(format!("{}: {e}", spec.name)),
    };

    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .current_dir(&work_dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    for var in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    for (key, value) in &spec.env {
        cmd.env(key, value);
    }
    if !spec.env.iter().any(|(key, _)| key == "CUDA_DEVICE_ORDER") {
        cmd.env("CUDA_DEVICE_ORDER", "PCI_BUS_ID");
    }
    // Last, so that the job's own env cannot widen its GPU assignment by accident.
    let visible = spec.gpu_devices.join(",");
    cmd.env("CUDA_VISIBLE_DEVICES", &visible)
        .env("NVIDIA_VISIBLE_DEVICES", &visible);
    // Its own process group (pgid = its pid), so signals reach the job's children too.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);

    let mut cmd = tokio::process::Command::from(cmd);
    // Belt and braces with `GroupGuard`: also lets tokio reap the killed child in the
    // background when the future is dropped.
    cmd.kill_on_drop(true);
    let spawned = cmd.spawn();
    // Close our copies of the log files now, not when `run_process` returns.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            return Outcome::StartFailed(format!("{}: cannot start `{program}`: {e}", spec.name))
        }
    };
    let Some(pgid) = child.id() else {
        // `id()` is only `None` once the child has been reaped, which cannot have happened yet.
        return Outcome::StartFailed(format!("{}: `{program}` has no process id", spec.name));
    };
    let mut guard = GroupGuard { pgid, armed: true };
    // A resumed driver finds the group here to kill it (see `abandon`).
    let _ = std::fs::write(spec.log_dir.join(PGID_FILE), pgid.to_string());
    let _ = running.send(());

    let status = supervise(&mut child, pgid, &mut stop).await;
    guard.armed = false;
    // Sweep up whatever the job left running in its group (as a container's end would). The
    // pgid cannot have been reused: the kernel keeps a pid allocated while any process still
    // has it as its group id, and if none does this finds nothing.
    signal_group(pgid, "KILL").await;
    match status {
        Ok(status) => Outcome::Exited {
            exit_code: exit_code(status),
            oom_killed: false,
        },
        Err(e) => Outcome::HostLost(format!(
            "{}: lost track of `{program}` (pid {pgid}): {e}",
            spec.name
        )),
    }
}

/// Creates `log_dir`, opens `stdout.log` / `stderr.log` there (truncated) and makes a fresh,
/// empty `work` directory (a leftover from an earlier run of the same attempt is removed).
fn prepare_dirs(log_dir: &Path) -> Result<(File, File, PathBuf), String> {
    let context = |what: &str, path: &Path, e: io::Error| format!("{what} {}: {e}", path.display());
    fs::create_dir_all(log_dir).map_err(|e| context("cannot create log directory", log_dir, e))?;
    let open = |name: &str| {
        let path = log_dir.join(name);
        File::create(&path).map_err(|e| context("cannot create", &path, e))
    };
    let stdout = open("stdout.log")?;
    let stderr = open("stderr.log")?;
    let work_dir = log_dir.join("work");
    match fs::remove_dir_all(&work_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(context("cannot clear old working directory", &work_dir, e)),
    }
    fs::create_dir(&work_dir)
        .map_err(|e| context("cannot create working directory", &work_dir, e))?;
    Ok((stdout, stderr, work_dir))
}

/// Waits for the child, carrying out stop requests meanwhile.
async fn supervise(
    child: &mut tokio::process::Child,
    pgid: u32,
    stop: &mut watch::Receiver<Option<Duration>>,
) -> io::Result<ExitStatus> {
    // When SIGKILL is due, once SIGTERM has been sent.
    let mut kill_at: Option<Instant> = None;
    let mut killed = false;
    let mut stop_open = true;
    // A stop requested before the process started applies at once: the watch channel only
    // reports changes made after the value was last seen.
    let initial = *stop.borrow_and_update();
    if let Some(grace) = initial {
        request_stop(pgid, grace, &mut kill_at).await;
    }
    loop {
        let kill_timer = async {
            match kill_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = child.wait() => return status,
            changed = stop.changed(), if stop_open => match changed {
                // Sender gone: nobody can ask for a stop any more; just wait for the end.
                Err(_) => stop_open = false,
                Ok(()) => {
                    let requested = *stop.borrow_and_update();
                    if let Some(grace) = requested {
                        request_stop(pgid, grace, &mut kill_at).await;
                    }
                }
            },
            () = kill_timer, if !killed => {
                signal_group(pgid, "KILL").await;
                killed = true;
            }
        }
    }
}

/// SIGTERM on the first request; every request may bring the SIGKILL deadline forward.
async fn request_stop(pgid: u32, grace: Duration, kill_at: &mut Option<Instant>) {
    let deadline = Instant::now() + grace;
    match kill_at {
        Some(at) => *at = (*at).min(deadline),
        None => {
            signal_group(pgid, "TERM").await;
            *kill_at = Some(deadline);
        }
    }
}

/// Sends `signal` (a name: `TERM`, `KILL`) to every process in group `pgid`.
///
/// There is no `libc` (or `nix`) dependency to call `kill(2)` with, so this runs the shell's
/// `kill` builtin: `/bin/sh` is on every Unix host, whereas a `/bin/kill` binary is not (slim
/// Debian images lack procps). `-- -PGID` makes the negative number a process group rather
/// than an option. Failure is ignored: "no such process" means the group is already gone.
async fn signal_group(pgid: u32, signal: &str) {
    let _ = tokio::process::Command::new("/bin/sh")
        .args(kill_args(pgid, signal))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Blocking [`signal_group`], for `Drop`.
fn signal_group_blocking(pgid: u32, signal: &str) {
    let _ = std::process::Command::new("/bin/sh")
        .args(kill_args(pgid, signal))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `sh -c 'kill -s SIG -- "-$1"' sh PGID`: values passed as arguments, never spliced into the
/// script.
fn kill_args(pgid: u32, signal: &str) -> [String; 5] {
    [
        "-c".to_string(),
        "kill -s \"$1\" -- \"-$2\"".to_string(),
        "sh".to_string(),
        signal.to_string(),
        pgid.to_string(),
    ]
}

/// Kills the process group if `run_process` is dropped before the process ended (driver
/// shutdown, a cancelled task), so no job outlives its supervision.
struct GroupGuard {
    pgid: u32,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            signal_group_blocking(self.pgid, "KILL");
        }
    }
}

/// The exit code, or 128 + signal for a signal death, as a shell (and Docker) reports it.
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        // Unreachable on Unix: a reaped process either exited or was killed by a signal.
        (None, None) => -1,
    }
}

/// Where a process attempt's process group id is kept.
const PGID_FILE: &str = "pgid";

/// After a driver restart a process attempt cannot be picked up (its exit status went to the
/// dead driver): its process group, if still there, is killed and the attempt counts as
/// killed (exit 137), to be retried per its retry strategy. Never run twice at once.
pub async fn abandon(spec: &AttemptSpec) -> Outcome {
    if let Some(pgid) = std::fs::read_to_string(spec.log_dir.join(PGID_FILE))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    {
        signal_group(pgid, "KILL").await;
    }
    Outcome::Exited {
        exit_code: 137,
        oom_killed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant as StdInstant;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn spec(log_dir: &Path, command: &[&str], gpus: &[&str]) -> AttemptSpec {
        AttemptSpec {
            name: "flotilla-test-0-1".to_string(),
            image: String::new(),
            command: command.iter().map(|s| s.to_string()).collect(),
            env: vec![("JOB_VAR".to_string(), "job value".to_string())],
            vcpus: 1,
            memory_mib: 64,
            gpu_devices: gpus.iter().map(|s| s.to_string()).collect(),
            labels: vec![],
            network: false,
            capabilities: vec![],
            read_only_root: false,
            log_dir: log_dir.to_path_buf(),
        }
    }

    /// Runs `spec` with a stop channel; `stop_after` sends `Some(grace)` that long after the
    /// process reported running. Returns the outcome, whether `running` fired, and the time
    /// from the stop request to the end.
    fn run(
        spec: &AttemptSpec,
        stop_after: Option<(Duration, Duration)>,
    ) -> (Outcome, bool, Duration) {
        runtime().block_on(async {
            let (stop_tx, stop_rx) = watch::channel(None);
            let (running_tx, running_rx) = oneshot::channel();
            let task = run_process(spec, stop_rx, running_tx);
            let control = async {
                let started = running_rx.await.is_ok();
                if let Some((after, grace)) = stop_after {
                    if started {
                        tokio::time::sleep(after).await;
                        stop_tx.send(Some(grace)).unwrap();
                    }
                }
                (started, StdInstant::now())
            };
            let (outcome, (started, stop_sent)) = tokio::join!(task, control);
            (outcome, started, stop_sent.elapsed())
        })
    }

    #[test]
    fn exit_code_env_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = dir.path().join("attempt");
        let s = spec(
            &log_dir,
            &[
                "sh",
                "-c",
                "echo $CUDA_VISIBLE_DEVICES; echo \"nv=$NVIDIA_VISIBLE_DEVICES job=$JOB_VAR order=$CUDA_DEVICE_ORDER cwd=$(pwd)\"; echo oops >&2; exit 3",
            ],
            &["1"],
        );
        let (outcome, started, _) = run(&s, None);
        assert!(started);
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 3,
                oom_killed: false
            }
        );
        let stdout = fs::read_to_string(log_dir.join("stdout.log")).unwrap();
        let mut lines = stdout.lines();
        assert_eq!(lines.next(), Some("1"));
        let work = log_dir.join("work").canonicalize().unwrap();
        assert_eq!(
            lines.next().unwrap(),
            format!("nv=1 job=job value order=PCI_BUS_ID cwd={}", work.display())
        );
        assert_eq!(
            fs::read_to_string(log_dir.join("stderr.log")).unwrap(),
            "oops\n"
        );
    }

    #[test]
    fn env_is_cleared_and_no_gpu_means_empty() {
        let dir = tempfile::tempdir().unwrap();
        // Set in the test process (by cargo) and so a canary for leaking the parent's env.
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let s = spec(
            dir.path(),
            &[
                "sh",
                "-c",
                "echo \"cuda=${CUDA_VISIBLE_DEVICES-unset} nv=${NVIDIA_VISIBLE_DEVICES-unset} cargo=${CARGO_PKG_NAME-unset}\"",
            ],
            &[],
        );
        let (outcome, _, _) = run(&s, None);
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 0,
                oom_killed: false
            }
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("stdout.log")).unwrap(),
            "cuda= nv= cargo=unset\n"
        );
    }

    #[test]
    fn several_gpus_are_comma_joined() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(
            dir.path(),
            &["sh", "-c", "echo $CUDA_VISIBLE_DEVICES"],
            &["GPU-aaa", "GPU-bbb"],
        );
        run(&s, None);
        assert_eq!(
            fs::read_to_string(dir.path().join("stdout.log")).unwrap(),
            "GPU-aaa,GPU-bbb\n"
        );
    }

    #[test]
    fn stop_sends_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), &["sleep", "30"], &[]);
        let t0 = StdInstant::now();
        let (outcome, started, _) = run(
            &s,
            Some((Duration::from_millis(100), Duration::from_millis(200))),
        );
        assert!(started);
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 143,
                oom_killed: false
            }
        );
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    }

    #[test]
    fn sigkill_after_grace_when_sigterm_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), &["sh", "-c", "trap '' TERM; sleep 30"], &[]);
        let t0 = StdInstant::now();
        let (outcome, _, since_stop) = run(
            &s,
            Some((Duration::from_millis(100), Duration::from_millis(200))),
        );
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 137,
                oom_killed: false
            }
        );
        // Not before the grace (SIGTERM was ignored), and not much after.
        assert!(since_stop >= Duration::from_millis(200), "{since_stop:?}");
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    }

    #[test]
    fn stop_reaches_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        // The shell waits on a background child that writes its pid; SIGTERM to the group
        // must end both.
        let s = spec(
            dir.path(),
            &["sh", "-c", "sleep 30 & echo $! > child.pid; wait"],
            &[],
        );
        let (outcome, _, _) = run(
            &s,
            Some((Duration::from_millis(300), Duration::from_secs(5))),
        );
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 143,
                oom_killed: false
            }
        );
        let pid = fs::read_to_string(dir.path().join("work/child.pid")).unwrap();
        assert!(
            !process_alive(pid.trim()),
            "background sleep {pid} survived"
        );
    }

    #[test]
    fn leftovers_are_killed_when_main_process_exits() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(
            dir.path(),
            &[
                "sh",
                "-c",
                "sleep 30 >/dev/null 2>&1 & echo $! > child.pid; exit 0",
            ],
            &[],
        );
        let (outcome, _, _) = run(&s, None);
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 0,
                oom_killed: false
            }
        );
        let pid = fs::read_to_string(dir.path().join("work/child.pid")).unwrap();
        assert!(
            !process_alive(pid.trim()),
            "background sleep {pid} survived"
        );
    }

    /// Whether `pid` names a live (not zombie) process. A killed grandchild is reaped by init
    /// (or the nearest subreaper) a moment later, so poll briefly.
    fn process_alive(pid: &str) -> bool {
        for _ in 0..100 {
            match fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return false,
                // Field 3 is the state; `Z` zombie, `X` dead.
                Ok(stat) => {
                    let state = stat
                        .rsplit(')')
                        .next()
                        .unwrap_or("")
                        .split_whitespace()
                        .next();
                    if matches!(state, Some("Z") | Some("X")) {
                        return false;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    #[test]
    fn dropping_the_future_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(
            dir.path(),
            &["sh", "-c", "sleep 30 & echo $! > child.pid; wait"],
            &[],
        );
        let result = runtime().block_on(async {
            let (_stop_tx, stop_rx) = watch::channel(None);
            let (running_tx, _running_rx) = oneshot::channel();
            tokio::time::timeout(
                Duration::from_millis(300),
                run_process(&s, stop_rx, running_tx),
            )
            .await
        });
        assert!(result.is_err(), "{result:?}");
        let pid = fs::read_to_string(dir.path().join("work/child.pid")).unwrap();
        assert!(
            !process_alive(pid.trim()),
            "background sleep {pid} survived"
        );
    }

    #[test]
    fn stop_requested_before_start_applies() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), &["sleep", "30"], &[]);
        let outcome = runtime().block_on(async {
            let (_stop_tx, stop_rx) = watch::channel(Some(Duration::from_secs(5)));
            let (running_tx, _running_rx) = oneshot::channel();
            run_process(&s, stop_rx, running_tx).await
        });
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 143,
                oom_killed: false
            }
        );
    }

    #[test]
    fn dropped_stop_sender_just_waits() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), &["sh", "-c", "sleep 0.2; exit 7"], &[]);
        let outcome = runtime().block_on(async {
            let (stop_tx, stop_rx) = watch::channel(None);
            drop(stop_tx);
            let (running_tx, _running_rx) = oneshot::channel();
            run_process(&s, stop_rx, running_tx).await
        });
        assert_eq!(
            outcome,
            Outcome::Exited {
                exit_code: 7,
                oom_killed: false
            }
        );
    }

    #[test]
    fn missing_program_fails_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), &["no-such-program-flotilla-test", "x"], &[]);
        let (outcome, started, _) = run(&s, None);
        assert!(!started);
        match outcome {
            Outcome::StartFailed(e) => {
                assert!(e.contains("no-such-program-flotilla-test"), "{e}")
            }
            other => panic!("expected StartFailed, got {other:?}"),
        }
    }

    #[test]
    fn empty_command_fails_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), &[], &[]);
        let (outcome, started, _) = run(&s, None);
        assert!(!started);
        assert!(
            matches!(&outcome, Outcome::StartFailed(e) if e.contains("empty command")),
            "{outcome:?}"
        );
    }

    #[test]
    fn work_dir_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("work")).unwrap();
        fs::write(dir.path().join("work/stale"), "old").unwrap();
        let s = spec(dir.path(), &["sh", "-c", "ls -A"], &[]);
        run(&s, None);
        assert_eq!(
            fs::read_to_string(dir.path().join("stdout.log")).unwrap(),
            ""
        );
    }

    #[test]
    fn signal_exit_codes() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
    }
}
