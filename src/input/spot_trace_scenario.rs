//! `[[spot.measured]]` entries of a scenario: Spot pools driven by measured traces.
//!
//! Each entry names an instance type (one entry per type; `zone`, when the market has that
//! zone, limits the entry to that zone's pool, else it drives every pool of the type), an availability
//! trace, a preemption trace or both (paths relative to the scenario), and how to replay
//! them. `counts` says how the preemption trace's values are read (`missing`, the default:
//! instances preempted, held = N − value; `held`: instances held); the trace is turned
//! into instances held at load, so the replay and the fit see one reading. The semantics
//! are in [`crate::sim::measured`]; the file format in
//! [`super::SpotTrace`].

use super::spot_trace::{load_spot_trace, nodes_from_path, Counts, NODES_NEEDED};
use super::spot_trace_fit::PreemptionFit;
use super::tomlerr::Ctx;
use super::{InputError, SpotTrace};
use crate::model::{Catalog, InstanceTypeId, SimDuration};
use crate::sim::measured::{MeasuredHazard, MeasuredPool};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use toml::Spanned;

/// One `[[spot.measured]]` entry as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireMeasured {
    instance_type: Spanned<String>,
    zone: Option<Spanned<String>>,
    availability: Option<Spanned<String>>,
    preemption: Option<Spanned<String>>,
    offset_s: Option<Spanned<f64>>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
    nodes: Option<Spanned<i64>>,
    capacity: Option<Spanned<i64>>,
    hazard: Option<Spanned<String>>,
    counts: Option<Spanned<String>>,
}

/// Resolves the entries against the catalog and reads their traces.
pub(crate) fn build_measured(
    ctx: &Ctx,
    base: &Path,
    entries: &[Spanned<WireMeasured>],
    catalog: &Catalog,
) -> Result<Vec<MeasuredPool>, InputError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let pool = build_one(ctx, base, e, &format!("spot.measured[{i}]"), catalog)?;
        if !seen.insert(pool.instance_type) {
            let it = &e.get_ref().instance_type;
            return Err(ctx.err(
                it.span(),
                format!("spot.measured[{i}].instance_type"),
                format!(
                    "`{}` already has a measured pool (one entry per type)",
                    it.get_ref()
                ),
            ));
        }
        out.push(pool);
    }
    Ok(out)
}

fn build_one(
    ctx: &Ctx,
    base: &Path,
    e: &Spanned<WireMeasured>,
    at: &str,
    catalog: &Catalog,
) -> Result<MeasuredPool, InputError> {
    let w = e.get_ref();
    let it = &w.instance_type;
    let instance_type: InstanceTypeId = catalog.find(it.get_ref()).ok_or_else(|| {
        ctx.err(
            it.span(),
            format!("{at}.instance_type"),
            format!("instance type `{}` is not in the catalog", it.get_ref()),
        )
    })?;
    let nodes = match &w.nodes {
        Some(n) => Some(ctx.uint(n, &format!("{at}.nodes"), 1, 1_000_000, "a node count ≥ 1")?),
        None => None,
    };
    let counts = match &w.counts {
        None => Counts::default(),
        Some(c) => Counts::parse(c.get_ref()).ok_or_else(|| {
            ctx.err(
                c.span(),
                format!("{at}.counts"),
                format!("expected `missing` or `held`, got `{}`", c.get_ref()),
            )
        })?,
    };
    let availability = trace(
        ctx,
        base,
        w.availability.as_ref(),
        &format!("{at}.availability"),
        nodes,
        None,
    )?;
    let preemption = trace(
        ctx,
        base,
        w.preemption.as_ref(),
        &format!("{at}.preemption"),
        nodes,
        Some(counts),
    )?;
    if availability.is_none() && preemption.is_none() {
        return Err(ctx.err(
            e.span(),
            at,
            "expected `availability`, `preemption` or both (paths to measured trace files)",
        ));
    }
    let offset = ctx.secs(
        w.offset_s.as_ref(),
        &format!("{at}.offset_s"),
        SimDuration::ZERO,
    )?;
    let capacity = match &w.capacity {
        Some(c) => Some(ctx.uint(
            c,
            &format!("{at}.capacity"),
            0,
            u32::MAX,
            "a number of instances ≥ 0",
        )?),
        None => None,
    };
    let hazard = match w.hazard.as_ref().map(|h| (h, h.get_ref().as_str())) {
        None | Some((_, "replay")) => MeasuredHazard::Replay,
        Some((h, "measured")) => {
            let Some(t) = &preemption else {
                return Err(ctx.err(
                    h.span(),
                    format!("{at}.hazard"),
                    "`measured` fits the rate to a preemption trace: give `preemption`",
                ));
            };
            // No preemption seen gives rate 0: no reclaims, as the data suggest.
            MeasuredHazard::Fitted(PreemptionFit::of(t, Counts::Held).rate().unwrap_or(0.0))
        }
        Some((h, other)) => {
            return Err(ctx.err(
                h.span(),
                format!("{at}.hazard"),
                format!("expected `replay` or `measured`, got `{other}`"),
            ))
        }
    };
    Ok(MeasuredPool {
        instance_type,
        zone: w.zone.as_ref().map(|z| z.get_ref().clone()),
        availability,
        preemption,
        offset,
        looped: w.looped.unwrap_or(true),
        capacity,
        hazard,
    })
}

/// Reads the trace a field names, if it is given; a preemption trace (`counts` given) as
/// instances held.
fn trace(
    ctx: &Ctx,
    base: &Path,
    v: Option<&Spanned<String>>,
    field: &str,
    nodes: Option<u32>,
    counts: Option<Counts>,
) -> Result<Option<SpotTrace>, InputError> {
    let Some(v) = v else { return Ok(None) };
    let p = base.join(v.get_ref());
    if !p.is_file() {
        return Err(ctx.err(
            v.span(),
            field,
            format!("measured trace file `{}` does not exist", p.display()),
        ));
    }
    let nodes = nodes.or_else(|| nodes_from_path(&p));
    if counts == Some(Counts::Missing) && nodes.is_none() {
        return Err(ctx.err(
            v.span(),
            field,
            format!("{NODES_NEEDED}: give `nodes`, or `counts = \"held\"`"),
        ));
    }
    let t = load_spot_trace(&p, nodes)?;
    Ok(Some(match counts {
        Some(c) => c.to_held(t),
        None => t,
    }))
}
