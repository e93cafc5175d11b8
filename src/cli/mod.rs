//! The `flotilla` command line: clap argument structs ("low args") and one function per
//! subcommand. Only the binary uses this module (feature `cli`).

mod compare;
mod diff;
mod generate;
mod import_aws;
#[cfg(feature = "live")]
mod live;
mod plan;
mod report;
mod simulate;
mod spot_fit;
mod sweep;
mod sweep_report;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// flotilla: a discrete-event simulator and capacity planner for AWS-Batch-style batch
/// computing. Replays job traces against modelled EC2 On-Demand and Spot fleets and reports
/// cost, queue wait and makespan per allocation strategy.
#[derive(Parser, Debug)]
#[command(name = "flotilla", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one simulation of a scenario and write its report
    /// (summary.json, jobs.csv, instances.csv, events.jsonl, charts and index.html).
    Simulate(SimulateArgs),
    /// Run several allocation strategies over several seeds, side by side (in parallel).
    Compare(CompareArgs),
    /// What-if sweep: every point of a grid of scenario parameters over N seeds, on all
    /// cores; sweep.csv with each metric's mean, sd and 95% confidence interval.
    Sweep(sweep::SweepArgs),
    /// Recommend the cheapest configuration of a grid that meets p95-wait, deadline and
    /// budget targets with the asked confidence.
    Plan(Box<plan::PlanArgs>),
    /// Check scenario, trace, catalog or Spot price files without running anything.
    Validate(ValidateArgs),
    /// Write a synthetic job trace (Poisson, diurnal or bursty arrivals; log-normal, Weibull,
    /// exponential or empirical run times; a mix of sizes, GPU jobs, arrays and workflows),
    /// or one fitted to a real trace (--like).
    Generate(Box<generate::GenerateArgs>),
    /// Turn AWS CLI output (`aws batch describe-compute-environments`, `describe-job-queues`,
    /// `describe-job-definitions`, `describe-jobs`) into a scenario file and trace.
    ImportAws(ImportAwsArgs),
    /// Run a scenario on real Docker hosts (or local processes on GPU hosts) with the same
    /// engine; leaves the same record as a simulation plus a journal for --resume.
    #[cfg(feature = "live")]
    Live(live::LiveArgs),
    /// Compare two run records (simulated or live) job by job and in summary.
    Diff(diff::DiffArgs),
    /// Fit the Spot interruption model to measured traces (traces/spot/measured) and print
    /// it next to the interruption-bucket model.
    SpotFit(spot_fit::SpotFitArgs),
    /// (Re)build a run folder's charts and index.html from its files.
    Report(report::ReportArgs),
    /// List the built-in scheduling policies (`--policy`, `[scheduler] policy`) by role,
    /// with what each does.
    Policies,
}

/// `flotilla simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Scenario file (TOML), e.g. scenarios/quickstart.toml.
    pub scenario: PathBuf,
    /// Job trace to use instead of the scenario's: a trace CSV, or `aws batch describe-jobs`
    /// output (.json), whose earliest createdAt becomes the run's epoch.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Allocation strategy for every managed compute environment (BEST_FIT,
    /// BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED, SPOT_PRICE_CAPACITY_OPTIMIZED).
    /// Spot-only strategies become BEST_FIT_PROGRESSIVE on On-Demand compute environments.
    #[arg(long)]
    pub strategy: Option<String>,
    /// Scheduling policies by name, joined by `+`: queue order (fifo, fair-share, sjf, ljf),
    /// backfilling (easy-backfill, conservative-backfill), placement (first-fit, best-fit,
    /// worst-fit, gpu-pack), provisioning (an allocation strategy), e.g.
    /// `sjf+easy-backfill` or `'best-fit[headroom=0.1]'` (docs/policies.md).
    #[arg(long)]
    pub policy: Option<String>,
    /// Master seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Report directory (default: `reports/<scenario>-<strategy>-<seed>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print summary.json to stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Keep jobs that need no GPU off GPU instance types (AWS does not; the scenario's
    /// `[scheduler] keep_cpu_jobs_off_gpu_instances` does the same).
    #[arg(long)]
    pub keep_cpu_jobs_off_gpu_instances: bool,
    /// Also write jobs.json: the run's jobs shaped like `aws batch describe-jobs` output
    /// (AWS field names, times in Unix epoch milliseconds from the scenario's epoch_ms).
    #[arg(long)]
    pub aws_json: bool,
    /// Skip malformed lines of the trace and price series (counted, reported on stderr and
    /// in summary.json as `skipped_lines`) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// With an SWF trace: add an UNMANAGED compute environment of the machine its header
    /// describes (MaxProcs or MaxNodes), and a FIFO queue on it when the scenario has none
    /// (docs/swf.md).
    #[arg(long)]
    pub cluster_from_header: bool,
    /// Skip the charts and index.html (docs/reports.md).
    #[arg(long)]
    pub no_report: bool,
    /// No progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

