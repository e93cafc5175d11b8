//! Run metrics, computed the same way whichever driver produced the run: from the engine's
//! job and instance records plus the bill of each instance.

use crate::engine::{Engine, StatusReason};
use crate::model::{JobStatus, Market, MicroUsd, SimDuration, SimTime};
use crate::sim::billing::{instance_bill, PriceTimeline};
use crate::sim::Prices;
use serde::{Deserialize, Serialize};

/// What one instance cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bill {
    /// Amount billed.
    pub cost: MicroUsd,
    /// Time billed (whole seconds, at least 60).
    pub billed: SimDuration,
}

/// Bills every instance that was launched (a refused launch costs nothing); instances still
/// alive are billed until `end`.
pub fn bills(engine: &Engine, prices: &Prices, end: SimTime) -> Vec<Bill> {
    engine
        .instances()
        .iter()
        .enumerate()
        .map(|(k, i)| {
            if i.launch_failure.is_some() {
                return Bill::default();
            }
            let id = crate::engine::InstanceId(k as u32);
            let tl = prices.for_instance(id, i.instance_type, i.market);
            let (cost, billed) = instance_bill(tl, i.launched_at, i.terminated_at.unwrap_or(end));
            Bill { cost, billed }
        })
        .collect()
}

/// A job's share of the instances it ran on: for each attempt, the instance's price over the
/// attempt (STARTING to its end) times the job's share of the instance's vCPUs. Idle capacity
/// is attributed to no job.
pub fn job_cost_share(engine: &Engine, prices: &Prices, job: usize, end: SimTime) -> MicroUsd {
    let j = &engine.jobs()[job];
    j.attempts
        .iter()
        .map(|a| {
            let inst = &engine.instances()[a.instance.0 as usize];
            let tl: &PriceTimeline =
                prices.for_instance(a.instance, inst.instance_type, inst.market);
            let vcpus = engine.cluster().catalog.get(inst.instance_type).vcpus;
            let stop = a.stopped_at.unwrap_or(end);
            tl.cost_share(a.starting_at, stop, j.spec.vcpus as u64, vcpus as u64)
        })
        .sum()
}

