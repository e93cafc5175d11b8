//! Plain data in AWS Batch's vocabulary: no behaviour that needs time or I/O.

mod catalog;
mod environment;
mod job;
mod money;
mod time;

pub use catalog::{
    registered_memory_mib, Catalog, InstanceType, InstanceTypeId, InterruptionBucket,
};
pub use environment::{
    AllocationStrategy, ComputeEnvironment, ComputeEnvironmentId, FairsharePolicy, JobQueue,
    JobQueueId, JobStateTimeLimitAction, Market, ShareWeight, UnmanagedHost,
};
pub use job::{
    glob_matches, retry_action, ArrayProperties, DependencyType, EvaluateOnExit, JobDependency,
    JobId, JobSpec, JobStatus, NodeProperties, NodeRange, RetryAction,
};
pub use money::MicroUsd;
pub use time::{SimDuration, SimTime};

/// What the engine is configured with: everything static about a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Instance types that can be launched.
    pub catalog: Catalog,
    /// Managed compute environments, indexed by [`ComputeEnvironmentId`].
    pub compute_environments: Vec<ComputeEnvironment>,
    /// Job queues, indexed by [`JobQueueId`].
    pub job_queues: Vec<JobQueue>,
    /// Scheduler options that are not AWS settings.
    pub options: SchedulingOptions,
}

/// Scheduler options flotilla adds to AWS Batch's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulingOptions {
    /// Keep jobs that need no GPU off GPU instance types (off by default, as AWS does not
    /// do it, reference §8): such jobs are neither placed on GPU hosts nor launch them.
    pub keep_cpu_jobs_off_gpu_instances: bool,
}

use serde::{Deserialize, Serialize};

impl Cluster {
    /// The compute environment with this id.
    pub fn ce(&self, id: ComputeEnvironmentId) -> &ComputeEnvironment {
        &self.compute_environments[id.0 as usize]
    }

    /// The job queue with this id.
    pub fn queue(&self, id: JobQueueId) -> &JobQueue {
        &self.job_queues[id.0 as usize]
    }

    /// Finds a job queue by name.
    pub fn find_queue(&self, name: &str) -> Option<JobQueueId> {
        self.job_queues
            .iter()
            .position(|q| q.name == name)
            .map(|i| JobQueueId(i as u16))
    }
}
