//! Submission, dependencies and array jobs: SUBMITTED → PENDING → RUNNABLE, and the cascade
//! when a job ends (reference §1.2, §2, §3).
//!
//! Modelling choices:
//! - An array job of size N becomes N+1 records: the parent, then children `name:0` …
//!   `name:N-1` with the ids right after the parent's. Each child costs what a plain job
//!   costs. The parent is never RUNNABLE; it stays PENDING until every child has ended, then
//!   is SUCCEEDED if all children succeeded, else FAILED (`Array Child Job failed`).
//! - A dependency on an array job waits for the whole array; `N_TO_N` makes child i wait for
//!   child i of the other array (same size, checked by the input layer); `SEQUENTIAL` makes
//!   child i wait for child i-1. An array job's own plain dependencies are given to each child.
//! - A failed dependency fails the dependent at once with `Dependent Job failed`, and so on
//!   transitively (INF in the reference).
//! - A job that no compute environment of its queue could ever hold fails when it would
//!   become RUNNABLE, with AWS's `MISCONFIGURATION:*` reason (AWS would leave it RUNNABLE,
//!   blocking its queue; flotilla reports it instead).

use super::{ArrayLink, Engine, JobRecord, StatusReason};
use crate::model::{DependencyType, JobId, JobSpec, JobStatus};

impl Engine {
    pub(super) fn on_job_submitted(&mut self, spec: JobSpec) {
        let id = JobId(self.jobs.len() as u32);
        let array = spec.array;
        let deps = spec.depends_on.clone();
        let disabled = self.cluster.queue(spec.queue).disabled;
        let record = self.new_record(spec);
        self.push_job(record);
        if disabled {
            // A DISABLED queue takes no new jobs (reference §4.1): the job fails at once, and
            // an array job spawns no children.
            self.finish_job(id, JobStatus::Failed, Some(StatusReason::QueueDisabled));
            return;
        }
        let Some(props) = array else {
            self.add_nodes(id);
            for d in &deps {
                self.add_dependency(id, d.job);
            }
            self.settle_new_job(id);
            return;
        };
        let parent = &mut self.jobs[id.0 as usize];
        parent.status = JobStatus::Pending;
        parent.pending_at = Some(self.now);
        parent.array = Some(ArrayLink::Parent {
            size: props.size,
            remaining: props.size,
            failed: 0,
        });
        for index in 0..props.size {
            let child = self.new_child(id, index);
            for d in &deps {
                let target = match d.kind {
                    DependencyType::NToN => self.child_of(d.job, index).unwrap_or(d.job),
                    DependencyType::Standard => d.job,
                };
                self.add_dependency(child, target);
            }
            if props.sequential && index > 0 {
                self.add_dependency(child, JobId(child.0 - 1));
            }
            self.settle_new_job(child);
        }
    }

    pub(super) fn new_record(&self, spec: JobSpec) -> JobRecord {
        JobRecord {
            spec,
            status: JobStatus::Submitted,
            status_reason: None,
            submitted_at: self.now,
            pending_at: None,
            runnable_at: None,
            stopped_at: None,
            attempts: Vec::new(),
            is_cancelled: false,
            is_terminated: false,
            array: None,
            blocked: None,
            first_reservation: None,
            backfilled: false,
            deps_remaining: 0,
            cancel_requested: false,
            dependents: Vec::new(),
            queue_key: (0, 0, 0, 0),
            share: 0,
            reserved_on: None,
        }
    }

    /// Adds a job record, counting it open and in its fair share.
    pub(super) fn push_job(&mut self, mut record: JobRecord) {
        let q = &mut self.queues[record.spec.queue.0 as usize];
        // Without a shareIdentifier (possible only where the `fair-share` policy made the
        // queue fair share), the submitting user is the share.
        let id = record.spec.share_identifier.as_deref();
        record.share = q.share_of(id.or(record.spec.user.as_deref()), self.now);
        q.count_open(record.share, 1);
        // A newly active share identifier raises the queue's computeReservation allowance.
        self.dirty |= self
            .cluster
            .queue(record.spec.queue)
            .fairshare_policy
            .is_some();
        self.jobs.push(record);
        self.open_jobs += 1;
    }

    /// Creates child `index` of array job `parent`, in PENDING.
    fn new_child(&mut self, parent: JobId, index: u32) -> JobId {
        let p = &self.jobs[parent.0 as usize].spec;
        let spec = JobSpec {
            name: format!("{}:{index}", p.name),
            depends_on: Vec::new(),
            array: None,
            ..p.clone()
        };
        let id = JobId(self.jobs.len() as u32);
        let mut child = self.new_record(spec);
        child.status = JobStatus::Pending;
        child.pending_at = Some(self.now);
        child.array = Some(ArrayLink::Child { parent, index });
        self.push_job(child);
        id
    }

    /// Child `index` of `job` if `job` is an array job that has one.
    fn child_of(&self, job: JobId, index: u32) -> Option<JobId> {
        match self.jobs.get(job.0 as usize)?.array {
            Some(ArrayLink::Parent { size, .. }) if index < size => Some(JobId(job.0 + 1 + index)),
            _ => None,
        }
    }

    /// Makes `job` wait for `target` unless `target` already succeeded; a dependency on a
    /// failed job (or an unknown id) fails `job` when it settles.
    fn add_dependency(&mut self, job: JobId, target: JobId) {
        let status = self.jobs.get(target.0 as usize).map(|t| t.status);
        match status {
            Some(JobStatus::Succeeded) => {}
            Some(s) if !s.is_terminal() && target != job => {
                self.jobs[target.0 as usize].dependents.push(job);
                self.jobs[job.0 as usize].deps_remaining += 1;
            }
            _ => self.jobs[job.0 as usize].status_reason = Some(StatusReason::DependencyFailed),
        }
    }

