//! Measured Spot traces: the reader on every shipped file, replay in the simulation
//! (availability blocks launches, preemption ticks reclaim with notice, offset and looping,
//! determinism, the measured trace replacing the hazard model) and the fitted rate, under
//! both readings of a preemption trace (`counts = "missing"`, the default: a value is the
//! number of instances preempted, a rise is a preemption; `counts = "held"`: a value is the
//! number held, a fall is a preemption).

use flotilla::input::spot_trace_fit::{load_preemption_trace, Counts, PreemptionFit};
use flotilla::input::{load_scenario, load_spot_trace, nodes_from_path};
use flotilla::model::{SimDuration, SimTime};
use flotilla::record::SimRun;
use flotilla::sim::measured::MeasuredHazard;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            json_files(&e, out);
        } else if e.extension().is_some_and(|x| x == "json") {
            out.push(e);
        }
    }
}

/// Ticks, gap and largest value of a shipped file, read with plain string operations
/// (independently of the reader).
fn by_hand(text: &str) -> (usize, u64, u32) {
    let data = &text[text.find("\"data\": [").unwrap() + 9..];
    let data = &data[..data.find(']').unwrap()];
    let ticks = data.matches(',').count() + 1;
    let max = data
        .split(',')
        .map(|v| v.trim().parse::<u32>().unwrap())
        .max()
        .unwrap();
    let gap = &text[text.find("\"gap_seconds\": ").unwrap() + 15..];
    let gap: u64 = gap[..gap.find(|c: char| !c.is_ascii_digit()).unwrap()]
        .parse()
        .unwrap();
    (ticks, gap, max)
}

#[test]
fn reader_reads_every_shipped_file() {
    let mut files = Vec::new();
    json_files(Path::new("traces/spot/measured"), &mut files);
    assert_eq!(files.len(), 34, "{files:?}");
    for f in &files {
        let t = load_spot_trace(f, None).unwrap_or_else(|e| panic!("{e}"));
        let (ticks, gap_s, max) = by_hand(&std::fs::read_to_string(f).unwrap());
        assert_eq!(t.values.len(), ticks, "{}", f.display());
        assert_eq!(t.gap, SimDuration::from_secs(gap_s), "{}", f.display());
        assert_eq!(t.max_value(), max, "{}", f.display());
        let n = nodes_from_path(f).expect("every shipped file is under N-node");
        assert_eq!(t.nodes, n);
        assert!(max <= n);
    }
}

#[test]
fn errors_name_the_file_and_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"metadata": {"gap_seconds": 60}, "data": [1, 0, -2]}"#,
            "data[2]",
        ),
        (
            r#"{"metadata": {"gap_seconds": 60}, "data": [1, 0.5]}"#,
            "data[1]",
        ),
        (
            r#"{"metadata": {"gap_seconds": 0}, "data": [1]}"#,
            "metadata.gap_seconds",
        ),
        (r#"{"data": [1]}"#, "metadata"),
    ];
    for (i, (text, field)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&p, text).unwrap();
        let e = load_spot_trace(&p, None).unwrap_err();
        assert_eq!(e.file, p);
        assert_eq!(e.field.as_deref(), Some(*field), "{e}");
        assert!(e.to_string().contains(&format!("field `{field}`")), "{e}");
    }
    // A value above the node count of the directory name.
    let sub = dir.path().join("4-node");
    std::fs::create_dir(&sub).unwrap();
    let p = sub.join("z_v100_1.json");
    std::fs::write(&p, r#"{"metadata": {"gap_seconds": 60}, "data": [4, 5]}"#).unwrap();
    let e = load_spot_trace(&p, None).unwrap_err();
    assert_eq!(
        (e.file.as_path(), e.field.as_deref()),
        (p.as_path(), Some("data[1]"))
    );
}

