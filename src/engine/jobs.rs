//! Attempt lifecycle: RUNNABLE → STARTING → RUNNING → SUCCEEDED | FAILED, with retries back
//! to the front of the queue as `retryStrategy` allows.

use super::{Attempt, Engine, InstanceId, InstanceState, Resources, StatusReason, Timer};
use crate::engine::{Command, ExitCause};
use crate::model::{retry_action, JobId, JobQueueId, JobStatus, Market, RetryAction};

impl Engine {
    /// Why no compute environment of `queue` could ever run a job needing `need`, if so.
    pub(super) fn infeasible(
        &mut self,
        queue: JobQueueId,
        need: Resources,
    ) -> Option<StatusReason> {
        if let Some(r) = self.feasibility.get(&(queue, need)) {
            return *r;
        }
        let mut any_type = false;
        let mut ok = false;
        let catalog = &self.cluster.catalog;
        for ce_id in &self.cluster.queue(queue).compute_environment_order {
            let ce = self.cluster.ce(*ce_id);
            let exceed = ce.allocation_strategy.may_exceed_max_vcpus(ce.market);
            for t in ce.instance_types.iter().map(|t| catalog.get(*t)) {
                if !self.may_use(t, &need) || (ce.market == Market::Spot && !t.has_spot()) {
                    continue;
                }
                any_type = true;
                ok |= need.vcpus <= ce.max_vcpus && (exceed || t.vcpus <= ce.max_vcpus);
            }
        }
        let r = match (ok, any_type) {
            (true, _) => None,
            (false, true) => Some(StatusReason::ComputeEnvironmentMaxResource),
            (false, false) => Some(StatusReason::JobResourceRequirement),
        };
        self.feasibility.insert((queue, need), r);
        r
    }

    pub(super) fn on_job_running(&mut self, job: JobId, attempt: u32, out: &mut Vec<Command>) {
        let now = self.now;
        let Some(j) = self.jobs.get_mut(job.0 as usize) else {
            return;
        };
        if j.status != JobStatus::Starting || j.attempts.len() as u32 != attempt {
            return; // stale: that attempt already ended
        }
        j.status = JobStatus::Running;
        if let Some(a) = j.attempts.last_mut() {
            a.running_at = Some(now);
        }
        // The timeout counts from the attempt's startedAt, i.e. RUNNING (reference §1.5).
        if let Some(limit) = j.spec.timeout {
            self.timers
                .insert((now + limit, Timer::AttemptTimeout(job, attempt)));
        }
        self.on_node_started(job, true, out);
    }

    pub(super) fn on_job_exited(
        &mut self,
        job: JobId,
        attempt: u32,
        exit_code: i32,
        cause: ExitCause,
        out: &mut Vec<Command>,
    ) {
        let Some(j) = self.jobs.get(job.0 as usize) else {
            return;
        };
        let live = matches!(j.status, JobStatus::Starting | JobStatus::Running);
        if !live || j.attempts.len() as u32 != attempt {
            return;
        }
        let stop = j.attempts.last().and_then(|a| a.stop_requested);
        let reason = match stop {
            Some(s) => Some(s.status_reason()),
            None => match cause {
                ExitCause::OutOfMemory => Some(StatusReason::OutOfMemory),
                ExitCause::CannotStart => Some(StatusReason::CannotStartContainer),
                ExitCause::Exited => {
                    (exit_code != 0).then_some(StatusReason::EssentialContainerExited)
                }
            },
        };
        let instance = self.end_attempt(job, Some(exit_code), reason);
        self.release(job, instance);
        self.dirty = true;
        if self.node_parent(job).is_some() {
            self.on_node_stopped(job, reason, Some(exit_code), out);
            return;
        }
        match reason {
            None => self.finish_job(job, JobStatus::Succeeded, None),
            Some(r) => self.retry_or_fail(job, r, Some(exit_code)),
        }
        self.dirty = true;
    }

    /// Places a RUNNABLE job on an instance whose free capacity already excludes it, and asks
    /// the driver to start it.
    pub(super) fn start_attempt(
        &mut self,
        job: JobId,
        instance: InstanceId,
        out: &mut Vec<Command>,
    ) {
        let now = self.now;
        let inst = &mut self.instances[instance.0 as usize];
        let j = &mut self.jobs[job.0 as usize];
        let mut gpu_ids = Vec::new();
        for _ in 0..j.spec.gpus {
            let bit = inst.free_gpu_mask.trailing_zeros();
            inst.free_gpu_mask &= !(1u64 << bit);
            gpu_ids.push(bit);
        }
        inst.jobs.push(job);
        inst.jobs_hosted += 1;
        self.backfill_started(job, instance);
        let j = &mut self.jobs[job.0 as usize];
        self.queues[j.spec.queue.0 as usize].charge_running(j.share, j.spec.vcpus as i64, now);
        j.status = JobStatus::Starting;
        j.reserved_on = None;
        j.attempts.push(Attempt {
            instance,
            starting_at: now,
            running_at: None,
            stopped_at: None,
            exit_code: None,
            status_reason: None,
            gpu_ids: gpu_ids.clone(),
            stop_requested: None,
        });
        let attempt = j.attempts.len() as u32;
        self.clear_blocked(job);
        self.count_live_node(job, 1);
        self.on_node_started(job, false, out);
        out.push(Command::StartJob {
            job,
            instance,
            attempt,
            gpu_ids,
        });
    }

