//! Trace jobs held until another job ends ([`crate::scenario::SubmitAfter`], SWF's think
//! time): they leave the submit-time stream at the start of the run and re-enter it, with
//! their new submit time, when the job they wait for reaches SUCCEEDED or FAILED.
//!
//! Cost: held jobs sit in a map keyed by the row they wait for, so nothing scans them. The
//! driver calls [`HeldJobs::observe`] before each input; it does work only when the
//! engine's count of ended jobs has grown since the last call, and then checks just the
//! submitted jobs that someone waits for and that have not ended (at most one per held
//! job, usually far fewer). Released jobs wait in a map ordered by (submit time, row).
//!
//! A trace with held jobs must not use `dependsOn` on rows after a held one: the driver's
//! row-to-job-id table assumes rows are submitted in order (the SWF reader never produces
//! both). A `submit_after` naming a row that is not earlier is ignored.

use super::pending::PendingTrace;
use crate::engine::Engine;
use crate::model::{JobId, SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::collections::BTreeMap;

/// Jobs waiting for another job to end, and jobs released but not yet submitted.
#[derive(Default)]
pub struct HeldJobs {
    /// Held jobs by the row they wait for: (own row, job).
    waiting: BTreeMap<u32, Vec<(u32, TraceJob)>>,
    /// Submitted jobs that held jobs wait for, not yet seen ending → their row.
    watched: BTreeMap<JobId, u32>,
    /// Released jobs by (submit time, row).
    ready: BTreeMap<(SimTime, u32), TraceJob>,
    /// Row of each job left in the pending trace, in order (empty when nothing is held).
    pending_rows: Vec<u32>,
    /// How many of `pending_rows` were submitted.
    next_pending: usize,
    /// Ended jobs (SUCCEEDED or FAILED) at the last look.
    ended_seen: usize,
}

impl HeldJobs {
    /// Takes the held jobs out of a sorted trace; returns the rest (in order) and them.
    pub fn split(trace: Vec<TraceJob>) -> (Vec<TraceJob>, HeldJobs) {
        let mut held = HeldJobs::default();
        if trace.iter().all(|j| j.submit_after.is_none()) {
            return (trace, held);
        }
        let mut rest = Vec::with_capacity(trace.len());
        for (row, job) in trace.into_iter().enumerate() {
            let row = row as u32;
            match job.submit_after {
                Some(a) if a.job.0 < row => {
                    held.waiting.entry(a.job.0).or_default().push((row, job));
                }
                _ => {
                    held.pending_rows.push(row);
                    rest.push(job);
                }
            }
        }
        (rest, held)
    }

    /// The latest submit time among the jobs released and not yet submitted.
    pub fn latest_ready(&self) -> Option<SimTime> {
        self.ready.keys().next_back().map(|k| k.0)
    }

    /// Releases the jobs whose awaited job has ended since the last call.
    pub fn observe(&mut self, engine: &Engine) {
        if self.watched.is_empty() {
            return;
        }
        let ended = engine.jobs().len() - engine.open_jobs();
        if ended == self.ended_seen {
            return;
        }
        self.ended_seen = ended;
        let done: Vec<(JobId, u32, SimTime)> = self
            .watched
            .iter()
            .filter_map(|(&id, &row)| {
                let j = engine.job(id)?;
                let end = j.stopped_at.filter(|_| j.status.is_terminal())?;
                Some((id, row, end))
            })
            .collect();
        for (id, row, end) in done {
            self.watched.remove(&id);
            for (own, mut job) in self.waiting.remove(&row).unwrap_or_default() {
                let delay = job.submit_after.map_or(SimDuration::ZERO, |a| a.delay);
                let at = end + delay;
                shift(&mut job, at);
                self.ready.insert((at, own), job);
            }
        }
    }

    /// The next submit time: the pending trace's or a released job's, whichever is first.
    pub fn peek_submit(&self, trace: &PendingTrace) -> Option<SimTime> {
        let released = self.ready.keys().next().map(|k| k.0);
        match (trace.peek_submit(), released) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes the next job to submit (the pending trace's first on a tie); `next_id` is the
    /// id the engine will give it, watched when held jobs wait for its row.
    pub fn next_job(&mut self, trace: &mut PendingTrace, next_id: JobId) -> Option<TraceJob> {
        let released = self.ready.keys().next().copied();
        let from_ready = match (trace.peek_submit(), released) {
            (Some(t), Some((r, _))) => r < t,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let (row, job) = if from_ready {
            let ((_, row), job) = self.ready.pop_first()?;
            (Some(row), job)
        } else {
            let row = self.pending_rows.get(self.next_pending).copied();
            self.next_pending += 1;
            (row, trace.next_job()?)
        };
        if let Some(row) = row.filter(|r| self.waiting.contains_key(r)) {
            self.watched.insert(next_id, row);
        }
        Some(job)
    }
}

/// Moves a released job to submit time `at`, keeping its cancel and terminate times the
/// same distance after submission.
fn shift(job: &mut TraceJob, at: SimTime) {
    let submit = job.submit;
    let moved = |t: SimTime| SimTime(at.0 + t.0.saturating_sub(submit.0));
    job.cancel_at = job.cancel_at.map(moved);
    job.terminate_at = job.terminate_at.map(moved);
    job.submit = at;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SubmitAfter;

    fn job(submit_s: u64, after: Option<(u32, u64)>) -> TraceJob {
        let mut j = TraceJob::new(
            SimTime(submit_s * 1000),
            crate::model::JobSpec::default(),
            SimDuration::ZERO,
            0,
        );
        j.submit_after = after.map(|(row, d)| SubmitAfter {
            job: JobId(row),
            delay: SimDuration::from_secs(d),
        });
        j
    }

    #[test]
    fn split_holds_jobs_after_an_earlier_row_and_keeps_the_rest_in_order() {
        // Row 1 waits for row 0; row 2 names a later row (ignored: stays in the trace).
        let trace = vec![
            job(0, None),
            job(5, Some((0, 9))),
            job(7, Some((3, 1))),
            job(8, None),
        ];
        let (rest, held) = HeldJobs::split(trace);
        let times: Vec<u64> = rest.iter().map(|j| j.submit.0 / 1000).collect();
        assert_eq!(times, [0, 7, 8]);
        assert_eq!(held.pending_rows, [0, 2, 3]);
        assert_eq!(held.waiting.keys().copied().collect::<Vec<_>>(), [0]);
        let (rest, held) = HeldJobs::split(vec![job(0, None)]);
        assert!(
            rest.len() == 1 && held.pending_rows.is_empty(),
            "nothing held: no bookkeeping"
        );
    }

    #[test]
    fn a_released_job_keeps_its_cancel_time_relative_to_submission() {
        let mut j = job(100, Some((0, 5)));
        j.cancel_at = Some(SimTime(130 * 1000));
        shift(&mut j, SimTime(1_000 * 1000));
        assert_eq!(
            (j.submit, j.cancel_at),
            (SimTime(1_000 * 1000), Some(SimTime(1_030 * 1000)))
        );
    }
}
