//! Property tests over random small scenarios: every run, whatever its shape, must respect
//! the invariants of the scheduler (no over-committed host, maxvCpus, queue/CE membership,
//! retry limits), of the world (every job ends, unless the market or a limit can never give
//! it a host), of billing (the summary is the sum of per-instance bills, each at least 60 s),
//! and of AWS Batch job semantics (dependencies, array jobs, timeouts, CancelJob and
//! TerminateJob, `evaluateOnExit`, multi-node parallel jobs, fair-share `computeReservation`),
//! and replay byte for byte.
//!
//! Most checks replay the run's `events.jsonl` independently of the engine's own records,
//! then cross-check those records against the replay and the trace.
//!
//! - `gen`: random scenarios (plain jobs, and sometimes every other feature).
//! - `replay`: the log replayed, with the per-event invariants.
//! - `checks`: records vs log and trace, final states, billing, unfinished jobs.
//! - `semantics`: dependencies, arrays, timeouts, cancel/terminate, retries, multi-node jobs,
//!   fair share.

#[path = "../common/mod.rs"]
mod common;

mod checks;
mod gen;
mod regressions;
mod replay;
mod semantics;

use checks::{check_run, check_waiting_jobs_are_starved};
use flotilla::model::*;
use flotilla::record::{SimRun, Summary};
use flotilla::scenario::Scenario;
use gen::{build, params};
use proptest::prelude::*;
use replay::replay;
use semantics::check_semantics;
use serde_json::Value;

fn simulate(s: Scenario) -> (SimRun, String) {
    let mut buf: Vec<u8> = Vec::new();
    let run = flotilla::record::simulate(s, "p", Some(&mut buf)).expect("in-memory run");
    (run, String::from_utf8(buf).expect("utf-8 log"))
}

/// With `PROPS_DUMP=<dir>`, a failing case leaves its event log and trace there (the last
/// one written is proptest's minimal case), to be read or replayed by hand.
fn dump_on_failure<T>(
    name: &str,
    s: &Scenario,
    log: &str,
    result: Result<T, TestCaseError>,
) -> Result<T, TestCaseError> {
    if let (Err(e), Ok(dir)) = (&result, std::env::var("PROPS_DUMP")) {
        let dir = std::path::Path::new(&dir);
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(dir.join(format!("{name}.events.jsonl")), log);
        let text = format!("{e}\n\n{:#?}\n\n{:#?}", s.cluster, s.trace);
        let _ = std::fs::write(dir.join(format!("{name}.scenario.txt")), text);
    }
    result
}

/// 256 cases (a second or two in release) from a fixed seed, so the suite is reproducible;
/// `PROPTEST_CASES` and `PROPTEST_RNG_SEED` explore further.
fn config() -> ProptestConfig {
    salted(0)
}

/// [`config`] with the seed offset by `salt`, so that each property draws its own scenarios.
fn salted(salt: u64) -> ProptestConfig {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            env("PROPTEST_RNG_SEED").unwrap_or(0xf107_111a) ^ salt,
        ),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Invariants 1 (capacity, GPU ids, whole instances for nodes), maxvCpus, queue and CE
    /// membership, attempt numbering, billing, and the per-job part of 2 (every job ends
    /// SUCCEEDED or FAILED with a reason its attempts, trace row or the scheduler explain).
    #[test]
    fn random_runs_keep_capacity_cost_and_queue_invariants(p in params()) {
        let s = build(&p);
        let (run, log) = simulate(s.clone());
        dump_on_failure("capacity", &s, &log, check_run(&s, &run, &log))?;
    }

}

proptest! {
    #![proptest_config(salted(1))]

    /// Invariant 2: every job ends unless a limit can starve it forever.
    #[test]
    fn random_runs_finish_every_job_the_market_can_serve(p in params()) {
        let s = build(&p);
        let (run, log) = simulate(s.clone());
        let result = check_run(&s, &run, &log)
            .and_then(|checked| check_waiting_jobs_are_starved(&s, &run, &checked));
        dump_on_failure("finish", &s, &log, result)?;
    }

}

proptest! {
    #![proptest_config(salted(2))]

    /// Invariants 3-9: dependencies, arrays, timeouts, cancel/terminate, retries, multi-node
    /// jobs, fair-share computeReservation.
    #[test]
    fn random_runs_keep_job_semantics(p in params()) {
        let s = build(&p);
        let (run, log) = simulate(s.clone());
        let result = check_run(&s, &run, &log)
            .and_then(|checked| check_semantics(&s, &run, &checked));
        dump_on_failure("semantics", &s, &log, result)?;
    }

}

