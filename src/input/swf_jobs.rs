//! SWF job lines → trace jobs: every modelling choice of the SWF replay (options in
//! [`super::swf_options`], format in [`super::swf`]).
//!
//! - **Size.** `processors = "requested"` (default) sizes a job by field 8, falling back to
//!   field 5 when it is unknown or 0; `"allocated"` the other way round. Why requested by
//!   default: an AWS Batch job is sized by what it asks for at submission, and allocated
//!   processors are the old scheduler's decision. vCPUs = processors × `vcpus_per_processor`
//!   (default 1). A line with neither count is an error (field `requested processors`).
//! - **Memory.** SWF memory is KB **per processor**. `memory = "requested"` (default) takes
//!   field 10, falling back to field 7; `"used"` the reverse; then, or with `"ignore"`,
//!   processors × `memory_per_processor_mib` (default 1024). Job memory = ⌈KB × processors /
//!   1024⌉ MiB, at least 1.
//! - **Run time.** Field 4, rounded to the millisecond; every attempt runs that long. A job
//!   whose run time is unknown is left out (counted): there is nothing to replay.
//! - **Status.** 1 (completed) and unknown (-1, e.g. the whole NASA log) exit 0; 0 (failed)
//!   exits 1 (one attempt, so the job FAILS). 5 (cancelled), with `cancelled = "replay"`
//!   (default): a job that ran (run time > 0) runs that long and exits 143 (what a
//!   terminated container leaves: the job FAILS after the time it really used); one that
//!   never ran gets CancelJob at submit + wait time (the user gave up after waiting that
//!   long; if the replay starts it earlier it runs 0 s and exits 143). `"omit"` leaves
//!   cancelled jobs out. 2, 3 and 4 mark partial executions (checkpoint/swap): the archive
//!   lists them after the job's own summary line, which already carries the whole job, so
//!   they are left out (counted). Other values are an error.
//! - **Timeout.** Off by default: the logged run time already includes any kill at the
//!   limit, and logs hold runs slightly over their request (schedulers grant grace), which a
//!   hard `attemptDurationSeconds` would fail. `timeout_from_requested_time = true` sets
//!   `timeout` = max(requested time, 60 s) (AWS's minimum) when field 9 is known.
//! - **Requested time.** Field 9 becomes the job's `requested_time`, the estimate that
//!   shortest-job-first and backfilling policies read. When the log has none (-1, as in the
//!   whole NASA iPSC log and Lublin's model), `requested_time_fallback = "run_time"`
//!   (default) uses the logged run time (exact estimates, the literature's usual stand-in);
//!   `"none"` leaves it unknown (policies then fall back to the timeout, else treat the job as
//!   unbounded). The user (field 12) becomes `user` = `u<N>`.
//! - **Queue.** `[swf.queues]` maps SWF queue numbers (field 15) to job queue names; jobs
//!   whose number is unknown or not mapped go to the scenario's first job queue.
//! - **Fair share.** `share_identifier = "user"` / `"group"` / `"user_group"` gives jobs on
//!   fair-share queues `u<user>`, `g<group>` or `u<user>g<group>` (unknown = 0); FIFO queues
//!   get none (AWS rejects one there). A fair-share queue without the option is an error.
//! - **Think time.** With `think_time = true`, a job whose preceding job (field 17) is an
//!   earlier job of the trace and whose think time (field 18) is known is held until that
//!   job ends (SUCCEEDED or FAILED) and submitted think-time seconds later, instead of at
//!   its logged submit time ([`crate::scenario::SubmitAfter`]). Without a known
//!   predecessor it is submitted at its logged time.
//! - **Name.** The job number (field 1), or `line-N` when unknown.

use super::swf::{SwfHeader, SwfReader, SwfRecord};
use super::swf_options::{MemorySource, ProcessorSource, ShareBy, SwfOptions};
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{JobId, JobQueue, JobQueueId, JobSpec, SimDuration, SimTime};
use crate::scenario::{SubmitAfter, TraceJob};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

/// AWS's shortest `attemptDurationSeconds`.
const MIN_TIMEOUT: SimDuration = SimDuration::from_secs(60);

/// Lines read but not replayed, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Status 2, 3 or 4: partial executions.
    pub partial: u64,
    /// Status 5 with `cancelled = "omit"`.
    pub cancelled: u64,
    /// Run time unknown.
    pub no_run_time: u64,
}

/// An SWF trace read for a scenario.
#[derive(Clone, Debug, Default)]
pub struct SwfTrace {
    /// Jobs sorted by submit time, file order kept between equal times.
    pub jobs: Vec<TraceJob>,
    /// The header.
    pub header: SwfHeader,
    /// What was left out.
    pub left_out: LeftOut,
}

