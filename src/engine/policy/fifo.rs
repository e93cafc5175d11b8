//! `fifo`: AWS Batch's order. Jobs leave a queue in submission order (retried attempts
//! first), and a head that cannot be placed blocks the queue (reference §1.3); a queue with a
//! fair-share scheduling policy keeps it.

use super::{Params, QueueOrder};
use crate::model::JobSpec;

/// Submission order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fifo;

impl Fifo {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "AWS Batch: submission order, head-of-line blocking";

    /// `fifo` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(Fifo)
    }
}

impl QueueOrder for Fifo {
    fn name(&self) -> &str {
        "fifo"
    }

    fn rank(&self, _: &JobSpec) -> u64 {
        0
    }
}
