//! CancelJob, TerminateJob and attempt timeouts (reference §1.4, §1.5).
//!
//! - CancelJob fails a job that is SUBMITTED or RUNNABLE at once (`isCancelled`, the current
//!   API text, reference §1.4); a PENDING job waiting for dependencies is cancelled once they
//!   have completed (or fails with them); STARTING and RUNNING jobs are not touched.
//!   On an array job it cancels every child not yet STARTING; the parent then fails once all
//!   children have ended.
//! - TerminateJob stops STARTING and RUNNING attempts (a `StopJob` command: SIGTERM, then
//!   SIGKILL 30 s later) and fails them when they exit (`isTerminated`); earlier jobs are
//!   cancelled. On an array job it applies to every child.
//! - A timeout stops the attempt the same way; the job fails with `Job attempt duration
//!   exceeded timeout`. Neither is retried.
//! - `jobStateTimeLimitActions`: a job RUNNABLE at the head of its queue, blocked for the
//!   action's `reason` for `maxTimeSeconds`, is cancelled with `Canceled by JobStateTimeLimit
//!   action due to reason: <reason>` (reference §1.3).

use super::{ArrayLink, BlockReason, Command, Engine, StatusReason, StopReason, Timer};
use crate::model::{JobId, JobStatus};

impl Engine {
    pub(super) fn on_cancel_requested(&mut self, job: JobId) {
        self.for_job_or_children(job, |e, j| {
            e.cancel_one(j);
        });
    }

    pub(super) fn on_terminate_requested(&mut self, job: JobId, out: &mut Vec<Command>) {
        self.for_job_or_children(job, |e, j| {
            if !e.stop_attempt(j, StopReason::Terminated, out) {
                e.cancel_one(j);
            }
        });
    }

    /// Applies `f` to an array job's children, or to the job itself.
    fn for_job_or_children(&mut self, job: JobId, mut f: impl FnMut(&mut Self, JobId)) {
        match self.jobs.get(job.0 as usize).map(|j| j.array) {
            None => {}
            Some(Some(ArrayLink::Parent { size, .. })) => {
                self.jobs[job.0 as usize].is_cancelled = true;
                for i in 0..size {
                    f(self, JobId(job.0 + 1 + i));
                }
            }
            Some(_) => f(self, job),
        }
    }

    /// Fails a job that has not started; false if it was STARTING, RUNNING or over.
    fn cancel_one(&mut self, job: JobId) -> bool {
        let j = &mut self.jobs[job.0 as usize];
        match j.status {
            // "A PENDING job is canceled after all dependency jobs are completed" (current
            // API text): it waits, and fails (cancelled) instead of becoming RUNNABLE.
            JobStatus::Pending if j.deps_remaining > 0 => {
                j.cancel_requested = true;
                return true;
            }
            JobStatus::Submitted | JobStatus::Pending => {}
            JobStatus::Runnable => {
                self.withdraw_runnable(job);
                self.release_node_reservations(job);
            }
            _ => return false,
        }
        self.jobs[job.0 as usize].is_cancelled = true;
        self.finish_job(job, JobStatus::Failed, Some(StatusReason::Cancelled));
        self.dirty = true; // the queue behind it (or the capacity it held) may move now
        true
    }

    /// Takes a RUNNABLE job out of its queue, or off the booting instance it was waiting for.
    fn withdraw_runnable(&mut self, job: JobId) {
        self.backfill_withdrawn(job);
        let j = &mut self.jobs[job.0 as usize];
        let need = j.resources();
        let (q, key) = (j.spec.queue.0 as usize, j.queue_key);
        match j.reserved_on.take() {
            None => {
                self.queues[q].remove(key);
            }
            Some(inst) => {
                self.unreserve(job, inst, need);
                self.queues[q].charge_placed(-(need.vcpus as i64));
            }
        }
    }

    /// Asks the driver to stop a STARTING or RUNNING attempt; false if there is none.
    pub(super) fn stop_attempt(
        &mut self,
        job: JobId,
        why: StopReason,
        out: &mut Vec<Command>,
    ) -> bool {
        if self.multinode.contains_key(&job) {
            return self.stop_multinode(job, why, out);
        }
        let j = &mut self.jobs[job.0 as usize];
        if !matches!(j.status, JobStatus::Starting | JobStatus::Running) {
            return false;
        }
        let attempt = j.attempts.len() as u32;
        let Some(a) = j.attempts.last_mut() else {
            return false;
        };
        if a.stop_requested.is_none() {
            a.stop_requested = Some(why);
            out.push(Command::StopJob {
                job,
                instance: a.instance,
                attempt,
                reason: why,
            });
        }
        true
    }

    /// A timeout timer fired: stops the attempt if it is still the one running.
    pub(super) fn on_attempt_timeout(&mut self, job: JobId, attempt: u32, out: &mut Vec<Command>) {
        let j = &self.jobs[job.0 as usize];
        if j.status == JobStatus::Running && j.attempts.len() as u32 == attempt {
            self.stop_attempt(job, StopReason::Timeout, out);
        }
    }

    /// Records why the head of a queue waits and arms its queue's time-limit actions.
    pub(super) fn note_blocked(&mut self, job: JobId, why: BlockReason) {
        let now = self.now;
        let j = &mut self.jobs[job.0 as usize];
        if j.blocked.is_some_and(|(r, _)| r == why) {
            return;
        }
        j.blocked = Some((why, now));
        let queue = self.cluster.queue(j.spec.queue);
        for a in queue
            .job_state_time_limit_actions
            .iter()
            .filter(|a| a.reason == why.as_str())
        {
            self.timers
                .insert((now + a.max_time, Timer::StateTimeLimit(job)));
        }
    }

    /// A time limit may have passed for a blocked head-of-queue job.
    pub(super) fn on_state_time_limit(&mut self, job: JobId) {
        let j = &self.jobs[job.0 as usize];
        let Some((why, since)) = j.blocked else {
            return;
        };
        let q = j.spec.queue;
        let at_head = self.queues[q.0 as usize].head(self.now).map(|(_, h)| h) == Some(job);
        let due = self
            .cluster
            .queue(q)
            .job_state_time_limit_actions
            .iter()
            .any(|a| a.reason == why.as_str() && since + a.max_time <= self.now);
        if j.status != JobStatus::Runnable || !due {
            return;
        }
        if j.reserved_on.is_some() || !at_head {
            // No longer the stuck head: its clock starts again if it gets stuck again.
            self.clear_blocked(job);
            return;
        }
        self.withdraw_runnable(job);
        self.jobs[job.0 as usize].is_cancelled = true;
        self.finish_job(
            job,
            JobStatus::Failed,
            Some(StatusReason::StateTimeLimit(why)),
        );
        self.dirty = true;
    }

    /// Forgets why a job was blocked and drops its time-limit timers.
    pub(super) fn clear_blocked(&mut self, job: JobId) {
        let Some((why, since)) = self.jobs[job.0 as usize].blocked.take() else {
            return;
        };
        let q = self.jobs[job.0 as usize].spec.queue;
        for a in &self.cluster.queue(q).job_state_time_limit_actions {
            if a.reason == why.as_str() {
                self.timers
                    .remove(&(since + a.max_time, Timer::StateTimeLimit(job)));
            }
        }
    }
}