/// A scenario in a temporary directory: c5.large Spot (BEST_FIT: waits for its one type,
/// retrying every 10 s), jobs of 2 vCPUs (one instance each) submitted at `submits` running
/// `run_s`, and a `[[spot.measured]]` entry `measured` with the given trace files.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(traces: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in traces {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Setup { dir }
    }

    fn run(&self, submits: &[u64], run_s: u64, measured: &str, seed: u64) -> (SimRun, String) {
        let path = self.write(submits, run_s, measured, seed);
        let s = load_scenario(&path, None).unwrap_or_else(|e| panic!("{e}"));
        let mut events = Vec::new();
        let run = flotilla::record::simulate(s, "t", Some(&mut events)).unwrap();
        (run, String::from_utf8(events).unwrap())
    }

    /// Writes the jobs and the scenario; returns the scenario's path.
    fn write(&self, submits: &[u64], run_s: u64, measured: &str, seed: u64) -> PathBuf {
        let mut csv = String::from(
            "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,run_time_s,exit_code,attempts\n",
        );
        for (i, s) in submits.iter().enumerate() {
            csv += &format!("j{i},{s}.000,q,2,1024,0,{run_s}.000,0,1\n");
        }
        std::fs::write(self.dir.path().join("jobs.csv"), csv).unwrap();
        let toml = format!(
            r#"seed = {seed}
trace = "jobs.csv"
boot_delay_s = 30
[[compute_environments]]
computeEnvironmentName = "spot"
capacity_retry_s = 10
[compute_environments.computeResources]
type = "SPOT"
maxvCpus = 4096
instanceTypes = ["c5.large"]
allocationStrategy = "BEST_FIT"
[[job_queues]]
jobQueueName = "q"
priority = 1
computeEnvironmentOrder = [{{ order = 1, computeEnvironment = "spot" }}]
{measured}
"#
        );
        let path = self.dir.path().join("s.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }
}

const AVAIL: &str = r#"{"metadata": {"gap_seconds": 60}, "data": [1, 1, 0, 0, 1]}"#;

/// Launch attempts (time, refused) of a run.
fn launches(run: &SimRun) -> Vec<(SimTime, bool)> {
    run.driver
        .instances()
        .iter()
        .map(|i| (i.launched_at, i.launch_failed))
        .collect()
}

#[test]
fn availability_blocks_launches_exactly_in_the_zero_ticks() {
    let setup = Setup::new(&[("a.json", AVAIL)]);
    let m =
        "[[spot.measured]]\ninstance_type = \"c5.large\"\navailability = \"a.json\"\nloop = false";
    let submits: Vec<u64> = (0..15).map(|i| i * 20 + 5).collect();
    let (run, events) = setup.run(&submits, 5_000, m, 1);
    let l = launches(&run);
    assert!(l.iter().any(|x| x.1) && l.iter().any(|x| !x.1), "{l:?}");
    for &(t, refused) in &l {
        let blocked = (120_000..240_000).contains(&t.0);
        assert_eq!(refused, blocked, "launch at {t:?}");
    }
    // Refusals are InsufficientInstanceCapacity; every job ran in the end.
    assert!(events.contains("\"reason\":\"InsufficientInstanceCapacity\""));
    assert_eq!(run.summary.jobs_succeeded, 15);
    // After the trace (300 s, no loop) the pool is unconstrained.
    assert!(l.iter().filter(|x| x.0 >= SimTime(300_000)).all(|x| !x.1));
}

#[test]
fn offset_and_loop_shift_and_repeat_the_availability() {
    let setup = Setup::new(&[("a.json", AVAIL)]);
    let m = "[[spot.measured]]\ninstance_type = \"c5.large\"\navailability = \"a.json\"\noffset_s = 60\nloop = true";
    let submits: Vec<u64> = (0..50).map(|i| i * 20 + 5).collect();
    let (run, _) = setup.run(&submits, 5_000, m, 1);
    let l = launches(&run);
    // Trace time = sim time + 60 s, period 300 s: ticks 2 and 3 are sim [60, 180) + 300 k.
    let blocked = |t: u64| matches!(((t + 60_000) % 300_000) / 60_000, 2 | 3);
    assert!(l.iter().filter(|x| x.1).count() >= 4, "{l:?}");
    assert!(
        l.iter().any(|x| x.1 && x.0 > SimTime(600_000)),
        "no refusal in a later loop"
    );
    for &(t, refused) in &l {
        assert_eq!(refused, blocked(t.0), "launch at {t:?}");
    }
}

/// Event lines of one input kind: (time ms, instance).
fn inputs(events: &str, kind: &str) -> Vec<(u64, String)> {
    let tag = format!("\"input\":\"{kind}\"");
    events
        .lines()
        .filter(|l| l.contains(&tag))
        .map(|l| {
            let t = l["{\"t_ms\":".len()..l.find(',').unwrap()].parse().unwrap();
            let i = l.split("\"instance\":\"").nth(1).unwrap();
            (t, i[..i.find('"').unwrap()].to_string())
        })
        .collect()
}

/// Read as instances held (`counts = "held"`): the one instance is lost at tick 3.
const PREEMPT: &str = r#"{"metadata": {"gap_seconds": 60}, "data": [1, 1, 1, 0, 1]}"#;
/// Read as instances preempted (the default): the one instance is preempted at tick 3.
const PREEMPTED: &str = r#"{"metadata": {"gap_seconds": 60}, "data": [0, 0, 0, 1, 0]}"#;

/// A single run of one job on the preemption trace `text` read with `reading` (the lines
/// added to the entry); returns the tick time of its one reclaim.
fn one_reclaim(text: &str, reading: &str) -> u64 {
    let setup = Setup::new(&[("p.json", text)]);
    let m = format!(
        "[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"\nloop = false\n{reading}"
    );
    let (run, events) = setup.run(&[0], 1_000, &m, 1);
    let notices = inputs(&events, "SpotInterruptionNotice");
    let gone = inputs(&events, "InstanceTerminated");
    assert_eq!(notices.len(), 1, "{reading}: {events}");
    // The notice two minutes before the tick, the instance gone at the tick.
    assert_eq!(gone[0], (notices[0].0 + 120_000, notices[0].1.clone()));
    let first = &run.driver.instances()[0];
    assert_eq!(first.ended_at, Some(SimTime(gone[0].0)));
    assert!(first.noticed);
    assert_eq!(run.summary.spot_interruptions, 1);
    // The job's one attempt failed with the host.
    assert_eq!(run.summary.jobs_failed, 1);
    gone[0].0
}

#[test]
fn a_preemption_tick_reclaims_at_that_time_after_the_notice() {
    // Default reading: the rise 0 → 1 at tick 3 (180 s) is the preemption; notice at 60 s.
    assert_eq!(one_reclaim(PREEMPTED, "nodes = 1"), 180_000);
    assert_eq!(
        one_reclaim(PREEMPTED, "nodes = 1\ncounts = \"missing\""),
        180_000
    );
    // `counts = "held"`: the fall 1 → 0 at tick 3 is.
    assert_eq!(one_reclaim(PREEMPT, "counts = \"held\""), 180_000);
    // The reading matters: the held-style file read as preempted (held 0, 0, 0, 1, 0)
    // loses its instance at tick 4, where the value falls back to 0.
    assert_eq!(one_reclaim(PREEMPT, "nodes = 1"), 240_000);
    // And the other way round: held 0, 0, 0, 1, 0 read as held.
    assert_eq!(one_reclaim(PREEMPTED, "counts = \"held\""), 240_000);
}

#[test]
fn the_default_reading_needs_the_node_count_and_checks_counts() {
    let setup = Setup::new(&[("p.json", PREEMPTED)]);
    // A trace outside any `N-node` directory and no `nodes`: N is unknown.
    let m = "[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"";
    let path = setup.write(&[0], 10, m, 1);
    let e = load_scenario(&path, None).unwrap_err();
    assert_eq!(
        e.field.as_deref(),
        Some("spot.measured[0].preemption"),
        "{e}"
    );
    assert!(e.to_string().contains("node count"), "{e}");
    // Under an `N-node` directory it is known.
    let sub = setup.dir.path().join("1-node");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("p.json"), PREEMPTED).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"p.json\"", "\"1-node/p.json\"")).unwrap();
    let s = load_scenario(&path, None).unwrap_or_else(|e| panic!("{e}"));
    let t = s.spot.measured[0].preemption.as_ref().unwrap();
    assert_eq!((t.nodes, t.values.clone()), (1, vec![1, 1, 1, 0, 1]));
    // An unknown reading is an error naming the field.
    std::fs::write(
        &path,
        text.replace("preemption = ", "counts = \"preempted\"\npreemption = "),
    )
    .unwrap();
    let e = load_scenario(&path, None).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("spot.measured[0].counts"), "{e}");
}

