//! `flotilla plan`: which grid point is cheapest while meeting the targets with the asked
//! confidence.
//!
//! A run meets the targets when its p95 queue wait, makespan and cost are each within their
//! limit and every job finished before the horizon. A point meets them **with confidence c**
//! when at least ⌈c·n⌉ of its n runs do (the empirical probability over the seeds, i.e. over
//! Spot interruptions and prices). Among those points the lowest mean cost wins (then the
//! lower mean p95 wait, then the earlier point). When none qualifies, each point's
//! c-quantile of every violated metric says what limit it would need; the point needing the
//! smallest relaxation (as a ratio of the limit) is "closest".

use super::stats::{quantile_at, Estimate};
use crate::record::Summary;
use serde::Serialize;

/// A limit a run must stay within.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Target {
    /// p95 queue wait, seconds (`--max-p95-wait`).
    P95Wait(f64),
    /// Makespan, seconds (`--deadline`).
    Deadline(f64),
    /// Total cost of the run, USD (`--budget`).
    Budget(f64),
}

impl Target {
    /// The command-line flag that sets it.
    pub fn flag(&self) -> &'static str {
        match self {
            Target::P95Wait(_) => "--max-p95-wait",
            Target::Deadline(_) => "--deadline",
            Target::Budget(_) => "--budget",
        }
    }

    /// The limit.
    pub fn limit(&self) -> f64 {
        match *self {
            Target::P95Wait(x) | Target::Deadline(x) | Target::Budget(x) => x,
        }
    }

    /// The run's value of the metric limited.
    pub fn value(&self, s: &Summary) -> f64 {
        match self {
            Target::P95Wait(_) => s.wait_p95_s,
            Target::Deadline(_) => s.makespan_s,
            Target::Budget(_) => s.total_cost_usd,
        }
    }

    /// A value in the target's unit, as a user would type it.
    pub fn show(&self, x: f64) -> String {
        match self {
            Target::Budget(_) => show_usd(x),
            _ => show_duration(x),
        }
    }

    /// What the target says, e.g. `p95 wait ≤ 10m`.
    pub fn describe(&self) -> String {
        let what = match self {
            Target::P95Wait(_) => "p95 wait",
            Target::Deadline(_) => "makespan",
            Target::Budget(_) => "cost",
        };
        format!("{what} ≤ {}", self.show(self.limit()))
    }
}

/// How one point fared against one target.
#[derive(Clone, Debug, Serialize)]
pub struct TargetCheck {
    /// The target.
    pub target: Target,
    /// Runs within the limit.
    pub met: usize,
    /// The limit this point would meet with the asked confidence (its c-quantile).
    pub needed: f64,
}

/// How one point fared against all targets.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Grid position.
    pub point: usize,
    /// `name=value …`.
    pub label: String,
    /// Runs judged.
    pub runs: usize,
    /// Runs that met every target and finished every job.
    pub passed: usize,
    /// Runs that left jobs unfinished at the horizon.
    pub unfinished_runs: usize,
    /// One per target.
    pub checks: Vec<TargetCheck>,
    /// Cost over the runs.
    pub cost: Estimate,
    /// p95 wait over the runs.
    pub wait_p95: Estimate,
    /// Makespan over the runs.
    pub makespan: Estimate,
    /// `passed ≥ ⌈c·runs⌉` over all the seeds.
    pub feasible: bool,
    /// Set when the search stopped running this point early (then it is not feasible).
    pub dropped: Option<String>,
}

/// Runs a point needs to pass out of `n` for confidence `c`: ⌈c·n⌉, and never fewer than
/// one (a point that met the targets in no run is never recommended).
pub fn required(n: usize, confidence: f64) -> usize {
    ((confidence * n as f64) - 1e-9).ceil().max(1.0) as usize
}

/// Whether one run met every target and finished every job.
pub fn passes(s: &Summary, targets: &[Target]) -> bool {
    s.jobs_unfinished == 0 && targets.iter().all(|t| t.value(s) <= t.limit())
}

