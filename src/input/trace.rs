//! The job trace CSV.
//!
//! A header line is required; columns may come in any order and extra columns are ignored.
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `job_id` | yes | the job's name or id (non-empty; need not be unique, but a job named in `depends_on` must be) |
//! | `submit_time_s` | yes | submission time, decimal seconds ≥ 0 from the start of the run (rounded to the millisecond); rows need not be sorted |
//! | `queue` | yes | name of a job queue of the scenario |
//! | `run_time_s` | yes | how long each attempt's container runs, decimal seconds ≥ 0 (each child's, for an array job) |
//! | `vcpus` | no | vCPUs reserved, whole number ≥ 1 (a multi-node job: of every node) |
//! | `memory_mib` | no | memory reserved (hard limit), MiB, whole number ≥ 1 (a multi-node job: of every node) |
//! | `gpus` | no | whole GPUs reserved (a multi-node job: of every node); more than any instance type of the queue's compute environments has is an error |
//! | `exit_code` | no | exit code of every attempt (default 0; non-zero fails the attempt) |
//! | `attempts` | no | `retryStrategy.attempts`, 1 to 10 |
//! | `job_definition` | no | a `[[job_definitions]]` entry of the scenario: `name` (its latest revision), `name:revision` or an ARN ending in `job-definition/name[:revision]`. It supplies every value the row leaves empty, and `evaluateOnExit`, `parameters`, `command`, `environment` and `nodeProperties` |
//! | `timeout_s` | no | `timeout.attemptDurationSeconds`: decimal seconds ≥ 60 |
//! | `array_size` | no | `arrayProperties.size`, 2 to 10,000: the row is an array job of that many children |
//! | `depends_on` | no | `dependsOn`: up to 20 entries separated by `;`, each `JOB_ID` (wait for that job; for an array job, all its children), `JOB_ID:N_TO_N` (both rows arrays of the same size; child i waits for child i) or `SEQUENTIAL` (array rows only: child i waits for child i-1). `JOB_ID` is the `job_id` of exactly one row submitted **earlier** (after the stable sort by `submit_time_s`; an equal time further up the file counts as earlier), so cycles cannot form |
//! | `cancel_at_s` | no | when CancelJob is called on the job, decimal seconds ≥ `submit_time_s` |
//! | `terminate_at_s` | no | when TerminateJob is called on the job, decimal seconds ≥ `submit_time_s` |
//! | `share_identifier` | no | `shareIdentifier`: 1 to 255 letters and digits (optionally ending in `*`); required on a queue with a fair-share scheduling policy, an error on any other |
//! | `scheduling_priority` | no | `schedulingPriorityOverride`, 0 to 9999 (overrides the job definition's `schedulingPriority`) |
//! | `parameters` | no | `parameters`: `name=value` entries separated by `;` (values cannot contain `;`), overriding the job definition's defaults |
//! | `command` | no | `containerOverrides.command`: words separated by white space (no quoting), replacing the job definition's command |
//!
//! A value left empty (or a column left out) comes from the row's job definition, else from
//! the defaults: 1 vCPU, 2048 MiB, 0 GPUs, 1 attempt, no timeout, priority 0. `Ref::name`
//! placeholders in the command (the row's or the definition's) are replaced by the
//! parameters (see [`super::jobdef`]). A multi-node job definition's job takes `vcpus`,
//! `memory_mib` and `gpus` of its main node; AWS rejects multi-node jobs on queues with SPOT
//! or UNMANAGED compute environments, and so does flotilla.
//!
//! Parsing has two stages: rows to raw records (syntax and ranges only, queue and job
//! definition names kept as names), then resolution against a scenario's queues and job
//! definitions. A bare trace can be checked with the first stage alone. Dependencies are
//! resolved last, after the jobs are sorted by submit time: `spec.depends_on[].job` holds the
//! trace index of the job depended on ([`crate::scenario::TraceIndex`]).

// Kept at this path for code written against the earlier layout.
use super::csvutil::plural;
#[allow(unused_imports)]
pub(crate) use super::jobdef::{JobDefinition, JobDefinitions};
use super::trace_deps::{sort_and_link, PendingDeps};
use super::trace_resolve::Resolver;
use super::trace_row::for_each_row_with;
use super::trace_skip::drop_unlinkable;
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{Cluster, SimTime};
use crate::scenario::TraceJob;
use std::io::Read;
use std::path::Path;

