//! Integration tests of `flotilla::input`: malformed inputs name file, line and field;
//! well-formed inputs come back resolved.

use flotilla::input::{
    default_catalog, load_catalog, load_scenario, load_trace, validate_file, InputError,
    JobDefinitions,
};
use flotilla::model::{AllocationStrategy, Market, SimDuration, SimTime};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const HEADER: &str =
    "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,run_time_s,exit_code,attempts";

/// A scenario with a Spot CE and an On-Demand CE, queues `default` and `high`.
const SCENARIO: &str = r#"name = "t"
seed = 3
trace = "jobs.csv"

[[compute_environments]]
computeEnvironmentName = "spot"
[compute_environments.computeResources]
type = "SPOT"
maxvCpus = 64
instanceTypes = ["c5", "m5.large"]
allocationStrategy = "SPOT_CAPACITY_OPTIMIZED"

[[compute_environments]]
computeEnvironmentName = "od"
[compute_environments.computeResources]
type = "EC2"
maxvCpus = 32
instanceTypes = ["c5"]

[[job_queues]]
jobQueueName = "default"
priority = 1
computeEnvironmentOrder = [
  { order = 2, computeEnvironment = "od" },
  { order = 1, computeEnvironment = "spot" },
]

[[job_queues]]
jobQueueName = "high"
priority = 10
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "od" }]

[[job_definitions]]
jobDefinitionName = "big"
vcpus = 8
memory = 16000
gpus = 0
retryStrategy = { attempts = 3 }
timeout = { attemptDurationSeconds = 600 }
"#;

/// Writes `files` into a fresh directory.
fn dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn trace(rows: &[&str]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// Loads `SCENARIO` with `jobs.csv` = `trace_text` and returns the error.
fn scenario_err(scenario: &str, trace_text: &str) -> (TempDir, InputError) {
    let dir = dir_with(&[("s.toml", scenario), ("jobs.csv", trace_text)]);
    let err = load_scenario(&dir.path().join("s.toml"), None).expect_err("should fail");
    (dir, err)
}

fn assert_at(err: &InputError, file: &Path, line: usize, field: &str) {
    assert_eq!(err.file, file, "{err}");
    assert_eq!(err.line, Some(line), "{err}");
    assert_eq!(err.field.as_deref(), Some(field), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(":{line}: field `{field}`")),
        "{shown}"
    );
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("needle present");
    text[..at].matches('\n').count() + 1
}

const GOOD: &str = "a,0,default,1,1024,0,10,0,1";

#[test]
fn bad_vcpus_in_trace_names_its_line() {
    let t = trace(&[GOOD, GOOD, "c,5,default,x,1024,0,10,0,1"]);
    let (dir, err) = scenario_err(SCENARIO, &t);
    assert_at(&err, &dir.path().join("jobs.csv"), 4, "vcpus");
    assert!(err.message.contains("`x`"), "{err}");
}

#[test]
fn unknown_queue_lists_known_queues() {
    let t = trace(&[GOOD, "b,1,nope,1,1024,0,10,0,1"]);
    let (dir, err) = scenario_err(SCENARIO, &t);
    assert_at(&err, &dir.path().join("jobs.csv"), 3, "queue");
    assert!(
        err.message.contains("nope") && err.message.contains("default, high"),
        "{err}"
    );
}

#[test]
fn negative_run_time_is_rejected() {
    let t = trace(&["b,1,default,1,1024,0,-5,0,1"]);
    let (dir, err) = scenario_err(SCENARIO, &t);
    assert_at(&err, &dir.path().join("jobs.csv"), 2, "run_time_s");
}

#[test]
fn missing_required_column_is_reported_on_the_header() {
    let t = "job_id,submit_time_s,queue,vcpus\na,0,default,1\n";
    let (dir, err) = scenario_err(SCENARIO, t);
    assert_at(&err, &dir.path().join("jobs.csv"), 1, "run_time_s");
}

