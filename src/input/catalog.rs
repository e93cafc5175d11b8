//! The instance catalog CSV.
//!
//! Columns (order free, header required, extra columns ignored):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `instance_type` | yes | API name, e.g. `c5.2xlarge`; unique |
//! | `family` | yes | family, e.g. `c5` (empty: the part of the name before the first `.`) |
//! | `vcpus` | yes | whole number ≥ 1 |
//! | `memory_mib` | yes | nominal memory in MiB, ≥ 1 |
//! | `gpus` | no | whole GPUs (default 0) |
//! | `gpu_model` | no | e.g. `NVIDIA T4` |
//! | `gpu_memory_mib` | no | memory of each GPU (default 0) |
//! | `on_demand_usd_per_hour` | yes | On-Demand price, ≥ 0 |
//! | `spot_savings_pct` | no | Spot savings against On-Demand, 0 to 99; empty = no Spot offer |
//! | `interruption_bucket` | no | `<5%`, `5-10%`, `10-15%`, `15-20%` or `>20%`; empty = no Spot offer |
//! | `boot_delay_s` | no | seconds from launch to ready; empty = the scenario's `boot_delay_s` |
//! | `architecture` | no | `x86_64` or `arm64`; empty = from the family name (see [`super::catalog_filter`]) |
//!
//! `spot_savings_pct` and `interruption_bucket` are both given or both empty.

use super::catalog_filter::Architecture;
use super::csvutil::{bad, cell, csv_error, line_of, seconds_to_ms, Header};
use super::InputError;
use crate::model::{
    registered_memory_mib, Catalog, InstanceType, InterruptionBucket, MicroUsd, SimDuration,
};
use csv::ByteRecord;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Column indices of a catalog file.
struct Cols {
    name: usize,
    family: usize,
    vcpus: usize,
    memory: usize,
    gpus: Option<usize>,
    gpu_model: Option<usize>,
    gpu_memory: Option<usize>,
    price: usize,
    savings: Option<usize>,
    bucket: Option<usize>,
    boot: Option<usize>,
    arch: Option<usize>,
}

/// Reads a catalog from CSV text; `file` names it in errors.
pub(crate) fn parse_catalog<R: Read>(
    input: R,
    file: &Path,
    memory_overhead_bp: u32,
    boot_delay: SimDuration,
) -> Result<Catalog, InputError> {
    parse_catalog_with_architectures(input, file, memory_overhead_bp, boot_delay).map(|(c, _)| c)
}

/// [`parse_catalog`], also returning each type's architecture (in catalog order).
pub(crate) fn parse_catalog_with_architectures<R: Read>(
    input: R,
    file: &Path,
    memory_overhead_bp: u32,
    boot_delay: SimDuration,
) -> Result<(Catalog, Vec<Architecture>), InputError> {
    let mut rdr = super::csvutil::reader(input);
    let h = Header::read(&mut rdr, file)?;
    let cols = Cols {
        name: h.require("instance_type", file)?,
        family: h.require("family", file)?,
        vcpus: h.require("vcpus", file)?,
        memory: h.require("memory_mib", file)?,
        gpus: h.find("gpus"),
        gpu_model: h.find("gpu_model"),
        gpu_memory: h.find("gpu_memory_mib"),
        price: h.require("on_demand_usd_per_hour", file)?,
        savings: h.find("spot_savings_pct"),
        bucket: h.find("interruption_bucket"),
        boot: h.find("boot_delay_s"),
        arch: h.find("architecture"),
    };
    let mut types = Vec::new();
    let mut archs = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut rec = ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(file, e))?
    {
        let t = parse_row(&rec, &cols, file, memory_overhead_bp, boot_delay)?;
        if let Some(first) = seen.get(&t.name) {
            let msg = format!(
                "instance type `{}` is already defined on line {first}",
                t.name
            );
            return Err(bad(file, &rec, "instance_type", msg));
        }
        if types.len() > u16::MAX as usize {
            let msg = format!(
                "a catalog holds at most {} instance types",
                u16::MAX as usize + 1
            );
            return Err(bad(file, &rec, "instance_type", msg));
        }
        let arch = match cell(&rec, cols.arch, "architecture", file)? {
            "" => Architecture::of_family(&t.family),
            a => Architecture::parse(a).ok_or_else(|| {
                let msg = format!("expected x86_64 or arm64 (or empty), got `{a}`");
                bad(file, &rec, "architecture", msg)
            })?,
        };
        seen.insert(t.name.clone(), line_of(&rec));
        types.push(t);
        archs.push(arch);
    }
    if types.is_empty() {
        return Err(InputError::new(file, "the catalog has no instance types"));
    }
    Ok((Catalog::new(types), archs))
}

