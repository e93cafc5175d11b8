//! A run folder turned into bucketed time series. `jobs.csv` and `instances.csv` give the
//! fleet, cost, waits and first queueing; `events.jsonl` (streamed, one line at a time) gives
//! every attempt, so busy vCPUs include work later lost to reclaims and retried jobs count in
//! the queue again between attempts.

use super::series::{cumulative, Buckets, MAX_BUCKETS};
use super::tables::{read_instances, read_jobs, InstanceRow, JobColumns};
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

/// Everything the run charts show.
pub struct RunData {
    /// Bucket width, seconds, and count.
    pub buckets: (f64, usize),
    /// Mean instances alive per bucket, per `type (market)`.
    pub fleet: Vec<(String, Vec<f64>)>,
    /// Mean vCPUs of live instances (None: instances.csv has no vcpus column).
    pub paid_vcpus: Option<Vec<f64>>,
    /// Mean vCPUs of running attempts (STARTING to end).
    pub busy_vcpus: Vec<f64>,
    /// Mean RUNNABLE jobs per bucket, per job queue.
    pub queue_depth: Vec<(String, Vec<f64>)>,
    /// Cost spent by the end of each bucket, USD, per market.
    pub cost: Vec<(String, Vec<f64>)>,
    /// Spot reclaims per bucket.
    pub interruptions: Vec<f64>,
    /// Queue waits, seconds.
    pub waits: Vec<f64>,
}

impl RunData {
    /// Start of bucket `k`, seconds.
    pub fn t(&self, k: usize) -> f64 {
        k as f64 * self.buckets.0
    }
}

/// Reads `dir`'s tables and events; `end_s` is the run's end (summary.json's `sim_end_s`),
/// or 0 to take the latest time in the tables.
pub fn load(dir: &Path, end_s: f64) -> anyhow::Result<RunData> {
    let instances = read_instances(&dir.join("instances.csv"))?;
    let jobs = read_jobs(&dir.join("jobs.csv"))?;
    let end = if end_s > 0.0 {
        end_s
    } else {
        latest(&instances, &jobs)
    };
    let template = Buckets::new(end, MAX_BUCKETS);
    let mut busy = template.clone();
    let mut queued: Vec<Buckets> = vec![template.clone(); jobs.queues.len()];
    scan_events(
        &dir.join("events.jsonl"),
        &jobs,
        end,
        &mut busy,
        &mut queued,
    )?;
    Ok(RunData {
        buckets: (template.width, template.n),
        fleet: fleet(&instances, &template, end),
        paid_vcpus: paid(&instances, &template, end),
        busy_vcpus: busy.values(),
        queue_depth: jobs
            .queues
            .iter()
            .cloned()
            .zip(queued.iter().map(Buckets::values))
            .collect(),
        cost: cost(&instances, &template),
        interruptions: interruptions(&instances, &template, end),
        waits: jobs.waits,
    })
}

fn latest(instances: &[InstanceRow], jobs: &JobColumns) -> f64 {
    let inst = instances.iter().map(|i| {
        i.terminated_s
            .unwrap_or(i.launched_s)
            .max(i.launched_s + i.billed_s)
    });
    let job = jobs.stopped_s.iter().copied().filter(|t| t.is_finite());
    inst.chain(job).fold(0.0, f64::max)
}

fn alive(i: &InstanceRow, end: f64) -> (f64, f64) {
    (i.launched_s, i.terminated_s.unwrap_or(end))
}

fn fleet(instances: &[InstanceRow], template: &Buckets, end: f64) -> Vec<(String, Vec<f64>)> {
    let mut by: BTreeMap<String, Buckets> = BTreeMap::new();
    for i in instances {
        let key = format!("{} ({})", i.instance_type, i.market);
        let (a, b) = alive(i, end);
        by.entry(key)
            .or_insert_with(|| template.clone())
            .add_interval(a, b, 1.0);
    }
    by.into_iter().map(|(k, b)| (k, b.values())).collect()
}

