//! The trace jobs not yet submitted, in chunks that are freed as the run consumes them, so a
//! long trace is not held twice (once here, once in the engine's records).

use crate::scenario::TraceJob;
use std::collections::VecDeque;

const CHUNK: usize = 1 << 15;

/// Trace jobs waiting for their submit time, in order.
pub struct PendingTrace {
    chunks: VecDeque<std::vec::IntoIter<TraceJob>>,
}

impl PendingTrace {
    /// Splits a sorted trace into chunks (moving, not cloning, the jobs).
    pub fn new(trace: Vec<TraceJob>) -> Self {
        let mut chunks = VecDeque::new();
        let mut rest = trace.into_iter();
        loop {
            let chunk: Vec<TraceJob> = rest.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push_back(chunk.into_iter());
        }
        PendingTrace { chunks }
    }

    /// The next job's submit time.
    pub fn peek_submit(&self) -> Option<crate::model::SimTime> {
        self.chunks
            .front()
            .and_then(|c| c.as_slice().first())
            .map(|j| j.submit)
    }

    /// Takes the next job, freeing a chunk once it is used up.
    pub fn next_job(&mut self) -> Option<TraceJob> {
        loop {
            let chunk = self.chunks.front_mut()?;
            if let Some(j) = chunk.next() {
                if chunk.as_slice().is_empty() {
                    self.chunks.pop_front();
                }
                return Some(j);
            }
            self.chunks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobSpec, SimDuration, SimTime};

    #[test]
    fn yields_every_job_in_order_across_chunks() {
        let n = CHUNK * 2 + 5;
        let trace: Vec<TraceJob> = (0..n)
            .map(|i| TraceJob {
                submit: SimTime(i as u64),
                spec: JobSpec::default(),
                run_time: SimDuration::ZERO,
                exit_code: 0,
                cancel_at: None,
                terminate_at: None,
                submit_after: None,
            })
            .collect();
        let mut p = PendingTrace::new(trace);
        for i in 0..n {
            assert_eq!(p.peek_submit(), Some(SimTime(i as u64)));
            assert_eq!(p.next_job().map(|j| j.submit), Some(SimTime(i as u64)));
        }
        assert_eq!((p.peek_submit(), p.next_job().is_none()), (None, true));
    }
}
