//! `ljf`: longest job first, by requested run time (see [`super::estimate`]); jobs with no
//! estimate go last, in submission order.

use super::{estimate, Params, QueueOrder};
use crate::model::JobSpec;

/// Longest requested run time first.
#[derive(Clone, Copy, Debug, Default)]
pub struct LongestJobFirst;

impl LongestJobFirst {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "longest requested run time first";

    /// `ljf` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(LongestJobFirst)
    }
}

impl QueueOrder for LongestJobFirst {
    fn name(&self) -> &str {
        "ljf"
    }

    fn rank(&self, job: &JobSpec) -> u64 {
        // Unknown estimates last: u64::MAX; a known one d ranks u64::MAX - 1 - d.
        estimate(job).map_or(u64::MAX, |d| u64::MAX - 1 - d.as_millis())
    }
}
