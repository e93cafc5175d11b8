//! EC2 billing: per instance, per second, with a 60-second minimum (reference §10), at the
//! On-Demand list price or at the Spot market price in force during each second.

use crate::model::{MicroUsd, SimDuration, SimTime};

/// Minimum billed time of an instance.
pub const MINIMUM_BILLED: SimDuration = SimDuration::from_secs(60);

const MS_PER_HOUR: u128 = 3_600_000;

/// A price per hour over time: `(from, price)` steps sorted by time, the first at time 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceTimeline {
    steps: Vec<(SimTime, MicroUsd)>,
}

impl PriceTimeline {
    /// A price that never changes.
    pub fn constant(price: MicroUsd) -> Self {
        PriceTimeline {
            steps: vec![(SimTime::ZERO, price)],
        }
    }

    /// `initial` from time 0, then each `(time, price)` change (sorted by time).
    pub fn with_changes(initial: MicroUsd, changes: &[(SimTime, MicroUsd)]) -> Self {
        let mut steps = vec![(SimTime::ZERO, initial)];
        for &(t, p) in changes {
            match steps.last_mut() {
                Some(last) if last.0 == t => last.1 = p,
                _ => steps.push((t, p)),
            }
        }
        PriceTimeline { steps }
    }

    /// Appends a change at `t` (not before the last step; at the same time it replaces it).
    pub fn push(&mut self, t: SimTime, price: MicroUsd) {
        match self.steps.last_mut() {
            Some(last) if last.0 >= t => last.1 = price,
            _ => self.steps.push((t, price)),
        }
    }

    /// The price in force at `t`.
    pub fn at(&self, t: SimTime) -> MicroUsd {
        let i = self.steps.partition_point(|(s, _)| *s <= t);
        self.steps[i.saturating_sub(1)].1
    }

    /// Σ price × milliseconds over `[from, to)`, in micro-dollar-milliseconds per hour.
    fn integral(&self, from: SimTime, to: SimTime) -> u128 {
        if to <= from {
            return 0;
        }
        let first = self
            .steps
            .partition_point(|(s, _)| *s <= from)
            .saturating_sub(1);
        let mut sum = 0u128;
        for (k, &(start, price)) in self.steps.iter().enumerate().skip(first) {
            let end = self.steps.get(k + 1).map_or(SimTime::MAX, |s| s.0);
            let (a, b) = (start.max(from), end.min(to));
            if b > a {
                sum += price.0 as u128 * (b.0 - a.0) as u128;
            }
            if end >= to {
                break;
            }
        }
        sum
    }

    /// Cost of running over `[from, to)` with no minimum, scaled by `num / den` (a job's
    /// share of an instance). Rounded to the nearest micro-dollar.
    pub fn cost_share(&self, from: SimTime, to: SimTime, num: u64, den: u64) -> MicroUsd {
        let den = den.max(1) as u128;
        let x = self.integral(from, to) * num as u128;
        MicroUsd(((x + MS_PER_HOUR * den / 2) / (MS_PER_HOUR * den)) as u64)
    }
}

/// What an instance is billed for a lifetime `[launched, ended)`: whole seconds rounded up,
/// at least 60, each at the price in force.
pub fn instance_bill(
    prices: &PriceTimeline,
    launched: SimTime,
    ended: SimTime,
) -> (MicroUsd, SimDuration) {
    let ms = ended.saturating_since(launched).as_millis();
    let billed = SimDuration(ms.div_ceil(1000).saturating_mul(1000)).max(MINIMUM_BILLED);
    (prices.cost_share(launched, launched + billed, 1, 1), billed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_second_minimum_and_rounding_up() {
        let p = PriceTimeline::constant(MicroUsd::from_usd(3.6)); // 1000 µ$ per second
        let (c, b) = instance_bill(&p, SimTime(0), SimTime(10_000));
        assert_eq!((c, b), (MicroUsd(60_000), SimDuration::from_secs(60)));
        let (c, b) = instance_bill(&p, SimTime(500), SimTime(90_501));
        assert_eq!((c, b), (MicroUsd(91_000), SimDuration::from_secs(91)));
    }

    #[test]
    fn spot_price_changes_are_billed_per_second() {
        let p = PriceTimeline::with_changes(
            MicroUsd::from_usd(3.6),
            &[(SimTime(100_000), MicroUsd::from_usd(7.2))],
        );
        assert_eq!(p.at(SimTime(99_999)), MicroUsd::from_usd(3.6));
        assert_eq!(p.at(SimTime(100_000)), MicroUsd::from_usd(7.2));
        // 100 s at 1000 µ$/s + 20 s at 2000 µ$/s.
        let (c, _) = instance_bill(&p, SimTime(0), SimTime(120_000));
        assert_eq!(c, MicroUsd(140_000));
    }
}
