//! The machine an SWF log came from, as an UNMANAGED compute environment
//! (`flotilla simulate --cluster-from-header`, or `[swf] cluster_from_header = true`).
//!
//! - Processors: `MaxProcs`, else `MaxNodes` (the Lublin model logs give only that), else
//!   an error.
//! - Hosts: by default **one host** of processors × `vcpus_per_processor` vCPUs. Why not
//!   `MaxNodes` hosts: an AWS Batch job (not multi-node, which AWS forbids on UNMANAGED
//!   compute environments) runs on one host, while an SWF job of 64 processors spans nodes;
//!   one host keeps every job that fits the machine placeable, which is the classic SWF
//!   replay model (a pool of processors). `[swf] node_processors = N` gives ⌊P / N⌋ hosts
//!   of N processors (and one host of the remainder): jobs wider than N then never fit and
//!   fail as unplaceable.
//! - Host memory: its processors × `memory_per_processor_mib`.
//! - Names: compute environment `swf-machine`, hosts `swf-node-0`, `swf-node-1`, …; when
//!   the scenario has no `[[job_queues]]`, a FIFO job queue `swf-fifo` (priority 1) on it.

use super::swf::SwfHeader;
use super::swf_options::SwfOptions;
use super::InputError;
use crate::model::{ComputeEnvironment, ComputeEnvironmentId, JobQueue, UnmanagedHost};
use std::path::Path;

/// Name of the compute environment built from the header.
pub const MACHINE_CE: &str = "swf-machine";
/// Name of the job queue made when the scenario has none.
pub const DEFAULT_QUEUE: &str = "swf-fifo";
/// Prefix of the hosts' names.
pub const HOST_PREFIX: &str = "swf-node-";

/// The hosts of the machine described by `header`.
pub fn machine_hosts(
    header: &SwfHeader,
    opts: &SwfOptions,
    file: &Path,
) -> Result<Vec<UnmanagedHost>, InputError> {
    let procs = match header.max_procs.or(header.max_nodes) {
        Some(p) if p > 0 => p,
        _ => {
            return Err(InputError::new(
                file,
                "cluster_from_header needs the header's MaxProcs or MaxNodes (above 0)",
            )
            .in_field("MaxProcs"))
        }
    };
    let per_node = opts
        .node_processors
        .map_or(procs, |n| u64::from(n).min(procs));
    let (full, rest) = (procs / per_node, procs % per_node);
    if full + u64::from(rest > 0) > 100_000 {
        return Err(
            InputError::new(file, "the machine would have more than 100,000 hosts")
                .in_field("swf.node_processors"),
        );
    }
    let sizes = std::iter::repeat_n(per_node, full as usize).chain((rest > 0).then_some(rest));
    sizes
        .enumerate()
        .map(|(i, p)| {
            let vcpus = p.saturating_mul(u64::from(opts.vcpus_per_processor));
            let memory = p.saturating_mul(u64::from(opts.memory_per_processor_mib));
            match (u32::try_from(vcpus), u32::try_from(memory)) {
                (Ok(vcpus), Ok(memory_mib)) => Ok(UnmanagedHost {
                    name: format!("{HOST_PREFIX}{i}"),
                    vcpus,
                    memory_mib,
                    gpus: 0,
                }),
                _ => Err(
                    InputError::new(file, format!("a host of {p} processors is too large"))
                        .in_field("MaxProcs"),
                ),
            }
        })
        .collect()
}

/// Adds the machine's compute environment (see the module docs) to `ces`.
pub fn add_machine(
    header: &SwfHeader,
    opts: &SwfOptions,
    file: &Path,
    ces: &mut Vec<ComputeEnvironment>,
) -> Result<(), InputError> {
    let hosts = machine_hosts(header, opts, file)?;
    let taken = ces.iter().any(|c| {
        c.name == MACHINE_CE
            || c.unmanaged_hosts
                .iter()
                .any(|h| h.name.starts_with(HOST_PREFIX))
    });
    if taken {
        return Err(InputError::new(
            file,
            format!("the scenario already uses the name `{MACHINE_CE}` or hosts `{HOST_PREFIX}*`"),
        )
        .in_field("compute_environments"));
    }
    ces.push(ComputeEnvironment::unmanaged(MACHINE_CE.to_string(), hosts));
    Ok(())
}

/// When the scenario has no job queue: a FIFO queue on the machine (the last compute
/// environment, the one [`add_machine`] added).
pub fn add_default_queue(queues: &mut Vec<JobQueue>, ces: &[ComputeEnvironment]) {
    let Some(i) = ces.iter().position(|c| c.name == MACHINE_CE) else {
        return;
    };
    if queues.is_empty() {
        queues.push(JobQueue {
            name: DEFAULT_QUEUE.to_string(),
            priority: 1,
            compute_environment_order: vec![ComputeEnvironmentId(i as u16)],
            ..JobQueue::default()
        });
    }
}
