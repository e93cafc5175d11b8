//! Job-scheduling metrics as the parallel-job-scheduling literature defines them (docs/metrics.md):
//! response time, slowdown, bounded slowdown (Feitelson, "Metrics for parallel job scheduling
//! and their convergence", JSSPP 2001), per-user and per-share fairness with Jain's index
//! (Jain, Chiu and Hawe, DEC-TR-301, 1984), jobs backfilled, and cost per job and per useful
//! vCPU-hour.
//!
//! Which jobs count: a job is *measured* when it ended (SUCCEEDED or FAILED) and at least one
//! of its attempts reached RUNNING and stopped. Array parents (which never run themselves),
//! jobs that never started (unplaceable, cancelled, failed dependencies) and jobs still
//! unfinished at the horizon are not measured. Each record counts once, as queue waits do
//! (the nodes of a multi-node job are records of their own).

use super::metrics::{queue_wait, Summary};
use crate::engine::{Engine, JobRecord};
use crate::model::JobStatus;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Feitelson's threshold τ of bounded slowdown, seconds: run times shorter than this count as
/// this long, so that very short jobs do not dominate the mean.
pub const BSLD_TAU_S: f64 = 10.0;

/// Plain slowdown's floor on the run time, seconds: a 0-second job (traces hold some) would
/// otherwise have an infinite slowdown.
pub const SLOWDOWN_MIN_RUN_S: f64 = 1.0;

/// Key of jobs whose trace names no user (or share).
pub const NO_USER: &str = "(none)";

/// What the literature measures of one job.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobMeasure {
    /// Submission to end (`stoppedAt`), seconds.
    pub response_s: f64,
    /// Run time of the last attempt that reached RUNNING: RUNNING to its stop, seconds.
    pub run_s: f64,
    /// Submission to first RUNNING, seconds ([`queue_wait`]).
    pub wait_s: f64,
    /// vCPU-seconds of the attempt that SUCCEEDED (RUNNING to stop × vCPUs); 0 for a failed job.
    pub useful_vcpu_s: f64,
}

impl JobMeasure {
    /// `response / max(run, 1 s)`.
    pub fn slowdown(&self) -> f64 {
        slowdown(self.response_s, self.run_s)
    }

    /// `max(1, response / max(run, τ))` with τ = 10 s.
    pub fn bounded_slowdown(&self) -> f64 {
        bounded_slowdown(self.response_s, self.run_s)
    }
}

/// Slowdown: response time over run time, the run time taken as at least
/// [`SLOWDOWN_MIN_RUN_S`].
pub fn slowdown(response_s: f64, run_s: f64) -> f64 {
    response_s / run_s.max(SLOWDOWN_MIN_RUN_S)
}

/// Bounded slowdown (Feitelson 2001): `max(1, response / max(run, τ))`, τ = [`BSLD_TAU_S`].
pub fn bounded_slowdown(response_s: f64, run_s: f64) -> f64 {
    (response_s / run_s.max(BSLD_TAU_S)).max(1.0)
}

/// Jain's fairness index of `xs`: `(Σx)² / (n Σx²)`, between 1/n (one gets everything) and
/// 1 (all equal). 0 for no values; 1 when every value is 0.
pub fn jain_index(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let sum: f64 = xs.iter().sum();
    let sq: f64 = xs.iter().map(|x| x * x).sum();
    if sq == 0.0 {
        1.0
    } else {
        sum * sum / (xs.len() as f64 * sq)
    }
}

/// A job's measure, if it is measured (see the module's documentation).
pub fn measure(j: &JobRecord) -> Option<JobMeasure> {
    if !matches!(j.status, JobStatus::Succeeded | JobStatus::Failed) {
        return None;
    }
    let end = j.stopped_at?;
    let last_run = j
        .attempts
        .iter()
        .rev()
        .find_map(|a| Some((a.running_at?, a.stopped_at?)))?;
    let run_s = last_run.1.saturating_since(last_run.0).as_secs_f64();
    let useful_vcpu_s = if j.status == JobStatus::Succeeded {
        j.last_attempt()
            .and_then(|a| Some(a.stopped_at?.saturating_since(a.running_at?).as_secs_f64()))
            .unwrap_or(0.0)
            * j.spec.vcpus as f64
    } else {
        0.0
    };
    Some(JobMeasure {
        response_s: end.saturating_since(j.submitted_at).as_secs_f64(),
        run_s,
        wait_s: queue_wait(j).map_or(0.0, |w| w.as_secs_f64()),
        useful_vcpu_s,
    })
}

