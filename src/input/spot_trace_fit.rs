//! Fitting the hazard-rate interruption model to measured Spot traces.
//!
//! The simulator's interruption model (see [`crate::model::InterruptionBucket::hazard_per_hour`])
//! gives every Spot instance an exponential lifetime: a constant hazard `λ` per
//! instance-hour. A preemption trace, read as instances held at each tick (see [`Counts`]:
//! by default a value is the number of the `N` instances preempted, so
//! `held[t] = N − value[t]`; with [`Counts::Held`] `held[t] = value[t]`), gives its
//! maximum-likelihood estimate
//!
//! ```text
//! λ̂ = events / exposure
//! events   = Σ_t max(0, held[t−1] − held[t])      (a fall of d in held = d preemptions;
//!                                                  under `missing`, a rise of the value)
//! exposure = Σ_{t < last} held[t] × gap           (instance-hours held)
//! ```
//!
//! Assumptions: every instance held is reclaimed independently at the same constant rate
//! (a Poisson process in instance-hours); every fall in the count is a preemption (never a
//! voluntary stop); no instance is preempted and replaced within one tick (such pairs are
//! missed); an instance lost between two ticks counts as held for the whole tick (bias below
//! one tick per event: under 0.5% when `λ × gap` < 0.01). The interval is the exact (Garwood)
//! Poisson interval of the count over the exposure. An availability trace (a value is the
//! number of the `N` requested instances obtainable, under either reading) gives the share
//! of requested instances obtainable, averaged over ticks, and the shares of time all or
//! none were.

use super::spot_trace_stats::poisson_interval;
use super::SpotTrace;
use std::path::Path;

pub use super::spot_trace::{load_preemption_trace, Counts, NODES_NEEDED};

/// What a trace's path says about it (`preemption/4-node/aws-08-03-2023/us-east-1f_v100_1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceLabel {
    /// `availability` or `preemption`, from a directory of that name.
    pub kind: Option<String>,
    /// `aws` or `gcp`, from the directory name `aws-MM-DD-YYYY`.
    pub cloud: Option<String>,
    /// The zone: the file name before its first `_`.
    pub zone: String,
    /// The spot-traces label: the file name after its first `_` (`v100_1`, `intel_64`).
    pub label: String,
}

impl TraceLabel {
    /// Reads the label from a path of the spot-traces layout (missing parts stay empty).
    pub fn from_path(path: &Path) -> Self {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let (zone, label) = stem.split_once('_').unwrap_or((stem, ""));
        let dirs: Vec<&str> = path
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        let kind = dirs
            .iter()
            .rev()
            .find(|d| matches!(**d, "availability" | "preemption"))
            .map(|d| d.to_string());
        let cloud = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|d| d.to_str())
            .and_then(|d| d.split_once('-'))
            .map(|(c, _)| c)
            .filter(|c| matches!(*c, "aws" | "gcp" | "azure"))
            .map(str::to_string);
        TraceLabel {
            kind,
            cloud,
            zone: zone.to_string(),
            label: label.to_string(),
        }
    }

    /// The instance type the label stands for, per the spot-traces README: `v100_1`
    /// p3.2xlarge, `v100_8` p3.16xlarge, `k80_1`/`k80_8` the 1- and 8-GPU K80 types
    /// (p2.xlarge, p2.8xlarge; the README's `p2.2xlarge` does not exist), `intel_64`
    /// r5.16xlarge, `c3-88` GCP's c3-highcpu-88.
    pub fn instance_type(&self) -> Option<&'static str> {
        Some(match self.label.as_str() {
            "v100_1" => "p3.2xlarge",
            "v100_8" => "p3.16xlarge",
            "k80_1" => "p2.xlarge",
            "k80_8" => "p2.8xlarge",
            "intel_64" => "r5.16xlarge",
            "c3-88" => "c3-highcpu-88",
            _ => return None,
        })
    }
}

