//! Turning run records into chart series: time buckets, cumulative sums, CDFs and stacks.
//! Pure arithmetic, no drawing, so it is tested on hand-made inputs.

/// Most time buckets a chart has: enough for a smooth line at ~900 px, few enough that a run
/// of millions of jobs costs one pass plus O(buckets).
pub const MAX_BUCKETS: usize = 1000;

/// Time split into equal buckets from 0 to `end` seconds, with per-bucket sums of step
/// functions (time-weighted averages) or point counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets {
    /// Bucket width, seconds.
    pub width: f64,
    /// Number of buckets.
    pub n: usize,
    // A difference array for the buckets an interval covers whole (O(1) per interval, however
    // long), plus direct adds for the partly covered ends.
    diff: Vec<f64>,
    part: Vec<f64>,
}

impl Buckets {
    /// Buckets over `[0, end)`: at most `max` of them, each a whole number of seconds wide
    /// (at least 1 s) so the x axis reads cleanly.
    pub fn new(end: f64, max: usize) -> Self {
        let end = if end.is_finite() && end > 0.0 {
            end
        } else {
            1.0
        };
        let width = (end / max.max(1) as f64).ceil().max(1.0);
        let n = ((end / width).ceil() as usize).max(1);
        Buckets {
            width,
            n,
            diff: vec![0.0; n + 1],
            part: vec![0.0; n],
        }
    }

    /// Start time of bucket `k`, seconds.
    pub fn start(&self, k: usize) -> f64 {
        k as f64 * self.width
    }

    /// End of the last bucket, seconds.
    pub fn end(&self) -> f64 {
        self.n as f64 * self.width
    }

    /// Adds `value` over `[a, b)`: each bucket gets `value` times the share of it covered.
    /// Times outside `[0, end)` are clipped; empty or inverted intervals add nothing.
    pub fn add_interval(&mut self, a: f64, b: f64, value: f64) {
        let (a, b) = (a.max(0.0), b.min(self.end()));
        // Also catches NaN bounds, which compare false.
        if b.partial_cmp(&a) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let w = self.width;
        let ka = ((a / w) as usize).min(self.n - 1);
        let kb = (b / w) as usize; // may be n when b == end
        if ka == kb {
            self.part[ka] += value * (b - a) / w;
            return;
        }
        self.part[ka] += value * ((ka + 1) as f64 * w - a) / w;
        if kb < self.n {
            self.part[kb] += value * (b - kb as f64 * w) / w;
        }
        self.diff[ka + 1] += value;
        self.diff[kb] -= value;
    }

    /// Adds `value` to the bucket holding time `t` (points past the end go to the last one).
    pub fn add_point(&mut self, t: f64, value: f64) {
        if t.is_finite() && t >= 0.0 {
            let k = ((t / self.width) as usize).min(self.n - 1);
            self.part[k] += value;
        }
    }

    /// The per-bucket values.
    pub fn values(&self) -> Vec<f64> {
        let mut level = 0.0;
        (0..self.n)
            .map(|k| {
                level += self.diff[k];
                level + self.part[k]
            })
            .collect()
    }
}

/// Running total of `values`.
pub fn cumulative(values: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    values
        .iter()
        .map(|v| {
            sum += v;
            sum
        })
        .collect()
}

/// Empirical CDF of `values` (sorted here) as at most `max_points` points `(x, share <= x)`,
/// taken at evenly spaced ranks so that a million waits draw as a thousand points.
pub fn cdf(values: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || max_points == 0 {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = n.min(max_points);
    (1..=m)
        .map(|i| {
            // The highest rank of the i-th of m equal slices (1-based), so the last point is
            // always (max, 1).
            let rank = (i * n).div_ceil(m);
            (v[rank - 1], rank as f64 / n as f64)
        })
        .collect()
}

/// Keeps the `keep` series with the largest totals (in their original order) and sums the
/// rest into one named `other`, appended last; every series must have the same length.
pub fn top_and_other(series: Vec<(String, Vec<f64>)>, keep: usize) -> Vec<(String, Vec<f64>)> {
    if series.len() <= keep {
        return series;
    }
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let mut order: Vec<usize> = (0..series.len()).collect();
    // Largest first; ties by original position so the choice is deterministic.
    order.sort_by(|&a, &b| {
        total(&series[b].1)
            .total_cmp(&total(&series[a].1))
            .then(a.cmp(&b))
    });
    let kept: std::collections::BTreeSet<usize> = order.into_iter().take(keep).collect();
    let len = series.first().map_or(0, |s| s.1.len());
    let mut other = vec![0.0; len];
    let mut out = Vec::with_capacity(keep + 1);
    for (i, (name, values)) in series.into_iter().enumerate() {
        if kept.contains(&i) {
            out.push((name, values));
        } else {
            for (o, v) in other.iter_mut().zip(&values) {
                *o += v;
            }
        }
    }
    out.push(("other".to_string(), other));
    out
}

/// Stacks series: layer `i` is the sum of series `0..=i`, the upper edge of its band.
pub fn stack(series: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut acc: Vec<f64> = vec![0.0; series.first().map_or(0, Vec::len)];
    series
        .iter()
        .map(|s| {
            for (a, v) in acc.iter_mut().zip(s) {
                *a += v;
            }
            acc.clone()
        })
        .collect()
}

/// The x unit of a time axis: seconds for spans up to two hours, hours beyond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds.
    Seconds,
    /// Hours.
    Hours,
}

