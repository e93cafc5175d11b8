//! Live mode against real Docker daemons (private `dockerd`s started per test; see
//! tests/common/docker.rs). No mocks: every assertion reads the run record (`jobs.csv`,
//! `instances.csv`, `events.jsonl`, `summary.json`) a real run left behind.
#![cfg(feature = "live")]

#[path = "common/docker.rs"]
mod docker;
#[path = "live/support.rs"]
mod support;

use support::*;

/// 50 jobs with dependencies and an array job on two hosts (two private daemons stand in for
/// two machines); the same scenario simulated gives the same outcome.
#[test]
fn fifty_jobs_with_dependencies_and_an_array_on_two_hosts() {
    let Some(daemons) = daemons("fifty", 2) else {
        return;
    };
    let mut rows = vec![row("prep", 0.0, "print prep sleep 100").build()];
    rows.push(
        row("fan", 0.0, "print fan sleep 100")
            .deps("prep")
            .array(5)
            .build(),
    );
    for i in 0..47 {
        let dep = if i >= 4 {
            format!("j{}", i - 4)
        } else {
            String::new()
        };
        let r = row(&format!("j{i}"), 0.0, &format!("print j{i} sleep 100")).deps(&dep);
        rows.push(r.build());
    }
    rows.push(row("reduce", 0.0, "print reduce").deps("fan").build());
    let run = Run::new("fifty", &daemons, &rows);
    let live = run.live();
    let jobs = run.jobs();
    assert_eq!(jobs.len(), 50 + 5, "50 submitted jobs and 5 array children");
    for j in &jobs {
        assert_eq!(j["status"], "SUCCEEDED", "{j:?}");
    }
    let hosts: std::collections::BTreeSet<&str> = jobs
        .iter()
        .map(|j| j["instance_type"].as_str())
        .filter(|h| !h.is_empty())
        .collect();
    assert_eq!(hosts.len(), 2, "both hosts ran jobs: {hosts:?}");
    // Every dependency ended before its dependent started.
    let by_name = |n: &str| jobs.iter().find(|j| j["job_name"] == n).unwrap();
    for i in 4..47 {
        let (a, b) = (by_name(&format!("j{}", i - 4)), by_name(&format!("j{i}")));
        assert!(
            secs(a, "stopped_s") <= secs(b, "starting_s"),
            "j{i} started early"
        );
    }
    for c in 0..5 {
        let child = by_name(&format!("fan:{c}"));
        assert!(secs(by_name("prep"), "stopped_s") <= secs(child, "starting_s"));
        assert!(secs(child, "stopped_s") <= secs(by_name("reduce"), "starting_s"));
    }
    assert_eq!(live.summary.jobs_succeeded, 55);
    assert_no_containers_left(&daemons);
    // The simulation of the same scenario reaches the same outcome.
    let sim = run.simulate();
    assert_eq!(sim.jobs_succeeded, live.summary.jobs_succeeded);
    assert_eq!(sim.jobs_total, live.summary.jobs_total);
}