#[test]
fn preemption_offset_and_loop_repeat_the_reclaims() {
    let setup = Setup::new(&[("p.json", PREEMPTED)]);
    let m = "[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"\nnodes = 1\noffset_s = 60\nloop = true";
    let submits: Vec<u64> = (0..20).map(|i| i * 50).collect();
    let (run, events) = setup.run(&submits, 100, m, 1);
    let notices = inputs(&events, "SpotInterruptionNotice");
    let gone = inputs(&events, "InstanceTerminated");
    // Trace time 180 s is sim 120 s, then every 300 s; notices 120 s before, at 0, 300, …
    assert!(gone.len() >= 3, "{events}");
    let mut times: Vec<u64> = gone.iter().map(|g| g.0).collect();
    times.dedup();
    assert!(times.len() >= 3, "{times:?}");
    assert!(gone.iter().all(|g| g.0 % 300_000 == 120_000), "{gone:?}");
    // Every reclaim had its notice two minutes before (a noticed instance that drained and
    // idled may be scaled in by Batch before that).
    for g in &gone {
        let n = notices
            .iter()
            .find(|n| n.1 == g.1)
            .expect("reclaimed after a notice");
        assert_eq!(g.0 - n.0, 120_000);
    }
    for n in &notices {
        // EC2-style ids: `i-` and the index + 1 in hex.
        let id = usize::from_str_radix(n.1.trim_start_matches("i-"), 16).unwrap() - 1;
        // (Still alive only if the run ended, its jobs done, before the reclaim.)
        let ended = run.driver.instances()[id].ended_at;
        assert!(
            ended.is_none_or(|e| e.0 <= n.0 + 120_000),
            "{n:?} {ended:?}"
        );
    }
}