/// Where the jobs go: the scenario's queues and the `[swf.queues]` map.
pub struct SwfTarget<'a> {
    /// The scenario's job queues (index = [`JobQueueId`]).
    pub queues: &'a [JobQueue],
    /// SWF queue number → job queue.
    pub queue_map: &'a BTreeMap<u64, JobQueueId>,
}

/// Reads SWF from `input` (already decompressed) into trace jobs.
pub fn read_swf_jobs<R: BufRead>(
    input: R,
    file: &Path,
    opts: &SwfOptions,
    target: &SwfTarget,
    read: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<SwfTrace, InputError> {
    if target.queues.is_empty() {
        return Err(InputError::new(
            file,
            "the scenario has no job queue for the SWF jobs",
        ));
    }
    let fair = target.queues.iter().any(|q| q.fairshare_policy.is_some());
    if fair && opts.share_by == ShareBy::None {
        return Err(InputError::new(
            file,
            "a job queue has a fair-share policy, so SWF jobs need a shareIdentifier: set \
             `[swf] share_identifier` to \"user\", \"group\" or \"user_group\"",
        )
        .in_field("swf.share_identifier"));
    }
    let mut r = SwfReader::new(input, file);
    let mut out = SwfTrace::default();
    // Job number → row, to find preceding jobs (think-time mode only).
    let mut rows: BTreeMap<u64, u32> = BTreeMap::new();
    while let Some(rec) = r.next_record() {
        let job = rec.and_then(|rec| {
            let j = to_job(&rec, opts, target, &mut out.left_out).map_err(|(field, msg)| {
                InputError::new(file, msg).at_line(rec.line).in_field(field)
            })?;
            Ok(j.map(|j| (rec, j)))
        });
        match job {
            Ok(Some((rec, mut j))) => {
                let row = u32::try_from(out.jobs.len()).map_err(|_| {
                    InputError::new(file, "an SWF trace can hold at most 4,294,967,295 jobs")
                })?;
                if opts.think_time {
                    link_preceding(&rec, &mut j, &rows);
                    if let Some(n) = rec.job {
                        rows.insert(n, row);
                    }
                }
                out.jobs.push(j);
            }
            Ok(None) => {}
            Err(e) => skipped.handle(read, e)?,
        }
    }
    out.header = r.header;
    sort_jobs(&mut out.jobs);
    Ok(out)
}

fn link_preceding(rec: &SwfRecord, j: &mut TraceJob, rows: &BTreeMap<u64, u32>) {
    let (Some(p), Some(think)) = (rec.preceding_job, rec.think_time) else {
        return;
    };
    if let Some(&row) = rows.get(&p) {
        j.submit_after = Some(SubmitAfter {
            job: JobId(row),
            delay: SimDuration(secs_to_ms(think)),
        });
    }
}

/// Sorts by submit time (stable), renumbering `submit_after` rows to the new order.
fn sort_jobs(jobs: &mut Vec<TraceJob>) {
    if jobs.windows(2).all(|w| w[0].submit <= w[1].submit) {
        return;
    }
    if jobs.iter().all(|j| j.submit_after.is_none()) {
        jobs.sort_by_key(|j| j.submit);
        return;
    }
    let mut order: Vec<u32> = (0..jobs.len() as u32).collect();
    order.sort_by_key(|&i| jobs[i as usize].submit);
    let mut new_row = vec![0u32; jobs.len()];
    for (new, &old) in order.iter().enumerate() {
        new_row[old as usize] = new as u32;
    }
    let mut taken: Vec<Option<TraceJob>> = std::mem::take(jobs).into_iter().map(Some).collect();
    for &old in &order {
        let mut j = taken[old as usize].take().expect("each row once");
        if let Some(a) = &mut j.submit_after {
            a.job = JobId(new_row[a.job.0 as usize]);
        }
        jobs.push(j);
    }
}

fn secs_to_ms(s: f64) -> u64 {
    (s * 1000.0).round().clamp(0.0, 9.0e15) as u64
}

type FieldError = (&'static str, String);

/// One record → a job, `None` when left out (counted in `left_out`).
fn to_job(
    rec: &SwfRecord,
    opts: &SwfOptions,
    target: &SwfTarget,
    left_out: &mut LeftOut,
) -> Result<Option<TraceJob>, FieldError> {
    let submit = SimTime(secs_to_ms(rec.submit));
    let (run_ms, exit_code, cancel_at) = match rec.status {
        None | Some(1) | Some(0) => {
            let Some(run) = rec.run else {
                left_out.no_run_time += 1;
                return Ok(None);
            };
            (secs_to_ms(run), i32::from(rec.status == Some(0)), None)
        }
        Some(2..=4) => {
            left_out.partial += 1;
            return Ok(None);
        }
        Some(5) if !opts.replay_cancelled => {
            left_out.cancelled += 1;
            return Ok(None);
        }
        Some(5) => match rec.run.filter(|&r| r > 0.0) {
            Some(run) => (secs_to_ms(run), 143, None),
            None => (
                0,
                143,
                Some(SimTime(secs_to_ms(rec.submit + rec.wait.unwrap_or(0.0)))),
            ),
        },
        Some(s) => {
            return Err((
                "status",
                format!("expected -1, 0, 1, 2, 3, 4 or 5, got {s}"),
            ));
        }
    };
    let nonzero = |p: Option<u64>| p.filter(|&p| p > 0);
    let (first, second) = match opts.processors {
        ProcessorSource::Requested => (rec.requested_processors, rec.allocated_processors),
        ProcessorSource::Allocated => (rec.allocated_processors, rec.requested_processors),
    };
    let Some(procs) = nonzero(first).or(nonzero(second)) else {
        let msg = "neither requested nor allocated processors is known (and above 0)";
        return Err(("requested processors", msg.to_string()));
    };
    let vcpus = procs
        .checked_mul(u64::from(opts.vcpus_per_processor))
        .and_then(|v| u32::try_from(v).ok())
        .ok_or((
            "requested processors",
            format!("{procs} processors is too many vCPUs"),
        ))?;
    let memory_mib = memory_mib(rec, opts, procs)?;
    let queue = rec
        .queue
        .and_then(|q| target.queue_map.get(&q).copied())
        .unwrap_or(JobQueueId(0));
    let fair = target
        .queues
        .get(queue.0 as usize)
        .is_some_and(|q| q.fairshare_policy.is_some());
    let timeout = rec
        .requested_time
        .filter(|_| opts.timeout_from_requested_time)
        .map(|t| SimDuration(secs_to_ms(t)).max(MIN_TIMEOUT));
    let spec = JobSpec {
        name: rec
            .job
            .map_or_else(|| format!("line-{}", rec.line), |n| n.to_string()),
        queue,
        vcpus,
        memory_mib,
        gpus: 0,
        attempts: 1,
        timeout,
        share_identifier: fair.then(|| share_identifier(rec, opts.share_by)),
        requested_time: requested_time(rec, opts, run_ms),
        user: rec.user.map(|u| format!("u{u}")),
        ..JobSpec::default()
    };
    let mut job = TraceJob::new(submit, spec, SimDuration(run_ms), exit_code);
    job.cancel_at = cancel_at;
    Ok(Some(job))
}

fn memory_mib(rec: &SwfRecord, opts: &SwfOptions, procs: u64) -> Result<u32, FieldError> {
    let known = |m: Option<f64>| m.filter(|&m| m > 0.0);
    let kb = match opts.memory {
        MemorySource::Requested => known(rec.requested_memory_kb).or(known(rec.used_memory_kb)),
        MemorySource::Used => known(rec.used_memory_kb).or(known(rec.requested_memory_kb)),
        MemorySource::Ignore => None,
    };
    let mib = match kb {
        Some(kb) => (kb * procs as f64 / 1024.0).ceil().max(1.0),
        None => procs as f64 * f64::from(opts.memory_per_processor_mib),
    };
    if mib > f64::from(u32::MAX) {
        let field = if opts.memory == MemorySource::Used {
            "used memory"
        } else {
            "requested memory"
        };
        return Err((
            field,
            format!("{mib} MiB is more memory than flotilla can hold"),
        ));
    }
    Ok(mib as u32)
}

/// Field 9 when known (above 0); else, with `requested_time_fallback = "run_time"` (the
/// default), the logged run time: "exact estimates", the usual stand-in in the literature
/// for logs that record none (NASA iPSC, Lublin's model). At least 1 ms.
fn requested_time(rec: &SwfRecord, opts: &SwfOptions, run_ms: u64) -> Option<SimDuration> {
    let logged = rec.requested_time.filter(|&t| t > 0.0).map(secs_to_ms);
    let ms = logged.or((opts.requested_time_fallback_run_time).then_some(run_ms))?;
    Some(SimDuration(ms.max(1)))
}

fn share_identifier(rec: &SwfRecord, by: ShareBy) -> String {
    let (u, g) = (rec.user.unwrap_or(0), rec.group.unwrap_or(0));
    match by {
        ShareBy::None | ShareBy::User => format!("u{u}"),
        ShareBy::Group => format!("g{g}"),
        ShareBy::UserGroup => format!("u{u}g{g}"),
    }
}
