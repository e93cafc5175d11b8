//! A whole live run: probe the hosts, journal, drive the engine, write the record.

use super::driver::{LiveDriver, LiveHost, LiveSetup};
use super::executor::{self, Executor, Msg};
use super::hosts::{load_hosts, HostsFile};
use super::journal::{self, Header, Journal, ProbedHost};
use crate::engine::Engine;
use crate::model::{InstanceTypeId, JobStatus, SimTime};
use crate::record::{self, metrics, tables, EventLog, Summary};
use crate::scenario::{Scenario, SpotModel};
use anyhow::Context;
use serde::Serialize;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What `flotilla live` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    /// Scenario file.
    pub scenario: PathBuf,
    /// Trace overriding the scenario's.
    pub trace: Option<PathBuf>,
    /// Hosts file.
    pub hosts: PathBuf,
    /// Run folder (default `reports/live-<run>`).
    pub out: Option<PathBuf>,
    /// Image for jobs whose definition names none.
    pub image: Option<String>,
    /// How often Docker hosts are pinged.
    pub health_every: Option<Duration>,
}

/// Live-only figures of a run, written to `live.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LiveStats {
    /// Run id.
    pub run: String,
    /// Hosts used, as probed.
    pub hosts: Vec<ProbedHost>,
    /// Attempts started (or picked up after a resume).
    pub attempts_started: u64,
    /// Engine inputs handled.
    pub inputs: u64,
    /// Driver and engine time per job, excluding Docker's own work and waiting, µs.
    pub overhead_us_per_job: f64,
    /// Of which forcing the journal to disk, µs per job.
    pub journal_fsync_us_per_job: f64,
    /// Time from a job first RUNNABLE to its first container running, ms.
    pub runnable_to_running_p50_ms: f64,
    /// The same, 95th percentile.
    pub runnable_to_running_p95_ms: f64,
    /// Of that, the scheduling part: first RUNNABLE to the StartJob command, p50, ms.
    pub runnable_to_starting_p50_ms: f64,
    /// The same, 95th percentile.
    pub runnable_to_starting_p95_ms: f64,
    /// Jobs that succeeded per second of the run's wall time.
    pub jobs_per_second: f64,
    /// Wall seconds of this part of the run.
    pub wall_seconds: f64,
    /// Whether this part resumed an earlier one.
    pub resumed: bool,
    /// Ctrl-C presses.
    pub interrupts: u32,
}

/// A finished live run.
pub struct LiveRun {
    /// Its folder.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: Summary,
    /// `live.json`.
    pub live: LiveStats,
}

/// Starts a live run.
pub fn run_live(opts: &LiveOptions) -> anyhow::Result<LiveRun> {
    let (scenario, definitions) = load(&opts.scenario, opts.trace.as_deref())?;
    let file = load_hosts(&opts.hosts)?;
    let rt = runtime()?;
    let probed = rt.block_on(super::probe::probe_all(&file));
    if probed.is_empty() {
        anyhow::bail!("{}: no host could be reached", opts.hosts.display());
    }
    let origin_unix_ms = unix_ms();
    let run = format!("{}-{}", docker_safe(&scenario.name), origin_unix_ms);
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(format!("live-{run}")));
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let header = Header {
        run: run.clone(),
        scenario: abs(&opts.scenario)?,
        trace: opts.trace.as_deref().map(abs).transpose()?,
        hosts: abs(&opts.hosts)?,
        origin_unix_ms,
        probed: probed.iter().map(|(p, _)| p.clone()).collect(),
        default_image: opts.image.clone(),
    };
    let mut journal = Journal::create(&dir, &header).with_context(|| {
        format!(
            "{}: a run folder must be new (or use --resume)",
            dir.display()
        )
    })?;
    let execs = probed.into_iter().map(|(_, e)| e).collect();
    let parts = Parts {
        scenario,
        definitions,
        file,
        header,
        execs,
        dir,
    };
    drive(parts, opts, &rt, &mut journal, None)
}

