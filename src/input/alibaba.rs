//! The scenario's `[alibaba]` section: how Alibaba's GPU cluster trace 2023 becomes AWS
//! Batch jobs and capacity (see docs/alibaba.md for the data and the figures).
//!
//! A `trace` whose header has `cpu_milli` and `num_gpu` is read as an Alibaba task list
//! ([`super::alibaba_tasks`] states the row-to-job rules); every field here is optional.
//!
//! ```toml
//! trace = "../traces/alibaba-gpu-2023/openb_pod_list_default.csv"
//! [alibaba]
//! gpu_share = "whole"        # fractional GPU shares: "whole" (round up to 1 GPU, default),
//!                            # "cpu-only" (drop the share) or "skip" (leave the task out)
//! unscheduled = "skip"       # tasks never scheduled: "skip" (default) or "keep"
//! nodes = "../traces/alibaba-gpu-2023/openb_node_list_all_node.csv"   # the fleet
//! fleet = "unmanaged"        # "unmanaged" (default): one UNMANAGED compute environment with
//!                            # the nodes as hosts; "ec2": a MANAGED one whose instance types
//!                            # are the node shapes mapped onto the catalog
//! market = "EC2"             # fleet = "ec2": "EC2" (On-Demand, default), "SPOT", or
//!                            # "SPOT_AND_EC2" (a Spot CE first, an On-Demand CE second)
//! instance_types = { G2 = "g4dn.metal", cpu = "m6i.24xlarge" }   # fleet = "ec2": a type
//!                            # per node model, overriding the mapping (`cpu`: CPU nodes)
//! compute_environment = "alibaba"   # name of the generated CE (SPOT_AND_EC2: name-spot,
//!                            # name-ec2); default "alibaba"
//! job_queue = "alibaba"      # the queue of every task not mapped below; default: the
//!                            # scenario's first [[job_queues]] entry. A scenario without
//!                            # [[job_queues]] gets this queue (default name "alibaba",
//!                            # priority 1) over the generated CEs
//! qos_queues = { BE = "spot-queue" }        # queue by the task's `qos`
//! gpu_spec_queues = { "V100M32" = "v100" }  # queue by `gpu_spec` (checked before qos)
//! ```
//!
//! With `nodes` and no `[[compute_environments]]`/`[[job_queues]]`, a scenario runs as is.
//! Scenario CEs and queues may be defined too, and queues may name the generated CEs.
//! Generated CEs: maxvCpus = the vCPUs of the mapped types, one instance per node (EC2) or
//! the nodes' vCPUs (UNMANAGED); minvCpus 0; allocation strategy BEST_FIT_PROGRESSIVE (EC2)
//! or SPOT_PRICE_CAPACITY_OPTIMIZED (SPOT); idle timeout 300 s. On a queue with a fair-share
//! policy, a task's share identifier is its `qos`.

use super::alibaba_fleet::{describe_mapping, map_shapes, unmanaged_hosts};
pub(crate) use super::alibaba_jobs::is_task_list;
use super::alibaba_nodes::{read_node_shapes, NodeShape};
use super::alibaba_tasks::GpuShare;
use super::catalog_filter::Architecture;
use super::tomlerr::Ctx;
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{
    AllocationStrategy, Catalog, ComputeEnvironment, ComputeEnvironmentId, InstanceTypeId,
    JobQueue, Market, SimDuration,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// `[alibaba]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireAlibaba {
    gpu_share: Option<Spanned<String>>,
    unscheduled: Option<Spanned<String>>,
    nodes: Option<Spanned<String>>,
    fleet: Option<Spanned<String>>,
    market: Option<Spanned<String>>,
    #[serde(default)]
    instance_types: BTreeMap<String, Spanned<String>>,
    compute_environment: Option<Spanned<String>>,
    pub(super) job_queue: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) qos_queues: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) gpu_spec_queues: BTreeMap<String, Spanned<String>>,
}

/// `[alibaba]`, checked; the node list read.
pub(crate) struct Alibaba<'w> {
    pub(super) wire: &'w WireAlibaba,
    pub(super) gpu_share: GpuShare,
    pub(super) keep_unscheduled: bool,
    pub(super) shapes: Vec<NodeShape>,
    pub(super) ec2: bool,
    pub(super) markets: Vec<Market>,
    pub(super) ce_name: String,
    /// The CEs this section added, for the default queue.
    pub(super) generated: Vec<ComputeEnvironmentId>,
}

static EMPTY: WireAlibaba = WireAlibaba {
    gpu_share: None,
    unscheduled: None,
    nodes: None,
    fleet: None,
    market: None,
    instance_types: BTreeMap::new(),
    compute_environment: None,
    job_queue: None,
    qos_queues: BTreeMap::new(),
    gpu_spec_queues: BTreeMap::new(),
};

