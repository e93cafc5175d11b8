//! Checks on a finished run: the engine's records against the replayed log and the trace
//! (layout, attempts, final states and reasons), billing, and why any job is left unfinished.

use crate::replay::{replay, Kind, LoggedJob, Replay};
use flotilla::engine::{type_holds, ArrayLink, InstanceState, JobRecord, Resources, StatusReason};
use flotilla::model::*;
use flotilla::record::SimRun;
use flotilla::scenario::{Scenario, TraceJob};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A run that passed [`check_run`]: its replay and the RUNNABLE jobs by queue.
pub struct Checked {
    pub r: Replay,
    pub unfinished: BTreeMap<JobQueueId, Vec<usize>>,
}

/// Whether the scheduler may put a job needing `need` on type `ty`: it holds the job, and
/// it has no GPUs if the job needs none and the cluster keeps CPU jobs off GPU types.
pub fn usable(s: &Scenario, ty: &InstanceType, need: &Resources) -> bool {
    let off_limits =
        need.gpus == 0 && ty.gpus > 0 && s.cluster.options.keep_cpu_jobs_off_gpu_instances;
    type_holds(ty, need) && !off_limits
}

/// Whether the Spot market may refuse type `t` forever: a pool capped at 0, or capped at all
/// while some CE pins instances with minvCpus (which may fill the pool for good).
fn pool_can_starve(s: &Scenario, t: InstanceTypeId) -> bool {
    match s.spot.capacity.get(&t) {
        None => false,
        Some(0) => true,
        Some(_) => s
            .cluster
            .compute_environments
            .iter()
            .any(|c| c.min_vcpus > 0),
    }
}

/// The Spot price of type `t` at `at`: its last change by then, else the catalog's.
pub fn spot_price_at(s: &Scenario, t: InstanceTypeId, at: SimTime) -> Option<MicroUsd> {
    let series = s
        .spot
        .price_series
        .get(&t)
        .map_or(&[][..], |v| v.as_slice());
    match series.iter().rev().find(|(when, _)| *when <= at) {
        Some(&(_, p)) => Some(p),
        None => s.cluster.catalog.get(t).default_spot_price(),
    }
}

/// The Spot price of `t` once every price change has happened (a run with jobs left waits
/// for every world event, so it ends after them).
fn final_spot_price(s: &Scenario, t: InstanceTypeId) -> Option<MicroUsd> {
    spot_price_at(s, t, SimTime::MAX)
}

/// What an instance of `t` on `market` costs over `[from, to)`, in micro-dollars rounded to
/// the nearest (Spot prices step at their changes).
fn cost_between(s: &Scenario, t: InstanceTypeId, market: Market, from: u64, to: u64) -> MicroUsd {
    let ty = s.cluster.catalog.get(t);
    let mut steps: Vec<(u64, u64)> = match market {
        Market::OnDemand => vec![(0, ty.on_demand_per_hour.0)],
        Market::Spot => {
            let first = ty.default_spot_price().expect("a Spot offer").0;
            let mut v = vec![(0, first)];
            for &(at, p) in s.spot.price_series.get(&t).into_iter().flatten() {
                v.push((at.0, p.0));
            }
            v
        }
    };
    steps.push((u64::MAX, 0));
    let mut sum = 0u128;
    for w in steps.windows(2) {
        let (a, b) = (w[0].0.max(from), w[1].0.min(to));
        if b > a {
            sum += w[0].1 as u128 * (b - a) as u128;
        }
    }
    MicroUsd(((sum + 1_800_000) / 3_600_000) as u64)
}

