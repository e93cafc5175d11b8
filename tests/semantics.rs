//! AWS Batch job semantics, one test per point of the reference's checklist (§13) that the
//! engine implements, with times worked out by hand: instances boot in 60 s, so a job
//! submitted at 0 s starts at 60 s on a fresh `s.large`.

mod common;

use common::*;
use flotilla::engine::StatusReason;
use flotilla::model::*;

fn with(
    mut j: flotilla::scenario::TraceJob,
    f: impl FnOnce(&mut flotilla::scenario::TraceJob),
) -> flotilla::scenario::TraceJob {
    f(&mut j);
    j
}

fn dep(index: u32) -> JobDependency {
    JobDependency {
        job: JobId(index),
        kind: DependencyType::Standard,
    }
}

#[test]
fn checklist_1_only_seven_states_and_every_failure_ends_failed_with_a_reason() {
    let trace = vec![
        with(job("bad", 0, 0, 1, 512, 10), |j| j.exit_code = 2),
        with(job("cancelled", 0, 0, 1, 512, 10), |j| {
            j.cancel_at = Some(SimTime(5_000))
        }),
        with(job("terminated", 0, 0, 1, 512, 500), |j| {
            j.terminate_at = Some(SimTime(100_000))
        }),
        with(job("slow", 0, 0, 1, 512, 500), |j| {
            j.spec.timeout = Some(SimDuration::from_secs(60))
        }),
        with(job("child", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(0)]
        }),
    ];
    let (run, log) = run(one_queue(trace, 64));
    let reason = |n: &str| job_named(&run, n).status_reason;
    assert_eq!(reason("bad"), Some(StatusReason::EssentialContainerExited));
    assert_eq!(reason("cancelled"), Some(StatusReason::Cancelled));
    assert!(job_named(&run, "cancelled").is_cancelled);
    assert_eq!(reason("terminated"), Some(StatusReason::Terminated));
    assert!(job_named(&run, "terminated").is_terminated);
    assert_eq!(reason("slow"), Some(StatusReason::Timeout));
    assert_eq!(reason("child"), Some(StatusReason::DependencyFailed));
    assert!(run
        .engine
        .jobs()
        .iter()
        .all(|j| j.status == JobStatus::Failed));
    assert_eq!(
        reason("slow").unwrap().to_string(),
        "Job attempt duration exceeded timeout"
    );
    assert_eq!(reason("child").unwrap().to_string(), "Dependent Job failed");
    assert!(log.contains("\"command\":\"StopJob\""));
}

#[test]
fn checklist_2_pending_only_with_dependencies_and_failures_cascade() {
    let trace = vec![
        job("first", 0, 0, 1, 512, 100),
        with(job("second", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(0)]
        }),
        with(job("broken", 0, 0, 1, 512, 10), |j| j.exit_code = 1),
        with(job("after-broken", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(2)]
        }),
        with(job("transitive", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(3)]
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    let first = job_named(&run, "first");
    assert_eq!(
        (first.pending_at, first.runnable_at),
        (None, Some(SimTime(0))),
        "no deps: straight to RUNNABLE"
    );
    let second = job_named(&run, "second");
    assert_eq!(second.pending_at, Some(SimTime(0)));
    // first runs 60–160 s; second becomes RUNNABLE then and starts on first's idle host.
    assert_eq!(second.runnable_at, Some(SimTime(160_000)));
    assert_eq!(second.status, JobStatus::Succeeded);
    for name in ["after-broken", "transitive"] {
        let j = job_named(&run, name);
        assert_eq!(
            (j.status, j.status_reason),
            (JobStatus::Failed, Some(StatusReason::DependencyFailed)),
            "{name}"
        );
        assert!(
            j.attempts.is_empty() && j.runnable_at.is_none(),
            "{name} never ran"
        );
    }
}

