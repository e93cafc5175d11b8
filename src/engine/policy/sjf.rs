//! `sjf`: shortest job first, by requested run time (see [`super::estimate`]); jobs with no
//! estimate go last, in submission order.

use super::{estimate, Params, QueueOrder};
use crate::model::JobSpec;

/// Shortest requested run time first.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShortestJobFirst;

impl ShortestJobFirst {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "shortest requested run time first";

    /// `sjf` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(ShortestJobFirst)
    }
}

impl QueueOrder for ShortestJobFirst {
    fn name(&self) -> &str {
        "sjf"
    }

    fn rank(&self, job: &JobSpec) -> u64 {
        estimate(job).map_or(u64::MAX, |d| d.as_millis())
    }
}
