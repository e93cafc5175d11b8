//! Synthetic Spot prices for what-ifs without a history: an Ornstein–Uhlenbeck process in log
//! price (exactly discretised, so an AR(1) at the step interval) around a pool's base price.
//!
//! With `x = ln p`, step `Δ` hours, `a = e^(−θΔ)`:
//! `x' = μ + (x − μ)·a + σ·√((1 − a²)/(2θ))·ε`, `ε ~ N(0, 1)` (`θ = 0`: a random walk,
//! `x' = x + σ√Δ·ε`). `μ = ln(base) − σ²/(4θ)`, so that the stationary mean of `p` (a
//! log-normal with variance `σ²/(2θ)` in log space) is the base price itself. The process
//! starts at the base price. The price a pool shows is `e^x` rounded to the micro-dollar and
//! clamped to `[1 µ$, On-Demand]` (the latent `x` is not clamped, so a clamp does not stick).
//! Each pool draws from its own stream `spot-prices/<type>/<zone>`.

use super::pool_spec::SyntheticPrices;
use crate::model::MicroUsd;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64;

/// One pool's synthetic price process.
#[derive(Clone, Debug)]
pub struct PriceProcess {
    x: f64,
    mu: f64,
    a: f64,
    sd: f64,
    cap: MicroUsd,
    rng: Pcg64,
}

impl PriceProcess {
    /// A process around `base` (clamped to `on_demand`), stepping as `model` says.
    pub fn new(model: &SyntheticPrices, base: MicroUsd, on_demand: MicroUsd, rng: Pcg64) -> Self {
        let base = base.min(on_demand).max(MicroUsd(1));
        let x = (base.0 as f64).ln();
        let dt = model.step.as_millis() as f64 / 3_600_000.0;
        let (theta, sigma) = (model.reversion_per_hour, model.volatility);
        let (mu, a, sd) = if theta > 0.0 {
            let a = (-theta * dt).exp();
            let var = sigma * sigma * (1.0 - a * a) / (2.0 * theta);
            (x - sigma * sigma / (4.0 * theta), a, var.sqrt())
        } else {
            (x, 1.0, sigma * dt.sqrt())
        };
        PriceProcess {
            x,
            mu,
            a,
            sd,
            cap: on_demand.max(MicroUsd(1)),
            rng,
        }
    }

    /// Moves one step and returns the new price.
    pub fn step(&mut self) -> MicroUsd {
        let e: f64 = StandardNormal.sample(&mut self.rng);
        self.x = self.mu + (self.x - self.mu) * self.a + self.sd * e;
        // Keep the latent state finite whatever the parameters.
        self.x = self.x.clamp(-50.0, 50.0);
        let p = self.x.exp().round();
        MicroUsd((p as u64).clamp(1, self.cap.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SimDuration;
    use crate::sim::rng::stream;

    fn model(vol: f64, theta: f64) -> SyntheticPrices {
        SyntheticPrices {
            volatility: vol,
            reversion_per_hour: theta,
            step: SimDuration::from_secs(300),
        }
    }

    fn series(seed: u64, m: &SyntheticPrices, n: usize) -> Vec<MicroUsd> {
        let mut p = PriceProcess::new(
            m,
            MicroUsd(40_000),
            MicroUsd(85_000),
            stream(seed, "spot-prices/c5.large/a"),
        );
        (0..n).map(|_| p.step()).collect()
    }

    #[test]
    fn same_seed_same_series_other_seed_other_series() {
        let m = model(0.3, 0.5);
        assert_eq!(series(7, &m, 500), series(7, &m, 500));
        assert_ne!(series(7, &m, 500), series(8, &m, 500));
    }

    #[test]
    fn long_run_mean_is_the_base_price() {
        // 200,000 five-minute steps ≈ 2 years; θ = 0.5/h decorrelates in a few hours.
        let m = model(0.2, 0.5);
        let s = series(3, &m, 200_000);
        let mean = s.iter().map(|p| p.0 as f64).sum::<f64>() / s.len() as f64;
        assert!((mean / 40_000.0 - 1.0).abs() < 0.01, "mean {mean}");
        // It does move: the log price's spread is near σ/√(2θ) = 0.2.
        let sd = (s
            .iter()
            .map(|p| ((p.0 as f64).ln() - 40_000f64.ln()).powi(2))
            .sum::<f64>()
            / s.len() as f64)
            .sqrt();
        assert!((0.15..0.25).contains(&sd), "sd {sd}");
    }

    #[test]
    fn never_above_on_demand_nor_at_zero() {
        for m in [model(3.0, 0.1), model(1.0, 0.0), model(10.0, 1000.0)] {
            for p in series(11, &m, 20_000) {
                assert!(p.0 >= 1 && p <= MicroUsd(85_000), "{p:?}");
            }
        }
    }
}
