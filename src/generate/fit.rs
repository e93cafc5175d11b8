//! Fitting the generator's models to a real trace (`flotilla generate --like`), as pure
//! functions over trace jobs.
//!
//! One row of the trace (a plain job, or an array job with all its children) is one
//! submission, as one row of a generated trace is. What is fitted, and how:
//!
//! - **Arrival rate**: submissions / (last submit − first submit), per second.
//! - **Diurnal profile**: only when the trace spans at least a day. Submissions are counted
//!   by hour of the day (simulated time 0 = midnight, as the generator assumes) and divided
//!   by the seconds of that hour the span covers, giving 24 rates. A chi-square test of
//!   those counts against a constant rate (23 degrees of freedom, critical value 49.7 at
//!   p = 0.001) decides whether there is a cycle; if so the profile (rates over their mean)
//!   becomes `hourly_profile` of a diurnal process.
//! - **Run time**: log-normal by the moments of the log: μ and σ are the mean and standard
//!   deviation of ln(run time in seconds) over rows with a run time of at least 1 s (the
//!   generator's floor); the median is e^μ. The 101 percentiles (0%, 1%, …, 100%) are kept
//!   too, for `runtime = "empirical"`.
//! - **Job shapes**: the empirical frequency of `(vcpus, memory_mib, gpus)`, the
//!   [`MAX_SHAPES`] most frequent kept (with the share of rows they cover).
//! - **Queue shares**: rows per job queue over all rows.
//! - **Failure share**: rows whose exit code is not 0 over all rows.
//!
//! Arrays, dependencies, attempts and timeouts are not fitted.

use super::arrivals::ArrivalModel;
use super::runtime::RuntimeModel;
use super::{GenerateConfig, JobShape};
use crate::scenario::TraceJob;
use serde::Serialize;
use std::collections::BTreeMap;

/// Most job shapes a fit keeps.
pub const MAX_SHAPES: usize = 100;

/// Chi-square critical value, 23 degrees of freedom, p = 0.001.
pub const CHI2_23_P001: f64 = 49.73;

/// The fitted parameters of a trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceFit {
    /// Rows (submissions) in the trace.
    pub submissions: u64,
    /// Jobs, counting array children.
    pub jobs: u64,
    /// Last submit − first submit, seconds.
    pub span_s: f64,
    /// Submissions per second.
    pub rate_per_s: f64,
    /// Relative submission rate per hour of the day (mean 1), when the trace shows a cycle.
    pub hourly_profile: Option<Vec<f64>>,
    /// The chi-square statistic of the hourly counts (absent when the span is under a day).
    pub diurnal_chi2: Option<f64>,
    /// Mean of ln(run time, s).
    pub runtime_log_mean: f64,
    /// Standard deviation of ln(run time, s).
    pub runtime_log_sd: f64,
    /// e^μ, seconds.
    pub runtime_median_s: f64,
    /// Run-time percentiles 0%..=100%, seconds.
    pub runtime_quantiles_s: Vec<f64>,
    /// Most frequent job shapes with their shares.
    pub shapes: Vec<JobShape>,
    /// Share of rows the kept shapes cover.
    pub shapes_coverage: f64,
    /// Share of rows per job queue, by queue name.
    pub queue_shares: BTreeMap<String, f64>,
    /// Share of rows that fail (exit code ≠ 0).
    pub failure_share: f64,
}

/// Fits every model to `jobs`; `queue_names[i]` names job queue id `i`.
pub fn fit_trace(jobs: &[TraceJob], queue_names: &[String]) -> TraceFit {
    let submits: Vec<u64> = jobs.iter().map(|j| j.submit.0).collect();
    let (rate_per_s, span_s) = fit_rate(&submits);
    let (profile, chi2) = match fit_hourly(&submits) {
        Some((p, c)) => ((c > CHI2_23_P001).then_some(p), Some(c)),
        None => (None, None),
    };
    let runs: Vec<u64> = jobs.iter().map(|j| j.run_time.as_millis()).collect();
    let (mu, sigma) = fit_lognormal(&runs);
    let (shapes, shapes_coverage) = fit_shapes(jobs);
    let rows = jobs.len().max(1) as f64;
    TraceFit {
        submissions: jobs.len() as u64,
        jobs: jobs
            .iter()
            .map(|j| j.spec.array.map_or(1, |a| u64::from(a.size)))
            .sum(),
        span_s,
        rate_per_s,
        hourly_profile: profile,
        diurnal_chi2: chi2,
        runtime_log_mean: mu,
        runtime_log_sd: sigma,
        runtime_median_s: mu.exp(),
        runtime_quantiles_s: quantiles(&runs, 101),
        shapes,
        shapes_coverage,
        queue_shares: fit_queues(jobs, queue_names),
        failure_share: jobs.iter().filter(|j| j.exit_code != 0).count() as f64 / rows,
    }
}

/// Submissions per second and the span, seconds, of submit times in milliseconds.
pub fn fit_rate(submits_ms: &[u64]) -> (f64, f64) {
    let (Some(&lo), Some(&hi)) = (submits_ms.iter().min(), submits_ms.iter().max()) else {
        return (0.0, 0.0);
    };
    let span = (hi - lo) as f64 / 1000.0;
    let rate = if span > 0.0 {
        (submits_ms.len() - 1) as f64 / span
    } else {
        0.0
    };
    (rate, span)
}

