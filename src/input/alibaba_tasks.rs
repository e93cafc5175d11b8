//! The task list of Alibaba's GPU cluster trace 2023 (`openb_pod_list_*.csv` of
//! alibaba/clusterdata `cluster-trace-gpu-v2023`), read line by line.
//!
//! Columns (header required, order free, extra columns ignored):
//!
//! | column | meaning | flotilla reads |
//! |---|---|---|
//! | `name` | task (Kubernetes pod) name | non-empty; the job's name |
//! | `cpu_milli` | CPU request, thousandths of a core | whole number ≥ 0 |
//! | `memory_mib` | memory request, MiB | whole number ≥ 0 |
//! | `num_gpu` | GPUs requested | whole number ≥ 0 |
//! | `gpu_milli` | share of each GPU, 1000 = whole | 0 iff `num_gpu` is 0; else 1 to 1000, and below 1000 only with `num_gpu` = 1 |
//! | `gpu_spec` | required GPU model(s), e.g. `V100M16\|V100M32`, empty = any | kept as text for the queue mapping |
//! | `qos` | `LS`, `BE`, `Burstable`, `Guaranteed` | kept as text for the queue mapping |
//! | `pod_phase` | `Pending`, `Running`, `Succeeded`, `Failed` (or `Unknown`) | one of these |
//! | `creation_time` | seconds from the trace start | decimal ≥ 0: the submit time |
//! | `deletion_time` | seconds; empty = not deleted when the trace ended | ≥ `creation_time` (and ≥ `scheduled_time`) |
//! | `scheduled_time` | seconds; empty = never scheduled | ≥ `creation_time` |
//!
//! A line that breaks one of these rules is an error naming the file, the line and the column
//! (or, with `--skip-bad-lines`, is counted and left out).
//!
//! Modelling choices (the job that AWS Batch would have been given):
//! - **submit** = `creation_time`.
//! - **run time** = `deletion_time − scheduled_time`: the span the pod held its resources.
//!   Time waiting before `scheduled_time` was the original cluster's queueing, which the
//!   simulation replaces with its own. A scheduled task with no `deletion_time` was still
//!   running when the trace ended: it runs until the latest time stamp of the file
//!   (censored, like the trace itself).
//! - **never scheduled** (no `scheduled_time`; phase `Pending` in the shipped file): its run
//!   time is unknown, so by default it is left out and counted (`unscheduled = "skip"`);
//!   `unscheduled = "keep"` submits it with run time `deletion_time − creation_time` (the
//!   span someone wanted it, an upper guess).
//! - **vCPUs** = ⌈`cpu_milli` / 1000⌉, at least 1 (Batch reserves whole vCPUs);
//!   **memory** = `memory_mib`, at least 1 MiB (one shipped task asks for 0).
//! - **GPUs**: see [`GpuShare`]; whole-GPU requests are kept as they are.
//! - **exit code**: `Failed` → 1 (the attempt fails); `Running`, `Succeeded`, `Pending`,
//!   `Unknown` → 0 (`Running` is the phase of a pod deleted while still running, a service
//!   or a job stopped by its owner: nothing says it failed).

use super::csvutil::{bad, cell, line_of, parse_u32, secs_bytes_to_ms, Header};
use super::{InputError, ReadOptions, SkippedLines};
use csv::ByteRecord;
use std::io::Read;
use std::path::Path;

/// How a fractional GPU share (`num_gpu` = 1, `gpu_milli` < 1000) becomes an AWS Batch
/// reservation, which counts whole GPUs only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GpuShare {
    /// The share rounds up to one whole GPU: the honest Batch mapping (a Batch job cannot
    /// share a GPU), at the price of more GPU time than the task used (+16% GPU-hours over
    /// the shipped trace: 59,612 instead of 51,471; fractional tasks alone 15,219 instead
    /// of 7,077).
    #[default]
    Whole,
    /// The share is dropped: the task runs as a CPU job (under-counts GPU demand; useful to
    /// see the CPU side alone).
    CpuOnly,
    /// Fractional tasks are left out (counted in a note): the whole-GPU workload alone.
    Skip,
}

impl GpuShare {
    /// Parses `whole`, `cpu-only` or `skip`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "whole" => Some(GpuShare::Whole),
            "cpu-only" => Some(GpuShare::CpuOnly),
            "skip" => Some(GpuShare::Skip),
            _ => None,
        }
    }
}

/// A pod's last phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// One task line, checked.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Task {
    pub(crate) line: usize,
    pub(crate) name: String,
    pub(crate) cpu_milli: u32,
    pub(crate) memory_mib: u32,
    pub(crate) num_gpu: u32,
    pub(crate) gpu_milli: u32,
    pub(crate) gpu_spec: String,
    pub(crate) qos: String,
    pub(crate) phase: PodPhase,
    pub(crate) creation_ms: u64,
    pub(crate) deletion_ms: Option<u64>,
    pub(crate) scheduled_ms: Option<u64>,
}