/// Whether compute environment `c` could refuse a job needing `need` forever: it is DISABLED,
/// it can never hold the job at all, it pins instances (minvCpus > 0, so maxvCpus or a pool
/// can stay full), or it is Spot and every type it would launch for the job (for BEST_FIT:
/// the one cheapest type it insists on) is a pool that can starve or, in the end, priced
/// above its `bidPercentage` cap.
fn ce_can_block(s: &Scenario, c: &ComputeEnvironment, need: &Resources) -> bool {
    if c.disabled || c.min_vcpus > 0 || !ce_serves(s, c, need).1 {
        return true;
    }
    if c.market != Market::Spot {
        return false;
    }
    let cat = &s.cluster.catalog;
    let price = |t: InstanceTypeId| final_spot_price(s, t);
    let cap = |t: InstanceTypeId| cat.get(t).on_demand_per_hour.percent(c.bid_percentage);
    let mut cands = c
        .instance_types
        .iter()
        .copied()
        .filter(|&t| usable(s, cat.get(t), need) && cat.get(t).has_spot())
        .filter(|&t| price(t).is_some_and(|p| p <= cap(t)));
    match c.allocation_strategy {
        // BEST_FIT insists on the cheapest type (price, then fewer vCPUs, then name).
        AllocationStrategy::BestFit => cands
            .min_by_key(|&t| {
                let ty = cat.get(t);
                (price(t), ty.vcpus, ty.name.clone())
            })
            .is_none_or(|t| pool_can_starve(s, t)),
        _ => cands.all(|t| pool_can_starve(s, t)),
    }
}

/// Whether compute environment `c` could refuse forever a multi-node job of `nodes` nodes
/// whose largest node needs `need`: DISABLED, pinned instances, or no type that holds the
/// node with `nodes` instances of it within maxvCpus.
fn ce_can_block_mnp(s: &Scenario, c: &ComputeEnvironment, need: &Resources, nodes: u32) -> bool {
    let cat = &s.cluster.catalog;
    c.disabled
        || c.min_vcpus > 0
        || !c.instance_types.iter().any(|&t| {
            usable(s, cat.get(t), need)
                && nodes as u64 * cat.get(t).vcpus as u64 <= c.max_vcpus as u64
        })
}

/// Independent feasibility: `None` if some CE of the queue could ever hold the job.
pub fn expected_unplaceable(s: &Scenario, q: JobQueueId, need: &Resources) -> Option<StatusReason> {
    let (mut any_type, mut ok) = (false, false);
    for &c in &s.cluster.queue(q).compute_environment_order {
        let (a, o) = ce_serves(s, s.cluster.ce(c), need);
        any_type |= a;
        ok |= o;
    }
    match (ok, any_type) {
        (true, _) => None,
        (false, true) => Some(StatusReason::ComputeEnvironmentMaxResource),
        (false, false) => Some(StatusReason::JobResourceRequirement),
    }
}

/// Independent feasibility of a trace job: for a multi-node job, of its largest node, and
/// of its `numNodes` instances of one type within some compute environment's maxvCpus.
pub fn expected_unplaceable_job(s: &Scenario, tj: &TraceJob) -> Option<StatusReason> {
    let need = trace_need(tj);
    let single = expected_unplaceable(s, tj.spec.queue, &need);
    let Some(np) = &tj.spec.node_properties else {
        return single;
    };
    if single == Some(StatusReason::JobResourceRequirement) {
        return single; // no type holds even one node
    }
    let cat = &s.cluster.catalog;
    let fits = s
        .cluster
        .queue(tj.spec.queue)
        .compute_environment_order
        .iter()
        .any(|&c| {
            let ce = s.cluster.ce(c);
            ce.instance_types.iter().any(|&t| {
                usable(s, cat.get(t), &need)
                    && np.num_nodes as u64 * cat.get(t).vcpus as u64 <= ce.max_vcpus as u64
            })
        });
    match fits {
        true => single,
        false => Some(StatusReason::ComputeEnvironmentMaxResource),
    }
}

/// Whether some type of `c` holds a job needing `need` (with a Spot offer on Spot), and
/// whether one does within maxvCpus (the job's vCPUs never above it, nor the instance's on
/// strict BEST_FIT On-Demand): if not, `c` can never run the job.
fn ce_serves(s: &Scenario, c: &ComputeEnvironment, need: &Resources) -> (bool, bool) {
    let cat = &s.cluster.catalog;
    let (mut any_type, mut ok) = (false, false);
    for &t in &c.instance_types {
        let ty = cat.get(t);
        if !usable(s, ty, need) || (c.market == Market::Spot && !ty.has_spot()) {
            continue;
        }
        any_type = true;
        let strict = !c.allocation_strategy.may_exceed_max_vcpus(c.market);
        ok |= need.vcpus <= c.max_vcpus && (!strict || ty.vcpus <= c.max_vcpus);
    }
    (any_type, ok)
}

