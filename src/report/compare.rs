//! The report of `flotilla compare`: allocation strategies, or scheduling policies, side by
//! side. What a comparison shows (its columns and bar panels) is defined once here, per
//! [`CompareKind`]; the command line prints and writes the same columns.

use super::charts::{render, BarPanel, BarPanels, Chart, Plot, XyChart};
use super::html::{write_index, Figure, HtmlTable};
use super::series::{cdf, TimeUnit, MAX_BUCKETS};
use crate::record::Summary;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::path::Path;

/// What a comparison sets side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareKind {
    /// Allocation strategies (`compare --strategies`): cost, p95 wait, makespan.
    Strategies,
    /// Scheduling policies (`compare --policies`): the literature's metrics
    /// (docs/metrics.md).
    Policies,
}

/// One column of a comparison: the mean over a row's runs of a summary field.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// Name in compare.csv and the JSON output (the summary.json field).
    pub key: &'static str,
    /// Header of the printed and HTML tables.
    pub header: &'static str,
    /// Decimals shown in the printed and HTML tables.
    pub decimals: usize,
    /// Reads the field.
    pub get: fn(&Summary) -> f64,
}

const fn col(
    key: &'static str,
    header: &'static str,
    decimals: usize,
    get: fn(&Summary) -> f64,
) -> Column {
    Column {
        key,
        header,
        decimals,
        get,
    }
}

const STRATEGY_COLUMNS: [Column; 7] = [
    col("total_cost_usd", "cost $", 2, |s| s.total_cost_usd),
    col("on_demand_cost_usd", "On-Demand $", 2, |s| {
        s.on_demand_cost_usd
    }),
    col("spot_cost_usd", "Spot $", 2, |s| s.spot_cost_usd),
    col("wait_p95_s", "wait p95 s", 1, |s| s.wait_p95_s),
    col("makespan_s", "makespan s", 0, |s| s.makespan_s),
    col("spot_interruptions", "interruptions", 1, |s| {
        s.spot_interruptions as f64
    }),
    col("jobs_failed", "failed", 1, |s| s.jobs_failed as f64),
];

const POLICY_COLUMNS: [Column; 12] = [
    col("wait_mean_s", "wait s", 1, |s| s.wait_mean_s),
    col("response_mean_s", "response s", 1, |s| s.response_mean_s),
    col("slowdown_mean", "slowdown", 2, |s| s.slowdown_mean),
    col("bounded_slowdown_mean", "bounded sld", 2, |s| {
        s.bounded_slowdown_mean
    }),
    col("vcpu_utilization", "utilization", 3, |s| s.vcpu_utilization),
    col("makespan_s", "makespan s", 0, |s| s.makespan_s),
    col("jobs_backfilled", "backfilled", 1, |s| {
        s.jobs_backfilled as f64
    }),
    col("user_jain_index", "Jain users", 3, |s| s.user_jain_index),
    col("total_cost_usd", "cost $", 2, |s| s.total_cost_usd),
    col("cost_per_job_usd", "$/job", 4, |s| s.cost_per_job_usd),
    col("cost_per_useful_vcpu_hour_usd", "$/useful vCPU-h", 4, |s| {
        s.cost_per_useful_vcpu_hour_usd
    }),
    col("jobs_unfinished", "unfinished", 1, |s| {
        s.jobs_unfinished as f64
    }),
];

impl CompareKind {
    /// Name of the label column: `strategy` or `policy`.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Strategies => "strategy",
            Self::Policies => "policy",
        }
    }

    /// Plural, as in the page's subtitle; also the bar chart's file name.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Strategies => "strategies",
            Self::Policies => "policies",
        }
    }

    /// The columns compared, in order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Self::Strategies => &STRATEGY_COLUMNS,
            Self::Policies => &POLICY_COLUMNS,
        }
    }

    fn index(self, key: &str) -> usize {
        self.columns()
            .iter()
            .position(|c| c.key == key)
            .unwrap_or_else(|| panic!("{key} is a column of {}", self.noun()))
    }

    /// Bar panels, top to bottom.
    fn panels(self) -> Vec<PanelSpec> {
        match self {
            Self::Strategies => vec![
                (
                    "mean cost (USD)",
                    vec![
                        ("On-Demand cost", "on_demand_cost_usd", 0),
                        ("Spot cost", "spot_cost_usd", 1),
                    ],
                    usd,
                ),
                (
                    "mean p95 queue wait (s)",
                    vec![("p95 wait", "wait_p95_s", 2)],
                    secs,
                ),
                (
                    "mean makespan (s)",
                    vec![("makespan", "makespan_s", 4)],
                    secs,
                ),
            ],
            Self::Policies => vec![
                (
                    "mean queue wait (s)",
                    vec![("mean wait", "wait_mean_s", 2)],
                    secs,
                ),
                (
                    "mean bounded slowdown (tau 10 s)",
                    vec![("bounded slowdown", "bounded_slowdown_mean", 3)],
                    two_decimals,
                ),
                (
                    "vCPU utilization (%)",
                    vec![("utilization", "vcpu_utilization", 5)],
                    percent,
                ),
                (
                    "mean makespan (s)",
                    vec![("makespan", "makespan_s", 4)],
                    secs,
                ),
                (
                    "jobs backfilled",
                    vec![("backfilled", "jobs_backfilled", 6)],
                    one_decimal,
                ),
                (
                    "mean cost per job (USD)",
                    vec![("cost per job", "cost_per_job_usd", 0)],
                    usd_per,
                ),
            ],
        }
    }
}

