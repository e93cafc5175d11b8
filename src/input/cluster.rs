//! Compute environments and job queues: wire shapes to model types, with AWS's rules.

use super::tomlerr::Ctx;
use super::wire::{WireCe, WireHost, WireResources};
use super::InputError;
use crate::model::{
    AllocationStrategy, Catalog, ComputeEnvironment, InstanceTypeId, Market, SimDuration,
    UnmanagedHost,
};
use std::collections::BTreeSet;
use toml::Spanned;

/// Most hosts one `hosts` entry's `count` may expand to.
const MAX_HOST_COUNT: u32 = 10_000;

/// What `optimal` and `default_x86_64` stand for (reference §5.3, current API).
const DEFAULT_X86_64: [&str; 4] = ["m6i", "c6i", "r6i", "c7i"];

/// Reads an `ENABLED`/`DISABLED` state (default ENABLED); returns whether it is DISABLED.
pub(crate) fn is_disabled(
    ctx: &Ctx,
    state: Option<&Spanned<String>>,
    field: &str,
) -> Result<bool, InputError> {
    let Some(s) = state else { return Ok(false) };
    match s.get_ref().as_str() {
        "ENABLED" => Ok(false),
        "DISABLED" => Ok(true),
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
        let unmanaged = match &ce.kind {
            None => false,
            Some(k) => match k.get_ref().as_str() {
                "MANAGED" => false,
                "UNMANAGED" => true,
                other => {
                    return Err(ctx.err(
                        k.span(),
                        format!("{p}.type"),
                        format!("expected MANAGED or UNMANAGED, got `{other}`"),
                    ))
                }
            },
        };
        let disabled = is_disabled(ctx, ce.state.as_ref(), &format!("{p}.state"))?;
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
        let mut built = if unmanaged {
            if let Some(res) = &ce.resources {
                let msg = "an UNMANAGED compute environment takes `hosts`, not `computeResources`";
                return Err(ctx.err(res.span(), format!("{p}.computeResources"), msg));
            }
            let hosts = build_hosts(ctx, ce.hosts.as_ref(), w.span(), &p, &out)?;
            ComputeEnvironment::unmanaged(name, hosts)
        } else {
            if let Some(h) = &ce.hosts {
                let msg = "`hosts` is only for UNMANAGED compute environments; set `type = \"UNMANAGED\"`";
                return Err(ctx.err(h.span(), format!("{p}.hosts"), msg));
            }
            let Some(res) = &ce.resources else {
                let msg = "a MANAGED compute environment needs a `computeResources` table";
                return Err(ctx.err(w.span(), format!("{p}.computeResources"), msg));
            };
            build_resources(
                ctx,
                res.get_ref(),
                &format!("{p}.computeResources"),
                catalog,
                name,
            )?
        };
        built.disabled = disabled;
        built.idle_timeout = idle_timeout;
        built.capacity_retry = capacity_retry;
        out.push(built);
    }
    Ok(out)
}

fn build_resources(
    ctx: &Ctx,
    r: &WireResources,
    p: &str,
    catalog: &Catalog,
    name: String,
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

/// The hosts of an UNMANAGED compute environment: `count` expands `name` to `name-0`,
/// `name-1`, …; names are unique across the scenario.
fn build_hosts(
    ctx: &Ctx,
    hosts: Option<&Spanned<Vec<Spanned<WireHost>>>>,
    ce_span: std::ops::Range<usize>,
    p: &str,
    earlier: &[ComputeEnvironment],
) -> Result<Vec<UnmanagedHost>, InputError> {
    let field = format!("{p}.hosts");
    let list = match hosts {
        Some(h) if !h.get_ref().is_empty() => h.get_ref(),
        Some(h) => {
            return Err(ctx.err(
                h.span(),
                field,
                "an UNMANAGED compute environment needs at least one host",
            ))
        }
        None => {
            let msg = "an UNMANAGED compute environment needs `hosts = [{ name, vcpus, memory }]`";
            return Err(ctx.err(ce_span, field, msg));
        }
    };
    let mut out: Vec<UnmanagedHost> = Vec::new();
    let mut names: BTreeSet<String> = earlier
        .iter()
        .flat_map(|c| c.unmanaged_hosts.iter().map(|h| h.name.clone()))
        .collect();
    for (j, h) in list.iter().enumerate() {
        let h = h.get_ref();
        let hf = format!("{field}[{j}]");
        let name = ctx.name(&h.name, &format!("{hf}.name"))?;
        let vcpus = ctx.uint(
            &h.vcpus,
            &format!("{hf}.vcpus"),
            1,
            u32::MAX,
            "a whole number of vCPUs ≥ 1",
        )?;
        let memory_mib = ctx.uint(
            &h.memory,
            &format!("{hf}.memory"),
            1,
            u32::MAX,
            "a whole number of MiB ≥ 1",
        )?;
        let gpus = match &h.gpus {
            Some(g) => ctx.uint(
                g,
                &format!("{hf}.gpus"),
                0,
                u32::MAX,
                "a whole number of GPUs ≥ 0",
            )?,
            None => 0,
        };
        let expanded: Vec<String> = match &h.count {
            None => vec![name],
            Some(c) => {
                let what = format!("a number of hosts from 1 to {MAX_HOST_COUNT}");
                let n = ctx.uint(c, &format!("{hf}.count"), 1, MAX_HOST_COUNT, &what)?;
                (0..n).map(|k| format!("{name}-{k}")).collect()
            }
        };
        for n in expanded {
            if !names.insert(n.clone()) {
                let msg = format!("host name `{n}` is used twice in the scenario");
                return Err(ctx.err(h.name.span(), format!("{hf}.name"), msg));
            }
            out.push(UnmanagedHost {
                name: n,
                vcpus,
                memory_mib,
                gpus,
            });
        }
    }
    Ok(out)
}
