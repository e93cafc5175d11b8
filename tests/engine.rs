//! Hand-computed golden cases: each pins one documented rule of the engine or the simulated
//! world, with numbers worked out on paper in the comments.

mod common;

use common::*;
use flotilla::engine::{InstanceState, StatusReason};
use flotilla::model::{AllocationStrategy::*, JobStatus, Market, MicroUsd, SimDuration, SimTime};

fn job_by_name<'a>(
    run: &'a flotilla::record::SimRun,
    name: &str,
) -> &'a flotilla::engine::JobRecord {
    run.engine
        .jobs()
        .iter()
        .find(|j| j.spec.name == name)
        .expect("job exists")
}

/// When the job's first attempt entered STARTING.
fn first_start(run: &flotilla::record::SimRun, name: &str) -> SimTime {
    job_by_name(run, name).attempts[0].starting_at
}

fn launched_types(run: &flotilla::record::SimRun) -> Vec<String> {
    let cat = &run.engine.cluster().catalog;
    run.engine
        .instances()
        .iter()
        .map(|i| cat.get(i.instance_type).name.clone())
        .collect()
}

#[test]
fn best_fit_launches_the_cheapest_type_that_fits() {
    let cat = small_catalog();
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        BestFit,
        64,
        &cat,
        &["s.2xlarge", "s.xlarge", "s.large"],
    )];
    // 3 vCPUs: s.large (2) cannot hold it; s.xlarge ($0.20) is cheaper than s.2xlarge ($0.40).
    let s = scenario(
        cat,
        ces,
        vec![queue("q", 1, &[0])],
        vec![job("a", 0, 0, 3, 1024, 100)],
    );
    let (run, _) = run(s);
    assert_eq!(launched_types(&run), ["s.xlarge"]);
    assert_eq!(job_by_name(&run, "a").status, JobStatus::Succeeded);
}

#[test]
fn billing_has_a_sixty_second_minimum() {
    let mut cat = small_catalog();
    let mut types = cat.types().to_vec();
    types[0].boot_delay = SimDuration::from_secs(5);
    cat = flotilla::model::Catalog::new(types);
    let mut c = ce("od", Market::OnDemand, BestFit, 64, &cat, &["s.large"]);
    c.idle_timeout = SimDuration::from_secs(10);
    let s = scenario(
        cat,
        vec![c],
        vec![queue("q", 1, &[0])],
        vec![job("a", 0, 0, 1, 1024, 10)],
    );
    let (run, _) = run(s);
    // Alive 5 s boot + 10 s job + 10 s idle = 25 s, billed 60 s at $0.10/h = 1666.7 µ$.
    let i = &run.engine.instances()[0];
    assert_eq!(i.terminated_at, Some(SimTime(25_000)));
    assert_eq!(run.bills[0].billed, SimDuration::from_secs(60));
    assert_eq!(run.bills[0].cost, MicroUsd(1667));
    assert_eq!(run.summary.total_cost_usd, 0.001667);
}

#[test]
fn two_small_jobs_share_one_instance() {
    let cat = small_catalog();
    let ces = vec![ce("od", Market::OnDemand, BestFit, 64, &cat, &["s.large"])];
    let trace = vec![job("a", 0, 0, 1, 1024, 100), job("b", 0, 0, 1, 1024, 100)];
    let (run, log) = run(scenario(cat, ces, vec![queue("q", 1, &[0])], trace));
    assert_eq!(
        run.engine.instances().len(),
        1,
        "the second job reserves room on the booting instance"
    );
    let (a, b) = (job_by_name(&run, "a"), job_by_name(&run, "b"));
    assert_eq!(a.attempts[0].instance, b.attempts[0].instance);
    assert_eq!(a.attempts[0].starting_at, SimTime(60_000));
    assert_eq!(b.attempts[0].starting_at, SimTime(60_000));
    assert_eq!(log.matches("\"command\":\"StartJob\"").count(), 2);
}

#[test]
fn best_fit_on_demand_never_exceeds_max_vcpus() {
    let cat = small_catalog();
    let ces = vec![ce("od", Market::OnDemand, BestFit, 5, &cat, &["s.large"])];
    let trace: Vec<_> = (0..4)
        .map(|i| job(&format!("j{i}"), 0, 0, 2, 1024, 100))
        .collect();
    let (run, _) = run(scenario(cat, ces, vec![queue("q", 1, &[0])], trace));
    // 2 + 2 = 4 vCPUs; a third s.large would make 6 > 5, so only two instances exist.
    let peak = peak_committed_vcpus(&run);
    assert_eq!(peak, 4);
    assert!(run
        .engine
        .jobs()
        .iter()
        .all(|j| j.status == JobStatus::Succeeded));
}