/// Relative rate per hour of the day (mean 1) and the chi-square statistic against a
/// constant rate; `None` when the span is under a day.
pub fn fit_hourly(submits_ms: &[u64]) -> Option<(Vec<f64>, f64)> {
    let lo = *submits_ms.iter().min()?;
    let hi = *submits_ms.iter().max()?;
    const HOUR: u64 = 3_600_000;
    if hi - lo < 24 * HOUR {
        return None;
    }
    // Seconds of each hour of the day that [lo, hi] covers.
    let mut exposure = [0.0f64; 24];
    for h in lo / HOUR..=hi / HOUR {
        let from = (h * HOUR).max(lo);
        let to = ((h + 1) * HOUR).min(hi);
        exposure[(h % 24) as usize] += to.saturating_sub(from) as f64 / 1000.0;
    }
    let mut counts = [0.0f64; 24];
    for &t in submits_ms {
        counts[((t / HOUR) % 24) as usize] += 1.0;
    }
    let total_exposure: f64 = exposure.iter().sum();
    let n = submits_ms.len() as f64;
    let mean_rate = n / total_exposure;
    let mut chi2 = 0.0;
    let mut profile = vec![1.0; 24];
    for h in 0..24 {
        let expected = n * exposure[h] / total_exposure;
        if expected > 0.0 {
            chi2 += (counts[h] - expected).powi(2) / expected;
            profile[h] = counts[h] / exposure[h] / mean_rate;
        }
    }
    Some((profile, chi2))
}

/// μ and σ of ln(run time, s) over run times (milliseconds) of at least 1 s; (ln 600, 1)
/// when there are none.
pub fn fit_lognormal(run_ms: &[u64]) -> (f64, f64) {
    let logs: Vec<f64> = run_ms
        .iter()
        .filter(|&&ms| ms >= 1000)
        .map(|&ms| (ms as f64 / 1000.0).ln())
        .collect();
    if logs.is_empty() {
        return (600f64.ln(), 1.0);
    }
    let n = logs.len() as f64;
    let mu = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / n;
    (mu, var.sqrt())
}

/// `k` ≥ 2 equally spaced quantiles (nearest rank below) of values in milliseconds, as
/// seconds; empty when there are no values.
pub fn quantiles(ms: &[u64], k: usize) -> Vec<f64> {
    if ms.is_empty() || k < 2 {
        return Vec::new();
    }
    let mut v = ms.to_vec();
    v.sort_unstable();
    (0..k)
        .map(|i| {
            let idx = (i * (v.len() - 1)) / (k - 1);
            v[idx] as f64 / 1000.0
        })
        .collect()
}

/// The [`MAX_SHAPES`] most frequent shapes (ties: smaller shape first) with their shares,
/// and the share of rows they cover.
pub fn fit_shapes(jobs: &[TraceJob]) -> (Vec<JobShape>, f64) {
    let mut count: BTreeMap<(u32, u32, u32), u64> = BTreeMap::new();
    for j in jobs {
        *count
            .entry((j.spec.vcpus, j.spec.memory_mib, j.spec.gpus))
            .or_default() += 1;
    }
    let mut by_count: Vec<((u32, u32, u32), u64)> = count.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    by_count.truncate(MAX_SHAPES);
    let n = jobs.len().max(1) as f64;
    let kept: u64 = by_count.iter().map(|x| x.1).sum();
    let shapes = by_count
        .into_iter()
        .map(|((vcpus, memory_mib, gpus), c)| JobShape {
            vcpus,
            memory_mib,
            gpus,
            weight: c as f64 / n,
        })
        .collect();
    (shapes, kept as f64 / n)
}

/// Share of rows per job queue name.
pub fn fit_queues(jobs: &[TraceJob], queue_names: &[String]) -> BTreeMap<String, f64> {
    let mut count: BTreeMap<String, u64> = BTreeMap::new();
    for j in jobs {
        let name = queue_names
            .get(j.spec.queue.0 as usize)
            .cloned()
            .unwrap_or_else(|| format!("queue-{}", j.spec.queue.0));
        *count.entry(name).or_default() += 1;
    }
    let n = jobs.len().max(1) as f64;
    count.into_iter().map(|(k, c)| (k, c as f64 / n)).collect()
}

impl TraceFit {
    /// A generator configuration that reproduces the fit: `jobs` jobs from `seed`, run times
    /// by `runtime` (log-normal or empirical). Job queue names and run-time defaults are
    /// kept from `GenerateConfig::default()` where the trace has nothing to say.
    pub fn to_config(&self, jobs: u64, seed: u64, runtime: RuntimeModel) -> GenerateConfig {
        let mut cfg = GenerateConfig {
            jobs,
            seed,
            ..GenerateConfig::default()
        };
        if self.rate_per_s > 0.0 {
            cfg.rate_per_s = self.rate_per_s;
        }
        if let Some(p) = &self.hourly_profile {
            cfg.arrivals = ArrivalModel::Diurnal;
            cfg.hourly_profile = p.clone();
        }
        cfg.runtime_median_s = self.runtime_median_s;
        cfg.runtime_sigma = self.runtime_log_sd;
        if runtime == RuntimeModel::Empirical && self.runtime_quantiles_s.len() >= 2 {
            cfg.runtime = RuntimeModel::Empirical;
            cfg.runtime_quantiles_s = self.runtime_quantiles_s.clone();
        }
        cfg.shapes = self.shapes.clone();
        if !self.queue_shares.is_empty() {
            cfg.queues = self.queue_shares.keys().cloned().collect();
            cfg.queue_weights = self.queue_shares.values().copied().collect();
        }
        cfg.failure_share = self.failure_share;
        cfg
    }
}
