//! `flotilla sweep` and `flotilla plan` end to end: the binary on shipped fixtures.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HAND: &str = "tests/fixtures/plan/hand.toml";

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the flotilla binary runs")
}

fn out_dir(tag: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join(tag);
    (t, p)
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let mut rows = vec![r.headers().unwrap().iter().map(String::from).collect()];
    rows.extend(
        r.records()
            .map(|x| x.unwrap().iter().map(String::from).collect()),
    );
    rows
}

fn col(rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let k = rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name}"));
    rows[1..].iter().map(|r| r[k].parse().unwrap()).collect()
}

/// Four 2-vCPU one-hour jobs at t = 0; c5.large ($0.085/h, 2 vCPUs), 60 s boot, 60 s idle.
/// maxvCpus 2: one instance runs them in turn (waits 60, 3660, 7260, 10860 s; ends at
/// 14,460 s, billed to 14,520 s). maxvCpus 4: two instances, two waves (waits 60 and
/// 3,660 s; each billed 7,320 s). maxvCpus 8: four instances, one wave (each billed 3,720 s).
fn hand_costs() -> [f64; 3] {
    let hour = |s: f64| s / 3600.0 * 0.085;
    [hour(14_520.0), 2.0 * hour(7_320.0), 4.0 * hour(3_720.0)]
}