fn paid(instances: &[InstanceRow], template: &Buckets, end: f64) -> Option<Vec<f64>> {
    let mut b = template.clone();
    for i in instances {
        let (a, z) = alive(i, end);
        b.add_interval(a, z, i.vcpus?);
    }
    Some(b.values())
}

/// Cumulative cost per market. An instance's bill is spread evenly over its billed time: exact
/// for On-Demand, an approximation for Spot (whose price moves), and the totals at the end
/// match summary.json.
fn cost(instances: &[InstanceRow], template: &Buckets) -> Vec<(String, Vec<f64>)> {
    let mut by: BTreeMap<String, Buckets> = BTreeMap::new();
    for m in ["On-Demand", "Spot"] {
        by.insert(m.to_string(), template.clone());
    }
    for i in instances.iter().filter(|i| i.cost_usd > 0.0) {
        let b = by
            .entry(i.market.clone())
            .or_insert_with(|| template.clone());
        if i.billed_s > 0.0 {
            // Per-bucket amount = rate x covered time = (cost / billed) x width x share.
            b.add_interval(
                i.launched_s,
                i.launched_s + i.billed_s,
                i.cost_usd / i.billed_s * template.width,
            );
        } else {
            b.add_point(i.launched_s, i.cost_usd);
        }
    }
    by.into_iter()
        .map(|(k, b)| (k, cumulative(&b.values())))
        .collect()
}

fn interruptions(instances: &[InstanceRow], template: &Buckets, end: f64) -> Vec<f64> {
    let mut b = template.clone();
    for i in instances.iter().filter(|i| i.interrupted) {
        b.add_point(i.terminated_s.unwrap_or(end), 1.0);
    }
    b.values()
}

/// One open attempt (or node of one).
struct Open {
    job: usize,
    attempt: u32,
    instance: String,
    start: f64,
}

/// The part of an `events.jsonl` line the charts use.
#[derive(serde::Deserialize)]
struct Line {
    t_ms: u64,
    #[serde(default)]
    job: Option<usize>,
    #[serde(default)]
    attempt: Option<u32>,
    #[serde(default)]
    instance: Option<String>,
}

/// Attempts: StartJob opens one; JobExited or its host's InstanceTerminated closes it.
/// Queueing: a job waits from its first RUNNABLE time to its first StartJob, and again from
/// each attempt's end to the next StartJob.
fn scan_events(
    path: &Path,
    jobs: &JobColumns,
    end: f64,
    busy: &mut Buckets,
    queued: &mut [Buckets],
) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut st = Scan::new(jobs.vcpus.len());
    for (n, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("{} line {}", path.display(), n + 1))?;
        // Most lines are of kinds the charts ignore: skip them before parsing JSON.
        let kind = if line.contains("\"command\":\"StartJob\"") {
            Kind::Start
        } else if line.contains("\"input\":\"JobExited\"") {
            Kind::Exit
        } else if line.contains("\"input\":\"InstanceTerminated\"") {
            Kind::Terminated
        } else {
            continue;
        };
        let ev: Line = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}", path.display(), n + 1))?;
        st.apply(kind, ev, jobs, busy, queued)
            .with_context(|| format!("{} line {}", path.display(), n + 1))?;
    }
    st.finish(jobs, end, busy, queued);
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    Start,
    Exit,
    Terminated,
}

struct Scan {
    open: HashMap<usize, Vec<Open>>,
    on_instance: HashMap<String, Vec<usize>>,
    /// Highest attempt started per job (0: none).
    started: Vec<u32>,
    /// When the job's last attempt ended (NaN: running or never ran).
    ended: Vec<f64>,
}

impl Scan {
    fn new(jobs: usize) -> Self {
        Scan {
            open: HashMap::new(),
            on_instance: HashMap::new(),
            started: vec![0; jobs],
            ended: vec![f64::NAN; jobs],
        }
    }