/// What a job (a multi-node job: its largest node) asks of one host, from the trace.
pub fn trace_need(tj: &TraceJob) -> Resources {
    match &tj.spec.node_properties {
        Some(np) => np
            .node_ranges
            .iter()
            .fold(Resources::default(), |m, r| Resources {
                vcpus: m.vcpus.max(r.vcpus),
                memory_mib: m.memory_mib.max(r.memory_mib),
                gpus: m.gpus.max(r.gpus),
            }),
        None => Resources {
            vcpus: tj.spec.vcpus,
            memory_mib: tj.spec.memory_mib,
            gpus: tj.spec.gpus,
        },
    }
}

/// The record's spec must be the trace's, as the engine derives children and nodes from it.
fn check_layout(
    i: usize,
    j: &JobRecord,
    lj: &LoggedJob,
    tj: &TraceJob,
    r: &Replay,
) -> Result<(), TestCaseError> {
    // The driver submits dependencies by engine id, not trace index.
    let mut spec = tj.spec.clone();
    for d in &mut spec.depends_on {
        d.job = JobId(r.rows[d.job.0 as usize] as u32);
    }
    let tj = &TraceJob { spec, ..tj.clone() };
    match lj.kind {
        Kind::Plain => {
            prop_assert_eq!(&j.spec, &tj.spec, "job {} out of trace order", i);
            prop_assert!(j.array.is_none());
        }
        Kind::ArrayParent { size } => {
            prop_assert_eq!(&j.spec, &tj.spec, "job {} out of trace order", i);
            if size > 0 {
                prop_assert!(
                    matches!(j.array, Some(ArrayLink::Parent { size: s, .. }) if s == size),
                    "job {}: {:?}",
                    i,
                    j.array
                );
            } else {
                prop_assert!(j.array.is_none(), "refused array job {} has children", i);
            }
        }
        Kind::ArrayChild { parent, index } => {
            prop_assert_eq!(
                j.array,
                Some(ArrayLink::Child {
                    parent: JobId(parent as u32),
                    index
                })
            );
            let want = JobSpec {
                name: format!("{}:{index}", tj.spec.name),
                depends_on: Vec::new(),
                array: None,
                ..tj.spec.clone()
            };
            prop_assert_eq!(&j.spec, &want, "array child {}", i);
        }
        Kind::MnpParent { nodes, .. } => {
            let mut want = tj.spec.clone();
            if nodes > 0 {
                // The job holds nothing itself: its nodes hold whole instances.
                (want.vcpus, want.memory_mib, want.gpus) = (0, 0, 0);
            }
            prop_assert_eq!(&j.spec, &want, "multi-node job {}", i);
            prop_assert!(j.array.is_none());
        }
        Kind::MnpNode { index, .. } => {
            prop_assert_eq!(&j.spec.name, &format!("{}#{index}", tj.spec.name));
            prop_assert_eq!(j.spec.queue, tj.spec.queue);
            prop_assert_eq!(j.spec.attempts, tj.spec.attempts);
            prop_assert!(
                j.spec.depends_on.is_empty()
                    && j.spec.array.is_none()
                    && j.spec.node_properties.is_none()
                    && j.spec.timeout.is_none(),
                "node {}: {:?}",
                i,
                j.spec
            );
            prop_assert!(j.array.is_none());
        }
    }
    Ok(())
}