#[test]
fn toml_syntax_error_reports_its_line() {
    let bad = SCENARIO.replace("maxvCpus = 32", "maxvCpus = = 32");
    let (dir, err) = scenario_err(&bad, &trace(&[GOOD]));
    assert_eq!(err.file, dir.path().join("s.toml"));
    assert_eq!(err.line, Some(line_of(&bad, "maxvCpus = =")), "{err}");
}

#[test]
fn unknown_toml_field_names_its_path() {
    let bad = SCENARIO.replace("maxvCpus = 32", "maxvCpus = 32\nmaxCpus = 3");
    let (dir, err) = scenario_err(&bad, &trace(&[GOOD]));
    let f = "compute_environments[1].computeResources.maxCpus";
    assert_at(
        &err,
        &dir.path().join("s.toml"),
        line_of(&bad, "maxCpus = 3"),
        f,
    );
}

#[test]
fn unknown_compute_environment_in_queue_order() {
    let bad = SCENARIO.replace(
        "computeEnvironment = \"od\" }]",
        "computeEnvironment = \"gone\" }]",
    );
    let (dir, err) = scenario_err(&bad, &trace(&[GOOD]));
    let f = "job_queues[1].computeEnvironmentOrder[0].computeEnvironment";
    assert_at(
        &err,
        &dir.path().join("s.toml"),
        line_of(&bad, "\"gone\""),
        f,
    );
    assert!(err.message.contains("spot, od"), "{err}");
}

#[test]
fn spot_only_strategy_on_ec2_is_rejected() {
    let bad = SCENARIO.replace(
        "instanceTypes = [\"c5\"]",
        "instanceTypes = [\"c5\"]\nallocationStrategy = \"SPOT_PRICE_CAPACITY_OPTIMIZED\"",
    );
    let (dir, err) = scenario_err(&bad, &trace(&[GOOD]));
    let f = "compute_environments[1].computeResources.allocationStrategy";
    assert_at(
        &err,
        &dir.path().join("s.toml"),
        line_of(&bad, "\"SPOT_PRICE"),
        f,
    );
}

#[test]
fn instance_types_matching_nothing() {
    let bad = SCENARIO.replace("[\"c5\", \"m5.large\"]", "[\"c5\", \"z9\"]");
    let (dir, err) = scenario_err(&bad, &trace(&[GOOD]));
    let f = "compute_environments[0].computeResources.instanceTypes[1]";
    assert_at(&err, &dir.path().join("s.toml"), line_of(&bad, "\"z9\""), f);
}

#[test]
fn other_semantic_errors_name_their_fields() {
    let cases = [
        (
            "type = \"EC2\"",
            "type = \"EC2\"\nminvCpus = 40",
            "compute_environments[1].computeResources.minvCpus",
        ),
        (
            "maxvCpus = 64",
            "maxvCpus = 64\nbidPercentage = 0",
            "compute_environments[0].computeResources.bidPercentage",
        ),
        (
            "maxvCpus = 64",
            "maxvCpus = 64\ndesiredvCpus = 65",
            "compute_environments[0].computeResources.desiredvCpus",
        ),
        (
            "computeEnvironmentName = \"od\"",
            "computeEnvironmentName = \"spot\"",
            "compute_environments[1].computeEnvironmentName",
        ),
        (
            "computeEnvironmentName = \"od\"",
            "computeEnvironmentName = \"od\"\ntype = \"FARGATE\"",
            "compute_environments[1].type",
        ),
        (
            "jobQueueName = \"high\"",
            "jobQueueName = \"default\"",
            "job_queues[1].jobQueueName",
        ),
        (
            "[{ order = 1, computeEnvironment = \"od\" }]",
            "[]",
            "job_queues[1].computeEnvironmentOrder",
        ),
        (
            "attempts = 3",
            "attempts = 11",
            "job_definitions[0].retryStrategy.attempts",
        ),
        ("trace = \"jobs.csv\"", "trace = \"missing.csv\"", "trace"),
    ];
    for (from, to, field) in cases {
        let bad = SCENARIO.replacen(from, to, 1);
        assert_ne!(bad, SCENARIO, "{from}");
        let (_dir, err) = scenario_err(&bad, &trace(&[GOOD]));
        assert_eq!(err.field.as_deref(), Some(field), "{err}");
        assert!(err.line.is_some(), "{err}");
    }
}

