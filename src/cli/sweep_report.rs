//! The charts and index.html of a sweep or plan folder: the two Pareto scatters and the
//! table of points (mean ± 95% interval), front points first.

use super::sweep::Space;
use crate::plan::table::PointRow;
use crate::report::{write_sweep_report, HtmlTable, SweepPoint};

/// Writes the sweep's report into its folder; `best` is the recommended point, if any.
pub(super) fn write(space: &Space, rows: &[PointRow], best: Option<usize>) -> anyhow::Result<()> {
    let points: Vec<SweepPoint> = rows
        .iter()
        .map(|r| {
            let cost = r.get("total_cost_usd");
            SweepPoint {
                label: format!("{}: {}", r.point, r.label),
                cost_usd: cost.mean,
                cost_ci95: (cost.ci95_lo, cost.ci95_hi),
                wait_p95_s: r.get("wait_p95_s").mean,
                makespan_s: r.get("makespan_s").mean,
                front_cost_wait: r.pareto_cost_wait,
                front_cost_makespan: r.pareto_cost_makespan,
                recommended: best == Some(r.point),
            }
        })
        .collect();
    let title = format!(
        "flotilla sweep {}: {} points × {} seeds",
        space.base.name,
        rows.len(),
        space.seeds.len()
    );
    write_sweep_report(&space.dir, &title, &points, &[table(space, rows, best)])
}

fn table(space: &Space, rows: &[PointRow], best: Option<usize>) -> HtmlTable {
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(space.grid.axes.iter().map(|a| a.name.clone()));
    for h in [
        "runs",
        "cost $ (95% CI)",
        "p95 wait s (95% CI)",
        "makespan s",
        "Spot interruptions",
        "Pareto (cost, wait)",
    ] {
        header.push(h.into());
    }
    let mut order: Vec<&PointRow> = rows.iter().collect();
    // Recommended first, then the front by cost, then the rest by cost.
    order.sort_by(|a, b| {
        let key = |r: &PointRow| (best != Some(r.point), !r.pareto_cost_wait);
        key(a)
            .cmp(&key(b))
            .then(
                a.get("total_cost_usd")
                    .mean
                    .total_cmp(&b.get("total_cost_usd").mean),
            )
            .then(a.point.cmp(&b.point))
    });
    let ci = |r: &PointRow, m: &str, d: usize| {
        let e = r.get(m);
        format!("{:.d$} ({:.d$}–{:.d$})", e.mean, e.ci95_lo, e.ci95_hi)
    };
    let body = order
        .iter()
        .map(|r| {
            let mut row = vec![match best == Some(r.point) {
                true => format!("{} (recommended)", r.point),
                false => r.point.to_string(),
            }];
            row.extend(r.values.iter().cloned());
            row.push(r.runs.to_string());
            row.push(ci(r, "total_cost_usd", 2));
            row.push(ci(r, "wait_p95_s", 0));
            row.push(format!("{:.0}", r.get("makespan_s").mean));
            row.push(format!("{:.1}", r.get("spot_interruptions").mean));
            row.push(if r.pareto_cost_wait { "yes" } else { "" }.into());
            row
        })
        .collect();
    HtmlTable {
        title: "Grid points (means over seeds)".into(),
        header,
        rows: body,
    }
}