/// `summary.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Allocation strategy applied to every managed compute environment, or `scenario`.
    pub strategy: String,
    /// Master seed.
    pub seed: u64,
    /// Jobs in the trace.
    pub jobs_total: u64,
    /// Jobs that ended SUCCEEDED.
    pub jobs_succeeded: u64,
    /// Jobs that ended FAILED (including unplaceable ones).
    pub jobs_failed: u64,
    /// Jobs no compute environment of their queue could ever hold.
    pub jobs_unplaceable: u64,
    /// Names of the first unplaceable jobs (at most 20).
    pub unplaceable_jobs: Vec<String>,
    /// Jobs neither SUCCEEDED nor FAILED when the run stopped (only at the horizon).
    pub jobs_unfinished: u64,
    /// Everything billed, USD.
    pub total_cost_usd: f64,
    /// On-Demand instances' bills, USD.
    pub on_demand_cost_usd: f64,
    /// Spot instances' bills, USD.
    pub spot_cost_usd: f64,
    /// Billed but attributed to no job (idle, booting, 60-second minimum), USD.
    pub idle_cost_usd: f64,
    /// Total cost over the jobs measured (`jobs_measured`), USD; 0 when nothing was billed
    /// (UNMANAGED compute environments) or no job was measured.
    #[serde(default)]
    pub cost_per_job_usd: f64,
    /// Total cost over `useful_vcpu_hours`, USD; 0 when either is 0.
    #[serde(default)]
    pub cost_per_useful_vcpu_hour_usd: f64,
    /// vCPU-hours of the attempts that SUCCEEDED, RUNNING to their stop (failed and lost
    /// attempts, and STARTING, are not useful work).
    #[serde(default)]
    pub useful_vcpu_hours: f64,
    /// First submission to last job end, seconds.
    pub makespan_s: f64,
    /// Mean time from submission to first RUNNING, seconds.
    pub wait_mean_s: f64,
    /// Median wait, seconds.
    pub wait_p50_s: f64,
    /// 95th percentile wait, seconds.
    pub wait_p95_s: f64,
    /// 99th percentile wait, seconds.
    pub wait_p99_s: f64,
    /// Jobs the literature metrics below count: ended (SUCCEEDED or FAILED) after at least
    /// one attempt reached RUNNING (docs/metrics.md).
    #[serde(default)]
    pub jobs_measured: u64,
    /// Mean response time of the measured jobs: submission to end, seconds.
    #[serde(default)]
    pub response_mean_s: f64,
    /// Mean slowdown of the measured jobs: response / run, run being the last attempt that
    /// reached RUNNING (RUNNING to its stop), taken as at least 1 s.
    #[serde(default)]
    pub slowdown_mean: f64,
    /// Mean bounded slowdown of the measured jobs: max(1, response / max(run, 10 s))
    /// (Feitelson's τ = 10 s).
    #[serde(default)]
    pub bounded_slowdown_mean: f64,
    /// Jobs started by backfilling, ahead of a job waiting in front of them in their queue.
    #[serde(default)]
    pub jobs_backfilled: u64,
    /// Users (trace `user`, else `(none)`) with at least one measured job.
    #[serde(default)]
    pub users: u64,
    /// Smallest per-user mean bounded slowdown.
    #[serde(default)]
    pub user_bounded_slowdown_min: f64,
    /// Largest per-user mean bounded slowdown.
    #[serde(default)]
    pub user_bounded_slowdown_max: f64,
    /// Jain's fairness index over the per-user mean bounded slowdowns: (Σx)²/(n Σx²), 1 when
    /// every user fared alike; 0 when no job was measured.
    #[serde(default)]
    pub user_jain_index: f64,
    /// Shares (`shareIdentifier`, else the user) with at least one measured job.
    #[serde(default)]
    pub shares: u64,
    /// Smallest per-share mean bounded slowdown.
    #[serde(default)]
    pub share_bounded_slowdown_min: f64,
    /// Largest per-share mean bounded slowdown.
    #[serde(default)]
    pub share_bounded_slowdown_max: f64,
    /// Jain's fairness index over the per-share mean bounded slowdowns.
    #[serde(default)]
    pub share_jain_index: f64,
    /// Busy vCPU-seconds (jobs placed) over paid vCPU-seconds (instances billed).
    pub vcpu_utilization: f64,
    /// Instances launched (refused launches excluded).
    pub instances_launched: u64,
    /// Most instances alive at once (launched and not yet terminated).
    pub instances_peak: u64,
    /// Launch requests refused (capacity or price).
    pub launch_failures: u64,
    /// Spot instances reclaimed.
    pub spot_interruptions: u64,
    /// vCPU-seconds of attempts lost to reclaims.
    pub interrupted_vcpu_seconds: f64,
    /// Inputs the engine handled.
    pub events_processed: u64,
    /// Simulated time at the end of the run, seconds.
    pub sim_end_s: f64,
    /// Wall-clock time of the run, seconds (the only non-deterministic field).
    pub wall_seconds: f64,
    /// Malformed input lines left out with `--skip-bad-lines` (written only when above 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_lines: u64,
}

/// Whether a count is 0 (for `skip_serializing_if`).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A job's queue wait as every report counts it: submission to its first RUNNING (`None`
/// if it never ran).
pub fn queue_wait(j: &crate::engine::JobRecord) -> Option<SimDuration> {
    j.first_running_at()
        .map(|r| r.saturating_since(j.submitted_at))
}

