//! The simulated EC2 fleet's side of Spot: launching into a pool, price changes, price-driven
//! and random interruptions.
//!
//! - A Spot launch goes to the pool [`SpotMarket::choose`] picks for the compute
//!   environment's allocation strategy, or fails (`SpotMaxPriceTooLow` when every pool of the
//!   type is priced above the launch's maximum price, `InsufficientInstanceCapacity` when
//!   none has room).
//! - Its reclaim time is drawn at launch: exponential with the type's interruption-bucket
//!   hazard × `spot.hazard_scale` × the pool's `hazard_scale`, from the pool's stream.
//! - A pool's price change tells the engine the type's lowest price over its pools, and,
//!   when `interrupt_above_max_price` (default), reclaims the pool's instances whose maximum
//!   price it now exceeds: notice now, gone two minutes later.

use super::measured::Closed;
use super::pools::{PoolId, SpotMarket};
use super::{SimDriver, WorldEvent, WorldInstance, SPOT_NOTICE};
use crate::engine::{Input, InstanceId};
use crate::model::{AllocationStrategy, InstanceTypeId, Market, MicroUsd, SimDuration, SimTime};
use rand_distr::{Distribution, Exp};

/// One launch request as the fleet sees it.
pub(super) struct Launch {
    pub(super) id: InstanceId,
    pub(super) instance_type: InstanceTypeId,
    pub(super) market: Market,
    pub(super) max_price: MicroUsd,
    pub(super) strategy: AllocationStrategy,
}

impl SimDriver {
    pub(super) fn launch(&mut self, now: SimTime, l: Launch) {
        let t = l.instance_type;
        let mut inst = WorldInstance {
            instance_type: t,
            market: l.market,
            max_price: l.max_price,
            launched_at: now,
            ended_at: None,
            launch_failed: false,
            reclaim_at: None,
            noticed: false,
            jobs: Vec::new(),
            pool: None,
        };
        if l.market == Market::Spot {
            // A measured availability trace can close the type, or one zone's pool (the
            // fleet then picks among the others).
            let chosen = match self.measured_closed(t, now) {
                Closed::Nothing => self.market.choose(t, l.max_price, l.strategy, None),
                Closed::Pool(p) => self.market.choose(t, l.max_price, l.strategy, Some(p)),
                Closed::Type => Err(crate::engine::LaunchFailure::InsufficientInstanceCapacity),
            };
            match chosen {
                Ok(p) => inst.pool = Some(p),
                Err(reason) => {
                    inst.launch_failed = true;
                    self.push_instance(inst);
                    self.events
                        .push(now, WorldEvent::LaunchFailed(l.id, reason));
                    return;
                }
            }
        }
        let pool = inst.pool;
        self.push_instance(inst);
        self.events.push(
            now + self.boot_delay[t.0 as usize],
            WorldEvent::InstanceReady(l.id),
        );
        if let Some(p) = pool {
            self.market.pool_mut(p).alive.insert(l.id);
            if let Some(at) = self.draw_reclaim(now, p) {
                self.schedule_reclaim(l.id, now, at);
            }
        }
    }

    fn push_instance(&mut self, inst: WorldInstance) {
        self.prices.instance_pool.push(inst.pool);
        self.instances.push(inst);
    }

    /// When EC2 will reclaim a Spot instance launched at `now` into pool `p`, if ever.
    fn draw_reclaim(&mut self, now: SimTime, p: PoolId) -> Option<SimTime> {
        let pool = self.market.pool_ref(p);
        let t = pool.instance_type;
        // A measured preemption trace replaces the bucket (replayed: no random reclaim;
        // fitted: its rate).
        let bucket = match self.measured.hazard(t, self.market.zone_name(p)) {
            Some(measured) => measured?,
            None => self.hazard[t.0 as usize]?,
        };
        let rate = bucket * self.spot.hazard_scale * pool.hazard_scale;
        if rate <= 0.0 || !rate.is_finite() {
            return None;
        }
        let exp = Exp::new(rate).ok()?;
        let hours: f64 = exp.sample(self.market.interruption_rng(p, &mut self.interruptions));
        let ms = (hours * 3_600_000.0).min(1e15) as u64;
        Some(now + SimDuration(ms.max(1)))
    }

    /// A pool's new price: reclaims what it outbids, tells the engine the type's best price.
    pub(super) fn price_changed(&mut self, p: PoolId, price: MicroUsd, at: SimTime) -> Input {
        self.market.pool_mut(p).price = price;
        self.reclaim_outbid(p, at);
        let t = self.market.pool_ref(p).instance_type;
        Input::SpotPriceChanged {
            instance_type: t,
            price_per_hour: self.market.best_price(t).unwrap_or(price),
        }
    }

    /// Synthetic prices take a step: each changed pool's timeline grows and its change is
    /// delivered at once; the next tick is scheduled.
    pub(super) fn price_tick(&mut self, at: SimTime) {
        for (p, price) in self.market.step_synthetic() {
            self.prices.spot[p.0 as usize].push(at, price);
            self.events.push(at, WorldEvent::PriceChange(p, price));
        }
        if let Some(step) = self.price_step {
            self.events.push(at + step, WorldEvent::PriceTick);
        }
    }

    /// Spot instances of pool `p` whose maximum price is now below its price are reclaimed
    /// after the usual notice (unless `interrupt_above_max_price` is off).
    fn reclaim_outbid(&mut self, p: PoolId, at: SimTime) {
        if !self.market.interrupt_above_max_price {
            return;
        }
        let pool = self.market.pool_ref(p);
        let price = pool.price;
        let alive: Vec<InstanceId> = pool.alive.iter().copied().collect();
        for id in alive {
            let inst = &self.instances[id.0 as usize];
            let outbid = inst.max_price < price;
            if outbid && inst.reclaim_at.is_none_or(|r| r > at + SPOT_NOTICE) {
                self.schedule_reclaim(id, at, at + SPOT_NOTICE);
            }
        }
    }

    /// The Spot market (pools by (type, zone), their prices and capacity now).
    pub fn market(&self) -> &SpotMarket {
        &self.market
    }

    /// The availability zone of each instance, by [`InstanceId`] (empty for On-Demand), or
    /// `None` when the run has no zones (its records then carry no zone column).
    pub fn instance_zones(&self) -> Option<Vec<String>> {
        if self.market.zones().is_empty() {
            return None;
        }
        let zone = |i: &WorldInstance| {
            i.pool
                .and_then(|p| self.market.zone_name(p))
                .unwrap_or_default()
                .to_string()
        };
        Some(self.instances.iter().map(zone).collect())
    }
}
