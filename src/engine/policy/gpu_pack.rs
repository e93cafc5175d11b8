//! `gpu-pack`: GPU-aware packing against GPU stranding.
//!
//! - A GPU job goes where it leaves the fewest GPUs free (filling a host's GPUs before
//!   opening another's), then the fewest vCPUs.
//! - A job without GPUs goes to a host without GPUs when one has room (tightest first). On a
//!   GPU host it may only take vCPUs and memory beyond the per-GPU share the host's free GPUs
//!   will need (capacity ÷ GPUs each), so CPU work never strands a GPU; if no host allows
//!   that, the job is not placed here (the engine launches or waits).

use super::{Host, Hosts, Params, Placement};
use crate::engine::{InstanceId, Resources};

/// GPU-aware packing.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpuPack;

impl GpuPack {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "fill GPU hosts' GPUs first; CPU jobs never strand a GPU";

    /// `gpu-pack` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(GpuPack)
    }
}

/// Whether a job without GPUs leaves `h` enough vCPUs and memory for its free GPUs.
fn leaves_gpu_share(h: &Host, need: &Resources) -> bool {
    let gpus = h.capacity.gpus.max(1) as u64;
    let keep = |cap: u32| cap as u64 * h.free.gpus as u64 / gpus;
    let after = h.free.minus(need);
    after.vcpus as u64 >= keep(h.capacity.vcpus)
        && after.memory_mib as u64 >= keep(h.capacity.memory_mib)
}

impl Placement for GpuPack {
    fn name(&self) -> &str {
        "gpu-pack"
    }

    fn choose(&self, need: &Resources, hosts: &Hosts<'_>) -> Option<InstanceId> {
        if need.gpus > 0 {
            return hosts
                .fitting(need)
                .min_by_key(|h| {
                    (
                        h.free.gpus - need.gpus,
                        h.free.vcpus,
                        h.free.memory_mib,
                        h.id,
                    )
                })
                .map(|h| h.id);
        }
        // `fitting` lists hosts without GPUs first, tightest first.
        hosts
            .fitting(need)
            .find(|h| h.capacity.gpus == 0 || leaves_gpu_share(h, need))
            .map(|h| h.id)
    }
}
