//! `flotilla sweep`: every grid point over N seeds on all cores; `sweep.csv` with each
//! metric's mean, standard deviation and 95% confidence interval; the Pareto front printed.

use crate::plan::grid::{parse_seed_spec, Grid, Point};
use crate::plan::run::{run_tasks, Base, Task};
use crate::plan::table::{self, PointRow};
use crate::record::Summary;
use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Most runs one sweep may ask for (its summaries alone are ~1 KB each).
const MAX_RUNS: usize = 10_000_000;

/// What `sweep` and `plan` share: the scenario, its grid, seeds, threads and output.
#[derive(Args, Debug, Clone)]
pub struct SpaceArgs {
    /// Scenario file (TOML), e.g. scenarios/sweep-10k.toml.
    pub scenario: PathBuf,
    /// Grid file (TOML: `seeds` and `[[axis]]` tables; see docs/sweep.md). Default: the
    /// scenario's own `[sweep]` section.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Seeds per point: a count N (from the scenario's seed) or a range A..B; overrides the
    /// grid's `seeds`.
    #[arg(long)]
    pub seeds: Option<String>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Job trace to use instead of the scenario's (CSV, SWF or Alibaba task list; convert
    /// describe-jobs JSON with `import-aws --jobs` first).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// With an SWF trace: add an UNMANAGED compute environment of the machine its header
    /// describes (docs/swf.md).
    #[arg(long)]
    pub cluster_from_header: bool,
    /// Output folder (default: `reports/<scenario>-sweep/` or `-plan/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar (it is shown only when stderr is a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
    /// Skip malformed trace lines instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Write only the CSV and JSON files, no charts or index.html.
    #[arg(long)]
    pub no_report: bool,
}

/// `flotilla sweep`.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Scenario, grid, seeds and output.
    #[command(flatten)]
    pub space: SpaceArgs,
    /// How many of the best rows to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// A loaded sweep: base scenario, grid, seeds, thread pool, output folder.
pub(super) struct Space {
    pub base: Base,
    pub grid: Grid,
    pub seeds: Vec<u64>,
    pub pool: rayon::ThreadPool,
    pub dir: PathBuf,
    pub threads: usize,
}

impl Space {
    /// Loads the scenario and grid; `suffix` names the default output folder.
    pub fn load(a: &SpaceArgs, suffix: &str) -> anyhow::Result<Space> {
        let opts = crate::input::ReadOptions {
            skip_bad_lines: a.skip_bad_lines,
        };
        let (base, own) =
            Base::read_with(&a.scenario, a.trace.clone(), opts, a.cluster_from_header)
                .map_err(anyhow::Error::msg)?;
        let mut grid = match (&a.grid, own) {
            (Some(g), _) => Grid::read(g).map_err(anyhow::Error::msg)?,
            (None, Some(t)) => {
                let at = format!("{}: [sweep]", a.scenario.display());
                Grid::from_table(&t, &at).map_err(anyhow::Error::msg)?
            }
            (None, None) => bail!(
                "{}: no grid to sweep: pass --grid GRID.toml or add a [sweep] section \
                 (see docs/sweep.md)",
                a.scenario.display()
            ),
        };
        if let Some(s) = &a.seeds {
            grid.seeds = parse_seed_spec(s).map_err(|m| anyhow::anyhow!("--seeds: {m}"))?;
        }
        let seeds = grid.seed_list(base.seed);
        let runs = grid.points().len().saturating_mul(seeds.len());
        if runs > MAX_RUNS {
            bail!(
                "{runs} runs (points × seeds) is more than {MAX_RUNS}: use fewer seeds or axis \
                 values"
            );
        }
        // Every point loads before any run: a bad value costs nothing.
        crate::plan::run::check_points(&base, &grid, &grid.points()).map_err(anyhow::Error::msg)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(a.threads.unwrap_or(0))
            .build()?;
        let threads = pool.current_num_threads();
        let dir = a
            .out
            .clone()
            .unwrap_or_else(|| Path::new("reports").join(format!("{}-{suffix}", base.name)));
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        Ok(Space {
            base,
            grid,
            seeds,
            pool,
            dir,
            threads,
        })
    }

