//! Entry points for the `cargo fuzz` targets in `fuzz/`: each reader run on arbitrary bytes.
//!
//! They exist so the fuzz crate can reach the crate-private parsers; each returns whether the
//! input was accepted. A reader must never panic: it returns an [`InputError`] instead.

use super::InputError;
use crate::model::SimDuration;
use std::path::Path;

const FUZZ_FILE: &str = "fuzz-input";

/// The instance catalog CSV reader.
pub fn catalog(data: &[u8]) -> Result<usize, InputError> {
    super::catalog::parse_catalog(data, Path::new(FUZZ_FILE), 250, SimDuration::from_secs(90))
        .map(|c| c.len())
}

/// The job trace CSV reader (syntax stage: what `validate` runs on a bare trace).
pub fn trace_csv(data: &[u8]) -> Result<String, InputError> {
    super::trace::describe_bare(data, Path::new(FUZZ_FILE))
}

/// The Spot price series CSV reader (`time_s,instance_type,price_usd_per_hour`).
pub fn price_series_csv(data: &[u8]) -> Result<String, InputError> {
    super::prices::parse_raw(data, Path::new(FUZZ_FILE)).map(|r| super::prices::describe_raw(&r))
}

/// The measured Spot trace JSON reader (`{"metadata": {"gap_seconds": G}, "data": [...]}`),
/// with a node count of 16 bounding the values.
pub fn spot_trace(data: &[u8]) -> Result<usize, InputError> {
    super::spot_trace::parse_spot_trace(data, Path::new(FUZZ_FILE), Some(16))
        .map(|t| t.values.len())
}
