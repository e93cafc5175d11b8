//! [`GenerateConfig`]: every parameter of a synthetic trace, its defaults and its checks.
//! It is also the `[generate]` section of a scenario (same keys, snake_case).

use super::arrivals::ArrivalModel;
use super::runtime::RuntimeModel;
use serde::{Deserialize, Serialize};

/// One job shape of an empirical size mix (`shapes`), with its weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobShape {
    /// vCPUs, ≥ 1.
    pub vcpus: u32,
    /// Memory, MiB, ≥ 1.
    pub memory_mib: u32,
    /// GPUs.
    #[serde(default)]
    pub gpus: u32,
    /// Relative weight, > 0 (need not sum to 1).
    pub weight: f64,
}

/// Parameters of a synthetic trace. `Default` gives the benchmark workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateConfig {
    /// Number of jobs to write.
    pub jobs: u64,
    /// Master seed; every random stream is derived from it.
    pub seed: u64,
    /// Mean arrivals per second (default 40: a busy account, under the 50 SubmitJob/s quota).
    /// Diurnal: the mean over a day; bursts: the base rate, bursts come on top.
    pub rate_per_s: f64,
    /// The arrival process (default Poisson).
    pub arrivals: ArrivalModel,
    /// Diurnal sinusoid: relative swing around the mean, 0..=1 (default 0.5).
    pub diurnal_amplitude: f64,
    /// Diurnal sinusoid: hour of the day of the highest rate, 0..24 (default 14).
    pub diurnal_peak_hour: f64,
    /// Diurnal: 24 relative rates, hour 0 first (replaces the sinusoid); empty = none.
    pub hourly_profile: Vec<f64>,
    /// Bursts: submissions per burst (default 100).
    pub burst_jobs: u32,
    /// Bursts: seconds between bursts (default 3600).
    pub burst_interval_s: f64,
    /// Job queue names (default `["default"]`).
    pub queues: Vec<String>,
    /// Relative weights of `queues`, one each; empty = uniform.
    pub queue_weights: Vec<f64>,
    /// The run-time distribution (default log-normal).
    pub runtime: RuntimeModel,
    /// Log-normal: median run time in seconds (default 600).
    pub runtime_median_s: f64,
    /// Log-normal: sigma of the log of the run time (default 1.0).
    pub runtime_sigma: f64,
    /// Weibull: shape k > 0 (default 0.7).
    pub weibull_shape: f64,
    /// Weibull: scale λ, seconds (default 900).
    pub weibull_scale_s: f64,
    /// Exponential: mean run time, seconds (default 600).
    pub runtime_mean_s: f64,
    /// Empirical: ascending run times at equally spaced probabilities 0..=1 (at least 2).
    pub runtime_quantiles_s: Vec<f64>,
    /// Empirical job shapes; when given they replace the built-in size mix and `gpu_share`.
    pub shapes: Vec<JobShape>,
    /// Share of jobs that are GPU jobs, 0..=1 (default 0.03).
    pub gpu_share: f64,
    /// Share of jobs whose container exits with code 1, 0..=1 (default 0.02).
    pub failure_share: f64,
    /// Share of jobs that are children of array jobs, 0..=1 (default 0).
    pub array_share: f64,
    /// Share of rows that depend on an earlier row, 0..=1 (default 0).
    pub dependency_share: f64,
    /// Share of arrivals that are fan-out/fan-in workflows, 0..=1 (default 0).
    pub fan_share: f64,
    /// Parallel children of a fan-out (default 8; 2..=20 as rows, 2..=10,000 as an array).
    pub fan_width: u32,
    /// Submit a fan-out's children as one array job instead of one row each.
    pub fan_as_array: bool,
    /// Share of arrivals that are chains, 0..=1 (default 0; with `fan_share` at most 1).
    pub chain_share: f64,
    /// Jobs in a chain, 2..=10,000 (default 4).
    pub chain_length: u32,
    /// Requested run times (the user's estimate, read by backfilling): `[low, high]` gives
    /// every job a `requested_time_s` of its run time × a factor drawn uniformly from
    /// `low..=high` (1 ≤ low ≤ high ≤ 100; `[1, 1]` is an exact estimate). Empty (the
    /// default): no `requested_time_s` column.
    pub requested_time_factor: Vec<f64>,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            jobs: 1_000,
            seed: 1,
            rate_per_s: 40.0,
            arrivals: ArrivalModel::Poisson,
            diurnal_amplitude: 0.5,
            diurnal_peak_hour: 14.0,
            hourly_profile: Vec::new(),
            burst_jobs: 100,
            burst_interval_s: 3600.0,
            queues: vec!["default".to_string()],
            queue_weights: Vec::new(),
            runtime: RuntimeModel::Lognormal,
            runtime_median_s: 600.0,
            runtime_sigma: 1.0,
            weibull_shape: 0.7,
            weibull_scale_s: 900.0,
            runtime_mean_s: 600.0,
            runtime_quantiles_s: Vec::new(),
            shapes: Vec::new(),
            gpu_share: 0.03,
            failure_share: 0.02,
            array_share: 0.0,
            dependency_share: 0.0,
            fan_share: 0.0,
            fan_width: 8,
            fan_as_array: false,
            chain_share: 0.0,
            chain_length: 4,
            requested_time_factor: Vec::new(),
        }
    }
}

/// `v` is finite and > 0.
fn positive(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be > 0, got {v}"))
    }
}

