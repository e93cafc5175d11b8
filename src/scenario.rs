//! A validated scenario: everything one simulated run needs, already resolved against the
//! catalog (the "high args" built by `input::scenario` from the wire formats).

use crate::model::{Cluster, InstanceTypeId, JobSpec, MicroUsd, SimDuration, SimTime};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One job of a trace: what the engine is told at submission, and the facts of the world
/// that only the driver knows (run time, exit code).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceJob {
    /// Submission time.
    pub submit: SimTime,
    /// What is submitted.
    pub spec: JobSpec,
    /// How long each attempt's container runs.
    pub run_time: SimDuration,
    /// Exit code of each attempt's container.
    pub exit_code: i32,
    /// When CancelJob is called on it, if ever.
    pub cancel_at: Option<SimTime>,
    /// When TerminateJob is called on it, if ever.
    pub terminate_at: Option<SimTime>,
    /// Hold the job until another trace job ends, then submit it a delay later, instead of
    /// at `submit` (SWF's preceding job and think time: a user's feedback loop). The
    /// simulation driver honours it (`sim::held`); the live driver ignores it.
    pub submit_after: Option<SubmitAfter>,
}

/// [`TraceJob::submit_after`]: submitted `delay` after trace row `job` (an earlier row)
/// reaches SUCCEEDED or FAILED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubmitAfter {
    /// The trace index of the job waited for (an earlier row, after sorting).
    pub job: TraceIndex,
    /// How long after its end (the user's think time).
    pub delay: SimDuration,
}

impl TraceJob {
    /// A job submitted at `submit` whose every attempt runs `run_time` and exits with
    /// `exit_code`, never cancelled or terminated by the trace.
    pub fn new(submit: SimTime, spec: JobSpec, run_time: SimDuration, exit_code: i32) -> Self {
        TraceJob {
            submit,
            spec,
            run_time,
            exit_code,
            cancel_at: None,
            terminate_at: None,
            submit_after: None,
        }
    }
}

/// In a trace, `spec.depends_on[].job` holds the **trace index** of the job depended on (an
/// earlier row after sorting); the simulation driver turns it into the engine's [`JobId`]
/// when it submits the job.
pub type TraceIndex = crate::model::JobId;

/// Turns a trace job's `dependsOn` entries from trace rows into the engine's job ids
/// (`trace_ids[row]`, the ids of the rows submitted so far); a row not yet submitted cannot
/// be named (the trace reader forbids it) and maps to an id no job has.
pub fn resolve_dependencies(spec: &mut JobSpec, trace_ids: &[crate::model::JobId]) {
    for d in &mut spec.depends_on {
        d.job = trace_ids
            .get(d.job.0 as usize)
            .copied()
            .unwrap_or(crate::model::JobId(u32::MAX));
    }
}

/// The Spot market model of a run.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SpotModel {
    /// Multiplies every type's interruption hazard (1.0 = the advisor bucket as is; 0 = no
    /// interruptions). Useful to stress a scenario.
    pub hazard_scale: f64,
    /// Price changes per type, sorted by time. A type without a series keeps its catalog
    /// price (`OnDemand × (1 − savings)`).
    pub price_series: BTreeMap<InstanceTypeId, Vec<(SimTime, MicroUsd)>>,
    /// Most instances of a type the market gives at once (a pool = one type in one zone;
    /// flotilla models one zone). Absent = unlimited.
    pub capacity: BTreeMap<InstanceTypeId, u32>,
    /// Availability zones, per-pool overrides, price history and synthetic prices.
    pub market: crate::sim::pool_spec::MarketSpec,
    /// Pools driven by measured availability and preemption traces (`[[spot.measured]]`).
    pub measured: Vec<crate::sim::measured::MeasuredPool>,
}

/// Everything a simulated run needs.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name, used in report directory names.
    pub name: String,
    /// Master seed; every random stream is derived from it.
    pub seed: u64,
    /// Catalog, compute environments and queues.
    pub cluster: Cluster,
    /// Jobs sorted by (submit time, file order).
    pub trace: Vec<TraceJob>,
    /// Where the trace came from (for messages).
    pub trace_path: PathBuf,
    /// Spot market model.
    pub spot: SpotModel,
    /// Delay between StartJob and the container running (image pull, container start).
    pub container_start_delay: SimDuration,
    /// Wall-clock time of simulated time 0, Unix epoch milliseconds, for AWS-shaped output
    /// (`createdAt`, `startedAt`, `stoppedAt`). 0 unless the scenario or trace sets it.
    pub epoch_ms: u64,
    /// Malformed lines the readers skipped (`--skip-bad-lines`); empty otherwise.
    pub skipped_lines: crate::input::SkippedLines,
    /// What the readers want the user to know (tasks left out, a fleet mapping), one line
    /// each; the command line prints them on stderr.
    pub notes: Vec<String>,
}

impl Scenario {
    /// Sorts the trace by submit time, keeping file order between equal times.
    pub fn sort_trace(&mut self) {
        self.trace.sort_by_key(|j| j.submit);
    }
}

impl Scenario {
    /// Sets the allocation strategy of every managed compute environment; a Spot-only
    /// strategy becomes BEST_FIT_PROGRESSIVE on On-Demand ones (see
    /// [`crate::model::AllocationStrategy::for_market`]).
    pub fn apply_strategy(&mut self, s: crate::model::AllocationStrategy) {
        for ce in &mut self.cluster.compute_environments {
            ce.allocation_strategy = s.for_market(ce.market);
        }
    }
}