/// Judges one point's runs.
pub fn judge(point: usize, label: &str, runs: &[Summary], targets: &[Target], c: f64) -> Verdict {
    let passed = runs.iter().filter(|s| passes(s, targets)).count();
    let checks = targets
        .iter()
        .map(|t| {
            let xs: Vec<f64> = runs.iter().map(|s| t.value(s)).collect();
            TargetCheck {
                target: *t,
                met: xs.iter().filter(|&&x| x <= t.limit()).count(),
                needed: quantile_at(&xs, c),
            }
        })
        .collect();
    let est = |f: fn(&Summary) -> f64| Estimate::of(&runs.iter().map(f).collect::<Vec<_>>());
    Verdict {
        point,
        label: label.to_string(),
        runs: runs.len(),
        passed,
        unfinished_runs: runs.iter().filter(|s| s.jobs_unfinished > 0).count(),
        checks,
        cost: est(|s| s.total_cost_usd),
        wait_p95: est(|s| s.wait_p95_s),
        makespan: est(|s| s.makespan_s),
        feasible: !runs.is_empty() && passed >= required(runs.len(), c),
        dropped: None,
    }
}

/// The answer of `flotilla plan`.
#[derive(Clone, Debug, Serialize)]
pub struct Recommendation {
    /// Confidence asked.
    pub confidence: f64,
    /// The targets.
    pub targets: Vec<Target>,
    /// The cheapest feasible point.
    pub best: Option<Verdict>,
    /// The next cheapest feasible point.
    pub runner_up: Option<Verdict>,
    /// Every other judged point with the reason it lost, cheapest first.
    pub others: Vec<(Verdict, String)>,
    /// When nothing is feasible: the point needing the least relaxation, and what it needs.
    pub closest: Option<(Verdict, Vec<String>)>,
}

/// Picks the cheapest feasible verdict and explains the rest.
pub fn recommend(mut verdicts: Vec<Verdict>, targets: &[Target], c: f64) -> Recommendation {
    verdicts.sort_by(|a, b| {
        a.cost
            .mean
            .total_cmp(&b.cost.mean)
            .then(a.wait_p95.mean.total_cmp(&b.wait_p95.mean))
            .then(a.point.cmp(&b.point))
    });
    let mut feasible = verdicts.iter().filter(|v| v.feasible).cloned();
    let best = feasible.next();
    let runner_up = feasible.next();
    let chosen = |v: &Verdict| {
        [&best, &runner_up]
            .iter()
            .any(|b| b.as_ref().is_some_and(|b| b.point == v.point))
    };
    let others = verdicts
        .iter()
        .filter(|v| !chosen(v))
        .map(|v| (v.clone(), why_not(v, best.as_ref(), c)))
        .collect();
    let closest = if best.is_none() {
        closest(&verdicts, c)
    } else {
        None
    };
    Recommendation {
        confidence: c,
        targets: targets.to_vec(),
        best,
        runner_up,
        others,
        closest,
    }
}

/// Why `v` was not recommended.
pub fn why_not(v: &Verdict, best: Option<&Verdict>, c: f64) -> String {
    if let Some(d) = &v.dropped {
        return d.clone();
    }
    if v.feasible {
        let more = best.map_or(0.0, |b| v.cost.mean - b.cost.mean);
        return format!(
            "meets the targets but costs {} more on average",
            show_usd(more)
        );
    }
    let need = required(v.runs, c);
    let mut why: Vec<String> = v
        .checks
        .iter()
        .filter(|k| k.met < need)
        .map(|k| {
            format!(
                "{} in only {}/{} runs ({:.0}% of runs within {})",
                k.target.describe(),
                k.met,
                v.runs,
                c * 100.0,
                k.target.show(k.needed)
            )
        })
        .collect();
    if v.unfinished_runs > 0 {
        why.push(format!(
            "jobs left unfinished at the horizon in {}/{} runs",
            v.unfinished_runs, v.runs
        ));
    }
    if why.is_empty() {
        why.push(format!(
            "all targets together met in only {}/{} runs (needs {need})",
            v.passed, v.runs
        ));
    }
    why.join("; ")
}

