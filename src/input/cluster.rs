//! Compute environments and job queues: wire shapes to model types, with AWS's rules.

use super::tomlerr::Ctx;
use super::wire::{WireCe, WireQueue, WireResources};
use super::InputError;
use crate::model::{
    AllocationStrategy, Catalog, ComputeEnvironment, ComputeEnvironmentId, InstanceTypeId,
    JobQueue, Market, SimDuration,
};
use std::collections::BTreeSet;
use toml::Spanned;

/// AWS's limit of compute environments per job queue.
const MAX_CES_PER_QUEUE: usize = 3;

/// What `optimal` and `default_x86_64` stand for (reference §5.3, current API).
const DEFAULT_X86_64: [&str; 4] = ["m6i", "c6i", "r6i", "c7i"];

/// Checks an `ENABLED`/`DISABLED` state; only `ENABLED` is simulated.
fn check_state(
    ctx: &Ctx,
    state: Option<&Spanned<String>>,
    field: &str,
    what: &str,
) -> Result<(), InputError> {
    let Some(s) = state else { return Ok(()) };
    match s.get_ref().as_str() {
        "ENABLED" => Ok(()),
        "DISABLED" => Err(ctx.err(
            s.span(),
            field,
            format!("DISABLED {what} are not supported yet; use ENABLED or remove it"),
        )),
        other => Err(ctx.err(
            s.span(),
            field,
            format!("expected ENABLED or DISABLED, got `{other}`"),
        )),
    }
}

/// Builds the compute environments, in file order.
pub(crate) fn build_compute_environments(
    ctx: &Ctx,
    wires: &[Spanned<WireCe>],
    catalog: &Catalog,
) -> Result<Vec<ComputeEnvironment>, InputError> {
    if wires.len() > u16::MAX as usize {
        return Err(ctx.missing("compute_environments", "too many compute environments"));
    }
    let mut out: Vec<ComputeEnvironment> = Vec::with_capacity(wires.len());
    for (i, w) in wires.iter().enumerate() {
        let p = format!("compute_environments[{i}]");
        let ce = w.get_ref();
        let name = ctx.name(&ce.name, &format!("{p}.computeEnvironmentName"))?;
        if out.iter().any(|c| c.name == name) {
            let msg = format!("compute environment `{name}` is defined twice");
            return Err(ctx.err(ce.name.span(), format!("{p}.computeEnvironmentName"), msg));
        }
        if let Some(k) = &ce.kind {
            match k.get_ref().as_str() {
                "MANAGED" => {}
                "UNMANAGED" => {
                    let msg = "UNMANAGED compute environments are not supported yet; use MANAGED";
                    return Err(ctx.err(k.span(), format!("{p}.type"), msg));
                }
                other => {
                    return Err(ctx.err(
                        k.span(),
                        format!("{p}.type"),
                        format!("expected MANAGED or UNMANAGED, got `{other}`"),
                    ))
                }
            }
        }
        check_state(
            ctx,
            ce.state.as_ref(),
            &format!("{p}.state"),
            "compute environments",
        )?;
        let Some(res) = &ce.resources else {
            let msg = "a MANAGED compute environment needs a `computeResources` table";
            return Err(ctx.err(w.span(), format!("{p}.computeResources"), msg));
        };
        let idle_timeout = ctx.secs(
            ce.idle_timeout_s.as_ref(),
            &format!("{p}.idle_timeout_s"),
            SimDuration::from_secs(300),
        )?;
        let capacity_retry = ctx.secs(
            ce.capacity_retry_s.as_ref(),
            &format!("{p}.capacity_retry_s"),
            SimDuration::from_secs(60),
        )?;
        out.push(build_resources(
            ctx,
            res.get_ref(),
            &format!("{p}.computeResources"),
            catalog,
            name,
            idle_timeout,
            capacity_retry,
        )?);
    }
    Ok(out)
}