    fn apply(
        &mut self,
        kind: Kind,
        ev: Line,
        jobs: &JobColumns,
        busy: &mut Buckets,
        queued: &mut [Buckets],
    ) -> anyhow::Result<()> {
        let t = ev.t_ms as f64 / 1000.0;
        match kind {
            Kind::Start => {
                let (job, attempt, instance) = (
                    ev.job.context("StartJob without `job`")?,
                    ev.attempt.unwrap_or(1),
                    ev.instance.unwrap_or_default(),
                );
                anyhow::ensure!(job < jobs.vcpus.len(), "job {job} is not in jobs.csv");
                if attempt > self.started[job] {
                    // The first node of a new attempt ends a wait in the queue.
                    let from = if self.started[job] == 0 {
                        jobs.runnable_s[job]
                    } else {
                        self.ended[job]
                    };
                    if from.is_finite() {
                        queued[jobs.queue[job] as usize].add_interval(from, t, 1.0);
                    }
                    self.started[job] = attempt;
                    self.ended[job] = f64::NAN;
                }
                self.on_instance
                    .entry(instance.clone())
                    .or_default()
                    .push(job);
                self.open.entry(job).or_default().push(Open {
                    job,
                    attempt,
                    instance,
                    start: t,
                });
            }
            Kind::Exit => {
                if let Some(job) = ev.job {
                    let attempt = ev.attempt;
                    self.close(job, t, jobs, busy, |o| {
                        attempt.is_none_or(|a| o.attempt == a)
                    });
                }
            }
            Kind::Terminated => {
                let inst = ev.instance.unwrap_or_default();
                for job in self.on_instance.remove(&inst).unwrap_or_default() {
                    self.close(job, t, jobs, busy, |o| o.instance == inst);
                }
            }
        }
        Ok(())
    }

    fn close(
        &mut self,
        job: usize,
        t: f64,
        jobs: &JobColumns,
        busy: &mut Buckets,
        which: impl Fn(&Open) -> bool,
    ) {
        let Some(list) = self.open.get_mut(&job) else {
            return;
        };
        let mut i = 0;
        while i < list.len() {
            if which(&list[i]) {
                let o = list.swap_remove(i);
                busy.add_interval(o.start, t, jobs.vcpus[o.job]);
                self.ended[job] = t;
            } else {
                i += 1;
            }
        }
        if list.is_empty() {
            self.open.remove(&job);
        }
    }

