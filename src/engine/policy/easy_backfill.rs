//! `easy-backfill`: EASY backfilling (Lifka 1995; Mu'alem and Feitelson 2001). When the
//! head of a queue cannot start, it gets a reservation: the earliest time enough capacity
//! frees on one host if running jobs end at their estimates. A later job may start now if it
//! fits now and cannot delay that reservation: it ends (by its estimate) before the
//! reservation, or it uses only capacity the head will not need then.

use super::{Backfill, Params};

/// One reservation: the queue head's.
#[derive(Clone, Copy, Debug, Default)]
pub struct EasyBackfill;

impl EasyBackfill {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str = "EASY: later jobs start early if they cannot delay the head";

    /// `easy-backfill` takes no parameters.
    pub fn new(_: &mut Params<'_>) -> Result<Self, String> {
        Ok(EasyBackfill)
    }
}

impl Backfill for EasyBackfill {
    fn name(&self) -> &str {
        "easy-backfill"
    }

    fn reservations(&self) -> usize {
        1
    }
}
