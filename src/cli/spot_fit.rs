//! `flotilla spot-fit`: fits the hazard-rate interruption model to measured Spot traces and
//! prints it next to the interruption-bucket model (Markdown tables; see
//! `docs/spot-measured.md`).

use crate::input::spot_trace_fit::{
    load_preemption_trace, AvailabilityFit, Counts, PreemptionFit, TraceLabel,
};
use crate::input::{load_spot_trace, SpotTrace};
use crate::model::{Catalog, SimDuration};
use clap::Args;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `flotilla spot-fit`.
#[derive(Args, Debug)]
pub struct SpotFitArgs {
    /// Measured trace files (.json) or directories searched for them, e.g.
    /// traces/spot/measured.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How the values of preemption traces are read: `missing` (instances preempted, not
    /// running: held = N − value; the data description's reading) or `held` (instances
    /// held). Availability traces are always read as instances obtainable.
    #[arg(long, default_value = "missing")]
    pub counts: String,
    /// The node count N of every file, instead of the `N-node` directory in its path.
    #[arg(long)]
    pub nodes: Option<u32>,
    /// Treat every file as this kind (`preemption` or `availability`) instead of reading it
    /// from the path.
    #[arg(long)]
    pub kind: Option<String>,
}

/// Runs `flotilla spot-fit`.
pub fn run(a: SpotFitArgs) -> anyhow::Result<ExitCode> {
    let Some(counts) = Counts::parse(&a.counts) else {
        anyhow::bail!("--counts: expected `missing` or `held`, got `{}`", a.counts);
    };
    if a.nodes == Some(0) {
        anyhow::bail!("--nodes: expected a node count ≥ 1");
    }
    if let Some(k) = a
        .kind
        .as_deref()
        .filter(|k| !matches!(*k, "preemption" | "availability"))
    {
        anyhow::bail!("--kind: expected `preemption` or `availability`, got `{k}`");
    }
    let mut files = Vec::new();
    for p in &a.paths {
        collect(p, &mut files)?;
    }
    let catalog = crate::input::default_catalog(250, SimDuration::from_secs(90));
    let mut report = Report::default();
    for f in &files {
        let label = TraceLabel::from_path(f);
        match a.kind.as_deref().or(label.kind.as_deref()) {
            Some("availability") => {
                report.availability(f, &label, &load_spot_trace(f, a.nodes)?);
            }
            Some("preemption") => {
                let held = load_preemption_trace(f, a.nodes, counts)
                    .map_err(|e| anyhow::anyhow!("{e} (--nodes N, or --counts held)"))?;
                report.preemption(f, &label, &held, &catalog);
            }
            _ => anyhow::bail!(
                "{}: cannot tell whether this is a preemption or an availability trace \
                 (no such directory in its path); pass --kind",
                f.display()
            ),
        }
    }
    print!("{}", report.render(counts, &catalog));
    Ok(ExitCode::SUCCESS)
}

