//! The report of one run folder (simulated or live): six charts and index.html.

use super::charts::{render, Chart, Plot, XyChart};
use super::html::{write_index, Figure, HtmlTable};
use super::run_data::{self, RunData};
use super::series::{cdf, top_and_other, TimeUnit, MAX_BUCKETS};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Instance type/market series drawn on their own in the fleet chart; the rest is "other".
const FLEET_SERIES: usize = 8;

/// Reads `dir`'s summary.json, jobs.csv, instances.csv and events.jsonl and writes
/// `dir/charts/*.svg|png` and `dir/index.html`; returns the files written.
pub fn write_run_report(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let (summary, order) = read_summary(&dir.join("summary.json"))?;
    let end = summary
        .get("sim_end_s")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    let data = run_data::load(dir, end)?;
    let charts_dir = dir.join("charts");
    let mut figures = Vec::new();
    for (name, chart, caption) in charts(&data) {
        figures.push(Figure {
            chart: render(&chart, &charts_dir, name)?,
            caption,
        });
    }
    let title = format!("flotilla run: {}", field(&summary, "scenario"));
    let sub = format!(
        "strategy {}, seed {}; {} in buckets of {} s",
        field(&summary, "strategy"),
        field(&summary, "seed"),
        dir.display(),
        data.buckets.0
    );
    write_index(
        dir,
        &title,
        &sub,
        &[summary_table(&summary, &order)],
        &figures,
    )?;
    Ok(written(dir, &figures))
}

/// Every file a report wrote: the charts' SVG and PNG files and index.html.
pub(crate) fn written(dir: &Path, figures: &[Figure]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in figures {
        out.push(dir.join("charts").join(format!("{}.svg", f.chart.name)));
        out.extend(f.chart.png.clone());
    }
    out.push(dir.join("index.html"));
    out
}

type Object = serde_json::Map<String, serde_json::Value>;

/// summary.json's fields and their names in the file's order (serde_json's map sorts them;
/// the file's order groups related fields).
fn read_summary(path: &Path) -> anyhow::Result<(Object, Vec<String>)> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let map: Object = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON object", path.display()))?;
    let mut order: Vec<String> = map.keys().cloned().collect();
    order.sort_by_key(|k| text.find(&format!("\"{k}\"")).unwrap_or(usize::MAX));
    Ok((map, order))
}

fn field(m: &Object, k: &str) -> String {
    match m.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "?".to_string(),
    }
}

/// summary.json as a two-column table, fields in `order`.
fn summary_table(m: &Object, order: &[String]) -> HtmlTable {
    let rows = order
        .iter()
        .filter_map(|k| m.get(k).map(|v| (k, v)))
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(f) if n.is_f64() => format!("{f:.3}"),
                    _ => n.to_string(),
                },
                serde_json::Value::Array(a) if a.is_empty() => String::new(),
                other => other.to_string(),
            };
            vec![k.clone(), v]
        })
        .collect();
    HtmlTable {
        title: "Summary (summary.json)".to_string(),
        header: vec!["field".to_string(), "value".to_string()],
        rows,
    }
}

/// Level series are drawn at bucket midpoints, in the time unit of the run's span.
fn level_points(d: &RunData, unit: TimeUnit, v: &[f64]) -> Vec<(f64, f64)> {
    v.iter()
        .enumerate()
        .map(|(k, &y)| ((d.t(k) + d.buckets.0 / 2.0) / unit.seconds(), y))
        .collect()
}

/// Running totals are drawn at bucket ends, from (0, 0).
fn total_points(d: &RunData, unit: TimeUnit, v: &[f64]) -> Vec<(f64, f64)> {
    std::iter::once((0.0, 0.0))
        .chain(
            v.iter()
                .enumerate()
                .map(|(k, &y)| (d.t(k + 1) / unit.seconds(), y)),
        )
        .collect()
}

fn charts(d: &RunData) -> Vec<(&'static str, Chart, String)> {
    let span = d.t(d.buckets.1);
    let unit = TimeUnit::for_span(span);
    let x_desc = format!("time since start ({})", unit.label());
    let x_max = span / unit.seconds();
    let xy = |title: &str, y_desc: &str, plot: Plot| XyChart {
        title: title.to_string(),
        x_desc: x_desc.clone(),
        y_desc: y_desc.to_string(),
        x_max,
        y_max: None,
        plot,
        note: None,
        integer_y: false,
    };
    vec![
        fleet_chart(
            d,
            unit,
            xy(
                "Fleet size by instance type and market",
                "instances",
                Plot::Lines(vec![]),
            ),
        ),
        vcpu_chart(
            d,
            unit,
            xy("vCPUs busy versus paid", "vCPUs", Plot::Lines(vec![])),
        ),
        queue_chart(
            d,
            unit,
            xy(
                "RUNNABLE jobs per job queue",
                "RUNNABLE jobs",
                Plot::Lines(vec![]),
            ),
        ),
        cost_chart(
            d,
            unit,
            xy(
                "Cumulative cost by market",
                "cost (USD)",
                Plot::Lines(vec![]),
            ),
        ),
        wait_chart(d),
        interruption_chart(
            d,
            unit,
            xy(
                "Spot interruptions",
                "interruptions per bucket",
                Plot::Lines(vec![]),
            ),
        ),
    ]
}