/// The infeasible point whose worst violated target needs the smallest relaxation, and the
/// limits it would need. Each limit is that target's own c-quantile: it meets each one alone
/// with the confidence, though not always all of them together in the same runs.
fn closest(verdicts: &[Verdict], c: f64) -> Option<(Verdict, Vec<String>)> {
    let gap = |v: &Verdict| {
        let need = required(v.runs, c);
        // Too many runs left jobs unfinished: no limit fixes that.
        if v.unfinished_runs > v.runs.saturating_sub(need) {
            return f64::INFINITY;
        }
        let worst = v
            .checks
            .iter()
            .map(|k| k.needed / k.target.limit().max(1e-9))
            .fold(0.0, f64::max);
        if worst > 1.0 {
            return worst;
        }
        // Each target met alone but not together: just past 1, by the share of runs missing.
        1.0 + need.saturating_sub(v.passed) as f64 / v.runs.max(1) as f64
    };
    let v = verdicts
        .iter()
        .filter(|v| v.runs > 0)
        .min_by(|a, b| gap(a).total_cmp(&gap(b)).then(a.point.cmp(&b.point)))?;
    let mut needs: Vec<String> = v
        .checks
        .iter()
        .filter(|k| k.needed > k.target.limit())
        .map(|k| format!("{} {}", k.target.flag(), k.target.show(k.needed)))
        .collect();
    let need = required(v.runs, c);
    if v.unfinished_runs > v.runs.saturating_sub(need) {
        needs.push("more capacity (its runs leave jobs unfinished)".into());
    }
    if needs.is_empty() {
        needs.push(format!(
            "the targets met together in more runs: each is met alone, all together in {}/{} \
             (needs {need})",
            v.passed, v.runs
        ));
    }
    Some((v.clone(), needs))
}