/// Resumes a live run whose driver was killed: replays its journal, finds its containers
/// again, and goes on.
pub fn resume_live(dir: &Path, opts: &LiveOptions) -> anyhow::Result<LiveRun> {
    let (header, inputs) = journal::read(dir)?;
    let (scenario, definitions) = load(&header.scenario, header.trace.as_deref())?;
    let file = load_hosts(&header.hosts)?;
    let rt = runtime()?;
    let mut execs = Vec::new();
    for p in &header.probed {
        match rt.block_on(super::probe::reconnect(&file, p)) {
            Ok(e) => execs.push(e),
            Err(e) => {
                eprintln!("flotilla live: host {} is gone: {e}", p.name);
                execs.push(Executor::Unreachable);
            }
        }
    }
    let mut journal = Journal::reopen(dir)?;
    let parts = Parts {
        scenario,
        definitions,
        file,
        header,
        execs,
        dir: dir.to_path_buf(),
    };
    drive(parts, opts, &rt, &mut journal, Some(inputs))
}

struct Parts {
    scenario: Scenario,
    definitions: crate::input::JobDefinitions,
    file: HostsFile,
    header: Header,
    /// Executor per probed host (`Unreachable` for one gone at resume).
    execs: Vec<Executor>,
    dir: PathBuf,
}

fn drive(
    p: Parts,
    opts: &LiveOptions,
    rt: &tokio::runtime::Runtime,
    journal: &mut Journal,
    replay: Option<Vec<(SimTime, crate::engine::Input)>>,
) -> anyhow::Result<LiveRun> {
    let started = Instant::now();
    let Parts {
        mut scenario,
        definitions,
        file,
        header,
        execs,
        dir,
    } = p;
    refuse_privileged(&scenario, &definitions)?;
    super::probe::live_cluster(&mut scenario.cluster, &file, &header.probed)?;
    let hosts = live_hosts(&scenario, &header.probed, &execs);
    let mut engine = Engine::new(scenario.cluster.clone());
    let setup = LiveSetup {
        run: header.run.clone(),
        out_dir: dir.clone(),
        origin_unix_ms: header.origin_unix_ms,
        hosts,
        definitions,
        default_image: opts.image.clone().or(header.default_image.clone()),
        trace: std::mem::take(&mut scenario.trace),
    };
    let mut driver = LiveDriver::new(setup, rt.handle().clone());
    let events_path = dir.join("events.jsonl");
    let f = File::create(&events_path).with_context(|| events_path.display().to_string())?;
    let mut w = BufWriter::new(f);
    let mut log = EventLog::new(engine.cluster(), &mut w);
    let resumed = replay.is_some();
    if let Some(inputs) = replay {
        driver.replay(&mut engine, inputs, &mut log);
    }
    watch_hosts(rt, &driver, &execs, opts);
    let tx = driver.sender();
    rt.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(Msg::Interrupt).is_err() {
                break;
            }
        }
    });
    let stats = driver.run(&mut engine, journal, &mut log)?;
    log.finish()?;
    w.flush()?;
    let end = stats.end;
    let mut summary = write_record(&dir, &engine, &scenario, end)?;
    summary.events_processed = stats.events_processed;
    summary.wall_seconds = started.elapsed().as_secs_f64();
    record::write_summary(&dir, &summary)?;
    let live = live_stats(
        &engine,
        &driver,
        &header,
        stats.events_processed,
        started,
        resumed,
    );
    let text = serde_json::to_string_pretty(&live)? + "\n";
    fs::write(dir.join("live.json"), text)?;
    Ok(LiveRun { dir, summary, live })
}

/// Live mode never runs a privileged container: a job definition asking for one stops the
/// run before anything starts.
fn refuse_privileged(s: &Scenario, defs: &crate::input::JobDefinitions) -> anyhow::Result<()> {
    for j in &s.trace {
        if let Some((name, d)) = defs.resolve(&j.spec.job_definition) {
            if d.container.privileged {
                anyhow::bail!(
                    "job definition `{name}` asks for a privileged container (job `{}`): live \
                     mode never runs one; list the capabilities it needs in \
                     linuxParameters.capabilities.add instead",
                    j.spec.name
                );
            }
        }
    }
    Ok(())
}

/// Pairs each probed host with its engine instance type and executor.
fn live_hosts(s: &Scenario, probed: &[ProbedHost], execs: &[Executor]) -> Vec<LiveHost> {
    let mut hosts = Vec::new();
    for (i, p) in probed.iter().enumerate() {
        let Some(instance_type) = host_type(&s.cluster, p) else {
            continue;
        };
        let executor = execs[i].clone();
        hosts.push(LiveHost {
            probed: p.clone(),
            executor,
            instance_type,
        });
    }
    hosts
}

