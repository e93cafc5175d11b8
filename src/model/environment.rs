//! Compute environments and job queues, in AWS Batch's vocabulary.

use super::{InstanceTypeId, SimDuration};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Index of a compute environment in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ComputeEnvironmentId(pub u16);

/// Index of a job queue in a scenario.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct JobQueueId(pub u16);

/// How an instance is bought: `computeResources.type` `EC2` (On-Demand) or `SPOT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Market {
    /// On-Demand, written `EC2` in AWS Batch.
    OnDemand,
    /// Spot.
    Spot,
}

impl Market {
    /// AWS Batch's spelling: `EC2` or `SPOT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Market::OnDemand => "EC2",
            Market::Spot => "SPOT",
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `computeResources.allocationStrategy` (reference §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AllocationStrategy {
    /// Cheapest type that fits; never diversifies; waits when that type has no capacity.
    BestFit,
    /// Lowest cost per vCPU among fitting types; moves to the next type when one runs out.
    BestFitProgressive,
    /// Spot only: least interrupted pools first.
    SpotCapacityOptimized,
    /// Spot only: low interruption and low price together.
    SpotPriceCapacityOptimized,
}

impl AllocationStrategy {
    /// All strategies, in the order AWS documents them.
    pub const ALL: [AllocationStrategy; 4] = [
        AllocationStrategy::BestFit,
        AllocationStrategy::BestFitProgressive,
        AllocationStrategy::SpotCapacityOptimized,
        AllocationStrategy::SpotPriceCapacityOptimized,
    ];

    /// AWS's spelling, e.g. `BEST_FIT_PROGRESSIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BestFit => "BEST_FIT",
            Self::BestFitProgressive => "BEST_FIT_PROGRESSIVE",
            Self::SpotCapacityOptimized => "SPOT_CAPACITY_OPTIMIZED",
            Self::SpotPriceCapacityOptimized => "SPOT_PRICE_CAPACITY_OPTIMIZED",
        }
    }

    /// Whether AWS allows this strategy only on Spot compute environments.
    pub fn spot_only(self) -> bool {
        matches!(
            self,
            Self::SpotCapacityOptimized | Self::SpotPriceCapacityOptimized
        )
    }

    /// Whether a compute environment of `market` with this strategy may exceed `maxvCpus` by
    /// one instance. Only BEST_FIT on On-Demand never does (reference §5.2).
    pub fn may_exceed_max_vcpus(self, market: Market) -> bool {
        !(self == Self::BestFit && market == Market::OnDemand)
    }

    /// The strategy this strategy becomes on a compute environment of `market`: a Spot-only
    /// strategy on On-Demand becomes BEST_FIT_PROGRESSIVE, so that `--strategy` can be applied
    /// to every managed compute environment of a scenario that mixes markets.
    pub fn for_market(self, market: Market) -> Self {
        if market == Market::OnDemand && self.spot_only() {
            Self::BestFitProgressive
        } else {
            self
        }
    }
}

impl fmt::Display for AllocationStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AllocationStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == up)
            .ok_or_else(|| {
                format!(
                    "unknown allocation strategy `{s}`; expected one of BEST_FIT, \
                 BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED, SPOT_PRICE_CAPACITY_OPTIMIZED"
                )
            })
    }
}

/// A MANAGED compute environment: Batch launches and terminates its instances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComputeEnvironment {
    /// `computeEnvironmentName`.
    pub name: String,
    /// `computeResources.type`: EC2 (On-Demand) or SPOT.
    pub market: Market,
    /// `minvCpus`: never scale in below this.
    pub min_vcpus: u32,
    /// `maxvCpus`: scale-out limit (see [`AllocationStrategy::may_exceed_max_vcpus`]).
    pub max_vcpus: u32,
    /// `desiredvCpus`: capacity launched at the start of a run.
    pub desired_vcpus: u32,
    /// `instanceTypes`, resolved to catalog ids (families expanded), in catalog order.
    pub instance_types: Vec<InstanceTypeId>,
    /// `allocationStrategy`.
    pub allocation_strategy: AllocationStrategy,
    /// `bidPercentage`: Spot price cap as a percentage of On-Demand (default 100).
    pub bid_percentage: u32,
    /// How long an instance must stay idle before it is scaled in (default 5 minutes).
    pub idle_timeout: SimDuration,
    /// How long a type that failed to launch for lack of capacity is avoided (default 60 s).
    pub capacity_retry: SimDuration,
}

/// A job queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobQueue {
    /// `jobQueueName`.
    pub name: String,
    /// `priority`: higher is evaluated first.
    pub priority: i32,
    /// `computeEnvironmentOrder`, already sorted by ascending `order`.
    pub compute_environment_order: Vec<ComputeEnvironmentId>,
}
