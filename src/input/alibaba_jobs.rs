//! Alibaba task lines to trace jobs: queue routing, GPU shares, censored run times (the
//! rules are in [`super::alibaba_tasks`]).

use super::alibaba::Alibaba;
use super::alibaba_tasks::{for_each_task, is_task_header, GpuShare, PodPhase, Task};
use super::csvutil::Header;
use super::tomlerr::Ctx;
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{Cluster, JobQueueId, JobSpec, SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

impl Alibaba<'_> {
    fn queue(
        &self,
        ctx: &Ctx,
        cluster: &Cluster,
        v: &Spanned<String>,
        field: &str,
    ) -> Result<JobQueueId, InputError> {
        cluster.find_queue(v.get_ref()).ok_or_else(|| {
            let known: Vec<&str> = cluster.job_queues.iter().map(|q| q.name.as_str()).collect();
            let msg = format!(
                "unknown job queue `{}`; the scenario's job queues are: {}",
                v.get_ref(),
                known.join(", ")
            );
            ctx.err(v.span(), field, msg)
        })
    }

    /// Reads an Alibaba task list into trace jobs (unsorted, file order); what was left out
    /// goes to `notes`.
    pub(crate) fn load_tasks(
        &self,
        ctx: &Ctx,
        path: &Path,
        cluster: &Cluster,
        opts: ReadOptions,
        skipped: &mut SkippedLines,
        notes: &mut Vec<String>,
    ) -> Result<Vec<TraceJob>, InputError> {
        let w = self.wire;
        let default = match &w.job_queue {
            Some(q) => self.queue(ctx, cluster, q, "alibaba.job_queue")?,
            None => JobQueueId(0),
        };
        let map = |m: &BTreeMap<String, Spanned<String>>, f: &str| {
            m.iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        self.queue(ctx, cluster, v, &format!("alibaba.{f}.{k}"))?,
                    ))
                })
                .collect::<Result<BTreeMap<String, JobQueueId>, InputError>>()
        };
        let qos = map(&w.qos_queues, "qos_queues")?;
        let spec = map(&w.gpu_spec_queues, "gpu_spec_queues")?;
        let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
        let mut jobs = Vec::new();
        let mut censored: Vec<(usize, u64)> = Vec::new();
        let (mut last_ms, mut left_frac, mut left_unsched, mut fractional) =
            (0u64, 0u64, 0u64, 0u64);
        for_each_task(std::io::BufReader::new(f), path, opts, skipped, |t| {
            last_ms = last_ms.max(t.last_ms());
            fractional += u64::from(t.is_fractional());
            if t.is_fractional() && self.gpu_share == GpuShare::Skip {
                left_frac += 1;
                return Ok(());
            }
            if t.scheduled_ms.is_none() && !self.keep_unscheduled {
                left_unsched += 1;
                return Ok(());
            }
            let queue = spec
                .get(&t.gpu_spec)
                .or_else(|| qos.get(&t.qos))
                .copied()
                .unwrap_or(default);
            let fair = cluster.queue(queue).fairshare_policy.is_some();
            if let (Some(s), None) = (t.scheduled_ms, t.deletion_ms) {
                censored.push((jobs.len(), s));
            }
            jobs.push(self.job(&t, queue, fair));
            Ok(())
        })?;
        for (i, start) in censored {
            jobs[i].run_time = SimDuration::from_millis(last_ms - start);
        }
        notes.push(format!(
            "alibaba tasks: {} jobs from {}; {fractional} fractional-GPU tasks ({}); {left_unsched} never-scheduled tasks left out",
            jobs.len(),
            path.display(),
            match self.gpu_share {
                GpuShare::Whole => "each rounded up to one whole GPU".to_string(),
                GpuShare::CpuOnly => "run as CPU jobs".to_string(),
                GpuShare::Skip => format!("{left_frac} left out"),
            }
        ));
        Ok(jobs)
    }

    fn job(&self, t: &Task, queue: JobQueueId, fair: bool) -> TraceJob {
        let gpus = if t.is_fractional() && self.gpu_share == GpuShare::CpuOnly {
            0
        } else {
            t.num_gpu
        };
        let run_ms = match (t.scheduled_ms, t.deletion_ms) {
            (Some(s), Some(d)) => d - s,
            (None, Some(d)) => d - t.creation_ms,
            // Censored: fixed up once the whole file is read.
            _ => 0,
        };
        let spec = JobSpec {
            name: t.name.clone(),
            queue,
            vcpus: t.vcpus(),
            memory_mib: t.memory_mib.max(1),
            gpus,
            attempts: 1,
            share_identifier: fair.then(|| share_identifier(&t.qos)),
            ..JobSpec::default()
        };
        let exit = i32::from(t.phase == PodPhase::Failed);
        TraceJob::new(
            SimTime(t.creation_ms),
            spec,
            SimDuration::from_millis(run_ms),
            exit,
        )
    }
}

/// A fair-share identifier from a `qos` value: its letters and digits (at most 255), or
/// `unknown` when none are left.
fn share_identifier(qos: &str) -> String {
    let s: String = qos
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(255)
        .collect();
    if s.is_empty() {
        "unknown".to_string()
    } else {
        s
    }
}

/// Whether a trace file is an Alibaba task list (its header has `cpu_milli` and `num_gpu`).
pub(crate) fn is_task_list(path: &Path) -> Result<bool, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let mut rdr = super::csvutil::reader(std::io::BufReader::new(f));
    Ok(Header::read(&mut rdr, path).is_ok_and(|h| is_task_header(&h)))
}
