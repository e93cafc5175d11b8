//! AWS Batch JSON in and out (issue 3, item 11): `flotilla import-aws`, describe-jobs
//! exports as traces, and `simulate --aws-json`. Fixtures in `tests/fixtures/aws/` are shaped
//! like real AWS CLI output, fields flotilla ignores included.

use flotilla::engine::ArrayLink;
use flotilla::input::aws::{import, load_jobs_json, ImportFiles};
use flotilla::input::{default_catalog, load_scenario, InputError};
use flotilla::model::{DependencyType, JobId, RetryAction, SimDuration, SimTime};
use flotilla::record::aws_json::write_jobs_json;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EPOCH: u64 = 1_700_000_005_000;

fn fixture(name: &str) -> PathBuf {
    Path::new("tests/fixtures/aws").join(name)
}

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `flotilla import-aws` on the good fixtures into `dir/batch.toml`.
fn import_fixtures(dir: &Path, with_jobs: bool) -> PathBuf {
    let out = dir.join("batch.toml");
    let mut args: Vec<String> = vec!["import-aws".into()];
    for (flag, file) in [
        ("--compute-environments", "compute-environments.json"),
        ("--job-queues", "job-queues.json"),
        ("--job-definitions", "job-definitions.json"),
        ("--scheduling-policies", "scheduling-policies.json"),
        ("--jobs", "jobs.json"),
    ] {
        if with_jobs || flag != "--jobs" {
            args.extend([flag.to_string(), fixture(file).display().to_string()]);
        }
    }
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = flotilla(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    out
}

/// A one-job trace CSV in `dir`.
fn one_job_trace(dir: &tempfile::TempDir) -> PathBuf {
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "job_id,submit_time_s,queue,run_time_s\na,0,high,10\n").unwrap();
    csv
}

fn files(ce: &str, q: &str) -> ImportFiles {
    ImportFiles {
        compute_environments: fixture(ce),
        job_queues: fixture(q),
        job_definitions: Some(fixture("job-definitions.json")),
        scheduling_policies: Some(fixture("scheduling-policies.json")),
    }
}

fn import_err(f: &ImportFiles) -> InputError {
    import(f, &default_catalog(250, SimDuration::ZERO)).expect_err("must be rejected")
}

#[test]
fn import_aws_writes_a_scenario_that_loads_and_simulates() {
    let dir = tempfile::tempdir().unwrap();
    let out = import_fixtures(dir.path(), true);
    let s = load_scenario(&out, None).expect("the imported scenario loads");
    assert_eq!(s.epoch_ms, EPOCH);
    let c = &s.cluster;
    let names: Vec<&str> = c
        .compute_environments
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["spot-ce", "ondemand-ce"]);
    assert_eq!(c.compute_environments[0].max_vcpus, 256);
    assert_eq!(c.compute_environments[1].desired_vcpus, 4);
    let default = c.queue(c.find_queue("default").unwrap());
    let order: Vec<&str> = default
        .compute_environment_order
        .iter()
        .map(|&id| c.ce(id).name.as_str())
        .collect();
    assert_eq!(
        order,
        ["spot-ce", "ondemand-ce"],
        "sorted by `order`, ARNs to names"
    );
    assert_eq!(default.job_state_time_limit_actions.len(), 1);
    let fair = c.queue(c.find_queue("fair").unwrap());
    assert!(fair.fairshare_policy.is_some(), "schedulingPolicyArn kept");
    assert_eq!(s.trace.len(), 7, "array children are not rows of their own");
    let render = &s.trace[2];
    assert_eq!(render.spec.name, "render");
    assert_eq!(render.spec.array.map(|a| a.size), Some(3));
    assert_eq!(render.spec.depends_on.len(), 1);

    let run = dir.path().join("run");
    let o = flotilla(&[
        "simulate",
        out.to_str().unwrap(),
        "--json",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["jobs_total"], 10, "7 jobs, 3 of them array children");
}