/// Parses a whole number; `what` describes it in the message.
fn whole(
    rec: &ByteRecord,
    col: Option<usize>,
    name: &str,
    file: &Path,
    min: u32,
    what: &str,
    default: Option<u32>,
) -> Result<u32, InputError> {
    let s = cell(rec, col, name, file)?;
    if s.is_empty() {
        if let Some(d) = default {
            return Ok(d);
        }
    }
    match s.parse::<u32>() {
        Ok(v) if v >= min => Ok(v),
        _ => Err(bad(file, rec, name, format!("expected {what}, got `{s}`"))),
    }
}

fn parse_row(
    rec: &ByteRecord,
    c: &Cols,
    file: &Path,
    overhead_bp: u32,
    default_boot: SimDuration,
) -> Result<InstanceType, InputError> {
    let name = cell(rec, Some(c.name), "instance_type", file)?;
    if name.is_empty() {
        return Err(bad(
            file,
            rec,
            "instance_type",
            "expected an instance type name, got an empty value",
        ));
    }
    let mut family = cell(rec, Some(c.family), "family", file)?;
    if family.is_empty() {
        family = name.split('.').next().unwrap_or(name);
    }
    let vcpus = whole(
        rec,
        Some(c.vcpus),
        "vcpus",
        file,
        1,
        "a whole number of vCPUs ≥ 1",
        None,
    )?;
    let memory_mib = whole(
        rec,
        Some(c.memory),
        "memory_mib",
        file,
        1,
        "a whole number of MiB ≥ 1",
        None,
    )?;
    let gpus = whole(
        rec,
        c.gpus,
        "gpus",
        file,
        0,
        "a whole number of GPUs",
        Some(0),
    )?;
    let gpu_memory_mib = whole(
        rec,
        c.gpu_memory,
        "gpu_memory_mib",
        file,
        0,
        "a whole number of MiB",
        Some(0),
    )?;
    let gpu_model = cell(rec, c.gpu_model, "gpu_model", file)?.to_string();
    let price_s = cell(rec, Some(c.price), "on_demand_usd_per_hour", file)?;
    let price = match price_s.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => MicroUsd::from_usd(p),
        _ => {
            let msg = format!("expected a price in US dollars per hour ≥ 0, got `{price_s}`");
            return Err(bad(file, rec, "on_demand_usd_per_hour", msg));
        }
    };
    let savings_s = cell(rec, c.savings, "spot_savings_pct", file)?;
    let savings = if savings_s.is_empty() {
        None
    } else {
        match savings_s.parse::<u32>() {
            Ok(v) if v <= 99 => Some(v),
            _ => {
                let msg = format!("expected a whole percentage from 0 to 99 (or empty for no Spot offer), got `{savings_s}`");
                return Err(bad(file, rec, "spot_savings_pct", msg));
            }
        }
    };
    let bucket_s = cell(rec, c.bucket, "interruption_bucket", file)?;
    let bucket = if bucket_s.is_empty() {
        None
    } else {
        match InterruptionBucket::parse(bucket_s) {
            Some(b) => Some(b),
            None => {
                let msg = format!("expected one of `<5%`, `5-10%`, `10-15%`, `15-20%`, `>20%` (or empty for no Spot offer), got `{bucket_s}`");
                return Err(bad(file, rec, "interruption_bucket", msg));
            }
        }
    };
    match (savings, bucket) {
        (Some(_), None) => {
            let msg = "a Spot offer needs an interruption bucket too (or leave both `spot_savings_pct` and `interruption_bucket` empty)";
            return Err(bad(file, rec, "interruption_bucket", msg));
        }
        (None, Some(_)) => {
            let msg = "a Spot offer needs a savings percentage too (or leave both `spot_savings_pct` and `interruption_bucket` empty)";
            return Err(bad(file, rec, "spot_savings_pct", msg));
        }
        _ => {}
    }
    let boot_s = cell(rec, c.boot, "boot_delay_s", file)?;
    let boot_delay = if boot_s.is_empty() {
        default_boot
    } else {
        match seconds_to_ms(boot_s) {
            Some(ms) => SimDuration::from_millis(ms),
            None => {
                let msg = format!("expected a boot delay in seconds ≥ 0, got `{boot_s}`");
                return Err(bad(file, rec, "boot_delay_s", msg));
            }
        }
    };
    Ok(InstanceType {
        name: name.to_string(),
        family: family.to_string(),
        vcpus,
        memory_mib,
        registered_memory_mib: registered_memory_mib(memory_mib, overhead_bp),
        gpus,
        gpu_model,
        gpu_memory_mib,
        on_demand_per_hour: price,
        spot_savings_pct: savings,
        interruption_bucket: bucket,
        boot_delay,
    })
}
