//! `flotilla plan`: the cheapest grid point that meets the targets with the asked
//! confidence, the runner-up, why the others lost, and what it would take when none wins.

use super::sweep::{progress, write_tables, Space, SpaceArgs};
use crate::plan::grid::Point;
use crate::plan::recommend::{
    judge, parse_duration, recommend, show_duration, show_usd, Recommendation, Target, Verdict,
};
use crate::plan::run::Task;
use crate::plan::search::{mark_dropped, search, Fate, Search, SearchStats};
use crate::plan::table;
use anyhow::bail;
use clap::Args;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// Exit status when no configuration meets the targets (the answer is still printed).
pub const NOTHING_FEASIBLE: u8 = 3;

/// Above this many points, `--search auto` races instead of running every seed everywhere.
const RACE_ABOVE_POINTS: usize = 16;

/// Points racing runs to completion at a time: few, so the cost cut bites early; each point
/// runs its remaining seeds in parallel, which keeps the cores busy.
const RACE_BATCH: usize = 4;

/// `flotilla plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Scenario, grid (the search space), seeds and output.
    #[command(flatten)]
    pub space: SpaceArgs,
    /// Longest acceptable p95 queue wait, e.g. 10m, 90s, 1h30m.
    #[arg(long)]
    pub max_p95_wait: Option<String>,
    /// Longest acceptable makespan (first submission to last job end), e.g. 6h.
    #[arg(long)]
    pub deadline: Option<String>,
    /// Most a run may cost, USD.
    #[arg(long)]
    pub budget: Option<f64>,
    /// Share of runs (seeds) that must meet every target, in (0, 1].
    #[arg(long, default_value_t = 0.9)]
    pub confidence: f64,
    /// `grid` (every point, every seed), `racing` (screen with 3 seeds, drop hopeless and
    /// clearly dearer points) or `auto` (racing above 16 points).
    #[arg(long, default_value = "auto")]
    pub search: String,
}

fn targets(a: &PlanArgs) -> anyhow::Result<Vec<Target>> {
    let mut t = Vec::new();
    if let Some(w) = &a.max_p95_wait {
        let s = parse_duration(w).map_err(|m| anyhow::anyhow!("--max-p95-wait {m}"))?;
        t.push(Target::P95Wait(s));
    }
    if let Some(d) = &a.deadline {
        let s = parse_duration(d).map_err(|m| anyhow::anyhow!("--deadline {m}"))?;
        t.push(Target::Deadline(s));
    }
    if let Some(b) = a.budget {
        if !(b.is_finite() && b > 0.0) {
            bail!("--budget {b}: expected an amount of USD > 0, e.g. --budget 500");
        }
        t.push(Target::Budget(b));
    }
    if t.is_empty() {
        bail!("give at least one target: --max-p95-wait 10m, --deadline 6h or --budget 500");
    }
    if !(a.confidence > 0.0 && a.confidence <= 1.0) {
        bail!(
            "--confidence {}: expected a share in (0, 1], e.g. 0.9",
            a.confidence
        );
    }
    Ok(t)
}

fn mode(a: &PlanArgs, points: usize) -> anyhow::Result<Search> {
    Ok(match a.search.to_ascii_lowercase().as_str() {
        "grid" => Search::Grid,
        "racing" => Search::Racing,
        "auto" if points > RACE_ABOVE_POINTS => Search::Racing,
        "auto" => Search::Grid,
        other => bail!("--search {other}: expected grid, racing or auto"),
    })
}