/// Retries with evaluateOnExit, an OOM kill, a timeout, a job no host can hold, a job whose
/// image does not exist, and the container's security settings, in one run.
#[test]
fn retries_oom_timeout_unplaceable_and_security() {
    let Some(daemons) = daemons("fail", 1) else {
        return;
    };
    let rows = vec![
        row("flaky", 0.0, "fail-before-attempt 3 print ok")
            .attempts(3)
            .build(),
        row("exit4", 0.0, "exit 4").attempts(3).build(),
        row("always", 0.0, "exit 3").attempts(2).build(),
        row("oom", 0.0, "alloc 64 sleep 100").memory(16).build(),
        row("slow", 0.0, "sleep 600000").timeout(60).build(),
        row("huge", 0.0, "print never").vcpus(64).build(),
        row("noimage", 0.0, "print x").definition("missing").build(),
        row("watched", 0.0, "sleep 4000").build(),
    ];
    let run = Run::new("fail", &daemons, &rows);
    let watcher = run.watch_container(&daemons[0], "watched");
    let live = run.live();
    let inspected = watcher.join().expect("watched container inspected");
    let jobs = run.jobs();
    let j = |n: &str| jobs.iter().find(|j| j["job_name"] == n).unwrap().clone();
    assert_eq!(
        (
            j("flaky")["status"].as_str(),
            j("flaky")["attempts"].as_str()
        ),
        ("SUCCEEDED", "3")
    );
    // evaluateOnExit: exit 4 is EXIT (no retry), anything else RETRY.
    assert_eq!(
        (
            j("exit4")["status"].as_str(),
            j("exit4")["attempts"].as_str()
        ),
        ("FAILED", "1")
    );
    assert_eq!(j("always")["attempts"], "2");
    assert_eq!(
        j("always")["status_reason"],
        "Essential container in task exited"
    );
    assert_eq!(j("oom")["status"], "FAILED");
    assert_eq!(
        j("oom")["status_reason"],
        "OutOfMemoryError: Container killed due to memory usage"
    );
    assert_eq!(
        j("slow")["status_reason"],
        "Job attempt duration exceeded timeout"
    );
    let slow_ran = secs(&j("slow"), "stopped_s") - secs(&j("slow"), "running_s");
    assert!(
        (60.0..95.0).contains(&slow_ran),
        "stopped {slow_ran} s after running"
    );
    assert!(j("huge")["status_reason"].starts_with("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"));
    assert_eq!(j("huge")["attempts"], "0");
    assert!(j("noimage")["status_reason"].starts_with("CannotStartContainerError"));
    assert_eq!(j("watched")["status"], "SUCCEEDED");
    let exits = run.events_of("JobExited");
    let flaky: Vec<i64> = exits
        .iter()
        .filter(|e| e["job"] == 0)
        .map(|e| e["exitCode"].as_i64().unwrap())
        .collect();
    assert_eq!(flaky, vec![1, 1, 0], "two failures, then success");
    assert!(exits.iter().any(|e| e["cause"] == "OutOfMemory"));
    assert_eq!(live.summary.jobs_succeeded, 2);
    // The container as Docker ran it.
    let hc = inspected.host_config.expect("host config");
    assert_eq!(hc.privileged, Some(false));
    assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
    assert_eq!(hc.security_opt, Some(vec!["no-new-privileges".to_string()]));
    assert_eq!(hc.nano_cpus, Some(1_000_000_000));
    assert_eq!(hc.memory, Some(64 << 20));
    assert_eq!(hc.memory_swap, hc.memory);
    assert_eq!(hc.network_mode.as_deref(), Some("none"));
    assert_eq!(hc.init, Some(true));
    let labels = inspected.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(
        labels.get("flotilla.job-name").map(String::as_str),
        Some("watched")
    );
    assert_eq!(
        labels.get("flotilla.attempt").map(String::as_str),
        Some("1")
    );
    let logs = run.dir.join("logs/job-00000000");
    assert!(
        logs.join("attempt-1/stderr.log").exists() && logs.join("attempt-3/stdout.log").exists()
    );
    assert_no_containers_left(&daemons);
}

/// The driver killed with SIGKILL mid-run, containers finishing while it is down, then
/// `flotilla live --resume`: every job accounted for exactly once, no attempt started twice.
#[test]
fn killed_driver_resumes_without_losing_or_repeating_jobs() {
    let Some(daemons) = daemons("resume", 1) else {
        return;
    };
    let rows: Vec<String> = (0..16)
        .map(|i| row(&format!("r{i}"), 0.0, &format!("print r{i} sleep 1500")).build())
        .collect();
    let run = Run::new("resume", &daemons, &rows);
    let mut child = run.spawn_cli();
    run.wait_for_events("JobExited", 2);
    kill9(&mut child);
    // Let containers finish while no driver watches.
    std::thread::sleep(std::time::Duration::from_secs(3));
    run.resume_cli();
    let jobs = run.jobs();
    assert_eq!(jobs.len(), 16);
    for j in &jobs {
        assert_eq!(
            (j["status"].as_str(), j["attempts"].as_str()),
            ("SUCCEEDED", "1"),
            "{j:?}"
        );
    }
    // One StartJob per job in the whole record, and one container's logs per job.
    let starts = run.events_of("StartJob");
    assert_eq!(starts.len(), 16, "no attempt started twice");
    for i in 0..16 {
        let d = run.dir.join(format!("logs/job-{i:08}"));
        let attempts = std::fs::read_dir(&d).unwrap().count();
        assert_eq!(attempts, 1, "{}", d.display());
        let out = std::fs::read_to_string(d.join("attempt-1/stdout.log")).unwrap();
        assert_eq!(out.trim(), format!("r{i}"));
    }
    assert!(run.live_json()["resumed"].as_bool().unwrap());
    assert_no_containers_left(&daemons);
}

/// A host's daemon dies mid-run: its attempts fail as on a terminated instance and are
/// retried on the other host.
#[test]
fn host_lost_mid_run_retries_elsewhere() {
    let Some(mut daemons) = daemons("lost", 2) else {
        return;
    };
    let rows: Vec<String> = (0..8)
        .map(|i| row(&format!("l{i}"), 0.0, "sleep 5000").attempts(2).build())
        .collect();
    let run = Run::new("lost", &daemons, &rows);
    let (result, _) = std::thread::scope(|s| {
        let h = s.spawn(|| run.live());
        wait_running_on(&daemons[1], 1);
        kill_dockerd(&mut daemons[1]);
        (h.join().unwrap(), ())
    });
    let jobs = run.jobs();
    for j in &jobs {
        assert_eq!(j["status"], "SUCCEEDED", "{j:?}");
        assert_eq!(
            j["instance_type"], "local/h0",
            "the last attempt ran on the host left"
        );
    }
    assert!(
        jobs.iter().any(|j| j["attempts"] == "2"),
        "some attempt was on the lost host"
    );
    let terminated = run.events_of("InstanceTerminated");
    assert_eq!(terminated.len(), 1);
    let inst = run.instances();
    let lost = inst
        .iter()
        .find(|i| i["instance_type"] == "local/h1")
        .unwrap();
    assert!(!lost["terminated_s"].is_empty(), "{lost:?}");
    assert_eq!(result.summary.jobs_succeeded, 8);
}

