//! Job-semantics invariants on a finished run that passed `check_run`: dependencies, array
//! jobs, timeouts, CancelJob/TerminateJob, retries, multi-node jobs and fair share
//! `computeReservation`. Each reads the engine's records, the replayed log and the trace.

use crate::checks::{active_shares_between, reservation_allowance, Checked};
use crate::replay::{Kind, Replay};
use flotilla::engine::{Attempt, JobRecord, StatusReason, StopReason};
use flotilla::model::*;
use flotilla::record::SimRun;
use flotilla::scenario::Scenario;
use proptest::prelude::*;

/// The records that must have SUCCEEDED before record `id` may start: its trace row's
/// dependencies (an array job's, for its children; `N_TO_N` to the child of the same index),
/// the previous child of a SEQUENTIAL array, a node's job's.
pub fn deps_of(s: &Scenario, r: &Replay, id: usize) -> Vec<usize> {
    let lj = &r.jobs[id];
    let tj = &s.trace[lj.row];
    let direct = |index: Option<u32>| -> Vec<usize> {
        tj.spec
            .depends_on
            .iter()
            .map(|d| {
                let target = r.rows[d.job.0 as usize];
                match (d.kind, index, r.jobs[target].kind) {
                    (DependencyType::NToN, Some(i), Kind::ArrayParent { size }) if i < size => {
                        target + 1 + i as usize
                    }
                    _ => target,
                }
            })
            .collect()
    };
    match lj.kind {
        Kind::Plain | Kind::MnpParent { .. } => direct(None),
        Kind::ArrayChild { index, .. } => {
            let mut d = direct(Some(index));
            if index > 0 && tj.spec.array.is_some_and(|a| a.sequential) {
                d.push(id - 1);
            }
            d
        }
        Kind::MnpNode { parent, .. } => deps_of(s, r, parent),
        Kind::ArrayParent { .. } => Vec::new(),
    }
}

/// Records that ask for work themselves: plain jobs, array children, multi-node jobs.
fn is_work(k: Kind) -> bool {
    matches!(
        k,
        Kind::Plain | Kind::ArrayChild { .. } | Kind::MnpParent { .. }
    )
}

/// Invariant 3: no job starts before all its dependencies SUCCEEDED; a dependent of a FAILED
/// job fails with `Dependent Job failed` when it fails (or ended earlier for its own reason);
/// a PENDING job at the end waits for an unfinished job.
pub fn check_dependencies(s: &Scenario, run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let jobs = run.engine.jobs();
    for (id, lj) in c.r.jobs.iter().enumerate() {
        if !is_work(lj.kind) {
            continue;
        }
        let j = &jobs[id];
        let deps = deps_of(s, &c.r, id);
        if let Some(first) = j.attempts.first() {
            for &d in &deps {
                let dj = &jobs[d];
                prop_assert!(
                    dj.status == JobStatus::Succeeded
                        && dj.stopped_at.is_some_and(|t| t <= first.starting_at),
                    "job {} started at {} before its dependency {} ({} at {:?})",
                    id,
                    first.starting_at,
                    d,
                    dj.status,
                    dj.stopped_at
                );
            }
        }
        let failed: Vec<usize> = deps
            .iter()
            .copied()
            .filter(|&d| jobs[d].status == JobStatus::Failed)
            .collect();
        // When each failed dependency would fail this job.
        let fail_at = failed
            .iter()
            .map(|&d| jobs[d].stopped_at.expect("ended").max(j.submitted_at))
            .min();
        if j.status_reason == Some(StatusReason::DependencyFailed) {
            prop_assert!(
                fail_at.is_some(),
                "job {} failed for a dependency, but none of {:?} failed",
                id,
                deps
            );
            prop_assert_eq!(
                j.stopped_at,
                fail_at,
                "job {}: when its dependency failed",
                id
            );
        } else if let Some(at) = fail_at {
            prop_assert!(
                j.status == JobStatus::Failed
                    && matches!(
                        j.status_reason,
                        Some(StatusReason::Cancelled | StatusReason::QueueDisabled)
                    )
                    && j.stopped_at.is_some_and(|t| t <= at),
                "job {} ({} {:?} at {:?}) outlived its failed dependency {:?} (at {})",
                id,
                j.status,
                j.status_reason,
                j.stopped_at,
                failed,
                at
            );
        }
        if j.status == JobStatus::Pending {
            prop_assert!(
                deps.iter().any(|&d| !jobs[d].status.is_terminal()),
                "job {} PENDING with its dependencies {:?} over",
                id,
                deps
            );
        }
    }
    Ok(())
}