proptest! {
    #![proptest_config(salted(3))]

    /// Invariant 10: the same scenario gives the same events.jsonl, byte for byte.
    #[test]
    fn random_runs_replay_byte_for_byte(p in params()) {
        let s = build(&p);
        let (run_a, a) = simulate(s.clone());
        let (run_b, b) = simulate(s);
        prop_assert!(a == b, "two runs of one scenario logged different events");
        prop_assert_eq!(run_a.summary, run_b.summary);
    }

}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn summary_json_round_trips(
        ints in prop::collection::vec(any::<u64>(), 64),
        millis in prop::collection::vec(0u64..=u64::from(u32::MAX) * 1000, 64),
        words in prop::collection::vec("[ -~]{0,12}", 64),
        lists in prop::collection::vec(prop::collection::vec("[ -~]{0,10}", 0..4), 64),
    ) {
        // Fill every field of the summary, whatever fields it has, by its JSON type: text,
        // lists of names, counts, and floats that are milliseconds or micro-dollars scaled to
        // a unit (the only floats a summary holds).
        let template = serde_json::to_value(Summary::default()).expect("to value");
        let Value::Object(template) = template else {
            panic!("a summary is a JSON object");
        };
        let mut filled = serde_json::Map::new();
        for (k, (key, v)) in template.into_iter().enumerate() {
            let x = match v {
                Value::String(_) => Value::from(words[k].clone()),
                Value::Array(_) => Value::from(lists[k].clone()),
                Value::Number(n) if n.is_u64() => Value::from(ints[k]),
                Value::Number(_) if k % 2 == 0 => Value::from(millis[k] as f64 / 1000.0),
                Value::Number(_) => Value::from(MicroUsd(millis[k]).as_usd()),
                other => panic!("unexpected summary field {key}: {other}"),
            };
            filled.insert(key, x);
        }
        let filled = Value::Object(filled);
        let s: Summary = serde_json::from_value(filled.clone()).expect("from value");
        let text = serde_json::to_string_pretty(&s).expect("serialize");
        let back: Summary = serde_json::from_str(&text).expect("deserialize");
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(serde_json::to_value(&back).expect("to value"), filled);
        let compact = serde_json::to_string(&s).expect("serialize");
        let compact: Summary = serde_json::from_str(&compact).expect("deserialize");
        prop_assert_eq!(compact, s);
    }
}

/// The checker itself must catch an over-committed host: a log that places two 2-vCPU jobs
/// on a 2-vCPU instance is rejected.
#[test]
#[should_panic(expected = "over-committed")]
fn replay_rejects_an_over_committed_host() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        16,
        &cat,
        &["s.large"],
    );
    let trace = vec![
        common::job("a", 0, 0, 2, 100, 60),
        common::job("b", 0, 0, 2, 100, 60),
    ];
    let s = common::scenario(cat, vec![ce], vec![common::queue("q0", 1, &[0])], trace);
    let log = [
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"a","jobQueue":"q0","vcpus":2,"memory":100,"gpus":0,"attempts":1}"#,
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"b","jobQueue":"q0","vcpus":2,"memory":100,"gpus":0,"attempts":1}"#,
        r#"{"t_ms":0,"command":"LaunchInstance","instance":"i-00000000000000001","computeEnvironment":"ce0","instanceType":"s.large","market":"EC2","max_price_micro_usd_per_hour":100000}"#,
        r#"{"t_ms":60000,"input":"InstanceReady","instance":"i-00000000000000001"}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":0,"instance":"i-00000000000000001","attempt":1,"gpuIds":[]}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":1,"instance":"i-00000000000000001","attempt":1,"gpuIds":[]}"#,
    ]
    .join("\n");
    replay(&s, &log);
}

/// A pool with no capacity at all behind a single BEST_FIT Spot CE: the job can never run,
/// and the property must accept exactly that (RUNNABLE, not FAILED, not lost).
#[test]
fn zero_capacity_pool_leaves_the_job_runnable() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::Spot,
        AllocationStrategy::BestFit,
        16,
        &cat,
        &["s.large", "s.xlarge"],
    );
    let mut s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 1, &[0])],
        vec![common::job("a", 0, 0, 1, 512, 60)],
    );
    s.spot.capacity.insert(InstanceTypeId(0), 0);
    let (run, log) = simulate(s.clone());
    assert_eq!(run.engine.jobs()[0].status, JobStatus::Runnable);
    assert_eq!(run.summary.jobs_unfinished, 1);
    let waiting = check_run(&s, &run, &log).expect("invariants");
    check_waiting_jobs_are_starved(&s, &run, &waiting).expect("a starved job is allowed");
    // Without the cap, the same scenario must finish, and the check must insist on it.
    let mut free = s.clone();
    free.spot.capacity.clear();
    let (run, log) = simulate(free.clone());
    assert_eq!(run.engine.jobs()[0].status, JobStatus::Succeeded);
    let mut forged = check_run(&free, &run, &log).expect("invariants");
    forged.unfinished.insert(JobQueueId(0), vec![0]);
    assert!(
        check_waiting_jobs_are_starved(&free, &run, &forged).is_err(),
        "an unexplained wait is rejected"
    );
}

