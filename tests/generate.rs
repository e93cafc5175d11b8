//! The synthetic trace generator and the committed traces under `traces/`.

use flotilla::generate::{write_trace, GenerateConfig, TRACE_HEADER, TRACE_HEADER_JOBS};
use flotilla::input::JobDefinitions;
use flotilla::model::registered_memory_mib;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// One parsed trace row.
#[derive(Debug)]
struct Row {
    job_id: String,
    submit_ms: u64,
    queue: String,
    vcpus: u32,
    memory_mib: u32,
    gpus: u32,
    run_ms: u64,
    exit_code: i32,
    attempts: u32,
}

/// An instance type of the catalog, with the memory jobs can reserve on it.
struct Type {
    name: String,
    family: String,
    vcpus: u32,
    registered_mib: u32,
    gpus: u32,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(cfg: &GenerateConfig) -> String {
    let mut buf = Vec::new();
    write_trace(cfg, &mut buf).expect("generate");
    String::from_utf8(buf).expect("utf-8")
}

/// Parses `12.345` (exactly three decimals) into milliseconds.
fn millis(s: &str) -> u64 {
    let (secs, ms) = s
        .split_once('.')
        .unwrap_or_else(|| panic!("no decimals in `{s}`"));
    assert_eq!(ms.len(), 3, "`{s}` must have millisecond precision");
    secs.parse::<u64>().unwrap() * 1000 + ms.parse::<u64>().unwrap()
}

fn parse(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(TRACE_HEADER), "header");
    assert!(text.ends_with('\n'), "the last row ends with a line break");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 9, "row `{l}`");
            Row {
                job_id: f[0].to_string(),
                submit_ms: millis(f[1]),
                queue: f[2].to_string(),
                vcpus: f[3].parse().unwrap(),
                memory_mib: f[4].parse().unwrap(),
                gpus: f[5].parse().unwrap(),
                run_ms: millis(f[6]),
                exit_code: f[7].parse().unwrap(),
                attempts: f[8].parse().unwrap(),
            }
        })
        .collect()
}

fn catalog() -> Vec<Type> {
    let mut rdr = csv::Reader::from_path(root().join("catalogs/ec2-us-east-1.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (name, family, vcpus, mem, gpus) = (
        col("instance_type"),
        col("family"),
        col("vcpus"),
        col("memory_mib"),
        col("gpus"),
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            Type {
                name: r[name].to_string(),
                family: r[family].to_string(),
                vcpus: r[vcpus].parse().unwrap(),
                registered_mib: registered_memory_mib(r[mem].parse().unwrap(), 250),
                gpus: r[gpus].parse().unwrap(),
            }
        })
        .collect()
}

/// The first type of `families` that holds the row's shape, if any.
fn fits<'a>(types: &'a [Type], families: &[&str], r: &Row) -> Option<&'a str> {
    types
        .iter()
        .filter(|t| families.contains(&t.family.as_str()))
        .find(|t| t.vcpus >= r.vcpus && t.registered_mib >= r.memory_mib && t.gpus >= r.gpus)
        .map(|t| t.name.as_str())
}

fn assert_well_formed(rows: &[Row]) {
    let mut ids = HashSet::new();
    for (i, r) in rows.iter().enumerate() {
        assert!(
            ids.insert(r.job_id.as_str()),
            "duplicate job id {}",
            r.job_id
        );
        assert!(!r.queue.is_empty());
        assert!(r.vcpus >= 1 && r.memory_mib >= 1, "{r:?}");
        assert!(r.run_ms >= 1000, "{r:?}");
        assert!((1..=10).contains(&r.attempts), "{r:?}");
        assert!(r.exit_code == 0 || r.exit_code == 1, "{r:?}");
        if i > 0 {
            assert!(
                rows[i - 1].submit_ms <= r.submit_ms,
                "submit times decrease at {r:?}"
            );
        }
    }
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seeds_differ() {
    let cfg = GenerateConfig {
        jobs: 5_000,
        seed: 42,
        ..Default::default()
    };
    let a = generate(&cfg);
    assert_eq!(a, generate(&cfg));
    let b = generate(&GenerateConfig {
        seed: 43,
        ..cfg.clone()
    });
    assert_ne!(a, b);
}

#[test]
fn writes_header_and_n_rows_with_sequential_ids() {
    for n in [0u64, 1, 1_234] {
        let text = generate(&GenerateConfig {
            jobs: n,
            ..Default::default()
        });
        let rows = parse(&text);
        assert_eq!(rows.len() as u64, n);
        assert_well_formed(&rows);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.job_id, format!("job-{:09}", i + 1));
        }
    }
}