/// Invariant 4: an array job never runs itself; it ends when its last child ends, SUCCEEDED
/// iff every child did. (SEQUENTIAL and `N_TO_N` orders are dependencies, see `deps_of`.)
pub fn check_arrays(run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let jobs = run.engine.jobs();
    for (id, lj) in c.r.jobs.iter().enumerate() {
        let Kind::ArrayParent { size } = lj.kind else {
            continue;
        };
        let p = &jobs[id];
        prop_assert!(p.attempts.is_empty(), "array job {} has attempts", id);
        if size == 0 {
            prop_assert_eq!(
                (p.status, p.status_reason),
                (JobStatus::Failed, Some(StatusReason::QueueDisabled))
            );
            continue;
        }
        let children = &jobs[id + 1..=id + size as usize];
        let all_over = children.iter().all(|ch| ch.status.is_terminal());
        prop_assert_eq!(
            p.status.is_terminal(),
            all_over,
            "array job {} is {} with children {:?}",
            id,
            p.status,
            children.iter().map(|ch| ch.status).collect::<Vec<_>>()
        );
        if !all_over {
            prop_assert_eq!(p.status, JobStatus::Pending);
            continue;
        }
        let all_ok = children.iter().all(|ch| ch.status == JobStatus::Succeeded);
        let want = if all_ok {
            (JobStatus::Succeeded, None)
        } else {
            (JobStatus::Failed, Some(StatusReason::ArrayChildFailed))
        };
        prop_assert_eq!((p.status, p.status_reason), want, "array job {}", id);
        let last = children.iter().filter_map(|ch| ch.stopped_at).max();
        prop_assert_eq!(
            p.stopped_at,
            last,
            "array job {} ends with its last child",
            id
        );
    }
    Ok(())
}

/// The parent attempt of a multi-node job in effect at `t` (the last one started by then).
fn attempt_at(p: &JobRecord, t: SimTime) -> Option<(usize, &Attempt)> {
    p.attempts
        .iter()
        .enumerate()
        .rev()
        .find(|(_, a)| a.starting_at <= t)
}

/// Invariant 5: an attempt never runs past its timeout (counted from RUNNING; a multi-node
/// job's from its main node's RUNNING, for all its nodes); the StopJob comes exactly then; a
/// timed-out attempt is the last one and the job FAILED with `Job attempt duration exceeded
/// timeout`.
pub fn check_timeouts(run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let jobs = run.engine.jobs();
    for (id, lj) in c.r.jobs.iter().enumerate() {
        let j = &jobs[id];
        // The job whose timeout governs this record's attempts.
        let owner = match lj.kind {
            Kind::MnpNode { parent, .. } => parent,
            _ => id,
        };
        let limit = jobs[owner].spec.timeout;
        for (k, la) in lj.attempts.iter().enumerate() {
            let Some((t, why)) = &la.stop else { continue };
            if why != "Timeout" {
                continue;
            }
            let limit = limit.ok_or_else(|| {
                TestCaseError::fail(format!("job {id}: timeout stop without a timeout"))
            })?;
            let running = match lj.kind {
                Kind::MnpNode { .. } => {
                    attempt_at(&jobs[owner], SimTime(la.start_ms)).and_then(|(_, a)| a.running_at)
                }
                _ => la.running_ms.map(SimTime),
            };
            let running = running.ok_or_else(|| {
                TestCaseError::fail(format!("job {id}: timed out before RUNNING"))
            })?;
            prop_assert_eq!(
                SimTime(*t),
                running + limit,
                "job {} attempt {}: StopJob(Timeout) not at RUNNING + timeout",
                id,
                k + 1
            );
        }
        if !is_work(lj.kind) {
            continue;
        }
        let Some(limit) = j.spec.timeout else {
            prop_assert!(
                j.attempts
                    .iter()
                    .all(|a| a.stop_requested != Some(StopReason::Timeout)),
                "job {} timed out with no timeout",
                id
            );
            continue;
        };
        let n = j.attempts.len();
        for (k, a) in j.attempts.iter().enumerate() {
            if let (Some(run_at), Some(stop)) = (a.running_at, a.stopped_at) {
                prop_assert!(
                    stop <= run_at + limit,
                    "job {} attempt {} ran from {} to {}, past its {:?} timeout",
                    id,
                    k + 1,
                    run_at,
                    stop,
                    limit
                );
            }
            if a.stop_requested == Some(StopReason::Timeout) {
                prop_assert_eq!(k + 1, n, "job {} retried after a timeout", id);
                prop_assert_eq!(
                    (j.status, j.status_reason),
                    (JobStatus::Failed, Some(StatusReason::Timeout)),
                    "job {}",
                    id
                );
            }
        }
    }
    Ok(())
}