/// Loads a trace and resolves it against a cluster's job queues and a scenario's job
/// definitions. Jobs come back sorted by submit time, file order kept between equal times,
/// with `depends_on` holding trace indices in that order.
pub fn load_trace(
    path: &Path,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
) -> Result<Vec<TraceJob>, InputError> {
    let mut skipped = SkippedLines::default();
    load_trace_with(
        path,
        cluster,
        job_definitions,
        ReadOptions::default(),
        &mut skipped,
    )
}

/// [`load_trace`] with reader options; lines skipped (`--skip-bad-lines`) are added to
/// `skipped`.
pub(crate) fn load_trace_with(
    path: &Path,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<Vec<TraceJob>, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    // About 40 bytes a row: reserving up front saves copying a growing vector.
    let hint = f.metadata().map_or(0, |m| m.len() / 40).min(1 << 26) as usize;
    let src = TraceSource { path, hint };
    load_trace_from(f, src, cluster, job_definitions, opts, skipped)
}

/// Where trace bytes come from, for messages, and how many rows to expect.
pub(crate) struct TraceSource<'p> {
    /// The file named in errors.
    pub(crate) path: &'p Path,
    /// Rows to reserve room for.
    pub(crate) hint: usize,
}

/// [`load_trace_with`] on any reader (a file, or a trace generated in memory).
pub(crate) fn load_trace_from<R: Read>(
    input: R,
    src: TraceSource,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<Vec<TraceJob>, InputError> {
    let path = src.path;
    let mut jobs = Vec::with_capacity(src.hint);
    let mut pending: Vec<PendingDeps> = Vec::new();
    let mut r = Resolver::new(path, cluster, job_definitions);
    for_each_row_with(input, path, opts, skipped, |mut j, names| {
        let deps = j
            .extra
            .as_mut()
            .map(|x| std::mem::take(&mut x.depends_on))
            .unwrap_or_default();
        let line = j.line;
        // Resolved before anything is kept, so that a row that fails leaves nothing behind.
        let job = r.resolve(j, names)?;
        if !deps.is_empty() {
            pending.push(PendingDeps {
                row: u32::try_from(jobs.len()).unwrap_or(u32::MAX),
                line,
                deps,
            });
        }
        jobs.push(job);
        Ok(())
    })?;
    if u32::try_from(jobs.len()).is_err() {
        return Err(InputError::new(
            path,
            "a trace can hold at most 4,294,967,295 jobs",
        ));
    }
    let pending = if opts.skip_bad_lines {
        drop_unlinkable(&mut jobs, pending, path, opts, skipped)?
    } else {
        pending
    };
    jobs.shrink_to_fit();
    sort_and_link(&mut jobs, pending, path)?;
    Ok(jobs)
}

/// Checks a bare trace (syntax stage only) and describes it in one line.
pub(crate) fn describe_bare<R: Read>(input: R, file: &Path) -> Result<String, InputError> {
    describe_bare_with(
        input,
        file,
        ReadOptions::default(),
        &mut SkippedLines::default(),
    )
}

/// [`describe_bare`] with reader options; lines skipped are added to `skipped`.
pub(crate) fn describe_bare_with<R: Read>(
    input: R,
    file: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<String, InputError> {
    let (mut count, mut first, mut last) = (0usize, u64::MAX, 0u64);
    let (mut arrays, mut children, mut dependent) = (0usize, 0u64, 0usize);
    let names = for_each_row_with(input, file, opts, skipped, |j, _| {
        count += 1;
        first = first.min(j.submit_ms);
        last = last.max(j.submit_ms);
        if let Some(x) = &j.extra {
            if let Some(n) = x.array_size {
                arrays += 1;
                children += u64::from(n);
            }
            if !x.depends_on.is_empty() || x.sequential {
                dependent += 1;
            }
        }
        Ok(())
    })?;
    let mut s = format!(
        "trace: {} in {} ({}), submitted from {} to {}",
        plural(count, "job", "jobs"),
        plural(names.queues.names.len(), "queue", "queues"),
        names.queues.names.join(", "),
        SimTime(first.min(last)),
        SimTime(last),
    );
    if arrays > 0 {
        s.push_str(&format!(
            "; {} with {children} children",
            plural(arrays, "array job", "array jobs")
        ));
    }
    if dependent > 0 {
        s.push_str(&format!("; {dependent} with dependencies"));
    }
    if !names.definitions.names.is_empty() {
        s.push_str(&format!(
            "; job definitions used: {}",
            names.definitions.names.join(", ")
        ));
    }
    Ok(s)
}