pub(super) fn run(a: PlanArgs) -> anyhow::Result<ExitCode> {
    let targets = targets(&a)?;
    let space = Space::load(&a.space, "plan")?;
    let points = space.grid.points();
    let mode = mode(&a, points.len())?;
    let bar = progress(
        (points.len() * space.seeds.len()) as u64,
        a.space.quiet,
        "plan",
    );
    let started = Instant::now();
    let mut eval = |tasks: &[(usize, Vec<u64>)]| {
        let tasks: Vec<Task> = tasks
            .iter()
            .map(|(p, seeds)| Task {
                point: &points[*p],
                seeds: seeds.clone(),
            })
            .collect();
        space.run(&tasks, &bar).map_err(|e| e.to_string())
    };
    // A fixed batch, not one per thread: what the cost cut drops depends on the batches,
    // and the answer must not depend on --threads.
    let batch = RACE_BATCH;
    let (evaluated, stats) = search(
        mode,
        points.len(),
        &space.seeds,
        &targets,
        a.confidence,
        batch,
        &mut eval,
    )
    .map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let screen = space.seeds.len().min(3);
    let verdicts: Vec<Verdict> = evaluated
        .iter()
        .map(|e| {
            let p = &points[e.point];
            let mut v = judge(
                p.index,
                &space.grid.label(p),
                &e.runs,
                &targets,
                a.confidence,
            );
            mark_dropped(&mut v, &e.fate, screen);
            v
        })
        .collect();
    let rec = recommend(verdicts, &targets, a.confidence);
    let refs: Vec<&Point> = evaluated.iter().map(|e| &points[e.point]).collect();
    let runs: Vec<_> = evaluated.iter().map(|e| e.runs.clone()).collect();
    let mut rows = table::rows(&space.grid, &refs, &runs);
    let complete: Vec<bool> = evaluated.iter().map(|e| e.fate == Fate::Complete).collect();
    table::mark_fronts(&mut rows, &complete);
    write_tables(&space, &refs, &runs, &rows)?;
    let out = serde_json::json!({
        "scenario": space.base.name,
        "search": mode,
        "seeds": space.seeds.len(),
        "stats": stats,
        "wall_seconds": wall,
        "recommendation": rec,
    });
    let plan_json = space.dir.join("plan.json");
    std::fs::write(&plan_json, serde_json::to_string_pretty(&out)? + "\n")
        .map_err(|e| anyhow::anyhow!("{}: {e}", plan_json.display()))?;
    if !a.space.no_report {
        let best = rec.best.as_ref().map(|b| b.point);
        super::sweep_report::write(&space, &rows, best)?;
    }
    if a.space.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_plan(&space, &rec, &stats, mode, wall);
    }
    Ok(match rec.best {
        Some(_) => ExitCode::SUCCESS,
        None => ExitCode::from(NOTHING_FEASIBLE),
    })
}

fn print_plan(space: &Space, r: &Recommendation, st: &SearchStats, mode: Search, wall: f64) {
    let mut out = std::io::stdout().lock();
    let goals: Vec<String> = r.targets.iter().map(Target::describe).collect();
    let _ = writeln!(
        out,
        "flotilla plan {}: {} with {:.0}% confidence ({} seeds per point)",
        space.base.name,
        goals.join(", "),
        r.confidence * 100.0,
        space.seeds.len()
    );
    let how = match mode {
        Search::Grid => "every point".to_string(),
        Search::Racing => format!(
            "racing ({} screened out, {} dropped as dearer)",
            st.screened_out, st.pruned
        ),
    };
    let _ = writeln!(
        out,
        "searched {} points by {how}: {} runs of {} brute force, {:.1} s",
        st.points, st.runs, st.brute_force_runs, wall
    );
    match &r.best {
        Some(b) => {
            let _ = writeln!(out, "\nRecommended: point {}  {}", b.point, b.label);
            let _ = writeln!(out, "  {}", facts(b));
        }
        None => {
            let _ = writeln!(
                out,
                "\nNothing meets the targets with {:.0}% confidence.",
                r.confidence * 100.0
            );
            if let Some((v, needs)) = &r.closest {
                let _ = writeln!(out, "Closest: point {}  {}", v.point, v.label);
                let _ = writeln!(out, "  {}", facts(v));
                let _ = writeln!(out, "  it would take: {}", needs.join(", "));
            }
        }
    }
    if let (Some(b), Some(u)) = (&r.best, &r.runner_up) {
        let _ = writeln!(
            out,
            "Runner-up: point {}  {} (+{})",
            u.point,
            u.label,
            show_usd(u.cost.mean - b.cost.mean)
        );
        let _ = writeln!(out, "  {}", facts(u));
    }
    if !r.others.is_empty() {
        let _ = writeln!(out, "\nWhy not the others (cheapest first):");
    }
    for (v, why) in r.others.iter().take(12) {
        let cost = show_usd(v.cost.mean);
        let _ = writeln!(out, "  point {:>3} {cost:>11}  {}: {why}", v.point, v.label);
    }
    if r.others.len() > 12 {
        let _ = writeln!(out, "  … {} more in plan.json", r.others.len() - 12);
    }
    let _ = writeln!(out, "\nplan: {}", space.dir.join("plan.json").display());
}

fn facts(v: &Verdict) -> String {
    format!(
        "cost {} (95% CI {}–{}), p95 wait {}, makespan {}; all targets met in {}/{} runs",
        show_usd(v.cost.mean),
        show_usd(v.cost.ci95_lo),
        show_usd(v.cost.ci95_hi),
        show_duration(v.wait_p95.mean),
        show_duration(v.makespan.mean),
        v.passed,
        v.runs
    )
}