/// Invariant 6: CancelJob and TerminateJob. A job not STARTING or RUNNING at the call never
/// starts after it, and ends then (or, PENDING on dependencies, when they end); a job
/// STARTING or RUNNING at a CancelJob is not touched; one at a TerminateJob is stopped and
/// fails `isTerminated` unless something stopped it first.
pub fn check_cancels(s: &Scenario, run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let jobs = run.engine.jobs();
    let r = &c.r;
    for q in &r.requests {
        let t = SimTime(q.t);
        for &(x, live) in &q.targets {
            let j = &jobs[x];
            let lj = &r.jobs[x];
            // Start lines of the record (a multi-node job: of its nodes).
            let starts: Vec<usize> = match lj.kind {
                Kind::MnpParent { first, nodes, .. } => (first..first + nodes as usize)
                    .flat_map(|n| r.jobs[n].start_lines.iter().copied())
                    .collect(),
                _ => lj.start_lines.clone(),
            };
            if live {
                if !q.terminate {
                    // (A later jobStateTimeLimitActions cancel is another matter.)
                    prop_assert!(
                        j.status_reason != Some(StatusReason::Cancelled),
                        "job {} cancelled while STARTING or RUNNING (call at {})",
                        x,
                        t
                    );
                    continue;
                }
                let (k, a) = attempt_at(j, t).expect("a live job has an attempt");
                prop_assert!(
                    a.stop_requested.is_some(),
                    "job {}: TerminateJob at {} did not stop attempt {}",
                    x,
                    t,
                    k + 1
                );
                if !matches!(lj.kind, Kind::MnpParent { .. }) {
                    // Its StopJob went out then, or earlier for a timeout.
                    let stop = lj.attempts.get(k).and_then(|la| la.stop.as_ref());
                    prop_assert!(
                        stop.is_some_and(|(at, _)| *at <= q.t),
                        "job {}: no StopJob by the TerminateJob on job {} at {}",
                        x,
                        q.job,
                        t
                    );
                }
                if a.stop_requested == Some(StopReason::Terminated) {
                    prop_assert_eq!(
                        k + 1,
                        j.attempts.len(),
                        "job {} retried after TerminateJob",
                        x
                    );
                    prop_assert_eq!(
                        (j.status, j.status_reason, j.is_terminated),
                        (JobStatus::Failed, Some(StatusReason::Terminated), true),
                        "job {}",
                        x
                    );
                }
                continue;
            }
            prop_assert!(
                starts.iter().all(|&l| l < q.line),
                "job {} started after the {} at {} found it not running",
                x,
                if q.terminate {
                    "TerminateJob"
                } else {
                    "CancelJob"
                },
                t
            );
            if j.stopped_at.is_some_and(|e| e <= t) {
                continue; // ended before the call, or by it
            }
            // Still waiting for dependencies at the call: cancelled once they succeed, or
            // failed with them.
            let deps = deps_of(s, r, x);
            match (j.status, j.status_reason) {
                (JobStatus::Pending, _) => {}
                (JobStatus::Failed, Some(StatusReason::DependencyFailed)) => {}
                (JobStatus::Failed, Some(StatusReason::Cancelled)) => {
                    let last = deps.iter().map(|&d| jobs[d].stopped_at).max().flatten();
                    prop_assert!(
                        deps.iter().all(|&d| jobs[d].status == JobStatus::Succeeded),
                        "job {}: deferred cancel with a failed dependency",
                        x
                    );
                    prop_assert_eq!(
                        j.stopped_at,
                        last,
                        "job {}: deferred cancel not when its dependencies ended",
                        x
                    );
                }
                other => {
                    return Err(TestCaseError::fail(format!(
                        "job {x} not running at the call at {t} but ended {other:?} at {:?}",
                        j.stopped_at
                    )))
                }
            }
        }
    }
    // Every cancelled or terminated record owes it to a call.
    for (x, lj) in r.jobs.iter().enumerate() {
        if !is_work(lj.kind) {
            continue;
        }
        let j = &jobs[x];
        let calls = r
            .requests
            .iter()
            .filter(|q| q.targets.iter().any(|&(y, _)| y == x));
        let time_limit = matches!(j.status_reason, Some(StatusReason::StateTimeLimit(_)));
        if j.is_cancelled && !time_limit {
            let first = calls.clone().find(|q| q.targets.contains(&(x, false)));
            let first = first.ok_or_else(|| {
                TestCaseError::fail(format!(
                    "job {x} isCancelled with no call that found it idle"
                ))
            })?;
            prop_assert!(
                j.attempts.iter().all(|a| a.starting_at <= SimTime(first.t)),
                "cancelled job {} has an attempt after the call at {}",
                x,
                first.t
            );
        }
        if j.is_terminated {
            prop_assert!(
                calls
                    .clone()
                    .any(|q| q.terminate && q.targets.contains(&(x, true))),
                "job {} isTerminated without a TerminateJob while it ran",
                x
            );
            prop_assert_eq!(
                j.last_attempt().and_then(|a| a.stop_requested),
                Some(StopReason::Terminated)
            );
        }
    }
    Ok(())
}