/// The record's attempts must be the logged ones (a multi-node job's: its main node's
/// starts, with the job's own end).
fn check_attempts(
    i: usize,
    j: &JobRecord,
    lj: &LoggedJob,
    r: &Replay,
) -> Result<(), TestCaseError> {
    match lj.kind {
        Kind::ArrayParent { .. } => {
            prop_assert!(j.attempts.is_empty(), "array job {} has attempts", i);
            prop_assert!(lj.attempts.is_empty(), "array job {} was started", i);
        }
        Kind::MnpParent { first, main, nodes } => {
            prop_assert!(lj.attempts.is_empty(), "multi-node job {} was started", i);
            if nodes == 0 {
                prop_assert!(j.attempts.is_empty());
                return Ok(());
            }
            let m = &r.jobs[first + main as usize];
            prop_assert_eq!(
                j.attempts.len(),
                m.attempts.len(),
                "job {} vs its main node",
                i
            );
            for (a, la) in j.attempts.iter().zip(&m.attempts) {
                prop_assert_eq!(a.instance.0 as usize, la.instance);
                prop_assert_eq!(a.starting_at, SimTime(la.start_ms));
                prop_assert_eq!(a.running_at, la.running_ms.map(SimTime));
                prop_assert_eq!(a.exit_code.map(i64::from), la.exit);
                if let (Some(stop), Some(main_end)) = (a.stopped_at, la.end_ms) {
                    prop_assert!(stop.0 >= main_end, "job {} ended before its main node", i);
                }
            }
        }
        _ => {
            prop_assert_eq!(
                j.attempts.len(),
                lj.attempts.len(),
                "job {}: StartJob commands vs attempts",
                i
            );
            for (a, la) in j.attempts.iter().zip(&lj.attempts) {
                prop_assert_eq!(a.instance.0 as usize, la.instance, "job {}", i);
                prop_assert_eq!(a.starting_at, SimTime(la.start_ms), "job {}", i);
                prop_assert_eq!(a.running_at, la.running_ms.map(SimTime), "job {}", i);
                prop_assert_eq!(a.stopped_at, la.end_ms.map(SimTime), "job {}", i);
                prop_assert_eq!(a.exit_code.map(i64::from), la.exit, "job {}", i);
                let stop = a.stop_requested.map(|s| format!("{s:?}"));
                let logged = la.stop.as_ref().map(|(_, why)| why.clone());
                prop_assert_eq!(stop, logged, "job {}: stop requests", i);
                prop_assert_eq!(
                    matches!(a.status_reason, Some(StatusReason::HostTerminated(_))),
                    la.lost,
                    "job {}: {:?}",
                    i,
                    a
                );
            }
        }
    }
    Ok(())
}