#[test]
fn other_strategies_exceed_max_vcpus_by_at_most_one_instance() {
    for (market, strategy) in [
        (Market::OnDemand, BestFitProgressive),
        (Market::Spot, BestFit),
        (Market::Spot, SpotCapacityOptimized),
    ] {
        let cat = small_catalog();
        let ces = vec![ce("c", market, strategy, 5, &cat, &["s.large"])];
        let trace: Vec<_> = (0..4)
            .map(|i| job(&format!("j{i}"), 0, 0, 2, 1024, 100))
            .collect();
        let (run, _) = run(scenario(cat, ces, vec![queue("q", 1, &[0])], trace));
        // 4 < 5, so a third s.large is allowed (6 vCPUs); then 6 >= 5 stops scale-out.
        assert_eq!(peak_committed_vcpus(&run), 6, "{market:?} {strategy:?}");
    }
}

/// Highest sum of vCPUs of instances alive at once.
fn peak_committed_vcpus(run: &flotilla::record::SimRun) -> u32 {
    let cat = &run.engine.cluster().catalog;
    let mut edges: Vec<(SimTime, i64)> = Vec::new();
    for i in run.engine.instances() {
        let v = cat.get(i.instance_type).vcpus as i64;
        edges.push((i.launched_at, v));
        edges.push((i.terminated_at.unwrap_or(SimTime::MAX), -v));
    }
    edges.sort_by_key(|e| (e.0, e.1));
    let (mut now, mut peak) = (0i64, 0i64);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    peak as u32
}

#[test]
fn idle_instances_scale_in_after_the_idle_timeout_but_not_below_min_vcpus() {
    let cat = small_catalog();
    let c = ce("od", Market::OnDemand, BestFit, 64, &cat, &["s.large"]);
    let s = scenario(
        cat.clone(),
        vec![c.clone()],
        vec![queue("q", 1, &[0])],
        vec![job("a", 0, 0, 1, 1024, 100)],
    );
    let (run, log) = run(s);
    // Ready at 60 s, job 60–160 s, idle 300 s: terminated at 460 s.
    assert_eq!(
        run.engine.instances()[0].terminated_at,
        Some(SimTime(460_000))
    );
    assert!(log.contains("{\"t_ms\":460000,\"command\":\"TerminateInstance\""));

    let mut kept = c;
    kept.min_vcpus = 2;
    let s = scenario(
        cat,
        vec![kept],
        vec![queue("q", 1, &[0])],
        vec![job("a", 0, 0, 1, 1024, 100)],
    );
    let (run, log) = common::run(s);
    assert_eq!(
        run.engine.instances().len(),
        1,
        "minvCpus capacity is launched at start and used"
    );
    assert_eq!(run.engine.instances()[0].state, InstanceState::Ready);
    assert!(!log.contains("TerminateInstance"));
}

#[test]
fn spot_reclaim_fails_the_attempt_retries_it_and_bills_both_instances() {
    let cat = small_catalog();
    let mut spot = ce("spot", Market::Spot, BestFit, 64, &cat, &["s.large"]);
    spot.bid_percentage = 50; // max price $0.05/h = the Spot price (50% savings)
    let od = ce("od", Market::OnDemand, BestFit, 64, &cat, &["s.large"]);
    let mut a = job("a", 0, 0, 1, 1024, 300);
    a.spec.attempts = 2;
    let mut s = scenario(cat, vec![spot, od], vec![queue("q", 1, &[0, 1])], vec![a]);
    let t = s.cluster.catalog.find("s.large").unwrap();
    // At 100 s the Spot price rises to $0.08/h, above the $0.05 cap: notice, reclaim at 220 s.
    s.spot
        .price_series
        .insert(t, vec![(SimTime(100_000), MicroUsd::from_usd(0.08))]);
    let (run, log) = run(s);
    let j = job_by_name(&run, "a");
    assert_eq!(j.status, JobStatus::Succeeded);
    assert_eq!(j.attempts.len(), 2);
    let first = &j.attempts[0];
    assert_eq!(first.stopped_at, Some(SimTime(220_000)));
    assert_eq!(
        first.status_reason,
        Some(StatusReason::HostTerminated(first.instance))
    );
    assert_eq!(
        first.status_reason.unwrap().to_string(),
        format!("Host EC2 (instance {}) terminated.", first.instance)
    );
    assert!(log.contains("\"input\":\"SpotInterruptionNotice\""));
    // The retry cannot use Spot (price above cap) and runs On-Demand: launched 220 s, ready
    // 280 s, runs to 580 s, idle until 880 s.
    assert_eq!(run.engine.instances()[1].market, Market::OnDemand);
    assert_eq!(j.stopped_at, Some(SimTime(580_000)));
    // Spot: 100 s at 50,000 µ$/h + 120 s at 80,000 µ$/h = 4,055.6 µ$;
    // On-Demand: 660 s at 100,000 µ$/h = 18,333.3 µ$.
    assert_eq!(run.bills[0].cost, MicroUsd(4056));
    assert_eq!(run.bills[1].cost, MicroUsd(18333));
    assert_eq!(run.summary.total_cost_usd, 0.022389);
    assert_eq!(run.summary.spot_interruptions, 1);
}

