//! The SWF reader (Parallel Workloads Archive) on the shipped logs, and the replay of SWF
//! traces: FIFO on the log's own machine, think time, cluster from header, errors.

use flotilla::engine::Engine;
use flotilla::input::swf::{self, SwfReader};
use flotilla::input::{load_scenario_swf, load_scenario_with_options, ReadOptions};
use flotilla::model::{JobStatus, SimTime};
use flotilla::scenario::Scenario;
use std::io::Write;
use std::path::{Path, PathBuf};

const NASA: &str = "traces/swf/NASA-iPSC-1993-3.1-cln.swf.gz";
const HPC2N: &str = "traces/swf/hpc2n_alea_subset.swf";
const LUBLIN: &str = "traces/swf/lublin_256.swf";

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Streams a shipped file: (jobs, first submit, last submit, header).
fn scan(p: &str) -> (u64, f64, f64, swf::SwfHeader) {
    let path = root(p);
    let mut r = SwfReader::new(swf::open(&path).unwrap(), &path);
    let (mut n, mut first, mut last) = (0, f64::MAX, 0.0f64);
    while let Some(rec) = r.next_record() {
        let rec = rec.unwrap();
        n += 1;
        first = first.min(rec.submit);
        last = last.max(rec.submit);
    }
    (n, first, last, r.header)
}

#[test]
fn shipped_logs_parse_with_the_facts_of_their_headers_and_sources() {
    // Counts from the sources (traces/README.md); spans and start times read off the
    // files' first and last job lines and headers.
    let (n, first, last, h) = scan(NASA);
    assert_eq!((n, first, last), (18_239, 0.0, 7_948_936.0));
    assert_eq!((h.max_procs, h.max_nodes), (Some(128), Some(128)));
    assert_eq!(h.unix_start_time, Some(749_458_803));
    assert_eq!(h.queues.get(&0).map(String::as_str), Some("interactive"));
    assert_eq!(h.queues.get(&1).map(String::as_str), Some("batch"));
    assert_eq!(
        h.other.get("Computer").map(String::as_str),
        Some("Intel iPSC/860")
    );

    let (n, first, last, h) = scan(HPC2N);
    assert_eq!((n, first, last), (3_170, 0.0, 4_950_011.0));
    assert_eq!((h.max_procs, h.max_nodes), (Some(240), Some(240)));
    assert_eq!(h.unix_start_time, Some(1_027_839_845));
    assert_eq!(h.partitions.get(&2).map(String::as_str), Some("ALL"));
    assert_eq!(h.queues.get(&1).map(String::as_str), Some("[fque:1]"));

    let (n, first, last, h) = scan(LUBLIN);
    assert_eq!((n, first, last), (10_000, 5_094.0, 7_711_701.0));
    assert_eq!((h.max_procs, h.max_nodes), (None, Some(256)));
}

#[test]
fn validate_describes_a_bare_swf_file_by_streaming() {
    let d = flotilla::input::validate_file(&root(NASA)).unwrap();
    assert!(
        d.contains("18239 jobs") && d.contains("MaxProcs 128"),
        "{d}"
    );
    assert!(d.contains("from 0 s to 7948936 s"), "{d}");
    let d = flotilla::input::validate_file(&root(LUBLIN)).unwrap();
    assert!(
        d.contains("10000 jobs") && d.contains("MaxNodes 256"),
        "{d}"
    );
}

fn run(s: Scenario) -> Engine {
    flotilla::record::simulate(s, "scenario", None)
        .unwrap()
        .engine
}

fn job<'a>(e: &'a Engine, name: &str) -> &'a flotilla::engine::JobRecord {
    e.jobs().iter().find(|j| j.spec.name == name).unwrap()
}

fn started(e: &Engine, name: &str) -> f64 {
    job(e, name).attempts[0].starting_at.as_secs_f64()
}

fn ended(e: &Engine, name: &str) -> f64 {
    job(e, name).stopped_at.unwrap().as_secs_f64()
}

