//! The market part of a scenario's `[spot]` table: zones, pools, price history and the
//! synthetic price model (format in `input::scenario` and `docs/spot-prices.md`).
//!
//! ```toml
//! [spot]
//! zones = ["us-east-1a", "us-east-1b"]     # default: one unnamed zone (today's layout);
//!                                          # with price_history and no zones: its zones
//! price_history = "history.json"           # describe-spot-price-history JSON or text
//! product_description = "Linux/UNIX"       # entries kept (default Linux/UNIX)
//! interrupt_above_max_price = true         # default true
//! [[spot.pools]]                           # optional, one per (type, zone) that differs
//! instance_type = "c5.large"
//! zone = "us-east-1b"
//! offered = true                           # false: EC2 has no such pool
//! capacity = 4                             # instances alive at once (else spot.capacity)
//! spot_price_usd_per_hour = 0.03           # base price (else the catalog estimate)
//! hazard_scale = 2.0                       # times spot.hazard_scale for this pool
//! [spot.synthetic_prices]                  # pools without a history or price_series
//! volatility = 0.2                         # σ of log price per √hour
//! reversion_per_hour = 0.5                 # θ
//! step_s = 300                             # a new price every 5 minutes
//! ```

use super::spot_history::{load_history, DEFAULT_PRODUCT};
use super::tomlerr::Ctx;
use super::wire::WireSpot;
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{Catalog, MicroUsd, SimDuration};
use crate::sim::pool_spec::{MarketSpec, PoolSpec, SyntheticPrices};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use toml::Spanned;

/// One `[[spot.pools]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WirePool {
    instance_type: Spanned<String>,
    zone: Spanned<String>,
    offered: Option<bool>,
    capacity: Option<Spanned<i64>>,
    spot_price_usd_per_hour: Option<Spanned<f64>>,
    hazard_scale: Option<Spanned<f64>>,
}

/// `[spot.synthetic_prices]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireSynthetic {
    volatility: Spanned<f64>,
    reversion_per_hour: Spanned<f64>,
    step_s: Option<Spanned<f64>>,
}

/// Builds the market spec from the `[spot]` table.
pub(crate) fn build_market(
    ctx: &Ctx,
    base: &Path,
    w: &WireSpot,
    catalog: &Catalog,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<MarketSpec, InputError> {
    let mut spec = MarketSpec {
        interrupt_above_max_price: w.interrupt_above_max_price.unwrap_or(true),
        ..MarketSpec::default()
    };
    if let Some(zones) = &w.zones {
        let mut seen = BTreeSet::new();
        for (i, z) in zones.get_ref().iter().enumerate() {
            let name = z.get_ref();
            let field = format!("spot.zones[{i}]");
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == ',') {
                let msg = format!("expected an availability zone name, got `{name}`");
                return Err(ctx.err(z.span(), field, msg));
            }
            if !seen.insert(name.clone()) {
                return Err(ctx.err(z.span(), field, format!("zone `{name}` is listed twice")));
            }
            spec.zones.push(name.clone());
        }
        if spec.zones.is_empty() {
            let msg = "expected at least one zone (leave `zones` out for one unnamed zone)";
            return Err(ctx.err(zones.span(), "spot.zones", msg));
        }
    }
    if let Some(p) = &w.price_history {
        let path = base.join(p.get_ref());
        if !path.is_file() {
            let msg = format!("price history file `{}` does not exist", path.display());
            return Err(ctx.err(p.span(), "spot.price_history", msg));
        }
        let product = w
            .product_description
            .as_ref()
            .map_or(DEFAULT_PRODUCT, |p| p.get_ref().as_str());
        let history = load_history(&path, product, catalog, &spec.zones, opts, skipped)?;
        if spec.zones.is_empty() {
            // The history's zones become the run's zones.
            let zones: BTreeSet<&String> = history.pools.keys().map(|k| &k.1).collect();
            spec.zones = zones.into_iter().cloned().collect();
        }
        spec.history = Some(history);
    } else if let Some(p) = &w.product_description {
        let msg = "product_description filters a price_history; there is none";
        return Err(ctx.err(p.span(), "spot.product_description", msg));
    }
    for (i, p) in w.pools.iter().enumerate() {
        spec.pools
            .push(build_pool(ctx, p, i, catalog, &spec.zones)?);
    }
    if let Some(s) = &w.synthetic_prices {
        spec.synthetic = Some(build_synthetic(ctx, s.get_ref())?);
    }
    Ok(spec)
}

fn build_pool(
    ctx: &Ctx,
    p: &Spanned<WirePool>,
    i: usize,
    catalog: &Catalog,
    zones: &[String],
) -> Result<PoolSpec, InputError> {
    let at = |f: &str| format!("spot.pools[{i}].{f}");
    let w = p.get_ref();
    let name = w.instance_type.get_ref();
    let Some(instance_type) = catalog.find(name) else {
        let msg = format!("instance type `{name}` is not in the catalog");
        return Err(ctx.err(w.instance_type.span(), at("instance_type"), msg));
    };
    let zone = w.zone.get_ref();
    if !zones.contains(zone) {
        let msg = format!("zone `{zone}` is not one of `spot.zones` {zones:?}");
        return Err(ctx.err(w.zone.span(), at("zone"), msg));
    }
    let capacity = match &w.capacity {
        Some(c) => Some(ctx.uint(c, &at("capacity"), 0, u32::MAX, "a number of instances ≥ 0")?),
        None => None,
    };
    let spot_price = match &w.spot_price_usd_per_hour {
        Some(v) if v.get_ref().is_finite() && *v.get_ref() > 0.0 => {
            Some(MicroUsd::from_usd(*v.get_ref()))
        }
        Some(v) => {
            let msg = format!(
                "expected a price in US dollars per hour > 0, got {}",
                v.get_ref()
            );
            return Err(ctx.err(v.span(), at("spot_price_usd_per_hour"), msg));
        }
        None => None,
    };
    let hazard_scale = match &w.hazard_scale {
        Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 0.0 => Some(*v.get_ref()),
        Some(v) => {
            let msg = format!("expected a factor ≥ 0, got {}", v.get_ref());
            return Err(ctx.err(v.span(), at("hazard_scale"), msg));
        }
        None => None,
    };
    Ok(PoolSpec {
        instance_type,
        zone: zone.clone(),
        offered: w.offered.unwrap_or(true),
        capacity,
        spot_price,
        hazard_scale,
    })
}

fn build_synthetic(ctx: &Ctx, w: &WireSynthetic) -> Result<SyntheticPrices, InputError> {
    let field = |f: &str| format!("spot.synthetic_prices.{f}");
    let check = |v: &Spanned<f64>, name: &str, max: f64| -> Result<f64, InputError> {
        let x = *v.get_ref();
        if x.is_finite() && (0.0..=max).contains(&x) {
            Ok(x)
        } else {
            let msg = format!("expected a number from 0 to {max}, got {x}");
            Err(ctx.err(v.span(), field(name), msg))
        }
    };
    let volatility = check(&w.volatility, "volatility", 10.0)?;
    let reversion_per_hour = check(&w.reversion_per_hour, "reversion_per_hour", 1000.0)?;
    let step = ctx.secs(
        w.step_s.as_ref(),
        &field("step_s"),
        SimDuration::from_secs(300),
    )?;
    if step < SimDuration::from_secs(1) {
        let span = w.step_s.as_ref().map_or(0..0, |s| s.span());
        return Err(ctx.err(span, field("step_s"), "expected a step of at least 1 s"));
    }
    Ok(SyntheticPrices {
        volatility,
        reversion_per_hour,
        step,
    })
}
