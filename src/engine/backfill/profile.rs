//! The availability profile of one host: its free capacity now, plus the capacity running
//! jobs give back at their estimated ends, minus what reservations hold. Stored as two
//! ordered maps of changes, so a search walks O(changes on this host) and never the
//! running jobs of other hosts or the queue.

use crate::engine::Resources;
use crate::model::{JobId, SimDuration, SimTime};
use std::collections::BTreeMap;

/// A signed change of free capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    vcpus: i64,
    memory_mib: i64,
    gpus: i64,
}

impl Delta {
    pub(crate) fn of(r: Resources, sign: i64) -> Delta {
        Delta {
            vcpus: sign * r.vcpus as i64,
            memory_mib: sign * r.memory_mib as i64,
            gpus: sign * r.gpus as i64,
        }
    }

    fn add(&mut self, d: Delta) {
        self.vcpus += d.vcpus;
        self.memory_mib += d.memory_mib;
        self.gpus += d.gpus;
    }

    pub(crate) fn holds(&self, need: Resources) -> bool {
        self.vcpus >= need.vcpus as i64
            && self.memory_mib >= need.memory_mib as i64
            && self.gpus >= need.gpus as i64
    }

    /// Component-wise minimum.
    pub(crate) fn min(self, o: Delta) -> Delta {
        Delta {
            vcpus: self.vcpus.min(o.vcpus),
            memory_mib: self.memory_mib.min(o.memory_mib),
            gpus: self.gpus.min(o.gpus),
        }
    }

    /// `self - r`.
    pub(crate) fn minus(self, r: Resources) -> Delta {
        let mut d = self;
        d.add(Delta::of(r, -1));
        d
    }
}

/// [`HostProfile::floor`]'s answer and what it was computed for.
#[derive(Clone, Copy, Debug)]
struct FloorCache {
    version: u64,
    now: SimTime,
    /// The profile's next change after `now`: until then time changes nothing.
    until: SimTime,
    free: Resources,
    first: SimTime,
    floor: Delta,
}

impl FloorCache {
    /// Whether it answers for this profile version, time and free capacity.
    fn holds_for(&self, version: u64, now: SimTime, free: Resources) -> bool {
        self.version == version && self.free == free && self.now <= now && now < self.until
    }
}

/// Changes to come on one host.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostProfile {
    /// Running jobs' expected ends (start + estimate); jobs without an estimate are absent
    /// (they hold their capacity for good, as far as reservations go).
    pub(crate) releases: BTreeMap<(SimTime, JobId), Resources>,
    /// Reservations: −need at their start, +need at start + estimate.
    pub(crate) holds: BTreeMap<(SimTime, JobId, bool), Delta>,
    /// Bumped on every change (keeps [`Self::floor`]'s cache honest).
    pub(crate) version: u64,
    /// Cached floor, valid for one `(version, now, free)`: time alone changes it (a release
    /// passing its estimate stops counting), and so does capacity taken by a job without
    /// an estimate, which adds no release.
    floor_cache: Option<FloorCache>,
}