/// Fills the job, wait and cost fields of a summary, and the literature's
/// ([`super::literature::fill`]); returns the per-user and per-share rows it used.
pub fn summarize(
    engine: &Engine,
    bills: &[Bill],
    shares: MicroUsd,
    s: &mut Summary,
) -> super::literature::Groups {
    let (mut first, mut last) = (SimTime::MAX, SimTime::ZERO);
    let mut waits = Vec::with_capacity(engine.jobs().len());
    let (mut busy, mut lost) = (0u128, 0u128);
    for j in engine.jobs() {
        s.jobs_total += 1;
        first = first.min(j.submitted_at);
        match j.status {
            JobStatus::Succeeded => s.jobs_succeeded += 1,
            JobStatus::Failed => s.jobs_failed += 1,
            _ => s.jobs_unfinished += 1,
        }
        if j.status_reason.is_some_and(StatusReason::is_unplaceable) {
            s.jobs_unplaceable += 1;
            if s.unplaceable_jobs.len() < 20 {
                s.unplaceable_jobs.push(j.spec.name.clone());
            }
        }
        if let Some(stop) = j.stopped_at {
            last = last.max(stop);
        }
        if let Some(w) = queue_wait(j) {
            waits.push(w.as_millis());
        }
        for a in &j.attempts {
            let ms = a
                .stopped_at
                .map_or(0, |e| e.saturating_since(a.starting_at).as_millis());
            busy += ms as u128 * j.spec.vcpus as u128;
            if matches!(a.status_reason, Some(StatusReason::HostTerminated(_))) {
                lost += ms as u128 * j.spec.vcpus as u128;
            }
        }
    }
    waits.sort_unstable();
    let secs = |ms: u64| ms as f64 / 1000.0;
    s.wait_mean_s = if waits.is_empty() {
        0.0
    } else {
        waits.iter().sum::<u64>() as f64 / waits.len() as f64 / 1000.0
    };
    s.wait_p50_s = secs(percentile(&waits, 50.0));
    s.wait_p95_s = secs(percentile(&waits, 95.0));
    s.wait_p99_s = secs(percentile(&waits, 99.0));
    s.makespan_s = if last > first {
        secs(last.0 - first.0)
    } else {
        0.0
    };
    s.interrupted_vcpu_seconds = lost as f64 / 1000.0;
    costs(engine, bills, shares, busy, s);
    let groups = super::literature::Groups::of(engine);
    super::literature::fill(engine, &groups, s);
    groups
}

fn costs(engine: &Engine, bills: &[Bill], shares: MicroUsd, busy_vcpu_ms: u128, s: &mut Summary) {
    let (mut od, mut spot, mut paid) = (MicroUsd::ZERO, MicroUsd::ZERO, 0u128);
    for (i, b) in engine.instances().iter().zip(bills) {
        if i.launch_failure.is_some() {
            continue;
        }
        s.instances_launched += 1;
        match i.market {
            Market::OnDemand => od += b.cost,
            Market::Spot => spot += b.cost,
        }
        paid += b.billed.as_millis() as u128
            * engine.cluster().catalog.get(i.instance_type).vcpus as u128;
    }
    s.instances_peak = peak_alive(engine);
    let total = od + spot;
    s.total_cost_usd = total.as_usd();
    s.on_demand_cost_usd = od.as_usd();
    s.spot_cost_usd = spot.as_usd();
    s.idle_cost_usd = MicroUsd(total.0.saturating_sub(shares.0)).as_usd();
    s.vcpu_utilization = if paid == 0 {
        0.0
    } else {
        busy_vcpu_ms as f64 / paid as f64
    };
    let c = engine.counters();
    s.launch_failures = c.launch_failures;
    s.spot_interruptions = c.spot_interruptions;
}

/// Most instances alive at once; an instance counts from its launch until it terminates.
fn peak_alive(engine: &Engine) -> u64 {
    let mut edges: Vec<(SimTime, i64)> = Vec::with_capacity(engine.instances().len() * 2);
    for i in engine
        .instances()
        .iter()
        .filter(|i| i.launch_failure.is_none())
    {
        edges.push((i.launched_at, 1));
        edges.push((i.terminated_at.unwrap_or(SimTime::MAX), -1));
    }
    // At equal times, terminations go first: an instance replaced at the same millisecond
    // does not count twice.
    edges.sort_unstable();
    let (mut alive, mut peak) = (0i64, 0i64);
    for (_, d) in edges {
        alive += d;
        peak = peak.max(alive);
    }
    peak as u64
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 95.0), 95);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
