//! The `flotilla` binary as a user meets it: exit codes, messages, files written.

use std::path::Path;
use std::process::{Command, Output};

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn simulate_writes_the_four_report_files_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("300 total"), "{stdout}");
    assert!(stdout.contains("cost        $"), "{stdout}");
    for f in ["summary.json", "jobs.csv", "instances.csv", "events.jsonl"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    assert_eq!(jobs.lines().count(), 301, "header + one row per job");
}

#[test]
fn strategy_and_trace_overrides_change_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = |strategy: &str| {
        let out = dir.path().join(strategy);
        let o = flotilla(&[
            "simulate",
            "scenarios/quickstart.toml",
            "--strategy",
            strategy,
            "--json",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["strategy"].as_str().unwrap().to_string(),
            v["total_cost_usd"].as_f64().unwrap(),
        )
    };
    let (a, cost_a) = run("BEST_FIT");
    let (b, cost_b) = run("spot_capacity_optimized");
    assert_eq!(
        (a.as_str(), b.as_str()),
        ("BEST_FIT", "SPOT_CAPACITY_OPTIMIZED")
    );
    assert_ne!(
        cost_a, cost_b,
        "strategies must make a cost difference on quickstart"
    );

    // A CPU-only generated trace (quickstart has no GPU types, so GPU jobs would be refused).
    let cpu_trace = dir.path().join("cpu.csv");
    let g = flotilla(&[
        "generate",
        "--jobs",
        "2000",
        "--gpu-share",
        "0",
        "--out",
        cpu_trace.to_str().unwrap(),
    ]);
    assert!(g.status.success(), "{}", text(&g.stderr));
    let out = dir.path().join("trace");
    let o = flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--trace",
        cpu_trace.to_str().unwrap(),
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["jobs_total"], 2000);
}

#[test]
fn bad_input_names_file_line_and_field_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,run_time_s,exit_code,attempts\n\
         a,0,default,1,1024,0,10,0,1\nb,1,default,two,1024,0,10,0,1\n",
    )
    .unwrap();
    let o = flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--trace",
        bad.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{}:3: field `vcpus`", bad.display())),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let o = flotilla(&[
        "validate",
        "scenarios/quickstart.toml",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("ok: scenarios/quickstart.toml"));

    let o = flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--strategy",
        "CHEAPEST",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("BEST_FIT_PROGRESSIVE"),
        "lists the valid strategies"
    );
}

#[test]
fn unplaceable_jobs_are_reported_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.csv");
    std::fs::write(
        &trace,
        "job_id,submit_time_s,queue,vcpus,memory_mib,run_time_s\n\
         giant,0,default,4096,1024,10\nsmall,0,default,1,1024,10\n",
    )
    .unwrap();
    let out = dir.path().join("r");
    let o = flotilla(&[
        "simulate",
        "scenarios/quickstart.toml",
        "--trace",
        trace.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("1 job(s) can never be placed") && err.contains("giant"),
        "{err}"
    );
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"jobs_unplaceable\": 1"), "{summary}");
}

#[test]
fn generate_writes_the_requested_jobs_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    for p in [&a, &b] {
        let o = flotilla(&[
            "generate",
            "--jobs",
            "500",
            "--seed",
            "3",
            "--out",
            p.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let ta = std::fs::read(&a).unwrap();
    assert_eq!(ta, std::fs::read(&b).unwrap());
    assert_eq!(ta.iter().filter(|&&c| c == b'\n').count(), 501);
    let o = flotilla(&["validate", a.to_str().unwrap()]);
    assert!(o.status.success());
}

#[test]
fn every_command_has_useful_help() {
    for (cmd, flag) in [
        ("simulate", "--strategy"),
        ("compare", "--strategies"),
        ("validate", "FILES"),
        ("generate", "--jobs"),
    ] {
        let o = flotilla(&[cmd, "--help"]);
        assert!(o.status.success());
        let h = text(&o.stdout);
        assert!(h.contains(flag), "{cmd} --help lacks {flag}: {h}");
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_flotilla")).exists());
}

#[test]
fn the_cpu_off_gpu_policy_changes_the_gpu_shared_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = dir.path().join(format!("r{}", extra.len()));
        let mut args = vec![
            "simulate",
            "scenarios/gpu-shared.toml",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = flotilla(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["instances_launched"].as_u64().unwrap(),
            v["strategy"].as_str().unwrap().to_string(),
        )
    };
    let (aws_default, label) = run(&[]);
    let (policy, policy_label) = run(&["--keep-cpu-jobs-off-gpu-instances"]);
    assert_eq!(
        (label.as_str(), policy_label.as_str()),
        ("scenario", "scenario-cpu-off-gpu")
    );
    assert!(
        policy > aws_default,
        "CPU jobs can no longer use spare vCPUs of GPU hosts: {policy} vs {aws_default}"
    );
}

#[test]
fn policies_lists_every_builtin_under_its_role() {
    let o = flotilla(&["policies"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let registry = flotilla::engine::policy::Registry::builtin();
    let list = registry.list();
    assert!(list.len() >= 14, "{list:?}");
    for (name, role, about) in list {
        // The policy's line comes after its role's heading and before the next heading.
        let heading = out
            .find(&format!("\n{role}:\n"))
            .unwrap_or_else(|| panic!("{role}: {out}"));
        let section = &out[heading + role.len() + 3..];
        let section = &section[..section.find("\n\n").unwrap_or(section.len())];
        let line = section
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not under {role}: {out}"));
        assert!(line.ends_with(about), "{line}");
    }
}
