//! The scenario TOML file.
//!
//! Field names follow AWS Batch's API where AWS has the concept (`computeEnvironmentName`,
//! `maxvCpus`, …); flotilla's own settings are `snake_case`. Unknown fields are errors.
//! Paths are relative to the scenario file. Errors name the field by its path, with arrays
//! indexed from 0, e.g. `compute_environments[1].computeResources.allocationStrategy`.
//!
//! ```toml
//! name = "quickstart"            # optional; default: the file name without extension
//! seed = 7                       # optional; default 1
//! trace = "../traces/quickstart.csv"   # the job trace (see `input::trace` for its columns)
//! catalog = "../catalogs/ec2-us-east-1.csv"  # optional; default: built-in us-east-1 catalog
//! memory_overhead_pct = 2.5      # optional; memory the kernel keeps, percent of nominal
//! boot_delay_s = 90              # optional; launch-to-ready time of every type (unless the
//!                                # catalog CSV has a boot_delay_s value for it)
//! container_start_delay_s = 0    # optional; StartJob to container running
//!
//! [[compute_environments]]
//! computeEnvironmentName = "spot"
//! type = "MANAGED"               # optional; only MANAGED is supported
//! state = "ENABLED"              # optional; only ENABLED is supported
//! idle_timeout_s = 300           # flotilla: scale in after this long idle (default 300)
//! capacity_retry_s = 60          # flotilla: avoid a type this long after a capacity failure
//! [compute_environments.computeResources]
//! type = "SPOT"                  # "EC2" (On-Demand) or "SPOT"
//! minvCpus = 0                   # optional, default 0
//! maxvCpus = 512
//! desiredvCpus = 0               # optional, default minvCpus; within [minvCpus, maxvCpus]
//! instanceTypes = ["c5", "m5.large"]   # families (without metal sizes) or exact types;
//!                                # "optimal" = families m6i, c6i, r6i, c7i
//! allocationStrategy = "SPOT_CAPACITY_OPTIMIZED"   # optional, default BEST_FIT; the SPOT_*
//!                                # strategies are allowed on SPOT only
//! bidPercentage = 100            # optional, 1 to 100, default 100 (SPOT only)
//!
//! [[job_queues]]
//! jobQueueName = "default"
//! priority = 10                  # higher is scheduled first
//! state = "ENABLED"              # optional; only ENABLED is supported
//! computeEnvironmentOrder = [ { order = 1, computeEnvironment = "spot" } ]  # 1 to 3
//!
//! [[job_definitions]]            # optional; trace rows name them in `job_definition`
//! jobDefinitionName = "small"
//! vcpus = 1                      # every field optional
//! memory = 2048
//! gpus = 0
//! retryStrategy = { attempts = 2 }                # 1 to 10
//! timeout = { attemptDurationSeconds = 3600 }     # at least 60
//!
//! [spot]                         # optional
//! hazard_scale = 1.0             # multiplies interruption rates; default 1.0, 0 = none
//! price_series = "prices.csv"    # optional CSV: time_s,instance_type,price_usd_per_hour
//! [spot.capacity]                # optional: most instances of a type the market gives
//! "c5.large" = 10
//! ```

