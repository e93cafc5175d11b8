//! What the engine remembers about jobs and instances. Drivers and reports read it; only the
//! engine writes it.

use super::capacity::Resources;
use super::{InstanceId, LaunchFailure};
use crate::model::{
    ComputeEnvironmentId, InstanceTypeId, JobId, JobSpec, JobStatus, Market, SimTime,
};
use std::fmt;

/// Why a job or an attempt failed (`statusReason`, reference §1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusReason {
    /// The container exited non-zero: `Essential container in task exited`.
    EssentialContainerExited,
    /// The host went away: `Host EC2 (instance i-...) terminated.`
    HostTerminated(InstanceId),
    /// The kernel killed the container for exceeding its memory:
    /// `OutOfMemoryError: Container killed due to memory usage`.
    OutOfMemory,
    /// The container could not be created or started: `CannotStartContainerError`.
    CannotStartContainer,
    /// No instance type of the queue's compute environments can ever hold the job:
    /// `MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT`.
    JobResourceRequirement,
    /// The job asks for more vCPUs than every compute environment's `maxvCpus`:
    /// `MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE`.
    ComputeEnvironmentMaxResource,
    /// A job it depends on failed: `Dependent Job failed` (reference §1.7, OBS).
    DependencyFailed,
    /// A child of this array job failed: `Array Child Job failed` (reference §1.7, OBS).
    ArrayChildFailed,
    /// The attempt ran past `attemptDurationSeconds`: `Job attempt duration exceeded timeout`.
    Timeout,
    /// CancelJob was called while the job had not started.
    Cancelled,
    /// A `jobStateTimeLimitActions` entry cancelled the job stuck at the head of its queue.
    StateTimeLimit(BlockReason),
    /// The job was submitted to a DISABLED job queue (AWS refuses the SubmitJob call).
    QueueDisabled,
    /// TerminateJob was called.
    Terminated,
}

impl fmt::Display for StatusReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EssentialContainerExited => f.write_str("Essential container in task exited"),
            Self::HostTerminated(i) => write!(f, "Host EC2 (instance {i}) terminated."),
            Self::CannotStartContainer => f.write_str(
                "CannotStartContainerError: the container could not be created or started",
            ),
            Self::OutOfMemory => {
                f.write_str("OutOfMemoryError: Container killed due to memory usage")
            }
            Self::JobResourceRequirement => f.write_str(
                "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - All compute environments have no \
                 connected instances that meet the job requirements",
            ),
            Self::ComputeEnvironmentMaxResource => f.write_str(
                "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - All compute environments \
                 have a maxVcpu setting that is smaller than the job requirements",
            ),
            Self::DependencyFailed => f.write_str("Dependent Job failed"),
            Self::ArrayChildFailed => f.write_str("Array Child Job failed"),
            Self::Timeout => f.write_str("Job attempt duration exceeded timeout"),
            Self::Cancelled => f.write_str("Cancelled by CancelJob"),
            Self::StateTimeLimit(r) => write!(
                f,
                "Canceled by JobStateTimeLimit action due to reason: {}",
                r.as_str()
            ),
            Self::QueueDisabled => f.write_str("SubmitJob refused: the job queue is DISABLED"),
            Self::Terminated => f.write_str("Terminated by TerminateJob"),
        }
    }
}

impl StatusReason {
    /// Whether this reason marks a job that could never be placed.
    pub fn is_unplaceable(self) -> bool {
        matches!(
            self,
            Self::JobResourceRequirement | Self::ComputeEnvironmentMaxResource
        )
    }
}

/// Why the job at the head of a queue cannot be placed (its RUNNABLE `statusReason`,
/// reference §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BlockReason {
    /// A type it needs had no capacity, or every Spot pool is above the bid.
    InsufficientCapacity,
    /// Its compute environments are at `maxvCpus` (modelling choice: AWS's reason for a job
    /// larger than maxvCpus, used here for a queue waiting on the limit).
    MaxResource,
}

impl BlockReason {
    /// AWS's reason code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientCapacity => "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
            Self::MaxResource => "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        }
    }
}

/// One pass of a job through STARTING (and usually RUNNING).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Host it was placed on.
    pub instance: InstanceId,
    /// Entered STARTING.
    pub starting_at: SimTime,
    /// Entered RUNNING (`startedAt`), if it got there.
    pub running_at: Option<SimTime>,
    /// Ended (`stoppedAt`).
    pub stopped_at: Option<SimTime>,
    /// Container exit code, if the container exited.
    pub exit_code: Option<i32>,
    /// Why the attempt failed, if it did.
    pub status_reason: Option<StatusReason>,
    /// Device ids of the GPUs it held on its host.
    pub gpu_ids: Vec<u32>,
    /// Why the engine asked the driver to stop it (timeout or TerminateJob), if it did.
    pub stop_requested: Option<StopReason>,
}

/// Why the engine stops a running attempt; such an attempt is never retried (reference §1.5,
/// §1.4).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum StopReason {
    /// `attemptDurationSeconds` passed.
    Timeout,
    /// TerminateJob was called.
    Terminated,
}

impl StopReason {
    /// The job's `statusReason` after such a stop.
    pub fn status_reason(self) -> StatusReason {
        match self {
            Self::Timeout => StatusReason::Timeout,
            Self::Terminated => StatusReason::Terminated,
        }
    }
}

