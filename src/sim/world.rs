//! The simulated world's own state: what exists, what runs where, what is priced how.

use super::billing::PriceTimeline;
use super::pools::PoolId;
use crate::engine::InstanceId;
use crate::model::{InstanceTypeId, JobId, Market, MicroUsd, SimDuration, SimTime};

/// An instance as the world knows it.
#[derive(Clone, Debug)]
pub struct WorldInstance {
    /// Its type.
    pub instance_type: InstanceTypeId,
    /// On-Demand or Spot.
    pub market: Market,
    /// Highest Spot price it is kept at.
    pub max_price: MicroUsd,
    /// When the launch was requested (billing starts).
    pub launched_at: SimTime,
    /// When it stopped existing (billing stops); `None` while alive.
    pub ended_at: Option<SimTime>,
    /// Whether the launch was refused (never billed).
    pub launch_failed: bool,
    /// When EC2 will reclaim it, if it will.
    pub reclaim_at: Option<SimTime>,
    /// Whether the two-minute notice went out.
    pub noticed: bool,
    /// Jobs whose current attempt runs here.
    pub jobs: Vec<JobId>,
    /// The Spot pool it runs in (`None` on On-Demand).
    pub pool: Option<PoolId>,
}

impl WorldInstance {
    /// Whether it exists now.
    pub fn alive(&self) -> bool {
        self.ended_at.is_none() && !self.launch_failed
    }
}

/// A job's facts and the attempt the world is running for it.
#[derive(Clone, Copy, Debug)]
pub struct WorldJob {
    /// How long each attempt's container runs.
    pub run_time: SimDuration,
    /// What each attempt exits with.
    pub exit_code: i32,
    /// The attempt now running (0 = none).
    pub attempt: u32,
    /// Where it runs.
    pub instance: Option<InstanceId>,
}

/// Price timelines per type and market, for billing.
#[derive(Clone, Debug)]
pub struct Prices {
    /// On-Demand list price per type (constant timelines).
    pub on_demand: Vec<PriceTimeline>,
    /// Spot price over time per pool ([`PoolId`]; without zones, pool `t` is type `t`).
    pub spot: Vec<PriceTimeline>,
    /// Each type's first pool (what [`Prices::timeline`] shows for Spot).
    pub type_pool: Vec<Option<PoolId>>,
    /// Each instance's pool, by [`InstanceId`] (`None`: On-Demand, or not known).
    pub instance_pool: Vec<Option<PoolId>>,
}

impl Prices {
    /// The timeline an instance of `t` in `market` pays, in the type's first pool.
    pub fn timeline(&self, t: InstanceTypeId, market: Market) -> &PriceTimeline {
        let od = &self.on_demand[t.0 as usize];
        match market {
            Market::OnDemand => od,
            Market::Spot => match self.type_pool.get(t.0 as usize).copied().flatten() {
                Some(p) => &self.spot[p.0 as usize],
                None => od,
            },
        }
    }

    /// The timeline instance `i` (of type `t`, in `market`) pays: its own pool's.
    pub fn for_instance(&self, i: InstanceId, t: InstanceTypeId, market: Market) -> &PriceTimeline {
        match (
            market,
            self.instance_pool.get(i.0 as usize).copied().flatten(),
        ) {
            (Market::Spot, Some(p)) => &self.spot[p.0 as usize],
            _ => self.timeline(t, market),
        }
    }
}
