//! `flotilla compare`: strategies (or scheduling policies) × seeds on rayon, one run per
//! task, results sorted before they are printed so the table never depends on thread count.

use super::CompareArgs;
use crate::model::AllocationStrategy;
use crate::record::{self, Summary};
use crate::report::{CompareKind, CompareRow, CompareTable};
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

/// What one row of the comparison runs.
enum Variant {
    /// An allocation strategy for every managed compute environment.
    Strategy(AllocationStrategy),
    /// Scheduling policies (checked `--policy` text) and their label.
    Policy {
        text: String,
        spec: crate::engine::policy::PolicySpec,
        label: String,
    },
}

impl Variant {
    fn label(&self) -> &str {
        match self {
            Variant::Strategy(s) => s.as_str(),
            Variant::Policy { label, .. } => label,
        }
    }

    /// Sets it on `scenario`.
    fn apply(&self, scenario: &mut crate::scenario::Scenario) {
        match self {
            Variant::Strategy(s) => scenario.apply_strategy(*s),
            Variant::Policy { spec, .. } => scenario.cluster.options.policy = spec.clone(),
        }
    }
}

/// Splits `--policies` at commas outside brackets (`best-fit[headroom=0.1,x=2],fifo` is two
/// policies); items are trimmed and must not be empty.
pub(crate) fn split_policies(text: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let (mut depth, mut item) = (0usize, String::new());
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| anyhow::anyhow!("--policies {text}: `]` without `[`"))?;
            }
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    if depth > 0 {
        anyhow::bail!("--policies {text}: `[` without `]`");
    }
    out.push(item);
    let out: Vec<String> = out.into_iter().map(|s| s.trim().to_string()).collect();
    if out.iter().any(String::is_empty) {
        anyhow::bail!("--policies {text}: an empty policy (two commas, or one at an end)");
    }
    Ok(out)
}