#[test]
fn higher_priority_queue_is_served_first() {
    let cat = small_catalog();
    let ces = vec![ce("od", Market::OnDemand, BestFit, 2, &cat, &["s.large"])];
    let queues = vec![queue("low", 1, &[0]), queue("high", 10, &[0])];
    let trace = vec![
        job("a", 0, 0, 2, 1024, 100),
        job("b", 10, 0, 2, 1024, 100),
        job("c", 20, 1, 2, 1024, 100),
    ];
    let (run, _) = run(scenario(cat, ces, queues, trace));
    // a holds the only instance 60–160 s; then c (high) goes before b (low, submitted earlier).
    assert_eq!(first_start(&run, "c"), SimTime(160_000));
    assert_eq!(first_start(&run, "b"), SimTime(260_000));
}

#[test]
fn fifo_head_of_line_blocking() {
    let cat = small_catalog();
    let ces = vec![ce("od", Market::OnDemand, BestFit, 8, &cat, &["s.2xlarge"])];
    let trace = vec![
        job("a", 0, 0, 6, 1024, 100),
        job("b", 1, 0, 4, 1024, 100),
        job("c", 2, 0, 1, 1024, 100),
    ];
    let (run, _) = run(scenario(cat, ces, vec![queue("q", 1, &[0])], trace));
    // a takes 6 of the 8 vCPUs at 60 s; b (4) cannot run until a ends at 160 s, and c (1),
    // which would fit in the 2 free vCPUs, waits behind b.
    assert_eq!(run.engine.instances().len(), 1);
    assert_eq!(first_start(&run, "b"), SimTime(160_000));
    assert_eq!(first_start(&run, "c"), SimTime(160_000));
}

#[test]
fn a_job_no_instance_can_hold_is_reported_not_left_waiting() {
    let cat = small_catalog();
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        BestFit,
        64,
        &cat,
        &["s.large", "s.xlarge"],
    )];
    let trace = vec![
        job("huge", 0, 0, 16, 1024, 10),
        job("ok", 0, 0, 1, 1024, 10),
    ];
    let (run, _) = run(scenario(cat, ces, vec![queue("q", 1, &[0])], trace));
    let huge = job_by_name(&run, "huge");
    assert_eq!(huge.status, JobStatus::Failed);
    assert_eq!(
        huge.status_reason,
        Some(StatusReason::JobResourceRequirement)
    );
    assert_eq!(run.summary.jobs_unplaceable, 1);
    assert_eq!(run.summary.unplaceable_jobs, ["huge"]);
    assert_eq!(job_by_name(&run, "ok").status, JobStatus::Succeeded);
}

