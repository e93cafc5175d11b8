//! Hand-sized cases the random runs found, each checked by the full property checkers and
//! by the exact outcome it must have.

use crate::checks::{check_run, check_waiting_jobs_are_starved};
use crate::common;
use crate::semantics::check_semantics;
use crate::simulate;
use flotilla::engine::StatusReason;
use flotilla::model::*;
use flotilla::scenario::Scenario;

/// Runs `s` through every checker.
fn check_all(s: &Scenario) -> flotilla::record::SimRun {
    let (run, log) = simulate(s.clone());
    let checked = check_run(s, &run, &log).expect("run invariants");
    check_waiting_jobs_are_starved(s, &run, &checked).expect("unfinished jobs explained");
    check_semantics(s, &run, &checked).expect("job semantics");
    run
}

/// One strict BEST_FIT On-Demand CE of `s.xlarge` (4 vCPUs) with maxvCpus 8.
fn xlarge_queue(trace: Vec<flotilla::scenario::TraceJob>) -> Scenario {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        8,
        &cat,
        &["s.xlarge"],
    );
    common::scenario(cat, vec![ce], vec![common::queue("q0", 0, &[0])], trace)
}

/// CancelJob on the RUNNABLE job blocking the head of its queue must let the queue move on.
/// Here the head is a 2-node job of 4-vCPU instances waiting for `long` (4 vCPUs, 2,000 s)
/// to free maxvCpus 8; the 1-vCPU job behind it fits next to `long` (one more instance).
/// Once the head is cancelled at 600 s, it launches then and starts at 660 s, not when
/// `long` ends.
#[test]
fn cancelling_the_blocked_head_job_unblocks_its_queue() {
    let mut head = common::multi_node(common::job("mnp", 0, 0, 1, 256, 10), 2, 0);
    head.cancel_at = Some(SimTime(600_000));
    let s = xlarge_queue(vec![
        common::job("long", 0, 0, 4, 256, 2000),
        head,
        common::job("next", 1, 0, 1, 256, 10),
    ]);
    let (run, _) = simulate(s.clone());
    let next = common::job_named(&run, "next");
    assert_eq!(
        (next.status, next.attempts.first().map(|a| a.starting_at)),
        (JobStatus::Succeeded, Some(SimTime(660_000))),
        "the job behind a cancelled head must run"
    );
    check_all(&s);
}

/// A multi-node job whose `numNodes` instances can never fit its compute environments'
/// maxvCpus can never run, as a job asking for more vCPUs than maxvCpus cannot: the engine
/// fails the latter with `MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE` when it would
/// become RUNNABLE (engine/submit.rs), and must do the same here instead of blocking the
/// queue forever.
#[test]
fn a_multi_node_job_that_never_fits_max_vcpus_fails_as_misconfigured() {
    let s = xlarge_queue(vec![
        common::multi_node(common::job("mnp", 0, 0, 1, 256, 10), 3, 0),
        common::job("next", 1, 0, 1, 256, 10),
    ]);
    let (run, _) = simulate(s);
    let mnp = common::job_named(&run, "mnp");
    assert_eq!(
        (mnp.status, mnp.status_reason),
        (
            JobStatus::Failed,
            Some(StatusReason::ComputeEnvironmentMaxResource)
        ),
        "3 nodes on 4-vCPU instances need 12 vCPUs; maxvCpus is 8"
    );
    assert_eq!(common::job_named(&run, "next").status, JobStatus::Succeeded);
}

/// `schedulingPriority` orders jobs only within a share of a fair-share queue (queue.rs: "In
/// a FIFO queue share and priority are 0, so the order is the position"; AWS: it "only
/// affects jobs in job queues with a fair share policy"). In a FIFO queue with room for one
/// job at a time, the first submitted runs first, whatever the priorities.
#[test]
fn a_fifo_queue_ignores_scheduling_priority() {
    let first = common::job("first", 0, 0, 4, 256, 10);
    let mut second = common::job("second", 0, 0, 4, 256, 10);
    second.spec.scheduling_priority = 5;
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        4,
        &cat,
        &["s.xlarge"],
    );
    let s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 0, &[0])],
        vec![first, second],
    );
    let run = check_all(&s);
    assert!(
        common::started(&run, "first") < common::started(&run, "second"),
        "FIFO order: first at {}, second at {}",
        common::started(&run, "first"),
        common::started(&run, "second")
    );
}

