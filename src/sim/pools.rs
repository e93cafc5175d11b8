//! Spot capacity pools: one per (instance type, availability zone) EC2 offers, each with its
//! own price, capacity and interruption stream.
//!
//! Modelling choices (see `docs/spot-prices.md`):
//! - Without `[spot] zones` there is one unnamed zone and pool `t` is type `t` (runs are as
//!   before zones existed, and all pools draw interruptions from the one stream
//!   `interruptions`). With zones, each pool draws from `interruptions/<type>/<zone>`.
//! - A pool's price, first match wins: its price history; the type's `price_series` CSV;
//!   the synthetic model; else constant. The base (constant, and what the synthetic model
//!   reverts to) is the pool's `spot_price_usd_per_hour`, else the catalog estimate
//!   `OnDemand × (1 − savings)`, else On-Demand.
//! - The engine ranks instance types, seeing per type the lowest price over its pools. The
//!   simulated EC2 fleet then picks the zone of each Spot launch among the pools whose price
//!   is within the launch's maximum price and that have spare capacity: capacity-optimized →
//!   the most spare capacity (then price, zone order); price-capacity-optimized → the
//!   cheapest among the "deep" pools, those with at least half the largest spare capacity;
//!   BEST_FIT and BEST_FIT_PROGRESSIVE → the cheapest (then most spare, zone order). A launch
//!   fails with `SpotMaxPriceTooLow` when every pool is priced above its maximum, else with
//!   `InsufficientInstanceCapacity` when no pool has room.
//! - On-Demand launches have no pool (unlimited capacity, no zone recorded).

use super::billing::PriceTimeline;
use super::synthetic::PriceProcess;
use crate::engine::{InstanceId, LaunchFailure};
use crate::model::{AllocationStrategy, Catalog, InstanceTypeId, MicroUsd, SimTime};
use crate::scenario::SpotModel;
use rand_pcg::Pcg64;
use std::collections::BTreeSet;

/// Index of a Spot pool in [`SpotMarket`]; without zones, the instance type's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PoolId(pub u32);

/// One (type, zone) pool.
#[derive(Clone, Debug)]
pub struct Pool {
    /// The instance type.
    pub instance_type: InstanceTypeId,
    /// Index into [`SpotMarket::zones`] (0 without zones).
    pub zone: u16,
    /// Most instances alive at once; `None` = unlimited.
    pub capacity: Option<u32>,
    /// Multiplies the type's interruption hazard (with `spot.hazard_scale`).
    pub hazard_scale: f64,
    /// The Spot instances alive in it.
    pub alive: BTreeSet<InstanceId>,
    /// Its price now.
    pub price: MicroUsd,
    /// Its synthetic price process, if its price comes from the model.
    synthetic: Option<PriceProcess>,
    /// Its own interruption stream (zones only).
    rng: Option<Pcg64>,
}

impl Pool {
    /// Spare capacity (`u64::MAX` when unlimited).
    pub fn spare(&self) -> u64 {
        self.capacity.map_or(u64::MAX, |c| {
            (c as u64).saturating_sub(self.alive.len() as u64)
        })
    }
}

/// The run's Spot market: pools and how launches pick among them.
#[derive(Clone, Debug)]
pub struct SpotMarket {
    zones: Vec<String>,
    pools: Vec<Pool>,
    by_type: Vec<Vec<PoolId>>,
    /// Whether a price above an instance's maximum price interrupts it.
    pub interrupt_above_max_price: bool,
}

/// A market with its price timelines (indexed by [`PoolId`]) and the price changes known in
/// advance (histories and price series), to schedule.
pub struct MarketSetup {
    /// The market.
    pub market: SpotMarket,
    /// Price over time of each pool.
    pub timelines: Vec<PriceTimeline>,
    /// `(time, pool, price)` changes to deliver, in schedule order.
    pub changes: Vec<(SimTime, PoolId, MicroUsd)>,
}

