//! `worst-fit`: the host with the most free vCPUs (hosts without GPUs first for jobs without
//! GPUs), spreading load; it leaves big holes for nobody, so it is the usual foil to best
//! fit in packing studies.

use super::{Hosts, Params, Placement};
use crate::engine::{InstanceId, Resources};

/// Loosest host first.
#[derive(Clone, Copy, Debug, Default)]
pub struct WorstFit;

impl WorstFit {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "host with the most free vCPUs (spread)";

    /// `worst-fit` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(WorstFit)
    }
}

impl Placement for WorstFit {
    fn name(&self) -> &str {
        "worst-fit"
    }

    fn choose(&self, need: &Resources, hosts: &Hosts<'_>) -> Option<InstanceId> {
        hosts.loosest(need)
    }
}