fn build_resources(
    ctx: &Ctx,
    r: &WireResources,
    p: &str,
    catalog: &Catalog,
    name: String,
    idle_timeout: SimDuration,
    capacity_retry: SimDuration,
) -> Result<ComputeEnvironment, InputError> {
    let market = match r.market.get_ref().as_str() {
        "EC2" => Market::OnDemand,
        "SPOT" => Market::Spot,
        f @ ("FARGATE" | "FARGATE_SPOT") => {
            let msg = format!(
                "{f} compute environments are not supported; flotilla simulates EC2 and SPOT"
            );
            return Err(ctx.err(r.market.span(), format!("{p}.type"), msg));
        }
        other => {
            return Err(ctx.err(
                r.market.span(),
                format!("{p}.type"),
                format!("expected EC2 (On-Demand) or SPOT, got `{other}`"),
            ))
        }
    };
    let vcpus = "a whole number of vCPUs ≥ 0";
    let max = ctx.uint(&r.max_vcpus, &format!("{p}.maxvCpus"), 0, u32::MAX, vcpus)?;
    let min = match &r.min_vcpus {
        Some(v) => ctx.uint(v, &format!("{p}.minvCpus"), 0, u32::MAX, vcpus)?,
        None => 0,
    };
    if let (true, Some(v)) = (min > max, &r.min_vcpus) {
        return Err(ctx.err(
            v.span(),
            format!("{p}.minvCpus"),
            format!("minvCpus ({min}) must not exceed maxvCpus ({max})"),
        ));
    }
    let desired = match &r.desired_vcpus {
        Some(v) => {
            let d = ctx.uint(v, &format!("{p}.desiredvCpus"), 0, u32::MAX, vcpus)?;
            if d < min || d > max {
                let msg = format!(
                    "desiredvCpus ({d}) must be between minvCpus ({min}) and maxvCpus ({max})"
                );
                return Err(ctx.err(v.span(), format!("{p}.desiredvCpus"), msg));
            }
            d
        }
        None => min,
    };
    let instance_types = resolve_types(ctx, r, p, catalog, market)?;
    let allocation_strategy = match &r.allocation_strategy {
        None => AllocationStrategy::BestFit,
        Some(s) => {
            let field = format!("{p}.allocationStrategy");
            let a: AllocationStrategy = s
                .get_ref()
                .parse()
                .map_err(|m: String| ctx.err(s.span(), field.clone(), m))?;
            if a.spot_only() && market == Market::OnDemand {
                let msg = format!("{a} is only allowed on SPOT compute environments (AWS rejects it on EC2); use BEST_FIT or BEST_FIT_PROGRESSIVE");
                return Err(ctx.err(s.span(), field, msg));
            }
            a
        }
    };
    let bid_percentage = match &r.bid_percentage {
        Some(b) => ctx.uint(
            b,
            &format!("{p}.bidPercentage"),
            1,
            100,
            "a percentage of the On-Demand price from 1 to 100",
        )?,
        None => 100,
    };
    Ok(ComputeEnvironment {
        name,
        market,
        min_vcpus: min,
        max_vcpus: max,
        desired_vcpus: desired,
        instance_types,
        allocation_strategy,
        bid_percentage,
        idle_timeout,
        capacity_retry,
        ..ComputeEnvironment::default()
    })
}

/// Resolves `instanceTypes` against the catalog: deduplicated, in catalog order.
fn resolve_types(
    ctx: &Ctx,
    r: &WireResources,
    p: &str,
    catalog: &Catalog,
    market: Market,
) -> Result<Vec<InstanceTypeId>, InputError> {
    let list = &r.instance_types;
    if list.get_ref().is_empty() {
        return Err(ctx.err(
            list.span(),
            format!("{p}.instanceTypes"),
            "expected at least one instance type or family",
        ));
    }
    let mut ids = BTreeSet::new();
    for (j, sel) in list.get_ref().iter().enumerate() {
        let s = sel.get_ref().trim();
        let found: Vec<InstanceTypeId> = if s == "optimal" || s == "default_x86_64" {
            DEFAULT_X86_64
                .iter()
                .flat_map(|f| catalog.resolve_selector(f))
                .collect()
        } else {
            catalog.resolve_selector(s)
        };
        if found.is_empty() {
            let mut families: Vec<&str> = Vec::new();
            for t in catalog.types() {
                if !families.contains(&t.family.as_str()) {
                    families.push(&t.family);
                }
            }
            let msg = format!(
                "`{s}` matches no instance type or family in the catalog; its families are: {}",
                families.join(", ")
            );
            return Err(ctx.err(sel.span(), format!("{p}.instanceTypes[{j}]"), msg));
        }
        ids.extend(found);
    }
    if market == Market::Spot && !ids.iter().any(|&id| catalog.get(id).has_spot()) {
        let msg = "none of these instance types has a Spot offer in the catalog";
        return Err(ctx.err(list.span(), format!("{p}.instanceTypes"), msg));
    }
    Ok(ids.into_iter().collect())
}

