//! `BEST_FIT`, `BEST_FIT_PROGRESSIVE`, `SPOT_CAPACITY_OPTIMIZED`,
//! `SPOT_PRICE_CAPACITY_OPTIMIZED`: AWS Batch's allocation strategies as provisioning
//! policies. Naming one applies it to every managed compute environment, exactly as
//! `--strategy` does (Spot-only strategies become `BEST_FIT_PROGRESSIVE` on On-Demand
//! compute environments); the ranking rules are in `engine::provisioning`.

use super::{Params, Provisioning};
use crate::engine::provisioning::{rank, Candidate, Unit};
use crate::model::{AllocationStrategy, Catalog, Market};

/// One AWS allocation strategy.
#[derive(Clone, Copy, Debug)]
pub struct AllocationPolicy(pub AllocationStrategy);

impl AllocationPolicy {
    /// `strategy`; takes no parameters.
    pub fn new(strategy: AllocationStrategy, _: &mut Params<'_>) -> Result<Self, String> {
        Ok(AllocationPolicy(strategy))
    }
}

impl Provisioning for AllocationPolicy {
    fn name(&self) -> &str {
        self.0.as_str()
    }

    fn allocation_strategy(&self) -> Option<AllocationStrategy> {
        Some(self.0)
    }

    fn rank(&self, catalog: &Catalog, market: Market, unit: Unit, candidates: &mut [Candidate]) {
        rank(catalog, self.0, market, unit, candidates);
    }
}
