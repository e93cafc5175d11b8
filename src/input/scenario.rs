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
//! epoch_ms = 1700000000000       # optional; wall-clock time of simulated time 0 (Unix ms),
//!                                # for AWS-shaped output; default 0
//!
//! [scheduler]                    # optional: flotilla's own scheduling options
//! keep_cpu_jobs_off_gpu_instances = false   # keep jobs without GPUs off GPU types (AWS
//!                                # does not; default false)
//!
//! [[compute_environments]]
//! computeEnvironmentName = "spot"
//! type = "MANAGED"               # optional; MANAGED (default) or UNMANAGED
//! state = "ENABLED"              # optional; DISABLED: no placements, no scale-out
//! idle_timeout_s = 300           # flotilla: scale in after this long idle (default 300)
//! capacity_retry_s = 60          # flotilla: avoid a type this long after a capacity failure
//! [compute_environments.computeResources]   # MANAGED only
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
//! [[compute_environments]]       # UNMANAGED: a fixed set of hosts, no computeResources
//! computeEnvironmentName = "onprem"
//! type = "UNMANAGED"
//! # count (optional, 1 to 10,000) expands `name` into name-0, name-1, …; host names are
//! # unique in the scenario. min/max/desired vCPUs = the hosts' vCPUs; market EC2.
//! hosts = [{ name = "h1", vcpus = 8, memory = 32000, gpus = 0, count = 4 }]
//!
//! [[scheduling_policies]]        # optional; queues name them in `schedulingPolicy`
//! name = "fs"
//! [scheduling_policies.fairsharePolicy]
//! shareDecaySeconds = 3600       # optional, 0 to 604800, default 0
//! computeReservation = 10        # optional, 0 to 99, default 0
//! shareDistribution = [          # at most 500; entries must not overlap
//!   { shareIdentifier = "teamA", weightFactor = 0.5 },  # 0.0001 to 999.9999, default 1.0
//!   { shareIdentifier = "b*" },  # a trailing `*` makes a prefix
//! ]
//!
//! [[job_queues]]
//! jobQueueName = "default"
//! priority = 10                  # higher is scheduled first
//! state = "ENABLED"              # optional; DISABLED: new jobs fail at submission
//! computeEnvironmentOrder = [ { order = 1, computeEnvironment = "spot" } ]  # 1 to 3
//! schedulingPolicy = "fs"        # optional: fair share (trace rows then need a
//!                                # share_identifier); default FIFO
//! jobStateTimeLimitActions = [   # optional, at most 5: cancel jobs stuck RUNNABLE at the head
//!   { reason = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", state = "RUNNABLE", maxTimeSeconds = 600, action = "CANCEL" },
//! ]                              # 600 to 86400 s; state and action take only these values
//!
//! [[job_definitions]]            # optional; trace rows name them in `job_definition`
//! jobDefinitionName = "small"    # rows write `small` (latest revision) or `small:2`
//! revision = 2                   # optional, default 1; one name may have several
//! type = "container"             # optional: "container" (default) or "multinode"
//! parameters = { codec = "mp4" } # defaults for `Ref::codec` placeholders in the command
//! retryStrategy = { attempts = 2, evaluateOnExit = [    # attempts 1 to 10; at most 5 rules
//!   { action = "RETRY", onStatusReason = "Host EC2*" }, # RETRY/EXIT (any case); patterns:
//!   { action = "EXIT", onReason = "*" },                # onExitCode digits, the others
//! ] }                            # letters, digits, `.`, `:`, spaces; optional trailing `*`
//! timeout = { attemptDurationSeconds = 3600 }     # at least 60
//! schedulingPriority = 0         # 0 to 9999, within a fair share
//! propagateTags = false          # accepted, ignored; so is `tags`
//! [job_definitions.containerProperties]
//! image = "ignored"              # accepted, ignored
//! command = ["ffmpeg", "-c", "Ref::codec"]
//! environment = [{ name = "MODE", value = "fast" }]    # names must not start with AWS_BATCH
//! resourceRequirements = [       # override `vcpus` and `memory` (deprecated in AWS)
//!   { type = "VCPU", value = "2" }, { type = "MEMORY", value = "4096" }, { type = "GPU", value = "0" },
//! ]
//!
//! [[job_definitions]]            # the short form: vcpus, memory and gpus at the top level
//! jobDefinitionName = "tiny"     # (each may be given here or in containerProperties, not both)
//! vcpus = 1
//! memory = 2048
//! gpus = 0
//!
//! [[job_definitions]]            # a multi-node parallel job: type "multinode" iff nodeProperties
//! jobDefinitionName = "mpi"
//! type = "multinode"
//! [job_definitions.nodeProperties]
//! numNodes = 4                   # 1 to 1000
//! mainNode = 0                   # below numNodes
//! nodeRangeProperties = [        # 1 to 5; "0:3", "2:", ":3" or "2"; later ranges override
//!   { targetNodes = "0:", container = { vcpus = 4, memory = 8000 } },  # earlier ones, and
//!   { targetNodes = "0", container = { resourceRequirements = [{ type = "VCPU", value = "8" }] } },
//! ]                              # together they must cover every node
//!
//! # [catalog_filter]               # optional: which catalog types the scenario may use
//! # families = ["g4dn", "m6i"]     # (see `input::catalog_filter` for every criterion)
//!
//! # [alibaba]                      # optional: Alibaba GPU trace 2023 options and fleet
//! # nodes = "node_list.csv"        # (see `input::alibaba`); a trace whose header has
//! # fleet = "ec2"                  # `cpu_milli` and `num_gpu` is an Alibaba task list
//!
//! [spot]                         # optional
//! hazard_scale = 1.0             # multiplies interruption rates; default 1.0, 0 = none
//! price_series = "prices.csv"    # optional CSV: time_s,instance_type,price_usd_per_hour
//! [spot.capacity]                # optional: most instances of a type the market gives
//! "c5.large" = 10                # (in each zone, when there are zones)
//! # Zones, pools, Spot price history (describe-spot-price-history JSON or text), synthetic
//! # prices, interrupt_above_max_price: see `input::spot_market` and docs/spot-prices.md.
//! # [[spot.measured]]              # optional: a pool driven by measured traces (see
//! # instance_type = "p3.2xlarge"   # `sim::measured` for the semantics, `input::SpotTrace`
//! # zone = "us-east-1f"            # for the files); one entry per type; the zone of `zones`
//! # availability = "a.json"        # it drives, else all; instances obtainable per tick
//! # preemption = "p.json"          # instances preempted per tick; a rise = preemptions
//! # counts = "missing"             # or "held": values are instances held; a fall = preemptions
//! # offset_s = 0                   # trace time at simulated time 0; default 0
//! # loop = true                    # repeat the traces; default true
//! # nodes = 4                      # N; default from `N-node` in the path, else the maximum
//! # capacity = 40                  # instances at full availability; default spot.capacity
//! # hazard = "replay"              # or "measured": exponential at the rate fitted to
//! #                                # `preemption` instead of a replay
//! ```

