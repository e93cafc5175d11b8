//! Workflows: dependency DAGs of fixed shapes, submitted all at once at one arrival (as a
//! pipeline submits a whole graph to AWS Batch up front, dependencies holding the children
//! back).
//!
//! - **Fan-out/fan-in** (`fan_share` of arrivals, `fan_width` N): a root; N children that
//!   each depend on the root; a join that depends on every child. With `fan_as_array` the
//!   children are one array job of N (depending on the root) and the join depends on the
//!   array, i.e. on all its children. N + 2 jobs either way.
//! - **Chain** (`chain_share` of arrivals, `chain_length` L): L jobs, each depending on the
//!   one before.
//!
//! Rows of a workflow take consecutive row numbers and the same submit time, the dependent
//! rows after the ones they name, so the trace reader sees every dependency point back. A
//! workflow that would take the trace past `jobs` is written as one plain row instead.

use super::GenerateConfig;
use crate::sim::rng::stream;
use rand::Rng;
use rand_pcg::Pcg64;
use std::fmt::Write as _;

/// What one arrival submits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// One row (plain, or an array/dependency row of `array_share`/`dependency_share`).
    Single,
    /// A fan-out/fan-in workflow.
    Fan,
    /// A chain.
    Chain,
}

/// Draws what each arrival is, one draw per arrival from stream `workflows`.
pub(super) struct Workflows {
    rng: Pcg64,
    fan_share: f64,
    chain_share: f64,
}

impl Workflows {
    /// `None` when the configuration has no workflows.
    pub(super) fn new(cfg: &GenerateConfig) -> Option<Self> {
        (cfg.fan_share > 0.0 || cfg.chain_share > 0.0).then(|| Workflows {
            rng: stream(cfg.seed, "workflows"),
            fan_share: cfg.fan_share,
            chain_share: cfg.chain_share,
        })
    }

    /// The next arrival's kind.
    pub(super) fn draw(&mut self) -> Arrival {
        let u = self.rng.gen::<f64>();
        if u < self.fan_share {
            Arrival::Fan
        } else if u < self.fan_share + self.chain_share {
            Arrival::Chain
        } else {
            Arrival::Single
        }
    }
}

/// Rows and jobs of a workflow.
pub(super) fn size(cfg: &GenerateConfig, a: Arrival) -> (u64, u64) {
    let n = u64::from(cfg.fan_width);
    match a {
        Arrival::Single => (1, 1),
        Arrival::Fan if cfg.fan_as_array => (3, n + 2),
        Arrival::Fan => (n + 2, n + 2),
        Arrival::Chain => (u64::from(cfg.chain_length), u64::from(cfg.chain_length)),
    }
}

/// Writes `,{array_size},{depends_on}` of row `k` (0-based) of a workflow whose first row
/// is `first` into `cells`; returns the row's array size (0 = none).
pub(super) fn cells(
    cfg: &GenerateConfig,
    a: Arrival,
    first: u64,
    k: u64,
    cells: &mut String,
) -> u32 {
    cells.clear();
    let n = u64::from(cfg.fan_width);
    let mut size = 0;
    cells.push(',');
    match a {
        Arrival::Fan if cfg.fan_as_array && k == 1 => {
            size = cfg.fan_width;
            let _ = write!(cells, "{size},job-{first:09}");
        }
        Arrival::Fan if cfg.fan_as_array && k == 2 => {
            let _ = write!(cells, ",job-{:09}", first + 1);
        }
        Arrival::Fan if !cfg.fan_as_array && (1..=n).contains(&k) => {
            let _ = write!(cells, ",job-{first:09}");
        }
        Arrival::Fan if !cfg.fan_as_array && k == n + 1 => {
            cells.push(',');
            for c in 1..=n {
                if c > 1 {
                    cells.push(';');
                }
                let _ = write!(cells, "job-{:09}", first + c);
            }
        }
        Arrival::Chain if k > 0 => {
            let _ = write!(cells, ",job-{:09}", first + k - 1);
        }
        _ => cells.push(','),
    }
    size
}
