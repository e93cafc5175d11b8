//! `flotilla diff` (library part): run records written by the simulator, compared.

use flotilla::model::AllocationStrategy;
use flotilla::record::diff::{self, MatchedBy, RunDiff};
use flotilla::record::{self, SimRun};
use std::fs;
use std::path::Path;

/// Simulates the quickstart scenario (300 jobs) with `strategy` and writes its report, with
/// its summary, into `dir`.
fn simulate(strategy: AllocationStrategy, dir: &Path) -> SimRun {
    let mut s = flotilla::input::load_scenario(Path::new("scenarios/quickstart.toml"), None)
        .expect("quickstart loads");
    s.apply_strategy(strategy);
    let run = record::simulate_to_dir(s, strategy.as_str(), dir).expect("run");
    record::write_summary(dir, &run.summary).expect("summary.json");
    run
}

fn diff_dirs(a: &Path, b: &Path) -> RunDiff {
    let a = diff::load_run(a).expect("run A loads");
    let b = diff::load_run(b).expect("run B loads");
    diff::diff(&a, &b)
}

fn text(d: &RunDiff, rows: usize) -> String {
    let mut out = Vec::new();
    diff::write_text(d, &mut out, rows).expect("write");
    String::from_utf8(out).expect("UTF-8")
}

/// Rewrites one cell of a CSV file (`line` 1-based, the header being line 1).
fn set_cell(path: &Path, line: usize, column: &str, value: &str) {
    let body = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = body.lines().map(str::to_string).collect();
    let col = lines[0]
        .split(',')
        .position(|c| c == column)
        .expect("column");
    let mut cells: Vec<&str> = lines[line - 1].split(',').collect();
    cells[col] = value;
    lines[line - 1] = cells.join(",");
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// The RUNNING time of a job's last attempt in a simulated run, in milliseconds.
fn running_ms(run: &SimRun, job: usize) -> Option<u64> {
    let j = &run.engine.jobs()[job];
    j.last_attempt().and_then(|a| a.running_at).map(|t| t.0)
}

#[test]
fn a_run_diffed_with_itself_has_no_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let run = simulate(AllocationStrategy::BestFit, &dir);
    let d = diff_dirs(&dir, &dir);

    let s = &d.job_stats;
    assert_eq!(s.matched_by, MatchedBy::JobId);
    assert_eq!(s.matched as u64, run.summary.jobs_total);
    assert_eq!((s.only_in_a, s.only_in_b), (0, 0));
    assert_eq!(
        (s.host_differs, s.attempts_differ, s.status_differs),
        (0, 0, 0)
    );
    let ran = run
        .engine
        .jobs()
        .iter()
        .filter(|j| j.first_running_at().is_some());
    assert_eq!(s.start.jobs, ran.count(), "every job that ran is counted");
    assert_eq!(s.start.max_abs_s, 0.0);
    assert_eq!(s.end.max_abs_s, 0.0);
    for j in &d.jobs {
        assert!(!j.differs(), "{j:?}");
        assert_eq!(j.a, j.b);
        assert!(j.start_delta_s.is_none_or(|x| x == 0.0), "{j:?}");
        assert!(j.end_delta_s.is_none_or(|x| x == 0.0), "{j:?}");
    }
    let m = &d.summary;
    for c in [
        m.makespan_s,
        m.wait_mean_s,
        m.wait_p50_s,
        m.wait_p95_s,
        m.wait_p99_s,
        m.jobs_succeeded,
        m.jobs_failed,
        m.total_cost_usd,
    ] {
        assert_eq!(c.delta, 0.0, "{c:?}");
    }
    assert_eq!(m.makespan_s.a, run.summary.makespan_s);
    assert!(text(&d, 20).contains("no matched job differs"));
}

