//! A scenario whose trace is an SWF file: the glue between the scenario loader and the SWF
//! reader (`[swf]` options, the machine from the header, the default queue, the epoch).
//!
//! A trace is SWF when its name ends in `.swf` or `.swf.gz` (any case). Without
//! `cluster_from_header` the scenario needs its own compute environments and job queues as
//! usual. With it, an UNMANAGED compute environment of the log's machine is added, and a
//! scenario with no `[[job_queues]]` gets a FIFO queue on it (see [`super::swf_cluster`]).
//! The scenario's `epoch_ms` defaults to the header's `UnixStartTime` × 1000. An `[swf]`
//! section is ignored when the trace (e.g. a `--trace` override) is not SWF.

use super::swf::{is_swf_path, open, SwfHeader, SwfReader};
use super::swf_cluster::{add_default_queue, add_machine};
use super::swf_jobs::{read_swf_jobs, SwfTarget};
use super::swf_options::{build_swf_options, resolve_queues, SwfOptions, WireSwf};
use super::tomlerr::Ctx;
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{Cluster, ComputeEnvironment, JobQueue};
use crate::scenario::TraceJob;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// An SWF trace about to be loaded for a scenario.
pub(crate) struct SwfPlan {
    path: PathBuf,
    options: SwfOptions,
    header: SwfHeader,
}

impl SwfPlan {
    /// The plan when the scenario's trace (or `trace_override`) is an SWF file; reads its
    /// header lines only. `cluster_from_header` is the command line's flag.
    pub(crate) fn new(
        ctx: &Ctx,
        base: &Path,
        trace: Option<&Spanned<String>>,
        wire: Option<&WireSwf>,
        trace_override: Option<&Path>,
        cluster_from_header: bool,
    ) -> Result<Option<SwfPlan>, InputError> {
        let path = match (trace_override, trace) {
            (Some(t), _) => t.to_path_buf(),
            (None, Some(t)) => base.join(t.get_ref()),
            (None, None) => return Ok(None),
        };
        if !is_swf_path(&path) || !path.is_file() {
            return Ok(None);
        }
        let mut options = build_swf_options(ctx, wire)?;
        options.cluster_from_header |= cluster_from_header;
        let header = SwfReader::new(open(&path)?, &path).read_header()?;
        Ok(Some(SwfPlan {
            path,
            options,
            header,
        }))
    }

    /// Adds the machine's compute environment when asked to.
    pub(crate) fn add_machine(&self, ces: &mut Vec<ComputeEnvironment>) -> Result<(), InputError> {
        if self.options.cluster_from_header {
            add_machine(&self.header, &self.options, &self.path, ces)?;
        }
        Ok(())
    }

    /// Adds the default queue when the machine was added and the scenario has no queue.
    pub(crate) fn add_default_queue(&self, queues: &mut Vec<JobQueue>, ces: &[ComputeEnvironment]) {
        if self.options.cluster_from_header {
            add_default_queue(queues, ces);
        }
    }

    /// The header's `UnixStartTime` in milliseconds.
    pub(crate) fn epoch_ms(&self) -> Option<u64> {
        self.header
            .unix_start_time
            .and_then(|t| t.checked_mul(1000))
    }

    /// Reads the jobs.
    pub(crate) fn load(
        &self,
        ctx: &Ctx,
        wire: Option<&WireSwf>,
        cluster: &Cluster,
        read: ReadOptions,
        skipped: &mut SkippedLines,
    ) -> Result<Vec<TraceJob>, InputError> {
        let queue_map = resolve_queues(ctx, wire, &cluster.job_queues)?;
        let target = SwfTarget {
            queues: &cluster.job_queues,
            queue_map: &queue_map,
        };
        let input = open(&self.path)?;
        read_swf_jobs(input, &self.path, &self.options, &target, read, skipped).map(|t| t.jobs)
    }
}