/// Invariant 7: at most `attempts` attempts; an attempt follows another only if that one
/// failed on its own (not stopped by a timeout or TerminateJob) and `evaluateOnExit` says
/// RETRY for its `statusReason` and exit code.
pub fn check_retries(run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let jobs = run.engine.jobs();
    for (id, lj) in c.r.jobs.iter().enumerate() {
        if !is_work(lj.kind) {
            continue;
        }
        let j = &jobs[id];
        prop_assert!(j.attempts.len() <= j.spec.attempts as usize);
        for (k, pair) in j.attempts.windows(2).enumerate() {
            let a = &pair[0];
            let reason = a.status_reason.ok_or_else(|| {
                TestCaseError::fail(format!(
                    "job {id}: attempt {} succeeded, then another",
                    k + 1
                ))
            })?;
            prop_assert!(
                a.stop_requested.is_none()
                    && !matches!(reason, StatusReason::Timeout | StatusReason::Terminated),
                "job {}: attempt {} was stopped ({:?}) yet retried",
                id,
                k + 1,
                a.stop_requested
            );
            prop_assert_eq!(
                retry_action(
                    &j.spec.evaluate_on_exit,
                    &reason.to_string(),
                    "",
                    a.exit_code
                ),
                RetryAction::Retry,
                "job {}: attempt {} ({}, exit {:?}) retried against evaluateOnExit {:?}",
                id,
                k + 1,
                reason,
                a.exit_code,
                j.spec.evaluate_on_exit
            );
            prop_assert!(a.stopped_at.is_some_and(|t| t <= pair[1].starting_at));
        }
    }
    Ok(())
}