/// A bar panel: axis label, stacked parts as (legend, column key, colour index), value label.
type PanelSpec = (
    &'static str,
    Vec<(&'static str, &'static str, usize)>,
    fn(f64) -> String,
);

/// One line of a comparison: a strategy's or policy's means over its runs (mirrors
/// compare.csv).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompareRow {
    /// Strategy or policy label.
    pub label: String,
    /// Runs (seeds) averaged.
    pub runs: usize,
    /// Means, one per column of the comparison's [`CompareKind::columns`].
    pub means: Vec<f64>,
}

impl CompareRow {
    /// The means of `runs` for `kind`'s columns (0 for no runs).
    pub fn of(kind: CompareKind, label: &str, runs: &[&Summary]) -> Self {
        let n = runs.len().max(1) as f64;
        CompareRow {
            label: label.to_string(),
            runs: runs.len(),
            means: kind
                .columns()
                .iter()
                .map(|c| runs.iter().map(|r| (c.get)(r)).sum::<f64>() / n)
                .collect(),
        }
    }
}

/// A whole comparison: what it compares and its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareTable {
    /// What is compared.
    pub kind: CompareKind,
    /// One row per strategy or policy, in the order asked.
    pub rows: Vec<CompareRow>,
}

impl CompareTable {
    /// A row's mean of column `key`.
    pub fn value(&self, row: &CompareRow, key: &str) -> f64 {
        row.means.get(self.kind.index(key)).copied().unwrap_or(0.0)
    }

    /// compare.csv's header: the label, `runs`, the columns' keys.
    pub fn csv_header(&self) -> Vec<String> {
        let mut h = vec![self.kind.label_key().to_string(), "runs".to_string()];
        h.extend(self.kind.columns().iter().map(|c| c.key.to_string()));
        h
    }

    /// Each row as the printed and HTML tables show it.
    pub fn formatted(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                let mut v = vec![r.label.clone(), r.runs.to_string()];
                for (c, m) in self.kind.columns().iter().zip(&r.means) {
                    // Nothing billed (UNMANAGED compute environments): no cost per anything.
                    if c.key.starts_with("cost_per_") && *m <= 0.0 {
                        v.push("–".to_string());
                    } else {
                        v.push(format!("{m:.*}", c.decimals));
                    }
                }
                v
            })
            .collect()
    }

    /// The printed and HTML tables' header.
    pub fn human_header(&self) -> Vec<String> {
        let mut h = vec![self.kind.label_key().to_string(), "runs".to_string()];
        h.extend(self.kind.columns().iter().map(|c| c.header.to_string()));
        h
    }
}

/// JSON: an array of objects, fields in column order.
impl Serialize for CompareTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(CompareKind, &'a CompareRow);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let cols = self.0.columns();
                let mut m = s.serialize_map(Some(cols.len() + 2))?;
                m.serialize_entry(self.0.label_key(), &self.1.label)?;
                m.serialize_entry("runs", &self.1.runs)?;
                for (c, v) in cols.iter().zip(&self.1.means) {
                    m.serialize_entry(c.key, v)?;
                }
                m.end()
            }
        }
        s.collect_seq(self.rows.iter().map(|r| Row(self.kind, r)))
    }
}