/// A preemption trace fitted to the exponential-lifetime model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PreemptionFit {
    /// Ticks in the trace.
    pub ticks: usize,
    /// Measured span in hours (ticks × gap).
    pub hours: f64,
    /// Preemptions counted (falls in the count of instances held: rises of the value under
    /// [`Counts::Missing`]).
    pub events: u64,
    /// Instance-hours held.
    pub instance_hours: f64,
}

impl PreemptionFit {
    /// Fits one preemption trace whose values are read with `counts` (a trace already
    /// turned into instances held, as [`load_preemption_trace`] gives, with
    /// [`Counts::Held`]).
    pub fn of(trace: &SpotTrace, counts: Counts) -> Self {
        let held = counts.held(trace);
        let gap_h = trace.gap.0 as f64 / 3_600_000.0;
        let events = held
            .windows(2)
            .map(|w| u64::from(w[0].saturating_sub(w[1])))
            .sum();
        let held_ticks: u64 = held[..held.len().saturating_sub(1)]
            .iter()
            .map(|&h| u64::from(h))
            .sum();
        PreemptionFit {
            ticks: held.len(),
            hours: held.len() as f64 * gap_h,
            events,
            instance_hours: held_ticks as f64 * gap_h,
        }
    }

    /// Pools several fits (same model, rates assumed equal): events and exposures add up.
    pub fn pooled<'a>(fits: impl IntoIterator<Item = &'a PreemptionFit>) -> Self {
        fits.into_iter().fold(
            PreemptionFit {
                ticks: 0,
                hours: 0.0,
                events: 0,
                instance_hours: 0.0,
            },
            |a, f| PreemptionFit {
                ticks: a.ticks + f.ticks,
                hours: a.hours + f.hours,
                events: a.events + f.events,
                instance_hours: a.instance_hours + f.instance_hours,
            },
        )
    }

    /// Interruptions per instance-hour (`None` without exposure).
    pub fn rate(&self) -> Option<f64> {
        (self.instance_hours > 0.0).then(|| self.events as f64 / self.instance_hours)
    }

    /// The exact 95% interval of the rate (`None` without exposure).
    pub fn interval95(&self) -> Option<(f64, f64)> {
        (self.instance_hours > 0.0).then(|| {
            let (l, u) = poisson_interval(self.events, 0.05);
            (l / self.instance_hours, u / self.instance_hours)
        })
    }
}

/// An availability trace summarized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AvailabilityFit {
    /// Ticks in the trace.
    pub ticks: usize,
    /// Measured span in hours.
    pub hours: f64,
    /// Mean share of the `N` requested instances obtainable.
    pub mean_share: f64,
    /// Share of ticks at which all `N` were obtainable.
    pub all_share: f64,
    /// Share of ticks at which none was.
    pub none_share: f64,
}

impl AvailabilityFit {
    /// Summarizes one availability trace (a value is the number of instances obtainable).
    pub fn of(trace: &SpotTrace) -> Self {
        let held = &trace.values;
        let n = held.len() as f64;
        let nodes = f64::from(trace.nodes.max(1));
        let sum: f64 = held.iter().map(|&h| f64::from(h) / nodes).sum();
        let count = |f: &dyn Fn(u32) -> bool| held.iter().filter(|&&h| f(h)).count() as f64 / n;
        AvailabilityFit {
            ticks: held.len(),
            hours: n * trace.gap.0 as f64 / 3_600_000.0,
            mean_share: sum / n,
            all_share: count(&|h| h >= trace.nodes),
            none_share: count(&|h| h == 0),
        }
    }
}