#[test]
fn a_replayed_trace_replaces_the_hazard_model() {
    // hazard_scale = 1e5 makes the bucket model reclaim almost at once; a preemption trace
    // with no preemption (none preempted at any tick) replaces it, so nothing is reclaimed.
    let flat = r#"{"metadata": {"gap_seconds": 60}, "data": [0, 0, 0, 0]}"#;
    let setup = Setup::new(&[("p.json", flat)]);
    let hot = "[spot]\nhazard_scale = 100000.0";
    let (run, _) = setup.run(&[0, 10, 20], 600, hot, 1);
    assert!(run.summary.spot_interruptions > 0);
    let m =
        format!("{hot}\n[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"\nnodes = 1");
    let (run, _) = setup.run(&[0, 10, 20], 600, &m, 1);
    assert_eq!(run.summary.spot_interruptions, 0);
    assert_eq!(run.summary.jobs_succeeded, 3);
}

#[test]
fn partial_preemptions_are_deterministic_per_seed() {
    // 1 of 4 preempted every other tick (a rise 3 → 4 under the default reading): a
    // quarter of the held instances, picked at random.
    let data: Vec<&str> = (0..40)
        .map(|i| if i % 2 == 0 { "4" } else { "3" })
        .collect();
    let text = format!(
        r#"{{"metadata": {{"gap_seconds": 60}}, "data": [{}]}}"#,
        data.join(", ")
    );
    let setup = Setup::new(&[("p.json", &text)]);
    let m = "[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"\nnodes = 4";
    let submits: Vec<u64> = (0..30).map(|i| i * 10).collect();
    let (a, ea) = setup.run(&submits, 900, m, 5);
    let (_, eb) = setup.run(&submits, 900, m, 5);
    assert_eq!(ea, eb);
    assert!(a.summary.spot_interruptions > 0);
    let others: Vec<String> = (6..10).map(|s| setup.run(&submits, 900, m, s).1).collect();
    assert!(
        others.iter().any(|e| *e != ea),
        "the seed changes the picks"
    );
}

/// A synthetic N-node preemption trace: each slot holds an instance for an exponential
/// time at `rate` per hour, then waits `relaunch` ticks for the next one.
fn synthetic(rate: f64, gap_s: u64, ticks: usize, nodes: u32, seed: u64) -> String {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let gap_h = gap_s as f64 / 3600.0;
    let mut counts = vec![0u32; ticks];
    for _ in 0..nodes {
        let mut t = 0usize;
        while t < ticks {
            let life_h = -(1.0 - rng.gen::<f64>()).ln() / rate;
            let end = t + (life_h / gap_h).ceil() as usize;
            for c in counts.iter_mut().take(end.min(ticks)).skip(t) {
                *c += 1;
            }
            t = end + 3;
        }
    }
    let vals: Vec<String> = counts.iter().map(u32::to_string).collect();
    format!(
        r#"{{"metadata": {{"gap_seconds": {gap_s}}}, "data": [{}]}}"#,
        vals.join(", ")
    )
}

#[test]
fn the_fit_recovers_a_known_rate_within_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    // Rates with λ × gap well below 1, as the estimator assumes (see spot_trace_fit); with
    // several nodes a fall and a relaunch in one tick would hide each other, so the busy
    // case is single-node.
    for (seed, rate, nodes) in [(1, 0.5, 1), (2, 0.25, 4), (3, 2.0, 1)] {
        let p = dir.path().join(format!("syn{seed}.json"));
        std::fs::write(&p, synthetic(rate, 30, 200_000, nodes, seed)).unwrap();
        let t = load_spot_trace(&p, Some(nodes)).unwrap();
        let f = PreemptionFit::of(&t, Counts::Held);
        let (lo, hi) = f.interval95().unwrap();
        assert!(lo < rate && rate < hi, "rate {rate}: [{lo}, {hi}], {f:?}");
        assert!(f.events > 100, "{f:?}");
        assert!(hi / lo < 1.6, "the interval is informative: [{lo}, {hi}]");
        // The same series written as instances preempted (N − held), read by default,
        // gives the same fit.
        let q = dir.path().join(format!("syn{seed}-missing.json"));
        let missing: Vec<String> = t.values.iter().map(|v| (nodes - v).to_string()).collect();
        std::fs::write(
            &q,
            format!(
                r#"{{"metadata": {{"gap_seconds": 30}}, "data": [{}]}}"#,
                missing.join(", ")
            ),
        )
        .unwrap();
        let m = load_preemption_trace(&q, Some(nodes), Counts::default()).unwrap();
        assert_eq!(m.values, t.values);
        assert_eq!(PreemptionFit::of(&m, Counts::Held), f);
        let raw = load_spot_trace(&q, Some(nodes)).unwrap();
        assert_eq!(PreemptionFit::of(&raw, Counts::Missing), f);
    }
}

