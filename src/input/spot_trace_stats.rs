//! The exact (Garwood) confidence interval of a Poisson rate, for the interruption rates
//! fitted to measured Spot traces.
//!
//! With `k` events over an exposure `E`, the interval for the mean count `μ` at confidence
//! `1 − α` is `[L, U]` with `P(X ≥ k; L) = α/2` and `P(X ≤ k; U) = α/2`; the rate interval
//! is `[L/E, U/E]`. Both are found through the regularized incomplete gamma function
//! (`P(X ≥ k; μ) = P(k, μ)`, `P(X ≤ k; μ) = 1 − P(k + 1, μ)`), solved by bisection.

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine terms; about 15 significant digits).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let sum = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized lower incomplete gamma function `P(a, x)`, `a > 0`, `x ≥ 0`.
pub(crate) fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        // Series: P = e^{-x} x^a / Γ(a) · Σ x^n / (a (a+1) … (a+n)).
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        (sum * front).min(1.0)
    } else {
        // Continued fraction for Q = 1 − P (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            d = if d.abs() < tiny { tiny } else { d };
            c = b + an / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (1.0 - front * h).clamp(0.0, 1.0)
    }
}

/// The `μ` at which `P(a, μ) = p` (`0 < p < 1`), by bisection.
fn gamma_p_inverse(a: f64, p: f64) -> f64 {
    let mut hi = a + 10.0 * a.sqrt() + 50.0;
    while gamma_p(a, hi) < p {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if gamma_p(a, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The exact two-sided confidence interval `[L, U]` of a Poisson mean after observing `k`
/// events, at confidence `1 − alpha` (e.g. `alpha = 0.05`).
pub fn poisson_interval(k: u64, alpha: f64) -> (f64, f64) {
    let lower = if k == 0 {
        0.0
    } else {
        gamma_p_inverse(k as f64, alpha / 2.0)
    };
    let upper = gamma_p_inverse(k as f64 + 1.0, 1.0 - alpha / 2.0);
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-12)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        let mut f = 1.0f64;
        for n in 1..30u32 {
            assert!((ln_gamma(n as f64) - f.ln()).abs() < 1e-10, "n={n}");
            f *= n as f64;
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn gamma_p_of_one_is_the_exponential_cdf() {
        for x in [0.01, 0.5, 1.0, 2.0, 7.5, 40.0] {
            assert!(close(gamma_p(1.0, x), 1.0 - (-x).exp(), 1e-12), "x={x}");
        }
    }

    #[test]
    fn garwood_table_values() {
        // Published exact 95% limits for a Poisson count (Garwood 1936).
        let (l, u) = poisson_interval(0, 0.05);
        assert_eq!(l, 0.0);
        assert!(close(u, 3.688_879, 1e-5), "{u}");
        let (l, u) = poisson_interval(1, 0.05);
        assert!(
            close(l, 0.025_318, 1e-4) && close(u, 5.571_643, 1e-5),
            "{l} {u}"
        );
        let (l, u) = poisson_interval(10, 0.05);
        assert!(
            close(l, 4.795_389, 1e-5) && close(u, 18.390_356, 1e-5),
            "{l} {u}"
        );
        let (l, u) = poisson_interval(1000, 0.05);
        assert!(l < 1000.0 && u > 1000.0 && close(u - l, 2.0 * 1.96 * 1000f64.sqrt(), 0.02));
    }
}
