//! What a run leaves behind: `summary.json`, `jobs.csv`, `instances.csv` and `events.jsonl`
//! in one directory. Reports read only these.

pub mod aws_json;
pub mod diff;
pub mod events;
pub mod literature;
pub mod metrics;
pub mod tables;

pub use events::EventLog;
pub use metrics::{Bill, Summary};

use crate::driver::{self, LoopStats, NoObserver};
use crate::engine::Engine;
use crate::scenario::Scenario;
use crate::sim::SimDriver;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A finished simulated run: the engine's records, the world's, and the summary.
pub struct SimRun {
    /// The engine, holding every job and instance record.
    pub engine: Engine,
    /// The world, holding prices.
    pub driver: SimDriver,
    /// Loop counters.
    pub stats: LoopStats,
    /// Per-instance bills, by instance id.
    pub bills: Vec<Bill>,
    /// Sum of the jobs' cost shares.
    pub job_shares: crate::model::MicroUsd,
    /// The summary (`wall_seconds` is left for the caller, who owns the clock).
    pub summary: Summary,
    /// Per-user and per-share rows (`users.csv`, `shares.csv`).
    pub groups: literature::Groups,
}

/// Runs `scenario` in the simulator, writing every input and command to `events` if given.
/// `strategy` labels the summary (the scenario must already carry it).
pub fn simulate(
    scenario: Scenario,
    strategy: &str,
    events: Option<&mut dyn Write>,
) -> io::Result<SimRun> {
    simulate_with_progress(scenario, strategy, events, None)
}

/// Called now and then with the simulated time reached (progress bars).
pub type ProgressFn<'a> = &'a mut dyn FnMut(crate::model::SimTime);

/// [`simulate`], calling `progress` every few thousand inputs.
pub fn simulate_with_progress(
    scenario: Scenario,
    strategy: &str,
    events: Option<&mut dyn Write>,
    progress: Option<ProgressFn<'_>>,
) -> io::Result<SimRun> {
    simulate_inner(scenario, strategy, events, progress, None)
}

/// [`simulate`] with policies of the caller's own (built from a [`Registry`] a user added
/// to, see `examples/custom_policy.rs`) instead of the built-ins the scenario names.
///
/// [`Registry`]: crate::engine::policy::Registry
pub fn simulate_with_policies(
    scenario: Scenario,
    label: &str,
    events: Option<&mut dyn Write>,
    policies: crate::engine::policy::Policies,
) -> io::Result<SimRun> {
    simulate_inner(scenario, label, events, None, Some(policies))
}

fn simulate_inner(
    scenario: Scenario,
    strategy: &str,
    events: Option<&mut dyn Write>,
    progress: Option<ProgressFn<'_>>,
    policies: Option<crate::engine::policy::Policies>,
) -> io::Result<SimRun> {
    let mut summary = Summary {
        scenario: scenario.name.clone(),
        strategy: strategy.to_string(),
        seed: scenario.seed,
        skipped_lines: scenario.skipped_lines.count,
        ..Summary::default()
    };
    let mut scenario = scenario;
    scenario.cluster.add_unmanaged_host_types();
    let mut engine = match policies {
        Some(p) => Engine::with_policies(scenario.cluster.clone(), p),
        None => Engine::new(scenario.cluster.clone()),
    };
    engine.reserve_jobs(scenario.trace.len());
    let mut driver = SimDriver::new(scenario);
    let mut nothing = |_| {};
    let tick = progress.unwrap_or(&mut nothing);
    let stats = match events {
        Some(w) => {
            let mut log = EventLog::new(engine.cluster(), w);
            let mut obs = Ticking::new(&mut log, tick);
            let stats = run_loop(&mut engine, &mut driver, &mut obs);
            log.finish()?;
            stats
        }
        None => run_loop(
            &mut engine,
            &mut driver,
            &mut Ticking::new(NoObserver, tick),
        ),
    };
    let end = stats.end;
    let bills = metrics::bills(&engine, driver.prices(), end);
    let job_shares = (0..engine.jobs().len())
        .map(|j| metrics::job_cost_share(&engine, driver.prices(), j, end))
        .sum();
    let groups = metrics::summarize(&engine, &bills, job_shares, &mut summary);
    summary.events_processed = stats.events_processed;
    summary.sim_end_s = end.as_secs_f64();
    Ok(SimRun {
        engine,
        driver,
        stats,
        bills,
        job_shares,
        summary,
        groups,
    })
}

