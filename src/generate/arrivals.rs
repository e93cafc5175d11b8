//! Arrival processes: when each submission (a row, or a whole workflow) arrives.
//!
//! - **Poisson** (`arrivals = "poisson"`, the default): exponential gaps of mean
//!   `1 / rate_per_s`.
//! - **Diurnal** (`"diurnal"`): a non-homogeneous Poisson process whose rate follows the
//!   hour of the day, simulated time 0 being midnight. Either a sinusoid,
//!   `rate_per_s · (1 + diurnal_amplitude · cos(2π (h − diurnal_peak_hour) / 24))` with `h`
//!   the fractional hour, or, when `hourly_profile` gives 24 weights, `rate_per_s` times the
//!   weight of the hour over the mean weight (constant within each hour). Either way the mean
//!   over a whole day is `rate_per_s`. Drawn by thinning (Lewis and Shedler): candidates
//!   arrive at the peak rate and each is kept with probability rate(t) / peak rate.
//! - **Bursts** (`"bursts"`): a Poisson base of `rate_per_s` plus `burst_jobs` submissions
//!   all at once every `burst_interval_s` seconds (at T, 2T, …), e.g. a nightly batch or a
//!   pipeline fanning out; the mean rate is `rate_per_s + burst_jobs / burst_interval_s`.
//!
//! Arrival times never decrease, so a row can always depend on the rows before it.

use super::GenerateConfig;
use rand::Rng;
use rand_distr::{Distribution, Exp};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Which arrival process a trace uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalModel {
    /// Homogeneous Poisson arrivals.
    #[default]
    Poisson,
    /// Rate varying with the hour of the day.
    Diurnal,
    /// Poisson base plus periodic bursts.
    Bursts,
}

impl std::str::FromStr for ArrivalModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "poisson" => Ok(ArrivalModel::Poisson),
            "diurnal" => Ok(ArrivalModel::Diurnal),
            "bursts" | "burst" => Ok(ArrivalModel::Bursts),
            _ => Err(format!(
                "unknown arrival process `{s}`: expected poisson, diurnal or bursts"
            )),
        }
    }
}

/// Seconds in a day.
const DAY_S: f64 = 86_400.0;

/// The relative rate (mean 1 over a day) at `t` seconds of a diurnal configuration.
pub fn diurnal_factor(cfg: &GenerateConfig, t: f64) -> f64 {
    let h = (t.rem_euclid(DAY_S)) / 3600.0;
    if cfg.hourly_profile.len() == 24 {
        let mean = cfg.hourly_profile.iter().sum::<f64>() / 24.0;
        cfg.hourly_profile[(h as usize).min(23)] / mean
    } else {
        1.0 + cfg.diurnal_amplitude * (2.0 * PI * (h - cfg.diurnal_peak_hour) / 24.0).cos()
    }
}

/// The highest relative rate of a diurnal configuration.
fn diurnal_peak(cfg: &GenerateConfig) -> f64 {
    if cfg.hourly_profile.len() == 24 {
        let mean = cfg.hourly_profile.iter().sum::<f64>() / 24.0;
        cfg.hourly_profile.iter().copied().fold(0.0, f64::max) / mean
    } else {
        1.0 + cfg.diurnal_amplitude
    }
}

/// A running arrival process: each call to [`Arrivals::next`] gives the next arrival time.
pub(crate) struct Arrivals<'c> {
    cfg: &'c GenerateConfig,
    rng: Pcg64,
    /// Exponential gaps at the base (Poisson, bursts) or peak (diurnal) rate.
    gap: Exp<f64>,
    /// The peak relative rate (diurnal).
    peak: f64,
    now: f64,
    /// Bursts: the next base arrival, the burst being emitted and how many of it are left.
    next_base: f64,
    burst_k: u64,
    burst_left: u32,
}

impl<'c> Arrivals<'c> {
    /// A process for a valid configuration, drawing from `rng`.
    pub(crate) fn new(cfg: &'c GenerateConfig, rng: Pcg64) -> Result<Self, String> {
        let peak = match cfg.arrivals {
            ArrivalModel::Diurnal => diurnal_peak(cfg),
            _ => 1.0,
        };
        let gap = Exp::new(cfg.rate_per_s * peak).map_err(|e| e.to_string())?;
        Ok(Arrivals {
            cfg,
            rng,
            gap,
            peak,
            now: 0.0,
            next_base: f64::NAN,
            burst_k: 1,
            burst_left: 0,
        })
    }

    /// The next arrival time, seconds (never less than the last).
    pub(crate) fn next(&mut self) -> f64 {
        match self.cfg.arrivals {
            // Exactly the draws of the original generator: one gap per arrival.
            ArrivalModel::Poisson => {
                self.now += self.gap.sample(&mut self.rng);
                self.now
            }
            ArrivalModel::Diurnal => loop {
                self.now += self.gap.sample(&mut self.rng);
                let keep = diurnal_factor(self.cfg, self.now) / self.peak;
                if self.rng.gen::<f64>() < keep {
                    return self.now;
                }
            },
            ArrivalModel::Bursts => self.next_bursty(),
        }
    }

    fn next_bursty(&mut self) -> f64 {
        if self.next_base.is_nan() {
            self.next_base = self.gap.sample(&mut self.rng);
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return self.now;
        }
        let burst_at = self.burst_k as f64 * self.cfg.burst_interval_s;
        if self.next_base <= burst_at || self.cfg.burst_jobs == 0 {
            self.now = self.next_base;
            self.next_base += self.gap.sample(&mut self.rng);
        } else {
            self.now = burst_at;
            self.burst_k += 1;
            self.burst_left = self.cfg.burst_jobs - 1;
        }
        self.now
    }
}