    /// Attempts still open run to the end; jobs that never started waited from RUNNABLE to
    /// their end (e.g. cancelled) or the run's.
    fn finish(self, jobs: &JobColumns, end: f64, busy: &mut Buckets, queued: &mut [Buckets]) {
        for o in self.open.into_values().flatten() {
            busy.add_interval(o.start, end, jobs.vcpus[o.job]);
        }
        for (j, &s) in self.started.iter().enumerate() {
            if s == 0 && jobs.runnable_s[j].is_finite() {
                let stop = if jobs.stopped_s[j].is_finite() {
                    jobs.stopped_s[j]
                } else {
                    end
                };
                queued[jobs.queue[j] as usize].add_interval(jobs.runnable_s[j], stop, 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made run folder: two instances, three jobs, one retried after a reclaim.
    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        w(
            "instances.csv",
            "instance_id,compute_environment,instance_type,market,launched_s,ready_s,terminated_s,billed_s,cost_usd,jobs_hosted,interrupted,launch_failure,vcpus\n\
             i-1,ce,m5.large,SPOT,0,1,4,4,0.4,1,true,,2\n\
             i-2,ce,m5.xlarge,EC2,0,1,,8,0.8,2,false,,4\n\
             i-3,ce,m5.xlarge,On-Demand,0,,,0,0,0,false,InsufficientInstanceCapacity,4\n",
        );
        w(
            "jobs.csv",
            "job_id,job_queue,vcpus,runnable_s,stopped_s,wait_s\n\
             0,q,2,0,8,1\n\
             1,q,1,0,6,2\n\
             2,q,1,2,,\n",
        );
        // Job 0 runs on i-1 from 1 s until the reclaim at 4 s, then on i-2 from 6 s to 8 s.
        // Job 1 runs on i-2 from 2 s to 6 s. Job 2 never starts.
        w(
            "events.jsonl",
            "{\"t_ms\":0,\"input\":\"JobSubmitted\",\"jobName\":\"a\"}\n\
             {\"t_ms\":1000,\"command\":\"StartJob\",\"job\":0,\"instance\":\"i-1\",\"attempt\":1,\"gpuIds\":[]}\n\
             {\"t_ms\":2000,\"command\":\"StartJob\",\"job\":1,\"instance\":\"i-2\",\"attempt\":1,\"gpuIds\":[]}\n\
             {\"t_ms\":4000,\"input\":\"InstanceTerminated\",\"instance\":\"i-1\"}\n\
             {\"t_ms\":6000,\"input\":\"JobExited\",\"job\":1,\"attempt\":1,\"exitCode\":0}\n\
             {\"t_ms\":6000,\"command\":\"StartJob\",\"job\":0,\"instance\":\"i-2\",\"attempt\":2,\"gpuIds\":[]}\n\
             {\"t_ms\":8000,\"input\":\"JobExited\",\"job\":0,\"attempt\":2,\"exitCode\":0}\n",
        );
        dir
    }

    #[test]
    fn series_from_a_hand_made_run() {
        let dir = folder();
        let d = load(dir.path(), 8.0).unwrap();
        // 8 s in at most 1000 buckets: 1 s wide, 8 of them.
        assert_eq!(d.buckets, (1.0, 8));
        // Busy: job 0 (2 vCPUs) 1-4 s and 6-8 s; job 1 (1 vCPU) 2-6 s.
        assert_eq!(d.busy_vcpus, [0.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0]);
        // Paid: i-1 (2) 0-4 s, i-2 (4) 0-8 s; the refused launch costs nothing.
        assert_eq!(
            d.paid_vcpus.unwrap(),
            [6.0, 6.0, 6.0, 6.0, 4.0, 4.0, 4.0, 4.0]
        );
        // Queue: job 0 0-1 s and 4-6 s; job 1 0-2 s; job 2 from 2 s to the end.
        assert_eq!(d.queue_depth[0].1, [2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1.0, 1.0]);
        assert_eq!(d.interruptions, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let names: Vec<&str> = d.fleet.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["m5.large (Spot)", "m5.xlarge (On-Demand)"]);
        // EC2/SPOT read as On-Demand/Spot. Spot: $0.4 over 4 s; On-Demand: $0.8 over 8 s.
        assert_eq!(d.cost.len(), 2);
        let spot = &d.cost.iter().find(|c| c.0 == "Spot").unwrap().1;
        let od = &d.cost.iter().find(|c| c.0 == "On-Demand").unwrap().1;
        assert!((spot[3] - 0.4).abs() < 1e-9 && (spot[7] - 0.4).abs() < 1e-9);
        assert!((od[1] - 0.2).abs() < 1e-9 && (od[7] - 0.8).abs() < 1e-9);
        assert_eq!(d.waits, [1.0, 2.0]);
    }

    #[test]
    fn a_job_number_beyond_jobs_csv_is_an_error_naming_the_line() {
        let dir = folder();
        let p = dir.path().join("events.jsonl");
        std::fs::write(
            &p,
            "{\"t_ms\":1,\"command\":\"StartJob\",\"job\":9,\"instance\":\"i-1\",\"attempt\":1}\n",
        )
        .unwrap();
        let e = format!("{:#}", load(dir.path(), 8.0).err().unwrap());
        assert!(
            e.contains("events.jsonl line 1") && e.contains("job 9"),
            "{e}"
        );
    }
}