impl Task {
    /// Whether it asks for part of one GPU.
    pub(crate) fn is_fractional(&self) -> bool {
        self.num_gpu == 1 && self.gpu_milli < 1000
    }

    /// vCPUs Batch would reserve: ⌈cpu_milli / 1000⌉, at least 1.
    pub(crate) fn vcpus(&self) -> u32 {
        self.cpu_milli.div_ceil(1000).max(1)
    }

    /// The latest time stamp of the line.
    pub(crate) fn last_ms(&self) -> u64 {
        let t = self.creation_ms.max(self.scheduled_ms.unwrap_or(0));
        t.max(self.deletion_ms.unwrap_or(0))
    }
}

/// Column indices.
struct Cols {
    name: usize,
    cpu: usize,
    memory: usize,
    num_gpu: usize,
    gpu_milli: usize,
    gpu_spec: Option<usize>,
    qos: Option<usize>,
    phase: usize,
    creation: usize,
    deletion: usize,
    scheduled: usize,
}

/// Whether a header names an Alibaba task list (`cpu_milli` and `num_gpu`).
pub(crate) fn is_task_header(h: &Header) -> bool {
    h.find("cpu_milli").is_some() && h.find("num_gpu").is_some()
}

/// Reads every task line and hands it to `f`, in file order. Malformed lines are errors, or
/// with `opts.skip_bad_lines` counted in `skipped`.
pub(crate) fn for_each_task<R: Read>(
    input: R,
    file: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
    mut f: impl FnMut(Task) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let mut rdr = super::csvutil::reader(input);
    let h = Header::read(&mut rdr, file)?;
    let c = Cols {
        name: h.require("name", file)?,
        cpu: h.require("cpu_milli", file)?,
        memory: h.require("memory_mib", file)?,
        num_gpu: h.require("num_gpu", file)?,
        gpu_milli: h.require("gpu_milli", file)?,
        gpu_spec: h.find("gpu_spec"),
        qos: h.find("qos"),
        phase: h.require("pod_phase", file)?,
        creation: h.require("creation_time", file)?,
        deletion: h.require("deletion_time", file)?,
        scheduled: h.require("scheduled_time", file)?,
    };
    let mut rec = ByteRecord::new();
    while super::csvutil::next_record(&mut rdr, &mut rec, file, opts, skipped)? {
        match parse_task(&rec, &c, file) {
            Ok(t) => f(t)?,
            Err(e) => skipped.handle(opts, e)?,
        }
    }
    Ok(())
}

fn whole(rec: &ByteRecord, col: usize, name: &str, file: &Path) -> Result<u32, InputError> {
    let s = cell(rec, Some(col), name, file)?;
    parse_u32(s.as_bytes()).ok_or_else(|| {
        bad(
            file,
            rec,
            name,
            format!("expected a whole number ≥ 0, got `{s}`"),
        )
    })
}

/// Seconds from the trace start; `None` when empty and `optional`.
fn time(
    rec: &ByteRecord,
    col: usize,
    name: &str,
    file: &Path,
    optional: bool,
) -> Result<Option<u64>, InputError> {
    let s = cell(rec, Some(col), name, file)?;
    if s.is_empty() && optional {
        return Ok(None);
    }
    match secs_bytes_to_ms(s.as_bytes()) {
        Some(ms) => Ok(Some(ms)),
        None => Err(bad(
            file,
            rec,
            name,
            format!("expected seconds from the trace start ≥ 0, got `{s}`"),
        )),
    }
}