/// Health checks for Docker hosts; a host already gone at resume is reported lost at once.
fn watch_hosts(
    rt: &tokio::runtime::Runtime,
    d: &LiveDriver,
    execs: &[Executor],
    opts: &LiveOptions,
) {
    let every = opts.health_every.unwrap_or(Duration::from_secs(2));
    for (h, e) in execs.iter().enumerate() {
        let tx = d.sender();
        match e {
            Executor::Docker(docker) => {
                rt.spawn(executor::health_check(docker.clone(), h, every, tx));
            }
            Executor::Process => {}
            Executor::Unreachable => {
                let why = "unreachable when the run resumed".to_string();
                let _ = tx.send(Msg::HostLost { host: h, why });
            }
        }
    }
}

fn write_record(
    dir: &Path,
    engine: &Engine,
    s: &Scenario,
    end: SimTime,
) -> anyhow::Result<Summary> {
    let prices = crate::sim::build_prices(&engine.cluster().catalog, &SpotModel::default());
    let bills = metrics::bills(engine, &prices, end);
    let jobs = dir.join("jobs.csv");
    let f = BufWriter::new(File::create(&jobs).with_context(|| jobs.display().to_string())?);
    let shares = tables::write_jobs(f, engine, &prices, end)?;
    let inst = dir.join("instances.csv");
    let f = BufWriter::new(File::create(&inst).with_context(|| inst.display().to_string())?);
    tables::write_instances(f, engine, &bills, None)?;
    let mut summary = Summary {
        scenario: s.name.clone(),
        strategy: "live".into(),
        seed: s.seed,
        ..Summary::default()
    };
    let groups = metrics::summarize(engine, &bills, shares, &mut summary);
    crate::record::write_groups(dir, &groups)?;
    summary.sim_end_s = end.as_secs_f64();
    Ok(summary)
}

fn live_stats(
    engine: &Engine,
    d: &LiveDriver,
    header: &Header,
    inputs: u64,
    started: Instant,
    resumed: bool,
) -> LiveStats {
    let jobs = engine.jobs().len().max(1) as f64;
    let lat = sorted_ms(engine, |j| j.attempts.first()?.running_at);
    let sched = sorted_ms(engine, |j| j.attempts.first().map(|a| a.starting_at));
    let succeeded = engine
        .jobs()
        .iter()
        .filter(|j| j.status == JobStatus::Succeeded && j.array.is_none_or(|a| !is_parent(a)))
        .count() as f64;
    let wall = started.elapsed().as_secs_f64();
    LiveStats {
        run: header.run.clone(),
        hosts: header.probed.clone(),
        attempts_started: d.starts,
        inputs,
        overhead_us_per_job: d.busy.as_secs_f64() * 1e6 / jobs,
        journal_fsync_us_per_job: d.fsync.as_secs_f64() * 1e6 / jobs,
        runnable_to_running_p50_ms: pct(&lat, 0.50),
        runnable_to_running_p95_ms: pct(&lat, 0.95),
        runnable_to_starting_p50_ms: pct(&sched, 0.50),
        runnable_to_starting_p95_ms: pct(&sched, 0.95),
        jobs_per_second: succeeded / wall.max(1e-9),
        wall_seconds: wall,
        resumed,
        interrupts: d.interrupts(),
    }
}

/// Milliseconds from each job's first RUNNABLE to `to`, sorted.
fn sorted_ms(
    engine: &Engine,
    to: impl Fn(&crate::engine::JobRecord) -> Option<SimTime>,
) -> Vec<f64> {
    let mut v: Vec<f64> = engine
        .jobs()
        .iter()
        .filter_map(|j| Some(to(j)?.0.saturating_sub(j.runnable_at?.0) as f64))
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

fn is_parent(a: crate::engine::ArrayLink) -> bool {
    matches!(a, crate::engine::ArrayLink::Parent { .. })
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn load(
    scenario: &Path,
    trace: Option<&Path>,
) -> anyhow::Result<(Scenario, crate::input::JobDefinitions)> {
    Ok(crate::input::load_scenario_with_definitions(
        scenario, trace,
    )?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn abs(p: &Path) -> anyhow::Result<PathBuf> {
    p.canonicalize().with_context(|| p.display().to_string())
}

/// Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]`.
fn docker_safe(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if t.is_empty() {
        "run".into()
    } else {
        t
    }
}

/// The instance type standing for a probed host (`<compute environment>/<host>`).
pub fn host_type(cluster: &crate::model::Cluster, p: &ProbedHost) -> Option<InstanceTypeId> {
    cluster
        .catalog
        .find(&format!("{}/{}", p.compute_environment, p.name))
}
