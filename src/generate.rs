//! Synthetic job traces, so that benchmarks and stress runs need no committed file.
//!
//! [`write_trace`] writes a trace in flotilla's CSV format ([`TRACE_HEADER`]) from a
//! [`GenerateConfig`]. The workload model:
//!
//! - **Arrivals**: a Poisson process of `rate_per_s` (exponential inter-arrival times), or
//!   a diurnal cycle or periodic bursts ([`arrivals`]).
//! - **Run times**: log-normal with the given median and sigma (or Weibull, exponential,
//!   empirical quantiles: [`runtime`]), clamped to 1 s .. 48 h.
//! - **Sizes**: vCPUs 1 (40%), 2 (25%), 4 (18%), 8 (10%), 16 (5%), 32 (2%); memory is
//!   vCPUs × 1, 2, 4 or 8 GiB (20/45/25/10%). Or, when `shapes` is given, an empirical mix
//!   of `(vcpus, memory_mib, gpus)` shapes by weight (one draw), replacing this mix and
//!   the GPU model below.
//! - **GPU jobs** (`gpu_share` of jobs): 1 GPU (70%; 4 vCPUs/14,000 MiB or 8 vCPUs/28,000 MiB,
//!   even odds), 2 GPUs (15%; 8 vCPUs/28,000 MiB) or 4 GPUs (15%; 16 vCPUs/60,000 MiB). Every
//!   such shape fits a g4dn or g5 type after the memory the ECS agent keeps back
//!   ([`crate::model::registered_memory_mib`]).
//! - **Failures**: `failure_share` of jobs exit with code 1 on every attempt.
//! - **Attempts** (`retryStrategy.attempts`): 1 (80%), 2 (15%), 3 (5%).
//! - **Queues**: a uniform random choice among `queues`, or by `queue_weights`.
//! - **Array jobs** (`array_share` > 0): a row becomes an array job with the probability that
//!   makes about `array_share` of all jobs array children; sizes are log-uniform over
//!   2..=100. A job is a plain row or an array child (the array's parent row is not counted),
//!   and `jobs` counts jobs: rows stop when the total reaches it (the last array is cut to
//!   fit, or becomes a plain row when one job is left).
//! - **Dependencies** (`dependency_share` > 0): that share of rows (after the first) get
//!   `depends_on` on one (75%) or two (25%) distinct rows drawn uniformly among the previous
//!   1,000. When a row and the first row it depends on are both arrays, half the time the
//!   row takes that array's size and depends on it `N_TO_N`.
//! - **Workflows** (`fan_share`, `chain_share` > 0): some arrivals submit a fan-out/fan-in
//!   or a chain of dependent jobs at once ([`workflows`]); the other arrivals are single
//!   rows as above.
//!
//! - **Requested run times** (`requested_time_factor = [low, high]`): every job gets a
//!   `requested_time_s` (the user's estimate, which backfilling reads) of its run time × a
//!   factor drawn uniformly from `low..=high` (1 ≤ low ≤ high ≤ 100).
//!
//! With every share of arrays, dependencies and workflows 0, the header and rows are exactly
//! [`TRACE_HEADER`] and its nine columns; otherwise the header gains `array_size,depends_on`
//! ([`TRACE_HEADER_JOBS`]) and every row those two cells (empty when not used). With
//! `requested_time_factor`, the header ends with [`REQUESTED_TIME_COLUMN`] and every row with
//! that cell.
//!
//! [`fit`] goes the other way: it fits these models to a real trace
//! (`flotilla generate --like`).
//!
//! Every model draws from its own named [`Pcg64`] stream ([`crate::sim::rng::stream`]), seeded from the
//! master seed and the stream's name, and every stream takes the same number of draws for
//! every job whatever the configuration. So the same configuration gives byte-identical output,
//! and changing one model (say `gpu_share`) leaves every other column unchanged.

mod arrays;
pub mod arrivals;
mod config;
pub mod fit;
mod jobs;
pub mod runtime;
pub mod workflows;

pub use arrivals::ArrivalModel;
pub use config::{GenerateConfig, JobShape};
pub use runtime::RuntimeModel;

