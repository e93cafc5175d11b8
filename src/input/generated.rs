//! A scenario's `[generate]` section: a synthetic trace made at load time instead of a
//! `trace` file.
//!
//! ```toml
//! seed = 7                 # the trace is generated from this seed (unless [generate] has one)
//! [generate]               # every key of crate::generate::GenerateConfig, all optional
//! jobs = 5000
//! rate_per_s = 0.5
//! queues = ["default"]     # must name job queues of the scenario
//! gpu_share = 0            # GPU jobs need GPU types in the queue's compute environments
//! arrivals = "diurnal"
//! diurnal_amplitude = 0.6
//! runtime = "weibull"
//! weibull_shape = 0.7
//! weibull_scale_s = 900
//! fan_share = 0.1
//! fan_width = 8
//! ```
//!
//! The trace is written in memory by [`crate::generate::write_trace`] and read back through
//! the trace CSV reader, so a generated trace and the same trace written to a file with
//! `flotilla generate` load identically. The same scenario file gives the same jobs; the
//! seed of `simulate --seed` changes the simulation's random streams, not the trace (the
//! section's `seed` does).

use super::tomlerr::Ctx;
use super::trace::{load_trace_from, TraceSource};
use super::{InputError, JobDefinitions, ReadOptions, SkippedLines};
use crate::generate::GenerateConfig;
use crate::model::Cluster;
use crate::scenario::TraceJob;
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

/// The `[generate]` section as written, with what it needs from the rest of the scenario.
pub(crate) struct WireGenerated<'a> {
    /// The scenario file, for errors.
    pub(crate) ctx: &'a Ctx<'a>,
    /// The scenario's seed.
    pub(crate) seed: u64,
    /// The section.
    pub(crate) section: &'a Spanned<toml::Table>,
}

/// Checks the section and generates its trace; returns the name the trace goes by in
/// messages (`scenario.toml#generate`) and the jobs, sorted by submit time.
pub(crate) fn generated_trace(
    g: WireGenerated,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
) -> Result<(PathBuf, Option<Vec<TraceJob>>), InputError> {
    let cfg = config(&g, cluster)?;
    let mut bytes = Vec::new();
    crate::generate::write_trace(&cfg, &mut bytes)
        .map_err(|e| g.ctx.err(g.section.span(), "generate", e.to_string()))?;
    let label = PathBuf::from(format!("{}#generate", g.ctx.file.display()));
    let src = TraceSource {
        path: &label,
        hint: usize::try_from(cfg.jobs).unwrap_or(0).min(1 << 26),
    };
    let jobs = load_trace_from(
        bytes.as_slice(),
        src,
        cluster,
        job_definitions,
        ReadOptions::default(),
        &mut SkippedLines::default(),
    )?;
    Ok((label, Some(jobs)))
}

/// The section as a [`GenerateConfig`], checked against the scenario's job queues.
/// Most jobs a `[generate]` section may ask for.
const MAX_SECTION_JOBS: u64 = 10_000_000;

fn config(g: &WireGenerated, cluster: &Cluster) -> Result<GenerateConfig, InputError> {
    let span = g.section.span();
    let table = g.section.get_ref();
    let mut cfg = GenerateConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        // serde's message ("invalid type: string …, expected a sequence") names no key: find
        // the first key that fails on its own and name it.
        let alone = |k: &String| {
            let one: toml::Table = std::iter::once((k.clone(), table[k].clone())).collect();
            GenerateConfig::deserialize(toml::Value::Table(one)).is_err()
        };
        let field = table
            .keys()
            .find(|k| alone(k))
            .map_or_else(|| "generate".to_string(), |k| format!("generate.{k}"));
        g.ctx.err(span.clone(), field, e.message().to_string())
    })?;
    if !table.contains_key("seed") {
        cfg.seed = g.seed;
    }
    cfg.validate()
        .map_err(|m| g.ctx.err(span.clone(), "generate", m))?;
    // The section's trace is built in memory (about 60 bytes of CSV a job, then the jobs):
    // beyond this, `flotilla generate` writes a file that streams.
    if cfg.jobs > MAX_SECTION_JOBS {
        let msg = format!(
            "at most {MAX_SECTION_JOBS} jobs in a [generate] section, got {}; write larger \
             traces with `flotilla generate --out FILE` and name the file as `trace`",
            cfg.jobs
        );
        return Err(g.ctx.err(span, "generate.jobs", msg));
    }
    for q in &cfg.queues {
        if !cluster.job_queues.iter().any(|jq| jq.name == *q) {
            return Err(g.ctx.err(
                span,
                "generate.queues",
                format!("job queue `{q}` is not a [[job_queues]] entry of the scenario"),
            ));
        }
    }
    Ok(cfg)
}