    /// Runs the tasks on the pool with a progress bar of `total` runs.
    pub fn run(&self, tasks: &[Task<'_>], bar: &ProgressBar) -> anyhow::Result<Vec<Vec<Summary>>> {
        let tick = || bar.inc(1);
        self.pool
            .install(|| run_tasks(&self.base, &self.grid, tasks, &tick))
            .map_err(anyhow::Error::msg)
    }
}

/// `validate`: a scenario's `[sweep]` section must be a grid (its values are checked when a
/// sweep loads each point).
pub(super) fn check_sweep_section(path: &Path) -> Result<(), crate::input::InputError> {
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let Some(src) = is_toml
        .then(|| std::fs::read_to_string(path).ok())
        .flatten()
    else {
        return Ok(());
    };
    let Ok(t) = toml::from_str::<toml::Table>(&src) else {
        return Ok(()); // the scenario check already said what is wrong
    };
    match t.get("sweep") {
        Some(toml::Value::Table(s)) => Grid::from_table(s, "[sweep]")
            .map(drop)
            .map_err(|m| crate::input::InputError::new(path, m)),
        _ => Ok(()),
    }
}

/// A progress bar on stderr when it is a terminal and not `--quiet`; hidden otherwise.
fn bar(total: u64, quiet: bool, template: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A bar counting runs, labelled `what` (see [`bar`]).
pub(super) fn progress(total: u64, quiet: bool, what: &str) -> ProgressBar {
    let b = bar(
        total,
        quiet,
        "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} runs ({per_sec}, ETA {eta})",
    );
    b.set_message(what.to_string());
    b
}

/// A bar over simulated time up to the last submission (a run then drains its queues).
pub(super) fn time_progress(last_submit_s: u64, quiet: bool) -> ProgressBar {
    bar(
        last_submit_s.max(1),
        quiet,
        "simulating [{elapsed_precise}] {wide_bar} {pos}/{len} s of submissions (ETA {eta})",
    )
}

pub(super) fn run(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let space = Space::load(&a.space, "sweep")?;
    let points = space.grid.points();
    let total = (points.len() * space.seeds.len()) as u64;
    let bar = progress(total, a.space.quiet, "sweep");
    let started = Instant::now();
    let tasks: Vec<Task> = points
        .iter()
        .map(|p| Task {
            point: p,
            seeds: space.seeds.clone(),
        })
        .collect();
    let runs = space.run(&tasks, &bar)?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let refs: Vec<&Point> = points.iter().collect();
    let rows = table::rows(&space.grid, &refs, &runs);
    write_tables(&space, &refs, &runs, &rows)?;
    if !a.space.no_report {
        super::sweep_report::write(&space, &rows, None)?;
    }
    let stats = RunStats {
        points: points.len(),
        seeds: space.seeds.len(),
        runs: total as usize,
        threads: space.threads,
        wall_seconds: wall,
    };
    if a.space.json {
        let out = serde_json::json!({
            "scenario": space.base.name,
            "stats": stats,
            "rows": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_best(&space, &rows, a.top, &stats);
    }
    Ok(ExitCode::SUCCESS)
}

/// How big a sweep was and how long it took.
#[derive(Debug, serde::Serialize)]
pub(super) struct RunStats {
    pub points: usize,
    pub seeds: usize,
    pub runs: usize,
    pub threads: usize,
    pub wall_seconds: f64,
}

/// Writes `sweep.csv` and `sweep-runs.csv`.
pub(super) fn write_tables(
    space: &Space,
    points: &[&Point],
    runs: &[Vec<Summary>],
    rows: &[PointRow],
) -> anyhow::Result<()> {
    let path = space.dir.join("sweep.csv");
    let f = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
    table::write_sweep_csv(std::io::BufWriter::new(f), &space.grid, rows)
        .with_context(|| format!("{}", path.display()))?;
    let path = space.dir.join("sweep-runs.csv");
    let f = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
    table::write_runs_csv(std::io::BufWriter::new(f), points, runs)
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

/// Prints the Pareto front of cost against p95 wait, cheapest first.
fn print_best(space: &Space, rows: &[PointRow], top: usize, st: &RunStats) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "flotilla sweep {}: {} points × {} seeds = {} runs in {:.1} s on {} threads ({:.0} runs/s)",
        space.base.name,
        st.points,
        st.seeds,
        st.runs,
        st.wall_seconds,
        st.threads,
        st.runs as f64 / st.wall_seconds.max(1e-9)
    );
    let mut front: Vec<&PointRow> = rows.iter().filter(|r| r.pareto_cost_wait).collect();
    front.sort_by(|a, b| {
        let c = |r: &PointRow| r.get("total_cost_usd").mean;
        c(a).total_cmp(&c(b)).then(a.point.cmp(&b.point))
    });
    let _ = writeln!(
        out,
        "Pareto front, cost against p95 wait ({} of {} points; mean ± 95% CI half-width):",
        front.len(),
        rows.len()
    );
    let _ = writeln!(
        out,
        "{:>5} {:>18} {:>18} {:>12} {:>8}  point",
        "#", "cost $", "wait p95 s", "makespan s", "interr."
    );
    for r in front.iter().take(top) {
        let pm = |name: &str| {
            let e = r.get(name);
            format!("{:.2} ± {:.2}", e.mean, (e.ci95_hi - e.mean).max(0.0))
        };
        let _ = writeln!(
            out,
            "{:>5} {:>18} {:>18} {:>12.0} {:>8.1}  {}",
            r.point,
            pm("total_cost_usd"),
            pm("wait_p95_s"),
            r.get("makespan_s").mean,
            r.get("spot_interruptions").mean,
            r.label
        );
    }
    let _ = writeln!(out, "table: {}", space.dir.join("sweep.csv").display());
}
