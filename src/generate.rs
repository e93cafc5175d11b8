//! Synthetic job traces, so that benchmarks and stress runs need no committed file.
//!
//! [`write_trace`] writes a trace in flotilla's CSV format ([`TRACE_HEADER`]) from a
//! [`GenerateConfig`]. The workload model:
//!
//! - **Arrivals**: a Poisson process of `rate_per_s` (exponential inter-arrival times).
//! - **Run times**: log-normal with the given median and sigma, clamped to 1 s .. 48 h.
//! - **Sizes**: vCPUs 1 (40%), 2 (25%), 4 (18%), 8 (10%), 16 (5%), 32 (2%); memory is
//!   vCPUs × 1, 2, 4 or 8 GiB (20/45/25/10%).
//! - **GPU jobs** (`gpu_share` of jobs): 1 GPU (70%; 4 vCPUs/14,000 MiB or 8 vCPUs/28,000 MiB,
//!   even odds), 2 GPUs (15%; 8 vCPUs/28,000 MiB) or 4 GPUs (15%; 16 vCPUs/60,000 MiB). Every
//!   such shape fits a g4dn or g5 type after the memory the ECS agent keeps back
//!   ([`crate::model::registered_memory_mib`]).
//! - **Failures**: `failure_share` of jobs exit with code 1 on every attempt.
//! - **Attempts** (`retryStrategy.attempts`): 1 (80%), 2 (15%), 3 (5%).
//! - **Queues**: a uniform random choice among `queues`.
//! - **Array jobs** (`array_share` > 0): a row becomes an array job with the probability that
//!   makes about `array_share` of all jobs array children; sizes are log-uniform over
//!   2..=100. A job is a plain row or an array child (the array's parent row is not counted),
//!   and `jobs` counts jobs: rows stop when the total reaches it (the last array is cut to
//!   fit, or becomes a plain row when one job is left).
//! - **Dependencies** (`dependency_share` > 0): that share of rows (after the first) get
//!   `depends_on` on one (75%) or two (25%) distinct rows drawn uniformly among the previous
//!   1,000. When a row and the first row it depends on are both arrays, half the time the
//!   row takes that array's size and depends on it `N_TO_N`.
//!
//! With both shares 0, the header and rows are exactly [`TRACE_HEADER`] and its nine columns;
//! otherwise the header gains `array_size,depends_on` ([`TRACE_HEADER_JOBS`]) and every row
//! those two cells (empty when not used).
//!
//! Every model draws from its own named [`Pcg64`] stream ([`crate::sim::rng::stream`]), seeded from the
//! master seed and the stream's name, and every stream takes the same number of draws for
//! every job whatever the configuration. So the same configuration gives byte-identical output,
//! and changing one model (say `gpu_share`) leaves every other column unchanged.

use crate::sim::rng::stream;
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// The header line of a flotilla trace CSV (without the line break).
pub const TRACE_HEADER: &str =
    "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,run_time_s,exit_code,attempts";

/// The header when `array_share` or `dependency_share` is above 0.
pub const TRACE_HEADER_JOBS: &str = "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,\
     run_time_s,exit_code,attempts,array_size,depends_on";

/// Sizes of generated array jobs (log-uniform).
pub const ARRAY_SIZES: std::ops::RangeInclusive<u32> = 2..=100;

/// How far back a generated dependency may reach, in rows.
pub const DEPENDENCY_WINDOW: u64 = 1_000;

/// Shortest run time the generator writes, in milliseconds (1 s).
pub const MIN_RUN_TIME_MS: u64 = 1_000;

/// Longest run time the generator writes, in milliseconds (48 h).
pub const MAX_RUN_TIME_MS: u64 = 48 * 3_600 * 1_000;