#[test]
fn arrivals_are_poisson_with_the_configured_rate() {
    for rate in [20.0, 0.5] {
        let n = 20_000u64;
        let cfg = GenerateConfig {
            jobs: n,
            seed: 7,
            rate_per_s: rate,
            ..Default::default()
        };
        let rows = parse(&generate(&cfg));
        assert_well_formed(&rows);
        let mean_s = rows.last().unwrap().submit_ms as f64 / 1000.0 / n as f64;
        let expected = 1.0 / rate;
        assert!(
            (mean_s - expected).abs() / expected < 0.05,
            "mean inter-arrival {mean_s} s vs {expected} s"
        );
    }
}

#[test]
fn sizes_run_times_failures_and_queues_follow_the_model() {
    let cfg = GenerateConfig {
        jobs: 50_000,
        seed: 3,
        queues: vec!["a".into(), "b".into()],
        ..Default::default()
    };
    let rows = parse(&generate(&cfg));
    let n = rows.len() as f64;
    let share = |p: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| p(r)).count() as f64 / n;
    let near = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() < 0.01, "{what}: {got} vs {want}");
    };
    near(share(&|r| r.gpus > 0), 0.03, "GPU share");
    near(share(&|r| r.exit_code == 1), 0.02, "failure share");
    near(share(&|r| r.attempts == 1), 0.80, "attempts 1");
    near(share(&|r| r.attempts == 2), 0.15, "attempts 2");
    near(share(&|r| r.queue == "a"), 0.5, "queue a");
    near(
        share(&|r| r.gpus == 0 && r.vcpus == 1),
        0.40 * 0.97,
        "1 vCPU",
    );
    near(
        share(&|r| r.gpus == 0 && r.vcpus == 32),
        0.02 * 0.97,
        "32 vCPUs",
    );
    for r in rows.iter().filter(|r| r.gpus == 0) {
        assert!([1, 2, 4, 8, 16, 32].contains(&r.vcpus), "{r:?}");
        assert!(
            [1024, 2048, 4096, 8192].contains(&(r.memory_mib / r.vcpus)),
            "{r:?}"
        );
    }
    let mut runs: Vec<u64> = rows.iter().map(|r| r.run_ms).collect();
    runs.sort_unstable();
    let median_s = runs[runs.len() / 2] as f64 / 1000.0;
    assert!(
        (median_s - 600.0).abs() < 30.0,
        "median run time {median_s}"
    );
    assert!(runs[0] >= 1_000 && *runs.last().unwrap() <= 48 * 3_600_000);
}

#[test]
fn changing_one_model_leaves_the_other_columns_alone() {
    let base = GenerateConfig {
        jobs: 3_000,
        seed: 11,
        ..Default::default()
    };
    let a = parse(&generate(&base));
    let b = parse(&generate(&GenerateConfig {
        gpu_share: 0.5,
        failure_share: 0.3,
        ..base
    }));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.submit_ms, y.submit_ms);
        assert_eq!(x.run_ms, y.run_ms);
        assert_eq!(x.attempts, y.attempts);
        assert_eq!(x.queue, y.queue);
        if x.gpus == 0 && y.gpus == 0 {
            assert_eq!((x.vcpus, x.memory_mib), (y.vcpus, y.memory_mib));
        }
    }
    assert!(b.iter().filter(|r| r.gpus > 0).count() > a.iter().filter(|r| r.gpus > 0).count());
}

