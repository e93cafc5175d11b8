//! One job's columns (size, GPUs, run time, exit code, attempts, queue), each drawn from its
//! own named stream with a fixed number of draws per job. See the parent module's docs.

use super::runtime::RuntimeSampler;
use super::{GenerateConfig, MAX_RUN_TIME_MS, MIN_RUN_TIME_MS};
use crate::sim::rng::stream;
use rand::Rng;
use rand_pcg::Pcg64;
use std::io::{self, Write};

/// vCPU counts of CPU jobs and their weights in percent.
pub(super) const VCPU_MIX: [(u32, u32); 6] = [(1, 40), (2, 25), (4, 18), (8, 10), (16, 5), (32, 2)];

/// MiB per vCPU of CPU jobs and their weights in percent.
pub(super) const MEMORY_PER_VCPU_MIX: [(u32, u32); 4] =
    [(1024, 20), (2048, 45), (4096, 25), (8192, 10)];

/// GPU job shapes `(gpus, vcpus, memory_mib)` and their weights in percent. The largest of
/// each GPU count fits, in registered memory: 1 GPU g4dn.xlarge (4 vCPUs, 15,942 MiB) and
/// g4dn.2xlarge (8 vCPUs, 31,916 MiB); 2 and 4 GPUs g4dn.12xlarge (48 vCPUs, 191,661 MiB).
pub(super) const GPU_SHAPE_MIX: [((u32, u32, u32), u32); 4] = [
    ((1, 4, 14_000), 35),
    ((1, 8, 28_000), 35),
    ((2, 8, 28_000), 15),
    ((4, 16, 60_000), 15),
];

/// `retryStrategy.attempts` and their weights in percent.
pub(super) const ATTEMPTS_MIX: [(u32, u32); 3] = [(1, 80), (2, 15), (3, 5)];

/// Picks from a table whose weights sum to 100, with one draw.
pub(super) fn pick<T: Copy>(rng: &mut Pcg64, table: &[(T, u32)]) -> T {
    let mut r = rng.gen_range(0..100u32);
    for &(v, w) in table {
        if r < w {
            return v;
        }
        r -= w;
    }
    table[table.len() - 1].0
}

/// Cumulative weights, normalised to end at 1 (empty for an empty list).
fn cumulative(w: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut c: Vec<f64> = w
        .map(|x| {
            acc += x;
            acc
        })
        .collect();
    if acc > 0.0 {
        c.iter_mut().for_each(|x| *x /= acc);
    }
    c
}

/// The index a uniform draw `u` falls on in cumulative weights `c`.
fn choose(c: &[f64], u: f64) -> usize {
    c.partition_point(|&x| x <= u).min(c.len() - 1)
}

/// The per-job streams and models.
pub(super) struct JobDraws<'c> {
    cfg: &'c GenerateConfig,
    runtime: RuntimeSampler<'c>,
    sizes: Pcg64,
    gpu: Pcg64,
    runtimes: Pcg64,
    failures: Pcg64,
    attempts: Pcg64,
    queues: Pcg64,
    requested: Pcg64,
    shapes: Vec<f64>,
    queue_weights: Vec<f64>,
}

impl<'c> JobDraws<'c> {
    /// The streams of a valid configuration.
    pub(super) fn new(cfg: &'c GenerateConfig) -> Result<Self, String> {
        Ok(JobDraws {
            cfg,
            runtime: RuntimeSampler::new(cfg)?,
            sizes: stream(cfg.seed, "sizes"),
            gpu: stream(cfg.seed, "gpu"),
            runtimes: stream(cfg.seed, "runtimes"),
            failures: stream(cfg.seed, "failures"),
            attempts: stream(cfg.seed, "attempts"),
            queues: stream(cfg.seed, "queues"),
            requested: stream(cfg.seed, "requested"),
            shapes: cumulative(cfg.shapes.iter().map(|s| s.weight)),
            queue_weights: cumulative(cfg.queue_weights.iter().copied()),
        })
    }

    /// Draws one job and writes its row `job-{row}` (without `cells`, the requested time and
    /// the line break); returns its run time in milliseconds.
    pub(super) fn write_row<W: Write>(
        &mut self,
        w: &mut W,
        row: u64,
        submit_ms: u64,
    ) -> io::Result<u64> {
        let cfg = self.cfg;
        let (gpus, vcpus, memory_mib) = if self.shapes.is_empty() {
            // Every stream takes a fixed number of draws per job.
            let cpu_vcpus = pick(&mut self.sizes, &VCPU_MIX);
            let per_vcpu = pick(&mut self.sizes, &MEMORY_PER_VCPU_MIX);
            let is_gpu = self.gpu.gen::<f64>() < cfg.gpu_share;
            let gpu_shape = pick(&mut self.gpu, &GPU_SHAPE_MIX);
            if is_gpu {
                gpu_shape
            } else {
                (0, cpu_vcpus, cpu_vcpus * per_vcpu)
            }
        } else {
            let s = &cfg.shapes[choose(&self.shapes, self.sizes.gen::<f64>())];
            (s.gpus, s.vcpus, s.memory_mib)
        };
        let run_s: f64 = self.runtime.sample(&mut self.runtimes);
        let run_ms = ((run_s * 1000.0).round() as u64).clamp(MIN_RUN_TIME_MS, MAX_RUN_TIME_MS);
        let exit_code = u32::from(self.failures.gen::<f64>() < cfg.failure_share);
        let attempts = pick(&mut self.attempts, &ATTEMPTS_MIX);
        let q = if self.queue_weights.is_empty() {
            self.queues.gen_range(0..cfg.queues.len())
        } else {
            choose(&self.queue_weights, self.queues.gen::<f64>())
        };
        write!(
            w,
            "job-{:09},{}.{:03},{},{},{},{},{}.{:03},{},{}",
            row,
            submit_ms / 1000,
            submit_ms % 1000,
            cfg.queues[q],
            vcpus,
            memory_mib,
            gpus,
            run_ms / 1000,
            run_ms % 1000,
            exit_code,
            attempts
        )?;
        Ok(run_ms)
    }

    /// With `requested_time_factor`, writes the `,requested_time_s` cell of a job that runs
    /// `run_ms`: the run time × a factor drawn uniformly (one draw of its own stream per
    /// job), never below the run time. Without, writes nothing.
    pub(super) fn write_requested<W: Write>(&mut self, w: &mut W, run_ms: u64) -> io::Result<()> {
        let Some((lo, hi)) = self.cfg.requested_time_range() else {
            return Ok(());
        };
        let factor = lo + (hi - lo) * self.requested.gen::<f64>();
        let ms = ((run_ms as f64 * factor).round() as u64).max(run_ms);
        write!(w, ",{}.{:03}", ms / 1000, ms % 1000)
    }
}