#[test]
fn more_than_three_ces_per_queue_is_rejected() {
    let order = "[{ order = 1, computeEnvironment = \"od\" }]";
    let four = "[{ order = 1, computeEnvironment = \"od\" }, { order = 2, computeEnvironment = \"spot\" }, \
                { order = 3, computeEnvironment = \"od\" }, { order = 4, computeEnvironment = \"spot\" }]";
    let (_dir, err) = scenario_err(&SCENARIO.replace(order, four), &trace(&[GOOD]));
    assert_eq!(
        err.field.as_deref(),
        Some("job_queues[1].computeEnvironmentOrder"),
        "{err}"
    );
}

#[test]
fn spot_section_is_checked() {
    let with = format!("{SCENARIO}\n[spot]\nhazard_scale = 2.0\nprice_series = \"p.csv\"\n[spot.capacity]\n\"c5.large\" = 4\n");
    let prices = "time_s,instance_type,price_usd_per_hour\n60,c5.large,0.05\n0,c5.large,0.03\n";
    let dir = dir_with(&[
        ("s.toml", &with),
        ("jobs.csv", &trace(&[GOOD])),
        ("p.csv", prices),
    ]);
    let s = load_scenario(&dir.path().join("s.toml"), None).expect("loads");
    assert_eq!(s.spot.hazard_scale, 2.0);
    let id = s.cluster.catalog.find("c5.large").expect("c5.large");
    assert_eq!(s.spot.capacity.get(&id), Some(&4));
    let series = s.spot.price_series.get(&id).expect("series");
    assert_eq!(
        series.iter().map(|p| p.0).collect::<Vec<_>>(),
        [SimTime(0), SimTime(60_000)]
    );

    let bad = with.replace("\"c5.large\" = 4", "\"c5.huge\" = 4");
    let (_dir, err) = scenario_err(&bad, &trace(&[GOOD]));
    assert_eq!(
        err.field.as_deref(),
        Some("spot.capacity.\"c5.huge\""),
        "{err}"
    );
    assert_eq!(err.line, Some(line_of(&bad, "\"c5.huge\"")));
}

#[test]
fn bad_catalog_row_names_line_and_column() {
    let text = "instance_type,family,vcpus,memory_mib,gpus,gpu_model,gpu_memory_mib,on_demand_usd_per_hour,spot_savings_pct,interruption_bucket\n\
                a.large,a,2,4096,0,,0,0.1,50,<5%\n\
                a.xlarge,a,two,8192,0,,0,0.2,50,<5%\n";
    let dir = dir_with(&[("cat.csv", text)]);
    let path = dir.path().join("cat.csv");
    let err = load_catalog(&path, 250, SimDuration::from_secs(90)).expect_err("bad");
    assert_at(&err, &path, 3, "vcpus");
    assert!(
        err.message.contains("expected a whole number of vCPUs"),
        "{err}"
    );

    let half = text.replace("two", "4").replace("0.2,50,<5%", "0.2,50,");
    fs::write(&path, half).expect("write");
    let err = load_catalog(&path, 250, SimDuration::from_secs(90)).expect_err("bad");
    assert_at(&err, &path, 3, "interruption_bucket");
}

#[test]
fn unsorted_submit_times_come_back_sorted_and_stable() {
    let t = trace(&[
        "j0,30,default,1,1024,0,10,0,1",
        "j1,10,default,1,1024,0,10,0,1",
        "j2,30,high,1,1024,0,10,0,1",
        "j3,10.0004,default,1,1024,0,10,0,1",
        "j4,0.0015,default,1,1024,0,10,0,1",
    ]);
    let dir = dir_with(&[("s.toml", SCENARIO), ("jobs.csv", &t)]);
    let s = load_scenario(&dir.path().join("s.toml"), None).expect("loads");
    let names: Vec<&str> = s.trace.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names, ["j4", "j1", "j3", "j0", "j2"]);
    assert_eq!(s.trace[0].submit, SimTime(2));
    assert_eq!(s.trace[1].submit, s.trace[2].submit);
}