#[test]
fn hpc2n_replays_fifo_on_its_own_240_processor_machine() {
    let s = flotilla::input::load_scenario(&root("scenarios/swf-hpc2n.toml"), None).unwrap();
    // 3,170 lines, 25 with an unknown run time (status -1) left out.
    assert_eq!(s.trace.len(), 3_145);
    assert_eq!(
        s.epoch_ms, 1_027_839_845_000,
        "UnixStartTime becomes the epoch"
    );
    let e = run(s);
    // Jobs 1, 2, 3 (30 processors each, submitted at 0, 8 and 12 s) fit the empty machine:
    // each starts at its submit time.
    for (name, at) in [("1", 0.0), ("2", 8.0), ("3", 12.0)] {
        assert_eq!(started(&e, name), at, "job {name}");
    }
    assert_eq!(ended(&e, "1"), 31_405.0, "job 1 runs its logged 31,405 s");
    // By hand, from the file: at 384,816 s (job 70's submit, 20 processors) the running
    // jobs are 11 (32 procs, 342,072 + 43,306 → ends 385,378), 15 (8), 61 (32), 62 (8),
    // 64–67 (30 each), 68 (20) and 69 (20): 32 + 8 + 32 + 8 + 120 + 20 + 20 = 240, the
    // whole machine (69 itself fitted exactly, starting at its submit time 384,655). Job
    // 70 waits until the first of them ends: job 11 at 385,378 frees 32 processors.
    assert_eq!(started(&e, "69"), 384_655.0);
    assert_eq!(ended(&e, "11"), 385_378.0);
    assert_eq!(started(&e, "70"), 385_378.0);
    // FIFO on one fixed machine: a job that waits starts exactly when some job ends (the
    // only moment processors come free), never in between.
    let ends: std::collections::BTreeSet<u64> = e
        .jobs()
        .iter()
        .filter_map(|j| j.stopped_at.map(|t| t.0))
        .collect();
    let mut waited = 0;
    for j in e.jobs() {
        let start = j.attempts[0].starting_at;
        assert!(start >= j.submitted_at);
        if start > j.submitted_at {
            waited += 1;
            assert!(
                ends.contains(&start.0),
                "job {} started at {start}",
                j.spec.name
            );
        }
    }
    assert!(waited > 1_000, "a busy log: {waited} jobs waited");
    assert!(e.jobs().iter().all(|j| j.status == JobStatus::Succeeded));
}

/// Writes `text` as `name` in a fresh temporary directory with a scenario `s.toml`
/// (`scenario` is appended to a `trace = "name"` line).
fn scenario_dir(name: &str, text: &[u8], scenario: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), text).unwrap();
    let s = dir.path().join("s.toml");
    std::fs::write(&s, format!("trace = \"{name}\"\n{scenario}")).unwrap();
    (dir, s)
}

const HEADER: &str = "; MaxProcs: 8\n; UnixStartTime: 1000\n";

fn line(job: u32, submit: u32, run: i64, procs: i64, status: i64, prec: i64, think: i64) -> String {
    format!("{job} {submit} -1 {run} {procs} -1 -1 {procs} -1 -1 {status} 1 1 -1 -1 -1 {prec} {think}\n")
}

