//! The Spot price series CSV (`[spot] price_series` of a scenario).
//!
//! Columns (header required, order free, extra columns ignored):
//!
//! | column | meaning |
//! |---|---|
//! | `time_s` | when the price takes effect, decimal seconds ≥ 0 from the start of the run |
//! | `instance_type` | an instance type of the scenario's catalog |
//! | `price_usd_per_hour` | the new Spot price, US dollars per hour, ≥ 0 |
//!
//! Rows need not be sorted; each type's points are sorted by time (file order kept between
//! equal times, so the later row wins). A type without points keeps its catalog estimate.

use super::csvutil::{bad, cell, line_of, plural, seconds_to_ms, Header};
use super::{InputError, ReadOptions, SkippedLines};
use crate::model::{Catalog, InstanceTypeId, MicroUsd, SimTime};
use csv::ByteRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

/// A price point before its type is looked up.
struct RawPoint {
    line: usize,
    time_ms: u64,
    instance_type: String,
    price: MicroUsd,
}

/// A price series after the syntax stage.
pub(crate) struct RawPrices {
    points: Vec<RawPoint>,
}

/// A resolved price series: per type, `(time, price)` sorted by time.
pub(crate) type PriceSeries = BTreeMap<InstanceTypeId, Vec<(SimTime, MicroUsd)>>;

/// Stage 1: rows to points, checking syntax and ranges.
pub(crate) fn parse_raw<R: Read>(input: R, file: &Path) -> Result<RawPrices, InputError> {
    parse_raw_with(
        input,
        file,
        ReadOptions::default(),
        &mut SkippedLines::default(),
    )
}

/// [`parse_raw`] with reader options: with `skip_bad_lines`, a malformed row is counted in
/// `skipped` and left out.
pub(crate) fn parse_raw_with<R: Read>(
    input: R,
    file: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<RawPrices, InputError> {
    let mut rdr = super::csvutil::reader(input);
    let h = Header::read(&mut rdr, file)?;
    let cols = [
        h.require("time_s", file)?,
        h.require("instance_type", file)?,
        h.require("price_usd_per_hour", file)?,
    ];
    let mut points = Vec::new();
    let mut rec = ByteRecord::new();
    while super::csvutil::next_record(&mut rdr, &mut rec, file, opts, skipped)? {
        match parse_point(&rec, cols, file) {
            Ok(p) => points.push(p),
            Err(e) => skipped.handle(opts, e)?,
        }
    }
    Ok(RawPrices { points })
}

/// One row: `cols` are the time, type and price columns.
fn parse_point(rec: &ByteRecord, cols: [usize; 3], file: &Path) -> Result<RawPoint, InputError> {
    let [time_col, type_col, price_col] = cols;
    let t = cell(rec, Some(time_col), "time_s", file)?;
    let time_ms = seconds_to_ms(t).ok_or_else(|| {
        bad(
            file,
            rec,
            "time_s",
            format!("expected a time in seconds ≥ 0, got `{t}`"),
        )
    })?;
    let name = cell(rec, Some(type_col), "instance_type", file)?;
    if name.is_empty() {
        return Err(bad(
            file,
            rec,
            "instance_type",
            "expected an instance type name, got an empty value",
        ));
    }
    let p = cell(rec, Some(price_col), "price_usd_per_hour", file)?;
    let price = match p.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => MicroUsd::from_usd(v),
        _ => {
            let msg = format!("expected a price in US dollars per hour ≥ 0, got `{p}`");
            return Err(bad(file, rec, "price_usd_per_hour", msg));
        }
    };
    Ok(RawPoint {
        line: line_of(rec),
        time_ms,
        instance_type: name.to_string(),
        price,
    })
}

/// Stage 2: looks the types up in `catalog` and sorts each type's points by time. With
/// `skip_bad_lines`, a point whose type is not in the catalog is counted in `skipped` and
/// left out.
pub(crate) fn resolve_with(
    raw: RawPrices,
    file: &Path,
    catalog: &Catalog,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<PriceSeries, InputError> {
    let mut series = PriceSeries::new();
    for p in raw.points {
        let Some(id) = catalog.find(&p.instance_type) else {
            let msg = format!(
                "instance type `{}` is not in the scenario's catalog",
                p.instance_type
            );
            let e = InputError::new(file, msg)
                .at_line(p.line)
                .in_field("instance_type");
            skipped.handle(opts, e)?;
            continue;
        };
        series
            .entry(id)
            .or_default()
            .push((SimTime(p.time_ms), p.price));
    }
    for points in series.values_mut() {
        points.sort_by_key(|&(t, _)| t);
    }
    Ok(series)
}

/// Loads a price series file against a catalog; lines skipped (`--skip-bad-lines`) are
/// added to `skipped`.
pub(crate) fn load_price_series_with(
    path: &Path,
    catalog: &Catalog,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<PriceSeries, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let raw = parse_raw_with(f, path, opts, skipped)?;
    resolve_with(raw, path, catalog, opts, skipped)
}

/// A one-line description of a bare price series.
pub(crate) fn describe_raw(raw: &RawPrices) -> String {
    let types: BTreeSet<&str> = raw
        .points
        .iter()
        .map(|p| p.instance_type.as_str())
        .collect();
    format!(
        "Spot price series: {} for {}",
        plural(raw.points.len(), "price point", "price points"),
        plural(types.len(), "instance type", "instance types"),
    )
}
