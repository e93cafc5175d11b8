//! Integer money.
//!
//! Costs are summed as integer micro-dollars so that totals do not depend on summation order
//! (which would otherwise differ between thread counts in parallel sweeps).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign};

/// An amount of money in millionths of a US dollar.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct MicroUsd(pub u64);

impl MicroUsd {
    /// Nothing.
    pub const ZERO: MicroUsd = MicroUsd(0);

    /// Converts a dollar amount, rounding to the nearest micro-dollar. Negative or non-finite
    /// input gives zero (callers validate prices before they get here).
    pub fn from_usd(usd: f64) -> Self {
        if usd.is_finite() && usd > 0.0 {
            MicroUsd((usd * 1e6).round() as u64)
        } else {
            MicroUsd(0)
        }
    }

    /// Dollars as a float, for reports only.
    pub fn as_usd(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `self * percent / 100`, rounded down.
    pub fn percent(self, percent: u32) -> MicroUsd {
        MicroUsd((self.0 as u128 * percent as u128 / 100) as u64)
    }
}

impl Add for MicroUsd {
    type Output = MicroUsd;
    fn add(self, o: MicroUsd) -> MicroUsd {
        MicroUsd(self.0.saturating_add(o.0))
    }
}

impl AddAssign for MicroUsd {
    fn add_assign(&mut self, o: MicroUsd) {
        self.0 = self.0.saturating_add(o.0);
    }
}

impl std::iter::Sum for MicroUsd {
    fn sum<I: Iterator<Item = MicroUsd>>(iter: I) -> MicroUsd {
        iter.fold(MicroUsd::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for MicroUsd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.6}", self.as_usd())
    }
}
