//! EC2 instance types and the catalog they form.

use super::{MicroUsd, SimDuration};
use serde::{Deserialize, Serialize};

/// Index of an instance type in its [`Catalog`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceTypeId(pub u16);

/// The Spot Instance Advisor's "frequency of interruption" bucket for a type.
///
/// Ordered from least to most interrupted, so sorting by bucket sorts by risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InterruptionBucket {
    /// `<5%`
    Under5,
    /// `5-10%`
    From5To10,
    /// `10-15%`
    From10To15,
    /// `15-20%`
    From15To20,
    /// `>20%`
    Over20,
}

impl InterruptionBucket {
    /// All buckets, least interrupted first.
    pub const ALL: [InterruptionBucket; 5] = [
        InterruptionBucket::Under5,
        InterruptionBucket::From5To10,
        InterruptionBucket::From10To15,
        InterruptionBucket::From15To20,
        InterruptionBucket::Over20,
    ];

    /// Parses the advisor's label (`<5%`, `5-10%`, `10-15%`, `15-20%`, `>20%`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "<5%" => Self::Under5,
            "5-10%" => Self::From5To10,
            "10-15%" => Self::From10To15,
            "15-20%" => Self::From15To20,
            ">20%" => Self::Over20,
            _ => return None,
        })
    }

    /// The advisor's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Under5 => "<5%",
            Self::From5To10 => "5-10%",
            Self::From10To15 => "10-15%",
            Self::From15To20 => "15-20%",
            Self::Over20 => ">20%",
        }
    }

    /// Rank 0 (least interrupted) to 4.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// The share of instances interrupted per month that this bucket stands for, in percent.
    ///
    /// Modelling choice: the midpoint of the bucket, and 25% for the open `>20%` bucket. The
    /// advisor describes the trailing month's interruption frequency, so the simulator reads
    /// it as "this share of instances would be interrupted within 30 days".
    pub fn monthly_percent(self) -> f64 {
        match self {
            Self::Under5 => 2.5,
            Self::From5To10 => 7.5,
            Self::From10To15 => 12.5,
            Self::From15To20 => 17.5,
            Self::Over20 => 25.0,
        }
    }

    /// Constant hazard rate per hour implied by [`Self::monthly_percent`]:
    /// `-ln(1 - p) / (30 * 24)`.
    pub fn hazard_per_hour(self) -> f64 {
        let p = self.monthly_percent() / 100.0;
        -(1.0 - p).ln() / (30.0 * 24.0)
    }
}

/// One EC2 instance type with its On-Demand price and Spot offering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceType {
    /// API name, e.g. `c5.2xlarge`.
    pub name: String,
    /// Family, e.g. `c5`. Metal sizes carry their family but are not selected by it.
    pub family: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Nominal memory in MiB (what EC2 advertises).
    pub memory_mib: u32,
    /// Memory the container agent registers for jobs, in MiB (below nominal; reference §9).
    pub registered_memory_mib: u32,
    /// Number of whole GPUs.
    pub gpus: u32,
    /// GPU model, empty when there are none.
    pub gpu_model: String,
    /// Memory of each GPU in MiB.
    pub gpu_memory_mib: u32,
    /// On-Demand price per hour.
    pub on_demand_per_hour: MicroUsd,
    /// Spot savings against On-Demand, percent (Spot Instance Advisor); `None` if no Spot offer.
    pub spot_savings_pct: Option<u32>,
    /// Spot interruption bucket; `None` if no Spot offer.
    pub interruption_bucket: Option<InterruptionBucket>,
    /// Time from launch until the instance can take jobs.
    pub boot_delay: SimDuration,
}

impl InstanceType {
    /// Whether this is a bare-metal size, which a family name does not select (reference §5.3).
    pub fn is_metal(&self) -> bool {
        self.name.contains(".metal")
    }

    /// Whether there is a Spot offering for this type.
    pub fn has_spot(&self) -> bool {
        self.spot_savings_pct.is_some() && self.interruption_bucket.is_some()
    }

    /// The Spot price estimate `OnDemand × (1 − savings)`, if there is a Spot offering.
    pub fn default_spot_price(&self) -> Option<MicroUsd> {
        self.spot_savings_pct
            .map(|s| self.on_demand_per_hour.percent(100u32.saturating_sub(s)))
    }
}

/// The instance types a scenario can launch, indexed by [`InstanceTypeId`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    types: Vec<InstanceType>,
}

impl Catalog {
    /// Builds a catalog; the order of `types` fixes the ids.
    pub fn new(types: Vec<InstanceType>) -> Self {
        Catalog { types }
    }

    /// All types in id order.
    pub fn types(&self) -> &[InstanceType] {
        &self.types
    }

    /// The type with this id.
    pub fn get(&self, id: InstanceTypeId) -> &InstanceType {
        &self.types[id.0 as usize]
    }

    /// Looks a type up by its API name.
    pub fn find(&self, name: &str) -> Option<InstanceTypeId> {
        self.types
            .iter()
            .position(|t| t.name == name)
            .map(|i| InstanceTypeId(i as u16))
    }

    /// Adds a type at the end and returns its id.
    pub fn push(&mut self, t: InstanceType) -> InstanceTypeId {
        self.types.push(t);
        InstanceTypeId(self.types.len() as u16 - 1)
    }

    /// Ids of every type, in order.
    pub fn ids(&self) -> impl Iterator<Item = InstanceTypeId> + '_ {
        (0..self.types.len()).map(|i| InstanceTypeId(i as u16))
    }

    /// Resolves an `instanceTypes` entry: an exact type name, or a family name, which selects
    /// every non-metal size of that family (reference §5.3). Empty if nothing matches.
    pub fn resolve_selector(&self, selector: &str) -> Vec<InstanceTypeId> {
        if let Some(id) = self.find(selector) {
            return vec![id];
        }
        self.ids()
            .filter(|&id| {
                let t = self.get(id);
                t.family == selector && !t.is_metal()
            })
            .collect()
    }

    /// Number of types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

/// Memory the ECS agent registers for jobs on an instance (reference §9):
/// `nominal × (1 − overhead) − 32 MiB`, with the overhead in basis points (250 = 2.5%, which
/// matches AWS's m4.large example of 8192 MiB nominal and 7985 MiB available).
pub fn registered_memory_mib(nominal_mib: u32, overhead_bp: u32) -> u32 {
    let after_kernel = nominal_mib as u64 * 10_000u64.saturating_sub(overhead_bp as u64) / 10_000;
    (after_kernel as u32).saturating_sub(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_memory_matches_aws_m4_large_example() {
        // 8 GiB nominal, 2.5% kernel overhead, 32 MiB agent reservation: about 7,955 MiB,
        // just below AWS's 7,985 MiB (which has no 32 MiB deduction folded in).
        let r = registered_memory_mib(8192, 250);
        assert_eq!(r, 7955);
        assert!(r < 8192);
    }

    #[test]
    fn bucket_hazard_increases_with_risk() {
        let h: Vec<f64> = InterruptionBucket::ALL
            .iter()
            .map(|b| b.hazard_per_hour())
            .collect();
        assert!(h.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            InterruptionBucket::parse("15-20%"),
            Some(InterruptionBucket::From15To20)
        );
        assert_eq!(InterruptionBucket::parse("20%"), None);
    }
}