use crate::sim::rng::stream;
use arrays::JobColumns;
use std::io::{self, Write};
use workflows::{Arrival, Workflows};

/// The header line of a flotilla trace CSV (without the line break).
pub const TRACE_HEADER: &str =
    "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,run_time_s,exit_code,attempts";

/// The header when `array_share` or `dependency_share` is above 0.
pub const TRACE_HEADER_JOBS: &str = "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,\
     run_time_s,exit_code,attempts,array_size,depends_on";

/// The column `requested_time_factor` adds at the end of the header (and of every row).
pub const REQUESTED_TIME_COLUMN: &str = ",requested_time_s";

/// Sizes of generated array jobs (log-uniform).
pub const ARRAY_SIZES: std::ops::RangeInclusive<u32> = 2..=100;

/// How far back a generated dependency may reach, in rows.
pub const DEPENDENCY_WINDOW: u64 = 1_000;

/// Shortest run time the generator writes, in milliseconds (1 s).
pub const MIN_RUN_TIME_MS: u64 = 1_000;

/// Longest run time the generator writes, in milliseconds (48 h).
pub const MAX_RUN_TIME_MS: u64 = 48 * 3_600 * 1_000;

/// Writes `cfg.jobs` synthetic jobs as a trace CSV (header first) to `out`.
///
/// The output is buffered internally; `out` need not be. Fails with
/// [`io::ErrorKind::InvalidInput`] if the configuration is invalid
/// ([`GenerateConfig::validate`]), or with the writer's error.
pub fn write_trace<W: Write>(cfg: &GenerateConfig, out: W) -> io::Result<()> {
    let invalid = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    cfg.validate().map_err(invalid)?;
    let mut arrivals =
        arrivals::Arrivals::new(cfg, stream(cfg.seed, "arrivals")).map_err(invalid)?;
    let mut draws = jobs::JobDraws::new(cfg).map_err(invalid)?;
    let mut flows = Workflows::new(cfg);

    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    let mut job_columns =
        (cfg.array_share > 0.0 || cfg.dependency_share > 0.0).then(|| JobColumns::new(cfg));
    let header = if cfg.has_job_columns() {
        TRACE_HEADER_JOBS
    } else {
        TRACE_HEADER
    };
    w.write_all(header.as_bytes())?;
    if cfg.requested_time_range().is_some() {
        w.write_all(REQUESTED_TIME_COLUMN.as_bytes())?;
    }
    w.write_all(b"\n")?;

    let mut written = 0u64;
    let mut row = 1u64;
    let mut cells = String::new();
    while written < cfg.jobs {
        let left = cfg.jobs - written;
        let mut kind = flows.as_mut().map_or(Arrival::Single, Workflows::draw);
        let (rows, jobs) = workflows::size(cfg, kind);
        if jobs > left {
            kind = Arrival::Single;
        }
        // Seconds accumulate as a float and are rounded once, so rounding never drifts and
        // submit times never decrease.
        let submit_ms = (arrivals.next() * 1000.0).round() as u64;
        if kind == Arrival::Single {
            written += match &mut job_columns {
                Some(c) => c.row(row, left, &mut cells),
                None if cfg.has_job_columns() => {
                    cells.clear();
                    cells.push_str(",,");
                    1
                }
                None => 1,
            };
            let run_ms = draws.write_row(&mut w, row, submit_ms)?;
            w.write_all(cells.as_bytes())?;
            draws.write_requested(&mut w, run_ms)?;
            w.write_all(b"\n")?;
            row += 1;
            continue;
        }
        for k in 0..rows {
            let size = workflows::cells(cfg, kind, row, k, &mut cells);
            if let Some(c) = &mut job_columns {
                c.note(row + k, size);
            }
            let run_ms = draws.write_row(&mut w, row + k, submit_ms)?;
            w.write_all(cells.as_bytes())?;
            draws.write_requested(&mut w, run_ms)?;
            w.write_all(b"\n")?;
        }
        row += rows;
        written += jobs;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::jobs::{ATTEMPTS_MIX, GPU_SHAPE_MIX, MEMORY_PER_VCPU_MIX, VCPU_MIX};
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