/// The final state of a job that asks for work itself (plain job, array child, multi-node
/// job) must be explained by its attempts, its trace row or the scheduler.
fn check_outcome(
    s: &Scenario,
    run: &SimRun,
    i: usize,
    lj: &LoggedJob,
) -> Result<(), TestCaseError> {
    let j = &run.engine.jobs()[i];
    let tj = &s.trace[lj.row];
    let expect = expected_unplaceable_job(s, tj);
    let unplaceable = j.status_reason.is_some_and(StatusReason::is_unplaceable);
    let never_runnable = matches!(
        j.status_reason,
        Some(
            StatusReason::DependencyFailed | StatusReason::Cancelled | StatusReason::QueueDisabled
        )
    ) || j.status == JobStatus::Pending;
    prop_assert!(
        unplaceable == expect.is_some() || (expect.is_some() && never_runnable),
        "job {}: {:?}, expected {:?}",
        i,
        j.status_reason,
        expect
    );
    if expect.is_some() {
        prop_assert!(j.attempts.is_empty(), "unplaceable job {} ran", i);
    }
    if unplaceable {
        prop_assert_eq!(j.status, JobStatus::Failed);
        prop_assert_eq!(j.status_reason, expect);
        return Ok(());
    }
    let n = j.attempts.len() as u32;
    prop_assert!(
        n <= j.spec.attempts,
        "job {}: {} attempts of {}",
        i,
        n,
        j.spec.attempts
    );
    match j.status {
        JobStatus::Succeeded => {
            let last = j.last_attempt().expect("a SUCCEEDED job ran");
            prop_assert_eq!(
                last.exit_code,
                Some(0),
                "job {} SUCCEEDED with {:?}",
                i,
                last
            );
            prop_assert!(last.stop_requested.is_none() && last.status_reason.is_none());
            prop_assert_eq!(tj.exit_code, 0);
            prop_assert!(j.status_reason.is_none());
            prop_assert!(!j.is_cancelled && !j.is_terminated);
            prop_assert_eq!(j.stopped_at, last.stopped_at);
        }
        JobStatus::Failed => {
            let reason = j.status_reason.expect("a FAILED job has a reason");
            let last = j.last_attempt();
            let rules = &j.spec.evaluate_on_exit;
            // A failed attempt ends the job when no attempt is left or the rules say EXIT.
            let exits = |a: &flotilla::engine::Attempt| {
                n == j.spec.attempts
                    || retry_action(rules, &reason.to_string(), "", a.exit_code)
                        == RetryAction::Exit
            };
            match reason {
                StatusReason::EssentialContainerExited => {
                    let last = last.expect("attempt");
                    prop_assert_eq!(last.exit_code, Some(tj.exit_code));
                    prop_assert!(tj.exit_code != 0 && last.stop_requested.is_none());
                    prop_assert!(exits(last), "job {} FAILED with a retry left", i);
                }
                StatusReason::HostTerminated(h) => {
                    let last = last.expect("attempt");
                    prop_assert_eq!(last.instance, h);
                    prop_assert!(last.stop_requested.is_none());
                    prop_assert!(run.engine.instances()[h.0 as usize].interrupted);
                    prop_assert!(exits(last), "job {} FAILED with a retry left", i);
                }
                StatusReason::Timeout => {
                    let last = last.expect("attempt");
                    prop_assert_eq!(
                        last.stop_requested,
                        Some(flotilla::engine::StopReason::Timeout)
                    );
                    prop_assert!(j.spec.timeout.is_some());
                    prop_assert!(!j.is_terminated);
                }
                StatusReason::Terminated => {
                    let last = last.expect("attempt");
                    prop_assert_eq!(
                        last.stop_requested,
                        Some(flotilla::engine::StopReason::Terminated)
                    );
                    prop_assert!(j.is_terminated, "job {} terminated without isTerminated", i);
                    prop_assert!(tj.terminate_at.is_some());
                }
                StatusReason::Cancelled => {
                    prop_assert!(j.is_cancelled, "job {} cancelled without isCancelled", i);
                    prop_assert!(tj.cancel_at.is_some() || tj.terminate_at.is_some());
                }
                StatusReason::DependencyFailed => {
                    // Checked against its dependencies by `semantics`.
                    prop_assert!(!j.is_terminated);
                }
                StatusReason::StateTimeLimit(why) => {
                    // Cancelled while RUNNABLE at the head of its queue, blocked for `why`
                    // for at least an action's maxTimeSeconds since it last entered the queue.
                    prop_assert!(j.is_cancelled, "job {} timed out of RUNNABLE", i);
                    let queued = last
                        .and_then(|a| a.stopped_at)
                        .or(j.runnable_at)
                        .expect("was RUNNABLE");
                    let waited = j.stopped_at.expect("ended").saturating_since(queued);
                    let actions = &s.cluster.queue(j.spec.queue).job_state_time_limit_actions;
                    prop_assert!(
                        actions
                            .iter()
                            .any(|a| a.reason == why.as_str() && a.max_time <= waited),
                        "job {} cancelled for {} after {:?} RUNNABLE; actions {:?}",
                        i,
                        why.as_str(),
                        waited,
                        actions
                    );
                }
                StatusReason::QueueDisabled => {
                    prop_assert!(s.cluster.queue(j.spec.queue).disabled);
                    prop_assert!(j.attempts.is_empty());
                    prop_assert_eq!(j.stopped_at, Some(j.submitted_at));
                }
                other => {
                    return Err(TestCaseError::fail(format!(
                        "job {i} FAILED with {other:?}"
                    )))
                }
            }
            if !matches!(reason, StatusReason::Terminated) {
                prop_assert!(!j.is_terminated, "job {} isTerminated but {:?}", i, reason);
            }
            if !matches!(
                reason,
                StatusReason::Cancelled | StatusReason::StateTimeLimit(_)
            ) {
                prop_assert!(!j.is_cancelled, "job {} isCancelled but {:?}", i, reason);
            }
            if let Some(last) = last {
                prop_assert!(last.stopped_at.is_some_and(|t| Some(t) <= j.stopped_at));
            }
        }
        JobStatus::Runnable => {
            prop_assert!(
                j.attempts.len() < j.spec.attempts as usize,
                "job {} waits with no attempt left",
                i
            );
        }
        JobStatus::Pending => {
            prop_assert!(j.attempts.is_empty(), "job {} PENDING after an attempt", i);
        }
        other => {
            return Err(TestCaseError::fail(format!(
                "job {i} ended the run {other}"
            )))
        }
    }
    if tj.exit_code != 0 {
        prop_assert!(
            j.status != JobStatus::Succeeded,
            "job {} exits {} but did not fail",
            i,
            tj.exit_code
        );
    }
    Ok(())
}

