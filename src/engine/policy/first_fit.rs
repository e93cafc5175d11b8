//! `first-fit`: the oldest host (lowest instance id) with room, as the classic bin-packing
//! heuristic takes the first bin that fits. Costs O(hosts with room) per placement.

use super::{Hosts, Params, Placement};
use crate::engine::{InstanceId, Resources};

/// Oldest host with room.
#[derive(Clone, Copy, Debug, Default)]
pub struct FirstFit;

impl FirstFit {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "oldest host with room";

    /// `first-fit` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(FirstFit)
    }
}

impl Placement for FirstFit {
    fn name(&self) -> &str {
        "first-fit"
    }

    fn choose(&self, need: &Resources, hosts: &Hosts<'_>) -> Option<InstanceId> {
        hosts.fitting(need).map(|h| h.id).min()
    }
}
