//! `conservative-backfill`: every waiting job gets a reservation in queue order, the
//! earliest slot its estimate fits in given running jobs and the reservations before it; a
//! job starts when its slot comes. Reservations only move earlier (when jobs end before
//! their estimates), so no job is delayed by one behind it (Mu'alem and Feitelson 2001).

use super::{Backfill, Params};

/// A reservation for every waiting job.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConservativeBackfill;

impl ConservativeBackfill {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str =
        "conservative: every job holds a reservation no later job may delay";

    /// `conservative-backfill` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(ConservativeBackfill)
    }
}

impl Backfill for ConservativeBackfill {
    fn name(&self) -> &str {
        "conservative-backfill"
    }

    fn reservations(&self) -> usize {
        usize::MAX
    }
}