/// `jobStateTimeLimitActions` count the time a job has been stuck at the head of its queue
/// since it last got stuck: a job that started in between starts a new clock (the engine
/// clears the blocked state when a job starts). A multi-node job is stuck before its first
/// attempt (from 0 s: its two 2-vCPU instances do not fit maxvCpus 4 next to `a`'s) and again
/// after it (from 820 s, until its idle instances scale in at 1,120 s). The 1,000 s limit
/// must not cancel it at 1,000 s, 180 s into its second wait.
#[test]
fn a_state_time_limit_counts_from_the_latest_block_of_a_multi_node_job() {
    let mut mnp = common::multi_node(common::job("mnp", 0, 0, 1, 256, 300), 2, 0);
    mnp.exit_code = 1;
    mnp.spec.attempts = 2;
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        4,
        &cat,
        &["s.large"],
    );
    let mut q = common::queue("q0", 0, &[0]);
    q.job_state_time_limit_actions = vec![JobStateTimeLimitAction {
        reason: "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE".into(),
        max_time: SimDuration::from_secs(1000),
    }];
    let s = common::scenario(
        cat,
        vec![ce],
        vec![q],
        vec![common::job("a", 0, 0, 2, 256, 100), mnp],
    );
    let (run, _) = simulate(s.clone());
    let mnp = common::job_named(&run, "mnp");
    let starts: Vec<SimTime> = mnp.attempts.iter().map(|a| a.starting_at).collect();
    assert_eq!(
        starts.first(),
        Some(&SimTime(520_000)),
        "first attempt once `a`'s host is gone"
    );
    assert_eq!(
        (
            mnp.status,
            mnp.status_reason,
            mnp.is_cancelled,
            mnp.attempts.len()
        ),
        (
            JobStatus::Failed,
            Some(StatusReason::EssentialContainerExited),
            false,
            2
        ),
        "stuck 180 s of a 1,000 s limit, yet: {:?} at {:?}",
        mnp.status_reason,
        mnp.stopped_at
    );
    check_all(&s);
}

/// `computeReservation` (queue.rs: "the queue's jobs may hold at most
/// `(1 − (r/100)^active) × Σ maxvCpus`") applies to multi-node jobs too: their nodes' whole
/// instances count against it (the engine charges them), so a 3-node job of `s.large` hosts
/// (6 vCPUs) must not be placed next to a running 4-vCPU job when r = 10% of maxvCpus 10
/// leaves 9 vCPUs to one active identifier. It waits for the first job to end.
#[test]
fn compute_reservation_holds_back_multi_node_jobs() {
    let mut first = common::job("first", 0, 0, 4, 256, 100);
    first.spec.share_identifier = Some("a".into());
    let mut mnp = common::multi_node(common::job("mnp", 10, 0, 1, 256, 10), 3, 0);
    mnp.spec.share_identifier = Some("a".into());
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        10,
        &cat,
        &["s.large", "s.xlarge"],
    );
    let mut q = common::queue("q0", 0, &[0]);
    q.fairshare_policy = Some(FairsharePolicy {
        share_decay: SimDuration::from_secs(600),
        compute_reservation: 10,
        share_distribution: Vec::new(),
    });
    let s = common::scenario(cat, vec![ce], vec![q], vec![first, mnp]);
    let (run, _) = simulate(s.clone());
    let first_end = common::job_named(&run, "first").stopped_at.expect("ends");
    let mnp_start = common::started(&run, "mnp");
    assert!(
        mnp_start >= first_end,
        "6 node vCPUs placed at {mnp_start} next to 4 running until {first_end}: 10 > 9 allowed"
    );
    check_all(&s);
}