fn fleet_chart(d: &RunData, unit: TimeUnit, mut c: XyChart) -> (&'static str, Chart, String) {
    let x: Vec<f64> = level_points(d, unit, &vec![0.0; d.buckets.1])
        .into_iter()
        .map(|p| p.0)
        .collect();
    c.plot = Plot::Stacked {
        x,
        series: top_and_other(d.fleet.clone(), FLEET_SERIES),
    };
    if d.fleet.is_empty() {
        c.note = Some("no instances launched".to_string());
    }
    let caption = format!(
        "Instances alive (launched, not yet terminated; booting included), averaged over each \
         bucket and stacked by instance type and market; the {FLEET_SERIES} largest series are \
         drawn, the rest summed as \"other\"."
    );
    ("fleet", Chart::Xy(c), caption)
}

fn vcpu_chart(d: &RunData, unit: TimeUnit, mut c: XyChart) -> (&'static str, Chart, String) {
    let mut lines = Vec::new();
    if let Some(p) = &d.paid_vcpus {
        lines.push((
            "paid (instances alive)".to_string(),
            level_points(d, unit, p),
        ));
    }
    lines.push((
        "busy (attempts placed)".to_string(),
        level_points(d, unit, &d.busy_vcpus),
    ));
    let caption = if d.paid_vcpus.is_some() {
        "vCPUs of instances alive (paid for) and of job attempts placed on them (STARTING to \
         end, including attempts later lost to Spot reclaims); the gap is idle capacity."
    } else {
        "vCPUs of job attempts placed; paid vCPUs are missing because this run folder's \
         instances.csv has no vcpus column (written by an older flotilla)."
    };
    c.plot = Plot::Lines(lines);
    ("vcpus", Chart::Xy(c), caption.to_string())
}

fn queue_chart(d: &RunData, unit: TimeUnit, mut c: XyChart) -> (&'static str, Chart, String) {
    let lines: Vec<(String, Vec<(f64, f64)>)> = d
        .queue_depth
        .iter()
        .map(|(q, v)| (q.clone(), level_points(d, unit, v)))
        .collect();
    let names: Vec<&str> = d.queue_depth.iter().map(|q| q.0.as_str()).collect();
    c.plot = Plot::Lines(lines);
    let caption = format!(
        "Jobs waiting RUNNABLE, averaged over each bucket, per job queue ({}); a retried job \
         waits again between attempts.",
        names.join(", ")
    );
    ("queue", Chart::Xy(c), caption)
}

fn cost_chart(d: &RunData, unit: TimeUnit, mut c: XyChart) -> (&'static str, Chart, String) {
    c.plot = Plot::Lines(
        d.cost
            .iter()
            .map(|(m, v)| (m.clone(), total_points(d, unit, v)))
            .collect(),
    );
    let caption = "Money spent so far per market. Each instance's bill is spread evenly over \
                   its billed time: exact for On-Demand, approximate for Spot (its price moves); \
                   the end values are summary.json's totals.";
    ("cost", Chart::Xy(c), caption.to_string())
}

fn wait_chart(d: &RunData) -> (&'static str, Chart, String) {
    let max = d.waits.iter().copied().fold(0.0, f64::max);
    let unit = TimeUnit::for_span(max);
    let pts: Vec<(f64, f64)> = cdf(&d.waits, MAX_BUCKETS)
        .into_iter()
        .map(|(x, y)| (x / unit.seconds(), y))
        .collect();
    let c = XyChart {
        title: "Queue wait distribution (CDF)".to_string(),
        x_desc: format!("wait, submission to first RUNNING ({})", unit.label()),
        y_desc: "share of jobs".to_string(),
        x_max: (max / unit.seconds()) * 1.02,
        y_max: Some(1.0),
        note: pts.is_empty().then(|| "no job ran".to_string()),
        integer_y: false,
        plot: Plot::Lines(vec![("this run".to_string(), pts)]),
    };
    let caption = format!(
        "Share of jobs that waited at most x, over the {} jobs that ran.",
        d.waits.len()
    );
    ("wait_cdf", Chart::Xy(c), caption)
}

fn interruption_chart(
    d: &RunData,
    unit: TimeUnit,
    mut c: XyChart,
) -> (&'static str, Chart, String) {
    let total: f64 = d.interruptions.iter().sum();
    c.integer_y = true;
    c.plot = Plot::Bars {
        x: (0..d.buckets.1).map(|k| d.t(k) / unit.seconds()).collect(),
        width: d.buckets.0 / unit.seconds(),
        values: d.interruptions.clone(),
        name: "interruptions".to_string(),
    };
    if total == 0.0 {
        c.note = Some("no interruptions".to_string());
        c.y_max = Some(1.0);
    }
    let caption = format!(
        "Spot instances reclaimed per bucket of {} s ({total:.0} in all).",
        d.buckets.0
    );
    ("interruptions", Chart::Xy(c), caption)
}
