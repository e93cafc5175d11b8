//! A trace CSV read without a scenario (for `flotilla generate --like trace.csv`): the
//! syntax stage only, each row turned into a [`TraceJob`] as it stands.
//!
//! Job queues are numbered in first-seen order (the names come back alongside); job
//! definitions are not looked up, so a value the row leaves empty takes the trace format's
//! default (1 vCPU, 2048 MiB, 0 GPUs, 1 attempt). Dependencies are not linked. Jobs come
//! back in file order.

use super::trace_row::for_each_row_with;
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{ArrayProperties, JobQueueId, JobSpec, SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::path::Path;

/// A bare trace's jobs and its job queue names (`names[i]` is `JobQueueId(i)`).
pub fn load_bare_trace(path: &Path) -> Result<(Vec<TraceJob>, Vec<String>), InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let mut jobs = Vec::new();
    let mut skipped = SkippedLines::default();
    let names = for_each_row_with(f, path, ReadOptions::default(), &mut skipped, |j, _| {
        let queue = u16::try_from(j.queue).map_err(|_| {
            InputError::new(path, "a trace can name at most 65,536 job queues")
                .at_line(j.line)
                .in_field("queue")
        })?;
        let array = j.extra.as_ref().and_then(|x| {
            x.array_size.map(|size| ArrayProperties {
                size,
                sequential: x.sequential,
            })
        });
        let spec = JobSpec {
            name: j.name,
            queue: JobQueueId(queue),
            vcpus: j.vcpus.unwrap_or(1),
            memory_mib: j.memory_mib.unwrap_or(2048),
            gpus: j.gpus.unwrap_or(0),
            attempts: j.attempts.unwrap_or(1),
            array,
            ..JobSpec::default()
        };
        jobs.push(TraceJob::new(
            SimTime(j.submit_ms),
            spec,
            SimDuration(j.run_time_ms),
            j.exit_code,
        ));
        Ok(())
    })?;
    Ok((jobs, names.queues.names))
}