/// Dollars with cents, or four decimals below $10 (small scenarios differ by fractions of
/// a cent).
pub fn show_usd(x: f64) -> String {
    if x.abs() < 10.0 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

/// Seconds as `1h5m`, `10m`, `42s`.
pub fn show_duration(s: f64) -> String {
    let t = s.round() as u64;
    let (h, m, sec) = (t / 3600, t % 3600 / 60, t % 60);
    let mut out = Vec::new();
    if h > 0 {
        out.push(format!("{h}h"));
    }
    if m > 0 {
        out.push(format!("{m}m"));
    }
    if sec > 0 || out.is_empty() {
        out.push(format!("{sec}s"));
    }
    out.join("")
}

/// Parses `90`, `90s`, `10m`, `6h`, `1h30m`, `2d` into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if let Ok(x) = t.parse::<f64>() {
        return if x.is_finite() && x >= 0.0 {
            Ok(x)
        } else {
            Err(format!("`{text}`: expected a duration ≥ 0"))
        };
    }
    let mut total = 0.0;
    let mut num = String::new();
    for ch in t.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            'd' => 86_400.0,
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{ch}` (use s, m, h or d, e.g. 10m, 1h30m)"
                ))
            }
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("`{text}`: expected a number before `{ch}` (e.g. 10m)"))?;
        total += n * unit;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "`{text}`: a unit is missing after `{num}` (e.g. {num}m)"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cost: f64, wait: f64, makespan: f64) -> Summary {
        Summary {
            total_cost_usd: cost,
            wait_p95_s: wait,
            makespan_s: makespan,
            ..Summary::default()
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(600.0));
        assert_eq!(parse_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration("90"), Ok(90.0));
        assert_eq!(parse_duration("2d"), Ok(172_800.0));
        assert!(parse_duration("10x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("10m5")
            .unwrap_err()
            .contains("unit is missing"));
        assert_eq!(show_duration(5400.0), "1h30m");
        assert_eq!(show_duration(42.0), "42s");
        assert_eq!(required(10, 0.9), 9);
        assert_eq!(required(10, 0.91), 10);
        assert_eq!(required(3, 0.9), 3);
    }

    #[test]
    fn cheapest_feasible_with_confidence() {
        let t = [Target::P95Wait(600.0)];
        // a: cheapest, waits too long in 2 of 5 runs (needs 5 of 5 at c=0.9): infeasible.
        let a: Vec<Summary> = [100., 100., 700., 100., 900.]
            .iter()
            .map(|&w| run(10.0, w, 0.0))
            .collect();
        // b: $12, always fine. c: $11, fine in 5/5. d: $20 fine.
        let b: Vec<Summary> = (0..5).map(|_| run(12.0, 60.0, 0.0)).collect();
        let c: Vec<Summary> = (0..5).map(|_| run(11.0, 500.0, 0.0)).collect();
        let d: Vec<Summary> = (0..5).map(|_| run(20.0, 10.0, 0.0)).collect();
        let vs = vec![
            judge(0, "a", &a, &t, 0.9),
            judge(1, "b", &b, &t, 0.9),
            judge(2, "c", &c, &t, 0.9),
            judge(3, "d", &d, &t, 0.9),
        ];
        assert!(!vs[0].feasible);
        assert_eq!(vs[0].checks[0].needed, 900.0);
        let r = recommend(vs.clone(), &t, 0.9);
        assert_eq!(r.best.as_ref().unwrap().label, "c");
        assert_eq!(r.runner_up.as_ref().unwrap().label, "b");
        assert!(r.closest.is_none());
        let why_a = &r.others.iter().find(|(v, _)| v.label == "a").unwrap().1;
        assert!(why_a.contains("p95 wait ≤ 10m in only 3/5 runs"), "{why_a}");
        // At 60% confidence, a (3 of 5) is enough and cheapest.
        let r = recommend(
            vec![judge(0, "a", &a, &t, 0.6), judge(1, "b", &b, &t, 0.6)],
            &t,
            0.6,
        );
        assert_eq!(r.best.unwrap().label, "a");
    }

    #[test]
    fn nothing_feasible_names_the_closest() {
        let t = [Target::P95Wait(600.0), Target::Budget(15.0)];
        let a: Vec<Summary> = (0..4).map(|_| run(10.0, 1200.0, 0.0)).collect(); // needs 2× wait
        let b: Vec<Summary> = (0..4).map(|_| run(18.0, 300.0, 0.0)).collect(); // needs 1.2× budget
        let r = recommend(
            vec![judge(0, "a", &a, &t, 0.9), judge(1, "b", &b, &t, 0.9)],
            &t,
            0.9,
        );
        assert!(r.best.is_none());
        let (v, needs) = r.closest.unwrap();
        assert_eq!(v.label, "b");
        assert_eq!(needs, vec!["--budget $18.00".to_string()]);
        assert_eq!(show_usd(0.3456667), "$0.3457");
        // Each target met alone in 3 of 4 runs, never both in the same run: no limit to
        // relax, the closest point says so.
        let t = [Target::P95Wait(600.0), Target::Budget(15.0)];
        let c: Vec<Summary> = [(10.0, 900.0), (20.0, 100.0), (10.0, 100.0), (10.0, 100.0)]
            .iter()
            .map(|&(cost, wait)| run(cost, wait, 0.0))
            .collect();
        let v = judge(0, "c", &c, &t, 0.75);
        assert_eq!((v.passed, v.feasible), (2, false));
        let r = recommend(vec![v], &t, 0.75);
        let (_, needs) = r.closest.unwrap();
        assert!(
            needs[0].contains("all together in 2/4 (needs 3)"),
            "{needs:?}"
        );
    }
}