/// The rows asked for, checked: `--policies` if given, else `--strategies`.
fn variants(a: &CompareArgs) -> anyhow::Result<(CompareKind, Vec<Variant>)> {
    let Some(text) = &a.policies else {
        let v = a
            .strategies
            .iter()
            .map(|s| s.parse().map(Variant::Strategy).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?;
        return Ok((CompareKind::Strategies, v));
    };
    let mut out: Vec<Variant> = Vec::new();
    for p in split_policies(text)? {
        // Checked against the built-ins once here; each run only sets it.
        let (spec, label) = super::check_policy(&p)?;
        if let Some(Variant::Policy { text: o, .. }) = out.iter().find(|v| v.label() == label) {
            anyhow::bail!("--policies: `{p}` is `{o}` again (label {label})");
        }
        out.push(Variant::Policy {
            text: p,
            spec,
            label,
        });
    }
    Ok((CompareKind::Policies, out))
}

pub(super) fn run(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let opts = crate::input::ReadOptions {
        skip_bad_lines: a.skip_bad_lines,
    };
    let (base, _) = super::prepare_swf(
        &a.scenario,
        a.trace.as_deref(),
        None,
        None,
        opts,
        a.cluster_from_header,
    )?;
    let (kind, variants) = variants(&a)?;
    let seeds = parse_seeds(&a.seeds, base.seed)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(format!("{}-compare", base.name)));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let tasks: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|v| seeds.iter().map(move |&seed| (v, seed)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()?;
    let keep = a.keep_runs.then(|| dir.join("runs"));
    let want_waits = !a.no_report;
    let bar = super::sweep::progress(tasks.len() as u64, a.quiet, "compare");
    // Collected in task order, whatever the thread count.
    let results: Vec<anyhow::Result<(Summary, Vec<f64>)>> = pool.install(|| {
        tasks
            .par_iter()
            .map(|&(v, seed)| {
                let r = one_run(&base, &variants[v], seed, keep.as_deref(), want_waits);
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
    let table = CompareTable {
        kind,
        rows: variants
            .iter()
            .enumerate()
            .map(|(v, var)| {
                let mine: Vec<&Summary> = tasks
                    .iter()
                    .zip(&runs)
                    .filter(|((tv, _), _)| *tv == v)
                    .map(|(_, r)| r)
                    .collect();
                CompareRow::of(kind, var.label(), &mine)
            })
            .collect(),
    };
    write_csv(&dir.join("compare.csv"), &table)?;
    write_runs_csv(&dir.join("compare-runs.csv"), kind, &runs)?;
    if want_waits {
        let mut pooled: Vec<(String, Vec<f64>)> = variants
            .iter()
            .map(|v| (v.label().to_string(), Vec::new()))
            .collect();
        for (&(v, _), w) in tasks.iter().zip(waits) {
            pooled[v].1.extend(w);
        }
        crate::report::write_compare_report(&dir, &base.name, &table, &pooled)
            .with_context(|| format!("writing the report in {}", dir.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        print_table(&base.name, seeds.len(), &table, &dir);
    }
    Ok(ExitCode::SUCCESS)
}

/// One run's summary and, when `want_waits`, its jobs' queue waits (seconds) for the report.
fn one_run(
    base: &crate::scenario::Scenario,
    variant: &Variant,
    seed: u64,
    keep: Option<&Path>,
    want_waits: bool,
) -> anyhow::Result<(Summary, Vec<f64>)> {
    let mut scenario = base.clone();
    scenario.seed = seed;
    variant.apply(&mut scenario);
    let label = variant.label();
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

fn write_csv(path: &Path, table: &CompareTable) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    w.write_record(table.csv_header())?;
    for r in &table.rows {
        let mut rec = vec![r.label.clone(), r.runs.to_string()];
        rec.extend(r.means.iter().map(|m| m.to_string()));
        w.write_record(rec)?;
    }
    w.flush()?;
    Ok(())
}

fn write_runs_csv(path: &Path, kind: CompareKind, runs: &[Summary]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    let mut header = vec![kind.label_key(), "seed"];
    header.extend(kind.columns().iter().map(|c| c.key));
    w.write_record(header)?;
    for r in runs {
        let mut rec = vec![r.strategy.clone(), r.seed.to_string()];
        rec.extend(kind.columns().iter().map(|c| (c.get)(r).to_string()));
        w.write_record(rec)?;
    }
    w.flush()?;
    Ok(())
}

fn print_table(scenario: &str, seeds: usize, table: &CompareTable, dir: &Path) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "flotilla compare {scenario}: mean over {seeds} seed(s)"
    );
    let header = table.human_header();
    let rows = table.formatted();
    // Each column as wide as its widest cell; the label column left-aligned.
    let widths: Vec<usize> = (0..header.len())
        .map(|k| {
            rows.iter()
                .map(|r| r[k].chars().count())
                .chain([header[k].chars().count(), if k == 0 { 24 } else { 6 }])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(k, (c, &w))| {
                if k == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join(" ").trim_end());
    }
    let _ = writeln!(out, "table: {}", dir.join("compare.csv").display());
}

#[cfg(test)]
mod tests {
    use super::{parse_seeds, split_policies};

    #[test]
    fn policies_split_at_commas_outside_brackets() {
        assert_eq!(
            split_policies("fifo, easy-backfill,best-fit[headroom=0.1,x=2]+sjf").unwrap(),
            ["fifo", "easy-backfill", "best-fit[headroom=0.1,x=2]+sjf"]
        );
        assert_eq!(split_policies("fifo").unwrap(), ["fifo"]);
        for bad in ["", "fifo,", ",fifo", "fifo,,sjf", "a[b,c", "a]b,c", "a[b]]"] {
            assert!(split_policies(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seeds_as_count_or_range() {
        assert_eq!(parse_seeds("3", 7).unwrap(), vec![7, 8, 9]);
        assert_eq!(parse_seeds("1..3", 7).unwrap(), vec![1, 2, 3]);
        assert!(parse_seeds("0", 7).is_err());
        assert!(parse_seeds("5..2", 7).is_err());
        assert!(parse_seeds("x", 7).is_err());
    }
}
