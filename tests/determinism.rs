//! Runs replay byte for byte: the same scenario and seed give the same `events.jsonl`, in
//! process and through the command line, whatever the number of threads `compare` uses; and
//! the report files hold what the summary says.

mod common;

use flotilla::scenario::Scenario;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const QUICKSTART: &str = "scenarios/quickstart.toml";

fn quickstart() -> Scenario {
    flotilla::input::load_scenario(Path::new(QUICKSTART), None).expect("load quickstart")
}

fn event_log(s: Scenario) -> Vec<u8> {
    let mut buf = Vec::new();
    flotilla::record::simulate(s, "scenario", Some(&mut buf)).expect("in-memory run");
    buf
}

fn flotilla(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run flotilla");
    assert!(
        out.status.success(),
        "flotilla {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The summary with its one wall-clock field removed.
fn summary_without_wall(path: &Path) -> Value {
    let mut v: Value = serde_json::from_slice(&read(path)).expect("summary.json is JSON");
    v.as_object_mut()
        .expect("an object")
        .remove("wall_seconds")
        .expect("wall_seconds");
    v
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.records()
        .collect::<Result<_, _>>()
        .expect("well-formed CSV")
}

#[test]
fn same_seed_same_log_other_seed_other_log() {
    let s = quickstart();
    assert_eq!(s.seed, 7, "quickstart's seed");
    assert!(
        s.spot.hazard_scale > 0.0,
        "quickstart has Spot interruptions, so seeds matter"
    );
    let a = event_log(s.clone());
    let b = event_log(s.clone());
    assert!(a.len() > 1000, "a real log");
    assert!(a == b, "same scenario and seed, different events.jsonl");
    let text = String::from_utf8(a.clone()).expect("utf-8");
    assert!(
        text.contains("\"input\":\"InstanceTerminated\""),
        "the hazard reclaims something"
    );

    let mut other = s.clone();
    other.seed = 8;
    let c = event_log(other);
    assert!(
        a != c,
        "seeds 7 and 8 gave the same log although Spot reclaims are drawn"
    );

    // With no hazard (and no price series) nothing is drawn, so the seed must not matter.
    let mut calm = s;
    calm.spot.hazard_scale = 0.0;
    assert!(calm.spot.price_series.is_empty());
    let mut calm8 = calm.clone();
    calm8.seed = 8;
    let (d, e) = (event_log(calm), event_log(calm8));
    assert!(d == e, "the seed changed a run that draws nothing");
    assert!(d != a, "the hazard changed nothing");
}

#[test]
fn compare_is_independent_of_threads_and_matches_simulate() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (one, two, single) = (
        tmp.path().join("t1"),
        tmp.path().join("t2"),
        tmp.path().join("sim"),
    );
    for (dir, threads) in [(&one, "1"), (&two, "2")] {
        flotilla(&[
            "compare",
            QUICKSTART,
            "--strategies",
            "BEST_FIT,SPOT_CAPACITY_OPTIMIZED",
            "--seeds",
            "2",
            "--keep-runs",
            "--threads",
            threads,
            "--out",
            path_str(dir),
        ]);
    }
    // Seeds 7 and 8: the scenario's seed and the next.
    let mut runs: Vec<String> = fs::read_dir(one.join("runs"))
        .expect("runs/")
        .map(|e| {
            e.expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .collect();
    runs.sort();
    assert_eq!(
        runs,
        [
            "BEST_FIT-7",
            "BEST_FIT-8",
            "SPOT_CAPACITY_OPTIMIZED-7",
            "SPOT_CAPACITY_OPTIMIZED-8"
        ]
    );
    for run in &runs {
        let (a, b) = (one.join("runs").join(run), two.join("runs").join(run));
        for file in ["events.jsonl", "jobs.csv", "instances.csv"] {
            let (x, y) = (read(&a.join(file)), read(&b.join(file)));
            assert!(!x.is_empty(), "{run}/{file} is empty");
            assert!(x == y, "{run}/{file} differs between 1 and 2 threads");
        }
        assert_eq!(
            summary_without_wall(&a.join("summary.json")),
            summary_without_wall(&b.join("summary.json")),
            "{run}/summary.json"
        );
    }
    for file in ["compare.csv", "compare-runs.csv"] {
        assert!(
            read(&one.join(file)) == read(&two.join(file)),
            "{file} depends on threads"
        );
    }
    let table = csv_rows(&one.join("compare.csv"));
    assert_eq!(table.len(), 2, "one row per strategy");
    let seeds_differ = read(&one.join("runs/SPOT_CAPACITY_OPTIMIZED-7/events.jsonl"))
        != read(&one.join("runs/SPOT_CAPACITY_OPTIMIZED-8/events.jsonl"));
    assert!(seeds_differ, "compare ran the same seed twice");

    flotilla(&[
        "simulate",
        QUICKSTART,
        "--strategy",
        "SPOT_CAPACITY_OPTIMIZED",
        "--seed",
        "7",
        "--out",
        path_str(&single),
    ]);
    let kept = one.join("runs/SPOT_CAPACITY_OPTIMIZED-7");
    for file in ["events.jsonl", "jobs.csv", "instances.csv"] {
        assert!(
            read(&kept.join(file)) == read(&single.join(file)),
            "{file}: compare's run differs from simulate's"
        );
    }
    let mut from_compare = summary_without_wall(&kept.join("summary.json"));
    let mut from_simulate = summary_without_wall(&single.join("summary.json"));
    assert_eq!(from_simulate["strategy"], "SPOT_CAPACITY_OPTIMIZED");
    assert_eq!(from_simulate["seed"], 7);
    // Both label the run with the strategy; nothing else may differ.
    for v in [&mut from_compare, &mut from_simulate] {
        v.as_object_mut().expect("an object").remove("strategy");
    }
    assert_eq!(from_compare, from_simulate);

    // The library gives the same log as the binary.
    let mut s = quickstart();
    s.apply_strategy(flotilla::model::AllocationStrategy::SpotCapacityOptimized);
    assert!(
        event_log(s) == read(&single.join("events.jsonl")),
        "library and CLI logs differ"
    );
}

#[test]
fn simulate_report_matches_its_summary() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir: PathBuf = tmp.path().join("report");
    flotilla(&["simulate", QUICKSTART, "--out", path_str(&dir)]);
    let summary: Value = serde_json::from_slice(&read(&dir.join("summary.json"))).expect("JSON");
    let keys = [
        "total_cost_usd",
        "on_demand_cost_usd",
        "spot_cost_usd",
        "makespan_s",
        "jobs_succeeded",
        "jobs_failed",
        "wait_mean_s",
        "wait_p50_s",
        "wait_p95_s",
        "wait_p99_s",
        "vcpu_utilization",
        "instances_launched",
        "spot_interruptions",
        "events_processed",
        "wall_seconds",
    ];
    for k in keys {
        assert!(
            summary[k].is_number(),
            "summary.json lacks a number `{k}`: {summary:#}"
        );
    }
    let n = |k: &str| {
        summary[k]
            .as_u64()
            .unwrap_or_else(|| panic!("`{k}` is a count"))
    };
    let f = |k: &str| summary[k].as_f64().expect("a number");

    let trace_jobs = quickstart().trace.len();
    let trace_rows = csv_rows(Path::new("traces/quickstart.csv")).len();
    assert_eq!(trace_jobs, trace_rows);
    assert_eq!(
        csv_rows(&dir.join("jobs.csv")).len(),
        trace_jobs,
        "jobs.csv: one row per job"
    );
    assert_eq!(
        n("jobs_succeeded") + n("jobs_failed") + n("jobs_unfinished"),
        trace_jobs as u64
    );

    let instances = csv_rows(&dir.join("instances.csv"));
    assert_eq!(
        instances.len() as u64,
        n("instances_launched") + n("launch_failures"),
        "instances.csv: one row per launch request"
    );
    assert!(n("instances_launched") > 0 && n("events_processed") > 0);
    assert!(f("wall_seconds") > 0.0, "simulate times the run");
    let parts = f("on_demand_cost_usd") + f("spot_cost_usd");
    assert!(
        (parts - f("total_cost_usd")).abs() < 1e-6,
        "cost parts {parts} vs total"
    );
    assert!(f("wait_p50_s") <= f("wait_p95_s") && f("wait_p95_s") <= f("wait_p99_s"));
    assert!((0.0..=1.0).contains(&f("vcpu_utilization")));

    // events.jsonl: one line per input handled plus one per command.
    let log = String::from_utf8(read(&dir.join("events.jsonl"))).expect("utf-8");
    let inputs = log.lines().filter(|l| l.contains("\"input\":")).count() as u64;
    assert_eq!(inputs, n("events_processed"));
    let interruptions = log
        .lines()
        .filter(|l| l.contains("\"input\":\"InstanceTerminated\""))
        .count();
    assert_eq!(interruptions as u64, n("spot_interruptions"));
}