#[test]
fn checklist_3_cancel_and_terminate_act_per_state() {
    let trace = vec![
        // Cancelled while RUNNABLE (its host is still booting): never runs.
        with(job("cancel-runnable", 0, 0, 1, 512, 100), |j| {
            j.cancel_at = Some(SimTime(30_000))
        }),
        // Cancel on a RUNNING job does nothing.
        with(job("cancel-running", 0, 0, 1, 512, 100), |j| {
            j.cancel_at = Some(SimTime(100_000))
        }),
        // Terminate on a RUNNING job stops it; no retry although attempts remain.
        with(job("terminate-running", 0, 0, 1, 512, 500), |j| {
            j.terminate_at = Some(SimTime(100_000));
            j.spec.attempts = 3;
        }),
        // Terminate on a PENDING job cancels it, once its dependency has completed (the
        // current API text: "A PENDING job is canceled after all dependency jobs are
        // completed"). cancel-running ends at 160 s.
        with(job("terminate-pending", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(1)];
            j.terminate_at = Some(SimTime(1_000));
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    let j = job_named(&run, "cancel-runnable");
    assert!(j.attempts.is_empty() && j.is_cancelled && j.stopped_at == Some(SimTime(30_000)));
    assert_eq!(
        job_named(&run, "cancel-running").status,
        JobStatus::Succeeded
    );
    let t = job_named(&run, "terminate-running");
    assert_eq!((t.status, t.attempts.len()), (JobStatus::Failed, 1));
    assert!(t.is_terminated && !t.is_cancelled);
    assert_eq!(
        t.stopped_at,
        Some(SimTime(100_000)),
        "simulated containers exit on SIGTERM"
    );
    assert_eq!(t.attempts[0].exit_code, Some(143));
    let p = job_named(&run, "terminate-pending");
    assert!(p.is_cancelled && p.attempts.is_empty());
    assert_eq!(
        (p.status_reason, p.stopped_at),
        (Some(StatusReason::Cancelled), Some(SimTime(160_000)))
    );
}

#[test]
fn checklist_4_a_retried_attempt_goes_to_the_front_of_the_queue() {
    // One s.large at most (maxvCpus 2): jobs of 2 vCPUs run one at a time.
    let trace = vec![
        with(job("flaky", 0, 0, 2, 512, 100), |j| {
            j.exit_code = 1;
            j.spec.attempts = 2;
        }),
        job("next", 1, 0, 2, 512, 100),
    ];
    let (run, log) = run(one_queue(trace, 2));
    let flaky = job_named(&run, "flaky");
    // flaky fails at 160 s and, back at the front, runs again before `next`.
    assert_eq!(flaky.attempts.len(), 2);
    assert_eq!(flaky.attempts[1].starting_at, SimTime(160_000));
    assert_eq!(started(&run, "next"), SimTime(260_000));
    assert!(log.contains(
        "\"command\":\"StartJob\",\"job\":0,\"instance\":\"i-00000000000000001\",\"attempt\":2"
    ));
}

#[test]
fn checklist_5_evaluate_on_exit_chooses_retry_or_exit() {
    let rule = |action, sr: Option<&str>, ec: Option<&str>| EvaluateOnExit {
        action,
        on_status_reason: sr.map(str::to_string),
        on_reason: None,
        on_exit_code: ec.map(str::to_string),
    };
    let trace = vec![
        with(job("exit-on-3", 0, 0, 1, 512, 10), |j| {
            j.exit_code = 3;
            j.spec.attempts = 3;
            j.spec.evaluate_on_exit = vec![rule(RetryAction::Exit, None, Some("3*"))];
        }),
        with(job("retry-unmatched", 0, 0, 1, 512, 10), |j| {
            j.exit_code = 4;
            j.spec.attempts = 3;
            j.spec.evaluate_on_exit = vec![rule(RetryAction::Exit, None, Some("3*"))];
        }),
        with(job("host-only", 0, 0, 1, 512, 10), |j| {
            j.exit_code = 1;
            j.spec.attempts = 3;
            j.spec.evaluate_on_exit = vec![
                rule(RetryAction::Retry, Some("Host EC2*"), None),
                rule(RetryAction::Exit, Some("*"), None),
            ];
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    assert_eq!(job_named(&run, "exit-on-3").attempts.len(), 1);
    assert_eq!(
        job_named(&run, "retry-unmatched").attempts.len(),
        3,
        "no match means retry"
    );
    assert_eq!(job_named(&run, "host-only").attempts.len(), 1);
}

#[test]
fn checklist_6_timeout_counts_from_running_and_is_not_retried() {
    let trace = vec![with(job("slow", 0, 0, 1, 512, 1000), |j| {
        j.spec.timeout = Some(SimDuration::from_secs(60));
        j.spec.attempts = 3;
    })];
    let mut s = one_queue(trace, 64);
    s.container_start_delay = SimDuration::from_secs(5);
    let (run, log) = run(s);
    let j = job_named(&run, "slow");
    // STARTING at 60 s, RUNNING at 65 s, stopped 60 s later.
    assert_eq!(j.attempts.len(), 1);
    assert_eq!(j.attempts[0].running_at, Some(SimTime(65_000)));
    assert_eq!(j.stopped_at, Some(SimTime(125_000)));
    assert!(log.contains("{\"t_ms\":125000,\"command\":\"StopJob\",\"job\":0,\"instance\":\"i-00000000000000001\",\"attempt\":1,\"reason\":\"Timeout\"}"));
    assert_eq!(flotilla::engine::STOP_GRACE, SimDuration::from_secs(30));
}

#[test]
fn checklist_7_array_children_and_parent_status() {
    let trace = vec![
        with(job("arr", 0, 0, 1, 512, 100), |j| {
            j.spec.array = Some(ArrayProperties {
                size: 3,
                sequential: false,
            })
        }),
        with(job("arr-bad", 0, 0, 1, 512, 10), |j| {
            j.spec.array = Some(ArrayProperties {
                size: 2,
                sequential: false,
            });
            j.exit_code = 1;
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    let names: Vec<&str> = run
        .engine
        .jobs()
        .iter()
        .map(|j| j.spec.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "arr",
            "arr:0",
            "arr:1",
            "arr:2",
            "arr-bad",
            "arr-bad:0",
            "arr-bad:1"
        ]
    );
    let parent = job_named(&run, "arr");
    assert!(
        parent.attempts.is_empty() && parent.runnable_at.is_none(),
        "a parent never runs"
    );
    assert_eq!(parent.pending_at, Some(SimTime(0)));
    assert_eq!(parent.status, JobStatus::Succeeded);
    let last_child = (0..3)
        .filter_map(|i| job_named(&run, &format!("arr:{i}")).stopped_at)
        .max();
    assert_eq!(
        parent.stopped_at, last_child,
        "terminal once every child is"
    );
    let bad = job_named(&run, "arr-bad");
    assert_eq!(
        (bad.status, bad.status_reason),
        (JobStatus::Failed, Some(StatusReason::ArrayChildFailed))
    );
    assert!(matches!(
        job_named(&run, "arr:2").array,
        Some(flotilla::engine::ArrayLink::Child { index: 2, .. })
    ));
}

#[test]
fn checklist_7_sequential_and_n_to_n_array_dependencies() {
    let array = |size, sequential| Some(ArrayProperties { size, sequential });
    let trace = vec![
        with(job("seq", 0, 0, 1, 512, 100), |j| {
            j.spec.array = array(3, true)
        }),
        // A second SEQUENTIAL array, so that its children end at different times...
        with(job("a", 0, 0, 1, 512, 100), |j| {
            j.spec.array = array(2, true)
        }),
        // ...and an N_TO_N array on it: b:i waits for a:i only, not for all of a.
        with(job("b", 0, 0, 1, 512, 10), |j| {
            j.spec.array = array(2, false);
            j.spec.depends_on = vec![JobDependency {
                job: JobId(1),
                kind: DependencyType::NToN,
            }];
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    // SEQUENTIAL: seq:0 60–160, seq:1 160–260, seq:2 260–360.
    assert_eq!(started(&run, "seq:1"), SimTime(160_000));
    assert_eq!(started(&run, "seq:2"), SimTime(260_000));
    // a:0 ends at 160 s, a:1 at 260 s. At 160 s seq:1 and a:1 take the one 2-vCPU host, so
    // b:0 gets a new one (ready at 220 s): before a has finished, which a plain dependency
    // on a would not allow. b:1 waits for a:1 (260 s).
    assert_eq!(job_named(&run, "a:1").stopped_at, Some(SimTime(260_000)));
    assert_eq!(job_named(&run, "b:0").runnable_at, Some(SimTime(160_000)));
    assert_eq!(started(&run, "b:0"), SimTime(220_000));
    assert_eq!(job_named(&run, "b:1").runnable_at, Some(SimTime(260_000)));
    assert_eq!(job_named(&run, "b").status, JobStatus::Succeeded);
}

#[test]
fn an_array_of_10000_children_costs_what_10000_jobs_cost() {
    let arr = with(job("big", 0, 0, 1, 512, 60), |j| {
        j.spec.array = Some(ArrayProperties {
            size: 10_000,
            sequential: false,
        })
    });
    let (array_run, _) = run(one_queue(vec![arr], 100_000));
    let plain: Vec<_> = (0..10_000)
        .map(|i| job(&format!("p{i}"), 0, 0, 1, 512, 60))
        .collect();
    let (plain_run, _) = run(one_queue(plain, 100_000));
    assert_eq!(job_named(&array_run, "big").status, JobStatus::Succeeded);
    // Same work: the array run handles its parent's submission and nothing else extra.
    let (a, p) = (
        array_run.summary.events_processed,
        plain_run.summary.events_processed,
    );
    assert!(a <= p, "array {a} events, plain jobs {p}");
}

#[test]
fn checklist_14_whole_exclusive_gpus_and_the_optional_cpu_off_gpu_policy() {
    let gpu = |name: &str, at| with(job(name, at, 0, 1, 512, 300), |j| j.spec.gpus = 1);
    let build = |keep_off: bool| {
        let cat = small_catalog();
        let ces = vec![ce(
            "od",
            Market::OnDemand,
            AllocationStrategy::BestFit,
            64,
            &cat,
            &["s.large", "g.xlarge"],
        )];
        let trace = vec![gpu("g1", 0), gpu("g2", 0), job("cpu", 100, 0, 1, 512, 10)];
        let mut s = scenario(cat, ces, vec![queue("q", 1, &[0])], trace);
        s.cluster.options.keep_cpu_jobs_off_gpu_instances = keep_off;
        run(s).0
    };
    let off = build(false);
    let (g1, g2) = (job_named(&off, "g1"), job_named(&off, "g2"));
    // g.xlarge has one GPU: the two GPU jobs cannot share it, each gets device 0 of its own.
    assert_ne!(g1.attempts[0].instance, g2.attempts[0].instance);
    assert_eq!(
        (
            g1.attempts[0].gpu_ids.clone(),
            g2.attempts[0].gpu_ids.clone()
        ),
        (vec![0], vec![0])
    );
    let ty = |run: &flotilla::record::SimRun, n: &str| {
        let i = job_named(run, n).attempts[0].instance;
        run.engine
            .cluster()
            .catalog
            .get(run.engine.instances()[i.0 as usize].instance_type)
            .name
            .clone()
    };
    assert_eq!(ty(&off, "g1"), "g.xlarge", "GPU jobs only on GPU types");
    // AWS's default: the CPU job uses the free vCPUs of a GPU host (running at 100 s).
    assert_eq!(
        (ty(&off, "cpu"), started(&off, "cpu")),
        ("g.xlarge".to_string(), SimTime(100_000))
    );
    let on = build(true);
    assert_eq!(
        ty(&on, "cpu"),
        "s.large",
        "the policy keeps it off GPU hosts"
    );
    assert_eq!(started(&on, "cpu"), SimTime(160_000));
}

#[test]
fn checklist_9_a_disabled_queue_takes_no_new_jobs() {
    let mut s = one_queue(vec![job("late", 0, 0, 1, 512, 10)], 64);
    s.cluster.job_queues[0].disabled = true;
    let (run, log) = run(s);
    let j = job_named(&run, "late");
    assert_eq!(
        (j.status, j.status_reason),
        (JobStatus::Failed, Some(StatusReason::QueueDisabled))
    );
    assert!(!log.contains("LaunchInstance"));
}

#[test]
fn checklist_9_job_state_time_limit_cancels_a_stuck_head_job() {
    let cat = small_catalog();
    let ces = vec![ce(
        "spot",
        Market::Spot,
        AllocationStrategy::BestFit,
        64,
        &cat,
        &["s.large"],
    )];
    let mut q = queue("q", 1, &[0]);
    q.job_state_time_limit_actions = vec![JobStateTimeLimitAction {
        reason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY".into(),
        max_time: SimDuration::from_secs(600),
    }];
    let trace = vec![
        job("stuck", 0, 0, 1, 512, 10),
        job("behind", 5, 0, 1, 512, 10),
    ];
    let mut s = scenario(cat, ces, vec![q], trace);
    let t = s.cluster.catalog.find("s.large").unwrap();
    s.spot.capacity.insert(t, 0); // the pool never gives an instance
    let (run, _) = run(s);
    let j = job_named(&run, "stuck");
    assert_eq!(j.stopped_at, Some(SimTime(600_000)));
    assert!(j.is_cancelled);
    assert_eq!(
        j.status_reason.unwrap().to_string(),
        "Canceled by JobStateTimeLimit action due to reason: CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY"
    );
    // The job behind becomes the head at 600 s and is cancelled 600 s later.
    assert_eq!(
        job_named(&run, "behind").stopped_at,
        Some(SimTime(1_200_000))
    );
}

#[test]
fn checklist_11_a_disabled_compute_environment_places_nothing_but_keeps_min_vcpus() {
    let cat = small_catalog();
    let mut off = ce(
        "off",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        64,
        &cat,
        &["s.large"],
    );
    off.disabled = true;
    off.min_vcpus = 2;
    let on = ce(
        "on",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        64,
        &cat,
        &["s.xlarge"],
    );
    let s = scenario(
        cat,
        vec![off, on],
        vec![queue("q", 1, &[0, 1])],
        vec![job("a", 100, 0, 1, 512, 10)],
    );
    let (run, _) = run(s);
    let first = &run.engine.instances()[0];
    assert_eq!(
        run.engine.cluster().ce(first.compute_environment).name,
        "off"
    );
    assert!(
        first.terminated_at.is_none() && first.jobs_hosted == 0,
        "kept for minvCpus, never used"
    );
    let a = job_named(&run, "a").attempts[0].instance;
    let host = &run.engine.instances()[a.0 as usize];
    assert_eq!(run.engine.cluster().ce(host.compute_environment).name, "on");
}

#[test]
fn unmanaged_compute_environment_runs_jobs_on_its_fixed_hosts() {
    let cat = small_catalog();
    let host = |name: &str| UnmanagedHost {
        name: name.into(),
        vcpus: 4,
        memory_mib: 8192,
        gpus: 0,
    };
    let um = ComputeEnvironment {
        name: "lab".into(),
        max_vcpus: 8,
        unmanaged_hosts: vec![host("h0"), host("h1")],
        ..ComputeEnvironment::default()
    };
    let trace = (0..3)
        .map(|i| job(&format!("j{i}"), 0, 0, 4, 4096, 100))
        .collect();
    let (run, log) = run(scenario(cat, vec![um], vec![queue("q", 1, &[0])], trace));
    // Both hosts are ready at 0 s; the third job waits for one to free up.
    assert_eq!(
        (started(&run, "j0"), started(&run, "j1")),
        (SimTime(0), SimTime(0))
    );
    assert_eq!(started(&run, "j2"), SimTime(100_000));
    assert!(!log.contains("LaunchInstance") && !log.contains("TerminateInstance"));
    assert_eq!(log.matches("\"command\":\"AdoptHost\"").count(), 2);
    assert!(log.contains("\"host\":\"lab/h1\""));
    assert_eq!(
        run.summary.total_cost_usd, 0.0,
        "this run does not pay for the hosts"
    );
}

/// A fair-share queue over one On-Demand CE of `s.large` hosts (`max_vcpus`), with the given
/// `(identifier, weight)` entries, fed `n` one-vCPU, 60-second jobs per share at 0 s.
fn fair_share_run(
    entries: &[(&str, f64)],
    shares: &[&str],
    n: usize,
    max_vcpus: u32,
    reservation: u32,
) -> flotilla::record::SimRun {
    let cat = small_catalog();
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        max_vcpus,
        &cat,
        &["s.large"],
    )];
    let mut q = queue("fs", 1, &[0]);
    q.fairshare_policy = Some(FairsharePolicy {
        share_decay: SimDuration::from_secs(3600),
        compute_reservation: reservation,
        share_distribution: entries
            .iter()
            .map(|(id, w)| ShareWeight {
                share_identifier: id.to_string(),
                weight_factor: *w,
            })
            .collect(),
    });
    let mut trace = Vec::new();
    for i in 0..n {
        for s in shares {
            trace.push(with(job(&format!("{s}-{i}"), 0, 0, 1, 512, 60), |j| {
                j.spec.share_identifier = Some(s.to_string())
            }));
        }
    }
    run(scenario(cat, ces, vec![q], trace)).0
}

/// vCPU-seconds each share ran between `from_s` and `to_s`.
fn share_usage(run: &flotilla::record::SimRun, share: &str, from_s: u64, to_s: u64) -> f64 {
    let (from, to) = (SimTime(from_s * 1000), SimTime(to_s * 1000));
    run.engine
        .jobs()
        .iter()
        .filter(|j| j.spec.share_identifier.as_deref() == Some(share))
        .flat_map(|j| j.attempts.iter())
        .map(|a| {
            let (s, e) = (a.starting_at.max(from), a.stopped_at.unwrap_or(to).min(to));
            e.0.saturating_sub(s.0) as f64 / 1000.0
        })
        .sum()
}

#[test]
fn checklist_10_fair_share_converges_to_the_weights_under_sustained_load() {
    // b's weight 0.5 is half a's 1.0, so b should get twice a's vCPUs.
    let run = fair_share_run(&[("a", 1.0), ("b", 0.5)], &["a", "b"], 1500, 12, 0);
    let (a, b) = (
        share_usage(&run, "a", 3600, 7200),
        share_usage(&run, "b", 3600, 7200),
    );
    let ratio = b / a;
    assert!(
        (1.8..2.2).contains(&ratio),
        "b/a = {ratio} ({b} vs {a} vCPU-s)"
    );
    // FIFO would have run every a job first: a fair-share queue interleaves from the start.
    assert!(share_usage(&run, "b", 0, 600) > 0.0);
}

#[test]
fn checklist_10_wildcard_weights_multiply_by_active_identifiers() {
    // user* weighs 1 × 2 active identifiers = 2 each; x weighs 1: x gets half the vCPUs.
    let run = fair_share_run(
        &[("user*", 1.0), ("x", 1.0)],
        &["x", "user1", "user2"],
        1500,
        12,
        0,
    );
    let x = share_usage(&run, "x", 3600, 7200);
    let u = share_usage(&run, "user1", 3600, 7200) + share_usage(&run, "user2", 3600, 7200);
    assert!((0.9..1.1).contains(&(x / u)), "x {x} vs users {u}");
}

#[test]
fn checklist_10_compute_reservation_holds_capacity_for_new_identifiers() {
    // computeReservation 50 with one active identifier: half of maxvCpus stays free.
    let run = fair_share_run(&[], &["only"], 200, 12, 50);
    let mut edges: Vec<(SimTime, i64)> = Vec::new();
    for a in run.engine.jobs().iter().flat_map(|j| j.attempts.iter()) {
        edges.push((a.starting_at, 1));
        edges.push((a.stopped_at.unwrap(), -1));
    }
    edges.sort();
    let (mut now, mut peak) = (0i64, 0i64);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    assert_eq!(peak, 6, "(50/100)^1 of 12 vCPUs reserved");
}

#[test]
fn checklist_10_scheduling_priority_orders_jobs_within_a_share() {
    let cat = small_catalog();
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        2,
        &cat,
        &["s.large"],
    )];
    let mut q = queue("fs", 1, &[0]);
    q.fairshare_policy = Some(FairsharePolicy::default());
    let mk = |name: &str, at, prio| {
        with(job(name, at, 0, 2, 512, 100), |j| {
            j.spec.share_identifier = Some("s".into());
            j.spec.scheduling_priority = prio;
        })
    };
    let trace = vec![mk("first", 0, 0), mk("low", 1, 1), mk("high", 2, 50)];
    let (run, _) = run(scenario(cat, ces, vec![q], trace));
    // `first` holds the only host 60–160 s; then `high` goes before the earlier `low`.
    assert_eq!(started(&run, "high"), SimTime(160_000));
    assert_eq!(started(&run, "low"), SimTime(260_000));
}

#[test]
fn checklist_7_and_4_array_index_and_attempt_environment_variables() {
    let trace = vec![with(job("arr", 0, 0, 1, 512, 10), |j| {
        j.spec.array = Some(ArrayProperties {
            size: 2,
            sequential: false,
        });
        j.exit_code = 1;
        j.spec.attempts = 2;
        j.spec.environment = vec![("MY_VAR".into(), "x".into())];
    })];
    let (run, _) = run(one_queue(trace, 64));
    let child = JobId(2); // arr is 0, arr:0 is 1, arr:1 is 2
    let env = run.engine.batch_environment(child);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("AWS_BATCH_JOB_ARRAY_INDEX").as_deref(), Some("1"));
    assert_eq!(
        get("AWS_BATCH_JOB_ATTEMPT").as_deref(),
        Some("2"),
        "after one retry"
    );
    assert_eq!(
        get("AWS_BATCH_JOB_ID"),
        Some(format!("{}:1", flotilla::engine::job_id(JobId(0))))
    );
    assert_eq!(get("AWS_BATCH_JQ_NAME").as_deref(), Some("q"));
    assert_eq!(get("AWS_BATCH_CE_NAME").as_deref(), Some("od"));
    assert_eq!(get("MY_VAR").as_deref(), Some("x"));
    assert!(run
        .engine
        .batch_environment(JobId(0))
        .iter()
        .all(|(n, _)| n != "AWS_BATCH_JOB_ARRAY_INDEX"));
}

#[test]
fn checklist_13_multi_node_main_first_single_tenant_main_exit_ends_the_job() {
    let mut mnp = job("mpi", 0, 0, 1, 512, 100);
    mnp.spec.node_properties = Some(NodeProperties {
        num_nodes: 3,
        main_node: 0,
        node_ranges: vec![
            NodeRange {
                start: 0,
                end: 2,
                vcpus: 1,
                memory_mib: 1024,
                gpus: 0,
            },
            // A later range overrides: nodes 1-2 need 3 vCPUs, so every node gets an s.xlarge.
            NodeRange {
                start: 1,
                end: 2,
                vcpus: 3,
                memory_mib: 1024,
                gpus: 0,
            },
        ],
    });
    let cat = small_catalog();
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        64,
        &cat,
        &["s.large", "s.xlarge"],
    )];
    let mut s = scenario(
        cat,
        ces,
        vec![queue("q", 1, &[0])],
        vec![mnp, job("other", 0, 0, 1, 512, 10)],
    );
    s.container_start_delay = SimDuration::from_secs(5);
    let (run, log) = run(s);
    let names: Vec<&str> = run
        .engine
        .jobs()
        .iter()
        .map(|j| j.spec.name.as_str())
        .collect();
    assert_eq!(names, ["mpi", "mpi#0", "mpi#1", "mpi#2", "other"]);
    let node = |i: usize| job_named(&run, &format!("mpi#{i}"));
    let hosts: Vec<_> = (0..3).map(|i| node(i).attempts[0].instance).collect();
    let types: Vec<String> = hosts
        .iter()
        .map(|h| {
            run.engine
                .cluster()
                .catalog
                .get(run.engine.instances()[h.0 as usize].instance_type)
                .name
                .clone()
        })
        .collect();
    assert_eq!(types, ["s.xlarge"; 3], "one type, fitting the largest node");
    assert!(hosts[0] != hosts[1] && hosts[1] != hosts[2] && hosts[0] != hosts[2]);
    assert!(
        hosts
            .iter()
            .all(|h| run.engine.instances()[h.0 as usize].jobs_hosted == 1),
        "single-tenant"
    );
    // Main node: STARTING 60 s, RUNNING 65 s; the others start only then.
    assert_eq!(node(0).attempts[0].running_at, Some(SimTime(65_000)));
    assert_eq!(node(1).attempts[0].starting_at, SimTime(65_000));
    // Main exits at 165 s: the job ends and the other nodes are stopped.
    let job = job_named(&run, "mpi");
    assert_eq!(
        (job.status, job.stopped_at),
        (JobStatus::Succeeded, Some(SimTime(165_000)))
    );
    assert_eq!(node(2).attempts[0].exit_code, Some(143));
    assert!(log.contains("\"command\":\"StopJob\",\"job\":2"));
    let env = run.engine.batch_environment(JobId(3));
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("AWS_BATCH_JOB_NUM_NODES").as_deref(), Some("3"));
    assert_eq!(get("AWS_BATCH_JOB_NODE_INDEX").as_deref(), Some("2"));
    assert_eq!(get("AWS_BATCH_JOB_MAIN_NODE_INDEX").as_deref(), Some("0"));
    assert_eq!(
        get("AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"),
        Some(flotilla::engine::private_ipv4(hosts[0]))
    );
    // The 1-vCPU job does not share a node's instance.
    let other = job_named(&run, "other").attempts[0].instance;
    assert!(!hosts.contains(&other));
}

#[test]
fn checklist_13_a_failed_main_node_retries_the_whole_job_and_the_timeout_covers_it() {
    let mnp = |name: &str| {
        with(job(name, 0, 0, 1, 512, 100), |j| {
            j.spec.node_properties = Some(NodeProperties {
                num_nodes: 2,
                main_node: 1,
                node_ranges: vec![NodeRange {
                    start: 0,
                    end: 1,
                    vcpus: 2,
                    memory_mib: 1024,
                    gpus: 0,
                }],
            });
        })
    };
    let trace = vec![
        with(mnp("flaky"), |j| {
            j.exit_code = 1;
            j.spec.attempts = 2;
        }),
        with(mnp("slow"), |j| {
            j.spec.timeout = Some(SimDuration::from_secs(60))
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    let flaky = job_named(&run, "flaky");
    assert_eq!((flaky.status, flaky.attempts.len()), (JobStatus::Failed, 2));
    assert_eq!(
        flaky.status_reason,
        Some(StatusReason::EssentialContainerExited)
    );
    let slow = job_named(&run, "slow");
    assert_eq!(
        (slow.status, slow.status_reason),
        (JobStatus::Failed, Some(StatusReason::Timeout))
    );
    // Main node (index 1) RUNNING at 60 s; the job is stopped 60 s later.
    assert_eq!(slow.stopped_at, Some(SimTime(120_000)));
    assert!(["slow#0", "slow#1"]
        .iter()
        .all(|n| job_named(&run, n).status == JobStatus::Failed));
    assert_eq!(run.summary.jobs_unfinished, 0);
}

#[test]
fn checklist_8_at_most_20_dependencies_and_success_only() {
    // More than 20 is refused at load time (with file, line and field).
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    let mut text = String::from("job_id,submit_time_s,queue,run_time_s,depends_on\n");
    for i in 0..21 {
        text.push_str(&format!("j{i},0,default,10,\n"));
    }
    let all: Vec<String> = (0..21).map(|i| format!("j{i}")).collect();
    text.push_str(&format!("x,1,default,10,{}\n", all.join(";")));
    std::fs::write(&trace, text).unwrap();
    let err = flotilla::input::load_scenario(
        std::path::Path::new("scenarios/quickstart.toml"),
        Some(&trace),
    )
    .expect_err("21 dependencies");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(23), Some("depends_on")),
        "{err}"
    );
    // Success only: a dependency that needed a retry to succeed releases its dependent; one
    // that failed all its attempts fails it.
    let trace = vec![
        with(job("flaky-but-ok", 0, 0, 1, 512, 10), |j| {
            j.spec.attempts = 2
        }),
        with(job("after-ok", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(0)]
        }),
        with(job("always-bad", 0, 0, 1, 512, 10), |j| j.exit_code = 1),
        with(job("after-bad", 0, 0, 1, 512, 10), |j| {
            j.spec.depends_on = vec![dep(2)]
        }),
    ];
    let (run, _) = run(one_queue(trace, 64));
    assert_eq!(job_named(&run, "after-ok").status, JobStatus::Succeeded);
    assert_eq!(
        job_named(&run, "after-bad").status_reason,
        Some(StatusReason::DependencyFailed)
    );
}

#[test]
fn checklist_12_strategies_and_bid_percentage_caps_the_spot_price() {
    // c5.large Spot is 41% of On-Demand; a 40% bid never launches it, 50% does, and the bill
    // is the market price (34,850 µ$/h), not the bid.
    let build = |bid: u32| {
        let cat = flotilla::input::default_catalog(250, SimDuration::from_secs(60));
        let mut spot = ce(
            "spot",
            Market::Spot,
            AllocationStrategy::SpotPriceCapacityOptimized,
            64,
            &cat,
            &["c5.large"],
        );
        spot.bid_percentage = bid;
        let od = ce(
            "od",
            Market::OnDemand,
            AllocationStrategy::BestFit,
            64,
            &cat,
            &["c5.large"],
        );
        run(scenario(
            cat,
            vec![spot, od],
            vec![queue("q", 1, &[0, 1])],
            vec![job("a", 0, 0, 1, 512, 3540)],
        ))
        .0
    };
    let low = build(40);
    assert_eq!(
        low.engine.instances()[0].market,
        Market::OnDemand,
        "Spot above the bid"
    );
    let ok = build(50);
    assert_eq!(ok.engine.instances()[0].market, Market::Spot);
    // Alive 60 s boot + 3,540 s job + 300 s idle = 3,900 s at 34,850 µ$/h.
    assert_eq!(ok.bills[0].cost, MicroUsd(37_754));
    // The four strategies rank types as documented (see also src/engine/provisioning.rs).
    let cat = flotilla::input::default_catalog(250, SimDuration::from_secs(60));
    let c5 = cat.resolve_selector("c5");
    let mut picks = Vec::new();
    for s in AllocationStrategy::ALL {
        let mut cands: Vec<_> = c5
            .iter()
            .map(|&id| flotilla::engine::Candidate {
                id,
                price: cat.get(id).default_spot_price().unwrap(),
            })
            .collect();
        flotilla::engine::rank(
            &cat,
            s,
            Market::Spot,
            flotilla::engine::Unit::Vcpu,
            &mut cands,
        );
        picks.push(cat.get(cands[0].id).name.clone());
    }
    // BEST_FIT: cheapest instance; BFP: cheapest per vCPU (c5.24xlarge, 73% off); SCO: a <5%
    // pool, cheapest per vCPU among them (c5.large); SPCO: within <5%..5-10%, cheapest per
    // vCPU (c5.24xlarge, 5-10%).
    assert_eq!(
        picks,
        ["c5.large", "c5.24xlarge", "c5.large", "c5.24xlarge"]
    );
}

#[test]
fn checklist_15_registered_memory_is_below_nominal() {
    // 4,096 MiB on c5.large (4 GiB nominal, 3,961 MiB registered) does not fit: a c5.xlarge.
    let cat = flotilla::input::default_catalog(250, SimDuration::from_secs(60));
    assert_eq!(
        cat.get(cat.find("c5.large").unwrap()).registered_memory_mib,
        3961
    );
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        64,
        &cat,
        &["c5.large", "c5.xlarge"],
    )];
    let (run, _) = run(scenario(
        cat,
        ces,
        vec![queue("q", 1, &[0])],
        vec![job("a", 0, 0, 2, 4096, 10)],
    ));
    let t = run.engine.instances()[0].instance_type;
    assert_eq!(run.engine.cluster().catalog.get(t).name, "c5.xlarge");
}

