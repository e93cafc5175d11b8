//! Queue-order and backfilling policies on hand-checkable machines: one UNMANAGED host of
//! `procs` vCPUs (one vCPU per processor, as an SWF replay), jobs with requested times.

mod common;

use common::{job, job_named, scenario, started};
use flotilla::engine::policy::PolicySpec;
use flotilla::model::*;
use flotilla::scenario::{Scenario, TraceJob};
use proptest::prelude::*;

/// A job of `procs` processors submitted at `at` s, running `run` s, requesting `req` s.
fn j(name: &str, at: u64, procs: u32, run: u64, req: u64) -> TraceJob {
    let mut t = job(name, at, 0, procs, 1, run);
    t.spec.requested_time = Some(SimDuration::from_secs(req));
    t
}

/// One host of `procs` vCPUs behind one queue, with `policy`.
fn machine(procs: u32, policy: &str, trace: Vec<TraceJob>) -> Scenario {
    let host = UnmanagedHost {
        name: "m".into(),
        vcpus: procs,
        memory_mib: 1 << 20,
        gpus: 0,
    };
    let ce = ComputeEnvironment::unmanaged("machine".into(), vec![host]);
    let q = common::queue("q", 1, &[0]);
    let mut s = scenario(Catalog::new(Vec::new()), vec![ce], vec![q], trace);
    s.cluster.options.policy = PolicySpec::parse(policy).expect("policy");
    s
}

fn starts(policy: &str, procs: u32, trace: Vec<TraceJob>) -> flotilla::record::SimRun {
    common::run(machine(procs, policy, trace)).0
}

fn at(run: &flotilla::record::SimRun, name: &str) -> u64 {
    started(run, name).0 / 1000
}

/// 4 processors. A (2, 100 s) runs; B wants all 4 and is reserved at 100; C (2, 200 s)
/// fits now but would hold 2 processors past 100; D (2, 50 s) fits now and ends at 53.
fn easy_case(d_request: u64) -> Vec<TraceJob> {
    vec![
        j("A", 0, 2, 100, 100),
        j("B", 1, 4, 50, 50),
        j("C", 2, 2, 200, 200),
        j("D", 3, 2, 50, d_request),
    ]
}

#[test]
fn easy_backfills_only_what_ends_before_the_head_reservation() {
    let fifo = starts("fifo", 4, easy_case(50));
    let easy = starts("easy-backfill", 4, easy_case(50));
    // FIFO: D waits behind B and C.
    let f: Vec<u64> = ["A", "B", "C", "D"].map(|n| at(&fifo, n)).into();
    assert_eq!(f, [0, 100, 150, 150]);
    // EASY: D starts at once (ends at 53 < 100); B still starts at its reservation, 100; C
    // (would end at 202) is not backfilled.
    let e: Vec<u64> = ["A", "B", "C", "D"].map(|n| at(&easy, n)).into();
    assert_eq!(e, [0, 100, 150, 3]);
    assert!(job_named(&easy, "D").backfilled);
    assert!(!job_named(&easy, "C").backfilled && !job_named(&fifo, "D").backfilled);
    assert_eq!(
        job_named(&easy, "B").first_reservation,
        Some(SimTime(100_000))
    );
    // The estimate is what counts: asking for 200 s, D could delay B, so it waits.
    let over = starts("easy-backfill", 4, easy_case(200));
    assert_eq!(at(&over, "D"), 150);
    assert!(!job_named(&over, "D").backfilled);
}

/// 4 processors. A (3, 100 s) runs; B (3) is reserved at 100 with 1 processor to spare; C
/// wants all 4; D (1, 350 s) fits in the spare processor.
fn conservative_case() -> Vec<TraceJob> {
    vec![
        j("A", 0, 3, 100, 100),
        j("B", 1, 3, 100, 100),
        j("C", 2, 4, 100, 100),
        j("D", 3, 1, 350, 350),
    ]
}

