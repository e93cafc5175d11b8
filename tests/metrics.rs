//! The literature's metrics (docs/metrics.md) on runs small enough to follow by hand, and
//! `flotilla compare --policies` end to end.

mod common;

use flotilla::engine::policy::PolicySpec;
use flotilla::model::SimDuration;
use flotilla::scenario::Scenario;
use std::process::Command;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// One UNMANAGED host of `vcpus` vCPUs behind one FIFO queue; jobs
/// `(name, user, submit s, vCPUs, run s)`.
fn host_of(vcpus: u32, jobs: &[(&str, &str, u64, u32, u64)]) -> Scenario {
    let trace = jobs
        .iter()
        .map(|&(name, user, submit, v, run)| {
            let mut j = common::job(name, submit, 0, v, 100, run);
            j.spec.user = Some(user.to_string());
            j.spec.requested_time = Some(SimDuration::from_secs(run));
            j
        })
        .collect();
    let ces = vec![common::unmanaged_ce("host", &[("h0", vcpus, 8192, 0)])];
    common::scenario(
        common::small_catalog(),
        ces,
        vec![common::queue("q", 1, &[0])],
        trace,
    )
}

#[test]
fn response_slowdown_bounded_slowdown_and_jain_by_hand() {
    // One 2-vCPU host, four 2-vCPU jobs submitted at 0, one after the other:
    //   x (alice) runs 0-5:   wait 0,  response 5,  slowdown 1, bounded max(1, 5/10) = 1
    //   y (bob)   runs 5-10:  wait 5,  response 10, slowdown 2, bounded max(1, 10/10) = 1
    //   z (carol) runs 10-20: wait 10, response 20, slowdown 2, bounded 20/10 = 2
    //   w (dave)  runs 20-40: wait 20, response 40, slowdown 2, bounded 40/20 = 2
    // and `big` (4 vCPUs) can never be placed: it fails without running, so it is not
    // measured.
    let s = host_of(
        2,
        &[
            ("x", "alice", 0, 2, 5),
            ("y", "bob", 0, 2, 5),
            ("z", "carol", 0, 2, 10),
            ("w", "dave", 0, 2, 20),
            ("big", "erin", 0, 4, 10),
        ],
    );
    let (run, _) = common::run(s);
    let starts: Vec<u64> = ["x", "y", "z", "w"]
        .iter()
        .map(|n| common::started(&run, n).0 / 1000)
        .collect();
    assert_eq!(starts, [0, 5, 10, 20], "FIFO, one job at a time");
    let m = &run.summary;
    assert_eq!(
        (m.jobs_total, m.jobs_measured, m.jobs_unplaceable),
        (5, 4, 1)
    );
    assert!(close(m.wait_mean_s, 35.0 / 4.0), "{}", m.wait_mean_s);
    assert!(
        close(m.response_mean_s, 75.0 / 4.0),
        "{}",
        m.response_mean_s
    );
    assert!(close(m.slowdown_mean, 7.0 / 4.0), "{}", m.slowdown_mean);
    assert!(close(m.bounded_slowdown_mean, 6.0 / 4.0));
    // Per-user mean bounded slowdown [1, 1, 2, 2]: Jain = 6² / (4 × 10) = 0.9. erin has no
    // measured job and does not count.
    assert_eq!(m.users, 4);
    assert!(close(m.user_bounded_slowdown_min, 1.0));
    assert!(close(m.user_bounded_slowdown_max, 2.0));
    assert!(close(m.user_jain_index, 0.9), "{}", m.user_jain_index);
    // No share identifiers: shares are the users.
    assert_eq!(m.shares, 4);
    assert!(close(m.share_jain_index, 0.9));
    assert_eq!(m.jobs_backfilled, 0);
    // UNMANAGED: nothing billed, so no cost per anything; useful work 2 × 40 vCPU-s.
    assert_eq!(m.total_cost_usd, 0.0);
    assert_eq!(
        (m.cost_per_job_usd, m.cost_per_useful_vcpu_hour_usd),
        (0.0, 0.0)
    );
    assert!(close(m.useful_vcpu_hours, 80.0 / 3600.0));

    let users =
        flotilla::record::literature::groups(&run.engine, flotilla::record::literature::user_of);
    let keys: Vec<&str> = users.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["alice", "bob", "carol", "dave", "erin"]);
    assert_eq!((users[4].jobs, users[4].jobs_measured), (1, 0));
    assert!(close(users[3].wait_mean_s, 20.0));
}