impl GenerateConfig {
    /// Whether rows carry `array_size` and `depends_on` cells.
    pub fn has_job_columns(&self) -> bool {
        self.array_share > 0.0
            || self.dependency_share > 0.0
            || self.fan_share > 0.0
            || self.chain_share > 0.0
    }

    /// Checks the parameters; the message names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        positive("rate_per_s", self.rate_per_s)?;
        positive("runtime_median_s", self.runtime_median_s)?;
        if !(self.runtime_sigma.is_finite() && self.runtime_sigma >= 0.0) {
            return Err(format!(
                "runtime_sigma must be >= 0, got {}",
                self.runtime_sigma
            ));
        }
        positive("weibull_shape", self.weibull_shape)?;
        positive("weibull_scale_s", self.weibull_scale_s)?;
        positive("runtime_mean_s", self.runtime_mean_s)?;
        positive("burst_interval_s", self.burst_interval_s)?;
        for (name, v) in [
            ("gpu_share", self.gpu_share),
            ("failure_share", self.failure_share),
            ("array_share", self.array_share),
            ("dependency_share", self.dependency_share),
            ("diurnal_amplitude", self.diurnal_amplitude),
            ("fan_share", self.fan_share),
            ("chain_share", self.chain_share),
            ("fan_share + chain_share", self.fan_share + self.chain_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be within 0..=1, got {v}"));
            }
        }
        if !(0.0..24.0).contains(&self.diurnal_peak_hour) {
            return Err(format!(
                "diurnal_peak_hour must be within 0..24, got {}",
                self.diurnal_peak_hour
            ));
        }
        self.validate_lists()?;
        self.validate_workflows()?;
        self.validate_requested_time()?;
        if self.queues.is_empty() {
            return Err("queues must name at least one job queue".to_string());
        }
        for q in &self.queues {
            if q.is_empty() || q.contains([',', '"', '\n', '\r']) {
                return Err(format!(
                    "queue name `{q}` must be non-empty and free of commas, quotes and line breaks"
                ));
            }
        }
        Ok(())
    }

    fn validate_lists(&self) -> Result<(), String> {
        // The sum must be finite too: 24 × 1e308 overflows to infinity, and an infinite mean
        // rate would make the thinning loop never accept an arrival.
        let weights_ok = |w: &[f64]| {
            let sum = w.iter().sum::<f64>();
            w.iter().all(|x| x.is_finite() && *x >= 0.0) && sum > 0.0 && sum.is_finite()
        };
        if !self.hourly_profile.is_empty()
            && (self.hourly_profile.len() != 24 || !weights_ok(&self.hourly_profile))
        {
            return Err("hourly_profile must hold 24 rates ≥ 0, not all 0".to_string());
        }
        if !self.queue_weights.is_empty()
            && (self.queue_weights.len() != self.queues.len() || !weights_ok(&self.queue_weights))
        {
            return Err(format!(
                "queue_weights must hold one weight ≥ 0 per queue ({}), not all 0",
                self.queues.len()
            ));
        }
        let q = &self.runtime_quantiles_s;
        if self.runtime == super::RuntimeModel::Empirical
            && (q.len() < 2
                || q.iter().any(|x| !(x.is_finite() && *x >= 0.0))
                || q.windows(2).any(|w| w[1] < w[0]))
        {
            return Err(
                "runtime_quantiles_s must hold at least 2 ascending run times ≥ 0".to_string(),
            );
        }
        for s in &self.shapes {
            if s.vcpus == 0 || s.memory_mib == 0 || !(s.weight.is_finite() && s.weight > 0.0) {
                return Err(format!(
                    "shapes: every shape needs vcpus ≥ 1, memory_mib ≥ 1 and a weight > 0, \
                     got {s:?}"
                ));
            }
        }
        Ok(())
    }

    /// The `[low, high]` factor range of requested run times, if any.
    pub fn requested_time_range(&self) -> Option<(f64, f64)> {
        match self.requested_time_factor[..] {
            [lo, hi] => Some((lo, hi)),
            _ => None,
        }
    }

    fn validate_requested_time(&self) -> Result<(), String> {
        let f = &self.requested_time_factor;
        let ok = match f[..] {
            [] => true,
            [lo, hi] => lo.is_finite() && hi.is_finite() && 1.0 <= lo && lo <= hi && hi <= 100.0,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "requested_time_factor must be [low, high] with 1 ≤ low ≤ high ≤ 100 (requested \
                 time = run time × a factor drawn uniformly from low..=high), got {f:?}"
            ))
        }
    }

    fn validate_workflows(&self) -> Result<(), String> {
        let widths = if self.fan_as_array {
            2..=10_000
        } else {
            2..=20
        };
        if self.fan_share > 0.0 && !widths.contains(&self.fan_width) {
            return Err(format!(
                "fan_width must be within {}..={} ({}), got {}",
                widths.start(),
                widths.end(),
                if self.fan_as_array {
                    "the array sizes AWS accepts"
                } else {
                    "the join depends on every child and AWS allows 20 dependencies; use \
                     fan_as_array for wider fans"
                },
                self.fan_width
            ));
        }
        if self.chain_share > 0.0 && !(2..=10_000).contains(&self.chain_length) {
            return Err(format!(
                "chain_length must be within 2..=10000, got {}",
                self.chain_length
            ));
        }
        Ok(())
    }
}