/// Invariant 8: each attempt of a multi-node job runs its nodes on distinct instances of one
/// type; the main node starts the attempt and the others start once it is RUNNING; the job's
/// outcome is its main node's.
pub fn check_multinode(run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let engine = &run.engine;
    let jobs = engine.jobs();
    for (id, lj) in c.r.jobs.iter().enumerate() {
        let Kind::MnpParent { first, nodes, main } = lj.kind else {
            continue;
        };
        let p = &jobs[id];
        let mut groups: Vec<Vec<(u32, &Attempt)>> = vec![Vec::new(); p.attempts.len()];
        for index in 0..nodes {
            let node = &jobs[first + index as usize];
            for a in &node.attempts {
                let (k, pa) = attempt_at(p, a.starting_at).ok_or_else(|| {
                    TestCaseError::fail(format!("node {index} of job {id} started before it"))
                })?;
                prop_assert!(
                    pa.stopped_at.is_none_or(|e| a.starting_at <= e),
                    "node {} of job {} started between its attempts",
                    index,
                    id
                );
                groups[k].push((index, a));
            }
        }
        for (k, (pa, group)) in p.attempts.iter().zip(&groups).enumerate() {
            let main_a = group.iter().find(|(i, _)| *i == main);
            let main_a = main_a.ok_or_else(|| {
                TestCaseError::fail(format!("job {id} attempt {} without its main node", k + 1))
            })?;
            prop_assert_eq!(main_a.1.starting_at, pa.starting_at);
            prop_assert_eq!(main_a.1.running_at, pa.running_at);
            let mut hosts: Vec<u32> = group.iter().map(|(_, a)| a.instance.0).collect();
            hosts.sort_unstable();
            hosts.dedup();
            prop_assert_eq!(
                hosts.len(),
                group.len(),
                "job {}: nodes share an instance",
                id
            );
            let types: Vec<InstanceTypeId> = group
                .iter()
                .map(|(_, a)| engine.instances()[a.instance.0 as usize].instance_type)
                .collect();
            prop_assert!(
                types.windows(2).all(|w| w[0] == w[1]),
                "job {} attempt {} on several types {:?}",
                id,
                k + 1,
                types
            );
            for (i, a) in group {
                if *i != main {
                    prop_assert!(
                        pa.running_at.is_some_and(|r| r <= a.starting_at),
                        "node {} of job {} started at {} before the main node ran ({:?})",
                        i,
                        id,
                        a.starting_at,
                        pa.running_at
                    );
                }
            }
            // The attempt's end is the main node's.
            let m = main_a.1;
            if pa.stopped_at.is_some() {
                prop_assert_eq!(pa.exit_code, m.exit_code, "job {} attempt {}", id, k + 1);
                let why = m
                    .stop_requested
                    .map(StopReason::status_reason)
                    .or(m.status_reason);
                prop_assert_eq!(pa.status_reason, why, "job {} attempt {}", id, k + 1);
            }
        }
        if p.status == JobStatus::Succeeded {
            let last = p.last_attempt().expect("ran");
            prop_assert!(last.status_reason.is_none() && last.exit_code == Some(0));
        }
    }
    Ok(())
}

/// Invariant 9: with `computeReservation` r > 0, the vCPUs of a fair-share queue's running
/// jobs (multi-node nodes with their whole instances) never exceed
/// `(1 − (r/100)^active) × Σ maxvCpus`, `active` counting the identifiers that had a job
/// open while the job just started waited in the queue (the engine checks at dispatch, which
/// is in that window; the count is an upper bound, so the allowance too).
pub fn check_fair_share(s: &Scenario, run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    let jobs = run.engine.jobs();
    for fs in &c.r.fair_starts {
        let reservation = s
            .cluster
            .queue(fs.queue)
            .fairshare_policy
            .as_ref()
            .map_or(0, |f| f.compute_reservation);
        if reservation == 0 {
            continue;
        }
        let j = &jobs[fs.job];
        let t = SimTime(fs.t);
        // The attempt this start belongs to (a non-main node's: the multi-node job's attempt
        // its main node started).
        let k = j
            .attempts
            .iter()
            .rposition(|a| a.starting_at <= t)
            .expect("the attempt started by then");
        let queued = match k {
            0 => j.runnable_at.expect("was RUNNABLE"),
            _ => j.attempts[k - 1].stopped_at.expect("ended"),
        };
        let active = active_shares_between(run, fs.queue, queued, t);
        let allowed = reservation_allowance(s, fs.queue, active);
        prop_assert!(
            fs.running_vcpus as f64 <= allowed + 1e-9,
            "queue {} runs {} vCPUs at {} (job {}), over its computeReservation allowance {} \
             ({}% reserved, {} active identifiers at most)",
            s.cluster.queue(fs.queue).name,
            fs.running_vcpus,
            t,
            fs.job,
            allowed,
            reservation,
            active
        );
    }
    Ok(())
}

/// Every job-semantics invariant.
pub fn check_semantics(s: &Scenario, run: &SimRun, c: &Checked) -> Result<(), TestCaseError> {
    check_dependencies(s, run, c)?;
    check_arrays(run, c)?;
    check_timeouts(run, c)?;
    check_cancels(s, run, c)?;
    check_retries(run, c)?;
    check_multinode(run, c)?;
    check_fair_share(s, run, c)
}
