//! Run-time distributions. Every draw is clamped to 1 s .. 48 h
//! ([`super::MIN_RUN_TIME_MS`], [`super::MAX_RUN_TIME_MS`]).
//!
//! - **Log-normal** (`runtime = "lognormal"`, the default): median `runtime_median_s`,
//!   sigma of the log `runtime_sigma`.
//! - **Weibull** (`"weibull"`): shape `weibull_shape` (below 1: many short jobs and a heavy
//!   tail, as batch traces often show), scale `weibull_scale_s`; the median is
//!   `scale · ln(2)^(1/shape)`.
//! - **Exponential** (`"exponential"`): mean `runtime_mean_s`.
//! - **Empirical** (`"empirical"`): `runtime_quantiles_s`, n ≥ 2 ascending run times at
//!   equally spaced probabilities 0, 1/(n−1), …, 1 (the first is the minimum, the last the
//!   maximum); a draw picks a uniform probability and interpolates linearly between the two
//!   quantiles around it. `flotilla generate --like` fills it from a trace.

use super::GenerateConfig;
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Weibull};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

/// Which run-time distribution a trace uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeModel {
    /// Log-normal.
    #[default]
    Lognormal,
    /// Weibull.
    Weibull,
    /// Exponential.
    Exponential,
    /// Interpolated quantiles of a real trace.
    Empirical,
}

impl std::str::FromStr for RuntimeModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "lognormal" | "log-normal" => Ok(RuntimeModel::Lognormal),
            "weibull" => Ok(RuntimeModel::Weibull),
            "exponential" => Ok(RuntimeModel::Exponential),
            "empirical" => Ok(RuntimeModel::Empirical),
            _ => Err(format!(
                "unknown run-time distribution `{s}`: expected lognormal, weibull, \
                 exponential or empirical"
            )),
        }
    }
}

/// A ready sampler of run times, seconds (before clamping).
pub(crate) enum RuntimeSampler<'c> {
    LogNormal(LogNormal<f64>),
    Weibull(Weibull<f64>),
    Exponential(Exp<f64>),
    Empirical(&'c [f64]),
}

impl<'c> RuntimeSampler<'c> {
    /// The sampler of a configuration (checked by [`GenerateConfig::validate`]).
    pub(crate) fn new(cfg: &'c GenerateConfig) -> Result<Self, String> {
        Ok(match cfg.runtime {
            RuntimeModel::Lognormal => RuntimeSampler::LogNormal(
                LogNormal::new(cfg.runtime_median_s.ln(), cfg.runtime_sigma)
                    .map_err(|e| e.to_string())?,
            ),
            RuntimeModel::Weibull => RuntimeSampler::Weibull(
                Weibull::new(cfg.weibull_scale_s, cfg.weibull_shape).map_err(|e| e.to_string())?,
            ),
            RuntimeModel::Exponential => RuntimeSampler::Exponential(
                Exp::new(1.0 / cfg.runtime_mean_s).map_err(|e| e.to_string())?,
            ),
            RuntimeModel::Empirical => RuntimeSampler::Empirical(&cfg.runtime_quantiles_s),
        })
    }

    /// One run time in seconds.
    pub(crate) fn sample(&self, rng: &mut Pcg64) -> f64 {
        match self {
            RuntimeSampler::LogNormal(d) => d.sample(rng),
            RuntimeSampler::Weibull(d) => d.sample(rng),
            RuntimeSampler::Exponential(d) => d.sample(rng),
            RuntimeSampler::Empirical(q) => interpolate(q, rng.gen::<f64>()),
        }
    }
}

/// The value at probability `u` (0..=1) of equally spaced quantiles `q` (n ≥ 2).
pub fn interpolate(q: &[f64], u: f64) -> f64 {
    let x = u.clamp(0.0, 1.0) * (q.len() - 1) as f64;
    let i = (x as usize).min(q.len() - 2);
    let f = x - i as f64;
    q[i] + (q[i + 1] - q[i]) * f
}