#[test]
fn easy_may_delay_the_second_job_conservative_never_does() {
    let easy = starts("easy-backfill", 4, conservative_case());
    let e: Vec<u64> = ["A", "B", "C", "D"].map(|n| at(&easy, n)).into();
    // EASY protects only B: D takes the spare processor until 353, pushing C from 200 to 353.
    assert_eq!(e, [0, 100, 353, 3]);
    let cons = starts("conservative-backfill", 4, conservative_case());
    let c: Vec<u64> = ["A", "B", "C", "D"].map(|n| at(&cons, n)).into();
    // Conservative: C keeps its reservation at 200; D fits only after C, at 300.
    assert_eq!(c, [0, 100, 200, 300]);
    assert_eq!(
        job_named(&cons, "C").first_reservation,
        Some(SimTime(200_000))
    );
}

#[test]
fn shortest_and_longest_first_order_by_requested_time() {
    // One processor: A runs first; B, C, D wait and then go by requested time.
    let trace = || {
        vec![
            j("A", 0, 1, 10, 10),
            j("B", 1, 1, 30, 30),
            j("C", 2, 1, 10, 10),
            j("D", 3, 1, 20, 20),
        ]
    };
    let sjf = starts("sjf", 1, trace());
    let s: Vec<u64> = ["A", "B", "C", "D"].map(|n| at(&sjf, n)).into();
    assert_eq!(s, [0, 40, 10, 20]);
    let ljf = starts("ljf", 1, trace());
    let l: Vec<u64> = ["A", "B", "C", "D"].map(|n| at(&ljf, n)).into();
    assert_eq!(l, [0, 10, 60, 40]);
}

/// 4 processors, SJF with EASY. A (4, 100 s) runs; B (4, 50 s) is the head and is reserved
/// at 100; then C (1, 10 s) arrives, shorter, and becomes the head.
#[test]
fn under_easy_the_reservation_follows_the_queue_head() {
    let trace = vec![
        j("A", 0, 4, 100, 100),
        j("B", 1, 4, 50, 50),
        j("C", 2, 1, 10, 10),
    ];
    let run = starts("sjf+easy-backfill", 4, trace);
    // C holds the one reservation now and starts at 100; B, reserved at 100 before C came,
    // lost it and starts when C ends. Had B kept its hold, C would have been reserved around
    // it at 150 and B backfilled at 100.
    let s: Vec<u64> = ["A", "B", "C"].map(|n| at(&run, n)).into();
    assert_eq!(s, [0, 110, 100]);
    assert_eq!(
        job_named(&run, "B").first_reservation,
        Some(SimTime(100_000))
    );
    assert_eq!(
        job_named(&run, "C").first_reservation,
        Some(SimTime(100_000))
    );
    assert!(!job_named(&run, "B").backfilled);
}

/// 4 processors, EASY. A (2) asks for 100 s but runs 150; X (2) runs its 120 s; B (4) is
/// reserved at 120, when both should be done; C (2, 100 s) waits behind it.
#[test]
fn a_reservation_held_up_by_an_overrun_keeps_its_claim() {
    let trace = vec![
        j("A", 0, 2, 150, 100),
        j("X", 0, 2, 120, 120),
        j("B", 1, 4, 10, 10),
        j("C", 5, 2, 100, 100),
    ];
    let run = starts("easy-backfill", 4, trace);
    // At 120 X ends but A still runs: B cannot start and when A ends is unknown. B keeps
    // its claim, so C may not take the 2 free processors (it would still run when A ends):
    // B starts when A ends, at 150, and C after B. Giving B's slot up would let C in at 120
    // and hold B back to 220.
    let s: Vec<u64> = ["A", "X", "B", "C"].map(|n| at(&run, n)).into();
    assert_eq!(s, [0, 0, 150, 160]);
    assert_eq!(
        job_named(&run, "B").first_reservation,
        Some(SimTime(120_000))
    );
    assert!(!job_named(&run, "C").backfilled);
}