fn parse_task(rec: &ByteRecord, c: &Cols, file: &Path) -> Result<Task, InputError> {
    let name = cell(rec, Some(c.name), "name", file)?;
    if name.is_empty() {
        return Err(bad(
            file,
            rec,
            "name",
            "expected a task name, got an empty value",
        ));
    }
    let cpu_milli = whole(rec, c.cpu, "cpu_milli", file)?;
    let memory_mib = whole(rec, c.memory, "memory_mib", file)?;
    let num_gpu = whole(rec, c.num_gpu, "num_gpu", file)?;
    let gpu_milli = whole(rec, c.gpu_milli, "gpu_milli", file)?;
    let share_ok = match num_gpu {
        0 => gpu_milli == 0,
        1 => (1..=1000).contains(&gpu_milli),
        _ => gpu_milli == 1000,
    };
    if !share_ok {
        let msg = format!(
            "expected 0 with num_gpu 0, 1 to 1000 with num_gpu 1 and 1000 with more GPUs \
             (a share is of one GPU), got {gpu_milli} with num_gpu {num_gpu}"
        );
        return Err(bad(file, rec, "gpu_milli", msg));
    }
    let phase_s = cell(rec, Some(c.phase), "pod_phase", file)?;
    let phase = match phase_s {
        "Pending" => PodPhase::Pending,
        "Running" => PodPhase::Running,
        "Succeeded" => PodPhase::Succeeded,
        "Failed" => PodPhase::Failed,
        "Unknown" => PodPhase::Unknown,
        other => {
            let msg =
                format!("expected Pending, Running, Succeeded, Failed or Unknown, got `{other}`");
            return Err(bad(file, rec, "pod_phase", msg));
        }
    };
    let creation_ms = time(rec, c.creation, "creation_time", file, false)?.unwrap_or(0);
    let scheduled_ms = time(rec, c.scheduled, "scheduled_time", file, true)?;
    let deletion_ms = time(rec, c.deletion, "deletion_time", file, true)?;
    if scheduled_ms.is_some_and(|s| s < creation_ms) {
        let msg = "expected a time at or after `creation_time`";
        return Err(bad(file, rec, "scheduled_time", msg));
    }
    if deletion_ms.is_some_and(|d| d < scheduled_ms.unwrap_or(creation_ms)) {
        let msg = "expected a time at or after `creation_time` and `scheduled_time`";
        return Err(bad(file, rec, "deletion_time", msg));
    }
    Ok(Task {
        line: line_of(rec),
        name: name.to_string(),
        cpu_milli,
        memory_mib,
        num_gpu,
        gpu_milli,
        gpu_spec: cell(rec, c.gpu_spec, "gpu_spec", file)?.to_string(),
        qos: cell(rec, c.qos, "qos", file)?.to_string(),
        phase,
        creation_ms,
        deletion_ms,
        scheduled_ms,
    })
}

/// Checks a bare task list and describes it in one line (what `validate` prints).
pub(crate) fn describe<R: Read>(input: R, file: &Path) -> Result<String, InputError> {
    let (mut n, mut frac, mut gpu, mut unscheduled, mut last) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut first = u64::MAX;
    let mut skipped = SkippedLines::default();
    for_each_task(input, file, ReadOptions::default(), &mut skipped, |t| {
        n += 1;
        frac += u64::from(t.is_fractional());
        gpu += u64::from(t.num_gpu > 0);
        unscheduled += u64::from(t.scheduled_ms.is_none());
        first = first.min(t.creation_ms);
        last = last.max(t.last_ms());
        Ok(())
    })?;
    Ok(format!(
        "Alibaba task list: {n} tasks ({gpu} with GPUs, {frac} of them a fractional share; \
         {unscheduled} never scheduled), from {} s to {} s",
        first.min(last) / 1000,
        last / 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,\
                        creation_time,deletion_time,scheduled_time\n";

    fn read(body: &str, opts: ReadOptions) -> (Result<Vec<Task>, InputError>, SkippedLines) {
        let text = format!("{HEAD}{body}");
        let mut skipped = SkippedLines::default();
        let mut out = Vec::new();
        let r = for_each_task(
            text.as_bytes(),
            Path::new("t.csv"),
            opts,
            &mut skipped,
            |t| {
                out.push(t);
                Ok(())
            },
        );
        (r.map(|_| out), skipped)
    }

    #[test]
    fn reads_a_fractional_pending_task() {
        let (r, _) = read(
            "p1,1500,0,1,460,V100M16,BE,Pending,10,20,\n",
            Default::default(),
        );
        let t = &r.unwrap()[0];
        assert_eq!(
            (t.vcpus(), t.is_fractional(), t.phase),
            (2, true, PodPhase::Pending)
        );
        assert_eq!(
            (t.creation_ms, t.deletion_ms, t.scheduled_ms),
            (10_000, Some(20_000), None)
        );
        assert_eq!(t.gpu_spec, "V100M16");
        assert_eq!(t.last_ms(), 20_000);
    }

    #[test]
    fn bad_lines_name_line_and_field_or_are_counted() {
        let body = "a,1000,10,0,0,,LS,Running,0,5,1\n\
                    b,1000,10,2,500,,LS,Running,0,5,1\n\
                    c,1000,10,0,0,,LS,Sleeping,0,5,1\n\
                    d,1000,10,0,0,,LS,Running,9,5,1\n\
                    e,1000,10\n\
                    f,x,10,0,0,,LS,Running,0,5,1\n";
        let (r, _) = read(body, Default::default());
        let e = r.unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(3), Some("gpu_milli")),
            "{e}"
        );
        let skip = ReadOptions {
            skip_bad_lines: true,
        };
        let (r, s) = read(body, skip);
        assert_eq!(r.unwrap().len(), 1);
        assert_eq!(s.count, 5);
        let fields: Vec<_> = s.first.iter().map(|e| (e.line, e.field.clone())).collect();
        assert_eq!(fields[1], (Some(4), Some("pod_phase".into())));
        assert_eq!(fields[2], (Some(5), Some("scheduled_time".into())));
        assert_eq!(fields[3].0, Some(6));
        assert_eq!(fields[4], (Some(7), Some("cpu_milli".into())));
    }
}
