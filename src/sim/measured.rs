//! Spot pools driven by measured traces (`[[spot.measured]]` in a scenario; the traces are
//! read by [`crate::input::SpotTrace`]).
//!
//! Semantics (an entry speaks for its type's pool in its zone when the market has that zone,
//! else for every pool of the type):
//! - **Time.** Simulated time `s` is trace time `s + offset`; tick `i` covers trace time
//!   `[i × gap, (i + 1) × gap)`. With `loop` (the default) the trace repeats end to end for
//!   as long as the run lasts (the fall from the last tick to the first counts at each
//!   wrap); without it, the trace stops constraining the pool after its last tick (the
//!   pool is then as without a measured trace, except that the hazard model stays off).
//! - **Availability.** At a tick where `k` of the trace's `N` instances were obtainable the
//!   pool gives at most `⌊k × capacity / N⌋` Spot instances alive at once, where `capacity`
//!   is the entry's `capacity`, else `spot.capacity` of the type, else unlimited (then any
//!   `k > 0` means no limit). `k = 0` means none. A launch beyond the limit fails with
//!   `InsufficientInstanceCapacity`, as `spot.capacity` does. Instances already held are
//!   not touched by availability.
//! - **Preemption replay.** The preemption trace is held here as instances held at each
//!   tick: the scenario reader turns the file's values into that series under the entry's
//!   `counts` (`missing`, the default: a value is the number of the `N` instances preempted,
//!   held = `N − value`, so a rise of the value is a fall here; `held`: the values as they
//!   are). Where the count of instances held falls by `d` from one tick to the next (`d`
//!   of `N` preempted), a share `d / N` of the pool's Spot instances held at
//!   that time is reclaimed: the count is `d / N × held`, rounded down or up at random
//!   (up with probability equal to the fraction, so the expected share is exact) and the
//!   instances are picked at random; both draws come from the seeded stream
//!   `measured:<type>`. Each picked instance gets the two-minute notice two minutes before
//!   the tick and is gone at the tick, exactly like a hazard-based reclaim. Instances
//!   launched in those two minutes are not picked. This replaces the hazard model for the
//!   pool; `hazard_scale` does not apply to a replay.
//! - **Fitted hazard** (`hazard = "measured"`): instead of replaying the preemption trace,
//!   instances of the pool draw exponential lifetimes at the rate fitted to it
//!   (preemptions per instance-hour held, see [`crate::input::spot_trace_fit`]), times
//!   `hazard_scale`, from the usual `interruptions` stream.

use super::events::{EventQueue, WorldEvent};
use super::SimDriver;
use crate::engine::InstanceId;
use crate::input::SpotTrace;
use crate::model::{InstanceTypeId, SimDuration, SimTime};
use rand::Rng;
use rand_pcg::Pcg64;
use std::collections::BTreeMap;

/// One `[[spot.measured]]` entry, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasuredPool {
    /// The pool's instance type.
    pub instance_type: InstanceTypeId,
    /// The zone the traces were measured in: the entry drives only that zone's pool when the
    /// market has the zone (`[spot] zones` or a price history), else every pool of the type.
    pub zone: Option<String>,
    /// Instances obtainable per tick, if given.
    pub availability: Option<SpotTrace>,
    /// Instances held per tick, if given (the file's values already read with the entry's
    /// `counts`: under `missing`, `N − value`).
    pub preemption: Option<SpotTrace>,
    /// Trace time at simulated time 0.
    pub offset: SimDuration,
    /// Whether the traces repeat when the run outlasts them.
    pub looped: bool,
    /// Spot instances the pool gives when the availability trace shows all `N` obtainable
    /// (`None`: `spot.capacity` of the type, else unlimited).
    pub capacity: Option<u32>,
    /// How the preemption trace is used.
    pub hazard: MeasuredHazard,
}