#[test]
fn checklist_16_spot_notice_two_minutes_before_reclaim_and_per_second_billing() {
    let cat = small_catalog();
    let mut spot = ce(
        "spot",
        Market::Spot,
        AllocationStrategy::BestFit,
        64,
        &cat,
        &["s.large"],
    );
    spot.bid_percentage = 50;
    let mut s = scenario(
        cat,
        vec![spot],
        vec![queue("q", 1, &[0])],
        vec![job("a", 0, 0, 1, 512, 1000)],
    );
    let t = s.cluster.catalog.find("s.large").unwrap();
    s.spot
        .price_series
        .insert(t, vec![(SimTime(100_500), MicroUsd::from_usd(0.06))]);
    let (run, log) = run(s);
    assert!(log.contains("{\"t_ms\":100500,\"input\":\"SpotInterruptionNotice\""));
    assert!(log.contains("{\"t_ms\":220500,\"input\":\"InstanceTerminated\""));
    // Billed 221 s (220.5 s rounded up to the second), each instant at the price in force:
    // 100.5 s at 50,000 µ$/h + 120.5 s at 60,000 µ$/h = 1,395.8 + 2,008.3 = 3,404.2 µ$.
    let b = run.bills[0];
    assert_eq!(b.billed, SimDuration::from_secs(221));
    assert_eq!(b.cost, MicroUsd(3_404));
    // The Spot Advisor buckets, least interrupted first.
    let labels: Vec<&str> = InterruptionBucket::ALL.iter().map(|b| b.label()).collect();
    assert_eq!(labels, ["<5%", "5-10%", "10-15%", "15-20%", ">20%"]);
}

