//! The README's table of results on the shipped SWF logs ("Scheduling policies and
//! backfilling") is what the simulator prints: each row is run again and compared to the
//! precision the table shows, so the table cannot drift from the code.

use flotilla::engine::policy::PolicySpec;
use flotilla::record::Summary;
use std::path::Path;

/// One row of the table: log, policy and the four figures as written.
#[derive(Debug)]
struct Row {
    log: String,
    policy: String,
    cells: [String; 4],
}

/// The rows of the table whose header starts `| log (jobs, processors) | policy |`; a row
/// with an empty first cell belongs to the log above it.
fn readme_rows() -> Vec<Row> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("| log (jobs, processors) | policy |"));
    lines.next().expect("the SWF results table in README.md");
    let mut rows = Vec::new();
    let mut log = String::new();
    for line in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let c: Vec<String> = line.split('|').map(|c| c.trim().to_string()).collect();
        assert_eq!(c.len(), 8, "README row `{line}`: 6 cells expected");
        if !c[1].is_empty() {
            log = c[1].clone();
        }
        let cells = [c[3].clone(), c[4].clone(), c[5].clone(), c[6].clone()];
        rows.push(Row {
            log: log.clone(),
            policy: c[2].clone(),
            cells,
        });
    }
    rows
}

fn scenario_of(log: &str) -> &'static str {
    match log.split_whitespace().next() {
        Some("NASA") => "scenarios/swf-nasa.toml",
        Some("HPC2N") => "scenarios/swf-hpc2n.toml",
        Some("Lublin") => "scenarios/swf-lublin.toml",
        _ => panic!("README names an unknown log `{log}`"),
    }
}

fn policy_of(name: &str) -> &'static str {
    match name {
        "FIFO" => "fifo",
        "EASY" => "easy-backfill",
        "conservative" => "conservative-backfill",
        "SJF + EASY" => "sjf+easy-backfill",
        _ => panic!("README names an unknown policy `{name}`"),
    }
}

/// The number in a cell (`1,956,396 s ¹`, `46.6%`) and the half-width of its last digit.
fn figure(cell: &str) -> (f64, f64) {
    let digits: String = cell
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .filter(|&c| c != ',')
        .collect();
    let value: f64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("no number in `{cell}`"));
    let decimals = digits.split('.').nth(1).map_or(0, str::len) as i32;
    (value, 0.5 * 10f64.powi(-decimals) + 1e-9)
}

fn run(scenario: &str, policy: &str) -> Summary {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut s = flotilla::input::load_scenario(&root.join(scenario), None)
        .unwrap_or_else(|e| panic!("{e}"));
    s.cluster.options.policy = PolicySpec::parse(policy).expect("policy");
    flotilla::record::simulate(s, "readme", None)
        .expect("in-memory run")
        .summary
}

#[test]
fn readme_swf_table_matches_the_simulator() {
    let rows = readme_rows();
    let logs: Vec<&str> = rows.iter().map(|r| scenario_of(&r.log)).collect();
    for log in [
        "scenarios/swf-nasa.toml",
        "scenarios/swf-hpc2n.toml",
        "scenarios/swf-lublin.toml",
    ] {
        for policy in ["FIFO", "EASY"] {
            assert!(
                rows.iter()
                    .any(|r| scenario_of(&r.log) == log && r.policy == policy),
                "README gives no {policy} row for {log}"
            );
        }
        assert!(logs.contains(&log));
    }
    for row in &rows {
        let s = run(scenario_of(&row.log), policy_of(&row.policy));
        let got = [
            s.wait_mean_s,
            s.bounded_slowdown_mean,
            100.0 * s.vcpu_utilization,
            s.jobs_backfilled as f64,
        ];
        for ((cell, got), what) in row.cells.iter().zip(got).zip([
            "mean wait",
            "mean bounded slowdown",
            "utilisation",
            "backfilled",
        ]) {
            let (want, tol) = figure(cell);
            assert!(
                (got - want).abs() <= tol,
                "{} {}: {what} is {got}, README says `{cell}`",
                row.log,
                row.policy
            );
        }
    }
}

#[test]
fn figures_are_read_with_their_precision() {
    assert_eq!(figure("1,956,396 s ¹"), (1_956_396.0, 0.5 + 1e-9));
    let (v, t) = figure("46.6%");
    assert!((v - 46.6).abs() < 1e-12 && (t - 0.05).abs() < 1e-6);
    let (v, t) = figure("11.54");
    assert!((v - 11.54).abs() < 1e-12 && (t - 0.005).abs() < 1e-6);
}