/// Builds the job queues, in file order, against the compute environments.
pub(crate) fn build_job_queues(
    ctx: &Ctx,
    wires: &[Spanned<WireQueue>],
    ces: &[ComputeEnvironment],
) -> Result<Vec<JobQueue>, InputError> {
    if wires.len() > u16::MAX as usize {
        return Err(ctx.missing("job_queues", "too many job queues"));
    }
    let mut out: Vec<JobQueue> = Vec::with_capacity(wires.len());
    for (i, w) in wires.iter().enumerate() {
        let p = format!("job_queues[{i}]");
        let q = w.get_ref();
        let name = ctx.name(&q.name, &format!("{p}.jobQueueName"))?;
        if out.iter().any(|o| o.name == name) {
            return Err(ctx.err(
                q.name.span(),
                format!("{p}.jobQueueName"),
                format!("job queue `{name}` is defined twice"),
            ));
        }
        let priority = ctx.int(
            &q.priority,
            &format!("{p}.priority"),
            0,
            i32::MAX.into(),
            "a priority ≥ 0",
        )?;
        check_state(ctx, q.state.as_ref(), &format!("{p}.state"), "job queues")?;
        let field = format!("{p}.computeEnvironmentOrder");
        let entries = q.order.get_ref();
        if entries.is_empty() {
            return Err(ctx.err(
                q.order.span(),
                field,
                "a job queue needs at least one compute environment",
            ));
        }
        if entries.len() > MAX_CES_PER_QUEUE {
            let msg = format!("a job queue can use at most {MAX_CES_PER_QUEUE} compute environments (AWS limit), got {}", entries.len());
            return Err(ctx.err(q.order.span(), field, msg));
        }
        let mut order: Vec<(i64, ComputeEnvironmentId)> = Vec::new();
        for (j, e) in entries.iter().enumerate() {
            let e = e.get_ref();
            let ef = format!("{field}[{j}]");
            let ce_name = e.compute_environment.get_ref();
            let Some(idx) = ces.iter().position(|c| &c.name == ce_name) else {
                let known: Vec<&str> = ces.iter().map(|c| c.name.as_str()).collect();
                let msg = format!(
                    "unknown compute environment `{ce_name}`; the scenario defines: {}",
                    known.join(", ")
                );
                return Err(ctx.err(
                    e.compute_environment.span(),
                    format!("{ef}.computeEnvironment"),
                    msg,
                ));
            };
            let id = ComputeEnvironmentId(idx as u16);
            if order.iter().any(|&(_, c)| c == id) {
                let msg = format!("compute environment `{ce_name}` appears twice in this queue");
                return Err(ctx.err(
                    e.compute_environment.span(),
                    format!("{ef}.computeEnvironment"),
                    msg,
                ));
            }
            let o = ctx.int(
                &e.order,
                &format!("{ef}.order"),
                0,
                i32::MAX.into(),
                "an order ≥ 0",
            )?;
            if order.iter().any(|&(x, _)| x == o) {
                return Err(ctx.err(
                    e.order.span(),
                    format!("{ef}.order"),
                    format!("order {o} is used twice in this queue"),
                ));
            }
            order.push((o, id));
        }
        order.sort_by_key(|&(o, _)| o);
        out.push(JobQueue {
            name,
            priority: i32::try_from(priority).unwrap_or(i32::MAX),
            compute_environment_order: order.into_iter().map(|(_, id)| id).collect(),
            ..JobQueue::default()
        });
    }
    Ok(out)
}