use super::catalog::parse_catalog;
use super::cluster::{build_compute_environments, build_job_queues};
use super::csvutil::plural;
use super::prices::load_price_series;
use super::tomlerr::{toml_error, Ctx};
use super::trace::{load_trace, JobDefinition, JobDefinitions};
use super::wire::{WireJobDef, WireScenario, WireSpot};
use super::{default_catalog, InputError};
use crate::model::{Catalog, Cluster, SimDuration};
use crate::scenario::{Scenario, SpotModel};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Loads a scenario file and its trace (`trace_override` replaces the file's `trace`).
/// The trace comes back sorted by submit time, file order kept between equal times.
pub fn load_scenario(path: &Path, trace_override: Option<&Path>) -> Result<Scenario, InputError> {
    let src = std::fs::read_to_string(path).map_err(|e| InputError::unreadable(path, &e))?;
    let wire: WireScenario = toml::from_str(&src).map_err(|e| toml_error(path, &src, &e))?;
    let ctx = Ctx {
        file: path,
        src: &src,
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let name = match &wire.name {
        Some(n) => ctx.name(n, "name")?,
        None => path.file_stem().map_or_else(
            || "scenario".to_string(),
            |s| s.to_string_lossy().into_owned(),
        ),
    };
    let seed = match &wire.seed {
        Some(s) => ctx.int(s, "seed", 0, i64::MAX, "a seed ≥ 0")? as u64,
        None => 1,
    };
    let overhead_bp = match &wire.memory_overhead_pct {
        Some(p) if p.get_ref().is_finite() && (0.0..100.0).contains(p.get_ref()) => {
            (p.get_ref() * 100.0).round() as u32
        }
        Some(p) => {
            return Err(ctx.err(
                p.span(),
                "memory_overhead_pct",
                format!(
                    "expected a percentage from 0 to below 100, got {}",
                    p.get_ref()
                ),
            ))
        }
        None => 250,
    };
    let boot_delay = ctx.secs(
        wire.boot_delay_s.as_ref(),
        "boot_delay_s",
        SimDuration::from_secs(90),
    )?;
    let container_start_delay = ctx.secs(
        wire.container_start_delay_s.as_ref(),
        "container_start_delay_s",
        SimDuration::ZERO,
    )?;
    let catalog = match &wire.catalog {
        Some(c) => {
            let p = existing(&ctx, base, c, "catalog", "catalog file")?;
            let f = std::fs::File::open(&p).map_err(|e| InputError::unreadable(&p, &e))?;
            parse_catalog(f, &p, overhead_bp, boot_delay)?
        }
        None => default_catalog(overhead_bp, boot_delay),
    };
    let compute_environments =
        build_compute_environments(&ctx, &wire.compute_environments, &catalog)?;
    if compute_environments.is_empty() {
        return Err(ctx.missing(
            "compute_environments",
            "a scenario needs at least one [[compute_environments]] entry",
        ));
    }
    let job_queues = build_job_queues(&ctx, &wire.job_queues, &compute_environments)?;
    if job_queues.is_empty() {
        return Err(ctx.missing(
            "job_queues",
            "a scenario needs at least one [[job_queues]] entry",
        ));
    }
    let job_definitions = build_job_definitions(&ctx, &wire.job_definitions)?;
    let spot = build_spot(&ctx, base, wire.spot.as_ref(), &catalog)?;
    let cluster = Cluster {
        options: Default::default(),
        catalog,
        compute_environments,
        job_queues,
    };
    let trace_path = match (trace_override, &wire.trace) {
        (Some(t), _) => t.to_path_buf(),
        (None, Some(t)) => existing(&ctx, base, t, "trace", "trace file")?,
        (None, None) => {
            return Err(ctx.missing(
                "trace",
                "the scenario names no trace file; add `trace = \"jobs.csv\"` or pass a trace",
            ))
        }
    };
    let trace = load_trace(&trace_path, &cluster, &job_definitions)?;
    let mut scenario = Scenario {
        name,
        seed,
        cluster,
        trace,
        trace_path,
        spot,
        container_start_delay,
        epoch_ms: 0,
    };
    scenario.sort_trace();
    Ok(scenario)
}

/// A path relative to the scenario file that must exist.
fn existing(
    ctx: &Ctx,
    base: &Path,
    v: &Spanned<String>,
    field: &str,
    what: &str,
) -> Result<PathBuf, InputError> {
    let p = base.join(v.get_ref());
    if p.is_file() {
        Ok(p)
    } else {
        Err(ctx.err(
            v.span(),
            field,
            format!("{what} `{}` does not exist", p.display()),
        ))
    }
}

fn build_job_definitions(
    ctx: &Ctx,
    wires: &[Spanned<WireJobDef>],
) -> Result<JobDefinitions, InputError> {
    let mut defs = JobDefinitions::empty();
    for (i, w) in wires.iter().enumerate() {
        let p = format!("job_definitions[{i}]");
        let d = w.get_ref();
        let name = ctx.name(&d.name, &format!("{p}.jobDefinitionName"))?;
        let num = |v: &Option<Spanned<i64>>,
                   f: &str,
                   min: u32,
                   max: u32,
                   what: &str|
         -> Result<Option<u32>, InputError> {
            v.as_ref()
                .map(|v| ctx.uint(v, &format!("{p}.{f}"), min, max, what))
                .transpose()
        };
        let def = JobDefinition {
            vcpus: num(
                &d.vcpus,
                "vcpus",
                1,
                u32::MAX,
                "a whole number of vCPUs ≥ 1",
            )?,
            memory_mib: num(
                &d.memory,
                "memory",
                1,
                u32::MAX,
                "a whole number of MiB ≥ 1",
            )?,
            gpus: num(&d.gpus, "gpus", 0, u32::MAX, "a whole number of GPUs ≥ 0")?,
            attempts: match &d.retry_strategy {
                Some(r) => Some(ctx.uint(
                    &r.attempts,
                    &format!("{p}.retryStrategy.attempts"),
                    1,
                    10,
                    "a number of attempts from 1 to 10",
                )?),
                None => None,
            },
            timeout: match &d.timeout {
                Some(t) => {
                    let f = format!("{p}.timeout.attemptDurationSeconds");
                    let s = ctx.uint(
                        &t.attempt_duration_seconds,
                        &f,
                        60,
                        u32::MAX,
                        "a whole number of seconds ≥ 60",
                    )?;
                    Some(SimDuration::from_secs(s.into()))
                }
                None => None,
            },
        };
        if defs.insert(name.clone(), def).is_some() {
            let msg = format!("job definition `{name}` is defined twice");
            return Err(ctx.err(d.name.span(), format!("{p}.jobDefinitionName"), msg));
        }
    }
    Ok(defs)
}

fn build_spot(
    ctx: &Ctx,
    base: &Path,
    spot: Option<&WireSpot>,
    catalog: &Catalog,
) -> Result<SpotModel, InputError> {
    let mut model = SpotModel {
        hazard_scale: 1.0,
        ..SpotModel::default()
    };
    let Some(s) = spot else { return Ok(model) };
    if let Some(h) = &s.hazard_scale {
        let v = *h.get_ref();
        if !(v.is_finite() && v >= 0.0) {
            return Err(ctx.err(
                h.span(),
                "spot.hazard_scale",
                format!("expected a factor ≥ 0, got {v}"),
            ));
        }
        model.hazard_scale = v;
    }
    for (name, cap) in &s.capacity {
        let field = format!("spot.capacity.\"{name}\"");
        let Some(id) = catalog.find(name) else {
            return Err(ctx.err(
                cap.span(),
                field,
                format!("instance type `{name}` is not in the catalog"),
            ));
        };
        let n = ctx.uint(cap, &field, 0, u32::MAX, "a whole number of instances ≥ 0")?;
        model.capacity.insert(id, n);
    }
    if let Some(p) = &s.price_series {
        let path = existing(ctx, base, p, "spot.price_series", "price series file")?;
        model.price_series = load_price_series(&path, catalog)?;
    }
    Ok(model)
}

/// A one-line description of a loaded scenario.
pub(crate) fn describe(s: &Scenario) -> String {
    format!(
        "scenario {}: {}, {}, {}",
        s.name,
        plural(
            s.cluster.compute_environments.len(),
            "compute environment",
            "compute environments"
        ),
        plural(s.cluster.job_queues.len(), "job queue", "job queues"),
        plural(s.trace.len(), "job", "jobs"),
    )
}
