//! Summaries over seeds: mean, sample standard deviation and the 95% confidence interval of
//! the mean (Student's t), quantiles, and the Pareto front of a set of points.

use serde::Serialize;

/// One metric of one grid point over its seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Runs summarised.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single run).
    pub sd: f64,
    /// Lower end of the 95% confidence interval of the mean.
    pub ci95_lo: f64,
    /// Upper end of the 95% confidence interval of the mean.
    pub ci95_hi: f64,
}

impl Estimate {
    /// Summarises `xs` (in the order given, so the sums are the same on every machine).
    /// With one value the interval is that value: one run says nothing about spread, and
    /// the table shows `sd` 0 and `n` 1 so a reader can tell.
    pub fn of(xs: &[f64]) -> Estimate {
        let n = xs.len();
        if n == 0 {
            return Estimate {
                n,
                mean: f64::NAN,
                sd: f64::NAN,
                ci95_lo: f64::NAN,
                ci95_hi: f64::NAN,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Estimate {
                n,
                mean,
                sd: 0.0,
                ci95_lo: mean,
                ci95_hi: mean,
            };
        }
        let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        let sd = (ss / (n - 1) as f64).sqrt();
        let half = t_975(n - 1) * sd / (n as f64).sqrt();
        Estimate {
            n,
            mean,
            sd,
            ci95_lo: mean - half,
            ci95_hi: mean + half,
        }
    }
}

/// Student's t 0.975 quantiles for 1 to 30 degrees of freedom (standard tables).
const T_975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.045230, 2.042272,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom: the table up to 30, then
/// the Cornish–Fisher expansion around the normal quantile (error below 1e-5 from 30 on).
pub fn t_975(df: usize) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    if df <= 30 {
        return T_975[df - 1];
    }
    let z: f64 = 1.959_963_985;
    let v = df as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    z + g1 / v + g2 / (v * v) + g3 / (v * v * v)
}

/// The smallest value `x` of `xs` such that at least a `share` of the values are ≤ `x`
/// (the ⌈share·n⌉-th smallest): the target a point would meet with that confidence.
pub fn quantile_at(xs: &[f64], share: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    // The same ⌈share·n⌉ as the feasibility rule (`recommend::required`), with its margin
    // against 0.55 × 100 landing a hair above 55 in floating point.
    let k = (((share * v.len() as f64) - 1e-9).ceil().max(1.0) as usize).min(v.len());
    v[k - 1]
}

/// Marks the points no other point beats on both coordinates (both minimised): `front[i]`
/// is false when some point is ≤ on both and < on one. Equal points are all on the front.
/// O(n log n): sorted by the first coordinate, a point is on the front when its second is
/// below every second of the strictly cheaper points.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (points[a], points[b]);
        pa.0.total_cmp(&pb.0).then(pa.1.total_cmp(&pb.1))
    });
    let mut front = vec![false; points.len()];
    let mut best_below = f64::INFINITY; // least second coordinate among cheaper points
    let mut k = 0;
    while k < order.len() {
        let cost = points[order[k]].0;
        let group_end = order[k..]
            .iter()
            .position(|&i| points[i].0.total_cmp(&cost).is_ne())
            .map_or(order.len(), |p| k + p);
        // Within a group of equal first coordinates the least second (sorted first) wins.
        let least = points[order[k]].1;
        if least < best_below {
            for &i in &order[k..group_end] {
                front[i] = points[i].1.total_cmp(&least).is_eq();
            }
        }
        best_below = best_below.min(least);
        k = group_end;
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_example_confidence_interval() {
        // 1..5: mean 3, s² = (4+1+0+1+4)/4 = 2.5, s = 1.58114, se = s/√5 = 0.707107,
        // t(0.975, 4) = 2.776445 → half-width 1.963243.
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.n, 5);
        assert!((e.mean - 3.0).abs() < 1e-12);
        assert!((e.sd - 1.581139).abs() < 1e-6);
        assert!((e.ci95_lo - 1.036757).abs() < 1e-6, "{e:?}");
        assert!((e.ci95_hi - 4.963243).abs() < 1e-6, "{e:?}");
        // Two runs: t(1) = 12.706: 10 and 20 → mean 15, s 7.0711, half 63.53.
        let e = Estimate::of(&[10.0, 20.0]);
        assert!((e.ci95_hi - 15.0 - 63.531).abs() < 1e-3, "{e:?}");
        let one = Estimate::of(&[7.0]);
        assert_eq!((one.sd, one.ci95_lo, one.ci95_hi), (0.0, 7.0, 7.0));
        assert!(Estimate::of(&[]).mean.is_nan());
    }

    #[test]
    fn t_quantile_table_meets_expansion() {
        // Tabled values far out: t(0.975, 40) = 2.021075, 60: 2.000298, 120: 1.979930.
        assert!((t_975(40) - 2.021075).abs() < 2e-5, "{}", t_975(40));
        assert!((t_975(60) - 2.000298).abs() < 1e-5);
        assert!((t_975(120) - 1.979930).abs() < 1e-5);
        assert!((t_975(31) - 2.039513).abs() < 3e-5, "{}", t_975(31));
        assert!(t_975(0).is_nan());
    }

    #[test]
    fn quantiles_are_order_statistics() {
        let xs = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0];
        assert_eq!(quantile_at(&xs, 0.9), 9.0);
        assert_eq!(quantile_at(&xs, 0.91), 10.0);
        assert_eq!(quantile_at(&xs, 0.5), 5.0);
        assert_eq!(quantile_at(&xs, 0.0), 1.0);
    }

    #[test]
    fn pareto_front_by_hand() {
        // (cost, wait): a(1,9) b(2,5) c(2,7) d(3,5) e(4,1) f(4,1) g(5,6)
        let p = [
            (1.0, 9.0),
            (2.0, 5.0),
            (2.0, 7.0),
            (3.0, 5.0),
            (4.0, 1.0),
            (4.0, 1.0),
            (5.0, 6.0),
        ];
        let f = pareto_front(&p);
        assert_eq!(f, vec![true, true, false, false, true, true, false]);
        assert!(pareto_front(&[]).is_empty());
    }
}