/// Parameters of a synthetic trace. `Default` gives the benchmark workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateConfig {
    /// Number of jobs to write.
    pub jobs: u64,
    /// Master seed; every random stream is derived from it.
    pub seed: u64,
    /// Mean arrivals per second (default 40: a busy account, under the 50 SubmitJob/s quota).
    pub rate_per_s: f64,
    /// Job queue names, chosen uniformly per job (default `["default"]`).
    pub queues: Vec<String>,
    /// Median run time in seconds (default 600).
    pub runtime_median_s: f64,
    /// Sigma of the log-normal run-time distribution (default 1.0).
    pub runtime_sigma: f64,
    /// Share of jobs that are GPU jobs, 0..=1 (default 0.03).
    pub gpu_share: f64,
    /// Share of jobs whose container exits with code 1, 0..=1 (default 0.02).
    pub failure_share: f64,
    /// Share of jobs that are children of array jobs, 0..=1 (default 0).
    pub array_share: f64,
    /// Share of rows that depend on an earlier row, 0..=1 (default 0).
    pub dependency_share: f64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            jobs: 1_000,
            seed: 1,
            rate_per_s: 40.0,
            queues: vec!["default".to_string()],
            runtime_median_s: 600.0,
            runtime_sigma: 1.0,
            gpu_share: 0.03,
            failure_share: 0.02,
            array_share: 0.0,
            dependency_share: 0.0,
        }
    }
}

impl GenerateConfig {
    /// Checks the parameters; the message names the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate_per_s.is_finite() && self.rate_per_s > 0.0) {
            return Err(format!("rate_per_s must be > 0, got {}", self.rate_per_s));
        }
        if !(self.runtime_median_s.is_finite() && self.runtime_median_s > 0.0) {
            return Err(format!(
                "runtime_median_s must be > 0, got {}",
                self.runtime_median_s
            ));
        }
        if !(self.runtime_sigma.is_finite() && self.runtime_sigma >= 0.0) {
            return Err(format!(
                "runtime_sigma must be >= 0, got {}",
                self.runtime_sigma
            ));
        }
        for (name, v) in [
            ("gpu_share", self.gpu_share),
            ("failure_share", self.failure_share),
            ("array_share", self.array_share),
            ("dependency_share", self.dependency_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{name} must be within 0..=1, got {v}"));
            }
        }
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
}

/// vCPU counts of CPU jobs and their weights in percent.
const VCPU_MIX: [(u32, u32); 6] = [(1, 40), (2, 25), (4, 18), (8, 10), (16, 5), (32, 2)];

/// MiB per vCPU of CPU jobs and their weights in percent.
const MEMORY_PER_VCPU_MIX: [(u32, u32); 4] = [(1024, 20), (2048, 45), (4096, 25), (8192, 10)];

/// GPU job shapes `(gpus, vcpus, memory_mib)` and their weights in percent. The largest of
/// each GPU count fits, in registered memory: 1 GPU g4dn.xlarge (4 vCPUs, 15,942 MiB) and
/// g4dn.2xlarge (8 vCPUs, 31,916 MiB); 2 and 4 GPUs g4dn.12xlarge (48 vCPUs, 191,661 MiB).
const GPU_SHAPE_MIX: [((u32, u32, u32), u32); 4] = [
    ((1, 4, 14_000), 35),
    ((1, 8, 28_000), 35),
    ((2, 8, 28_000), 15),
    ((4, 16, 60_000), 15),
];

/// `retryStrategy.attempts` and their weights in percent.
const ATTEMPTS_MIX: [(u32, u32); 3] = [(1, 80), (2, 15), (3, 5)];

/// Picks from a table whose weights sum to 100, with one draw.
fn pick<T: Copy>(rng: &mut Pcg64, table: &[(T, u32)]) -> T {
    let mut r = rng.gen_range(0..100u32);
    for &(v, w) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    table[table.len() - 1].0
}

