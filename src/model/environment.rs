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
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Market {
    /// On-Demand, written `EC2` in AWS Batch.
    #[default]
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
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum AllocationStrategy {
    /// Cheapest type that fits; never diversifies; waits when that type has no capacity.
    /// AWS's default.
    #[default]
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

/// A compute environment: MANAGED (Batch launches and terminates its instances) or
/// UNMANAGED (a fixed set of hosts given in the scenario).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComputeEnvironment {
    /// `computeEnvironmentName`.
    pub name: String,
    /// `state` DISABLED (default ENABLED): places no jobs and does not scale out; its
    /// running jobs go on and idle instances still scale in to `minvCpus` (reference §5.1).
    pub disabled: bool,
    /// UNMANAGED: its hosts, present from the start, never launched or terminated. Empty for
    /// MANAGED compute environments.
    pub unmanaged_hosts: Vec<UnmanagedHost>,
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

impl ComputeEnvironment {
    /// An UNMANAGED compute environment of `hosts`: its min, max and desired vCPUs are the
    /// hosts' total (AWS's own reading of an unmanaged fleet), On-Demand market, no bid, the
    /// default idle timeout (300 s, unused: unmanaged hosts never scale in) and capacity retry
    /// (60 s).
    pub fn unmanaged(name: String, hosts: Vec<UnmanagedHost>) -> Self {
        let total = hosts.iter().fold(0u32, |a, h| a.saturating_add(h.vcpus));
        ComputeEnvironment {
            name,
            unmanaged_hosts: hosts,
            min_vcpus: total,
            max_vcpus: total,
            desired_vcpus: total,
            bid_percentage: 100,
            idle_timeout: SimDuration::from_secs(300),
            capacity_retry: SimDuration::from_secs(60),
            ..ComputeEnvironment::default()
        }
    }
}

/// A job queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobQueue {
    /// `jobQueueName`.
    pub name: String,
    /// `priority`: higher is evaluated first.
    pub priority: i32,
    /// `computeEnvironmentOrder`, already sorted by ascending `order`.
    pub compute_environment_order: Vec<ComputeEnvironmentId>,
    /// `state` DISABLED (default ENABLED): takes no new jobs (they fail at submission); jobs
    /// already in it go on (reference §4.1).
    pub disabled: bool,
    /// `jobStateTimeLimitActions`: cancel a job stuck at the head of the queue in RUNNABLE.
    pub job_state_time_limit_actions: Vec<JobStateTimeLimitAction>,
    /// `schedulingPolicyArn`'s fair-share policy; `None` = FIFO.
    pub fairshare_policy: Option<FairsharePolicy>,
}

/// A host of an UNMANAGED compute environment (in live mode: a Docker host).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedHost {
    /// Its name.
    pub name: String,
    /// vCPUs it offers to jobs.
    pub vcpus: u32,
    /// Memory it offers to jobs, MiB.
    pub memory_mib: u32,
    /// Whole GPUs.
    pub gpus: u32,
}

/// One `jobStateTimeLimitActions` entry: state RUNNABLE, action CANCEL (the only ones AWS
/// allows for EC2 queues, reference §1.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStateTimeLimitAction {
    /// `reason`, e.g. `CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY`.
    pub reason: String,
    /// `maxTimeSeconds`, 600 to 86,400.
    pub max_time: SimDuration,
}

/// `fairsharePolicy` of a scheduling policy (reference §4.4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FairsharePolicy {
    /// `shareDecaySeconds` (0 = the 600 s minimum window, current API text).
    pub share_decay: SimDuration,
    /// `computeReservation`, 0 to 99.
    pub compute_reservation: u32,
    /// `shareDistribution`.
    pub share_distribution: Vec<ShareWeight>,
}

/// One `shareDistribution` entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShareWeight {
    /// `shareIdentifier`; a trailing `*` makes it a prefix.
    pub share_identifier: String,
    /// `weightFactor`, 0.0001 to 999.9999 (lower gets more).
    pub weight_factor: f64,
}
