//! Runs grid points over seeds on a rayon pool: each run single-threaded, results returned
//! in (point, seed) order whatever the thread count, so tables built from them are
//! byte-identical with 1 or N threads.

use super::grid::{Grid, Point, Setting};
use crate::input::ReadOptions;
use crate::model::SimTime;
use crate::record::Summary;
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use toml::Table;

/// The scenario a sweep starts from: its file, its TOML without `[sweep]`, and how to load it.
#[derive(Clone, Debug)]
pub struct Base {
    /// The scenario file (relative paths in it start from its folder).
    pub path: PathBuf,
    /// Its TOML, `[sweep]` removed.
    pub doc: Table,
    /// `--trace`, replacing the scenario's trace.
    pub trace: Option<PathBuf>,
    /// Reader options (`--skip-bad-lines`).
    pub opts: ReadOptions,
    /// `--cluster-from-header`: run an SWF trace on the machine its header describes.
    pub cluster_from_header: bool,
    /// The scenario's name and seed (the first seed of a seed count).
    pub name: String,
    /// Master seed of the scenario.
    pub seed: u64,
}

impl Base {
    /// Reads `path`, returning the base and the scenario's own `[sweep]` table if any.
    pub fn read(
        path: &Path,
        trace: Option<PathBuf>,
        opts: ReadOptions,
    ) -> Result<(Base, Option<Table>), String> {
        Base::read_with(path, trace, opts, false)
    }

    /// [`Base::read`] with `--cluster-from-header` (an SWF trace's own machine).
    pub fn read_with(
        path: &Path,
        trace: Option<PathBuf>,
        opts: ReadOptions,
        cluster_from_header: bool,
    ) -> Result<(Base, Option<Table>), String> {
        if let Some(t) = trace.as_ref().filter(|t| {
            t.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        }) {
            return Err(format!(
                "--trace {}: describe-jobs JSON cannot be swept directly; turn it into a trace \
                 CSV with `flotilla import-aws ... --jobs {}` and pass that",
                t.display(),
                t.display()
            ));
        }
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the scenario: {e}", path.display()))?;
        // Loading the scenario once checks it (with the file's own line numbers) before any
        // grid value is written in.
        let (s, _) = crate::input::load_scenario_text(
            path,
            &src,
            trace.as_deref(),
            opts,
            cluster_from_header,
        )
        .map_err(|e| e.to_string())?;
        let mut doc: Table =
            toml::from_str(&src).map_err(|e| format!("{}: {e}", path.display()))?;
        let sweep = match doc.remove("sweep") {
            None => None,
            Some(toml::Value::Table(t)) => Some(t),
            Some(_) => return Err(format!("{}: `sweep` must be a table", path.display())),
        };
        let base = Base {
            path: path.to_path_buf(),
            doc,
            trace,
            opts,
            cluster_from_header,
            name: s.name,
            seed: s.seed,
        };
        Ok((base, sweep))
    }

    /// The scenario of one grid point (its seed is the scenario's; runs set their own).
    pub fn load_point(&self, grid: &Grid, p: &Point) -> Result<Scenario, String> {
        let at = || format!("grid point {} ({})", p.index, grid.label(p));
        let mut doc = self.doc.clone();
        for v in grid.values_of(p) {
            for s in &v.settings {
                if let Setting::Field(path, value) = s {
                    path.set(&mut doc, value)
                        .map_err(|m| format!("{}: `{path}`: {m}", at()))?;
                }
            }
        }
        let text = toml::to_string(&doc).map_err(|e| format!("{}: {e}", at()))?;
        let (mut s, _) = crate::input::load_scenario_text(
            &self.path,
            &text,
            self.trace.as_deref(),
            self.opts,
            self.cluster_from_header,
        )
        .map_err(|e| {
            format!(
                "{}: {e}\n(line numbers refer to the scenario with this point's values written in)",
                at()
            )
        })?;
        for v in grid.values_of(p) {
            for setting in &v.settings {
                match setting {
                    Setting::Strategy(a) => s.apply_strategy(*a),
                    Setting::ArrivalRateScale(f) => scale_arrivals(&mut s, *f),
                    Setting::Field(..) => {}
                }
            }
        }
        Ok(s)
    }
}

/// Arrival rate × `factor`: every submit time divided by it; how long after its submission a
/// job is cancelled or terminated is kept (the workload comes faster, each job is the same).
pub fn scale_arrivals(s: &mut Scenario, factor: f64) {
    for j in &mut s.trace {
        let old = j.submit;
        let new = SimTime((old.0 as f64 / factor).round() as u64);
        let shift = |t: SimTime| new + t.saturating_since(old);
        j.cancel_at = j.cancel_at.map(shift);
        j.terminate_at = j.terminate_at.map(shift);
        j.submit = new;
    }
    // Division is monotone, so the order by submit time holds; ties stay in file order.
    debug_assert!(s.trace.windows(2).all(|w| w[0].submit <= w[1].submit));
}

/// The label a run's summary carries: the point's strategy when the grid sets one.
fn strategy_label(grid: &Grid, p: &Point) -> String {
    grid.values_of(p)
        .flat_map(|v| v.settings.iter())
        .find_map(|s| match s {
            Setting::Strategy(a) => Some(a.as_str().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "scenario".to_string())
}

/// Loads every point once (in parallel, dropping each at once) so that a bad value stops the
/// sweep before any run, with the first bad point in grid order.
pub fn check_points(base: &Base, grid: &Grid, points: &[Point]) -> Result<(), String> {
    let results: Vec<Result<(), String>> = points
        .par_iter()
        .map(|p| base.load_point(grid, p).map(drop))
        .collect();
    results.into_iter().collect()
}

/// One unit of work: a point and the seeds to run it with.
pub struct Task<'a> {
    /// The point.
    pub point: &'a Point,
    /// Its seeds, in order.
    pub seeds: Vec<u64>,
}

/// Runs every task; returns each task's summaries in seed order, tasks in the given order.
/// `tick` is called once per finished run (progress bars). A point whose scenario cannot be
/// loaded stops the sweep with the first such error in task order.
pub fn run_tasks(
    base: &Base,
    grid: &Grid,
    tasks: &[Task<'_>],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Vec<Summary>>, String> {
    let results: Vec<Result<Vec<Summary>, String>> = tasks
        .par_iter()
        .map(|t| {
            let scenario = base.load_point(grid, t.point)?;
            let label = strategy_label(grid, t.point);
            let runs: Vec<Result<Summary, String>> = t
                .seeds
                .par_iter()
                .map(|&seed| {
                    let mut s = scenario.clone();
                    s.seed = seed;
                    let run = crate::record::simulate(s, &label, None)
                        .map_err(|e| format!("point {} seed {seed}: {e}", t.point.index))?;
                    tick();
                    Ok(run.summary)
                })
                .collect();
            // The first error in seed order, whatever the threads did.
            runs.into_iter().collect()
        })
        .collect();
    results.into_iter().collect()
}