/// Draws an array size, log-uniform over [`ARRAY_SIZES`], with one draw.
fn array_size(rng: &mut Pcg64) -> u32 {
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
struct JobColumns {
    arrays: Pcg64,
    deps: Pcg64,
    p_array: f64,
    dependency_share: f64,
    /// Array size of recent rows (0 = plain), by row number modulo the window.
    recent: Vec<u32>,
}

impl JobColumns {
    fn new(cfg: &GenerateConfig) -> Self {
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
    fn row(&mut self, row: u64, left: u64, cells: &mut String) -> u64 {
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
}

/// Writes `cfg.jobs` synthetic jobs as a trace CSV (header first) to `out`.
///
/// The output is buffered internally; `out` need not be. Fails with
/// [`io::ErrorKind::InvalidInput`] if the configuration is invalid
/// ([`GenerateConfig::validate`]), or with the writer's error.
pub fn write_trace<W: Write>(cfg: &GenerateConfig, out: W) -> io::Result<()> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let inter_arrival = Exp::new(cfg.rate_per_s)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let runtime = LogNormal::new(cfg.runtime_median_s.ln(), cfg.runtime_sigma)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;

    let mut arrivals = stream(cfg.seed, "arrivals");
    let mut sizes = stream(cfg.seed, "sizes");
    let mut gpu = stream(cfg.seed, "gpu");
    let mut runtimes = stream(cfg.seed, "runtimes");
    let mut failures = stream(cfg.seed, "failures");
    let mut attempts_rng = stream(cfg.seed, "attempts");
    let mut queues = stream(cfg.seed, "queues");

    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    let mut job_columns =
        (cfg.array_share > 0.0 || cfg.dependency_share > 0.0).then(|| JobColumns::new(cfg));
    let header = match job_columns {
        Some(_) => TRACE_HEADER_JOBS,
        None => TRACE_HEADER,
    };
    w.write_all(header.as_bytes())?;
    w.write_all(b"\n")?;

    let mut now_s = 0.0f64;
    let mut written = 0u64;
    let mut cells = String::new();
    for i in 1.. {
        if written >= cfg.jobs {
            break;
        }
        written += match &mut job_columns {
            Some(c) => c.row(i, cfg.jobs - written, &mut cells),
            None => 1,
        };
        // Seconds accumulate as a float and are rounded once, so rounding never drifts and
        // submit times never decrease.
        now_s += inter_arrival.sample(&mut arrivals);
        let submit_ms = (now_s * 1000.0).round() as u64;

        // Every stream takes a fixed number of draws per job.
        let cpu_vcpus = pick(&mut sizes, &VCPU_MIX);
        let per_vcpu = pick(&mut sizes, &MEMORY_PER_VCPU_MIX);
        let is_gpu = gpu.gen::<f64>() < cfg.gpu_share;
        let gpu_shape = pick(&mut gpu, &GPU_SHAPE_MIX);
        let (gpus, vcpus, memory_mib) = if is_gpu {
            gpu_shape
        } else {
            (0, cpu_vcpus, cpu_vcpus * per_vcpu)
        };

        let run_s: f64 = runtime.sample(&mut runtimes);
        let run_ms = ((run_s * 1000.0).round() as u64).clamp(MIN_RUN_TIME_MS, MAX_RUN_TIME_MS);
        let exit_code = u32::from(failures.gen::<f64>() < cfg.failure_share);
        let attempts = pick(&mut attempts_rng, &ATTEMPTS_MIX);
        let queue = &cfg.queues[queues.gen_range(0..cfg.queues.len())];

        write!(
            w,
            "job-{:09},{}.{:03},{},{},{},{},{}.{:03},{},{}",
            i,
            submit_ms / 1000,
            submit_ms % 1000,
            queue,
            vcpus,
            memory_mib,
            gpus,
            run_ms / 1000,
            run_ms % 1000,
            exit_code,
            attempts
        )?;
        w.write_all(cells.as_bytes())?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sum_to_100() {
        assert_eq!(VCPU_MIX.iter().map(|x| x.1).sum::<u32>(), 100);
        assert_eq!(MEMORY_PER_VCPU_MIX.iter().map(|x| x.1).sum::<u32>(), 100);
        assert_eq!(GPU_SHAPE_MIX.iter().map(|x| x.1).sum::<u32>(), 100);
        assert_eq!(ATTEMPTS_MIX.iter().map(|x| x.1).sum::<u32>(), 100);
        let one_gpu: u32 = GPU_SHAPE_MIX
            .iter()
            .filter(|x| x.0 .0 == 1)
            .map(|x| x.1)
            .sum();
        assert_eq!(one_gpu, 70);
    }

    #[test]
    fn invalid_config_is_rejected() {
        let bad = [
            GenerateConfig {
                rate_per_s: 0.0,
                ..Default::default()
            },
            GenerateConfig {
                runtime_sigma: -1.0,
                ..Default::default()
            },
            GenerateConfig {
                gpu_share: 1.5,
                ..Default::default()
            },
            GenerateConfig {
                queues: vec![],
                ..Default::default()
            },
            GenerateConfig {
                queues: vec!["a,b".into()],
                ..Default::default()
            },
        ];
        for cfg in bad {
            let err = write_trace(&cfg, Vec::new()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{cfg:?}");
        }
    }
}