/// `flotilla import-aws`.
#[derive(Args, Debug)]
pub struct ImportAwsArgs {
    /// `aws batch describe-compute-environments` output (JSON).
    #[arg(long)]
    pub compute_environments: PathBuf,
    /// `aws batch describe-job-queues` output (JSON).
    #[arg(long)]
    pub job_queues: PathBuf,
    /// `aws batch describe-job-definitions` output (JSON).
    #[arg(long)]
    pub job_definitions: Option<PathBuf>,
    /// `aws batch describe-scheduling-policies` output (JSON), needed when a queue has a
    /// scheduling policy.
    #[arg(long)]
    pub scheduling_policies: Option<PathBuf>,
    /// `aws batch describe-jobs` output (JSON): written as `<name>-jobs.csv` next to the
    /// scenario, which then names it as its trace.
    #[arg(long)]
    pub jobs: Option<PathBuf>,
    /// The scenario file to write (TOML).
    #[arg(long)]
    pub out: PathBuf,
    /// The scenario's name (default: the output file's name without extension).
    #[arg(long)]
    pub name: Option<String>,
}

/// `flotilla compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Comma-separated allocation strategies, e.g. BEST_FIT,SPOT_CAPACITY_OPTIMIZED.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "BEST_FIT,BEST_FIT_PROGRESSIVE,SPOT_CAPACITY_OPTIMIZED,SPOT_PRICE_CAPACITY_OPTIMIZED"
    )]
    pub strategies: Vec<String>,
    /// Comma-separated scheduling policies instead of strategies (see `simulate --policy`),
    /// e.g. `fifo,easy-backfill,sjf+conservative-backfill,'best-fit[headroom=0.1]'`; commas
    /// inside brackets belong to a policy. Compares the literature's metrics
    /// (docs/metrics.md).
    #[arg(long, conflicts_with = "strategies")]
    pub policies: Option<String>,
    /// Seeds: a count N (the scenario's seed and the N-1 after it) or a range A..B (inclusive).
    #[arg(long, default_value = "1")]
    pub seeds: String,
    /// Job trace to use instead of the scenario's: a trace CSV or describe-jobs JSON.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Output directory for compare.csv and compare-runs.csv (default:
    /// `reports/<scenario>-compare/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write every run's full report under `OUT/runs/<strategy>-<seed>/`.
    #[arg(long)]
    pub keep_runs: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip malformed lines of the trace and price series (counted, reported on stderr and
    /// in summary.json as `skipped_lines`) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// With an SWF trace: add an UNMANAGED compute environment of the machine its header
    /// describes (MaxProcs or MaxNodes), and a FIFO queue on it when the scenario has none
    /// (docs/swf.md).
    #[arg(long)]
    pub cluster_from_header: bool,
    /// Skip the charts and index.html (docs/reports.md).
    #[arg(long)]
    pub no_report: bool,
    /// No progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
}

/// `flotilla validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Files to check: scenarios (.toml), traces, catalogs or Spot price series (.csv).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Skip malformed lines of traces and price series (counted and reported) instead of
    /// stopping at the first.
    #[arg(long)]
    pub skip_bad_lines: bool,
}

/// `flotilla policies`: one line per built-in policy, grouped by role in spec order.
fn policy_list() -> String {
    use std::fmt::Write as _;
    let registry = crate::engine::policy::Registry::builtin();
    let list = registry.list();
    let mut out = String::from(
        "Combine one per role with `+`, parameters in brackets: \
         --policy 'sjf+easy-backfill+best-fit[headroom=0.1]'\n",
    );
    let width = list.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    let mut roles: Vec<&str> = Vec::new();
    for (_, role, _) in &list {
        if !roles.contains(role) {
            roles.push(role);
        }
    }
    for role in roles {
        let _ = writeln!(out, "\n{role}:");
        for (name, _, about) in list.iter().filter(|(_, r, _)| *r == role) {
            let _ = writeln!(out, "  {name:<width$}  {about}");
        }
    }
    out
}