    /// Closes the current attempt and returns the host it ran on.
    pub(super) fn end_attempt(
        &mut self,
        job: JobId,
        exit_code: Option<i32>,
        reason: Option<StatusReason>,
    ) -> InstanceId {
        let now = self.now;
        let j = &mut self.jobs[job.0 as usize];
        let q = &mut self.queues[j.spec.queue.0 as usize];
        q.charge_running(j.share, -(j.spec.vcpus as i64), now);
        q.charge_placed(-(j.spec.vcpus as i64));
        let attempt = j.attempts.len() as u32;
        let timeout = j.spec.timeout;
        let a = j.attempts.last_mut().expect("a live job has an attempt");
        a.stopped_at = Some(now);
        a.exit_code = exit_code;
        a.status_reason = reason;
        let instance = a.instance;
        // A timeout timer that can no longer fire for this attempt goes, so a finished run
        // does not wait for it.
        if let (Some(limit), Some(running)) = (timeout, a.running_at) {
            self.timers
                .remove(&(running + limit, Timer::AttemptTimeout(job, attempt)));
        }
        instance
    }

    /// Gives a finished attempt's resources back to its (still running) host.
    fn release(&mut self, job: JobId, instance: InstanceId) {
        self.backfill_ended(job, instance);
        let need = self.jobs[job.0 as usize].resources();
        let inst = &mut self.instances[instance.0 as usize];
        if let Some(pos) = inst.jobs.iter().position(|&x| x == job) {
            inst.jobs.swap_remove(pos);
        }
        if let Some(a) = self.jobs[job.0 as usize].attempts.last() {
            for &g in &a.gpu_ids {
                inst.free_gpu_mask |= 1u64 << g;
            }
        }
        let old = inst.free;
        inst.free = old.plus(&need);
        let (ce, state, free, gpu) = (
            inst.compute_environment,
            inst.state,
            inst.free,
            inst.gpu_host,
        );
        if state == InstanceState::Ready {
            let idx = &mut self.ces[ce.0 as usize].ready;
            idx.remove(instance, old, gpu);
            idx.insert(instance, free, gpu);
        }
        self.mark_idle_if_so(instance);
    }

    /// After a failed attempt: back to the front of the queue while attempts remain and
    /// `evaluateOnExit` says RETRY (reference §1.6), else FAILED with `reason`. Attempts the
    /// engine stopped (timeout, TerminateJob) are never retried.
    pub(super) fn retry_or_fail(&mut self, job: JobId, reason: StatusReason, exit: Option<i32>) {
        let j = &mut self.jobs[job.0 as usize];
        let stopped = matches!(reason, StatusReason::Timeout | StatusReason::Terminated);
        let retry = !stopped
            && (j.attempts.len() as u32) < j.spec.attempts
            && (j.spec.evaluate_on_exit.is_empty()
                || retry_action(&j.spec.evaluate_on_exit, &reason.to_string(), "", exit)
                    == RetryAction::Retry);
        if retry {
            j.status = JobStatus::Runnable;
            let q = &mut self.queues[j.spec.queue.0 as usize];
            let rank = self.policies.order.rank(&j.spec);
            j.queue_key = q.key_front(j.share, j.spec.scheduling_priority, rank);
            q.insert(j.queue_key, job);
        } else {
            if reason == StatusReason::Terminated {
                j.is_terminated = true;
            }
            self.finish_job(job, JobStatus::Failed, Some(reason));
        }
    }

    /// Puts RUNNABLE jobs that were waiting for an instance back in their queues, in their
    /// old places.
    pub(super) fn requeue(&mut self, jobs: Vec<JobId>) {
        for job in jobs {
            if let Some(p) = self.node_parent(job) {
                self.abort_multinode_dispatch(p);
                continue;
            }
            let j = &mut self.jobs[job.0 as usize];
            j.reserved_on = None;
            let q = &mut self.queues[j.spec.queue.0 as usize];
            q.insert(j.queue_key, job);
            q.charge_placed(-(j.spec.vcpus as i64));
        }
        self.dirty = true;
    }
}