#[test]
fn two_strategies_differ_by_their_summaries_and_job_times() {
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    let a = simulate(AllocationStrategy::BestFit, &da);
    let b = simulate(AllocationStrategy::BestFitProgressive, &db);
    let d = diff_dirs(&da, &db);

    let (sa, sb) = (&a.summary, &b.summary);
    assert_eq!(d.summary.makespan_s.a, sa.makespan_s);
    assert_eq!(d.summary.makespan_s.b, sb.makespan_s);
    assert_eq!(d.summary.makespan_s.delta, sb.makespan_s - sa.makespan_s);
    assert_eq!(
        d.summary.total_cost_usd.delta,
        sb.total_cost_usd - sa.total_cost_usd
    );
    assert_eq!(d.summary.wait_p95_s.delta, sb.wait_p95_s - sa.wait_p95_s);
    // The README's quickstart table: BEST_FIT costs more than BEST_FIT_PROGRESSIVE.
    assert!(d.summary.total_cost_usd.delta < 0.0, "{:?}", d.summary);
    assert_eq!(d.a.strategy, "BEST_FIT");
    assert_eq!(d.b.strategy, "BEST_FIT_PROGRESSIVE");

    // Per job: start delta = RUNNING in B − RUNNING in A, from the engines' own records.
    assert_eq!(d.job_stats.matched, a.engine.jobs().len());
    let mut max_ms = 0u64;
    for (i, j) in d.jobs.iter().enumerate() {
        assert_eq!(j.a.job_id, i.to_string());
        let (ra, rb) = (running_ms(&a, i), running_ms(&b, i));
        let expected = ra.zip(rb).map(|(x, y)| (y as f64 - x as f64) / 1000.0);
        assert_eq!(j.start_delta_s, expected, "job {i}");
        if let (Some(x), Some(y)) = (ra, rb) {
            max_ms = max_ms.max(x.abs_diff(y));
        }
    }
    assert!(max_ms > 0, "the strategies place jobs differently");
    assert_eq!(d.job_stats.start.max_abs_s, max_ms as f64 / 1000.0);
    assert!(d.job_stats.host_differs > 0);
    let hosts = d
        .jobs
        .iter()
        .filter(|j| j.a.instance_type != j.b.instance_type);
    assert_eq!(d.job_stats.host_differs, hosts.count());

    let report = text(&d, 3);
    assert!(report.contains("3 of "), "{report}");
    assert!(report.contains("makespan (s)"), "{report}");
}

#[test]
fn jobs_are_paired_by_name_when_ids_differ_and_unpaired_ones_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    simulate(AllocationStrategy::BestFit, &da);
    simulate(AllocationStrategy::BestFit, &db);
    // B gets its own ids (as a driver with other ids would) and loses its last job.
    let csv = db.join("jobs.csv");
    let body = fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = body.lines().map(|l| format!("x-{l}")).collect();
    lines[0] = body.lines().next().unwrap().to_string();
    let dropped = lines.pop().unwrap();
    fs::write(&csv, lines.join("\n") + "\n").unwrap();

    let d = diff_dirs(&da, &db);
    assert_eq!(d.job_stats.matched_by, MatchedBy::JobName);
    assert_eq!(d.job_stats.matched, 299);
    assert_eq!((d.job_stats.only_in_a, d.job_stats.only_in_b), (1, 0));
    let name = dropped.split(',').nth(1).unwrap();
    assert_eq!(d.only_in_a[0].job_name, name);
    assert!(d.jobs.iter().all(|j| !j.differs()));
    assert!(text(&d, 20).contains("only in A: 1 jobs"));

    let mut out = Vec::new();
    diff::write_jobs_csv(&d, &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(
        out.lines().count(),
        1 + 300,
        "header, 299 paired, 1 unpaired"
    );
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with(&format!("a_only,{name},")));
    let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    assert_eq!(header, diff::JOBS_CSV_COLUMNS);
}

#[test]
fn a_bad_number_in_jobs_csv_names_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    simulate(AllocationStrategy::BestFit, &dir);
    let csv = dir.join("jobs.csv");
    set_cell(&csv, 4, "running_s", "12x");

    let e = diff::load_run(&dir).expect_err("bad number");
    assert_eq!(e.file, csv);
    assert_eq!(e.line, Some(4));
    assert_eq!(e.field.as_deref(), Some("running_s"));
    let msg = e.to_string();
    assert!(msg.contains("jobs.csv:4: field `running_s`"), "{msg}");
    assert!(msg.contains("`12x`"), "{msg}");
}

#[test]
fn a_missing_column_is_named_on_the_header_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    simulate(AllocationStrategy::BestFit, &dir);
    let csv = dir.join("jobs.csv");
    set_cell(&csv, 1, "attempts", "tries");

    let e = diff::load_run(&dir).expect_err("missing column");
    assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("attempts")));
}

#[test]
fn a_missing_summary_names_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    simulate(AllocationStrategy::BestFit, &dir);
    let summary = dir.join("summary.json");
    fs::remove_file(&summary).unwrap();

    let e = diff::load_run(&dir).expect_err("no summary.json");
    assert_eq!(e.file, summary);
    assert!(
        e.to_string().starts_with(&summary.display().to_string()),
        "{e}"
    );
}

#[test]
fn a_summary_field_of_the_wrong_type_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    simulate(AllocationStrategy::BestFit, &dir);
    let summary = dir.join("summary.json");
    let body = fs::read_to_string(&summary).unwrap();
    let body = body.replace("\"makespan_s\": ", "\"makespan_s\": \"soon\", \"x\": ");
    fs::write(&summary, body).unwrap();

    let e = diff::load_run(&dir).expect_err("makespan_s is a string");
    assert_eq!(e.file, summary);
    assert_eq!(e.field.as_deref(), Some("makespan_s"));
}