/// The user a job counts under: its trace's `user`, else [`NO_USER`].
pub fn user_of(j: &JobRecord) -> &str {
    j.spec.user.as_deref().unwrap_or(NO_USER)
}

/// The share a job counts under: its `shareIdentifier`, else its user.
pub fn share_of(j: &JobRecord) -> &str {
    j.spec
        .share_identifier
        .as_deref()
        .unwrap_or_else(|| user_of(j))
}

/// One user's (or share's) line of `users.csv` (`shares.csv`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct GroupRow {
    /// The user or share.
    pub key: String,
    /// Jobs submitted.
    pub jobs: u64,
    /// Jobs measured (ended after running).
    pub jobs_measured: u64,
    /// Mean queue wait of its jobs that reached RUNNING, seconds.
    pub wait_mean_s: f64,
    /// Mean response time of its measured jobs, seconds.
    pub response_mean_s: f64,
    /// Mean slowdown of its measured jobs.
    pub slowdown_mean: f64,
    /// Mean bounded slowdown of its measured jobs.
    pub bounded_slowdown_mean: f64,
}

#[derive(Default)]
struct Acc {
    jobs: u64,
    waited: u64,
    wait: f64,
    measured: u64,
    response: f64,
    slowdown: f64,
    bsld: f64,
}