/// maxvCpus is a hard limit for BEST_FIT on On-Demand (reference §5.2), also for the
/// desiredvCpus launched at the start: desired 5 on 2-vCPU instances is at most 4 vCPUs (or
/// at least not 6, which is over maxvCpus 5).
#[test]
fn desired_capacity_never_exceeds_strict_max_vcpus() {
    let cat = common::small_catalog();
    let mut ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        5,
        &cat,
        &["s.large"],
    );
    ce.desired_vcpus = 5;
    ce.min_vcpus = 5;
    let s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 1, &[0])],
        vec![common::job("a", 0, 0, 1, 512, 60)],
    );
    let (_run, log) = simulate(s);
    let launched_vcpus = log
        .lines()
        .filter(|l| l.contains("\"command\":\"LaunchInstance\""))
        .count() as u32
        * 2;
    assert!(launched_vcpus >= 2, "desired capacity launches something");
    assert!(
        launched_vcpus <= 5,
        "strict BEST_FIT on EC2 launched {launched_vcpus} vCPUs with maxvCpus 5"
    );
}

/// Scale-in gives maxvCpus headroom back: a job that waited for it (here a GPU job behind a
/// CPU instance in a 4-vCPU strict BEST_FIT CE) must run once the idle instance is gone.
#[test]
fn scale_in_frees_max_vcpus_for_a_waiting_job() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        4,
        &cat,
        &["s.large", "g.xlarge"],
    );
    let mut gpu = common::job("b", 0, 0, 1, 256, 1);
    gpu.spec.gpus = 1;
    let s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 1, &[0])],
        vec![common::job("a", 0, 0, 1, 256, 1), gpu],
    );
    let (run, log) = simulate(s.clone());
    assert!(
        log.contains("TerminateInstance"),
        "the CPU instance is scaled in"
    );
    let waiting = check_run(&s, &run, &log).expect("invariants");
    let statuses: Vec<JobStatus> = run.engine.jobs().iter().map(|j| j.status).collect();
    assert_eq!(
        statuses,
        [JobStatus::Succeeded, JobStatus::Succeeded],
        "waiting: {:?}",
        waiting.unfinished
    );
}

/// The checker catches two jobs handed the same GPU of a host.
#[test]
#[should_panic(expected = "already in use")]
fn replay_rejects_a_shared_gpu() {
    let g = common::itype("g.2xlarge", 8, 16384, 2, 1.0, InterruptionBucket::Under5);
    let cat = Catalog::new(vec![g]);
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        16,
        &cat,
        &["g.2xlarge"],
    );
    let trace = vec![
        common::job("a", 0, 0, 1, 100, 60),
        common::job("b", 0, 0, 1, 100, 60),
    ];
    let trace = trace
        .into_iter()
        .map(|mut j| {
            j.spec.gpus = 1;
            j
        })
        .collect();
    let s = common::scenario(cat, vec![ce], vec![common::queue("q0", 1, &[0])], trace);
    let log = [
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"a","jobQueue":"q0","vcpus":1,"memory":100,"gpus":1,"attempts":1}"#,
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"b","jobQueue":"q0","vcpus":1,"memory":100,"gpus":1,"attempts":1}"#,
        r#"{"t_ms":0,"command":"LaunchInstance","instance":"i-00000000000000001","computeEnvironment":"ce0","instanceType":"g.2xlarge","market":"EC2","max_price_micro_usd_per_hour":1000000}"#,
        r#"{"t_ms":60000,"input":"InstanceReady","instance":"i-00000000000000001"}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":0,"instance":"i-00000000000000001","attempt":1,"gpuIds":[1]}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":1,"instance":"i-00000000000000001","attempt":1,"gpuIds":[1]}"#,
    ]
    .join("\n");
    replay(&s, &log);
}

