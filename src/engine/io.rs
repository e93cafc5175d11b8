//! The engine's boundary: Inputs are facts (past tense) a driver reports; Commands are
//! requests (imperative) the engine makes. Expected failures (no capacity, a Spot reclaim)
//! arrive as Inputs.

use super::StopReason;
use crate::model::{ComputeEnvironmentId, InstanceTypeId, JobId, JobSpec, Market, MicroUsd};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of an instance the engine asked for, assigned in launch order starting at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceId(pub u32);

impl fmt::Display for InstanceId {
    /// EC2-style id: `i-` and 17 hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i-{:017x}", self.0 as u64 + 1)
    }
}

/// Why a launch did not produce an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LaunchFailure {
    /// The pool had no capacity (`InsufficientInstanceCapacity`).
    InsufficientInstanceCapacity,
    /// The Spot price is above the compute environment's `bidPercentage` cap.
    SpotPriceAboveMax,
}

impl LaunchFailure {
    /// EC2's error code spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientInstanceCapacity => "InsufficientInstanceCapacity",
            Self::SpotPriceAboveMax => "SpotMaxPriceTooLow",
        }
    }
}

/// A fact reported to the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A job was submitted; it gets the next [`JobId`].
    JobSubmitted(Box<JobSpec>),
    /// A launched instance booted and registered with the cluster.
    InstanceReady {
        /// The instance.
        instance: InstanceId,
    },
    /// A launch did not produce an instance.
    LaunchFailed {
        /// The instance that will not exist.
        instance: InstanceId,
        /// Why.
        reason: LaunchFailure,
    },
    /// A job's container started (STARTING → RUNNING).
    JobRunning {
        /// The job.
        job: JobId,
        /// 1-based attempt number the container belongs to.
        attempt: u32,
    },
    /// A job's container exited.
    JobExited {
        /// The job.
        job: JobId,
        /// 1-based attempt number.
        attempt: u32,
        /// The container's exit code.
        exit_code: i32,
        /// How it ended beyond its exit code (an OOM kill, a failed start).
        cause: ExitCause,
    },
    /// EC2 announced that a Spot instance will be reclaimed in two minutes.
    SpotInterruptionNotice {
        /// The instance.
        instance: InstanceId,
    },
    /// An instance is gone (Spot reclaim or host failure); its jobs' attempts have failed.
    InstanceTerminated {
        /// The instance.
        instance: InstanceId,
    },
    /// The Spot market price of a type changed.
    SpotPriceChanged {
        /// The instance type.
        instance_type: InstanceTypeId,
        /// New price per hour.
        price_per_hour: MicroUsd,
    },
    /// Somebody called CancelJob: a job not yet STARTING fails (`isCancelled`); a job
    /// STARTING or RUNNING is not affected (reference §1.4).
    CancelJobRequested {
        /// The job (an array job: its children not yet STARTING).
        job: JobId,
    },
    /// Somebody called TerminateJob: a job STARTING or RUNNING is stopped and fails
    /// (`isTerminated`); an earlier one is cancelled (reference §1.4).
    TerminateJobRequested {
        /// The job (an array job: all its children).
        job: JobId,
    },
    /// The time the engine asked for with `next_wakeup` has come.
    Wakeup,
}

/// How a container ended, beyond its exit code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExitCause {
    /// It ran and exited; the exit code decides.
    #[default]
    Exited,
    /// The kernel's OOM killer ended it (Docker's `State.OOMKilled`): the attempt fails with
    /// `OutOfMemoryError: Container killed due to memory usage` whatever the exit code (an
    /// OOM-killed child process can leave exit code 0).
    OutOfMemory,
    /// The container could not be created or started (bad image, refused device request):
    /// `CannotStartContainerError`.
    CannotStart,
}

/// A request from the engine to its driver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Launch one instance; the driver answers `InstanceReady` or `LaunchFailed`.
    LaunchInstance {
        /// Id the engine assigned.
        instance: InstanceId,
        /// Compute environment it belongs to.
        compute_environment: ComputeEnvironmentId,
        /// Type to launch.
        instance_type: InstanceTypeId,
        /// On-Demand or Spot.
        market: Market,
        /// Spot only: the highest price per hour to pay (`bidPercentage` × On-Demand).
        max_price_per_hour: MicroUsd,
    },
    /// Take an existing host of an UNMANAGED compute environment into use; the driver
    /// answers `InstanceReady` when it can run jobs.
    AdoptHost {
        /// Id the engine assigned.
        instance: InstanceId,
        /// The UNMANAGED compute environment.
        compute_environment: ComputeEnvironmentId,
        /// The host's own type (see `Cluster::add_unmanaged_host_types`).
        instance_type: InstanceTypeId,
    },
    /// Terminate an instance (scale-in).
    TerminateInstance {
        /// The instance.
        instance: InstanceId,
    },
    /// Start an attempt of a job on an instance; the driver answers `JobRunning`, then
    /// `JobExited` (or `InstanceTerminated` if the host goes first).
    StartJob {
        /// The job.
        job: JobId,
        /// The host.
        instance: InstanceId,
        /// 1-based attempt (`AWS_BATCH_JOB_ATTEMPT`).
        attempt: u32,
        /// Device indices of the GPUs reserved for it on that host (empty for CPU jobs).
        gpu_ids: Vec<u32>,
    },
    /// Stop an attempt: SIGTERM, then SIGKILL 30 s later if it still runs (reference §1.5);
    /// the driver answers `JobExited` (or `InstanceTerminated`).
    StopJob {
        /// The job.
        job: JobId,
        /// Its host.
        instance: InstanceId,
        /// The attempt to stop.
        attempt: u32,
        /// Why.
        reason: StopReason,
    },
}

/// Time between the SIGTERM and the SIGKILL of a [`Command::StopJob`].
pub const STOP_GRACE: crate::model::SimDuration = crate::model::SimDuration::from_secs(30);