impl TimeUnit {
    /// The unit that reads best for a span of `secs`.
    pub fn for_span(secs: f64) -> Self {
        if secs > 7200.0 {
            TimeUnit::Hours
        } else {
            TimeUnit::Seconds
        }
    }

    /// Seconds in one unit.
    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Hours => 3600.0,
        }
    }

    /// The unit's name in axis labels.
    pub fn label(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "s",
            TimeUnit::Hours => "h",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn bucket_width_is_whole_seconds_and_count_capped() {
        let b = Buckets::new(10.0, 4);
        // 10 s in at most 4 buckets: 3 s wide, 4 buckets (the last one reaches 12 s).
        assert_eq!((b.width, b.n), (3.0, 4));
        let b = Buckets::new(0.5, 1000);
        assert_eq!((b.width, b.n), (1.0, 1));
        let b = Buckets::new(3_600_000.0, MAX_BUCKETS);
        assert!(b.n <= MAX_BUCKETS);
    }

    #[test]
    fn intervals_are_time_weighted() {
        // Buckets [0,2) [2,4) [4,6) [6,8).
        let mut b = Buckets::new(8.0, 4);
        b.add_interval(1.0, 7.0, 2.0); // half of bucket 0, all of 1 and 2, half of 3
        b.add_interval(2.5, 3.0, 4.0); // a quarter of bucket 1
        b.add_interval(5.0, 5.0, 100.0); // empty
        assert!(
            close(&b.values(), &[1.0, 3.0, 2.0, 1.0]),
            "{:?}",
            b.values()
        );
    }

    #[test]
    fn intervals_clip_at_both_ends() {
        let mut b = Buckets::new(4.0, 2); // [0,2) [2,4)
        b.add_interval(-10.0, 1.0, 2.0);
        b.add_interval(3.0, 99.0, 2.0);
        b.add_interval(0.0, 4.0, 1.0); // ends exactly at the end
        assert!(close(&b.values(), &[2.0, 2.0]), "{:?}", b.values());
    }

    #[test]
    fn points_count_per_bucket() {
        let mut b = Buckets::new(6.0, 3);
        for t in [0.0, 1.9, 2.0, 5.9, 60.0, -1.0, f64::NAN] {
            b.add_point(t, 1.0);
        }
        // -1 and NaN are dropped; 60 s past the end lands in the last bucket.
        assert!(close(&b.values(), &[2.0, 1.0, 2.0]), "{:?}", b.values());
        assert!(close(&cumulative(&b.values()), &[2.0, 3.0, 5.0]));
    }

    #[test]
    fn cdf_of_few_and_many() {
        assert_eq!(
            cdf(&[4.0, 1.0, 3.0, 2.0], 10),
            vec![(1.0, 0.25), (2.0, 0.5), (3.0, 0.75), (4.0, 1.0)]
        );
        // Ten values in two points: the 5th and 10th smallest.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(cdf(&v, 2), vec![(5.0, 0.5), (10.0, 1.0)]);
        // Three values in two points: ranks ceil(1.5) = 2 and 3.
        assert_eq!(cdf(&[9.0, 7.0, 8.0], 2), vec![(8.0, 2.0 / 3.0), (9.0, 1.0)]);
        assert!(cdf(&[], 5).is_empty());
    }

    #[test]
    fn top_series_kept_rest_summed() {
        let s = vec![
            ("a".to_string(), vec![1.0, 0.0]),
            ("b".to_string(), vec![5.0, 5.0]),
            ("c".to_string(), vec![0.0, 2.0]),
            ("d".to_string(), vec![3.0, 3.0]),
        ];
        let t = top_and_other(s, 2);
        let names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b", "d", "other"]);
        assert_eq!(t[2].1, vec![1.0, 2.0]);
        let few = top_and_other(vec![("x".to_string(), vec![1.0])], 8);
        assert_eq!(few.len(), 1);
    }

    #[test]
    fn stacking_adds_layers() {
        let layers = stack(&[vec![1.0, 2.0], vec![3.0, 0.0], vec![0.5, 0.5]]);
        assert_eq!(layers, vec![vec![1.0, 2.0], vec![4.0, 2.0], vec![4.5, 2.5]]);
    }

    #[test]
    fn time_unit_by_span() {
        assert_eq!(TimeUnit::for_span(600.0), TimeUnit::Seconds);
        assert_eq!(TimeUnit::for_span(86_400.0), TimeUnit::Hours);
    }
}