/// The generator must keep producing every feature the properties are about: over the
/// default cases, each shows up in the runs (not just in the scenarios), so a change that
/// makes one unreachable fails here instead of silently weakening the properties.
#[test]
fn random_scenarios_exercise_every_feature() {
    use flotilla::engine::{StatusReason, StopReason};
    use proptest::strategy::ValueTree;
    use std::collections::BTreeMap;
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    let cases = config().cases.min(256);
    for _ in 0..cases {
        let p = params().new_tree(&mut runner).expect("a case").current();
        let s = build(&p);
        let (run, log) = simulate(s.clone());
        let mut note = |k: &'static str, b: bool| *seen.entry(k).or_default() += u32::from(b);
        let jobs = run.engine.jobs();
        let reason = |r: StatusReason| jobs.iter().any(|j| j.status_reason == Some(r));
        note(
            "dependency",
            s.trace.iter().any(|t| !t.spec.depends_on.is_empty()),
        );
        note(
            "N_TO_N",
            s.trace.iter().any(|t| {
                t.spec
                    .depends_on
                    .iter()
                    .any(|d| d.kind == DependencyType::NToN)
            }),
        );
        note(
            "SEQUENTIAL",
            s.trace
                .iter()
                .any(|t| t.spec.array.is_some_and(|a| a.sequential)),
        );
        note(
            "array child ran",
            jobs.iter()
                .any(|j| j.spec.name.contains(':') && !j.attempts.is_empty()),
        );
        note("dependency failed", reason(StatusReason::DependencyFailed));
        note("array child failed", reason(StatusReason::ArrayChildFailed));
        note("timeout", reason(StatusReason::Timeout));
        note("cancelled", reason(StatusReason::Cancelled));
        note("terminated", reason(StatusReason::Terminated));
        note("StopJob", log.contains("\"command\":\"StopJob\""));
        note(
            "host lost",
            jobs.iter().any(|j| {
                j.attempts
                    .iter()
                    .any(|a| matches!(a.status_reason, Some(StatusReason::HostTerminated(_))))
            }),
        );
        note(
            "Spot reclaim",
            log.contains("\"input\":\"InstanceTerminated\""),
        );
        note("retried", jobs.iter().any(|j| j.attempts.len() > 1));
        note(
            "evaluateOnExit EXIT with attempts left",
            jobs.iter().any(|j| {
                !j.spec.evaluate_on_exit.is_empty()
                    && j.status == JobStatus::Failed
                    && !j.attempts.is_empty()
                    && j.attempts.len() < j.spec.attempts as usize
                    && j.last_attempt().is_some_and(|a| a.stop_requested.is_none())
            }),
        );
        note(
            "multi-node succeeded",
            jobs.iter()
                .any(|j| j.spec.node_properties.is_some() && j.status == JobStatus::Succeeded),
        );
        note(
            "multi-node timed out",
            jobs.iter().any(|j| {
                j.spec.node_properties.is_some()
                    && j.last_attempt()
                        .is_some_and(|a| a.stop_requested == Some(StopReason::Timeout))
            }),
        );
        note(
            "fair share with reservation ran",
            s.cluster.job_queues.iter().enumerate().any(|(q, jq)| {
                jq.fairshare_policy
                    .as_ref()
                    .is_some_and(|f| f.compute_reservation > 0)
                    && jobs
                        .iter()
                        .any(|j| j.spec.queue.0 as usize == q && !j.attempts.is_empty())
            }),
        );
        note("queue disabled", reason(StatusReason::QueueDisabled));
        note(
            "Spot price changed",
            log.contains("\"input\":\"SpotPriceChanged\""),
        );
        note(
            "bidPercentage below 100",
            s.cluster
                .compute_environments
                .iter()
                .any(|c| c.market == Market::Spot && c.bid_percentage < 100),
        );
        note(
            "CPU jobs kept off GPU types",
            s.cluster.options.keep_cpu_jobs_off_gpu_instances
                && jobs.iter().any(|j| !j.attempts.is_empty()),
        );
        note(
            "state time limit",
            jobs.iter()
                .any(|j| matches!(j.status_reason, Some(StatusReason::StateTimeLimit(_)))),
        );
        note(
            "multi-node retried",
            jobs.iter()
                .any(|j| j.spec.node_properties.is_some() && j.attempts.len() > 1),
        );
        note(
            "CE disabled",
            s.cluster.compute_environments.iter().any(|c| c.disabled),
        );
        note(
            "UNMANAGED host ran a job",
            log.contains("\"command\":\"AdoptHost\"") && {
                let adopted: Vec<_> = run
                    .engine
                    .instances()
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| {
                        !s.cluster
                            .ce(i.compute_environment)
                            .unmanaged_hosts
                            .is_empty()
                    })
                    .map(|(k, _)| k as u32)
                    .collect();
                jobs.iter()
                    .any(|j| j.attempts.iter().any(|a| adopted.contains(&a.instance.0)))
            },
        );
        note(
            "unplaceable",
            jobs.iter()
                .any(|j| j.status_reason.is_some_and(StatusReason::is_unplaceable)),
        );
    }
    let missing: Vec<_> = seen
        .iter()
        .filter(|(_, &n)| n == 0)
        .map(|(k, _)| *k)
        .collect();
    eprintln!("feature counts over {cases} cases: {seen:?}");
    assert!(missing.is_empty(), "never exercised: {missing:?}");
}