/// Regressions found in review (each failed before its fix).
mod review_regressions {
    use super::*;

    fn mnp(name: &str, nodes: u32) -> flotilla::scenario::TraceJob {
        with(job(name, 0, 0, 1, 512, 100), |j| {
            j.spec.node_properties = Some(NodeProperties {
                num_nodes: nodes,
                main_node: 0,
                node_ranges: vec![NodeRange {
                    start: 0,
                    end: nodes - 1,
                    vcpus: 2,
                    memory_mib: 1024,
                    gpus: 0,
                }],
            });
        })
    }

    #[test]
    fn a_finished_multi_node_job_closes_each_node_once() {
        let (run, _) = run(one_queue(vec![mnp("m", 3)], 64));
        assert_eq!(
            run.engine.open_jobs(),
            0,
            "no node counted closed twice (it used to wrap)"
        );
    }

    #[test]
    fn terminating_a_starting_multi_node_job_frees_the_waiting_nodes_instances() {
        // The main node is STARTING (5 s start delay) when TerminateJob comes at 62 s; node 1
        // waits on its ready instance. Both instances must go idle and scale in, and `y`
        // (maxvCpus 4 = the two instances) must start when it arrives, not an hour later.
        let trace = vec![
            with(mnp("m", 2), |j| j.terminate_at = Some(SimTime(62_000))),
            job("y", 100, 0, 2, 512, 10),
        ];
        let mut s = one_queue(trace, 4);
        s.container_start_delay = SimDuration::from_secs(5);
        let (run, _) = run(s);
        assert!(job_named(&run, "m").is_terminated);
        assert_eq!(started(&run, "y"), SimTime(100_000));
        assert!(run
            .engine
            .instances()
            .iter()
            .all(|i| i.terminated_at.is_some()));
    }

