//! `best-fit[headroom=0]`: the tightest host (fewest free GPUs, then vCPUs, then memory;
//! hosts without GPUs first for jobs without GPUs). AWS Batch's own choice, as modelled.
//!
//! `headroom` h (0 to 0.9): prefer the tightest host that keeps at least h of its vCPUs
//! free after the job, so bursts and late arrivals find room; when no host can, the
//! tightest one. With h = 0 this is one index probe per size bucket.

use super::{Hosts, Params, Placement};
use crate::engine::{InstanceId, Resources};

/// Tightest host first.
#[derive(Clone, Copy, Debug, Default)]
pub struct BestFit {
    headroom: f64,
}

impl BestFit {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str =
        "tightest host; headroom=h keeps h of each host's vCPUs free when it can";

    /// Reads `headroom` (0 to 0.9, default 0).
    pub fn new(p: &mut Params<'_>) -> Result<Self, String> {
        Ok(BestFit {
            headroom: p.number("headroom", 0.0, 0.0, 0.9)?,
        })
    }
}

impl Placement for BestFit {
    fn name(&self) -> &str {
        "best-fit"
    }

    fn choose(&self, need: &Resources, hosts: &Hosts<'_>) -> Option<InstanceId> {
        if self.headroom > 0.0 {
            let keeps =
                |free: u32, cap: u32| (free - need.vcpus) as f64 >= self.headroom * cap as f64;
            let roomy = hosts
                .fitting(need)
                .find(|h| keeps(h.free.vcpus, h.capacity.vcpus));
            if let Some(h) = roomy {
                return Some(h.id);
            }
        }
        hosts.tightest(need)
    }
}