    /// A new job (or child) goes to FAILED, PENDING or RUNNABLE.
    fn settle_new_job(&mut self, id: JobId) {
        let j = &mut self.jobs[id.0 as usize];
        if j.status_reason == Some(StatusReason::DependencyFailed) {
            self.finish_job(id, JobStatus::Failed, Some(StatusReason::DependencyFailed));
        } else if j.deps_remaining > 0 {
            j.status = JobStatus::Pending;
            j.pending_at.get_or_insert(self.now);
        } else {
            let mut cascade = Vec::new();
            self.make_runnable(id, &mut cascade);
            self.propagate(cascade);
        }
    }

    /// PENDING or SUBMITTED → RUNNABLE at the back of its queue, or FAILED if no compute
    /// environment could ever hold it (pushed on `ended` for the cascade).
    fn make_runnable(&mut self, id: JobId, ended: &mut Vec<JobId>) {
        let (queue, mut need) = {
            let j = &self.jobs[id.0 as usize];
            (j.spec.queue, j.resources())
        };
        let mut nodes = None;
        if let Some(m) = self.multinode.get(&id) {
            nodes = Some(m.nodes);
            need = self.largest_node(id);
        }
        // A node no type holds is a resource misconfiguration; N nodes that never fit
        // maxvCpus together are a maxvCpus one.
        let reason = self.infeasible(queue, need).or_else(|| {
            let n = nodes?;
            (!self.multinode_fits_somewhere(queue, need, n))
                .then_some(StatusReason::ComputeEnvironmentMaxResource)
        });
        if let Some(reason) = reason {
            self.set_terminal(id, JobStatus::Failed, Some(reason));
            ended.push(id);
            return;
        }
        let (share, priority, rank) = {
            let j = &self.jobs[id.0 as usize];
            (
                j.share,
                j.spec.scheduling_priority,
                self.policies.order.rank(&j.spec),
            )
        };
        let q = &mut self.queues[queue.0 as usize];
        let key = q.key_back(share, priority, rank);
        q.insert(key, id);
        let j = &mut self.jobs[id.0 as usize];
        j.status = JobStatus::Runnable;
        j.runnable_at.get_or_insert(self.now);
        j.queue_key = key;
        self.dirty = true;
    }

    /// Ends a job and lets its dependents and array parent know.
    pub(super) fn finish_job(
        &mut self,
        job: JobId,
        status: JobStatus,
        reason: Option<StatusReason>,
    ) {
        self.set_terminal(job, status, reason);
        self.propagate(vec![job]);
    }

    pub(super) fn set_terminal(
        &mut self,
        job: JobId,
        status: JobStatus,
        reason: Option<StatusReason>,
    ) {
        if self.jobs[job.0 as usize].status.is_terminal() {
            return; // already ended (e.g. a node ended with its multi-node job)
        }
        self.clear_blocked(job);
        let j = &mut self.jobs[job.0 as usize];
        j.status = status;
        j.status_reason = reason;
        j.stopped_at = Some(self.now);
        self.open_jobs -= 1;
        self.queues[j.spec.queue.0 as usize].count_open(j.share, -1);
        // A multi-node job's nodes end with it.
        if let Some(m) = self.multinode.get(&job) {
            let (first, n) = (m.first, m.nodes);
            for i in 0..n {
                let node = JobId(first.0 + i);
                if !self.jobs[node.0 as usize].status.is_terminal() {
                    self.set_terminal(node, status, reason);
                }
            }
        }
    }

    /// Works through jobs that just ended: releases or fails their dependents and settles
    /// array parents. A work list, not recursion, so long chains cannot overflow the stack.
    fn propagate(&mut self, mut ended: Vec<JobId>) {
        while let Some(job) = ended.pop() {
            let succeeded = self.jobs[job.0 as usize].status == JobStatus::Succeeded;
            for d in std::mem::take(&mut self.jobs[job.0 as usize].dependents) {
                let dj = &mut self.jobs[d.0 as usize];
                if dj.status.is_terminal() {
                    continue;
                }
                if !succeeded {
                    self.set_terminal(d, JobStatus::Failed, Some(StatusReason::DependencyFailed));
                    ended.push(d);
                    continue;
                }
                dj.deps_remaining -= 1;
                if dj.deps_remaining == 0 && dj.status == JobStatus::Pending {
                    if dj.cancel_requested {
                        dj.is_cancelled = true;
                        self.set_terminal(d, JobStatus::Failed, Some(StatusReason::Cancelled));
                        ended.push(d);
                    } else {
                        self.make_runnable(d, &mut ended);
                    }
                }
            }
            if let Some(ArrayLink::Child { parent, .. }) = self.jobs[job.0 as usize].array {
                if self.child_ended(parent, succeeded) {
                    ended.push(parent);
                }
            }
        }
    }

    /// Counts a child's end on its parent; true when that ended the parent.
    fn child_ended(&mut self, parent: JobId, succeeded: bool) -> bool {
        let p = &mut self.jobs[parent.0 as usize];
        let Some(ArrayLink::Parent {
            remaining, failed, ..
        }) = &mut p.array
        else {
            return false;
        };
        *remaining -= 1;
        *failed += u32::from(!succeeded);
        if *remaining > 0 || p.status.is_terminal() {
            return false;
        }
        let (status, reason) = match *failed {
            0 => (JobStatus::Succeeded, None),
            _ => (JobStatus::Failed, Some(StatusReason::ArrayChildFailed)),
        };
        self.set_terminal(parent, status, reason);
        true
    }
}
