//! The Spot market's layout as a scenario states it: availability zones, per-pool overrides,
//! a recorded price history and a synthetic price model (`[spot]` of the scenario; see
//! `docs/spot-prices.md`). [`super::pools`] turns it into the run's pools.

use crate::model::{InstanceTypeId, MicroUsd, SimDuration};
use std::collections::BTreeMap;

/// Zones, pools and price sources of a run's Spot market.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketSpec {
    /// Availability zone names, in order. Empty: one unnamed zone, one pool per type (the
    /// layout of scenarios written before zones existed; their runs are unchanged).
    pub zones: Vec<String>,
    /// Per-(type, zone) overrides.
    pub pools: Vec<PoolSpec>,
    /// A recorded price history (`[spot] price_history`).
    pub history: Option<PriceHistory>,
    /// The mean-reverting price model (`[spot.synthetic_prices]`).
    pub synthetic: Option<SyntheticPrices>,
    /// Whether a Spot price rising above an instance's maximum price (`bidPercentage`)
    /// interrupts it (two-minute notice). Default true: EC2 lists "Spot price above your
    /// maximum price" among interruption causes, and runs made before the option existed
    /// behave so.
    pub interrupt_above_max_price: bool,
}

impl Default for MarketSpec {
    fn default() -> Self {
        MarketSpec {
            zones: Vec::new(),
            pools: Vec::new(),
            history: None,
            synthetic: None,
            interrupt_above_max_price: true,
        }
    }
}

/// One `[[spot.pools]]` entry: what differs in one (type, zone) pool.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolSpec {
    /// The instance type.
    pub instance_type: InstanceTypeId,
    /// The zone (one of [`MarketSpec::zones`]).
    pub zone: String,
    /// Whether EC2 offers the type in this zone (default true).
    pub offered: bool,
    /// Most Spot instances alive at once in this pool (overrides `[spot.capacity]`).
    pub capacity: Option<u32>,
    /// The pool's base Spot price (overrides the catalog estimate; the synthetic model
    /// reverts to it).
    pub spot_price: Option<MicroUsd>,
    /// Multiplies the pool's interruption hazard (on top of `spot.hazard_scale`).
    pub hazard_scale: Option<f64>,
}

/// A Spot price history resolved against the catalog: per (type, zone name), `(Unix ms,
/// price)` sorted by time (file order kept between equal times; the later wins).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceHistory {
    /// The steps of each pool the history covers.
    pub pools: BTreeMap<(InstanceTypeId, String), Vec<(u64, MicroUsd)>>,
    /// The earliest timestamp kept (the run's time 0 when the scenario sets no `epoch_ms`).
    pub earliest_ms: u64,
}

/// The mean-reverting price model: an Ornstein–Uhlenbeck process in log price, stepped at a
/// fixed interval, around each pool's base Spot price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyntheticPrices {
    /// σ of the log price, per √hour.
    pub volatility: f64,
    /// θ, the rate at which the log price returns to its mean, per hour.
    pub reversion_per_hour: f64,
    /// Time between price changes.
    pub step: SimDuration,
}