fn run_loop<O: driver::Observer>(
    engine: &mut Engine,
    sim: &mut SimDriver,
    obs: &mut O,
) -> LoopStats {
    match driver::run(engine, sim, obs) {
        Ok(s) => s,
        Err(never) => match never {},
    }
}

/// Passes everything to `inner` and reports the simulated time every 8,192 inputs.
struct Ticking<'a, O> {
    inner: O,
    tick: ProgressFn<'a>,
    inputs: u32,
}

impl<'a, O> Ticking<'a, O> {
    fn new(inner: O, tick: ProgressFn<'a>) -> Self {
        Ticking {
            inner,
            tick,
            inputs: 0,
        }
    }
}

impl<O: driver::Observer> driver::Observer for Ticking<'_, O> {
    fn input(&mut self, now: crate::model::SimTime, input: &crate::engine::Input) {
        self.inputs = self.inputs.wrapping_add(1);
        if self.inputs % 8192 == 0 {
            (self.tick)(now);
        }
        self.inner.input(now, input);
    }
    fn command(&mut self, now: crate::model::SimTime, command: &crate::engine::Command) {
        self.inner.command(now, command);
    }
}

impl<O: driver::Observer> driver::Observer for &mut O {
    fn input(&mut self, now: crate::model::SimTime, input: &crate::engine::Input) {
        (**self).input(now, input);
    }
    fn command(&mut self, now: crate::model::SimTime, command: &crate::engine::Command) {
        (**self).command(now, command);
    }
}

/// The default report directory of a run: `reports/<scenario>-<strategy>-<seed>`.
pub fn default_dir(scenario: &str, strategy: &str, seed: u64) -> PathBuf {
    PathBuf::from("reports").join(format!("{scenario}-{strategy}-{seed}"))
}

/// Runs `scenario` and writes its whole report into `dir` (created if needed).
pub fn simulate_to_dir(scenario: Scenario, strategy: &str, dir: &Path) -> io::Result<SimRun> {
    simulate_to_dir_with_progress(scenario, strategy, dir, None)
}

/// [`simulate_to_dir`] with a progress callback (see [`simulate_with_progress`]).
pub fn simulate_to_dir_with_progress(
    scenario: Scenario,
    strategy: &str,
    dir: &Path,
    progress: Option<ProgressFn<'_>>,
) -> io::Result<SimRun> {
    fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
    let path = dir.join("events.jsonl");
    let file = File::create(&path).map_err(|e| with_path(e, &path))?;
    let mut events = BufWriter::with_capacity(1 << 20, file);
    let run = simulate_with_progress(scenario, strategy, Some(&mut events), progress)?;
    events.flush()?;
    write_tables(dir, &run)?;
    Ok(run)
}

/// Writes `jobs.csv`, `instances.csv`, `users.csv` and `shares.csv` of a finished run.
pub fn write_tables(dir: &Path, run: &SimRun) -> io::Result<()> {
    let jobs = dir.join("jobs.csv");
    let f = BufWriter::new(File::create(&jobs).map_err(|e| with_path(e, &jobs))?);
    tables::write_jobs(f, &run.engine, run.driver.prices(), run.stats.end)?;
    let inst = dir.join("instances.csv");
    let f = BufWriter::new(File::create(&inst).map_err(|e| with_path(e, &inst))?);
    let zones = run.driver.instance_zones();
    tables::write_instances(f, &run.engine, &run.bills, zones.as_deref())?;
    write_groups(dir, &run.groups)
}

/// Writes `users.csv` and `shares.csv`: each user's and share's mean wait, response,
/// slowdown and bounded slowdown ([`literature::groups`]).
pub fn write_groups(dir: &Path, groups: &literature::Groups) -> io::Result<()> {
    for (file, key, rows) in [
        ("users.csv", "user", &groups.users),
        ("shares.csv", "share", &groups.shares),
    ] {
        let path = dir.join(file);
        let f = BufWriter::new(File::create(&path).map_err(|e| with_path(e, &path))?);
        literature::write_groups(f, key, rows)?;
    }
    Ok(())
}

/// Writes `summary.json`.
pub fn write_summary(dir: &Path, summary: &Summary) -> io::Result<()> {
    let path = dir.join("summary.json");
    let text = serde_json::to_string_pretty(summary).map_err(io::Error::other)?;
    fs::write(&path, text + "\n").map_err(|e| with_path(e, &path))
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
