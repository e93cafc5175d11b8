//! `fair-share[decay=600,reservation=0]`: every queue shares its capacity between share
//! identifiers as AWS Batch's fair-share scheduling does (reference §4.4, modelling choices
//! in `engine::queue`). Queues that have a scheduling policy keep theirs; the others get one
//! with equal weights, `shareDecaySeconds` = `decay` and `computeReservation` =
//! `reservation`. A job's share is its `shareIdentifier`, else its user, else one common
//! share.

use super::{Params, QueueOrder};
use crate::model::{FairsharePolicy, JobSpec, SimDuration};

/// Fair share on every queue.
#[derive(Clone, Debug)]
pub struct FairShare {
    policy: FairsharePolicy,
}

impl FairShare {
    /// One line for `flotilla policies`.
    pub const ABOUT: &'static str =
        "fair share between share identifiers (users) on every queue, equal weights";

    /// Reads `decay` (seconds, 0–604800) and `reservation` (0–99).
    pub fn new(p: &mut Params<'_>) -> Result<Self, String> {
        let decay = p.number("decay", 0.0, 0.0, 604_800.0)?;
        let reservation = p.number("reservation", 0.0, 0.0, 99.0)?;
        Ok(FairShare {
            policy: FairsharePolicy {
                share_decay: SimDuration::from_secs(decay as u64),
                compute_reservation: reservation as u32,
                share_distribution: Vec::new(),
            },
        })
    }
}

impl QueueOrder for FairShare {
    fn name(&self) -> &str {
        "fair-share"
    }

    fn rank(&self, _: &JobSpec) -> u64 {
        0
    }

    fn fair_share(&self) -> Option<FairsharePolicy> {
        Some(self.policy.clone())
    }
}