/// How a pool's preemption trace drives reclaims.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MeasuredHazard {
    /// Replay its preemptions tick by tick.
    Replay,
    /// Draw exponential lifetimes at this fitted rate (per instance-hour).
    Fitted(f64),
}

impl MeasuredPool {
    /// The trace value at simulated time `at`, or `None` once a non-looping trace has ended.
    pub fn value_at(&self, trace: &SpotTrace, at: SimTime) -> Option<u32> {
        let tick = (at.0.saturating_add(self.offset.0) / trace.gap.0.max(1)) as usize;
        let len = trace.values.len();
        match (tick < len, self.looped) {
            (true, _) => Some(trace.values[tick]),
            (false, true) => Some(trace.values[tick % len]),
            (false, false) => None,
        }
    }
}

/// A pool's replay state: its falls and where the replay is.
#[derive(Debug)]
struct Replay {
    /// (tick, fall) for every tick whose count is below the previous tick's; tick 0 holds
    /// the fall across a wrap (last tick to first), used from the second pass on.
    falls: Vec<(u64, u32)>,
    /// Next fall to deliver: (pass, index in `falls`).
    cursor: (u64, usize),
    /// The fall due at the pending event: (simulated time of the tick, fall).
    due: Option<(SimTime, u32)>,
    rng: Pcg64,
}

/// Every measured pool of a run.
#[derive(Debug, Default)]
pub(super) struct MeasuredWorld {
    pools: Vec<MeasuredPool>,
    replays: Vec<Option<Replay>>,
    by_type: BTreeMap<InstanceTypeId, usize>,
    /// The market's zone names (a measured entry's zone is matched against them).
    zones: Vec<String>,
}

impl MeasuredWorld {
    /// The pools of `pools`, with the first preemption of every replayed one scheduled.
    pub(super) fn new(
        seed: u64,
        pools: &[MeasuredPool],
        zones: &[String],
        names: &dyn Fn(InstanceTypeId) -> String,
        events: &mut EventQueue,
    ) -> Self {
        let mut w = MeasuredWorld {
            pools: pools.to_vec(),
            zones: zones.to_vec(),
            ..MeasuredWorld::default()
        };
        for (i, p) in pools.iter().enumerate() {
            w.by_type.entry(p.instance_type).or_insert(i);
            let replay = match (&p.preemption, p.hazard) {
                (Some(t), MeasuredHazard::Replay) => Some(Replay {
                    falls: falls(t),
                    cursor: (p.offset.0 / t.span().0.max(1), 0),
                    due: None,
                    rng: super::rng::stream(seed, &format!("measured:{}", names(p.instance_type))),
                }),
                _ => None,
            };
            w.replays.push(replay);
            w.schedule_next(i, SimTime::ZERO, events);
        }
        w
    }

    /// The measured entry of type `t` that speaks for the pool in zone `pool_zone`: an
    /// entry without a zone, or whose zone the market does not have, speaks for every pool of
    /// its type; one naming a market zone only for that zone's pool.
    fn entry(&self, t: InstanceTypeId, pool_zone: Option<&str>) -> Option<&MeasuredPool> {
        let p = &self.pools[*self.by_type.get(&t)?];
        match p.zone.as_deref() {
            Some(z) if self.zones.iter().any(|m| m == z) && pool_zone != Some(z) => None,
            _ => Some(p),
        }
    }

    /// The hazard the measured entry imposes on the pool of `t` in `pool_zone`:
    /// `Some(None)` when a replay replaces it, `Some(Some(rate))` for a fitted rate, `None`
    /// when the bucket model stays (no entry speaks for that pool).
    pub(super) fn hazard(&self, t: InstanceTypeId, pool_zone: Option<&str>) -> Option<Option<f64>> {
        let p = self.entry(t, pool_zone)?;
        match (&p.preemption, p.hazard) {
            (None, _) => None,
            (Some(_), MeasuredHazard::Replay) => Some(None),
            (Some(_), MeasuredHazard::Fitted(r)) => Some(Some(r)),
        }
    }