impl SpotMarket {
    /// Lays out the pools of `catalog` under `spot`; `epoch_ms` is the Unix time of the run's
    /// time 0 (for price histories), `seed` the master seed.
    pub fn build(catalog: &Catalog, spot: &SpotModel, seed: u64, epoch_ms: u64) -> MarketSetup {
        let spec = &spot.market;
        let zoned = !spec.zones.is_empty();
        let zone_count = spec.zones.len().max(1);
        let mut market = SpotMarket {
            zones: spec.zones.clone(),
            pools: Vec::new(),
            by_type: vec![Vec::new(); catalog.len()],
            interrupt_above_max_price: spec.interrupt_above_max_price,
        };
        let mut timelines = Vec::new();
        let mut changes = Vec::new();
        for t in catalog.ids() {
            let ty = catalog.get(t);
            for z in 0..zone_count {
                let zone = spec.zones.get(z).map_or("", String::as_str);
                let over = spec
                    .pools
                    .iter()
                    .find(|p| p.instance_type == t && p.zone == zone);
                if over.is_some_and(|p| !p.offered) {
                    continue;
                }
                let id = PoolId(market.pools.len() as u32);
                let base = over
                    .and_then(|p| p.spot_price)
                    .or_else(|| ty.default_spot_price())
                    .unwrap_or(ty.on_demand_per_hour);
                let stream =
                    |kind: &str| super::rng::stream(seed, &format!("{kind}/{}/{zone}", ty.name));
                let history = spec
                    .history
                    .as_ref()
                    .and_then(|h| h.pools.get(&(t, zone.to_string())));
                let (initial, steps, synthetic) = if let Some(h) = history {
                    let steps = to_sim_steps(h, epoch_ms);
                    (steps[0].1, steps, None)
                } else if let Some(series) = spot.price_series.get(&t) {
                    (base, series.clone(), None)
                } else if let (Some(m), true) = (&spec.synthetic, ty.has_spot()) {
                    let p =
                        PriceProcess::new(m, base, ty.on_demand_per_hour, stream("spot-prices"));
                    (base.min(ty.on_demand_per_hour), Vec::new(), Some(p))
                } else {
                    (base, Vec::new(), None)
                };
                changes.extend(steps.iter().map(|&(at, p)| (at, id, p)));
                timelines.push(PriceTimeline::with_changes(initial, &steps));
                market.by_type[t.0 as usize].push(id);
                market.pools.push(Pool {
                    instance_type: t,
                    zone: z as u16,
                    capacity: over
                        .and_then(|p| p.capacity)
                        .or_else(|| spot.capacity.get(&t).copied()),
                    hazard_scale: over.and_then(|p| p.hazard_scale).unwrap_or(1.0),
                    alive: BTreeSet::new(),
                    price: initial,
                    synthetic,
                    rng: zoned.then(|| stream("interruptions")),
                });
            }
        }
        // The engine starts from the catalog estimate: tell it at time 0 where a type's best
        // price differs and no change at 0 says so already (never without zones, histories or
        // overrides: such runs stay as they were).
        let told: BTreeSet<InstanceTypeId> = changes
            .iter()
            .filter(|c| c.0 == SimTime::ZERO)
            .map(|c| market.pool_ref(c.1).instance_type)
            .collect();
        let mut first = Vec::new();
        for t in catalog.ids().filter(|t| !told.contains(t)) {
            match (market.best_pool(t), catalog.get(t).default_spot_price()) {
                (Some(p), Some(d)) if market.pool_ref(p).price != d => {
                    first.push((SimTime::ZERO, p, market.pool_ref(p).price));
                }
                _ => {}
            }
        }
        first.append(&mut changes);
        let changes = first;
        MarketSetup {
            market,
            timelines,
            changes,
        }
    }

    /// The pool of type `t` in zone `zone`; without zones, the type's one pool whatever the
    /// zone name. `None` when EC2 does not offer the type there.
    pub fn pool(&self, t: InstanceTypeId, zone: &str) -> Option<PoolId> {
        let pools = self.by_type.get(t.0 as usize)?;
        if self.zones.is_empty() {
            return pools.first().copied();
        }
        let z = self.zones.iter().position(|n| n == zone)? as u16;
        pools.iter().copied().find(|&p| self.pool_ref(p).zone == z)
    }

    /// The pools offering type `t`, in zone order.
    pub fn pools_of(&self, t: InstanceTypeId) -> &[PoolId] {
        self.by_type.get(t.0 as usize).map_or(&[], Vec::as_slice)
    }

    /// The pool with this id.
    pub fn pool_ref(&self, p: PoolId) -> &Pool {
        &self.pools[p.0 as usize]
    }

    /// The pool with this id, to change.
    pub fn pool_mut(&mut self, p: PoolId) -> &mut Pool {
        &mut self.pools[p.0 as usize]
    }

    /// Number of pools.
    pub fn len(&self) -> usize {
        self.pools.len()
    }

    /// Whether there are no pools.
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// The zone names (empty without zones).
    pub fn zones(&self) -> &[String] {
        &self.zones
    }

    /// The zone name of a pool (`None` without zones).
    pub fn zone_name(&self, p: PoolId) -> Option<&str> {
        self.zones
            .get(self.pool_ref(p).zone as usize)
            .map(String::as_str)
    }