impl HostProfile {
    /// Changes in time order from `now` on: holds already due count from `now`. A release
    /// at or before `now` belongs to a job still running past its estimate (ends at `now`
    /// were handled before the pass): when it ends is unknown, so it counts as never, and
    /// its real end searches the reservations again.
    fn changes(&self, now: SimTime) -> impl Iterator<Item = (SimTime, Delta)> + '_ {
        use std::ops::Bound::{Excluded, Unbounded};
        let rel = self
            .releases
            .range((Excluded((now, JobId(u32::MAX))), Unbounded))
            .map(|(&(t, _), &r)| (t, Delta::of(r, 1)));
        let holds = self
            .holds
            .iter()
            .map(move |(&(t, _, _), &d)| (t.max(now), d));
        merge(rel, holds)
    }

    /// The earliest start at or after `now` when `need` fits for `dur` (`None`: for good),
    /// given `free` now; `None` if never.
    #[cfg(test)]
    pub(crate) fn earliest(
        &self,
        now: SimTime,
        free: Resources,
        need: Resources,
        dur: Option<SimDuration>,
    ) -> Option<SimTime> {
        self.search(now, free, need, dur, true)
    }

    /// Whether `need` fits from `now` for `dur` (`None`: for good).
    pub(crate) fn fits_now(
        &self,
        now: SimTime,
        free: Resources,
        need: Resources,
        dur: Option<SimDuration>,
    ) -> bool {
        self.search(now, free, need, dur, true) == Some(now)
    }

    /// Whether more than one reservation holds capacity here (stops at the second: the
    /// holds of a conservative queue may be thousands).
    pub(crate) fn several_reservations(&self) -> bool {
        self.holds.keys().filter(|k| !k.2).nth(1).is_some()
    }

    /// [`Self::earliest`], but only at a change after `now` (the job was offered `now`
    /// already and did not start).
    pub(crate) fn earliest_after(
        &self,
        now: SimTime,
        free: Resources,
        need: Resources,
        dur: Option<SimDuration>,
    ) -> Option<SimTime> {
        self.search(now, free, need, dur, false)
    }

    fn search(
        &self,
        now: SimTime,
        free: Resources,
        need: Resources,
        dur: Option<SimDuration>,
        at_now: bool,
    ) -> Option<SimTime> {
        let mut level = Delta::of(free, 1);
        let mut changes = self.changes(now).peekable();
        // Holds due now apply before the first look.
        while let Some(&(t, d)) = changes.peek() {
            if t > now {
                break;
            }
            level.add(d);
            changes.next();
        }
        let mut start = (at_now && level.holds(need)).then_some(now);
        while let Some((t, d)) = changes.next() {
            if let (Some(s), Some(dur)) = (start, dur) {
                if t >= s + dur {
                    return Some(s);
                }
            }
            level.add(d);
            // Every change at the same instant applies before judging it.
            while let Some(&(t2, d2)) = changes.peek() {
                if t2 != t {
                    break;
                }
                level.add(d2);
                changes.next();
            }
            match (start, level.holds(need)) {
                (Some(_), false) => start = None,
                (None, true) => start = Some(t),
                _ => {}
            }
        }
        start
    }

    /// `(first hold start, min free from then on)`, or `None` with no holds. Before the
    /// first hold only releases come, so free capacity never drops: a job that fits now
    /// and ends by then delays no reservation, and one running past it needs only fit
    /// under this floor.
    pub(crate) fn floor(&mut self, now: SimTime, free: Resources) -> Option<(SimTime, Delta)> {
        if let Some(c) = self.floor_cache {
            if c.holds_for(self.version, now, free) {
                return Some((c.first, c.floor));
            }
        }
        let Some(first) = self.holds.keys().next().map(|k| k.0.max(now)) else {
            self.floor_cache = None;
            return None;
        };
        let mut level = Delta::of(free, 1);
        let mut floor: Option<Delta> = None;
        {
            let mut changes = self.changes(now).peekable();
            while let Some((t, d)) = changes.next() {
                level.add(d);
                if changes.peek().is_some_and(|&(t2, _)| t2 == t) {
                    continue; // judge an instant after all of its changes
                }
                if t >= first {
                    floor = Some(floor.map_or(level, |f| f.min(level)));
                }
            }
        }
        let floor = floor.unwrap_or(level);
        self.floor_cache = Some(FloorCache {
            version: self.version,
            now,
            until: self.next_change_after(now),
            free,
            first,
            floor,
        });
        Some((first, floor))
    }

    /// The time of the first release or hold change strictly after `now` (`SimTime(u64::MAX)`
    /// with none): before it, the profile seen from any later instant is the same.
    fn next_change_after(&self, now: SimTime) -> SimTime {
        use std::ops::Bound::{Excluded, Unbounded};
        let rel = self
            .releases
            .range((Excluded((now, JobId(u32::MAX))), Unbounded));
        let hold = self
            .holds
            .range((Excluded((now, JobId(u32::MAX), true)), Unbounded));
        let next = |t: Option<SimTime>| t.unwrap_or(SimTime(u64::MAX));
        next(rel.map(|(k, _)| k.0).next()).min(next(hold.map(|(k, _)| k.0).next()))
    }

    /// After a job needing `need` started here by backfilling at `now` (its release, if it
    /// has an estimate, just added: `bumped`), leaving `free`: keeps the cached floor,
    /// lowered by `need` when the job may run past the first hold. Exact when it ends before
    /// it; a safe bound otherwise, as classic EASY keeps its "extra" nodes. Only a cache
    /// made for the moment just before this start is kept; any other is dropped.
    pub(crate) fn keep_floor(
        &mut self,
        now: SimTime,
        free: Resources,
        need: Resources,
        bumped: bool,
        past_first: bool,
    ) {
        let before = self.version - u64::from(bumped);
        self.floor_cache = self.floor_cache.and_then(|c| {
            let fresh = c.holds_for(before, now, free.plus(&need));
            fresh.then(|| FloorCache {
                version: self.version,
                free,
                floor: if past_first {
                    c.floor.minus(need)
                } else {
                    c.floor
                },
                ..c
            })
        });
    }

    /// Holds `need` from `start` for `dur` (for good when `None`) for `job`.
    pub(crate) fn add_hold(
        &mut self,
        job: JobId,
        start: SimTime,
        need: Resources,
        dur: Option<SimDuration>,
    ) {
        self.holds.insert((start, job, false), Delta::of(need, -1));
        if let Some(d) = dur {
            self.holds
                .insert((start + d, job, true), Delta::of(need, 1));
        }
        self.version += 1;
    }

    /// Drops `job`'s hold that starts at `start`.
    pub(crate) fn remove_hold(&mut self, job: JobId, start: SimTime, dur: Option<SimDuration>) {
        self.holds.remove(&(start, job, false));
        if let Some(d) = dur {
            self.holds.remove(&(start + d, job, true));
        }
        self.version += 1;
    }
}

