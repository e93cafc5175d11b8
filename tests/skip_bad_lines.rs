//! `--skip-bad-lines`: malformed trace and price series rows are counted, reported and
//! left out instead of stopping the run; without the flag the first one stops it.

use flotilla::input::{load_scenario_with_options, validate_file_with_options, ReadOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SKIP: ReadOptions = ReadOptions {
    skip_bad_lines: true,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The first 20 rows of the quickstart trace with 3 bad rows put in: line 5 has a bad
/// vCPU count, line 9 a cell too few, line 14 a negative run time.
fn bad_trace(dir: &Path) -> PathBuf {
    let src = std::fs::read_to_string(root().join("traces/quickstart.csv")).unwrap();
    let mut lines: Vec<String> = src.lines().take(21).map(str::to_string).collect();
    lines.insert(4, "bad-1,1.0,default,x,2048,0,60,0,1".into());
    lines.insert(8, "bad-2,1.0,default,2,2048,0,60,0".into());
    lines.insert(13, "bad-3,1.0,default,2,2048,0,-60,0,1".into());
    let p = dir.join("bad.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

#[test]
fn a_bad_line_stops_the_run_without_the_flag_and_is_skipped_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let trace = bad_trace(dir.path());
    let out = dir.path().join("run");
    let args = [
        "simulate",
        "scenarios/quickstart.toml",
        "--trace",
        trace.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = flotilla(&args);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("bad.csv:5:") && err.contains("vcpus"), "{err}");

    let mut with = args.to_vec();
    with.push("--skip-bad-lines");
    let o = flotilla(&with);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("skipped 3 malformed line(s)"), "{err}");
    for line in ["bad.csv:5:", "bad.csv:9:", "bad.csv:14:"] {
        assert!(err.contains(line), "{line} in {err}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["skipped_lines"].as_u64(), Some(3));
    assert_eq!(
        summary["jobs_total"].as_u64(),
        Some(20),
        "the 20 good rows ran"
    );
}

#[test]
fn validate_reports_the_count_of_a_bare_trace() {
    let dir = tempfile::tempdir().unwrap();
    let trace = bad_trace(dir.path());
    let t = trace.to_str().unwrap();
    let o = flotilla(&["validate", t]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("bad.csv:5:"),
        "{}",
        text(&o.stderr)
    );
    let o = flotilla(&["validate", "--skip-bad-lines", t]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("skipped 3"), "{}", text(&o.stderr));
    let (what, skipped) = validate_file_with_options(&trace, SKIP).unwrap();
    assert_eq!(skipped.count, 3, "{what}");
    assert!(what.contains("20 jobs in 1 queue"), "{what}");
}

#[test]
fn a_skipped_rows_dependents_are_skipped_with_it_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("deps.csv");
    std::fs::write(
        &trace,
        "job_id,submit_time_s,queue,vcpus,run_time_s,depends_on\n\
         a,0,default,1,10,\n\
         b,1,default,zero,10,\n\
         c,2,default,1,10,b\n\
         d,3,default,1,10,c;a\n\
         e,4,default,1,10,a\n\
         f,5,default,1,10,zz\n\
         g,6,nowhere,1,10,\n",
    )
    .unwrap();
    let s = root().join("scenarios/quickstart.toml");
    let e = load_scenario_with_options(&s, Some(&trace), ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("deps.csv:3:"), "{e}");
    let (sc, _) = load_scenario_with_options(&s, Some(&trace), SKIP).unwrap();
    let names: Vec<&str> = sc.trace.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names, ["a", "e"]);
    assert_eq!(
        sc.skipped_lines.count, 5,
        "b, c and d that wait for it, f and g"
    );
    assert_eq!(
        sc.trace[1].spec.depends_on[0].job.0, 0,
        "e still waits for a"
    );
}

#[test]
fn bad_price_series_rows_are_skipped_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("traces/quickstart.csv"),
        dir.path().join("t.csv"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.csv"),
        "time_s,instance_type,price_usd_per_hour\n\
         0,c5.large,0.03\n\
         60,c5.large,-1\n\
         120,c5.nope,0.04\n\
         180,c5.large\n\
         240,c5.large,0.05\n",
    )
    .unwrap();
    let scenario = std::fs::read_to_string(root().join("scenarios/quickstart.toml"))
        .unwrap()
        .replace("../traces/quickstart.csv", "t.csv");
    let scenario = if scenario.contains("[spot]") {
        scenario.replace("[spot]", "[spot]\nprice_series = \"p.csv\"")
    } else {
        scenario + "\n[spot]\nprice_series = \"p.csv\"\n"
    };
    let p = dir.path().join("s.toml");
    std::fs::write(&p, scenario).unwrap();
    let e = load_scenario_with_options(&p, None, ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("p.csv:3:"), "{e}");
    let (s, _) = load_scenario_with_options(&p, None, SKIP).unwrap();
    assert_eq!(s.skipped_lines.count, 3);
    let points: usize = s.spot.price_series.values().map(Vec::len).sum();
    assert_eq!(points, 2);
}

#[test]
fn the_skipping_fuzz_entry_keeps_only_linkable_jobs() {
    let data = b"job_id,submit_time_s,queue,vcpus,run_time_s,depends_on\n\
        a,0,default,1,10,\n\
        b,1,default,x,10,\n\
        c,2,default,1,10,b\n\
        d,3,gpu,1,10,a\n";
    let kept = flotilla::input::fuzzing::trace_csv_skipping(data).expect("skips, never fails");
    assert_eq!(kept, 2, "a and d");
    assert!(flotilla::input::fuzzing::trace_csv_skipping(b"no header here\n\x00").is_err());
}