    /// The Spot instances alive in type `t`'s pools, in id order: only zone `zone`'s pool
    /// when `zone` names one of the market's zones (a measured trace of that zone), else all.
    pub fn alive_of(&self, t: InstanceTypeId, zone: Option<&str>) -> Vec<InstanceId> {
        let named = zone.filter(|z| self.zones.iter().any(|x| x == z));
        let mut ids: Vec<InstanceId> = self
            .pools_of(t)
            .iter()
            .filter(|&&p| named.is_none() || self.zone_name(p) == named)
            .flat_map(|&p| self.pool_ref(p).alive.iter().copied())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Whether `zone` is one of the market's zones.
    pub fn has_zone(&self, zone: &str) -> bool {
        self.zones.iter().any(|z| z == zone)
    }

    /// The cheapest pool of type `t` now (first in zone order among equals).
    pub fn best_pool(&self, t: InstanceTypeId) -> Option<PoolId> {
        let pools = self.pools_of(t).iter().copied();
        pools.min_by_key(|&p| self.pool_ref(p).price)
    }

    /// The lowest price of type `t` over its pools now (what the engine is told).
    pub fn best_price(&self, t: InstanceTypeId) -> Option<MicroUsd> {
        self.best_pool(t).map(|p| self.pool_ref(p).price)
    }

    /// The pool a Spot launch of `t` at `max_price` goes to under `strategy`, or why none;
    /// `closed` is a pool that takes no launch now (a measured availability trace says so).
    pub fn choose(
        &self,
        t: InstanceTypeId,
        max_price: MicroUsd,
        strategy: AllocationStrategy,
        closed: Option<PoolId>,
    ) -> Result<PoolId, LaunchFailure> {
        let offered = self
            .pools_of(t)
            .iter()
            .copied()
            .filter(|&p| Some(p) != closed);
        let offered: Vec<PoolId> = offered.collect();
        if offered.is_empty() {
            // No zone offers the type (or the only one is closed): a capacity failure.
            return Err(LaunchFailure::InsufficientInstanceCapacity);
        }
        let priced: Vec<PoolId> = offered
            .into_iter()
            .filter(|&p| self.pool_ref(p).price <= max_price)
            .collect();
        if priced.is_empty() {
            return Err(LaunchFailure::SpotPriceAboveMax);
        }
        let open: Vec<(PoolId, u64, MicroUsd)> = priced
            .into_iter()
            .map(|p| (p, self.pool_ref(p).spare(), self.pool_ref(p).price))
            .filter(|&(_, spare, _)| spare > 0)
            .collect();
        let deepest = open.iter().map(|o| o.1).max();
        let Some(deepest) = deepest else {
            return Err(LaunchFailure::InsufficientInstanceCapacity);
        };
        // `open` is in zone order and min_by_key keeps the first of equals: zone order breaks
        // the last ties.
        let pick = match strategy {
            AllocationStrategy::SpotCapacityOptimized => {
                open.iter().min_by_key(|o| (std::cmp::Reverse(o.1), o.2))
            }
            AllocationStrategy::SpotPriceCapacityOptimized => open
                .iter()
                .filter(|o| o.1 >= deepest / 2)
                .min_by_key(|o| (o.2, std::cmp::Reverse(o.1))),
            AllocationStrategy::BestFit | AllocationStrategy::BestFitProgressive => {
                open.iter().min_by_key(|o| (o.2, std::cmp::Reverse(o.1)))
            }
        };
        Ok(pick.expect("open is not empty").0)
    }

    /// The interruption stream of pool `p` (its own with zones), or `shared` without.
    pub fn interruption_rng<'a>(&'a mut self, p: PoolId, shared: &'a mut Pcg64) -> &'a mut Pcg64 {
        match &mut self.pools[p.0 as usize].rng {
            Some(r) => r,
            None => shared,
        }
    }

    /// Steps every synthetic pool once; returns the `(pool, price)` that changed.
    pub fn step_synthetic(&mut self) -> Vec<(PoolId, MicroUsd)> {
        let mut out = Vec::new();
        for (i, pool) in self.pools.iter_mut().enumerate() {
            if let Some(proc_) = &mut pool.synthetic {
                let p = proc_.step();
                if p != pool.price {
                    out.push((PoolId(i as u32), p));
                }
            }
        }
        out
    }

    /// Whether any pool's price comes from the synthetic model.
    pub fn has_synthetic(&self) -> bool {
        self.pools.iter().any(|p| p.synthetic.is_some())
    }
}

/// A history's `(Unix ms, price)` steps as run time steps: time 0 is `epoch_ms`, earlier
/// steps set the price at 0 (the last of them wins), and the first price also holds before
/// the first step.
fn to_sim_steps(h: &[(u64, MicroUsd)], epoch_ms: u64) -> Vec<(SimTime, MicroUsd)> {
    let mut out: Vec<(SimTime, MicroUsd)> = Vec::with_capacity(h.len());
    for &(ms, p) in h {
        let at = SimTime(ms.saturating_sub(epoch_ms));
        match out.last_mut() {
            Some(last) if last.0 == at => last.1 = p,
            _ => out.push((at, p)),
        }
    }
    if let Some(first) = out.first_mut() {
        // Backfill: the first known price holds from time 0.
        first.0 = SimTime::ZERO;
    }
    out
}