/// Checks the per-event invariants (by replaying the log), the records against the log and
/// the trace, the final state of every job, the summary's counts and billing.
pub fn check_run(s: &Scenario, run: &SimRun, log: &str) -> Result<Checked, TestCaseError> {
    let r = replay(s, log);
    let engine = &run.engine;
    let cluster = &s.cluster;
    let cat = &cluster.catalog;
    let jobs = engine.jobs();
    prop_assert_eq!(r.rows.len(), s.trace.len(), "every trace row submitted");
    prop_assert_eq!(
        jobs.len(),
        r.jobs.len(),
        "engine records vs the trace's layout"
    );
    prop_assert_eq!(engine.instances().len(), r.instances.len());

    let mut unfinished: BTreeMap<JobQueueId, Vec<usize>> = BTreeMap::new();
    for (i, (j, lj)) in jobs.iter().zip(&r.jobs).enumerate() {
        let tj = &s.trace[lj.row];
        check_layout(i, j, lj, tj, &r)?;
        check_attempts(i, j, lj, &r)?;
        match lj.kind {
            Kind::Plain | Kind::ArrayChild { .. } | Kind::MnpParent { .. } => {
                check_outcome(s, run, i, lj)?;
                if j.status == JobStatus::Runnable {
                    unfinished.entry(j.spec.queue).or_default().push(i);
                }
            }
            Kind::ArrayParent { .. } => {
                // Checked against its children by `semantics`.
                prop_assert!(
                    matches!(
                        j.status,
                        JobStatus::Pending | JobStatus::Succeeded | JobStatus::Failed
                    ),
                    "array job {} is {}",
                    i,
                    j.status
                );
            }
            Kind::MnpNode { parent, .. } => {
                let p = &jobs[parent];
                if p.status.is_terminal() {
                    prop_assert_eq!(
                        (j.status, j.status_reason),
                        (p.status, p.status_reason),
                        "node {} of job {}",
                        i,
                        parent
                    );
                    prop_assert_eq!(j.stopped_at, p.stopped_at, "node {}", i);
                } else {
                    prop_assert!(
                        !j.status.is_terminal(),
                        "node {} ended before its job {}",
                        i,
                        parent
                    );
                }
            }
        }
    }
    let open = jobs.iter().filter(|j| !j.status.is_terminal()).count();
    prop_assert_eq!(run.summary.jobs_unfinished, open as u64);
    prop_assert_eq!(engine.open_jobs(), open, "open_jobs() vs the records");
    prop_assert_eq!(run.summary.jobs_total, jobs.len() as u64);
    prop_assert_eq!(
        run.summary.jobs_succeeded + run.summary.jobs_failed + run.summary.jobs_unfinished,
        run.summary.jobs_total
    );

    // A run whose jobs all ended leaves no work or reservation on any host, and no managed
    // host it could have scaled in (a noticed Spot host may still wait for its reclaim).
    if open == 0 {
        for (k, inst) in engine.instances().iter().enumerate() {
            if !inst.is_alive() {
                continue;
            }
            let ty = cat.get(inst.instance_type);
            prop_assert!(
                inst.is_idle()
                    && inst.free
                        == Resources {
                            vcpus: ty.vcpus,
                            memory_mib: ty.registered_memory_mib,
                            gpus: ty.gpus,
                        },
                "instance {} ({:?}) holds work or room after the last job: free {:?}",
                k,
                inst.state,
                inst.free
            );
            // Without minvCpus every idle managed host goes (an instance kept for minvCpus is
            // only looked at again after its next job, engine/instances.rs, so with minvCpus
            // more than the minimum may stay).
            let cfg = cluster.ce(inst.compute_environment);
            prop_assert!(
                inst.state != InstanceState::Ready
                    || !cfg.unmanaged_hosts.is_empty()
                    || cfg.min_vcpus > 0,
                "idle instance {} of {} never scaled in (minvCpus 0)",
                k,
                cfg.name
            );
        }
    }

    // Costs.
    let end = run.stats.end;
    prop_assert_eq!(run.bills.len(), engine.instances().len());
    let (mut od, mut spot, mut launched, mut failed) = (MicroUsd::ZERO, MicroUsd::ZERO, 0u64, 0u64);
    for (k, ((rec, bill), logged)) in engine
        .instances()
        .iter()
        .zip(&run.bills)
        .zip(&r.instances)
        .enumerate()
    {
        prop_assert_eq!(rec.instance_type, logged.ty);
        prop_assert_eq!(rec.launched_at, SimTime(logged.launched_ms));
        prop_assert_eq!(
            rec.terminated_at,
            logged.ended_ms.map(SimTime),
            "instance {}",
            k
        );
        prop_assert_eq!(rec.launch_failure.is_some(), logged.failed);
        if logged.failed {
            prop_assert_eq!(
                *bill,
                flotilla::record::Bill::default(),
                "refused launch {} billed",
                k
            );
            failed += 1;
            continue;
        }
        launched += 1;
        let ty = cat.get(rec.instance_type);
        if logged.adopted {
            prop_assert_eq!(
                ty.on_demand_per_hour,
                MicroUsd::ZERO,
                "UNMANAGED host {} priced",
                k
            );
        }
        let lived = rec
            .terminated_at
            .unwrap_or(end)
            .saturating_since(rec.launched_at)
            .as_millis();
        let billed = (lived.div_ceil(1000) * 1000).max(60_000);
        prop_assert!(
            bill.billed.as_millis() >= 60_000,
            "instance {} billed {:?}",
            k,
            bill.billed
        );
        prop_assert_eq!(
            bill.billed.as_millis(),
            billed,
            "instance {} lived {} ms",
            k,
            lived
        );
        let from = rec.launched_at.0;
        let cost = cost_between(s, rec.instance_type, rec.market, from, from + billed);
        prop_assert_eq!(bill.cost, cost, "instance {} for {} ms", k, billed);
        match rec.market {
            Market::OnDemand => od += bill.cost,
            Market::Spot => spot += bill.cost,
        }
    }
    let total: MicroUsd = run.bills.iter().map(|b| b.cost).sum();
    prop_assert_eq!(od + spot, total);
    prop_assert_eq!(MicroUsd::from_usd(run.summary.total_cost_usd), total);
    prop_assert_eq!(MicroUsd::from_usd(run.summary.on_demand_cost_usd), od);
    prop_assert_eq!(MicroUsd::from_usd(run.summary.spot_cost_usd), spot);
    prop_assert_eq!(run.summary.instances_launched, launched);
    prop_assert_eq!(run.summary.launch_failures, failed);
    prop_assert_eq!(r.launch_failures as u64, failed);
    prop_assert_eq!(run.summary.spot_interruptions, r.host_losses as u64);
    if s.spot.hazard_scale == 0.0 && s.spot.price_series.is_empty() {
        prop_assert_eq!(
            r.host_losses,
            0,
            "reclaims with no hazard and no price changes"
        );
    }
    if s.spot.capacity.is_empty() {
        prop_assert_eq!(
            failed,
            0,
            "refused launches with unlimited pools at list prices"
        );
    }
    Ok(Checked { r, unfinished })
}