#[test]
fn import_without_jobs_leaves_a_placeholder_and_takes_a_json_trace() {
    let dir = tempfile::tempdir().unwrap();
    let out = import_fixtures(dir.path(), false);
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("PLACEHOLDER"), "{toml}");
    let e = load_scenario(&out, None).expect_err("the placeholder trace does not exist");
    assert_eq!(e.field.as_deref(), Some("trace"));
    // With a trace given, the same file loads.
    let s = load_scenario(&out, Some(&one_job_trace(&dir))).expect("loads with a trace");
    assert_eq!((s.trace.len(), s.epoch_ms), (1, 0), "no --jobs: no epoch");
    let run = dir.path().join("run");
    let jobs = fixture("jobs.json");
    let o = flotilla(&[
        "simulate",
        out.to_str().unwrap(),
        "--trace",
        jobs.to_str().unwrap(),
        "--aws-json",
        "--json",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["jobs_total"], 10);
    let out: Value =
        serde_json::from_slice(&std::fs::read(run.join("jobs.json")).unwrap()).unwrap();
    let jobs = out["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 10);
    for j in jobs {
        let created = j["createdAt"].as_u64().unwrap();
        assert!(created >= EPOCH, "epoch milliseconds, got {created}");
        for k in [
            "jobArn",
            "jobId",
            "jobName",
            "jobQueue",
            "status",
            "attempts",
            "isCancelled",
        ] {
            assert!(j.get(k).is_some(), "{k} missing in {j}");
        }
        assert!(j["jobQueue"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:batch:"));
    }
    let render = jobs.iter().find(|j| j["jobName"] == "render").unwrap();
    let summary = &render["arrayProperties"]["statusSummary"];
    assert_eq!(render["arrayProperties"]["size"], 3);
    assert_eq!(summary["SUCCEEDED"], 3, "{render}");
    let parent_id = render["jobId"].as_str().unwrap();
    let child = jobs.iter().find(|j| j["jobName"] == "render:1").unwrap();
    assert_eq!(child["jobId"], format!("{parent_id}:1"));
    assert_eq!(child["arrayProperties"]["index"], 1);
    let report = jobs.iter().find(|j| j["jobName"] == "report").unwrap();
    assert_eq!(report["dependsOn"][0]["jobId"], parent_id);
    let a = &report["attempts"][0];
    assert_eq!(a["container"]["exitCode"], 0);
    let (start, stop) = (
        a["startedAt"].as_u64().unwrap(),
        a["stoppedAt"].as_u64().unwrap(),
    );
    assert_eq!(stop - start, 120_000, "report ran 120 s in the export");
    let flaky = jobs.iter().find(|j| j["jobName"] == "flaky").unwrap();
    assert_eq!(flaky["status"], "FAILED");
    assert_eq!(flaky["container"]["exitCode"], 3);
    assert_eq!(
        flaky["retryStrategy"]["evaluateOnExit"][1]["action"],
        "EXIT"
    );
    assert_eq!(flaky["timeout"]["attemptDurationSeconds"], 3600);
}

#[test]
fn bad_aws_json_names_file_path_and_expectation() {
    let e = import_err(&files(
        "compute-environments.json",
        "bad-queues-unknown-ce.json",
    ));
    assert!(e.file.ends_with("bad-queues-unknown-ce.json"), "{e}");
    assert_eq!(
        e.field.as_deref(),
        Some("jobQueues[1].computeEnvironmentOrder[1].computeEnvironment")
    );
    assert!(
        e.message.contains("unknown compute environment `gpu-ce`"),
        "{e}"
    );

    let e = import_err(&files("bad-ce-fargate.json", "job-queues.json"));
    assert_eq!(
        e.field.as_deref(),
        Some("computeEnvironments[1].computeResources.type")
    );
    assert!(
        e.message.contains("FARGATE") && e.message.contains("not supported"),
        "{e}"
    );

    let e = import_err(&files("bad-ce-missing-maxvcpus.json", "job-queues.json"));
    assert_eq!(
        e.field.as_deref(),
        Some("computeEnvironments[1].computeResources.maxvCpus")
    );
    assert!(e.message.contains("missing"), "{e}");

    let e = import_err(&files("bad-ce-wrong-type.json", "job-queues.json"));
    assert_eq!(
        e.field.as_deref(),
        Some("computeEnvironments[0].computeResources.maxvCpus")
    );
    assert!(e.message.contains("expected a whole number") && e.message.contains("\"256\""));

    let mut f = files("compute-environments.json", "job-queues.json");
    f.scheduling_policies = None;
    let e = import_err(&f);
    assert_eq!(e.field.as_deref(), Some("jobQueues[2].schedulingPolicyArn"));
    assert!(e.message.contains("--scheduling-policies"), "{e}");

    // Through the binary: exit code 2, the message on stderr, no panic.
    let (ce, q) = (fixture("bad-ce-fargate.json"), fixture("job-queues.json"));
    let o = flotilla(&[
        "import-aws",
        "--compute-environments",
        ce.to_str().unwrap(),
        "--job-queues",
        q.to_str().unwrap(),
        "--out",
        "/nonexistent-dir-never-written/x.toml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad-ce-fargate.json: field `computeEnvironments[1].computeResources.type`"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let help = text(&flotilla(&["import-aws", "--help"]).stdout);
    assert!(
        help.contains("--compute-environments") && help.contains("--jobs"),
        "{help}"
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("ce.json");
    std::fs::write(&broken, "{\"computeEnvironments\": [\n  {,}\n]}").unwrap();
    let e = import_err(&ImportFiles {
        compute_environments: broken,
        ..files("x", "job-queues.json")
    });
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.contains("not valid JSON"), "{e}");
}

#[test]
fn describe_jobs_import_sorts_maps_dependencies_arrays_and_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = load_scenario(
        &import_fixtures(dir.path(), false),
        Some(&one_job_trace(&dir)),
    )
    .unwrap()
    .cluster;
    let (trace, epoch) = load_jobs_json(&fixture("jobs.json"), &cluster).unwrap();
    assert_eq!(
        epoch, EPOCH,
        "the earliest createdAt, which is not the first entry"
    );
    let names: Vec<&str> = trace.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(
        names,
        ["flaky", "prep", "render", "report", "tiny", "stuck", "fair-job"]
    );
    let submits: Vec<u64> = trace.iter().map(|j| j.submit.0).collect();
    assert_eq!(submits, [0, 5_000, 15_000, 25_000, 35_000, 45_000, 55_000]);

    let (flaky, prep, render, report) = (&trace[0], &trace[1], &trace[2], &trace[3]);
    assert_eq!(flaky.spec.attempts, 2);
    assert_eq!(
        flaky.run_time,
        SimDuration::from_secs(60),
        "the last attempt's run"
    );
    assert_eq!(flaky.exit_code, 3);
    assert_eq!(flaky.spec.timeout, Some(SimDuration::from_secs(3600)));
    assert_eq!(flaky.spec.evaluate_on_exit.len(), 2);
    assert_eq!(flaky.spec.evaluate_on_exit[1].action, RetryAction::Exit);
    assert_eq!((prep.spec.vcpus, prep.spec.memory_mib), (2, 4096));

    assert_eq!(
        render.spec.array.map(|a| (a.size, a.sequential)),
        Some((3, false))
    );
    assert_eq!(render.spec.depends_on.len(), 1);
    assert_eq!(
        render.spec.depends_on[0].job,
        JobId(1),
        "prep's trace index"
    );
    assert_eq!(render.spec.depends_on[0].kind, DependencyType::Standard);
    assert_eq!(
        render.run_time,
        SimDuration::from_millis(553_333),
        "children's mean"
    );
    assert_eq!(render.spec.job_definition, "render:2");
    assert_eq!(
        render.spec.parameters,
        [("scene".to_string(), "castle".to_string())]
    );
    assert_eq!(report.spec.depends_on[0].job, JobId(2));
    assert_eq!(
        (report.spec.vcpus, report.spec.memory_mib),
        (1, 2048),
        "legacy fields"
    );
    assert_eq!(cluster.queue(report.spec.queue).name, "high");

    let (tiny, stuck, fair) = (&trace[4], &trace[5], &trace[6]);
    assert_eq!(
        (tiny.spec.vcpus, tiny.spec.memory_mib),
        (1, 512),
        "0.25 vCPU rounds up"
    );
    assert_eq!(stuck.run_time, SimDuration::ZERO, "never started");
    assert_eq!(stuck.exit_code, 1, "FAILED without an exit code");
    assert_eq!(stuck.cancel_at, Some(SimTime(645_000)));
    assert_eq!(fair.spec.share_identifier.as_deref(), Some("teamA"));
    assert_eq!(fair.spec.scheduling_priority, 5);
}

#[test]
fn bad_describe_jobs_exports_are_rejected_with_the_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = import_fixtures(dir.path(), true);
    let cluster = load_scenario(&out, None).unwrap().cluster;
    let e = load_jobs_json(&fixture("bad-jobs-unknown-dependency.json"), &cluster).unwrap_err();
    assert_eq!(
        e.field.as_deref(),
        Some("jobs[5].dependsOn[0].jobId"),
        "{e}"
    );
    assert!(
        e.message.contains("00000000-dead-4bee-8000-000000000000"),
        "{e}"
    );

    let job = |id: &str, q: &str, created: i64, extra: &str| {
        format!(
            r#"{{"jobId":"{id}","jobName":"{id}","jobQueue":"{q}","createdAt":{created},"status":"SUCCEEDED"{extra}}}"#
        )
    };
    let cases = [
        (
            job("a", "nope", 1, ""),
            "jobs[0].jobQueue",
            "unknown job queue `nope`",
        ),
        (
            job("a", "default", 1, r#","arrayProperties":{"size":1}"#),
            "jobs[0].arrayProperties.size",
            "array size from 2",
        ),
        (
            format!(
                "{},{}",
                job("a", "default", 1, r#","dependsOn":[{"jobId":"b"}]"#),
                job("b", "default", 1, r#","dependsOn":[{"jobId":"a"}]"#)
            ),
            "jobs[0].dependsOn",
            "cycle",
        ),
        (
            format!(
                "{},{}",
                job("a", "default", 1, r#","dependsOn":[{"jobId":"b"}]"#),
                job("b", "default", 2, "")
            ),
            "jobs[0].dependsOn[0].jobId",
            "created after it",
        ),
        (
            job(
                "a",
                "default",
                1,
                r#","container":{"resourceRequirements":[{"type":"VCPU","value":"lots"}]}"#,
            ),
            "jobs[0].container.resourceRequirements[0].value",
            "number of vCPUs",
        ),
        (
            job("a", "default", -5, ""),
            "jobs[0].createdAt",
            "Unix time",
        ),
    ];
    for (i, (jobs, field, msg)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&p, format!("{{\"jobs\":[{jobs}]}}")).unwrap();
        let e = load_jobs_json(&p, &cluster).unwrap_err();
        assert_eq!(e.file, p);
        assert_eq!(e.field.as_deref(), Some(*field), "case {i}: {e}");
        assert!(e.message.contains(msg), "case {i}: {e}");
    }
}

/// Simulates `scenario`, writes its jobs.json, reads it back, and checks that every job that
/// is not an array child comes back with its queue, run time (of the last attempt, in ms),
/// exit code, array size and dependencies.
fn round_trip(scenario: flotilla::scenario::Scenario) -> usize {
    let cluster = scenario.cluster.clone();
    let original: Vec<_> = scenario.trace.clone();
    let epoch = scenario.epoch_ms;
    let run = flotilla::record::simulate(scenario, "scenario", None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.json");
    let mut buf = Vec::new();
    write_jobs_json(&mut buf, &run.engine, epoch).unwrap();
    std::fs::write(&path, buf).unwrap();
    let (back, back_epoch) = load_jobs_json(&path, &cluster).unwrap();
    let jobs: Vec<_> = run
        .engine
        .jobs()
        .iter()
        .filter(|j| !matches!(j.array, Some(ArrayLink::Child { .. })))
        .collect();
    assert_eq!(back.len(), jobs.len());
    assert_eq!(back.len(), original.len());
    assert_eq!(back_epoch, epoch + original[0].submit.0);
    for ((b, j), o) in back.iter().zip(&jobs).zip(&original) {
        assert_eq!(b.spec.name, j.spec.name);
        assert_eq!(b.spec.queue, j.spec.queue);
        assert_eq!(b.submit.0 + original[0].submit.0, o.submit.0);
        assert_eq!(b.spec.array.map(|a| a.size), o.spec.array.map(|a| a.size));
        assert_eq!(b.spec.depends_on, o.spec.depends_on, "{}", b.spec.name);
        if j.array.is_none() {
            let last = j.attempts.last();
            let ran = last.and_then(|a| Some(a.stopped_at?.0 - a.running_at?.0));
            assert_eq!(b.run_time.0, ran.unwrap_or(0), "{}", b.spec.name);
            let code = last.and_then(|a| a.exit_code);
            let failed = j.status == flotilla::model::JobStatus::Failed;
            assert_eq!(
                b.exit_code,
                code.unwrap_or(i32::from(failed)),
                "{}",
                b.spec.name
            );
        }
    }
    back.len()
}

#[test]
fn aws_json_of_quickstart_round_trips_through_load_jobs_json() {
    let s = load_scenario(Path::new("scenarios/quickstart.toml"), None).unwrap();
    assert_eq!(round_trip(s), 300);
    let dir = tempfile::tempdir().unwrap();
    let s = load_scenario(&import_fixtures(dir.path(), true), None).unwrap();
    assert_eq!(round_trip(s), 7, "arrays, dependencies and attempts too");

    // The CLI flag writes the same file into the report directory.
    let run = dir.path().join("q");
    let o = flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--aws-json",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(run.join("jobs.json")).unwrap()).unwrap();
    assert_eq!(v["jobs"].as_array().map(Vec::len), Some(300));
}
