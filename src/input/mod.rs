//! Reading and validating flotilla's input files: the instance catalog CSV, job trace CSV,
//! Spot price series CSV and scenario TOML.
//!
//! Every loader returns an [`InputError`] that names the file, the line, the field and what
//! was expected; nothing here panics on bad input.

mod alibaba;
mod alibaba_fleet;
mod alibaba_jobs;
mod alibaba_nodes;
mod alibaba_tasks;
pub mod aws;
mod badlines;
mod catalog;
mod catalog_filter;
mod cluster;
mod csvutil;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod generated;
mod jobdef;
mod jobdef_build;
mod policy;
mod prices;
mod queues;
mod scenario;
mod spot_history;
mod spot_history_json;
mod spot_history_tsv;
mod spot_market;
mod spot_trace;
pub mod spot_trace_fit;
mod spot_trace_json;
mod spot_trace_scenario;
mod spot_trace_stats;
pub mod swf;
pub mod swf_cluster;
pub mod swf_jobs;
pub mod swf_options;
mod swf_scenario;
mod tomlerr;
mod trace;
mod trace_bare;
mod trace_deps;
mod trace_resolve;
mod trace_row;
mod trace_skip;
mod wire;
mod wire_jobdef;

pub use alibaba_fleet::{MatchKind, ShapeMapping};
pub use alibaba_nodes::NodeShape;
pub use alibaba_tasks::GpuShare;
pub use badlines::{ReadOptions, SkippedLines};
pub use catalog_filter::Architecture;
pub use error::InputError;
pub use jobdef::{node_resources, ContainerProperties, JobDefinition, JobDefinitions};
pub use scenario::{
    load_scenario, load_scenario_swf, load_scenario_text, load_scenario_with_definitions,
    load_scenario_with_options,
};
pub use spot_trace::{load_spot_trace, nodes_from_path, parse_spot_trace, SpotTrace};
pub use trace::load_trace;
pub use trace_bare::load_bare_trace;

use crate::model::{Catalog, SimDuration};
use std::path::Path;

/// The built-in catalog's text (`catalogs/ec2-us-east-1.csv`).
const DEFAULT_CATALOG_CSV: &str = include_str!("../../catalogs/ec2-us-east-1.csv");

/// The built-in us-east-1 catalog, with registered memory computed for `memory_overhead_bp`
/// (basis points: 250 = 2.5%) and `boot_delay` for every type.
pub fn default_catalog(memory_overhead_bp: u32, boot_delay: SimDuration) -> Catalog {
    catalog::parse_catalog(
        DEFAULT_CATALOG_CSV.as_bytes(),
        Path::new("catalogs/ec2-us-east-1.csv"),
        memory_overhead_bp,
        boot_delay,
    )
    .expect("the built-in catalog is valid (checked by a test)")
}

/// Loads a catalog CSV. Required columns: `instance_type`, `family`, `vcpus`, `memory_mib`,
/// `on_demand_usd_per_hour`; optional: `gpus`, `gpu_model`, `gpu_memory_mib`,
/// `spot_savings_pct` and `interruption_bucket` (both or neither; empty = no Spot offer),
/// `boot_delay_s` (types without one get `boot_delay`).
pub fn load_catalog(
    path: &Path,
    memory_overhead_bp: u32,
    boot_delay: SimDuration,
) -> Result<Catalog, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    catalog::parse_catalog(f, path, memory_overhead_bp, boot_delay)
}

/// Checks any input file and describes it in one line, e.g.
/// `scenario quickstart: 2 compute environments, 1 job queue, 200 jobs`.
///
/// The kind is told by the name and header: `.toml` is a scenario (loaded in full, trace
/// included); a `.csv` whose header has `job_id` is a trace, `time_s` a Spot price series and
/// `instance_type` a catalog; a `.json` is a measured Spot trace. A bare trace or price
/// series is checked for syntax and ranges only, since queue, job definition and instance
/// type names need a scenario.
pub fn validate_file(path: &Path) -> Result<String, InputError> {
    validate_file_with_options(path, ReadOptions::default()).map(|(s, _)| s)
}

/// [`validate_file`] with reader options; also returns the lines skipped
/// (`--skip-bad-lines`).
pub fn validate_file_with_options(
    path: &Path,
    opts: ReadOptions,
) -> Result<(String, SkippedLines), InputError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("toml") => load_scenario_with_options(path, None, opts)
            .map(|(s, _)| (scenario::describe(&s), s.skipped_lines)),
        Some("csv") => {
            let mut skipped = SkippedLines::default();
            validate_csv(path, opts, &mut skipped).map(|s| (s, skipped))
        }
        Some("json") if !spot_history::looks_like_history(path) => {
            spot_trace_fit::describe(path).map(|s| (s, SkippedLines::default()))
        }
        Some("json" | "tsv" | "txt") => {
            spot_history::describe_file(path).map(|s| (s, SkippedLines::default()))
        }
        Some("swf" | "gz") if swf::is_swf_path(path) => {
            swf::describe(swf::open(path)?, path, opts).map(|s| (s, SkippedLines::default()))
        }
        _ => Err(InputError::new(
            path,
            "cannot tell what kind of file this is: expected a scenario (.toml) or a catalog, \
             trace or Spot price series (.csv) or an SWF trace (.swf, .swf.gz)",
        )),
    }
}

fn validate_csv(
    path: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
) -> Result<String, InputError> {
    let bytes = std::fs::read(path).map_err(|e| InputError::unreadable(path, &e))?;
    let header = csvutil::Header::read(&mut csvutil::reader(bytes.as_slice()), path)?;
    if alibaba_tasks::is_task_header(&header) {
        alibaba_tasks::describe(bytes.as_slice(), path)
    } else if alibaba_nodes::is_node_header(&header) {
        alibaba_nodes::describe(bytes.as_slice(), path)
    } else if header.find("job_id").is_some() {
        trace::describe_bare_with(bytes.as_slice(), path, opts, skipped)
    } else if header.find("time_s").is_some() {
        prices::parse_raw_with(bytes.as_slice(), path, opts, skipped)
            .map(|r| prices::describe_raw(&r))
    } else if header.find("instance_type").is_some() {
        let c = catalog::parse_catalog(bytes.as_slice(), path, 250, SimDuration::from_secs(90))?;
        let mut families: Vec<&str> = c.types().iter().map(|t| t.family.as_str()).collect();
        families.dedup();
        families.sort_unstable();
        families.dedup();
        let spot = c.types().iter().filter(|t| t.has_spot()).count();
        Ok(format!(
            "catalog: {} in {}, {spot} with a Spot offer",
            csvutil::plural(c.len(), "instance type", "instance types"),
            csvutil::plural(families.len(), "family", "families"),
        ))
    } else {
        Err(InputError::new(
            path,
            "cannot tell what kind of CSV this is: expected a header with `job_id` (trace), \
             `time_s` (Spot price series) or `instance_type` (catalog)",
        )
        .at_line(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_catalog_parses() {
        let text = DEFAULT_CATALOG_CSV.as_bytes();
        let c = catalog::parse_catalog(text, Path::new("builtin"), 250, SimDuration::from_secs(90));
        assert!(c.is_ok(), "{:?}", c.err());
        assert_eq!(default_catalog(250, SimDuration::ZERO).len(), 90);
    }
}