#[test]
fn hazard_measured_uses_the_fitted_rate() {
    for (text, reading) in [(PREEMPTED, "nodes = 1"), (PREEMPT, "counts = \"held\"")] {
        let setup = Setup::new(&[("p.json", text)]);
        let m = format!("[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"\nhazard = \"measured\"\n{reading}");
        let (run, _) = setup.run(&[0], 10, &m, 1);
        assert_eq!(run.summary.jobs_succeeded, 1);
        let path = setup.dir.path().join("s.toml");
        let s = load_scenario(&path, None).unwrap();
        // Held 1, 1, 1, 0, 1 under either reading: one preemption over 3 ticks held before
        // the last (3 × 60 s = 1/20 h): 20 per hour.
        let MeasuredHazard::Fitted(rate) = s.spot.measured[0].hazard else {
            panic!("{:?}", s.spot.measured[0].hazard)
        };
        assert!((rate - 20.0).abs() < 1e-9, "{reading}: {rate}");
        // Unknown values and a missing preemption trace are errors naming the field.
        let bad = "[[spot.measured]]\ninstance_type = \"c5.large\"\navailability = \"p.json\"\nhazard = \"measured\"";
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap().replace(&m, bad),
        )
        .unwrap();
        let e = load_scenario(&path, None).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("spot.measured[0].hazard"), "{e}");
    }
}