fn choice<T: Copy>(
    ctx: &Ctx,
    v: Option<&Spanned<String>>,
    field: &str,
    options: &[(&str, T)],
) -> Result<Option<T>, InputError> {
    let Some(v) = v else { return Ok(None) };
    match options.iter().find(|(n, _)| n == v.get_ref()) {
        Some(&(_, t)) => Ok(Some(t)),
        None => {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
            let msg = format!("expected {}, got `{}`", names.join(" or "), v.get_ref());
            Err(ctx.err(v.span(), field, msg))
        }
    }
}

impl<'w> Alibaba<'w> {
    /// Checks the section and reads its node list (paths relative to `base`).
    pub(crate) fn read(
        ctx: &Ctx,
        base: &Path,
        wire: Option<&'w WireAlibaba>,
        opts: ReadOptions,
        skipped: &mut SkippedLines,
    ) -> Result<Self, InputError> {
        let w = wire.unwrap_or(&EMPTY);
        let shares = [
            ("whole", GpuShare::Whole),
            ("cpu-only", GpuShare::CpuOnly),
            ("skip", GpuShare::Skip),
        ];
        let gpu_share = choice(ctx, w.gpu_share.as_ref(), "alibaba.gpu_share", &shares)?;
        let unsched = [("skip", false), ("keep", true)];
        let keep = choice(ctx, w.unscheduled.as_ref(), "alibaba.unscheduled", &unsched)?;
        let fleets = [("unmanaged", false), ("ec2", true)];
        let ec2 = choice(ctx, w.fleet.as_ref(), "alibaba.fleet", &fleets)?.unwrap_or(false);
        let markets: [(&str, &[Market]); 3] = [
            ("EC2", &[Market::OnDemand]),
            ("SPOT", &[Market::Spot]),
            ("SPOT_AND_EC2", &[Market::Spot, Market::OnDemand]),
        ];
        let markets = choice(ctx, w.market.as_ref(), "alibaba.market", &markets)?;
        let nodes_only = [
            (w.fleet.as_ref(), "alibaba.fleet"),
            (w.market.as_ref(), "alibaba.market"),
            (
                w.compute_environment.as_ref(),
                "alibaba.compute_environment",
            ),
        ];
        if w.nodes.is_none() {
            if let Some((v, field)) = nodes_only.iter().find_map(|(v, f)| v.map(|v| (v, f))) {
                let msg = "this needs a node list: add `nodes = \"node_list.csv\"`";
                return Err(ctx.err(v.span(), *field, msg));
            }
        }
        if !ec2 {
            let only_ec2 = w
                .market
                .as_ref()
                .map(|m| (m.span(), "alibaba.market".to_string()));
            let only_ec2 = only_ec2.or_else(|| {
                let (k, v) = w.instance_types.iter().next()?;
                Some((v.span(), format!("alibaba.instance_types.{k}")))
            });
            if let Some((span, field)) = only_ec2 {
                let msg = "only for `fleet = \"ec2\"` (an UNMANAGED fleet has the nodes as hosts)";
                return Err(ctx.err(span, field, msg));
            }
        }
        let shapes = match &w.nodes {
            None => Vec::new(),
            Some(n) => {
                let p: PathBuf = base.join(n.get_ref());
                if !p.is_file() {
                    let msg = format!("node list `{}` does not exist", p.display());
                    return Err(ctx.err(n.span(), "alibaba.nodes", msg));
                }
                let f = std::fs::File::open(&p).map_err(|e| InputError::unreadable(&p, &e))?;
                read_node_shapes(std::io::BufReader::new(f), &p, opts, skipped)?
            }
        };
        let ce_name = match &w.compute_environment {
            Some(n) => ctx.name(n, "alibaba.compute_environment")?,
            None => "alibaba".to_string(),
        };
        Ok(Alibaba {
            wire: w,
            gpu_share: gpu_share.unwrap_or_default(),
            keep_unscheduled: keep.unwrap_or(false),
            shapes,
            ec2,
            markets: markets.unwrap_or(&[Market::OnDemand]).to_vec(),
            ce_name,
            generated: Vec::new(),
        })
    }