#[test]
fn bad_lines_are_errors_naming_file_line_and_field_or_skipped_and_counted() {
    let mut text = String::from(HEADER);
    text.push_str(&line(1, 0, 10, 1, 1, -1, -1));
    text.push_str("2 5 -1 10 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1\n"); // 17 fields
    text.push_str("3 6 -1 1x 1 -1 -1 1 -1 -1 1 1 1 -1 -1 -1 -1 -1\n"); // bad run time
    text.push_str(&line(4, 7, 10, 1, 1, -1, -1));
    let (_d, s) = scenario_dir(
        "t.swf",
        text.as_bytes(),
        "[swf]\ncluster_from_header = true\n",
    );
    let e = flotilla::input::load_scenario(&s, None).unwrap_err();
    assert!(e.file.ends_with("t.swf"), "{e}");
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(4), Some("think time")),
        "{e}"
    );
    let skip = ReadOptions {
        skip_bad_lines: true,
    };
    let (sc, _) = load_scenario_with_options(&s, None, skip).unwrap();
    assert_eq!(sc.trace.len(), 2);
    assert_eq!(sc.skipped_lines.count, 2);
    let second = &sc.skipped_lines.first[1];
    assert_eq!(
        (second.line, second.field.as_deref()),
        (Some(5), Some("run time"))
    );
    assert!(second.message.contains("`1x`"), "{second}");
}