    #[test]
    fn an_array_refused_by_a_disabled_queue_does_not_shift_later_jobs() {
        let cat = small_catalog();
        let ces = vec![ce(
            "od",
            Market::OnDemand,
            AllocationStrategy::BestFit,
            64,
            &cat,
            &["s.large"],
        )];
        let mut off = queue("off", 1, &[0]);
        off.disabled = true;
        let trace = vec![
            with(job("arr", 0, 0, 1, 512, 7777), |j| {
                j.spec.array = Some(ArrayProperties {
                    size: 3,
                    sequential: false,
                });
                j.exit_code = 3;
            }),
            job("b", 0, 1, 1, 512, 100),
        ];
        let (run, _) = run(scenario(cat, ces, vec![off, queue("on", 1, &[0])], trace));
        let b = job_named(&run, "b");
        assert_eq!(
            (b.status, b.stopped_at),
            (JobStatus::Succeeded, Some(SimTime(160_000)))
        );
    }

    #[test]
    fn a_zero_capacity_retry_does_not_spin_at_one_instant() {
        let cat = small_catalog();
        let mut spot = ce(
            "spot",
            Market::Spot,
            AllocationStrategy::BestFitProgressive,
            64,
            &cat,
            &["s.large"],
        );
        spot.capacity_retry = SimDuration::ZERO;
        let mut s = scenario(
            cat,
            vec![spot],
            vec![queue("q", 1, &[0])],
            vec![with(job("a", 0, 0, 1, 512, 10), |j| {
                j.cancel_at = Some(SimTime(10_000))
            })],
        );
        let t = s.cluster.catalog.find("s.large").unwrap();
        s.spot.capacity.insert(t, 0);
        let (run, _) = run(s);
        // Retried at most once a second until the cancel at 10 s.
        assert!(
            run.summary.launch_failures <= 11,
            "{} launch failures",
            run.summary.launch_failures
        );
        assert!(job_named(&run, "a").is_cancelled);
    }

    #[test]
    fn a_finished_job_does_not_keep_the_run_going_with_its_timeout_timer() {
        let mut c = ce(
            "od",
            Market::OnDemand,
            AllocationStrategy::BestFit,
            64,
            &small_catalog(),
            &["s.large"],
        );
        c.min_vcpus = 2; // kept all run, so a longer run would cost more
        let trace = vec![with(job("quick", 0, 0, 1, 512, 10), |j| {
            j.spec.timeout = Some(SimDuration::from_secs(86_400))
        })];
        let (run, _) = run(scenario(
            small_catalog(),
            vec![c],
            vec![queue("q", 1, &[0])],
            trace,
        ));
        assert!(
            run.summary.sim_end_s < 1_000.0,
            "run ended at {} s",
            run.summary.sim_end_s
        );
    }
}
