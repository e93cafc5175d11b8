//! `flotilla compare`: strategies × seeds on rayon, one run per task, results sorted before
//! they are printed so the table never depends on thread count.

use super::CompareArgs;
use crate::model::AllocationStrategy;
use crate::record::{self, Summary};
use crate::report::StrategyRow;
use anyhow::Context;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Parses `--seeds`: `N` (base, base+1, … N seeds) or `A..B` (inclusive).
pub(crate) fn parse_seeds(spec: &str, base: u64) -> anyhow::Result<Vec<u64>> {
    let spec = crate::plan::grid::parse_seed_spec(spec).map_err(|m| anyhow::anyhow!("--{m}"))?;
    Ok(spec.list(base))
}

pub(super) fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let strategies: Vec<AllocationStrategy> = a
        .strategies
        .iter()
        .map(|s| s.parse().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let opts = crate::input::ReadOptions {
        skip_bad_lines: a.skip_bad_lines,
    };
    let (base, _) = super::prepare(&a.scenario, a.trace.as_deref(), None, None, opts)?;
    let seeds = parse_seeds(&a.seeds, base.seed)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("{}-compare", base.name)));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let tasks: Vec<(AllocationStrategy, u64)> = strategies
        .iter()
        .flat_map(|&s| seeds.iter().map(move |&seed| (s, seed)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()?;
    let keep = a.keep_runs.then(|| dir.join("runs"));
    let want_waits = !a.no_report;
    let bar = super::sweep::progress(tasks.len() as u64, a.quiet, "compare");
    let results: Vec<anyhow::Result<(Summary, Vec<f64>)>> = pool.install(|| {
        tasks
            .par_iter()
            .map(|&(s, seed)| {
                let r = one_run(&base, s, seed, keep.as_deref(), want_waits);
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    let (runs, waits): (Vec<Summary>, Vec<Vec<f64>>) = results
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let rows = table(&strategies, &runs);
    write_csv(&dir.join("compare.csv"), &rows)?;
    write_runs_csv(&dir.join("compare-runs.csv"), &runs)?;
    if want_waits {
        let report_rows: Vec<StrategyRow> = rows.iter().map(StrategyRow::from).collect();
        let pooled = pool_waits(&strategies, &runs, waits);
        crate::report::write_compare_report(&dir, &base.name, &report_rows, &pooled)
            .with_context(|| format!("writing the report in {}", dir.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&base.name, seeds.len(), &rows, &dir);
    }
    Ok(ExitCode::SUCCESS)
}

/// One run's summary and, when `want_waits`, its jobs' queue waits (seconds) for the report.
fn one_run(
    base: &crate::scenario::Scenario,
    strategy: AllocationStrategy,
    seed: u64,
    keep: Option<&Path>,
    want_waits: bool,
) -> anyhow::Result<(Summary, Vec<f64>)> {
    let mut scenario = base.clone();
    scenario.seed = seed;
    scenario.apply_strategy(strategy);
    let label = strategy.as_str();
    let run = match keep {
        Some(root) => {
            let dir = root.join(format!("{label}-{seed}"));
            let run = record::simulate_to_dir(scenario, label, &dir)?;
            record::write_summary(&dir, &run.summary)?;
            run
        }
        None => record::simulate(scenario, label, None)?,
    };
    let waits = if want_waits {
        run.engine
            .jobs()
            .iter()
            .filter_map(record::metrics::queue_wait)
            .map(|d| d.as_millis() as f64 / 1000.0)
            .collect()
    } else {
        Vec::new()
    };
    Ok((run.summary, waits))
}

/// Each strategy's waits, its runs' pooled (runs come in task order, so this is
/// deterministic).
fn pool_waits(
    strategies: &[AllocationStrategy],
    runs: &[Summary],
    waits: Vec<Vec<f64>>,
) -> Vec<(String, Vec<f64>)> {
    let mut pooled: Vec<(String, Vec<f64>)> = strategies
        .iter()
        .map(|s| (s.as_str().to_string(), Vec::new()))
        .collect();
    for (r, w) in runs.iter().zip(waits) {
        if let Some(p) = pooled.iter_mut().find(|p| p.0 == r.strategy) {
            p.1.extend(w);
        }
    }
    pooled
}

impl From<&Row> for StrategyRow {
    fn from(r: &Row) -> Self {
        StrategyRow {
            strategy: r.strategy.clone(),
            runs: r.runs,
            total_cost_usd: r.total_cost_usd,
            on_demand_cost_usd: r.on_demand_cost_usd,
            spot_cost_usd: r.spot_cost_usd,
            wait_p95_s: r.wait_p95_s,
            makespan_s: r.makespan_s,
            spot_interruptions: r.spot_interruptions,
            jobs_failed: r.jobs_failed,
        }
    }
}

/// One line of the comparison: means over seeds.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Row {
    strategy: String,
    runs: usize,
    total_cost_usd: f64,
    on_demand_cost_usd: f64,
    spot_cost_usd: f64,
    wait_p95_s: f64,
    makespan_s: f64,
    spot_interruptions: f64,
    jobs_failed: f64,
}

fn table(strategies: &[AllocationStrategy], runs: &[Summary]) -> Vec<Row> {
    strategies
        .iter()
        .map(|s| {
            let mine: Vec<&Summary> = runs.iter().filter(|r| r.strategy == s.as_str()).collect();
            let n = mine.len().max(1) as f64;
            let mean = |f: fn(&Summary) -> f64| mine.iter().map(|r| f(r)).sum::<f64>() / n;
            Row {
                strategy: s.as_str().to_string(),
                runs: mine.len(),
                total_cost_usd: mean(|r| r.total_cost_usd),
                on_demand_cost_usd: mean(|r| r.on_demand_cost_usd),
                spot_cost_usd: mean(|r| r.spot_cost_usd),
                wait_p95_s: mean(|r| r.wait_p95_s),
                makespan_s: mean(|r| r.makespan_s),
                spot_interruptions: mean(|r| r.spot_interruptions as f64),
                jobs_failed: mean(|r| r.jobs_failed as f64),
            }
        })
        .collect()
}

fn write_csv(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    for r in rows {
        w.serialize(r)?;
    }
    w.flush()?;
    Ok(())
}

fn write_runs_csv(path: &Path, runs: &[Summary]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    w.write_record([
        "strategy",
        "seed",
        "total_cost_usd",
        "on_demand_cost_usd",
        "spot_cost_usd",
        "wait_p95_s",
        "makespan_s",
        "spot_interruptions",
        "jobs_failed",
    ])?;
    for r in runs {
        w.write_record([
            r.strategy.clone(),
            r.seed.to_string(),
            format!("{:.6}", r.total_cost_usd),
            format!("{:.6}", r.on_demand_cost_usd),
            format!("{:.6}", r.spot_cost_usd),
            format!("{:.3}", r.wait_p95_s),
            format!("{:.3}", r.makespan_s),
            r.spot_interruptions.to_string(),
            r.jobs_failed.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn print_table(scenario: &str, seeds: usize, rows: &[Row], dir: &Path) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "flotilla compare {scenario}: mean over {seeds} seed(s)"
    );
    let _ = writeln!(
        out,
        "{:<31} {:>11} {:>11} {:>11} {:>12} {:>12} {:>13} {:>7}",
        "strategy",
        "cost $",
        "On-Demand $",
        "Spot $",
        "wait p95 s",
        "makespan s",
        "interruptions",
        "failed"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<31} {:>11.2} {:>11.2} {:>11.2} {:>12.1} {:>12.0} {:>13.1} {:>7.1}",
            r.strategy,
            r.total_cost_usd,
            r.on_demand_cost_usd,
            r.spot_cost_usd,
            r.wait_p95_s,
            r.makespan_s,
            r.spot_interruptions,
            r.jobs_failed
        );
    }
    let _ = writeln!(out, "table: {}", dir.join("compare.csv").display());
}

#[cfg(test)]
mod tests {
    use super::parse_seeds;

    #[test]
    fn seeds_as_count_or_range() {
        assert_eq!(parse_seeds("3", 7).unwrap(), vec![7, 8, 9]);
        assert_eq!(parse_seeds("1..3", 7).unwrap(), vec![1, 2, 3]);
        assert!(parse_seeds("0", 7).is_err());
        assert!(parse_seeds("5..2", 7).is_err());
        assert!(parse_seeds("x", 7).is_err());
    }
}