#[test]
fn spot_fit_prints_the_measured_and_bucket_rates() {
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .arg("spot-fit")
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let gcp_dir = "traces/spot/measured/preemption/1-node/gcp-04-30-2023";
    // Default reading (instances preempted): each us-central1 file is one preemption 30 s
    // after the start (0, then 1 for two days); us-east1-b has 4 rises.
    let gcp = run(&[gcp_dir]);
    assert!(gcp.contains("read as instances preempted"), "{gcp}");
    assert_eq!(
        gcp.matches("| c3-highcpu-88 | 1 | 5476 | 45.6 | 1 | 0.0 |")
            .count(),
        3,
        "{gcp}"
    );
    assert!(
        gcp.contains("| c3-highcpu-88 | gcp | 4 | 182.5 | 7 | 2.1 |"),
        "{gcp}"
    );
    assert!(gcp.contains("no bucket"));
    assert_eq!(run(&["--counts", "missing", gcp_dir]), gcp);
    // Read as instances held: three of the four never lose their instance; us-east1-b
    // loses it 3 times.
    let held = run(&["--counts", "held", gcp_dir]);
    assert_eq!(
        held.matches("| c3-highcpu-88 | 1 | 5476 | 45.6 | 0 |")
            .count(),
        3,
        "{held}"
    );
    assert!(
        held.contains("| c3-highcpu-88 | gcp | 4 | 182.5 | 3 |"),
        "{held}"
    );
    let file = "traces/spot/measured/preemption/1-node/aws-04-22-2023/us-east-1c_v100_1.json";
    let line = |out: String| {
        out.lines()
            .find(|l| l.contains("us-east-1c_v100_1"))
            .unwrap()
            .to_string()
    };
    // 41 rises, 13,686 ticks of 32 s with none preempted (121.7 h held) …
    let p3 = line(run(&[file]));
    assert!(
        p3.contains("| p3.2xlarge | 1 | 19961 | 177.4 | 41 | 121.7 |"),
        "{p3}"
    );
    assert!(p3.contains("| >20% | 4.00e-4 |"), "{p3}");
    // … or 41 falls over 6,274 ticks held (55.8 h).
    let p3 = line(run(&["--counts", "held", file]));
    assert!(
        p3.contains("| p3.2xlarge | 1 | 19961 | 177.4 | 41 | 55.8 |"),
        "{p3}"
    );
    // Outside an `N-node` directory the default reading needs --nodes.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("us-east-1c_v100_1.json");
    std::fs::copy(file, &copy).unwrap();
    let copy = copy.to_str().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["spot-fit", "--kind", "preemption", copy])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--nodes"));
    let p3 = line(run(&["--kind", "preemption", "--nodes", "1", copy]));
    assert!(p3.contains("| 1 | 19961 | 177.4 | 41 | 121.7 |"), "{p3}");
    // Availability traces read the same under both.
    let avail = "traces/spot/measured/availability/1-node/aws-02-15-2023";
    assert_eq!(
        run(&[avail]).lines().skip(1).collect::<Vec<_>>(),
        run(&["--counts", "held", avail])
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
    );
}

/// Zones of a scenario for the zone tests: two zones of equal price, `a` first (so
/// BEST_FIT's tie goes to `a`).
const TWO_ZONES: &str = "[spot]\nzones = [\"a\", \"b\"]";

