//! Array jobs and random dependencies (`array_share`, `dependency_share`): the
//! `array_size` and `depends_on` cells of plain rows. See the parent module's docs.

use super::{GenerateConfig, ARRAY_SIZES, DEPENDENCY_WINDOW};
use crate::sim::rng::stream;
use rand::Rng;
use rand_pcg::Pcg64;

/// Draws an array size, log-uniform over [`ARRAY_SIZES`], with one draw.
pub(super) fn array_size(rng: &mut Pcg64) -> u32 {
    let (lo, hi) = (
        f64::from(*ARRAY_SIZES.start()),
        f64::from(*ARRAY_SIZES.end()) + 1.0,
    );
    let x = (lo.ln() + rng.gen::<f64>() * (hi.ln() - lo.ln())).exp();
    (x as u32).clamp(*ARRAY_SIZES.start(), *ARRAY_SIZES.end())
}

/// Mean of [`array_size`]'s distribution.
fn mean_array_size() -> f64 {
    let (lo, hi) = (
        f64::from(*ARRAY_SIZES.start()),
        f64::from(*ARRAY_SIZES.end()) + 1.0,
    );
    let span = hi.ln() - lo.ln();
    ARRAY_SIZES
        .map(|k| {
            let k = f64::from(k);
            k * ((k + 1.0).ln() - k.ln()) / span
        })
        .sum()
}

/// The probability that a row is an array job so that `share` of all jobs are children:
/// solves `share = p·m / (p·m + 1 − p)` for `p`, `m` the mean array size.
fn array_row_probability(share: f64) -> f64 {
    let m = mean_array_size();
    share / (m * (1.0 - share) + share)
}

/// The `array_size` and `depends_on` cells of the rows, when either share is above 0.
pub(super) struct JobColumns {
    arrays: Pcg64,
    deps: Pcg64,
    p_array: f64,
    dependency_share: f64,
    /// Array size of recent rows (0 = plain), by row number modulo the window.
    recent: Vec<u32>,
}

impl JobColumns {
    pub(super) fn new(cfg: &GenerateConfig) -> Self {
        JobColumns {
            arrays: stream(cfg.seed, "arrays"),
            deps: stream(cfg.seed, "dependencies"),
            p_array: array_row_probability(cfg.array_share),
            dependency_share: cfg.dependency_share,
            recent: vec![0; DEPENDENCY_WINDOW as usize],
        }
    }

    /// Decides row `row` (1-based) with `left` jobs still to write; returns the jobs it
    /// holds and writes `,{array_size},{depends_on}` into `cells`. Each stream takes a fixed
    /// number of draws per row.
    pub(super) fn row(&mut self, row: u64, left: u64, cells: &mut String) -> u64 {
        use std::fmt::Write as _;
        cells.clear();
        let is_array = self.arrays.gen::<f64>() < self.p_array;
        let mut size = array_size(&mut self.arrays);
        let has_deps = self.deps.gen::<f64>() < self.dependency_share;
        let two = self.deps.gen_range(0..4u32) == 0;
        let back = [
            self.deps.gen_range(1..=DEPENDENCY_WINDOW),
            self.deps.gen_range(1..=DEPENDENCY_WINDOW),
        ];
        let n_to_n = self.deps.gen::<bool>();
        let slot = |r: u64| (r % DEPENDENCY_WINDOW) as usize;
        let targets: Vec<u64> = if has_deps && row > 1 {
            let mut t: Vec<u64> = back[..if two { 2 } else { 1 }]
                .iter()
                .map(|&b| row - 1 - (b - 1) % (row - 1).min(DEPENDENCY_WINDOW))
                .collect();
            t.dedup();
            t
        } else {
            Vec::new()
        };
        let first_size = targets.first().map_or(0, |&t| self.recent[slot(t)]);
        let n_to_n = is_array && n_to_n && first_size > 0 && u64::from(first_size) <= left;
        if n_to_n {
            size = first_size;
        }
        let size = if is_array && left >= 2 {
            size.min(u32::try_from(left).unwrap_or(u32::MAX))
        } else {
            0
        };
        self.recent[slot(row)] = size;
        cells.push(',');
        if size > 0 {
            let _ = write!(cells, "{size}");
        }
        cells.push(',');
        for (i, t) in targets.iter().enumerate() {
            if i > 0 {
                cells.push(';');
            }
            let _ = write!(cells, "job-{t:09}");
            if i == 0 && n_to_n && size == first_size {
                cells.push_str(":N_TO_N");
            }
        }
        u64::from(size.max(1))
    }

    /// Records the array size (0 = plain) of a row written by someone else (a workflow),
    /// for later `N_TO_N` choices.
    pub(super) fn note(&mut self, row: u64, size: u32) {
        self.recent[(row % DEPENDENCY_WINDOW) as usize] = size;
    }
}