use super::alibaba::{is_task_list, Alibaba};
use super::catalog::parse_catalog_with_architectures;
use super::catalog_filter::{self, Architecture};
use super::cluster::build_compute_environments;
use super::csvutil::plural;
use super::generated::WireGenerated;
use super::jobdef_build::build_job_definitions;
use super::policy::build_scheduling_policies;
use super::prices::load_price_series_with;
use super::queues::build_job_queues;
use super::swf_scenario::SwfPlan;
use super::tomlerr::{toml_error, Ctx};
use super::trace::load_trace_with;
use super::wire::{WireScenario, WireSpot};
use super::{default_catalog, InputError, JobDefinitions, ReadOptions, SkippedLines};
use crate::model::{Catalog, Cluster, SchedulingOptions, SimDuration};
use crate::scenario::{Scenario, SpotModel};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Loads a scenario file and its trace (`trace_override` replaces the file's `trace`).
/// The trace comes back sorted by submit time, file order kept between equal times.
pub fn load_scenario(path: &Path, trace_override: Option<&Path>) -> Result<Scenario, InputError> {
    load_scenario_with_definitions(path, trace_override).map(|(s, _)| s)
}

/// [`load_scenario`], also returning the job definitions (live mode needs their container
/// properties: image, network, capabilities).
pub fn load_scenario_with_definitions(
    path: &Path,
    trace_override: Option<&Path>,
) -> Result<(Scenario, JobDefinitions), InputError> {
    load_scenario_with_options(path, trace_override, ReadOptions::default())
}

/// [`load_scenario_with_definitions`] with reader options (`--skip-bad-lines`); the lines
/// skipped are in [`Scenario::skipped_lines`].
pub fn load_scenario_with_options(
    path: &Path,
    trace_override: Option<&Path>,
    opts: ReadOptions,
) -> Result<(Scenario, JobDefinitions), InputError> {
    load_scenario_swf(path, trace_override, opts, false)
}

/// [`load_scenario_with_options`]; `cluster_from_header` (the command line's
/// `--cluster-from-header`) adds the machine of an SWF trace's header, as `[swf]
/// cluster_from_header = true` does (see `docs/swf.md`).
pub fn load_scenario_swf(
    path: &Path,
    trace_override: Option<&Path>,
    opts: ReadOptions,
    cluster_from_header: bool,
) -> Result<(Scenario, JobDefinitions), InputError> {
    let src = std::fs::read_to_string(path).map_err(|e| InputError::unreadable(path, &e))?;
    load_scenario_text(path, &src, trace_override, opts, cluster_from_header)
}

/// [`load_scenario_swf`] on scenario text already in memory (`path` names the file for
/// messages and is where relative paths start): `flotilla sweep` loads each grid point from
/// the scenario's TOML with the point's values written in.
pub fn load_scenario_text(
    path: &Path,
    src: &str,
    trace_override: Option<&Path>,
    opts: ReadOptions,
    cluster_from_header: bool,
) -> Result<(Scenario, JobDefinitions), InputError> {
    #[allow(unused_mut)] // the readers that skip lines fill it
    let mut skipped = SkippedLines::default();
    let wire: WireScenario = toml::from_str(src).map_err(|e| toml_error(path, src, &e))?;
    let ctx = Ctx { file: path, src };
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
    let (catalog, archs) = match &wire.catalog {
        Some(c) => {
            let p = existing(&ctx, base, c, "catalog", "catalog file")?;
            let f = std::fs::File::open(&p).map_err(|e| InputError::unreadable(&p, &e))?;
            parse_catalog_with_architectures(f, &p, overhead_bp, boot_delay)?
        }
        None => {
            let c = default_catalog(overhead_bp, boot_delay);
            let a = c.types().iter().map(|t| Architecture::of_family(&t.family));
            let a: Vec<Architecture> = a.collect();
            (c, a)
        }
    };
    let (catalog, archs) = match &wire.catalog_filter {
        Some(f) => {
            let (kept, kept_archs) = catalog_filter::apply(&ctx, f, &catalog, &archs)?;
            catalog_filter::check_selectors(&ctx, &wire.compute_environments, &catalog, &kept)?;
            (kept, kept_archs)
        }
        None => (catalog, archs),
    };
    let mut notes = Vec::new();
    let mut alibaba = Alibaba::read(&ctx, base, wire.alibaba.as_ref(), opts, &mut skipped)?;
    let mut compute_environments =
        build_compute_environments(&ctx, &wire.compute_environments, &catalog)?;
    alibaba.add_compute_environments(
        &ctx,
        &catalog,
        &archs,
        &mut compute_environments,
        &mut notes,
    )?;
    let swf = SwfPlan::new(
        &ctx,
        base,
        wire.trace.as_ref(),
        wire.swf.as_ref(),
        trace_override,
        cluster_from_header,
    )?;
    if let Some(p) = &swf {
        p.add_machine(&mut compute_environments)?;
    }
    if compute_environments.is_empty() {
        return Err(ctx.missing(
            "compute_environments",
            "a scenario needs at least one [[compute_environments]] entry",
        ));
    }
    let policies = build_scheduling_policies(&ctx, &wire.scheduling_policies)?;
    let mut job_queues =
        build_job_queues(&ctx, &wire.job_queues, &compute_environments, &policies)?;
    if let Some(p) = &swf {
        p.add_default_queue(&mut job_queues, &compute_environments);
    }
    if job_queues.is_empty() {
        job_queues.extend(alibaba.default_queue(&ctx)?);
    }
    if job_queues.is_empty() {
        return Err(ctx.missing(
            "job_queues",
            "a scenario needs at least one [[job_queues]] entry",
        ));
    }
    let job_definitions = build_job_definitions(&ctx, &wire.job_definitions)?;
    let spot = build_spot(&ctx, base, wire.spot.as_ref(), &catalog, opts, &mut skipped)?;
    let options = SchedulingOptions {
        keep_cpu_jobs_off_gpu_instances: wire
            .scheduler
            .as_ref()
            .and_then(|s| s.keep_cpu_jobs_off_gpu_instances)
            .unwrap_or(false),
        policy: scheduler_policy(&ctx, wire.scheduler.as_ref())?,
    };
    let epoch_ms = match &wire.epoch_ms {
        Some(e) => ctx.int(e, "epoch_ms", 0, i64::MAX, "Unix epoch milliseconds ≥ 0")? as u64,
        None => swf.as_ref().and_then(SwfPlan::epoch_ms).unwrap_or(0),
    };
    // Without an epoch, a Spot price history starts the run at its earliest timestamp.
    let epoch_ms = match &spot.market.history {
        Some(h) if epoch_ms == 0 => h.earliest_ms,
        _ => epoch_ms,
    };
    let cluster = Cluster {
        options,
        catalog,
        compute_environments,
        job_queues,
    };
    let (trace_path, trace) = match (trace_override, &wire.trace, &wire.generate) {
        (None, None, Some(g)) => {
            let g = WireGenerated {
                ctx: &ctx,
                seed,
                section: g,
            };
            super::generated::generated_trace(g, &cluster, &job_definitions)?
        }
        (_, Some(_), Some(g)) => {
            return Err(ctx.err(
                g.span(),
                "generate",
                "give either `trace` or a [generate] section, not both",
            ))
        }
        (Some(t), _, _) => (t.to_path_buf(), None),
        (None, Some(t), None) => (existing(&ctx, base, t, "trace", "trace file")?, None),
        (None, None, None) => {
            return Err(ctx.missing(
                "trace",
                "the scenario names no trace file; add `trace = \"jobs.csv\"`, a [generate] \
                 section, or pass a trace",
            ))
        }
    };
    let trace = match (trace, &swf) {
        (Some(t), _) => t,
        (None, Some(p)) => p.load(&ctx, wire.swf.as_ref(), &cluster, opts, &mut skipped)?,
        (None, None) if is_task_list(&trace_path)? => {
            alibaba.load_tasks(&ctx, &trace_path, &cluster, opts, &mut skipped, &mut notes)?
        }
        (None, None) => {
            load_trace_with(&trace_path, &cluster, &job_definitions, opts, &mut skipped)?
        }
    };
    let mut scenario = Scenario {
        name,
        seed,
        cluster,
        trace,
        trace_path,
        spot,
        container_start_delay,
        epoch_ms,
        skipped_lines: skipped,
        notes,
    };
    scenario.sort_trace();
    Ok((scenario, job_definitions))
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

fn build_spot(
    ctx: &Ctx,
    base: &Path,
    spot: Option<&WireSpot>,
    catalog: &Catalog,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
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
        model.price_series = load_price_series_with(&path, catalog, opts, skipped)?;
    }
    model.market = super::spot_market::build_market(ctx, base, s, catalog, opts, skipped)?;
    model.measured = super::spot_trace_scenario::build_measured(ctx, base, &s.measured, catalog)?;
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

/// `[scheduler] policy`: parsed and checked against the built-in policies.
fn scheduler_policy(
    ctx: &Ctx,
    scheduler: Option<&super::wire::WireScheduler>,
) -> Result<crate::engine::policy::PolicySpec, InputError> {
    use crate::engine::policy::{PolicySpec, Registry};
    let Some(p) = scheduler.and_then(|s| s.policy.as_ref()) else {
        return Ok(PolicySpec::default());
    };
    let spec = PolicySpec::parse(p.get_ref())
        .and_then(|spec| Registry::builtin().resolve(&spec).map(|_| spec));
    spec.map_err(|m| ctx.err(p.span(), "scheduler.policy".to_string(), m))
}
