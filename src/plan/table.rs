//! The sweep's tables: one row per grid point with each metric's mean, standard deviation
//! and 95% confidence interval over seeds (`sweep.csv`), and one row per run
//! (`sweep-runs.csv`).

use super::grid::{Grid, Point};
use super::stats::{pareto_front, Estimate};
use crate::record::Summary;
use serde::Serialize;
use std::io::Write;

/// A metric of a run, read from its summary.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// Column stem, e.g. `total_cost_usd`.
    pub name: &'static str,
    /// Reads it.
    pub get: fn(&Summary) -> f64,
}

/// The metrics every sweep reports, in column order.
pub const METRICS: [Metric; 13] = [
    Metric {
        name: "total_cost_usd",
        get: |s| s.total_cost_usd,
    },
    Metric {
        name: "on_demand_cost_usd",
        get: |s| s.on_demand_cost_usd,
    },
    Metric {
        name: "spot_cost_usd",
        get: |s| s.spot_cost_usd,
    },
    Metric {
        name: "wait_mean_s",
        get: |s| s.wait_mean_s,
    },
    Metric {
        name: "wait_p95_s",
        get: |s| s.wait_p95_s,
    },
    Metric {
        name: "makespan_s",
        get: |s| s.makespan_s,
    },
    Metric {
        name: "vcpu_utilization",
        get: |s| s.vcpu_utilization,
    },
    Metric {
        name: "spot_interruptions",
        get: |s| s.spot_interruptions as f64,
    },
    Metric {
        name: "jobs_failed",
        get: |s| s.jobs_failed as f64,
    },
    Metric {
        name: "jobs_unfinished",
        get: |s| s.jobs_unfinished as f64,
    },
    // The scheduling literature's, for sweeps over `scheduler.policy` (docs/metrics.md).
    Metric {
        name: "response_mean_s",
        get: |s| s.response_mean_s,
    },
    Metric {
        name: "bounded_slowdown_mean",
        get: |s| s.bounded_slowdown_mean,
    },
    Metric {
        name: "jobs_backfilled",
        get: |s| s.jobs_backfilled as f64,
    },
];

/// Index of a metric in [`METRICS`].
pub fn metric(name: &str) -> usize {
    METRICS
        .iter()
        .position(|m| m.name == name)
        .expect("a metric of METRICS")
}

/// One grid point summarised over its runs.
#[derive(Clone, Debug, Serialize)]
pub struct PointRow {
    /// Position in the grid.
    pub point: usize,
    /// `name=value …`.
    pub label: String,
    /// The value label on each axis.
    pub values: Vec<String>,
    /// Runs summarised.
    pub runs: usize,
    /// One estimate per [`METRICS`] entry.
    pub estimates: Vec<Estimate>,
    /// Not beaten on both mean cost and mean p95 wait by another point.
    pub pareto_cost_wait: bool,
    /// Not beaten on both mean cost and mean makespan.
    pub pareto_cost_makespan: bool,
}

impl PointRow {
    /// The estimate of the metric named `name`.
    pub fn get(&self, name: &str) -> &Estimate {
        &self.estimates[metric(name)]
    }
}

/// Summarises each point's runs (`runs[k]` belongs to `points[k]`) and marks the fronts.
pub fn rows(grid: &Grid, points: &[&Point], runs: &[Vec<Summary>]) -> Vec<PointRow> {
    let mut rows: Vec<PointRow> = points
        .iter()
        .zip(runs)
        .map(|(p, r)| PointRow {
            point: p.index,
            label: grid.label(p),
            values: grid.values_of(p).map(|v| v.label.clone()).collect(),
            runs: r.len(),
            estimates: METRICS
                .iter()
                .map(|m| Estimate::of(&r.iter().map(m.get).collect::<Vec<_>>()))
                .collect(),
            pareto_cost_wait: false,
            pareto_cost_makespan: false,
        })
        .collect();
    mark_fronts(&mut rows, &[]);
    rows
}

/// Sets the Pareto flags of `rows`, counting only the rows whose `eligible` entry is true
/// (all when `eligible` is empty): a point the search dropped after a few screening runs has
/// rough means and must neither join nor shape a front.
pub fn mark_fronts(rows: &mut [PointRow], eligible: &[bool]) {
    let ok = |k: usize| eligible.get(k).copied().unwrap_or(true);
    let keep: Vec<usize> = (0..rows.len()).filter(|&k| ok(k)).collect();
    let pair = |other: &str| -> Vec<(f64, f64)> {
        keep.iter()
            .map(|&k| (rows[k].get("total_cost_usd").mean, rows[k].get(other).mean))
            .collect()
    };
    let (fw, fm) = (
        pareto_front(&pair("wait_p95_s")),
        pareto_front(&pair("makespan_s")),
    );
    for r in rows.iter_mut() {
        r.pareto_cost_wait = false;
        r.pareto_cost_makespan = false;
    }
    for (i, &k) in keep.iter().enumerate() {
        rows[k].pareto_cost_wait = fw[i];
        rows[k].pareto_cost_makespan = fm[i];
    }
}

/// Writes `sweep.csv`: `point`, one column per axis, `runs`, then for each metric
/// `<m>_mean, <m>_sd, <m>_ci95_lo, <m>_ci95_hi`, then the two Pareto flags.
pub fn write_sweep_csv<W: Write>(out: W, grid: &Grid, rows: &[PointRow]) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(grid.axes.iter().map(|a| a.name.clone()));
    header.push("runs".into());
    for m in &METRICS {
        for s in ["mean", "sd", "ci95_lo", "ci95_hi"] {
            header.push(format!("{}_{s}", m.name));
        }
    }
    header.push("pareto_cost_wait".into());
    header.push("pareto_cost_makespan".into());
    w.write_record(&header)?;
    for r in rows {
        let mut rec: Vec<String> = vec![r.point.to_string()];
        rec.extend(r.values.iter().cloned());
        rec.push(r.runs.to_string());
        for e in &r.estimates {
            for x in [e.mean, e.sd, e.ci95_lo, e.ci95_hi] {
                rec.push(fmt(x));
            }
        }
        rec.push(r.pareto_cost_wait.to_string());
        rec.push(r.pareto_cost_makespan.to_string());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `sweep-runs.csv`: one row per run (`point, seed`, then each metric).
pub fn write_runs_csv<W: Write>(
    out: W,
    points: &[&Point],
    runs: &[Vec<Summary>],
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["point".to_string(), "seed".to_string()];
    header.extend(METRICS.iter().map(|m| m.name.to_string()));
    w.write_record(&header)?;
    for (p, rs) in points.iter().zip(runs) {
        for s in rs {
            let mut rec = vec![p.index.to_string(), s.seed.to_string()];
            rec.extend(METRICS.iter().map(|m| fmt((m.get)(s))));
            w.write_record(&rec)?;
        }
    }
    w.flush()?;
    Ok(())
}

/// Six decimals: enough for micro-dollars and milliseconds, stable across machines.
fn fmt(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x:.6}")
    }
}