/// Hosts with `executor = "process"` (GPU hosts without Docker) run jobs as local processes
/// with `CUDA_VISIBLE_DEVICES` set to their GPUs (none here); needs no daemon.
#[test]
fn process_executor_runs_jobs_as_local_processes() {
    let rows = vec![
        row("p0", 0.0, "").definition("sh").build(),
        row("p1", 0.0, "")
            .definition("sh")
            .parameters("code=3")
            .build(),
    ];
    let run = Run::with_process_host("proc", &rows);
    run.live();
    let jobs = run.jobs();
    let j = |n: &str| jobs.iter().find(|j| j["job_name"] == n).unwrap().clone();
    assert_eq!(j("p0")["status"], "SUCCEEDED");
    assert_eq!(j("p1")["status"], "FAILED");
    let exits = run.events_of("JobExited");
    assert!(exits.iter().any(|e| e["exitCode"] == 3));
    let out = std::fs::read_to_string(run.dir.join("logs/job-00000000/attempt-1/stdout.log"));
    assert_eq!(
        out.unwrap().trim(),
        "gpus=[]",
        "no GPU assigned: none visible"
    );
}

/// Ctrl-C once: no new work, jobs not yet started are cancelled, running ones finish; twice:
/// running ones are terminated. Either way the run ends by itself with a whole record.
#[test]
fn ctrl_c_cancels_waiting_jobs_and_again_terminates_running_ones() {
    let Some(daemons) = daemons("ctrlc", 2) else {
        return;
    };
    let rows: Vec<String> = (0..10)
        .map(|i| row(&format!("c{i}"), 0.0, "sleep 4000").build())
        .collect();
    for presses in [1, 2] {
        let run = Run::new("ctrlc", &daemons[presses - 1..presses], &rows);
        let mut child = run.spawn_cli();
        run.wait_for_events("JobRunning", 2);
        for _ in 0..presses {
            interrupt(&child);
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        assert!(child.wait().unwrap().success(), "the run ends by itself");
        let jobs = run.jobs();
        let count = |status: &str, reason: &str| {
            jobs.iter()
                .filter(|j| j["status"] == status && j["status_reason"] == reason)
                .count()
        };
        let running = if presses == 1 {
            count("SUCCEEDED", "")
        } else {
            count("FAILED", "Terminated by TerminateJob")
        };
        assert_eq!(running, 2, "2 jobs ran on the 2-vCPU host: {jobs:?}");
        assert_eq!(count("FAILED", "Cancelled by CancelJob"), 8, "{jobs:?}");
        assert_no_containers_left(&daemons[presses - 1..presses]);
    }
}

/// A host reached over TCP with mutual TLS (client certificates, verified against the CA);
/// the same daemon asked for with `insecure = true` (plain HTTP to a TLS port) does not
/// answer and is left out at the start, reported, while the run goes on.
#[test]
fn tls_host_runs_jobs_and_an_unreachable_host_is_left_out() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let port = free_port();
    let c = |f: &str| certs.path().join(f).display().to_string();
    let tls_args = [
        "--tlsverify".to_string(),
        format!("--tlscacert={}", c("ca.pem")),
        format!("--tlscert={}", c("server-cert.pem")),
        format!("--tlskey={}", c("server-key.pem")),
        format!("--host=tcp://127.0.0.1:{port}"),
    ];
    let args: Vec<&str> = tls_args.iter().map(String::as_str).collect();
    let Some(daemon) = docker::docker_or_skip_with("tls", &args) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(docker::build_workload_image(&daemon.endpoint))
        .unwrap();
    let hosts = format!(
        "[[compute_environments.hosts]]\nname = \"h0\"\nendpoint = \"tcp://127.0.0.1:{port}\"\n\
         tls = {{ ca = \"{}\", cert = \"{}\", key = \"{}\" }}\nvcpus = 2\nmemory_mib = 512\n\
         [[compute_environments.hosts]]\nname = \"h1\"\nendpoint = \"tcp://127.0.0.1:{port}\"\n\
         insecure = true\n",
        c("ca.pem"),
        c("cert.pem"),
        c("key.pem")
    );
    let rows: Vec<String> = (0..3)
        .map(|i| row(&format!("t{i}"), 0.0, "print over-tls").build())
        .collect();
    let run = Run::with_hosts("tls", 1, &hosts, &rows);
    let live = run.live();
    assert_eq!(live.summary.jobs_succeeded, 3);
    let used: Vec<String> = live.live.hosts.iter().map(|h| h.name.clone()).collect();
    assert_eq!(
        used,
        ["h0"],
        "the insecure connection to a TLS port is left out"
    );
    assert_no_containers_left(std::slice::from_ref(&daemon));
}