/// A multi-node job whose node no instance type of its queue can hold fails as a job of
/// that size would: `MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT` ("no instance type of the
/// queue's compute environments can ever hold the job", engine/state.rs), not
/// `COMPUTE_ENVIRONMENT_MAX_RESOURCE` (maxvCpus too small), which is about vCPUs.
#[test]
fn a_multi_node_job_no_type_can_hold_fails_for_its_resources() {
    let s = xlarge_queue(vec![common::multi_node(
        common::job("mnp", 0, 0, 1, 100_000, 10),
        2,
        0,
    )]);
    let (run, _) = simulate(s.clone());
    let mnp = common::job_named(&run, "mnp");
    assert_eq!(
        mnp.status_reason,
        Some(StatusReason::JobResourceRequirement),
        "100,000 MiB nodes on 8,192 MiB s.xlarge hosts"
    );
    check_all(&s);
}

/// A new identifier becoming active raises a fair-share queue's `computeReservation`
/// allowance (`(1 − (r/100)^active) × Σ maxvCpus`: 0.83 × 6 = 4.98 vCPUs with one active
/// identifier, 5.83 with two), so the job the lower allowance held back may go then, even
/// if the job that made the identifier active is PENDING on a dependency (it is active: it
/// has a job not yet ended, engine/queue.rs). Here `second` (identifier `b`) waits for
/// `first` (5 vCPUs, identifier `a`); its submission at 100 s must let `first` launch.
#[test]
fn a_new_active_identifier_releases_a_job_its_reservation_held_back() {
    let mut first = common::job("first", 0, 0, 5, 256, 10);
    first.spec.share_identifier = Some("a".into());
    let mut second = common::job("second", 100, 0, 1, 256, 10);
    second.spec.share_identifier = Some("b".into());
    second.spec.depends_on = vec![JobDependency {
        job: JobId(0),
        kind: DependencyType::Standard,
    }];
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFitProgressive,
        6,
        &cat,
        &["s.2xlarge"],
    );
    let mut q = common::queue("q0", 0, &[0]);
    q.fairshare_policy = Some(FairsharePolicy {
        share_decay: SimDuration::ZERO,
        compute_reservation: 17,
        share_distribution: Vec::new(),
    });
    let s = common::scenario(cat, vec![ce], vec![q], vec![first, second]);
    let (run, _) = simulate(s.clone());
    let first = common::job_named(&run, "first");
    assert_eq!(
        (first.status, first.attempts.first().map(|a| a.starting_at)),
        (JobStatus::Succeeded, Some(SimTime(160_000))),
        "5 vCPUs fit 5.83 once `b` is active at 100 s"
    );
    assert_eq!(run.summary.jobs_unfinished, 0);
    check_all(&s);
}

/// With CPU jobs kept off GPU instance types, a multi-node job of CPU nodes can only use
/// the CPU types: here two `s.2xlarge` (16 vCPUs) over maxvCpus 8, so it can never run and
/// fails as misconfigured, even though two `g.xlarge` (4 vCPUs, 1 GPU) would fit.
#[test]
fn a_multi_node_job_kept_off_gpu_types_that_never_fits_fails_as_misconfigured() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        8,
        &cat,
        &["s.2xlarge", "g.xlarge"],
    );
    let trace = vec![
        common::multi_node(common::job("mnp", 0, 0, 1, 256, 10), 2, 0),
        common::job("next", 1, 0, 1, 256, 10),
    ];
    let mut s = common::scenario(cat, vec![ce], vec![common::queue("q0", 0, &[0])], trace);
    s.cluster.options.keep_cpu_jobs_off_gpu_instances = true;
    let (run, _) = simulate(s.clone());
    let mnp = common::job_named(&run, "mnp");
    assert_eq!(
        (mnp.status, mnp.status_reason),
        (
            JobStatus::Failed,
            Some(StatusReason::ComputeEnvironmentMaxResource)
        )
    );
    assert_eq!(common::job_named(&run, "next").status, JobStatus::Succeeded);
    check_all(&s);
}