#[test]
fn best_fit_waits_on_a_capacity_failure_while_progressive_moves_on() {
    let run_with = |strategy| {
        let cat = small_catalog();
        let ces = vec![ce(
            "spot",
            Market::Spot,
            strategy,
            64,
            &cat,
            &["s.large", "s.xlarge"],
        )];
        let trace = vec![job("a", 0, 0, 2, 1024, 100), job("b", 0, 0, 2, 1024, 100)];
        let mut s = scenario(cat, ces, vec![queue("q", 1, &[0])], trace);
        let t = s.cluster.catalog.find("s.large").unwrap();
        s.spot.capacity.insert(t, 1);
        run(s).0
    };
    // Both rank s.large first (cheapest; equal price per vCPU, then cheaper). The pool gives
    // one; the second launch fails with InsufficientInstanceCapacity.
    let bf = run_with(BestFit);
    assert!(
        launched_types(&bf).iter().all(|t| t == "s.large"),
        "BEST_FIT never diversifies"
    );
    assert!(bf.summary.launch_failures >= 1);
    // b waits for a's instance (ready 60 s, a ends 160 s).
    assert_eq!(first_start(&bf, "b"), SimTime(160_000));
    let bfp = run_with(BestFitProgressive);
    assert!(launched_types(&bfp).contains(&"s.xlarge".to_string()));
    assert_eq!(first_start(&bfp, "b"), SimTime(60_000));
}

#[test]
fn a_failing_job_is_retried_up_to_its_attempts() {
    let cat = small_catalog();
    let ces = vec![ce("od", Market::OnDemand, BestFit, 64, &cat, &["s.large"])];
    let mut a = job("a", 0, 0, 1, 1024, 50);
    a.exit_code = 3;
    a.spec.attempts = 3;
    let (run, _) = run(scenario(cat, ces, vec![queue("q", 1, &[0])], vec![a]));
    let j = job_by_name(&run, "a");
    assert_eq!(j.status, JobStatus::Failed);
    assert_eq!(j.attempts.len(), 3);
    assert_eq!(
        j.status_reason,
        Some(StatusReason::EssentialContainerExited)
    );
    assert!(j.attempts.iter().all(|a| a.exit_code == Some(3)));
    assert_eq!(run.summary.jobs_failed, 1);
}

/// Drives an engine by hand on one UNMANAGED 2-vCPU host: submit `job` (2 attempts), start
/// it, and report its container exited with `exit_code` and `cause`; returns the engine.
fn exit_with(exit_code: i32, cause: flotilla::engine::ExitCause) -> flotilla::engine::Engine {
    use flotilla::engine::{Command, Engine, Input};
    let s = scenario(
        small_catalog(),
        vec![unmanaged_ce("host", &[("h", 2, 4096, 0)])],
        vec![queue("q", 1, &[0])],
        vec![],
    );
    let mut e = Engine::new(s.cluster);
    let mut out = Vec::new();
    let mut spec = job("a", 0, 0, 1, 64, 10).spec;
    spec.attempts = 2;
    let t = SimTime::ZERO;
    e.handle(t, Input::JobSubmitted(Box::new(spec)), &mut out);
    e.handle(t, Input::Wakeup, &mut out);
    let Some(Command::AdoptHost { instance, .. }) = out.first().cloned() else {
        panic!("the host is adopted first: {out:?}")
    };
    e.handle(t, Input::InstanceReady { instance }, &mut out);
    e.handle(t, Input::Wakeup, &mut out);
    let started = out.iter().any(|c| matches!(c, Command::StartJob { .. }));
    assert!(started, "{out:?}");
    let job = flotilla::model::JobId(0);
    e.handle(t, Input::JobRunning { job, attempt: 1 }, &mut out);
    let exited = Input::JobExited {
        job,
        attempt: 1,
        exit_code,
        cause,
    };
    e.handle(SimTime(5000), exited, &mut out);
    e
}

#[test]
fn an_oom_kill_fails_the_attempt_whatever_its_exit_code() {
    use flotilla::engine::ExitCause;
    // An OOM-killed child can leave exit code 0 (live-mode reference §3.5): still a failure.
    let e = exit_with(0, ExitCause::OutOfMemory);
    let j = &e.jobs()[0];
    assert_eq!(j.attempts[0].status_reason, Some(StatusReason::OutOfMemory));
    assert_eq!(j.status, JobStatus::Runnable, "retried: attempts = 2");
    assert_eq!(
        StatusReason::OutOfMemory.to_string(),
        "OutOfMemoryError: Container killed due to memory usage"
    );
    let ok = exit_with(0, ExitCause::Exited);
    assert_eq!(ok.jobs()[0].status, JobStatus::Succeeded);
    let cannot = exit_with(125, ExitCause::CannotStart);
    let reason = cannot.jobs()[0].attempts[0].status_reason;
    assert_eq!(reason, Some(StatusReason::CannotStartContainer));
}