/// Merges two time-ordered streams.
fn merge<A, B>(a: A, b: B) -> impl Iterator<Item = (SimTime, Delta)>
where
    A: Iterator<Item = (SimTime, Delta)>,
    B: Iterator<Item = (SimTime, Delta)>,
{
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
        (Some(_), Some(_)) => b.next(),
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(vcpus: u32) -> Resources {
        Resources {
            vcpus,
            memory_mib: vcpus,
            gpus: 0,
        }
    }

    fn s(secs: u64) -> SimTime {
        SimTime(secs * 1000)
    }

    #[test]
    fn earliest_slot_walks_releases_and_holds() {
        // 8 vCPUs: 2 free now; 4 come back at 100 s, 2 at 200 s.
        let mut p = HostProfile::default();
        p.releases.insert((s(100), JobId(1)), r(4));
        p.releases.insert((s(200), JobId(2)), r(2));
        let d = |x| Some(SimDuration::from_secs(x));
        assert_eq!(p.earliest(s(0), r(2), r(2), d(50)), Some(s(0)));
        assert_eq!(p.earliest(s(0), r(2), r(6), d(50)), Some(s(100)));
        assert_eq!(p.earliest(s(0), r(2), r(8), None), Some(s(200)));
        assert_eq!(p.earliest(s(0), r(2), r(9), None), None);
        // A reservation of 6 vCPUs over [100, 300): a 4-vCPU job for 150 s fits only at 300.
        p.add_hold(JobId(3), s(100), r(6), d(200));
        assert_eq!(p.earliest(s(0), r(2), r(4), d(150)), Some(s(300)));
        // A 2-vCPU job for 50 s still fits now (it ends before the hold); one for 500 s
        // would overlap [100, 200), where 2 still run and the hold takes the other 6.
        assert_eq!(p.earliest(s(0), r(2), r(2), d(50)), Some(s(0)));
        assert_eq!(p.earliest(s(0), r(2), r(2), d(500)), Some(s(200)));
        assert_eq!(p.floor(s(0), r(2)), Some((s(100), Delta::of(r(0), 1))));
        p.remove_hold(JobId(3), s(100), d(200));
        assert_eq!(p.earliest(s(0), r(2), r(4), d(150)), Some(s(100)));
    }

    #[test]
    fn overdue_releases_count_as_never() {
        // Job 1 was due back at 10 s and still runs at 50 s: its 4 vCPUs are not promised.
        let mut p = HostProfile::default();
        p.releases.insert((s(10), JobId(1)), r(4));
        p.releases.insert((s(80), JobId(2)), r(2));
        assert_eq!(p.earliest(s(50), r(0), r(2), None), Some(s(80)));
        assert_eq!(p.earliest(s(50), r(0), r(4), None), None);
        assert!(!p.fits_now(s(50), r(0), r(2), None));
        assert_eq!(p.earliest_after(s(50), r(2), r(2), None), Some(s(80)));
    }
}