#[test]
fn every_generated_shape_fits_an_instance_type() {
    let types = catalog();
    // All GPU jobs, so that every GPU shape turns up many times.
    let cfg = GenerateConfig {
        jobs: 20_000,
        seed: 5,
        gpu_share: 1.0,
        ..Default::default()
    };
    let rows = parse(&generate(&cfg));
    let mut shapes = HashSet::new();
    for r in &rows {
        assert!(r.gpus > 0);
        assert!(
            fits(&types, &["g4dn", "g5"], r).is_some(),
            "no g4dn/g5 type fits {r:?}"
        );
        shapes.insert((r.gpus, r.vcpus, r.memory_mib));
    }
    assert!(shapes.len() >= 4, "{shapes:?}");
    for n in [1, 2, 4] {
        assert!(
            shapes.iter().any(|s| s.0 == n),
            "no {n}-GPU shape in {shapes:?}"
        );
    }

    let cfg = GenerateConfig {
        jobs: 20_000,
        seed: 5,
        gpu_share: 0.0,
        ..Default::default()
    };
    for r in parse(&generate(&cfg)) {
        assert_eq!(r.gpus, 0);
        assert!(
            fits(&types, &["c5", "m5", "r5"], &r).is_some(),
            "no c5/m5/r5 fits {r:?}"
        );
    }
}

/// `traces/bench-sample.csv` is `write_trace` of 2,000 jobs with seed 1 and the default
/// model. Run with `FLOTILLA_BLESS=1` to rewrite it after a deliberate change to the model.
#[test]
fn committed_bench_sample_matches_the_generator() {
    let cfg = GenerateConfig {
        jobs: 2_000,
        seed: 1,
        ..Default::default()
    };
    let fresh = generate(&cfg);
    let path = root().join("traces/bench-sample.csv");
    if std::env::var_os("FLOTILLA_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == fresh,
        "traces/bench-sample.csv differs from the generator's output; if the model changed on \
         purpose, rerun this test with FLOTILLA_BLESS=1"
    );
}

#[test]
fn committed_quickstart_trace_fits_c5_and_m5() {
    let text = std::fs::read_to_string(root().join("traces/quickstart.csv")).unwrap();
    let rows = parse(&text);
    assert_well_formed(&rows);
    assert!((250..=350).contains(&rows.len()), "{} rows", rows.len());
    let types = catalog();
    for r in &rows {
        assert!(r.queue == "default" || r.queue == "high", "{r:?}");
        assert_eq!(r.gpus, 0);
        assert!(
            (1..=16).contains(&r.vcpus) && r.memory_mib <= 60_000,
            "{r:?}"
        );
        assert!((60_000..=2_400_000).contains(&r.run_ms), "{r:?}");
        assert!(
            fits(&types, &["c5", "m5"], r).is_some(),
            "no c5/m5 fits {r:?}"
        );
    }
    let span_s = rows.last().unwrap().submit_ms / 1000;
    assert!((5_400..=9_000).contains(&span_s), "span {span_s} s");
}

#[test]
fn committed_gpu_trace_fits_g4dn_g5_and_c5_m5() {
    let text = std::fs::read_to_string(root().join("traces/gpu.csv")).unwrap();
    let rows = parse(&text);
    assert_well_formed(&rows);
    assert!((300..=500).contains(&rows.len()), "{} rows", rows.len());
    let types = catalog();
    for r in &rows {
        assert!((60_000..=7_200_000).contains(&r.run_ms), "{r:?}");
        if r.gpus > 0 {
            assert_eq!(r.queue, "gpu");
            assert!(r.gpus <= 4 && r.memory_mib <= 14_000 * r.gpus, "{r:?}");
            assert!(
                fits(&types, &["g4dn", "g5"], r).is_some(),
                "no g4dn/g5 fits {r:?}"
            );
        } else {
            assert_eq!(r.queue, "cpu");
            assert!(r.memory_mib <= 30_000, "{r:?}");
            assert!(
                fits(&types, &["c5", "m5"], r).is_some(),
                "no c5/m5 fits {r:?}"
            );
        }
    }
    assert!(rows.iter().any(|r| r.gpus == 0) && rows.iter().any(|r| r.gpus > 0));
    let span_s = rows.last().unwrap().submit_ms / 1000;
    assert!((9_000..=12_600).contains(&span_s), "span {span_s} s");
}

/// One row of a trace with the job columns: its job id, array size (0 = plain) and the
/// `depends_on` entries.
struct JobRow {
    id: String,
    size: u32,
    deps: Vec<String>,
}

fn parse_job_columns(text: &str) -> Vec<JobRow> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(TRACE_HEADER_JOBS), "header");
    let row = |l: &str| {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 11, "row `{l}`");
        let deps = f[10].split(';').filter(|d| !d.is_empty());
        JobRow {
            id: f[0].to_string(),
            size: f[9].parse().unwrap_or(0),
            deps: deps.map(str::to_string).collect(),
        }
    };
    lines.map(row).collect()
}