#[test]
fn family_selector_excludes_metal() {
    let dir = dir_with(&[("s.toml", SCENARIO), ("jobs.csv", &trace(&[GOOD]))]);
    let s = load_scenario(&dir.path().join("s.toml"), None).expect("loads");
    let cat = &s.cluster.catalog;
    let od = &s.cluster.compute_environments[1];
    let names: Vec<&str> = od
        .instance_types
        .iter()
        .map(|&i| cat.get(i).name.as_str())
        .collect();
    assert!(names.contains(&"c5.large") && names.contains(&"c5.24xlarge"));
    assert!(!names.contains(&"c5.metal"));
    assert_eq!(names.len(), 8);
    let spot = &s.cluster.compute_environments[0];
    assert_eq!(spot.instance_types.len(), 9, "c5 family plus m5.large");
    assert!(
        spot.instance_types.windows(2).all(|w| w[0] < w[1]),
        "catalog order"
    );
    assert_eq!(spot.market, Market::Spot);
    assert_eq!(
        spot.allocation_strategy,
        AllocationStrategy::SpotCapacityOptimized
    );
    assert_eq!(od.allocation_strategy, AllocationStrategy::BestFit);
    let default = &s.cluster.job_queues[0];
    let order: Vec<&str> = default
        .compute_environment_order
        .iter()
        .map(|&c| s.cluster.ce(c).name.as_str())
        .collect();
    assert_eq!(order, ["spot", "od"], "sorted by `order`");
}

#[test]
fn job_definition_defaults_fill_empty_fields() {
    let t = "job_id,submit_time_s,queue,vcpus,memory_mib,run_time_s,job_definition,attempts\n\
             a,0,default,,,10,big,\n\
             b,0,default,2,,10,big,1\n\
             c,0,default,,,10,,\n";
    let dir = dir_with(&[("s.toml", SCENARIO), ("jobs.csv", t)]);
    let s = load_scenario(&dir.path().join("s.toml"), None).expect("loads");
    let a = &s.trace[0].spec;
    assert_eq!(
        (a.vcpus, a.memory_mib, a.gpus, a.attempts),
        (8, 16000, 0, 3)
    );
    assert_eq!(a.timeout, Some(SimDuration::from_secs(600)));
    let b = &s.trace[1].spec;
    assert_eq!((b.vcpus, b.memory_mib, b.attempts), (2, 16000, 1));
    let c = &s.trace[2].spec;
    assert_eq!(
        (c.vcpus, c.memory_mib, c.gpus, c.attempts, c.timeout),
        (1, 2048, 0, 1, None)
    );

    let unknown = t.replace("10,big,1", "10,huge,1");
    let (dir, err) = scenario_err(SCENARIO, &unknown);
    assert_at(&err, &dir.path().join("jobs.csv"), 3, "job_definition");
}

#[test]
fn load_trace_without_job_definitions() {
    let dir = dir_with(&[("s.toml", SCENARIO), ("jobs.csv", &trace(&[GOOD]))]);
    let s = load_scenario(&dir.path().join("s.toml"), None).expect("loads");
    let t = "job_id,submit_time_s,queue,run_time_s,extra\nz,1.5,high,2,ignored\n";
    fs::write(dir.path().join("other.csv"), t).expect("write");
    let jobs = load_trace(
        &dir.path().join("other.csv"),
        &s.cluster,
        &JobDefinitions::empty(),
    )
    .expect("loads");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].submit, SimTime(1500));
    assert_eq!(jobs[0].run_time, SimDuration::from_millis(2000));
    assert_eq!(
        jobs[0].spec.queue,
        s.cluster.find_queue("high").expect("high")
    );
}