#[test]
fn backfilling_runs_are_deterministic() {
    for p in [
        "easy-backfill",
        "conservative-backfill",
        "sjf+easy-backfill",
    ] {
        let trace: Vec<TraceJob> = (0..60)
            .map(|i| {
                let procs = 1 + (i * 7 % 16) as u32;
                let run = 10 + (i * 37 % 90);
                j(&format!("j{i}"), i * 3, procs, run, run * 2)
            })
            .collect();
        let (_, a) = common::run(machine(16, p, trace.clone()));
        let (_, b) = common::run(machine(16, p, trace));
        assert_eq!(a, b, "{p}: same trace, same event log");
    }
}

/// Random small workloads: (submit, processors, run, request factor in tenths ≥ 10).
fn workload() -> impl Strategy<Value = Vec<(u64, u32, u64, u64)>> {
    prop::collection::vec((0u64..300, 1u32..=8, 1u64..120, 10u64..30), 2..40)
}

/// Jobs in submission order (index = order, so a prefix is "every job up to this one").
fn trace_of(w: &[(u64, u32, u64, u64)], exact: bool) -> Vec<TraceJob> {
    let mut w = w.to_vec();
    w.sort_by_key(|x| x.0);
    w.iter()
        .enumerate()
        .map(|(i, &(at, procs, run, f))| {
            let req = if exact { run } else { (run * f).div_ceil(10) };
            // Distinct submit times keep "later" unambiguous.
            j(&format!("j{i:02}"), at * 100 + i as u64, procs, run, req)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// EASY: whatever is backfilled, a job that got a reservation as the queue head starts
    /// no later than that reservation (estimates here never fall short).
    #[test]
    fn easy_head_never_starts_after_its_reservation(w in workload()) {
        let run = starts("easy-backfill", 8, trace_of(&w, false));
        for r in run.engine.jobs() {
            if let (Some(res), Some(a)) = (r.first_reservation, r.attempts.first()) {
                prop_assert!(a.starting_at <= res, "{} reserved {:?}, started {:?}", r.spec.name, res, a.starting_at);
            }
        }
        prop_assert_eq!(run.engine.open_jobs(), 0);
    }

    /// Conservative: with exact estimates a job starts at the same time whether or not any
    /// job submitted after it exists, so no job is delayed by a later one; with loose
    /// estimates every job starts no later than its first reservation.
    #[test]
    fn conservative_no_job_is_delayed_by_a_later_one(w in workload(), cut in 1usize..40) {
        let full = starts("conservative-backfill", 8, trace_of(&w, true));
        let cut = cut.min(w.len());
        let mut sorted = w.clone();
        sorted.sort_by_key(|x| x.0);
        let prefix = starts("conservative-backfill", 8, trace_of(&sorted[..cut], true));
        for r in prefix.engine.jobs() {
            prop_assert_eq!(started(&full, &r.spec.name), started(&prefix, &r.spec.name), "{}", r.spec.name);
        }
        let loose = starts("conservative-backfill", 8, trace_of(&w, false));
        for r in loose.engine.jobs() {
            let (Some(res), Some(a)) = (r.first_reservation, r.attempts.first()) else {
                continue;
            };
            prop_assert!(a.starting_at <= res, "{} reserved {:?}, started {:?}", r.spec.name, res, a.starting_at);
        }
    }

    /// Every policy finishes every job (no reservation or order leaves one stranded).
    #[test]
    fn every_policy_finishes_every_job(w in workload()) {
        for p in ["fifo", "sjf", "ljf", "easy-backfill", "conservative-backfill", "sjf+easy-backfill"] {
            let run = starts(p, 8, trace_of(&w, false));
            prop_assert_eq!(run.engine.open_jobs(), 0, "{}", p);
        }
    }
}

#[test]
fn policy_names_are_checked_when_the_scenario_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let text = std::fs::read_to_string("scenarios/swf-hpc2n.toml").unwrap();
    let text = text.replace(
        "../traces",
        &format!("{}/traces", env!("CARGO_MANIFEST_DIR")),
    );
    std::fs::write(&path, format!("{text}\n[scheduler]\npolicy = \"easy\"\n")).unwrap();
    let err = flotilla::input::load_scenario(&path, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("scheduler.policy") && err.contains("unknown policy `easy`"),
        "{err}"
    );
    assert!(
        err.contains("easy-backfill"),
        "lists the known names: {err}"
    );
}