fn mean(sum: f64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Per-group means, in key order; `key` picks a job's group.
pub fn groups(engine: &Engine, key: fn(&JobRecord) -> &str) -> Vec<GroupRow> {
    let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
    for j in engine.jobs() {
        let a = acc.entry(key(j)).or_default();
        a.jobs += 1;
        if let Some(w) = queue_wait(j) {
            a.waited += 1;
            a.wait += w.as_secs_f64();
        }
        if let Some(m) = measure(j) {
            a.measured += 1;
            a.response += m.response_s;
            a.slowdown += m.slowdown();
            a.bsld += m.bounded_slowdown();
        }
    }
    acc.into_iter()
        .map(|(k, a)| GroupRow {
            key: k.to_string(),
            jobs: a.jobs,
            jobs_measured: a.measured,
            wait_mean_s: mean(a.wait, a.waited),
            response_mean_s: mean(a.response, a.measured),
            slowdown_mean: mean(a.slowdown, a.measured),
            bounded_slowdown_mean: mean(a.bsld, a.measured),
        })
        .collect()
}

/// Fairness over groups: (groups with a measured job, min and max of their mean bounded
/// slowdown, Jain's index of those means).
pub fn fairness(rows: &[GroupRow]) -> (u64, f64, f64, f64) {
    let xs: Vec<f64> = rows
        .iter()
        .filter(|r| r.jobs_measured > 0)
        .map(|r| r.bounded_slowdown_mean)
        .collect();
    if xs.is_empty() {
        return (0, 0.0, 0.0, 0.0);
    }
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(0.0, f64::max);
    (xs.len() as u64, min, max, jain_index(&xs))
}

/// The per-user and per-share rows of a run (`users.csv`, `shares.csv`), computed once for
/// both the summary's fairness fields and the tables.
#[derive(Clone, Debug, Default)]
pub struct Groups {
    /// One row per user.
    pub users: Vec<GroupRow>,
    /// One row per share.
    pub shares: Vec<GroupRow>,
}

impl Groups {
    /// The groups of `engine`'s jobs.
    pub fn of(engine: &Engine) -> Self {
        Groups {
            users: groups(engine, user_of),
            shares: groups(engine, share_of),
        }
    }
}

/// Fills the literature fields of `s` (after [`super::metrics::summarize`], whose total cost
/// it divides); the fairness fields come from `g`.
pub fn fill(engine: &Engine, g: &Groups, s: &mut Summary) {
    let (mut n, mut response, mut sld, mut bsld, mut useful) = (0u64, 0.0, 0.0, 0.0, 0.0);
    for j in engine.jobs() {
        if j.backfilled {
            s.jobs_backfilled += 1;
        }
        if let Some(m) = measure(j) {
            n += 1;
            response += m.response_s;
            sld += m.slowdown();
            bsld += m.bounded_slowdown();
            useful += m.useful_vcpu_s;
        }
    }
    s.jobs_measured = n;
    s.response_mean_s = mean(response, n);
    s.slowdown_mean = mean(sld, n);
    s.bounded_slowdown_mean = mean(bsld, n);
    s.useful_vcpu_hours = useful / 3600.0;
    s.cost_per_job_usd = mean(s.total_cost_usd, n);
    s.cost_per_useful_vcpu_hour_usd = if useful > 0.0 {
        s.total_cost_usd / (useful / 3600.0)
    } else {
        0.0
    };
    (
        s.users,
        s.user_bounded_slowdown_min,
        s.user_bounded_slowdown_max,
        s.user_jain_index,
    ) = fairness(&g.users);
    (
        s.shares,
        s.share_bounded_slowdown_min,
        s.share_bounded_slowdown_max,
        s.share_jain_index,
    ) = fairness(&g.shares);
}

/// Writes `rows` as CSV with the group column named `key_name` (`user` or `share`).
pub fn write_groups<W: Write>(out: W, key_name: &str, rows: &[GroupRow]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        key_name,
        "jobs",
        "jobs_measured",
        "wait_mean_s",
        "response_mean_s",
        "slowdown_mean",
        "bounded_slowdown_mean",
    ])
    .map_err(io::Error::other)?;
    for r in rows {
        w.write_record([
            r.key.clone(),
            r.jobs.to_string(),
            r.jobs_measured.to_string(),
            format!("{:.3}", r.wait_mean_s),
            format!("{:.3}", r.response_mean_s),
            format!("{:.4}", r.slowdown_mean),
            format!("{:.4}", r.bounded_slowdown_mean),
        ])
        .map_err(io::Error::other)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn slowdown_and_bounded_slowdown_by_hand() {
        // Run 5 s after waiting 5 s: response 10 s.
        assert!(close(slowdown(10.0, 5.0), 2.0));
        assert!(close(bounded_slowdown(10.0, 5.0), 1.0));
        // Run 20 s after waiting 20 s: response 40 s.
        assert!(close(slowdown(40.0, 20.0), 2.0));
        assert!(close(bounded_slowdown(40.0, 20.0), 2.0));
        // Run 2 s after waiting 0: bounded slowdown never drops below 1.
        assert!(close(bounded_slowdown(2.0, 2.0), 1.0));
        // A 0-second job: plain slowdown takes the run as 1 s, bounded as τ.
        assert!(close(slowdown(30.0, 0.0), 30.0));
        assert!(close(bounded_slowdown(30.0, 0.0), 3.0));
    }

    #[test]
    fn jain_index_by_hand() {
        assert!(close(jain_index(&[1.0, 1.0]), 1.0));
        assert!(close(jain_index(&[1.0, 3.0]), 0.8));
        assert!(close(jain_index(&[5.0]), 1.0));
        // One of four gets everything: 1/n.
        assert!(close(jain_index(&[4.0, 0.0, 0.0, 0.0]), 0.25));
        assert_eq!(jain_index(&[]), 0.0);
        assert_eq!(jain_index(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn fairness_skips_groups_without_measured_jobs() {
        let row = |key: &str, measured: u64, bsld: f64| GroupRow {
            key: key.to_string(),
            jobs: measured.max(1),
            jobs_measured: measured,
            bounded_slowdown_mean: bsld,
            ..GroupRow::default()
        };
        let rows = [row("a", 2, 1.0), row("b", 0, 0.0), row("c", 1, 3.0)];
        let (n, min, max, j) = fairness(&rows);
        assert_eq!((n, min, max), (2, 1.0, 3.0));
        assert!(close(j, 0.8));
        assert_eq!(fairness(&[]), (0, 0.0, 0.0, 0.0));
    }
}