/// Shares with a job open at some time in `[from, to]` in queue `q`: an upper bound on the
/// active identifiers the engine saw at any dispatch in that window.
pub fn active_shares_between(run: &SimRun, q: JobQueueId, from: SimTime, to: SimTime) -> usize {
    let mut shares: Vec<&str> = run
        .engine
        .jobs()
        .iter()
        .filter(|j| j.spec.queue == q)
        .filter(|j| j.submitted_at <= to && j.stopped_at.is_none_or(|e| e >= from))
        .filter_map(|j| j.spec.share_identifier.as_deref())
        .collect();
    shares.sort_unstable();
    shares.dedup();
    shares.len()
}

/// Most vCPUs a fair-share queue's jobs may hold with `active` identifiers active.
pub fn reservation_allowance(s: &Scenario, q: JobQueueId, active: usize) -> f64 {
    let queue = s.cluster.queue(q);
    let r = queue
        .fairshare_policy
        .as_ref()
        .map_or(0, |f| f.compute_reservation);
    let total: u64 = queue
        .compute_environment_order
        .iter()
        .map(|c| s.cluster.ce(*c).max_vcpus as u64)
        .sum();
    let reserved = (r as f64 / 100.0).powi(active.max(1) as i32);
    (1.0 - reserved) * total as f64
}