    /// The zone a measured pool of `t` names, if any.
    pub(super) fn zone_of(&self, t: InstanceTypeId) -> Option<&str> {
        self.pools[*self.by_type.get(&t)?].zone.as_deref()
    }

    /// Most Spot instances of `t` the market gives at `at` (`None`: no measured limit).
    pub(super) fn limit(
        &self,
        t: InstanceTypeId,
        at: SimTime,
        capacity: Option<u32>,
    ) -> Option<u64> {
        let p = &self.pools[*self.by_type.get(&t)?];
        let trace = p.availability.as_ref()?;
        let k = u64::from(p.value_at(trace, at)?);
        match (k, p.capacity.or(capacity)) {
            (0, _) => Some(0),
            (_, None) => None,
            (k, Some(c)) => Some(k * u64::from(c) / u64::from(trace.nodes.max(1))),
        }
    }

    /// Finds the pool's next fall after the cursor and schedules its event (two minutes
    /// before its tick, never before `now`).
    fn schedule_next(&mut self, pool: usize, now: SimTime, events: &mut EventQueue) {
        let p = &self.pools[pool];
        let (Some(r), Some(trace)) = (self.replays[pool].as_mut(), p.preemption.as_ref()) else {
            return;
        };
        let span = trace.span().0;
        let (mut pass, mut j) = r.cursor;
        r.due = loop {
            if !p.looped && pass > 0 {
                break None;
            }
            if j == r.falls.len() {
                if !p.looped || r.falls.is_empty() {
                    break None;
                }
                (pass, j) = (pass + 1, 0);
                continue;
            }
            let (tick, d) = r.falls[j];
            j += 1;
            let trace_ms = pass
                .saturating_mul(span)
                .saturating_add(tick.saturating_mul(trace.gap.0));
            // Tick 0 is a fall only across a wrap; ticks up to the offset are before the run.
            if (tick == 0 && pass == 0) || trace_ms <= p.offset.0 {
                continue;
            }
            break Some((SimTime(trace_ms - p.offset.0), d));
        };
        r.cursor = (pass, j);
        if let Some((at, _)) = r.due {
            let notice = SimTime(at.0.saturating_sub(super::SPOT_NOTICE.0)).max(now);
            events.push(notice, WorldEvent::Measured(pool as u32));
        }
    }
}

/// The falls of a trace: (tick, how much lower than the tick before); tick 0 holds the
/// fall from the last tick to the first.
fn falls(t: &SpotTrace) -> Vec<(u64, u32)> {
    let v = &t.values;
    let wrap = v[v.len() - 1].saturating_sub(v[0]);
    let mut out: Vec<(u64, u32)> = (wrap > 0).then_some((0, wrap)).into_iter().collect();
    out.extend(
        v.windows(2)
            .enumerate()
            .filter(|(_, w)| w[1] < w[0])
            .map(|(i, w)| (i as u64 + 1, w[0] - w[1])),
    );
    out
}

impl SimDriver {
    /// A measured pool's preemption is due: pick its share of the held instances, give them
    /// notice now and reclaim them at the tick, and schedule the pool's next fall.
    pub(super) fn measured_tick(&mut self, pool: u32, now: SimTime) {
        let pool = pool as usize;
        let world = &mut self.measured;
        let Some(r) = world.replays[pool].as_mut() else {
            return;
        };
        let Some((at, d)) = r.due.take() else { return };
        let p = &world.pools[pool];
        let nodes = p.preemption.as_ref().map_or(1, |t| t.nodes.max(1));
        let eligible: Vec<InstanceId> = self
            .market
            .alive_of(p.instance_type, p.zone.as_deref())
            .into_iter()
            .filter(|i| {
                self.instances[i.0 as usize]
                    .reclaim_at
                    .is_none_or(|x| x > at)
            })
            .collect();
        let chosen = pick_share(&mut r.rng, eligible, d, nodes);
        for id in chosen {
            self.schedule_reclaim(id, now, at);
        }
        self.measured.schedule_next(pool, now, &mut self.events);
    }