/// Writes `dir/charts/{strategies|policies,wait_cdf}.svg|png` and `dir/index.html` for
/// `table`; `waits` holds each row's job waits (seconds), pooled over its runs.
pub fn write_compare_report(
    dir: &Path,
    scenario: &str,
    table: &CompareTable,
    waits: &[(String, Vec<f64>)],
) -> anyhow::Result<()> {
    let charts_dir = dir.join("charts");
    let kind = table.kind;
    let caption = match kind {
        CompareKind::Strategies => {
            "Means over each strategy's runs: cost split by market, 95th percentile queue \
             wait and makespan (shorter bars are better)."
        }
        CompareKind::Policies => {
            "Means over each policy's runs: queue wait, bounded slowdown (max(1, response / \
             max(run, 10 s))), vCPU utilization, makespan, jobs started by backfilling and \
             cost per job (docs/metrics.md)."
        }
    };
    let figures = vec![
        Figure {
            chart: render(&panels(table), &charts_dir, kind.noun())?,
            caption: caption.to_string(),
        },
        Figure {
            chart: render(&wait_cdf(kind, waits), &charts_dir, "wait_cdf")?,
            caption: format!(
                "Share of jobs that waited at most x, each {}'s runs pooled; a curve further \
                 up and left waits less.",
                kind.label_key()
            ),
        },
    ];
    let runs = table.rows.iter().map(|r| r.runs).max().unwrap_or(0);
    write_index(
        dir,
        &format!("flotilla compare: {scenario}"),
        &format!(
            "{} {}, {runs} run(s) each; {}",
            table.rows.len(),
            kind.noun(),
            dir.display()
        ),
        &[html_table(table)],
        &figures,
    )
}

fn usd(v: f64) -> String {
    format!("${v:.2}")
}

fn usd_per(v: f64) -> String {
    if v > 0.0 {
        format!("${v:.4}")
    } else {
        "–".to_string()
    }
}

fn secs(v: f64) -> String {
    format!("{v:.0} s")
}

fn two_decimals(v: f64) -> String {
    format!("{v:.2}")
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

fn percent(v: f64) -> String {
    format!("{v:.1}%")
}

fn panels(table: &CompareTable) -> Chart {
    let kind = table.kind;
    let values = |key: &str| -> Vec<f64> {
        let scale = if key == "vcpu_utilization" {
            100.0
        } else {
            1.0
        };
        table
            .rows
            .iter()
            .map(|r| table.value(r, key) * scale)
            .collect()
    };
    Chart::Bars(BarPanels {
        title: match kind {
            CompareKind::Strategies => "Strategies compared",
            CompareKind::Policies => "Scheduling policies compared",
        }
        .to_string(),
        names: table.rows.iter().map(|r| r.label.clone()).collect(),
        panels: kind
            .panels()
            .into_iter()
            .map(|(x_desc, parts, value_label)| BarPanel {
                x_desc: x_desc.to_string(),
                parts: parts
                    .into_iter()
                    .map(|(name, key, colour)| (name.to_string(), colour, values(key)))
                    .collect(),
                value_label,
            })
            .collect(),
    })
}

fn wait_cdf(kind: CompareKind, waits: &[(String, Vec<f64>)]) -> Chart {
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
        title: format!("Queue wait distribution per {} (CDF)", kind.label_key()),
        x_desc: format!("wait, submission to first RUNNING ({})", unit.label()),
        y_desc: "share of jobs".to_string(),
        x_max: max / unit.seconds() * 1.02,
        y_max: Some(1.0),
        plot: Plot::Lines(lines),
        note: empty.then(|| "no job ran".to_string()),
        integer_y: false,
    })
}

fn html_table(table: &CompareTable) -> HtmlTable {
    HtmlTable {
        title: format!("Means per {} (compare.csv)", table.kind.label_key()),
        header: table.human_header(),
        rows: table.formatted(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_panel_names_a_column() {
        for kind in [CompareKind::Strategies, CompareKind::Policies] {
            for (_, parts, _) in kind.panels() {
                for (_, key, _) in parts {
                    assert!(kind.columns().iter().any(|c| c.key == key), "{key}");
                }
            }
        }
    }

    #[test]
    fn rows_are_means_and_json_keeps_column_order() {
        let a = Summary {
            wait_mean_s: 10.0,
            jobs_backfilled: 3,
            ..Summary::default()
        };
        let b = Summary {
            wait_mean_s: 20.0,
            jobs_backfilled: 0,
            ..Summary::default()
        };
        let t = CompareTable {
            kind: CompareKind::Policies,
            rows: vec![CompareRow::of(CompareKind::Policies, "fifo", &[&a, &b])],
        };
        assert_eq!(t.value(&t.rows[0], "wait_mean_s"), 15.0);
        assert_eq!(t.value(&t.rows[0], "jobs_backfilled"), 1.5);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.starts_with(r#"[{"policy":"fifo","runs":2,"wait_mean_s":15.0,"#));
        assert_eq!(t.csv_header()[..3], ["policy", "runs", "wait_mean_s"]);
    }
}