/// Parses the command line, runs it and maps errors to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(a) => simulate::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Plan(a) => plan::run(*a),
        Command::Validate(a) => validate(a),
        Command::Generate(a) => generate::run(*a),
        Command::ImportAws(a) => import_aws::run(a),
        #[cfg(feature = "live")]
        Command::Live(a) => live::run(a),
        Command::Diff(a) => diff::run(a),
        Command::SpotFit(a) => spot_fit::run(a),
        Command::Report(a) => report::run(a),
        Command::Policies => {
            print!("{}", policy_list());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn validate(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    let opts = crate::input::ReadOptions {
        skip_bad_lines: a.skip_bad_lines,
    };
    for f in &a.files {
        match crate::input::validate_file_with_options(f, opts).and_then(|r| {
            sweep::check_sweep_section(f)?;
            Ok(r)
        }) {
            Ok((what, skipped)) => {
                println!("ok: {}: {what}", f.display());
                if let Some(r) = skipped.report() {
                    eprintln!("{}: {r}", f.display());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads a scenario and applies `--trace`, `--strategy` and `--seed`; returns it with the
/// strategy label used in report names.
///
/// A `--trace` ending in `.json` is read as `aws batch describe-jobs` output: the scenario
/// is loaded without its own trace, then given the JSON's jobs and its epoch.
///
/// `cluster_from_header`: `--cluster-from-header` (SWF traces, docs/swf.md).
pub(crate) fn prepare_swf(
    path: &std::path::Path,
    trace: Option<&std::path::Path>,
    strategy: Option<&str>,
    seed: Option<u64>,
    opts: crate::input::ReadOptions,
    cluster_from_header: bool,
) -> anyhow::Result<(crate::scenario::Scenario, String)> {
    let json = trace.filter(|t| {
        t.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    });
    let mut scenario = match json {
        Some(t) => {
            let empty = EmptyTrace::create()?;
            let (mut s, _) =
                crate::input::load_scenario_with_options(path, Some(empty.path()), opts)?;
            let (jobs, epoch_ms) = crate::input::aws::load_jobs_json(t, &s.cluster)?;
            s.trace = jobs;
            s.trace_path = t.to_path_buf();
            s.epoch_ms = epoch_ms;
            s.sort_trace();
            s
        }
        None => crate::input::load_scenario_swf(path, trace, opts, cluster_from_header)?.0,
    };
    if let Some(r) = scenario.skipped_lines.report() {
        eprintln!("{r}");
    }
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    for n in &scenario.notes {
        eprintln!("note: {n}");
    }
    let label = match strategy {
        Some(s) => {
            let s: crate::model::AllocationStrategy = s.parse().map_err(anyhow::Error::msg)?;
            scenario.apply_strategy(s);
            s.as_str().to_string()
        }
        None => "scenario".to_string(),
    };
    Ok((scenario, label))
}

/// Sets the scenario's scheduling policies from `--policy` text (checked against the
/// built-ins); returns a label for file names (`sjf-easy-backfill`).
pub(crate) fn apply_policy(
    scenario: &mut crate::scenario::Scenario,
    text: &str,
) -> anyhow::Result<String> {
    let (spec, label) = check_policy(text)?;
    scenario.cluster.options.policy = spec;
    Ok(label)
}

/// `--policy` text parsed and checked against the built-ins, with its label.
pub(crate) fn check_policy(
    text: &str,
) -> anyhow::Result<(crate::engine::policy::PolicySpec, String)> {
    use crate::engine::policy::{PolicySpec, Registry};
    let spec = PolicySpec::parse(text).map_err(|m| anyhow::anyhow!("--policy {text}: {m}"))?;
    Registry::builtin()
        .resolve(&spec)
        .map_err(|m| anyhow::anyhow!("--policy {text}: {m}"))?;
    let label = policy_label(&spec);
    Ok((spec, label))
}

/// A policy spec as a file-name-safe label.
pub(crate) fn policy_label(spec: &crate::engine::policy::PolicySpec) -> String {
    let text = spec.to_string();
    let mut label: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while label.ends_with('-') {
        label.pop();
    }
    label
}

/// A trace CSV with a header and no rows, in the temporary directory, removed when dropped:
/// what a scenario is loaded with when its jobs come from elsewhere.
pub(crate) struct EmptyTrace(std::path::PathBuf);

impl EmptyTrace {
    /// Creates the file.
    pub(crate) fn create() -> anyhow::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "flotilla-empty-trace-{}-{nanos}-{}.csv",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, "job_id,submit_time_s,queue,run_time_s\n")
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(EmptyTrace(path))
    }

    /// Its path.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for EmptyTrace {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
