//! How `flotilla plan` spends its runs.
//!
//! `grid`: every point over every seed (brute force). `racing`, for large spaces: every
//! point first runs a few screening seeds; a point that can no longer reach the required
//! passes even if all its remaining seeds pass is dropped (exact: it could never be
//! recommended). The rest run their remaining seeds in batches, cheapest screening cost
//! first; once some point is fully run and feasible, a point whose screening cost's 95%
//! confidence interval lies wholly above that point's is dropped without its remaining
//! seeds (a statistical cut: it is very unlikely to be cheaper).

use super::recommend::{passes, required, show_usd, Target, Verdict};
use super::stats::Estimate;
use crate::record::Summary;
use serde::Serialize;

/// How to search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Search {
    /// Every point, every seed.
    Grid,
    /// Screen, then race the survivors (see the module documentation).
    Racing,
}

/// What a point went through.
#[derive(Clone, Debug, PartialEq)]
pub enum Fate {
    /// Every seed run.
    Complete,
    /// Dropped after screening: cannot reach the required passes.
    ScreenedOut,
    /// Dropped: its screening cost is above a feasible point's (USD, that point's upper 95%).
    Pruned(f64),
}

/// One point's runs so far.
#[derive(Clone, Debug)]
pub struct Evaluated {
    /// Point index.
    pub point: usize,
    /// Its summaries, in seed order (a prefix of the seeds unless complete).
    pub runs: Vec<Summary>,
    /// Why it stopped.
    pub fate: Fate,
}

/// How much work a search did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchStats {
    /// Points in the space.
    pub points: usize,
    /// Runs done.
    pub runs: usize,
    /// Runs brute force would have done.
    pub brute_force_runs: usize,
    /// Points dropped after screening.
    pub screened_out: usize,
    /// Points dropped by the cost cut.
    pub pruned: usize,
}

/// Runs the requested `(point, seeds)` tasks, returning summaries in task and seed order.
pub type Evaluate<'a> = dyn FnMut(&[(usize, Vec<u64>)]) -> Result<Vec<Vec<Summary>>, String> + 'a;

/// Searches `n_points` points over `seeds`.
pub fn search(
    mode: Search,
    n_points: usize,
    seeds: &[u64],
    targets: &[Target],
    confidence: f64,
    batch: usize,
    eval: &mut Evaluate<'_>,
) -> Result<(Vec<Evaluated>, SearchStats), String> {
    let mut stats = SearchStats {
        points: n_points,
        brute_force_runs: n_points * seeds.len(),
        ..SearchStats::default()
    };
    let screen = match mode {
        Search::Grid => seeds.len(),
        Search::Racing => seeds.len().min(3),
    };
    let first: Vec<(usize, Vec<u64>)> = (0..n_points)
        .map(|p| (p, seeds[..screen].to_vec()))
        .collect();
    let runs = eval(&first)?;
    stats.runs += n_points * screen;
    let mut all: Vec<Evaluated> = runs
        .into_iter()
        .enumerate()
        .map(|(point, runs)| Evaluated {
            point,
            runs,
            fate: Fate::Complete,
        })
        .collect();
    if screen == seeds.len() {
        return Ok((all, stats));
    }
    let need = required(seeds.len(), confidence);
    let remaining = seeds.len() - screen;
    let mut queue: Vec<usize> = Vec::new();
    for e in &mut all {
        let passed = e.runs.iter().filter(|s| passes(s, targets)).count();
        if passed + remaining < need {
            e.fate = Fate::ScreenedOut;
            stats.screened_out += 1;
        } else {
            queue.push(e.point);
        }
    }
    let screen_cost = |e: &Evaluated| cost(&e.runs);
    queue.sort_by(|&a, &b| {
        screen_cost(&all[a])
            .mean
            .total_cmp(&screen_cost(&all[b]).mean)
            .then(a.cmp(&b))
    });
    let mut bar: Option<Estimate> = None; // cost of the cheapest feasible complete point
    let mut next = 0;
    while next < queue.len() {
        let mut tasks = Vec::new();
        while next < queue.len() && tasks.len() < batch.max(1) {
            let p = queue[next];
            next += 1;
            match &bar {
                Some(b) if screen_cost(&all[p]).ci95_lo > b.ci95_hi => {
                    all[p].fate = Fate::Pruned(b.ci95_hi);
                    stats.pruned += 1;
                }
                _ => tasks.push((p, seeds[screen..].to_vec())),
            }
        }
        let runs = eval(&tasks)?;
        stats.runs += tasks.len() * remaining;
        for ((p, _), more) in tasks.iter().zip(runs) {
            all[*p].runs.extend(more);
            let e = &all[*p];
            let passed = e.runs.iter().filter(|s| passes(s, targets)).count();
            let c = cost(&e.runs);
            if passed >= need && bar.as_ref().is_none_or(|b| c.mean < b.mean) {
                bar = Some(c);
            }
        }
    }
    Ok((all, stats))
}

fn cost(runs: &[Summary]) -> Estimate {
    Estimate::of(&runs.iter().map(|s| s.total_cost_usd).collect::<Vec<_>>())
}

/// Marks a verdict judged on a point the search dropped.
pub fn mark_dropped(v: &mut Verdict, fate: &Fate, screen: usize) {
    let why = match fate {
        Fate::Complete => return,
        Fate::ScreenedOut => format!(
            "failed the targets in too many of its {screen} screening runs to reach the confidence"
        ),
        Fate::Pruned(bar) => format!(
            "dropped after {screen} screening runs: its cost's 95% interval lies above {}, \
             the upper 95% bound of a feasible point",
            show_usd(*bar)
        ),
    };
    v.feasible = false;
    v.dropped = Some(why);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Point p, seed s: cost p+1 (+0.01·s), wait 100·(8 − p) s: cheap points wait long.
    fn fake(tasks: &[(usize, Vec<u64>)]) -> Result<Vec<Vec<Summary>>, String> {
        Ok(tasks
            .iter()
            .map(|(p, seeds)| {
                seeds
                    .iter()
                    .map(|&s| Summary {
                        total_cost_usd: *p as f64 + 1.0 + 0.01 * s as f64,
                        wait_p95_s: 100.0 * (8.0 - *p as f64) + if s == 5 { 200.0 } else { 0.0 },
                        seed: s,
                        ..Summary::default()
                    })
                    .collect()
            })
            .collect())
    }

    #[test]
    fn racing_finds_the_brute_force_answer_with_fewer_runs() {
        let seeds: Vec<u64> = (0..10).collect();
        let t = [Target::P95Wait(450.0)];
        // Waits: p=4 → 400 (600 on seed 5: 9/10 pass, feasible at 0.9); p=3 → 500 never.
        let (grid, gs) = search(Search::Grid, 9, &seeds, &t, 0.9, 4, &mut fake).unwrap();
        let (race, rs) = search(Search::Racing, 9, &seeds, &t, 0.9, 2, &mut fake).unwrap();
        let cheapest = |all: &[Evaluated]| {
            all.iter()
                .filter(|e| e.fate == Fate::Complete)
                .filter(|e| e.runs.iter().filter(|s| passes(s, &t)).count() >= 9)
                .map(|e| e.point)
                .next()
        };
        assert_eq!(cheapest(&grid), Some(4));
        assert_eq!(cheapest(&race), Some(4));
        assert_eq!(gs.runs, 90);
        assert!(rs.runs < 60, "{rs:?}");
        assert_eq!(rs.screened_out, 4, "{rs:?}"); // p = 0..3 fail every screening run
        assert!(rs.pruned >= 2, "{rs:?}");
    }
}