    /// What a measured availability trace closes to a Spot launch of `t` at `now`: nothing,
    /// every pool of the type (an entry for the type), or one pool (an entry for a zone the
    /// market has; the fleet then picks among the others).
    pub(super) fn measured_closed(&self, t: InstanceTypeId, now: SimTime) -> Closed {
        let Some(limit) = self
            .measured
            .limit(t, now, self.spot.capacity.get(&t).copied())
        else {
            return Closed::Nothing;
        };
        let zone = self.measured.zone_of(t);
        if (self.market.alive_of(t, zone).len() as u64) < limit {
            return Closed::Nothing;
        }
        let named = zone.and_then(|z| self.market.pool(t, z).filter(|_| self.market.has_zone(z)));
        named.map_or(Closed::Type, Closed::Pool)
    }
}

/// What a measured availability trace closes to a launch now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Closed {
    /// Nothing: the pools decide.
    Nothing,
    /// Every pool of the type.
    Type,
    /// One (type, zone) pool.
    Pool(super::pools::PoolId),
}

/// `d / nodes` of `held`, rounded at random to an unbiased whole count, picked at random
/// (partial Fisher–Yates over `held` in id order).
fn pick_share(rng: &mut Pcg64, mut held: Vec<InstanceId>, d: u32, nodes: u32) -> Vec<InstanceId> {
    let exact = held.len() as u64 * u64::from(d.min(nodes));
    let mut count = (exact / u64::from(nodes)) as usize;
    let rest = exact % u64::from(nodes);
    if rest > 0 && rng.gen_range(0..u64::from(nodes)) < rest {
        count += 1;
    }
    for i in 0..count.min(held.len()) {
        let j = rng.gen_range(i..held.len());
        held.swap(i, j);
    }
    held.truncate(count);
    held
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn trace(values: &[u32], nodes: u32) -> SpotTrace {
        SpotTrace {
            gap: SimDuration::from_secs(60),
            values: values.to_vec(),
            nodes,
        }
    }

    #[test]
    fn falls_include_the_wrap() {
        assert_eq!(falls(&trace(&[4, 4, 1, 3, 0], 4)), [(2, 3), (4, 3)]);
        assert_eq!(falls(&trace(&[0, 1, 1], 1)), [(0, 1)]);
    }

    #[test]
    fn the_reading_decides_which_changes_are_falls() {
        use crate::input::spot_trace_fit::Counts;
        // Preempted 0, 0, 3, 1, 4 of 4 (the default reading): held 4, 4, 1, 3, 0, so the
        // rises at ticks 2 and 4 are the preemptions.
        let raw = trace(&[0, 0, 3, 1, 4], 4);
        assert_eq!(
            falls(&Counts::Missing.to_held(raw.clone())),
            [(2, 3), (4, 3)]
        );
        // Read as held: the fall at tick 3, and 4 across the wrap.
        assert_eq!(falls(&Counts::Held.to_held(raw)), [(0, 4), (3, 2)]);
    }

    #[test]
    fn share_is_exact_when_whole_and_unbiased_otherwise() {
        let mut rng = Pcg64::seed_from_u64(3);
        let ids: Vec<InstanceId> = (0..8).map(InstanceId).collect();
        assert_eq!(pick_share(&mut rng, ids.clone(), 1, 1).len(), 8);
        assert_eq!(pick_share(&mut rng, ids.clone(), 2, 4).len(), 4);
        // 1 of 4 of 2 held: half an instance on average.
        let total: usize = (0..4000)
            .map(|_| pick_share(&mut rng, ids[..2].to_vec(), 1, 4).len())
            .sum();
        assert!((1800..2200).contains(&total), "{total}");
    }
}
