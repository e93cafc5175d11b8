//! The report of a sweep: cost against p95 wait and against makespan, with Pareto fronts.

use super::charts::{render, Chart, Scatter, ScatterPoint};
use super::html::{write_index, Figure, HtmlTable};
use std::path::Path;

/// One configuration of a sweep, with its Pareto flags (computed by the caller).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepPoint {
    /// Name of the configuration.
    pub label: String,
    /// Mean cost, USD.
    pub cost_usd: f64,
    /// 95% confidence interval of the cost, USD.
    pub cost_ci95: (f64, f64),
    /// p95 queue wait, seconds.
    pub wait_p95_s: f64,
    /// Makespan, seconds.
    pub makespan_s: f64,
    /// On the cost/wait Pareto front.
    pub front_cost_wait: bool,
    /// On the cost/makespan Pareto front.
    pub front_cost_makespan: bool,
    /// The recommended configuration.
    pub recommended: bool,
}

/// Writes `dir/charts/{pareto_wait,pareto_makespan}.svg|png` and `dir/index.html` with
/// `tables` above the charts.
pub fn write_sweep_report(
    dir: &Path,
    title: &str,
    points: &[SweepPoint],
    tables: &[HtmlTable],
) -> anyhow::Result<()> {
    let charts_dir = dir.join("charts");
    let wait = scatter(
        points,
        "Cost versus p95 queue wait",
        "p95 queue wait (s)",
        |p| (p.wait_p95_s, p.front_cost_wait),
    );
    let makespan = scatter(points, "Cost versus makespan", "makespan (s)", |p| {
        (p.makespan_s, p.front_cost_makespan)
    });
    let note = "Each point is a configuration (horizontal bar: 95% interval of its cost); \
                solid points joined by the staircase are the Pareto front (nothing is both \
                cheaper and better), faint ones are dominated; the ring marks the \
                recommendation.";
    let figures = vec![
        Figure {
            chart: render(&wait, &charts_dir, "pareto_wait")?,
            caption: note.to_string(),
        },
        Figure {
            chart: render(&makespan, &charts_dir, "pareto_makespan")?,
            caption: note.to_string(),
        },
    ];
    let sub = format!("{} configurations; {}", points.len(), dir.display());
    write_index(dir, title, &sub, tables, &figures)
}

fn scatter(
    points: &[SweepPoint],
    title: &str,
    y_desc: &str,
    y: fn(&SweepPoint) -> (f64, bool),
) -> Chart {
    Chart::Scatter(Scatter {
        title: title.to_string(),
        x_desc: "mean cost (USD)".to_string(),
        y_desc: y_desc.to_string(),
        points: points
            .iter()
            .map(|p| {
                let (v, front) = y(p);
                ScatterPoint {
                    x: p.cost_usd,
                    x_ci: p.cost_ci95,
                    y: v,
                    front,
                    recommended: p.recommended,
                    label: p.label.clone(),
                }
            })
            .collect(),
    })
}