#[test]
fn array_and_dependency_shares_are_met_and_the_trace_loads() {
    let cfg = GenerateConfig {
        jobs: 100_000,
        seed: 5,
        array_share: 0.3,
        dependency_share: 0.2,
        ..Default::default()
    };
    let text = generate(&cfg);
    let rows = parse_job_columns(&text);
    let children: u64 = rows.iter().map(|r| u64::from(r.size)).sum();
    let jobs = rows.iter().filter(|r| r.size == 0).count() as u64 + children;
    assert_eq!(jobs, 100_000, "`jobs` counts plain rows and array children");
    let child_share = children as f64 / jobs as f64;
    assert!(
        (0.27..=0.33).contains(&child_share),
        "child share {child_share}"
    );
    let dependent = rows.iter().filter(|r| !r.deps.is_empty()).count() as f64;
    let dep_share = dependent / rows.len() as f64;
    assert!(
        (0.17..=0.23).contains(&dep_share),
        "dependent rows {dep_share}"
    );

    let index: HashMap<&str, usize> = rows.iter().enumerate().map(|(i, r)| (&*r.id, i)).collect();
    let mut n_to_n = 0;
    for (i, r) in rows.iter().enumerate() {
        assert!(r.deps.len() <= 2 && (r.size == 0 || (2..=100).contains(&r.size)));
        for d in &r.deps {
            let nn = d.ends_with(":N_TO_N");
            let t = index[d.trim_end_matches(":N_TO_N")];
            assert!(t < i && i - t <= 1_000, "{} depends on {d}", r.id);
            if nn {
                n_to_n += 1;
                assert_eq!(rows[t].size, r.size, "N_TO_N needs equal sizes: {}", r.id);
                assert!(r.size > 0);
            }
        }
    }
    assert!(n_to_n > 0, "some N_TO_N dependencies");

    let (dir, defs) = (tempfile::tempdir().unwrap(), JobDefinitions::empty());
    let path = dir.path().join("t.csv");
    std::fs::write(&path, &text).unwrap();
    let scenario = flotilla::input::load_scenario(&root().join("scenarios/bench-1m.toml"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let trace = flotilla::input::load_trace(&path, &scenario.cluster, &defs).unwrap();
    assert_eq!(trace.len(), rows.len());
    let arrays = trace.iter().filter_map(|j| j.spec.array);
    assert_eq!(arrays.map(|a| u64::from(a.size)).sum::<u64>(), children);
    let deps = trace
        .iter()
        .enumerate()
        .flat_map(|(i, j)| j.spec.depends_on.iter().map(move |d| (i, d)));
    assert!(deps.clone().all(|(i, d)| (d.job.0 as usize) < i));
    assert_eq!(
        deps.count(),
        rows.iter().map(|r| r.deps.len()).sum::<usize>()
    );
}

#[test]
fn job_columns_stop_at_exactly_jobs_and_shares_zero_keep_the_old_format() {
    for jobs in [0u64, 1, 2, 3, 57] {
        let text = generate(&GenerateConfig {
            jobs,
            array_share: 1.0,
            ..Default::default()
        });
        let rows = parse_job_columns(&text);
        let total: u64 = rows.iter().map(|r| u64::from(r.size.max(1))).sum();
        assert_eq!(total, jobs, "{text}");
        assert!(rows.iter().all(|r| r.deps.is_empty()));
    }
    let plain = generate(&GenerateConfig {
        jobs: 300,
        ..Default::default()
    });
    assert!(plain.starts_with(&format!("{TRACE_HEADER}\n")));
    let deps_only = generate(&GenerateConfig {
        jobs: 300,
        dependency_share: 0.5,
        ..Default::default()
    });
    let rows = parse_job_columns(&deps_only);
    assert_eq!(rows.len(), 300);
    assert!(rows.iter().all(|r| r.size == 0));
    // The other columns are the same as without the job columns.
    for (a, b) in plain.lines().zip(deps_only.lines()).skip(1) {
        assert!(b.starts_with(a), "{a} / {b}");
    }
    let bad = |array_share, dependency_share| GenerateConfig {
        array_share,
        dependency_share,
        ..Default::default()
    };
    assert!(write_trace(&bad(1.5, 0.0), Vec::new()).is_err());
    assert!(write_trace(&bad(0.0, -0.1), Vec::new()).is_err());
}