#[test]
fn sweep_csv_matches_the_hand_computation() {
    let (_t, dir) = out_dir("hand");
    let o = flotilla(&["sweep", HAND, "--out", dir.to_str().unwrap(), "--no-report"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // stderr is not a terminal here: no progress bar, nothing at all.
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rows = csv_rows(&dir.join("sweep.csv"));
    assert_eq!(rows.len(), 4, "three points");
    for (got, want) in col(&rows, "total_cost_usd_mean").iter().zip(hand_costs()) {
        assert!((got - want).abs() < 2e-6, "cost {got} vs {want}");
    }
    assert_eq!(col(&rows, "wait_p95_s_mean"), vec![10_860.0, 3_660.0, 60.0]);
    assert_eq!(
        col(&rows, "makespan_s_mean"),
        vec![14_460.0, 7_260.0, 3_660.0]
    );
    // No Spot: every seed gives the same run, so sd 0 and the interval is the mean.
    assert_eq!(col(&rows, "total_cost_usd_sd"), vec![0.0; 3]);
    assert_eq!(
        col(&rows, "wait_p95_s_ci95_hi"),
        vec![10_860.0, 3_660.0, 60.0]
    );
    assert_eq!(col(&rows, "runs"), vec![3.0; 3]);
    let runs = csv_rows(&dir.join("sweep-runs.csv"));
    assert_eq!(runs.len(), 1 + 9);
}

fn plan(extra: &[&str]) -> (Output, Value) {
    let (_t, dir) = out_dir("plan");
    let mut args = vec![
        "plan",
        HAND,
        "--out",
        dir.to_str().unwrap(),
        "--no-report",
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = flotilla(&args);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert!(dir.join("plan.json").is_file());
    (o, v)
}

#[test]
fn plan_picks_the_cheapest_point_that_meets_the_targets() {
    // p95 wait ≤ 2 h: maxvCpus 2 waits 3 h (out); 4 ($0.3457) beats 8 ($0.3513).
    let (o, v) = plan(&["--max-p95-wait", "2h"]);
    assert!(o.status.success());
    let r = &v["recommendation"];
    assert_eq!(r["best"]["point"], 1, "{r}");
    assert_eq!(r["runner_up"]["point"], 2);
    let cost = r["best"]["cost"]["mean"].as_f64().unwrap();
    assert!((cost - hand_costs()[1]).abs() < 2e-6);
    let others = r["others"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0][0]["point"], 0);
    assert!(others[0][1]
        .as_str()
        .unwrap()
        .contains("p95 wait ≤ 2h in only 0/3 runs"));
    // Only one wave of jobs waits under 30 minutes: maxvCpus 8.
    let (_, v) = plan(&["--max-p95-wait", "30m"]);
    assert_eq!(v["recommendation"]["best"]["point"], 2);
    // A deadline of 2h30m rules out maxvCpus 2 (4h01m) but not 4 (2h01m).
    let (_, v) = plan(&["--deadline", "2h30m"]);
    assert_eq!(v["recommendation"]["best"]["point"], 1);
}

#[test]
fn plan_with_no_answer_names_the_closest_point_and_what_it_needs() {
    // Budget $0.345 and p95 wait ≤ 2 h: point 1 meets the wait, but costs $0.3457.
    let (o, v) = plan(&["--max-p95-wait", "2h", "--budget", "0.345"]);
    assert_eq!(o.status.code(), Some(3), "exit status 3: nothing feasible");
    let r = &v["recommendation"];
    assert!(r["best"].is_null());
    assert_eq!(r["closest"][0]["point"], 1, "{r}");
    assert_eq!(r["closest"][1][0], "--budget $0.3457");
    let o = flotilla(&["plan", HAND, "--budget", "0.345", "--confidence", "0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--confidence 0: expected a share"));
}

#[test]
fn sweep_csv_is_identical_with_one_and_two_threads() {
    let grid = "tests/fixtures/plan/quickstart-grid.toml";
    let read = |threads: &str| {
        let (_t, dir) = out_dir(threads);
        let o = flotilla(&[
            "sweep",
            "scenarios/quickstart.toml",
            "--grid",
            grid,
            "--threads",
            threads,
            "--out",
            dir.to_str().unwrap(),
            "--no-report",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let a = std::fs::read(dir.join("sweep.csv")).unwrap();
        let b = std::fs::read(dir.join("sweep-runs.csv")).unwrap();
        (a, b, dir, _t)
    };
    let (one, one_runs, dir, _t1) = read("1");
    let (two, two_runs, _, _t2) = read("2");
    assert!(one == two, "sweep.csv differs between 1 and 2 threads");
    assert!(one_runs == two_runs, "sweep-runs.csv differs");
    // The grid really varies the runs: seeds give different Spot interruptions and the
    // points different costs.
    let rows = csv_rows(&dir.join("sweep.csv"));
    let costs = col(&rows, "total_cost_usd_mean");
    assert_eq!(costs.len(), 6);
    assert!(costs.windows(2).any(|w| w[0] != w[1]));
    assert!(col(&rows, "total_cost_usd_sd").iter().any(|&sd| sd > 0.0));
}

#[test]
fn bad_grids_say_where_and_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    let g = t.path().join("g.toml");
    let out = t.path().join("o");
    let sweep_with = |grid: &str| {
        std::fs::write(&g, grid).unwrap();
        let o = flotilla(&[
            "sweep",
            HAND,
            "--grid",
            g.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let err = sweep_with(
        "[[axis]]\npath = \"compute_environments[spto].idle_timeout_s\"\nvalues = [60]\n",
    );
    assert!(err.contains("no element named `spto` (names: od)"), "{err}");
    let err = sweep_with(
        "[[axis]]\npath = \"compute_environments[od].computeResources.maxvCpus\"\nvalues = [\"many\"]\n",
    );
    assert!(
        err.contains("grid point 0 (maxvCpus=many)") && err.contains("maxvCpus"),
        "{err}"
    );
    let o = flotilla(&[
        "sweep",
        "scenarios/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pass --grid GRID.toml or add a [sweep] section"),
        "{err}"
    );
}

/// Every kind of parameter the issue names reaches the loaded scenario of a point.
#[test]
fn grid_values_reach_the_loaded_scenario() {
    use flotilla::model::{AllocationStrategy, Market};
    use flotilla::plan::grid::Grid;
    use flotilla::plan::run::Base;
    let load = |scenario: &str, grid: &str| {
        let (base, _) = Base::read(Path::new(scenario), None, Default::default()).unwrap();
        let g = Grid::from_table(&toml::from_str(grid).unwrap(), "test").unwrap();
        let pts = g.points();
        let s = base.load_point(&g, &pts[pts.len() - 1]).unwrap();
        (base, s)
    };
    let (base, s) = load(
        "scenarios/quickstart.toml",
        r#"
        [[axis]]
        path = "strategy"
        values = ["SPOT_PRICE_CAPACITY_OPTIMIZED"]
        [[axis]]
        path = "compute_environments[spot].computeResources.instanceTypes"
        values = [["m5"]]
        [[axis]]
        path = "compute_environments[*].idle_timeout_s"
        values = [45]
        [[axis]]
        path = "compute_environments[spot].computeResources.bidPercentage"
        values = [55]
        [[axis]]
        path = "workload.arrival_rate_scale"
        values = [4]
        "#,
    );
    let spot = &s.cluster.compute_environments[0];
    let od = &s.cluster.compute_environments[1];
    assert_eq!(
        spot.allocation_strategy,
        AllocationStrategy::SpotPriceCapacityOptimized
    );
    // A Spot-only strategy becomes BEST_FIT_PROGRESSIVE on On-Demand, as in `compare`.
    assert_eq!(od.market, Market::OnDemand);
    assert_eq!(
        od.allocation_strategy,
        AllocationStrategy::BestFitProgressive
    );
    let families: Vec<&str> = spot
        .instance_types
        .iter()
        .map(|&t| s.cluster.catalog.get(t).family.as_str())
        .collect();
    assert!(
        !families.is_empty() && families.iter().all(|f| *f == "m5"),
        "{families:?}"
    );
    assert_eq!(spot.idle_timeout.as_secs_f64(), 45.0);
    assert_eq!(od.idle_timeout.as_secs_f64(), 45.0);
    assert_eq!(spot.bid_percentage, 55);
    // Arrivals four times as fast: every submit time a quarter of the scenario's.
    let (plain, _) =
        flotilla::input::load_scenario_with_options(&base.path, None, Default::default()).unwrap();
    assert_eq!(plain.trace.len(), s.trace.len());
    for (a, b) in plain.trace.iter().zip(&s.trace) {
        assert_eq!(b.submit.0, (a.submit.0 as f64 / 4.0).round() as u64);
    }
    assert!(plain.trace.last().unwrap().submit.0 > 1000);
    // Fair-share weights by shareIdentifier.
    let (_, s) = load(
        "scenarios/golden/fairshare.toml",
        r#"
        [[axis]]
        path = "scheduling_policies[teams].fairsharePolicy.shareDistribution[b].weightFactor"
        values = [0.25]
        "#,
    );
    let fs = s.cluster.job_queues[0].fairshare_policy.as_ref().unwrap();
    let w: Vec<f64> = fs
        .share_distribution
        .iter()
        .map(|x| x.weight_factor)
        .collect();
    assert_eq!(w, vec![1.0, 0.25]);
}

/// The scheduling policy is a sweep axis like any other; a bad name is refused with its path.
#[test]
fn scheduler_policy_is_a_sweep_axis() {
    use flotilla::plan::grid::Grid;
    use flotilla::plan::run::Base;
    let (base, _) = Base::read(
        Path::new("scenarios/swf-hpc2n.toml"),
        None,
        Default::default(),
    )
    .unwrap();
    let grid = |values: &str| {
        let text = format!("[[axis]]\npath = \"scheduler.policy\"\nvalues = {values}\n");
        Grid::from_table(&toml::from_str(&text).unwrap(), "test").unwrap()
    };
    let g = grid(r#"["fifo", "sjf+easy-backfill+best-fit[headroom=0.1]"]"#);
    let pts = g.points();
    assert_eq!(pts.len(), 2);
    let policies: Vec<String> = pts
        .iter()
        .map(|p| {
            base.load_point(&g, p)
                .unwrap()
                .cluster
                .options
                .policy
                .to_string()
        })
        .collect();
    assert_eq!(policies[0], "fifo");
    assert!(
        policies[1].contains("easy-backfill") && policies[1].contains("headroom"),
        "{policies:?}"
    );
    // End to end: the literature's metrics are sweep columns. HPC2N under FIFO backfills
    // nothing; EASY backfills and cuts the mean bounded slowdown (README's table).
    let (t, dir) = out_dir("policies");
    let g = t.path().join("grid.toml");
    std::fs::write(
        &g,
        "[[axis]]\npath = \"scheduler.policy\"\nvalues = [\"fifo\", \"easy-backfill\"]\n",
    )
    .unwrap();
    let o = flotilla(&[
        "sweep",
        "scenarios/swf-hpc2n.toml",
        "--grid",
        g.to_str().unwrap(),
        "--seeds",
        "1",
        "--out",
        dir.to_str().unwrap(),
        "--no-report",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = csv_rows(&dir.join("sweep.csv"));
    let backfilled = col(&rows, "jobs_backfilled_mean");
    assert!(
        backfilled[0] == 0.0 && backfilled[1] > 0.0,
        "{backfilled:?}"
    );
    let bsld = col(&rows, "bounded_slowdown_mean_mean");
    assert!(bsld[1] < bsld[0] && bsld[1] >= 1.0, "{bsld:?}");
    let resp = col(&rows, "response_mean_s_mean");
    assert!(resp[1] < resp[0], "{resp:?}");
    let bad = grid(r#"["fifo", "easy"]"#);
    let err = base
        .load_point(&bad, &bad.points()[1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("scheduler.policy") && err.contains("easy"),
        "{err}"
    );
}

/// Racing reaches brute force's answer on a real 18-point space with fewer runs, and makes
/// the same runs (same sweep.csv) whatever the thread count.
#[test]
fn racing_agrees_with_brute_force_on_quickstart() {
    let plan = |mode: &str, threads: &str| -> (Value, Vec<u8>) {
        let (_t, dir) = out_dir(mode);
        let o = flotilla(&[
            "plan",
            "scenarios/quickstart.toml",
            "--grid",
            "tests/fixtures/plan/quickstart-space.toml",
            "--max-p95-wait",
            "20m",
            "--search",
            mode,
            "--threads",
            threads,
            "--out",
            dir.to_str().unwrap(),
            "--no-report",
            "--json",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let csv = std::fs::read(dir.join("sweep.csv")).unwrap();
        (serde_json::from_slice(&o.stdout).unwrap(), csv)
    };
    let (grid, _) = plan("grid", "2");
    let (race, race_csv) = plan("racing", "1");
    let (race3, race3_csv) = plan("racing", "3");
    assert_eq!(grid["stats"]["runs"], 144);
    let runs = race["stats"]["runs"].as_u64().unwrap();
    assert!(runs < 144, "racing ran {runs}");
    let best = |v: &Value| v["recommendation"]["best"]["point"].clone();
    assert!(best(&grid).is_u64());
    assert_eq!(best(&grid), best(&race));
    assert_eq!(
        grid["recommendation"]["best"]["cost"]["mean"],
        race["recommendation"]["best"]["cost"]["mean"]
    );
    assert_eq!(race["stats"], race3["stats"]);
    assert!(
        race_csv == race3_csv,
        "racing's sweep.csv differs between 1 and 3 threads"
    );
}
/// On a terminal (a pseudo-terminal from util-linux's `script`) the sweep shows a progress
/// bar counting runs; `--quiet` hides it.
#[test]
fn progress_bar_on_a_terminal_only() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`script` (util-linux) missing"
        );
        eprintln!("SKIPPED: no `script` command to make a terminal");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let run = |extra: &str| {
        let cmd = format!(
            "{} sweep {HAND} --out {} --no-report {extra}",
            env!("CARGO_BIN_EXE_flotilla"),
            t.path().join("o").display()
        );
        let log = t.path().join("tty.log");
        let o = Command::new("script")
            .args(["-qec", &cmd, log.to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.success());
        std::fs::read_to_string(&log).unwrap()
    };
    let shown = run("");
    assert!(shown.contains("/9 runs"), "{shown}");
    let quiet = run("--quiet");
    assert!(!quiet.contains("/9 runs"), "{quiet}");
    assert!(quiet.contains("Pareto front"));
}
