//! Jobs and their states.

use super::{JobQueueId, SimDuration};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a job in a run, assigned in submission order starting at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub u32);

/// The seven AWS Batch job states (reference §1.1). There is no CANCELLED state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Accepted by the queue, not yet evaluated.
    Submitted,
    /// Waiting for dependencies.
    Pending,
    /// Waiting for capacity.
    Runnable,
    /// Placed on an instance; the container is being started.
    Starting,
    /// The container runs (an attempt).
    Running,
    /// Exited 0.
    Succeeded,
    /// Failed all attempts, or was failed by the scheduler.
    Failed,
}

impl JobStatus {
    /// All states in lifecycle order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Submitted,
        JobStatus::Pending,
        JobStatus::Runnable,
        JobStatus::Starting,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
    ];

    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Pending => "PENDING",
            Self::Runnable => "RUNNABLE",
            Self::Starting => "STARTING",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }

    /// SUCCEEDED or FAILED.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job asks the scheduler for; the engine sees no run time or exit code, which are
/// facts of the world the driver owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job's name or id as the trace gives it.
    pub name: String,
    /// The job queue it is submitted to.
    pub queue: JobQueueId,
    /// vCPUs reserved.
    pub vcpus: u32,
    /// Memory reserved, MiB (a hard limit).
    pub memory_mib: u32,
    /// Whole GPUs reserved.
    pub gpus: u32,
    /// `retryStrategy.attempts`, 1 to 10.
    pub attempts: u32,
    /// `timeout.attemptDurationSeconds`, if any (carried for the record; enforced by a later
    /// issue's engine rules).
    pub timeout: Option<SimDuration>,
}
