//! Allocation strategies: which instance type a managed compute environment launches for a
//! job it cannot place (reference §5.4).
//!
//! Modelling choices (AWS documents intent, not an algorithm):
//! - Candidates are the compute environment's types that can hold the job (vCPUs, registered
//!   memory, whole GPUs) and, on Spot, whose current price is within `bidPercentage`.
//! - `BEST_FIT`: the cheapest candidate (price, then fewer vCPUs, then name). It never
//!   diversifies: when that type has no capacity, the job waits (it does not try another).
//! - `BEST_FIT_PROGRESSIVE`: candidates by price per vCPU (per GPU for a GPU job; then price,
//!   then name); a type that just failed for lack of capacity is skipped for
//!   `capacity_retry`, so the next type is used.
//! - `SPOT_CAPACITY_OPTIMIZED`: by interruption bucket (least interrupted first), then price
//!   per vCPU; types short of capacity are skipped.
//! - `SPOT_PRICE_CAPACITY_OPTIMIZED`: the pools within one bucket of the least interrupted
//!   candidate, cheapest per vCPU first; then the rest by bucket and price. It trades a
//!   little interruption risk for price, where capacity-optimized never does.
//!
//! The price is the On-Demand list price on EC2 and the current Spot price on SPOT.

use super::capacity::Resources;
use crate::model::{AllocationStrategy, Catalog, InstanceType, InstanceTypeId, Market, MicroUsd};
use std::cmp::Ordering;

/// A type a compute environment may launch, with the price it pays for it now.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    /// The type.
    pub id: InstanceTypeId,
    /// Its price per hour in this market.
    pub price: MicroUsd,
}

/// Whether an instance of type `t` (empty) can hold `need`.
pub fn type_holds(t: &InstanceType, need: &Resources) -> bool {
    t.vcpus >= need.vcpus && t.registered_memory_mib >= need.memory_mib && t.gpus >= need.gpus
}

/// What a job buys an instance for: GPUs if it needs any, else vCPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Price per vCPU.
    Vcpu,
    /// Price per GPU (so a 1-GPU job does not land on a big 1-GPU host for its cheap vCPUs).
    Gpu,
}

/// `a.price / a.units` against `b.price / b.units`, exactly, in integers.
fn cmp_unit_price(catalog: &Catalog, unit: Unit, a: &Candidate, b: &Candidate) -> Ordering {
    let units = |c: &Candidate| {
        let t = catalog.get(c.id);
        match unit {
            Unit::Vcpu => t.vcpus.max(1) as u128,
            Unit::Gpu => t.gpus.max(1) as u128,
        }
    };
    (a.price.0 as u128 * units(b)).cmp(&(b.price.0 as u128 * units(a)))
}

fn bucket_rank(catalog: &Catalog, c: &Candidate) -> u8 {
    catalog
        .get(c.id)
        .interruption_bucket
        .map_or(u8::MAX, |b| b.rank())
}

fn tie_break(catalog: &Catalog, a: &Candidate, b: &Candidate) -> Ordering {
    a.price
        .cmp(&b.price)
        .then_with(|| catalog.get(a.id).vcpus.cmp(&catalog.get(b.id).vcpus))
        .then_with(|| catalog.get(a.id).name.cmp(&catalog.get(b.id).name))
}

/// Orders `candidates` best first for `strategy` on `market`, comparing unit prices in
/// `unit` (per GPU for GPU jobs, per vCPU otherwise).
pub fn rank(
    catalog: &Catalog,
    strategy: AllocationStrategy,
    market: Market,
    unit: Unit,
    candidates: &mut [Candidate],
) {
    let strategy = strategy.for_market(market);
    let cmp_price_per_vcpu =
        |c: &Catalog, a: &Candidate, b: &Candidate| cmp_unit_price(c, unit, a, b);
    match strategy {
        AllocationStrategy::BestFit => candidates.sort_by(|a, b| tie_break(catalog, a, b)),
        AllocationStrategy::BestFitProgressive => candidates.sort_by(|a, b| {
            cmp_price_per_vcpu(catalog, a, b).then_with(|| tie_break(catalog, a, b))
        }),
        AllocationStrategy::SpotCapacityOptimized => candidates.sort_by(|a, b| {
            bucket_rank(catalog, a)
                .cmp(&bucket_rank(catalog, b))
                .then_with(|| cmp_price_per_vcpu(catalog, a, b))
                .then_with(|| tie_break(catalog, a, b))
        }),
        AllocationStrategy::SpotPriceCapacityOptimized => {
            let best = candidates.iter().map(|c| bucket_rank(catalog, c)).min();
            let band = best.map_or(u8::MAX, |b| b.saturating_add(1));
            candidates.sort_by(|a, b| {
                let (ra, rb) = (bucket_rank(catalog, a), bucket_rank(catalog, b));
                let (ia, ib) = (ra <= band, rb <= band);
                ib.cmp(&ia)
                    .then_with(|| if ia { Ordering::Equal } else { ra.cmp(&rb) })
                    .then_with(|| cmp_price_per_vcpu(catalog, a, b))
                    .then_with(|| tie_break(catalog, a, b))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InterruptionBucket, SimDuration};

    fn t(name: &str, vcpus: u32, price: f64, bucket: InterruptionBucket) -> InstanceType {
        InstanceType {
            name: name.into(),
            family: name.split('.').next().unwrap_or_default().into(),
            vcpus,
            memory_mib: vcpus * 2048,
            registered_memory_mib: vcpus * 2000,
            gpus: 0,
            gpu_model: String::new(),
            gpu_memory_mib: 0,
            on_demand_per_hour: MicroUsd::from_usd(price),
            spot_savings_pct: Some(50),
            interruption_bucket: Some(bucket),
            boot_delay: SimDuration::from_secs(90),
        }
    }

    fn ranked(strategy: AllocationStrategy, cat: &Catalog) -> Vec<String> {
        let mut c: Vec<Candidate> = cat
            .ids()
            .map(|id| Candidate {
                id,
                price: cat.get(id).on_demand_per_hour,
            })
            .collect();
        rank(cat, strategy, Market::Spot, Unit::Vcpu, &mut c);
        c.iter().map(|c| cat.get(c.id).name.clone()).collect()
    }

    #[test]
    fn strategies_order_types_as_documented() {
        use InterruptionBucket::*;
        let cat = Catalog::new(vec![
            t("a.large", 2, 0.10, Over20),      // 0.050 per vCPU, risky
            t("b.xlarge", 4, 0.16, From5To10),  // 0.040 per vCPU
            t("c.2xlarge", 8, 0.56, Under5),    // 0.070 per vCPU, safest
            t("d.xlarge", 4, 0.12, From10To15), // 0.030 per vCPU
        ]);
        use AllocationStrategy::*;
        assert_eq!(ranked(BestFit, &cat)[0], "a.large");
        assert_eq!(
            ranked(BestFitProgressive, &cat),
            ["d.xlarge", "b.xlarge", "a.large", "c.2xlarge"]
        );
        assert_eq!(
            ranked(SpotCapacityOptimized, &cat),
            ["c.2xlarge", "b.xlarge", "d.xlarge", "a.large"]
        );
        // Band = buckets 0 and 1: b (0.040) before c (0.070); then d (bucket 2), a (bucket 4).
        assert_eq!(
            ranked(SpotPriceCapacityOptimized, &cat),
            ["b.xlarge", "c.2xlarge", "d.xlarge", "a.large"]
        );
    }
}
