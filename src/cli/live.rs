//! `flotilla live`: a scenario on real Docker hosts (or local processes on GPU hosts).

use crate::live::{self, LiveOptions, LiveRun};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `flotilla live`.
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Scenario file (TOML); its compute environments named in the hosts file become
    /// UNMANAGED ones made of those hosts. Not needed with --resume.
    #[arg(required_unless_present = "resume")]
    pub scenario: Option<PathBuf>,
    /// Hosts file (TOML): Docker endpoints (or process executors) per compute environment.
    #[arg(long, required_unless_present = "resume")]
    pub hosts: Option<PathBuf>,
    /// Job trace to use instead of the scenario's.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Run folder (default `reports/live-<run>/`); must not hold a journal yet.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Image for jobs whose job definition names none.
    #[arg(long)]
    pub image: Option<String>,
    /// Resume the run in this folder after its driver was killed: replay its journal, find
    /// its containers by name and label, collect what finished meanwhile, and go on.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["scenario", "hosts", "trace", "out"])]
    pub resume: Option<PathBuf>,
    /// Seconds between health pings of each Docker host (two failures = host lost).
    #[arg(long, default_value_t = 2.0)]
    pub health_every: f64,
    /// Print summary.json to stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Skip the charts and index.html (docs/reports.md).
    #[arg(long)]
    pub no_report: bool,
}

pub(super) fn run(a: LiveArgs) -> anyhow::Result<ExitCode> {
    let opts = LiveOptions {
        scenario: a.scenario.clone().unwrap_or_default(),
        trace: a.trace.clone(),
        hosts: a.hosts.clone().unwrap_or_default(),
        out: a.out.clone(),
        image: a.image.clone(),
        health_every: Some(Duration::from_secs_f64(a.health_every.max(0.1))),
    };
    let run = match &a.resume {
        Some(dir) => live::resume_live(dir, &opts)?,
        None => live::run_live(&opts)?,
    };
    if !a.no_report {
        crate::report::write_run_report(&run.dir)?;
    }
    super::simulate::warn_unplaceable(&run.summary);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&run.summary)?);
    } else {
        print_human(&run);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_human(r: &LiveRun) {
    let s = &r.summary;
    println!("flotilla live {} (run {})", s.scenario, r.live.run);
    println!(
        "  jobs        {} total: {} succeeded, {} failed ({} unplaceable)",
        s.jobs_total, s.jobs_succeeded, s.jobs_failed, s.jobs_unplaceable
    );
    println!(
        "  queue wait  mean {:.1} s, p50 {:.1} s, p95 {:.1} s; makespan {:.1} s",
        s.wait_mean_s, s.wait_p50_s, s.wait_p95_s, s.makespan_s
    );
    println!(
        "  hosts       {}; {} attempts started",
        r.live.hosts.len(),
        r.live.attempts_started
    );
    println!(
        "  overhead    {:.0} µs per job (engine + driver, {:.0} µs of it journal fsync); \
         RUNNABLE → running p50 {:.0} ms, p95 {:.0} ms",
        r.live.overhead_us_per_job,
        r.live.journal_fsync_us_per_job,
        r.live.runnable_to_running_p50_ms,
        r.live.runnable_to_running_p95_ms
    );
    println!("  report      {}", r.dir.display());
}