/// A queue with RUNNABLE jobs at the end of a run must have a waiting job the run can starve
/// forever: one that no ready or booting host of its queue's CEs has room for, and that every
/// one of those CEs could refuse forever (DISABLED, a Spot pool capped at 0, capacity pinned
/// by minvCpus, a multi-node job whose instances never fit maxvCpus), or that the queue's
/// `computeReservation` holds back with nothing of the queue running. Nothing else may leave
/// a job unfinished; PENDING jobs must wait for a job that is itself unfinished.
pub fn check_waiting_jobs_are_starved(
    s: &Scenario,
    run: &SimRun,
    c: &Checked,
) -> Result<(), TestCaseError> {
    let engine = &run.engine;
    let jobs = engine.jobs();
    let cluster = &s.cluster;
    for (q, waiting) in &c.unfinished {
        let order = &cluster.queue(*q).compute_environment_order;
        // Identifiers active at the end: with a job of the queue not ended.
        let mut open: Vec<&str> = jobs
            .iter()
            .filter(|j| j.spec.queue == *q && !j.status.is_terminal())
            .filter_map(|j| j.spec.share_identifier.as_deref())
            .collect();
        open.sort_unstable();
        open.dedup();
        let open_shares = open.len();
        let starved = waiting.iter().any(|&i| {
            let lj = &c.r.jobs[i];
            let need = trace_need(&s.trace[lj.row]);
            let fair = cluster.queue(*q).fairshare_policy.is_some();
            let allowance = reservation_allowance(s, *q, open_shares);
            if let Kind::MnpParent { nodes, .. } = lj.kind {
                // computeReservation may hold it back if a type it could use does not fit
                // the allowance (which type it tries is the engine's choice).
                let cat = &cluster.catalog;
                let reserved = fair
                    && order.iter().any(|&ce| {
                        cluster.ce(ce).instance_types.iter().any(|&t| {
                            usable(s, cat.get(t), &need)
                                && (nodes * cat.get(t).vcpus) as f64 > allowance
                        })
                    });
                return reserved
                    || order
                        .iter()
                        .all(|&ce| ce_can_block_mnp(s, cluster.ce(ce), &need, nodes));
            }
            let reserved = fair && need.vcpus as f64 > allowance;
            reserved
                || order.iter().all(|&c| {
                    if cluster.ce(c).disabled {
                        return true; // places nothing, even where it has room
                    }
                    let no_room = engine.instances().iter().all(|inst| {
                        inst.compute_environment != c
                            || !matches!(inst.state, InstanceState::Ready | InstanceState::Pending)
                            || !inst.free.holds(&need)
                            || !usable(s, cluster.catalog.get(inst.instance_type), &need)
                    });
                    no_room && ce_can_block(s, cluster.ce(c), &need)
                })
        });
        prop_assert!(
            starved,
            "queue {} left jobs {:?} RUNNABLE with no capacity limit or minvCpus to explain it",
            cluster.queue(*q).name,
            waiting
        );
    }
    Ok(())
}