/// Checks a measured Spot trace file and describes it in one line (`flotilla validate`).
pub fn describe(path: &Path) -> Result<String, super::InputError> {
    let t = super::load_spot_trace(path, None)?;
    let label = TraceLabel::from_path(path);
    let gap_s = t.gap.0 as f64 / 1000.0;
    let mut s = format!(
        "measured Spot trace: {} ticks of {gap_s} s ({:.1} h), N = {}, largest value {}",
        t.values.len(),
        t.span().0 as f64 / 3_600_000.0,
        t.nodes,
        t.max_value()
    );
    match label.kind.as_deref() {
        Some("preemption") => {
            // The default reading needs N from the path; without it, say so and read the
            // values as instances held.
            let counts = if super::nodes_from_path(path).is_some() {
                s += "; values read as instances preempted (held = N − value)";
                Counts::Missing
            } else {
                s += "; no `N-node` directory in the path, so values read as instances held";
                Counts::Held
            };
            let f = PreemptionFit::of(&t, counts);
            s += &format!(
                "; {} preemptions over {:.1} instance-hours held",
                f.events, f.instance_hours
            );
        }
        Some("availability") => {
            let a = AvailabilityFit::of(&t);
            s += &format!("; {:.1}% obtainable on average", 100.0 * a.mean_share);
        }
        _ => {}
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SimDuration;

    fn trace(values: &[u32], nodes: u32, gap_s: u64) -> SpotTrace {
        SpotTrace {
            gap: SimDuration::from_secs(gap_s),
            values: values.to_vec(),
            nodes,
        }
    }

    #[test]
    fn the_default_reading_counts_rises_as_preemptions() {
        // Preempted 0,0,1,1,0,2 of 2 at 1 h ticks: held 2,2,1,1,2,0; rises 1 + 2 = 3;
        // exposure 2+2+1+1+2 = 8 h.
        let t = trace(&[0, 0, 1, 1, 0, 2], 2, 3600);
        let f = PreemptionFit::of(&t, Counts::default());
        assert_eq!((f.events, f.instance_hours), (3, 8.0));
        // The same as fitting the series turned into instances held.
        let held = Counts::Missing.to_held(t.clone());
        assert_eq!(held.values, [2, 2, 1, 1, 2, 0]);
        assert_eq!(PreemptionFit::of(&held, Counts::Held), f);
        // Read as held: one fall (1 → 0), over 0+0+1+1+0 = 2 h.
        let h = PreemptionFit::of(&t, Counts::Held);
        assert_eq!((h.events, h.instance_hours), (1, 2.0));
    }

    #[test]
    fn counts_falls_and_held_hours() {
        // Held 4,4,3,1,1,4 at 1 h ticks: falls 1 + 2 = 3; exposure 4+4+3+1+1 = 13 h.
        let f = PreemptionFit::of(&trace(&[4, 4, 3, 1, 1, 4], 4, 3600), Counts::Held);
        assert_eq!((f.events, f.ticks), (3, 6));
        assert_eq!((f.instance_hours, f.hours), (13.0, 6.0));
        assert_eq!(f.rate(), Some(3.0 / 13.0));
        // Read as "missing": held 0,0,1,3,3,0: one fall of 3; exposure 7 h.
        let m = PreemptionFit::of(&trace(&[4, 4, 3, 1, 1, 4], 4, 3600), Counts::Missing);
        assert_eq!((m.events, m.instance_hours), (3, 7.0));
        let p = PreemptionFit::pooled([&f, &m]);
        assert_eq!((p.events, p.instance_hours, p.ticks), (6, 20.0, 12));
    }

    #[test]
    fn availability_shares() {
        let a = AvailabilityFit::of(&trace(&[0, 16, 8, 16], 16, 300));
        assert_eq!(
            (a.mean_share, a.all_share, a.none_share),
            (0.625, 0.5, 0.25)
        );
        assert_eq!(a.hours, 4.0 * 300.0 / 3600.0);
    }

    #[test]
    fn labels_from_paths() {
        let l = TraceLabel::from_path(Path::new(
            "traces/spot/measured/preemption/1-node/gcp-04-30-2023/us-central1-a_c3-88.json",
        ));
        assert_eq!(l.kind.as_deref(), Some("preemption"));
        assert_eq!(l.cloud.as_deref(), Some("gcp"));
        assert_eq!(
            (l.zone.as_str(), l.label.as_str()),
            ("us-central1-a", "c3-88")
        );
        assert_eq!(l.instance_type(), Some("c3-highcpu-88"));
        let l = TraceLabel::from_path(Path::new("x/us-east-1a_v100_1.json"));
        assert_eq!(l.instance_type(), Some("p3.2xlarge"));
        assert_eq!((l.kind, l.cloud), (None, None));
    }
}
