//! The report of `flotilla compare`: strategies side by side.

use super::charts::{render, BarPanel, BarPanels, Chart, Plot, XyChart};
use super::html::{write_index, Figure, HtmlTable};
use super::series::{cdf, TimeUnit, MAX_BUCKETS};
use std::path::Path;

/// One strategy's line of the comparison: means over its runs (mirrors compare.csv).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StrategyRow {
    /// Allocation strategy.
    pub strategy: String,
    /// Runs (seeds) averaged.
    pub runs: usize,
    /// Mean total cost, USD.
    pub total_cost_usd: f64,
    /// Mean On-Demand cost, USD.
    pub on_demand_cost_usd: f64,
    /// Mean Spot cost, USD.
    pub spot_cost_usd: f64,
    /// Mean p95 queue wait, seconds.
    pub wait_p95_s: f64,
    /// Mean makespan, seconds.
    pub makespan_s: f64,
    /// Mean Spot interruptions.
    pub spot_interruptions: f64,
    /// Mean failed jobs.
    pub jobs_failed: f64,
}

/// Writes `dir/charts/{strategies,wait_cdf}.svg|png` and `dir/index.html` for `rows`;
/// `waits` holds each strategy's job waits (seconds), pooled over its runs.
pub fn write_compare_report(
    dir: &Path,
    scenario: &str,
    rows: &[StrategyRow],
    waits: &[(String, Vec<f64>)],
) -> anyhow::Result<()> {
    let charts_dir = dir.join("charts");
    let figures = vec![
        Figure {
            chart: render(&strategy_panels(rows), &charts_dir, "strategies")?,
            caption: "Means over each strategy's runs: cost split by market, 95th percentile \
                      queue wait and makespan (shorter bars are better)."
                .to_string(),
        },
        Figure {
            chart: render(&wait_cdf(waits), &charts_dir, "wait_cdf")?,
            caption: "Share of jobs that waited at most x, each strategy's runs pooled; a curve \
                      further up and left waits less."
                .to_string(),
        },
    ];
    let runs = rows.iter().map(|r| r.runs).max().unwrap_or(0);
    write_index(
        dir,
        &format!("flotilla compare: {scenario}"),
        &format!(
            "{} strategies, {runs} run(s) each; {}",
            rows.len(),
            dir.display()
        ),
        &[table(rows)],
        &figures,
    )
}

fn usd(v: f64) -> String {
    format!("${v:.2}")
}

fn secs(v: f64) -> String {
    format!("{v:.0} s")
}

fn strategy_panels(rows: &[StrategyRow]) -> Chart {
    let col = |f: fn(&StrategyRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    Chart::Bars(BarPanels {
        title: "Strategies compared".to_string(),
        names: rows.iter().map(|r| r.strategy.clone()).collect(),
        panels: vec![
            BarPanel {
                x_desc: "mean cost (USD)".to_string(),
                parts: vec![
                    (
                        "On-Demand cost".to_string(),
                        0,
                        col(|r| r.on_demand_cost_usd),
                    ),
                    ("Spot cost".to_string(), 1, col(|r| r.spot_cost_usd)),
                ],
                value_label: usd,
            },
            BarPanel {
                x_desc: "mean p95 queue wait (s)".to_string(),
                parts: vec![("p95 wait".to_string(), 2, col(|r| r.wait_p95_s))],
                value_label: secs,
            },
            BarPanel {
                x_desc: "mean makespan (s)".to_string(),
                parts: vec![("makespan".to_string(), 4, col(|r| r.makespan_s))],
                value_label: secs,
            },
        ],
    })
}

fn wait_cdf(waits: &[(String, Vec<f64>)]) -> Chart {
    let max = waits
        .iter()
        .flat_map(|w| w.1.iter().copied())
        .fold(0.0, f64::max);
    let unit = TimeUnit::for_span(max);
    let lines: Vec<(String, Vec<(f64, f64)>)> = waits
        .iter()
        .map(|(s, w)| {
            let pts = cdf(w, MAX_BUCKETS)
                .into_iter()
                .map(|(x, y)| (x / unit.seconds(), y))
                .collect();
            (s.clone(), pts)
        })
        .collect();
    let empty = lines.iter().all(|l| l.1.is_empty());
    Chart::Xy(XyChart {
        title: "Queue wait distribution per strategy (CDF)".to_string(),
        x_desc: format!("wait, submission to first RUNNING ({})", unit.label()),
        y_desc: "share of jobs".to_string(),
        x_max: max / unit.seconds() * 1.02,
        y_max: Some(1.0),
        plot: Plot::Lines(lines),
        note: empty.then(|| "no job ran".to_string()),
        integer_y: false,
    })
}

fn table(rows: &[StrategyRow]) -> HtmlTable {
    HtmlTable {
        title: "Means per strategy (compare.csv)".to_string(),
        header: [
            "strategy",
            "runs",
            "cost USD",
            "On-Demand USD",
            "Spot USD",
            "wait p95 s",
            "makespan s",
            "interruptions",
            "failed jobs",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.strategy.clone(),
                    r.runs.to_string(),
                    format!("{:.2}", r.total_cost_usd),
                    format!("{:.2}", r.on_demand_cost_usd),
                    format!("{:.2}", r.spot_cost_usd),
                    format!("{:.1}", r.wait_p95_s),
                    format!("{:.0}", r.makespan_s),
                    format!("{:.1}", r.spot_interruptions),
                    format!("{:.1}", r.jobs_failed),
                ]
            })
            .collect(),
    }
}