#[test]
fn an_availability_entry_for_a_zone_closes_only_that_zone() {
    // Regression: the measured limit used to refuse the launch whatever zone the fleet chose.
    let none = r#"{"metadata": {"gap_seconds": 60}, "data": [0]}"#;
    let setup = Setup::new(&[("a.json", none)]);
    let entry = "[[spot.measured]]\ninstance_type = \"c5.large\"\navailability = \"a.json\"";
    let m = format!("{TWO_ZONES}\n{entry}\nzone = \"a\"");
    let (run, _) = setup.run(&[0, 10, 20], 600, &m, 1);
    assert_eq!(run.summary.jobs_succeeded, 3);
    let zones = run.driver.instance_zones().expect("zones");
    let launched: Vec<&str> = run
        .driver
        .instances()
        .iter()
        .zip(&zones)
        .filter(|(i, _)| !i.launch_failed)
        .map(|(_, z)| z.as_str())
        .collect();
    assert!(
        !launched.is_empty() && launched.iter().all(|z| *z == "b"),
        "{launched:?}"
    );
    // Without the zone the entry speaks for the type: no launch in any zone while it says
    // 0 (ten ticks of 60 s, not looped), launches after.
    let zeros = r#"{"metadata": {"gap_seconds": 60}, "data": [0,0,0,0,0,0,0,0,0,0]}"#;
    let setup = Setup::new(&[("z.json", zeros)]);
    let m = format!(
        "{TWO_ZONES}\n[[spot.measured]]\ninstance_type = \"c5.large\"\n\
         availability = \"z.json\"\nloop = false"
    );
    let (run, _) = setup.run(&[0], 60, &m, 1);
    let l = launches(&run);
    assert!(l.iter().any(|&(_, refused)| refused));
    assert!(
        l.iter().all(|&(at, refused)| refused == (at.0 < 600_000)),
        "{l:?}"
    );
    assert_eq!(run.summary.jobs_succeeded, 1);
}

#[test]
fn a_preemption_entry_for_a_zone_leaves_the_other_zones_hazard() {
    // Regression: a replayed (flat) trace for zone b switched the bucket hazard off in
    // zone a too. hazard_scale 1e6 makes the bucket model reclaim within minutes.
    let flat = r#"{"metadata": {"gap_seconds": 60}, "data": [0, 0, 0, 0]}"#;
    let setup = Setup::new(&[("p.json", flat)]);
    let m = |zone: &str| {
        format!(
            "{TWO_ZONES}\nhazard_scale = 1000000.0\n[[spot.measured]]\n\
             instance_type = \"c5.large\"\npreemption = \"p.json\"\nnodes = 1\nzone = \"{zone}\""
        )
    };
    // The launches go to zone a (BEST_FIT, equal prices, zone order).
    let (run, _) = setup.run(&[0, 10, 20], 60, &m("b"), 1);
    assert!(run.summary.spot_interruptions > 0);
    assert_eq!(run.summary.jobs_succeeded, 3);
    let (run, _) = setup.run(&[0, 10, 20], 60, &m("a"), 1);
    assert_eq!(run.summary.spot_interruptions, 0);
}

#[test]
fn a_huge_gap_does_not_overflow_the_replay() {
    // Regression: tick × gap overflowed u64 (a panic with overflow checks on).
    let mut data = vec!["1"; 18_500];
    data.push("0");
    let text = format!(
        r#"{{"metadata": {{"gap_seconds": 999999999999}}, "data": [{}]}}"#,
        data.join(",")
    );
    let setup = Setup::new(&[("p.json", &text)]);
    let m = "[[spot.measured]]\ninstance_type = \"c5.large\"\npreemption = \"p.json\"\n\
             nodes = 1\ncounts = \"held\"";
    let (run, _) = setup.run(&[0], 60, m, 1);
    assert_eq!(run.summary.jobs_succeeded, 1);
}
