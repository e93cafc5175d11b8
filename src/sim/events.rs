//! The simulated world's future: events ordered by (time, sequence).
//!
//! The sequence number makes the order total: two events at the same millisecond come out in
//! the order they were scheduled, so a run never depends on heap internals.

use super::pools::PoolId;
use crate::engine::{InstanceId, LaunchFailure};
use crate::model::{JobId, MicroUsd, SimTime};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Something the world will do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WorldEvent {
    /// An instance finishes booting.
    InstanceReady(InstanceId),
    /// A launch is refused.
    LaunchFailed(InstanceId, LaunchFailure),
    /// A job's container starts (job, attempt).
    JobRunning(JobId, u32),
    /// A job's container exits (job, attempt, exit code).
    JobExited(JobId, u32, i32),
    /// EC2 warns that an instance will be reclaimed at the given time.
    SpotNotice(InstanceId, SimTime),
    /// EC2 reclaims an instance.
    SpotReclaim(InstanceId),
    /// The Spot price of a pool changes.
    PriceChange(PoolId, MicroUsd),
    /// Every synthetic-price pool takes its next step (then the next tick is scheduled).
    PriceTick,
    /// CancelJob is called (from the trace).
    CancelRequested(JobId),
    /// TerminateJob is called (from the trace).
    TerminateRequested(JobId),
    /// A measured Spot pool's next preemption is due (pool index; see `sim::measured`).
    Measured(u32),
}

impl WorldEvent {
    /// Whether the event is part of a job's or a launch's progress (as opposed to market
    /// background that may lie far in the future).
    pub fn is_foreground(&self) -> bool {
        matches!(
            self,
            Self::InstanceReady(_)
                | Self::LaunchFailed(..)
                | Self::JobRunning(..)
                | Self::JobExited(..)
                | Self::CancelRequested(_)
                | Self::TerminateRequested(_)
        )
    }
}

/// A scheduled event; ordered by (time, sequence) alone, which is unique.
#[derive(Debug)]
struct Entry {
    key: (SimTime, u64),
    event: WorldEvent,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// A min-queue of world events keyed by (time, sequence).
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    foreground: usize,
}

impl EventQueue {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: SimTime, event: WorldEvent) {
        self.foreground += usize::from(event.is_foreground());
        self.heap.push(Reverse(Entry {
            key: (at, self.seq),
            event,
        }));
        self.seq += 1;
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(e)| e.key.0)
    }

    /// Removes the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, WorldEvent)> {
        let Reverse(Entry { key, event }) = self.heap.pop()?;
        self.foreground -= usize::from(event.is_foreground());
        Some((key.0, event))
    }

    /// Foreground events still scheduled.
    pub fn foreground(&self) -> usize {
        self.foreground
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_time_events_keep_schedule_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), WorldEvent::SpotReclaim(InstanceId(2)));
        q.push(SimTime(5), WorldEvent::SpotReclaim(InstanceId(1)));
        q.push(SimTime(1), WorldEvent::InstanceReady(InstanceId(9)));
        assert_eq!(q.foreground(), 1);
        assert_eq!(
            q.pop().map(|e| e.1),
            Some(WorldEvent::InstanceReady(InstanceId(9)))
        );
        assert_eq!(
            q.pop().map(|e| e.1),
            Some(WorldEvent::SpotReclaim(InstanceId(2)))
        );
        assert_eq!(
            q.pop().map(|e| e.1),
            Some(WorldEvent::SpotReclaim(InstanceId(1)))
        );
        assert!(q.is_empty());
    }
}