/// The `.json` files under `p` (or `p` itself), in name order.
fn collect(p: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !p.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() || e.extension().is_some_and(|x| x == "json") {
            collect(&e, out)?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Report {
    preemption: String,
    pooled: BTreeMap<(String, String), Vec<PreemptionFit>>,
    availability: String,
}

impl Report {
    fn preemption(&mut self, f: &Path, label: &TraceLabel, held: &SpotTrace, catalog: &Catalog) {
        let fit = PreemptionFit::of(held, Counts::Held);
        let ty = label.instance_type().unwrap_or("?");
        let _ = writeln!(
            self.preemption,
            "| {} | {ty} | {} | {} | {:.1} | {} | {:.1} | {} | {} |",
            short(f),
            held.nodes,
            fit.ticks,
            fit.hours,
            fit.events,
            fit.instance_hours,
            rate_ci(&fit),
            bucket_and_ratio(catalog, ty, fit.rate()),
        );
        let cloud = label.cloud.clone().unwrap_or_else(|| "?".into());
        self.pooled
            .entry((ty.to_string(), cloud))
            .or_default()
            .push(fit);
    }

    fn availability(&mut self, f: &Path, label: &TraceLabel, trace: &SpotTrace) {
        let a = AvailabilityFit::of(trace);
        let _ = writeln!(
            self.availability,
            "| {} | {} | {} | {} | {:.1} | {:.1}% | {:.1}% | {:.1}% |",
            short(f),
            label.instance_type().unwrap_or("?"),
            trace.nodes,
            a.ticks,
            a.hours,
            100.0 * a.mean_share,
            100.0 * a.all_share,
            100.0 * a.none_share,
        );
    }

    fn render(&self, counts: Counts, catalog: &Catalog) -> String {
        let mut s = String::new();
        let reading = match counts {
            Counts::Missing => {
                "instances preempted, not running (held = N − value; `--counts missing`)"
            }
            Counts::Held => "instances held (`--counts held`)",
        };
        let _ = writeln!(
            s,
            "Preemption-trace values read as {reading}; availability-trace values as instances obtainable.\n"
        );
        if !self.preemption.is_empty() {
            s.push_str(
                "Preemption traces: interruptions per instance-hour held (exact 95% CI)\n\n",
            );
            s.push_str("| trace | type | N | ticks | hours | events | instance-hours | measured /h (95% CI) | bucket | bucket /h | ratio |\n");
            s.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
            s.push_str(&self.preemption);
            s.push_str("\nPooled by type and cloud\n\n");
            s.push_str("| type | cloud | files | hours | events | instance-hours | measured /h (95% CI) | bucket | bucket /h | ratio |\n");
            s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
            for ((ty, cloud), fits) in &self.pooled {
                let p = PreemptionFit::pooled(fits);
                let _ = writeln!(
                    s,
                    "| {ty} | {cloud} | {} | {:.1} | {} | {:.1} | {} | {} |",
                    fits.len(),
                    p.hours,
                    p.events,
                    p.instance_hours,
                    rate_ci(&p),
                    bucket_and_ratio(catalog, ty, p.rate()),
                );
            }
        }
        if !self.availability.is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str("Availability traces: share of the N requested instances obtainable\n\n");
            s.push_str("| trace | type | N | ticks | hours | mean obtainable | all N | none |\n");
            s.push_str("|---|---|---|---|---|---|---|---|\n");
            s.push_str(&self.availability);
        }
        s
    }
}

/// The path from its `availability`/`preemption` directory on, without `.json`.
fn short(f: &Path) -> String {
    let s = f.with_extension("").display().to_string();
    ["preemption/", "availability/"]
        .iter()
        .find_map(|k| s.rfind(k).map(|i| s[i..].to_string()))
        .unwrap_or(s)
}

fn num(x: f64) -> String {
    if x == 0.0 || x >= 0.01 {
        format!("{x:.3}")
    } else {
        format!("{x:.2e}")
    }
}

fn rate_ci(f: &PreemptionFit) -> String {
    match (f.rate(), f.interval95()) {
        (Some(r), Some((l, u))) => format!("{} ({} – {})", num(r), num(l), num(u)),
        _ => "– (no instance-hours)".into(),
    }
}

/// `bucket | bucket rate | measured / bucket` for a type of the built-in catalog.
fn bucket_and_ratio(catalog: &Catalog, ty: &str, measured: Option<f64>) -> String {
    let bucket = catalog
        .find(ty)
        .and_then(|id| catalog.get(id).interruption_bucket);
    match bucket {
        Some(b) => {
            let h = b.hazard_per_hour();
            let ratio = measured.map_or("–".into(), |m| format!("{:.0}×", m / h));
            format!("{} | {} | {ratio}", b.label(), num(h))
        }
        None => "no bucket | – | –".into(),
    }
}
