//! The environment variables AWS Batch sets in a job's container (reference §6.1), computed
//! from the engine's records so that every driver passes the same ones.

use super::{ArrayLink, Engine, InstanceId};
use crate::model::JobId;

impl Engine {
    /// `AWS_BATCH_*` variables of `job`'s current (or last) attempt, in a fixed order:
    /// `AWS_BATCH_JOB_ID` (the parent's id and `:index` for an array child),
    /// `AWS_BATCH_JOB_ATTEMPT` (1-based), `AWS_BATCH_JQ_NAME`, `AWS_BATCH_CE_NAME` and, for an
    /// array child, `AWS_BATCH_JOB_ARRAY_INDEX`; for a node of a multi-node job,
    /// `AWS_BATCH_JOB_NUM_NODES`, `AWS_BATCH_JOB_NODE_INDEX`, `AWS_BATCH_JOB_MAIN_NODE_INDEX` and
    /// `AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS`. Then the job definition's `environment`.
    pub fn batch_environment(&self, job: JobId) -> Vec<(String, String)> {
        let Some(j) = self.jobs.get(job.0 as usize) else {
            return Vec::new();
        };
        let mut env = Vec::with_capacity(5 + j.spec.environment.len());
        let id = match j.array {
            Some(ArrayLink::Child { parent, index }) => format!("{}:{index}", job_id(parent)),
            _ => job_id(job),
        };
        env.push(("AWS_BATCH_JOB_ID".to_string(), id));
        env.push((
            "AWS_BATCH_JOB_ATTEMPT".to_string(),
            j.attempts.len().max(1).to_string(),
        ));
        env.push((
            "AWS_BATCH_JQ_NAME".to_string(),
            self.cluster.queue(j.spec.queue).name.clone(),
        ));
        if let Some(a) = j.attempts.last() {
            let ce = self.instances[a.instance.0 as usize].compute_environment;
            env.push((
                "AWS_BATCH_CE_NAME".to_string(),
                self.cluster.ce(ce).name.clone(),
            ));
        }
        if let Some(ArrayLink::Child { index, .. }) = j.array {
            env.push(("AWS_BATCH_JOB_ARRAY_INDEX".to_string(), index.to_string()));
        }
        if let Some(p) = self.node_parent(job) {
            let m = &self.multinode[&p];
            let main = JobId(m.first.0 + m.main);
            let main_ip = self.jobs[main.0 as usize]
                .attempts
                .last()
                .map(|a| private_ipv4(a.instance));
            env.push(("AWS_BATCH_JOB_NUM_NODES".to_string(), m.nodes.to_string()));
            env.push((
                "AWS_BATCH_JOB_NODE_INDEX".to_string(),
                (job.0 - m.first.0).to_string(),
            ));
            env.push((
                "AWS_BATCH_JOB_MAIN_NODE_INDEX".to_string(),
                m.main.to_string(),
            ));
            if let Some(ip) = main_ip {
                env.push((
                    "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS".to_string(),
                    ip,
                ));
            }
        }
        env.extend(j.spec.environment.iter().cloned());
        env
    }
}

/// The job id flotilla shows for engine job `job` (AWS ids are UUIDs; these are stable
/// across runs of the same scenario).
pub fn job_id(job: JobId) -> String {
    format!("job-{:08}", job.0)
}

/// A private IPv4 address for an instance, stable per run (for node-to-node variables).
pub fn private_ipv4(instance: InstanceId) -> String {
    let n = instance.0 + 1;
    format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}