#[test]
fn default_catalog_has_90_types() {
    let c = default_catalog(250, SimDuration::from_secs(90));
    assert_eq!(c.len(), 90);
    let m4 = c.get(c.find("m5.large").expect("m5.large"));
    assert_eq!(m4.registered_memory_mib, 7955);
    assert_eq!(m4.boot_delay, SimDuration::from_secs(90));
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn shipped_scenarios_load() {
    for (file, ces, queues) in [
        ("scenarios/quickstart.toml", 2, 2),
        ("scenarios/gpu.toml", 3, 2),
        ("scenarios/bench-1m.toml", 2, 1),
    ] {
        let s = load_scenario(&repo(file), None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.cluster.compute_environments.len(), ces, "{file}");
        assert_eq!(s.cluster.job_queues.len(), queues, "{file}");
        assert!(!s.trace.is_empty(), "{file}");
        assert!(
            s.trace.windows(2).all(|w| w[0].submit <= w[1].submit),
            "{file}"
        );
        let line = validate_file(&repo(file)).unwrap_or_else(|e| panic!("{e}"));
        assert!(line.starts_with("scenario "), "{line}");
    }
}

#[test]
fn trace_override_replaces_the_trace() {
    let dir = dir_with(&[
        ("s.toml", SCENARIO),
        ("jobs.csv", &trace(&[GOOD])),
        ("b.csv", &trace(&[GOOD, GOOD])),
    ]);
    let b = dir.path().join("b.csv");
    let s = load_scenario(&dir.path().join("s.toml"), Some(&b)).expect("loads");
    assert_eq!(s.trace.len(), 2);
    assert_eq!(s.trace_path, b);
    assert_eq!((s.name.as_str(), s.seed), ("t", 3));
}

#[test]
fn validate_file_detects_kinds() {
    let prices = "time_s,instance_type,price_usd_per_hour\n0,c5.large,0.03\n";
    let bare = trace(&["a,0,anyqueue,1,1024,0,10,0,1"]);
    let dir = dir_with(&[
        ("t.csv", &bare),
        ("p.csv", prices),
        ("x.csv", "foo,bar\n1,2\n"),
    ]);
    let t = validate_file(&dir.path().join("t.csv")).expect("trace");
    assert!(t.starts_with("trace: 1 job in 1 queue"), "{t}");
    let p = validate_file(&dir.path().join("p.csv")).expect("prices");
    assert!(p.contains("1 price point"), "{p}");
    let c = validate_file(&repo("catalogs/ec2-us-east-1.csv")).expect("catalog");
    assert!(c.starts_with("catalog: 90 instance types"), "{c}");
    let err = validate_file(&dir.path().join("x.csv")).expect_err("unknown kind");
    assert_eq!(err.line, Some(1));
    let bad = trace(&["a,0,q,1,1024,0,10,0,1", "b,0,q,1,1024,0,10,0,11"]);
    fs::write(dir.path().join("t.csv"), bad).expect("write");
    let err = validate_file(&dir.path().join("t.csv")).expect_err("bad attempts");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(3), Some("attempts")),
        "{err}"
    );
}

#[test]
fn ragged_rows_and_unreadable_files_are_errors() {
    let t = trace(&[GOOD, "b,1,default"]);
    let (_dir, err) = scenario_err(SCENARIO, &t);
    assert_eq!(err.line, Some(3), "{err}");
    let err = validate_file(Path::new("/nonexistent/s.toml")).expect_err("missing");
    assert!(err.line.is_none());
}

#[test]
fn truncated_and_garbled_inputs_never_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let jobs = trace(&[GOOD, "b,1,high,2,4096,0,5,1,2"]);
    fs::write(dir.path().join("jobs.csv"), &jobs).expect("write");
    let s = dir.path().join("s.toml");
    let cut = |text: &str, at: usize| text.get(..at).map(str::to_string);
    for at in (0..SCENARIO.len()).step_by(3) {
        let Some(prefix) = cut(SCENARIO, at) else {
            continue;
        };
        fs::write(&s, prefix).expect("write");
        let _ = load_scenario(&s, None);
    }
    let t = dir.path().join("t.csv");
    for at in 0..jobs.len() {
        let Some(prefix) = cut(&jobs, at) else {
            continue;
        };
        fs::write(&t, prefix.replace('1', "\u{e9}")).expect("write");
        let _ = validate_file(&t);
    }
    fs::write(&t, [0xff, 0xfe, b',', b'\n', 0x80]).expect("write");
    assert!(validate_file(&t).is_err());
}