#[test]
fn gzip_and_plain_give_the_same_jobs() {
    let plain = std::fs::read(root(HPC2N)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let scen = "[swf]\ncluster_from_header = true\n";
    let (_a, sa) = scenario_dir("h.swf", &plain, scen);
    // A .swf name on gzip bytes: detected by the magic, not the name.
    let (_b, sb) = scenario_dir("h.swf", &gz, scen);
    let (_c, sc) = scenario_dir("h.swf.gz", &gz, scen);
    let a = flotilla::input::load_scenario(&sa, None).unwrap().trace;
    assert_eq!(a.len(), 3_145);
    assert_eq!(a, flotilla::input::load_scenario(&sb, None).unwrap().trace);
    assert_eq!(a, flotilla::input::load_scenario(&sc, None).unwrap().trace);
}

#[test]
fn think_time_submits_a_job_exactly_think_time_after_its_predecessor_ends() {
    // One host of 8 processors. Job 1 takes all 8 for 1,000 s; job 2 (8 procs, submitted
    // at 0) waits for it, runs 1,000 → 1,100. Job 3 names job 2 as preceding job with a
    // think time of 50 s: submitted at 1,150, not at its logged 200. Job 4 follows job 3
    // (ends 1,150 + 30) after 7 s: submitted at 1,187.
    let mut text = String::from(HEADER);
    text.push_str(&line(1, 0, 1000, 8, 1, -1, -1));
    text.push_str(&line(2, 0, 100, 8, 1, -1, -1));
    text.push_str(&line(3, 200, 30, 1, 1, 2, 50));
    text.push_str(&line(4, 210, 5, 1, 1, 3, 7));
    let on = "[swf]\ncluster_from_header = true\nthink_time = true\n";
    let (_d, s) = scenario_dir("t.swf", text.as_bytes(), on);
    let e = run(flotilla::input::load_scenario(&s, None).unwrap());
    assert_eq!(ended(&e, "2"), 1_100.0);
    assert_eq!(job(&e, "3").submitted_at, SimTime(1_150_000));
    assert_eq!(ended(&e, "3"), 1_180.0);
    assert_eq!(job(&e, "4").submitted_at, SimTime(1_187_000));
    // Off (the default): logged submit times.
    let (_d, s) = scenario_dir(
        "t.swf",
        text.as_bytes(),
        "[swf]\ncluster_from_header = true\n",
    );
    let e = run(flotilla::input::load_scenario(&s, None).unwrap());
    assert_eq!(job(&e, "3").submitted_at, SimTime(200_000));
}

#[test]
fn cluster_from_header_builds_the_machine_of_the_log() {
    let hosts = |s: &Scenario| -> Vec<(String, u32, u32)> {
        s.cluster.compute_environments[0]
            .unmanaged_hosts
            .iter()
            .map(|h| (h.name.clone(), h.vcpus, h.memory_mib))
            .collect()
    };
    let s = flotilla::input::load_scenario(&root("scenarios/swf-nasa.toml"), None).unwrap();
    assert_eq!(hosts(&s), vec![("swf-node-0".to_string(), 128, 128 * 1024)]);
    assert_eq!(s.cluster.compute_environments[0].name, "swf-machine");
    assert_eq!(s.cluster.job_queues[0].name, "swf-fifo");
    // MaxNodes only (Lublin): 256 processors.
    let s = flotilla::input::load_scenario(&root("scenarios/swf-lublin.toml"), None).unwrap();
    assert_eq!(hosts(&s)[0].1, 256);
    // node_processors: ⌊240 / 100⌋ = 2 hosts of 100 and one of the remaining 40, with 2
    // vCPUs and 512 MiB per processor.
    let scen = "[swf]\ncluster_from_header = true\nnode_processors = 100\n\
                vcpus_per_processor = 2\nmemory_per_processor_mib = 512\n";
    let (_d, s) = scenario_dir("h.swf", &std::fs::read(root(HPC2N)).unwrap(), scen);
    let s = flotilla::input::load_scenario(&s, None).unwrap();
    let want = [(0, 200, 51_200), (1, 200, 51_200), (2, 80, 20_480)];
    let want: Vec<_> = want
        .iter()
        .map(|&(i, v, m)| (format!("swf-node-{i}"), v, m))
        .collect();
    assert_eq!(hosts(&s), want);
    // The command line's flag does the same for a scenario without [swf].
    let (_d, s) = scenario_dir("h.swf", &std::fs::read(root(HPC2N)).unwrap(), "");
    assert!(
        flotilla::input::load_scenario(&s, None).is_err(),
        "no compute environment"
    );
    let (s, _) = load_scenario_swf(&s, None, ReadOptions::default(), true).unwrap();
    assert_eq!(hosts(&s)[0].1, 240);
}

#[test]
fn statuses_and_sizes_follow_the_documented_choices() {
    // Job 1 completed, 2 failed, 3 cancelled after running 40 s, 4 cancelled while
    // waiting (wait 30 s), 5 a partial execution (left out), 6 no run time (left out).
    let mut text = String::from(HEADER);
    text.push_str(&line(1, 0, 10, 2, 1, -1, -1));
    text.push_str(&line(2, 0, 10, 2, 0, -1, -1));
    text.push_str(&line(3, 0, 40, 2, 5, -1, -1));
    text.push_str("4 0 30 -1 2 -1 -1 2 -1 -1 5 1 1 -1 -1 -1 -1 -1\n");
    text.push_str(&line(5, 0, 10, 2, 3, -1, -1));
    text.push_str(&line(6, 0, -1, 2, 1, -1, -1));
    // Requested memory 4,096 KB per processor on 3 processors: 12 MiB.
    text.push_str("7 0 -1 10 3 -1 -1 3 -1 4096 1 1 1 -1 -1 -1 -1 -1\n");
    let (_d, s) = scenario_dir(
        "t.swf",
        text.as_bytes(),
        "[swf]\ncluster_from_header = true\n",
    );
    let sc = flotilla::input::load_scenario(&s, None).unwrap();
    let names: Vec<&str> = sc.trace.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names, ["1", "2", "3", "4", "7"]);
    let exits: Vec<i32> = sc.trace.iter().map(|j| j.exit_code).collect();
    assert_eq!(exits, [0, 1, 143, 143, 0]);
    assert_eq!(sc.trace[3].cancel_at, Some(SimTime(30_000)));
    assert_eq!(
        (sc.trace[4].spec.vcpus, sc.trace[4].spec.memory_mib),
        (3, 12)
    );
    assert_eq!(
        sc.trace[0].spec.memory_mib,
        2 * 1024,
        "default 1024 MiB per processor"
    );
    assert_eq!(sc.trace[0].spec.timeout, None, "no timeout by default");
    let omit = "[swf]\ncluster_from_header = true\ncancelled = \"omit\"\n";
    let (_d, s) = scenario_dir("t.swf", text.as_bytes(), omit);
    assert_eq!(
        flotilla::input::load_scenario(&s, None)
            .unwrap()
            .trace
            .len(),
        3
    );
}
