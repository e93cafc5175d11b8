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
    /// Scheduling policies by name (`[scheduler] policy`, `--policy`); empty: AWS Batch's
    /// (see `engine::policy`).
    pub policy: crate::engine::policy::PolicySpec,
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

    /// Gives every UNMANAGED compute environment's hosts an instance type of their own
    /// (`<compute environment>/<host>`, family `unmanaged`, no price, no Spot offer, ready at
    /// once) and makes those the compute environment's `instanceTypes`, so hosts are placed,
    /// recorded and reported like instances. Does nothing the second time.
    pub fn add_unmanaged_host_types(&mut self) {
        for c in 0..self.compute_environments.len() {
            let ce = &self.compute_environments[c];
            if ce.unmanaged_hosts.is_empty() || !ce.instance_types.is_empty() {
                continue;
            }
            let types: Vec<InstanceType> = ce
                .unmanaged_hosts
                .iter()
                .map(|h| InstanceType {
                    name: format!("{}/{}", ce.name, h.name),
                    family: "unmanaged".into(),
                    vcpus: h.vcpus,
                    memory_mib: h.memory_mib,
                    registered_memory_mib: h.memory_mib,
                    gpus: h.gpus,
                    gpu_model: String::new(),
                    gpu_memory_mib: 0,
                    on_demand_per_hour: MicroUsd::ZERO,
                    spot_savings_pct: None,
                    interruption_bucket: None,
                    boot_delay: SimDuration::ZERO,
                })
                .collect();
            let ids = types.into_iter().map(|t| self.catalog.push(t)).collect();
            self.compute_environments[c].instance_types = ids;
        }
    }

    /// Finds a job queue by name.
    pub fn find_queue(&self, name: &str) -> Option<JobQueueId> {
        self.job_queues
            .iter()
            .position(|q| q.name == name)
            .map(|i| JobQueueId(i as u16))
    }
}