    /// Adds the fleet's compute environments (none without a node list); the EC2 mapping
    /// goes to `notes`.
    pub(crate) fn add_compute_environments(
        &mut self,
        ctx: &Ctx,
        catalog: &Catalog,
        archs: &[Architecture],
        ces: &mut Vec<ComputeEnvironment>,
        notes: &mut Vec<String>,
    ) -> Result<(), InputError> {
        if self.shapes.is_empty() {
            return Ok(());
        }
        let field = "alibaba.compute_environment";
        let mut overrides: BTreeMap<String, InstanceTypeId> = BTreeMap::new();
        for (model, t) in &self.wire.instance_types {
            let Some(id) = catalog.find(t.get_ref()) else {
                let msg = format!("instance type `{}` is not in the catalog", t.get_ref());
                return Err(ctx.err(t.span(), format!("alibaba.instance_types.{model}"), msg));
            };
            overrides.insert(model.clone(), id);
        }
        let both = self.markets.len() > 1;
        for &market in &self.markets.clone() {
            let name = match (both, market) {
                (false, _) => self.ce_name.clone(),
                (true, Market::Spot) => format!("{}-spot", self.ce_name),
                (true, Market::OnDemand) => format!("{}-ec2", self.ce_name),
            };
            if ces.iter().any(|c| c.name == name) {
                let msg = format!("the scenario already has a compute environment `{name}`; name the generated one differently");
                return Err(ctx.missing(field, msg));
            }
            let mut ce = if self.ec2 {
                self.managed(ctx, catalog, archs, &overrides, market, notes)?
            } else {
                self.unmanaged(ctx, &name, ces)?
            };
            ce.name = name;
            ce.idle_timeout = SimDuration::from_secs(300);
            ce.capacity_retry = SimDuration::from_secs(60);
            if ces.len() >= u16::MAX as usize {
                return Err(ctx.missing(field, "too many compute environments"));
            }
            self.generated.push(ComputeEnvironmentId(ces.len() as u16));
            ces.push(ce);
        }
        Ok(())
    }

    fn unmanaged(
        &self,
        ctx: &Ctx,
        name: &str,
        ces: &[ComputeEnvironment],
    ) -> Result<ComputeEnvironment, InputError> {
        let hosts = unmanaged_hosts(&self.shapes, name);
        for c in ces {
            if let Some(h) = c
                .unmanaged_hosts
                .iter()
                .find(|h| hosts.iter().any(|g| g.name == h.name))
            {
                let msg = format!("host name `{}` of compute environment `{}` clashes with the generated hosts `{name}-s<shape>-<n>`", h.name, c.name);
                return Err(ctx.missing("alibaba.compute_environment", msg));
            }
        }
        Ok(ComputeEnvironment::unmanaged(String::new(), hosts))
    }

    fn managed(
        &self,
        ctx: &Ctx,
        catalog: &Catalog,
        archs: &[Architecture],
        overrides: &BTreeMap<String, InstanceTypeId>,
        market: Market,
        notes: &mut Vec<String>,
    ) -> Result<ComputeEnvironment, InputError> {
        let spot = market == Market::Spot;
        let mapping =
            map_shapes(&self.shapes, catalog, archs, overrides, spot).map_err(|s| {
                let msg =
                    format!(
                "the catalog (as filtered) has no {}x86_64 instance type {} for node shape {}",
                if spot { "Spot-offered " } else { "" },
                if s.gpus > 0 { "with GPUs" } else { "without GPUs" },
                s.label()
            );
                ctx.missing("alibaba.nodes", msg)
            })?;
        let mut max = 0u32;
        let mut types: Vec<InstanceTypeId> = Vec::new();
        for m in &mapping {
            let t = catalog.get(m.instance_type);
            max = max.saturating_add(t.vcpus.saturating_mul(m.shape.count));
            types.push(m.instance_type);
        }
        types.sort_unstable();
        types.dedup();
        notes.push(format!(
            "alibaba fleet on {market}: {} node shapes mapped onto {} instance types, maxvCpus {max}:",
            mapping.len(),
            types.len()
        ));
        notes.extend(
            describe_mapping(&mapping, catalog)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        Ok(ComputeEnvironment {
            market,
            max_vcpus: max,
            instance_types: types,
            allocation_strategy: if spot {
                AllocationStrategy::SpotPriceCapacityOptimized
            } else {
                AllocationStrategy::BestFitProgressive
            },
            bid_percentage: 100,
            ..ComputeEnvironment::default()
        })
    }

    /// The queue a scenario without `[[job_queues]]` gets: `job_queue` (default `alibaba`)
    /// over the generated compute environments. `None` when nothing was generated.
    pub(crate) fn default_queue(&self, ctx: &Ctx) -> Result<Option<JobQueue>, InputError> {
        if self.generated.is_empty() {
            return Ok(None);
        }
        let name = match &self.wire.job_queue {
            Some(n) => ctx.name(n, "alibaba.job_queue")?,
            None => "alibaba".to_string(),
        };
        Ok(Some(JobQueue {
            name,
            priority: 1,
            compute_environment_order: self.generated.clone(),
            ..JobQueue::default()
        }))
    }
}