/// How a job belongs to an array job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayLink {
    /// The parent: never RUNNABLE; PENDING until every child has ended.
    Parent {
        /// Number of children (their ids follow the parent's).
        size: u32,
        /// Children not yet SUCCEEDED or FAILED.
        remaining: u32,
        /// Children that FAILED.
        failed: u32,
    },
    /// A child `parent:index` (`AWS_BATCH_JOB_ARRAY_INDEX`).
    Child {
        /// The array job.
        parent: JobId,
        /// 0-based index.
        index: u32,
    },
}

/// A job as the engine tracks it.
#[derive(Clone, Debug)]
pub struct JobRecord {
    /// What was submitted.
    pub spec: JobSpec,
    /// Current state.
    pub status: JobStatus,
    /// `statusReason` of a failed job.
    pub status_reason: Option<StatusReason>,
    /// Entered SUBMITTED (`createdAt`).
    pub submitted_at: SimTime,
    /// Entered PENDING (waiting for dependencies, or an array child or parent).
    pub pending_at: Option<SimTime>,
    /// First entered RUNNABLE.
    pub runnable_at: Option<SimTime>,
    /// Reached SUCCEEDED or FAILED.
    pub stopped_at: Option<SimTime>,
    /// Every attempt, in order; `AWS_BATCH_JOB_ATTEMPT` is its 1-based position.
    pub attempts: Vec<Attempt>,
    /// `isCancelled`: CancelJob (or TerminateJob before STARTING) ended it.
    pub is_cancelled: bool,
    /// `isTerminated`: TerminateJob ended it while STARTING or RUNNING.
    pub is_terminated: bool,
    /// Its place in an array job, if any.
    pub array: Option<ArrayLink>,
    /// While RUNNABLE at the head of a blocked queue: why, and since when.
    pub blocked: Option<(BlockReason, SimTime)>,
    /// Under a backfilling policy: the start time of the first reservation it was given (it
    /// starts no later unless a job overran its estimate or a host went away).
    pub first_reservation: Option<SimTime>,
    /// Started by backfilling: ahead of a job in front of it in its queue that was waiting.
    pub backfilled: bool,
    /// Dependencies not yet succeeded.
    pub(crate) deps_remaining: u32,
    /// CancelJob was called while it waited for dependencies (it ends when they complete).
    pub(crate) cancel_requested: bool,
    /// Jobs to tell when this one ends.
    pub(crate) dependents: Vec<JobId>,
    /// Position key in its queue (smaller runs first); kept so a job whose reserved
    /// instance failed to launch goes back exactly where it was.
    pub(crate) queue_key: super::queue::QueueKey,
    /// Its share of a fair-share queue (0 in a FIFO queue).
    pub(crate) share: u32,
    /// A booting instance this RUNNABLE job waits for.
    pub(crate) reserved_on: Option<InstanceId>,
}

impl JobRecord {
    /// What the job asks of a host.
    pub fn resources(&self) -> Resources {
        Resources {
            vcpus: self.spec.vcpus,
            memory_mib: self.spec.memory_mib,
            gpus: self.spec.gpus,
        }
    }

    /// The attempt in progress or last made.
    pub fn last_attempt(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// When the job first entered RUNNING, if it ever did.
    pub fn first_running_at(&self) -> Option<SimTime> {
        self.attempts.iter().find_map(|a| a.running_at)
    }
}

/// Lifecycle of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// Launch requested, not yet ready; jobs may be reserved on it.
    Pending,
    /// Registered and taking jobs.
    Ready,
    /// Received a Spot interruption notice: takes no new jobs.
    Draining,
    /// Gone (scaled in, reclaimed, or never launched).
    Terminated,
}

/// An instance as the engine tracks it.
#[derive(Clone, Debug)]
pub struct InstanceRecord {
    /// Compute environment that launched it.
    pub compute_environment: ComputeEnvironmentId,
    /// Its type.
    pub instance_type: InstanceTypeId,
    /// On-Demand or Spot.
    pub market: Market,
    /// Lifecycle state.
    pub state: InstanceState,
    /// When the launch was requested.
    pub launched_at: SimTime,
    /// When it became ready.
    pub ready_at: Option<SimTime>,
    /// When it was terminated or its launch failed.
    pub terminated_at: Option<SimTime>,
    /// Why its launch failed, if it did.
    pub launch_failure: Option<LaunchFailure>,
    /// Whether it was lost to a Spot interruption.
    pub interrupted: bool,
    /// Capacity neither used by placed jobs nor reserved by waiting ones.
    pub free: Resources,
    /// Free GPU device ids as a bit mask.
    pub(crate) free_gpu_mask: u64,
    /// Whether its type has GPUs.
    pub(crate) gpu_host: bool,
    /// Jobs placed on it (STARTING or RUNNING).
    pub(crate) jobs: Vec<JobId>,
    /// RUNNABLE jobs waiting for it to boot.
    pub(crate) reserved: Vec<JobId>,
    /// When it last became idle (no jobs, no reservations).
    pub(crate) idle_since: Option<SimTime>,
    /// Number of attempts it hosted.
    pub jobs_hosted: u32,
}

impl InstanceRecord {
    /// Whether it has no jobs and no reservations.
    pub fn is_idle(&self) -> bool {
        self.jobs.is_empty() && self.reserved.is_empty()
    }

    /// Whether it still exists (pending, ready or draining).
    pub fn is_alive(&self) -> bool {
        self.state != InstanceState::Terminated
    }
}