#[test]
fn easy_backfill_counts_the_job_it_starts_early() {
    // A 4-vCPU host. a (2 vCPUs, 100 s) starts at 0; b (4 vCPUs) must wait for it and gets
    // the reservation at 100 s; c (2 vCPUs, 10 s, submitted at 2) fits now and ends before
    // 100 s: EASY starts it at 2, ahead of b. FIFO keeps it behind b.
    let jobs = [
        ("a", "u1", 0, 2, 100),
        ("b", "u2", 1, 4, 10),
        ("c", "u3", 2, 2, 10),
    ];
    let fifo = common::run(host_of(4, &jobs)).0;
    let mut s = host_of(4, &jobs);
    s.cluster.options.policy = PolicySpec::parse("easy-backfill").unwrap();
    let easy = common::run(s).0;
    assert_eq!(common::started(&easy, "c").0, 2_000);
    assert_eq!(common::started(&fifo, "c").0, 110_000);
    assert!(common::job_named(&easy, "c").backfilled);
    assert_eq!(easy.summary.jobs_backfilled, 1);
    assert_eq!(fifo.summary.jobs_backfilled, 0);
    assert!(easy.summary.wait_mean_s < fifo.summary.wait_mean_s);
    // c: FIFO waits 108 s (response 118, bounded 11.8); EASY waits 0 (bounded 1).
    assert!(easy.summary.bounded_slowdown_mean < fifo.summary.bounded_slowdown_mean);
}

#[test]
fn cost_per_job_and_per_useful_vcpu_hour_on_a_billed_fleet() {
    // Managed On-Demand s.large: the bill is the run's, divided by the jobs measured and by
    // the useful vCPU-hours (2 jobs × 2 vCPUs × 600 s = 2/3 vCPU-h).
    let trace = vec![
        common::job("p", 0, 0, 2, 1000, 600),
        common::job("q", 0, 0, 2, 1000, 600),
    ];
    let (run, _) = common::run(common::one_queue(trace, 16));
    let m = &run.summary;
    assert!(m.total_cost_usd > 0.0);
    assert_eq!(m.jobs_measured, 2);
    assert!(close(m.useful_vcpu_hours, 2.0 / 3.0));
    assert!(close(m.cost_per_job_usd, m.total_cost_usd / 2.0));
    assert!(close(
        m.cost_per_useful_vcpu_hour_usd,
        m.total_cost_usd * 1.5
    ));
}

fn flotilla(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn compare_policies_on_hpc2n_easy_waits_less_and_backfills() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let o = flotilla(&[
        "compare",
        "scenarios/swf-hpc2n.toml",
        "--policies",
        "fifo,easy-backfill,best-fit[headroom=0.1]+sjf",
        "--no-report",
        "--json",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON rows");
    let rows = rows.as_array().expect("an array");
    let labels: Vec<&str> = rows.iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["fifo", "easy-backfill", "best-fit-headroom-0.1--sjf"]
    );
    let (fifo, easy) = (&rows[0], &rows[1]);
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k}"));
    assert!(f(easy, "wait_mean_s") <= f(fifo, "wait_mean_s"));
    assert!(f(easy, "jobs_backfilled") > 0.0);
    assert_eq!(f(fifo, "jobs_backfilled"), 0.0);
    for r in rows {
        assert_eq!(r["runs"], 1);
        assert!(f(r, "bounded_slowdown_mean") >= 1.0);
        let j = f(r, "user_jain_index");
        assert!(j > 0.0 && j <= 1.0, "{j}");
        // UNMANAGED: nothing billed.
        assert_eq!(f(r, "cost_per_job_usd"), 0.0);
    }
    let csv = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("policy,runs,wait_mean_s,response_mean_s,slowdown_mean,"));
    assert!(header.contains("bounded_slowdown_mean,vcpu_utilization,makespan_s,jobs_backfilled"));
    assert_eq!(csv.lines().count(), 4);
    let runs = std::fs::read_to_string(out.join("compare-runs.csv")).unwrap();
    assert!(runs.starts_with("policy,seed,"));
    assert_eq!(runs.lines().count(), 4);
}

#[test]
fn compare_policies_rejects_bad_lists_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    let out = out.to_str().unwrap();
    for (list, says) in [
        ("fifo,no-such-policy", "unknown policy `no-such-policy`"),
        ("fifo,best-fit[headroom=0.1", "`[` without `]`"),
        ("fifo,,sjf", "an empty policy"),
        ("fifo,fifo", "`fifo` is `fifo` again"),
    ] {
        let o = flotilla(&[
            "compare",
            "scenarios/swf-hpc2n.toml",
            "--policies",
            list,
            "--no-report",
            "--out",
            out,
        ]);
        assert_eq!(o.status.code(), Some(2), "{list}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{list}: {err}");
        assert!(!err.contains("panicked"), "{list}: {err}");
    }
    let o = flotilla(&[
        "compare",
        "scenarios/quickstart.toml",
        "--policies",
        "fifo",
        "--strategies",
        "BEST_FIT",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"));
}
