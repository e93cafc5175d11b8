//! The synthetic workload models: arrival processes, run-time distributions, workflow
//! shapes, fitting (`--like`) and the `[generate]` scenario section.

use flotilla::generate::fit::{fit_trace, CHI2_23_P001};
use flotilla::generate::{write_trace, ArrivalModel, GenerateConfig, RuntimeModel};
use flotilla::input::{load_bare_trace, load_scenario};
use flotilla::model::DependencyType;
use flotilla::scenario::TraceJob;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bytes(cfg: &GenerateConfig) -> Vec<u8> {
    let mut buf = Vec::new();
    write_trace(cfg, &mut buf).expect("generate");
    buf
}

/// Submit times (s) and run times (s) of a generated trace, by row.
fn times(cfg: &GenerateConfig) -> Vec<(f64, f64)> {
    let text = String::from_utf8(bytes(cfg)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[6].parse().unwrap())
        })
        .collect()
}

/// Writes a generated trace to `dir` and loads it through the scenario's trace reader.
fn load_generated(cfg: &GenerateConfig, dir: &Path) -> Vec<TraceJob> {
    let path = dir.join("t.csv");
    std::fs::write(&path, bytes(cfg)).unwrap();
    let s = load_scenario(&root().join("scenarios/bench-1m.toml"), Some(&path))
        .unwrap_or_else(|e| panic!("{e}"));
    s.trace
}

fn rich() -> GenerateConfig {
    GenerateConfig {
        jobs: 3_000,
        seed: 11,
        rate_per_s: 0.2,
        arrivals: ArrivalModel::Diurnal,
        diurnal_amplitude: 0.6,
        runtime: RuntimeModel::Weibull,
        weibull_shape: 0.7,
        fan_share: 0.1,
        fan_width: 5,
        chain_share: 0.1,
        array_share: 0.2,
        dependency_share: 0.1,
        ..Default::default()
    }
}

#[test]
fn same_seed_same_bytes_and_another_seed_other_bytes() {
    for base in [
        rich(),
        GenerateConfig {
            arrivals: ArrivalModel::Bursts,
            burst_jobs: 50,
            burst_interval_s: 600.0,
            runtime: RuntimeModel::Exponential,
            fan_as_array: true,
            fan_width: 200,
            ..rich()
        },
    ] {
        let a = bytes(&base);
        assert_eq!(a, bytes(&base), "same configuration, same bytes");
        let other = bytes(&GenerateConfig {
            seed: 12,
            ..base.clone()
        });
        assert_ne!(a, other, "another seed, another trace");
        assert!(
            a.iter().filter(|&&c| c == b'\n').count() > 20,
            "rows written"
        );
    }
}

#[test]
fn diurnal_peak_hour_gets_the_predicted_share_of_arrivals() {
    let (rate, amp, days) = (0.5, 0.6, 4.0);
    let cfg = GenerateConfig {
        jobs: 200_000,
        seed: 5,
        rate_per_s: rate,
        arrivals: ArrivalModel::Diurnal,
        diurnal_amplitude: amp,
        diurnal_peak_hour: 14.0,
        gpu_share: 0.0,
        ..Default::default()
    };
    let t = times(&cfg);
    assert!(
        t.last().unwrap().0 > days * 86_400.0,
        "the trace covers {days} days"
    );
    let in_hour = |h: f64| {
        t.iter()
            .filter(|(s, _)| *s < days * 86_400.0 && ((s / 3600.0) % 24.0).floor() == h)
            .count() as f64
    };
    // Expected arrivals in hour [h, h+1) over the days: rate · 3600 · days · (1 + A · mean
    // of cos over the hour); the mean of cos(2π(x − 14)/24) over [h, h+1) in closed form.
    let expected = |h: f64| {
        let w = 2.0 * PI / 24.0;
        let mean_cos = ((w * (h + 1.0 - 14.0)).sin() - (w * (h - 14.0)).sin()) / w;
        rate * 3600.0 * days * (1.0 + amp * mean_cos)
    };
    let (peak, trough) = (in_hour(14.0), in_hour(2.0));
    let (e_peak, e_trough) = (expected(14.0), expected(2.0));
    // About 11,500 and 2,900 expected: Poisson noise is 1% and 2%; 6% is over 3 sigma.
    assert!(
        (peak / e_peak - 1.0).abs() < 0.06,
        "peak {peak} vs {e_peak}"
    );
    assert!(
        (trough / e_trough - 1.0).abs() < 0.06,
        "trough {trough} vs {e_trough}"
    );
    assert!(peak > 3.0 * trough, "peak {peak}, trough {trough}");
}

#[test]
fn bursts_put_burst_jobs_submissions_at_every_interval() {
    let cfg = GenerateConfig {
        jobs: 5_000,
        rate_per_s: 0.01,
        arrivals: ArrivalModel::Bursts,
        burst_jobs: 40,
        burst_interval_s: 1800.0,
        ..Default::default()
    };
    let t = times(&cfg);
    let at = |k: f64| t.iter().filter(|(s, _)| *s == k * 1800.0).count();
    for k in 1..10 {
        assert_eq!(at(f64::from(k)), 40, "burst {k}");
    }
    assert!(
        t.windows(2).all(|w| w[0].0 <= w[1].0),
        "submit times never decrease"
    );
}

fn median_run_time(cfg: &GenerateConfig) -> f64 {
    let mut r: Vec<f64> = times(cfg).into_iter().map(|x| x.1).collect();
    r.sort_by(f64::total_cmp);
    r[r.len() / 2]
}

#[test]
fn run_time_medians_match_theory() {
    let n = GenerateConfig {
        jobs: 20_001,
        seed: 9,
        ..Default::default()
    };
    let (k, scale) = (0.7, 900.0);
    let weibull = median_run_time(&GenerateConfig {
        runtime: RuntimeModel::Weibull,
        weibull_shape: k,
        weibull_scale_s: scale,
        ..n.clone()
    });
    let theory = scale * 2f64.ln().powf(1.0 / k);
    // With 20,001 draws the sample median's relative error is about 1%.
    assert!(
        (weibull / theory - 1.0).abs() < 0.04,
        "{weibull} vs {theory}"
    );
    let lognormal = median_run_time(&GenerateConfig {
        runtime_median_s: 300.0,
        runtime_sigma: 1.5,
        ..n.clone()
    });
    assert!((lognormal / 300.0 - 1.0).abs() < 0.04, "{lognormal}");
    let exponential = median_run_time(&GenerateConfig {
        runtime: RuntimeModel::Exponential,
        runtime_mean_s: 1000.0,
        ..n.clone()
    });
    let theory = 1000.0 * 2f64.ln();
    assert!(
        (exponential / theory - 1.0).abs() < 0.04,
        "{exponential} vs {theory}"
    );
    let quantiles = vec![10.0, 20.0, 1000.0];
    let empirical = median_run_time(&GenerateConfig {
        runtime: RuntimeModel::Empirical,
        runtime_quantiles_s: quantiles,
        ..n
    });
    assert!((empirical - 20.0).abs() < 1.0, "{empirical}");
}

fn deps(j: &TraceJob) -> Vec<u32> {
    assert!(j
        .spec
        .depends_on
        .iter()
        .all(|d| d.kind == DependencyType::Standard));
    j.spec.depends_on.iter().map(|d| d.job.0).collect()
}

#[test]
fn fan_out_fan_in_has_exactly_the_asked_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let width = 5u32;
    let cfg = GenerateConfig {
        jobs: 70,
        fan_share: 1.0,
        fan_width: width,
        ..Default::default()
    };
    let jobs = load_generated(&cfg, dir.path());
    assert_eq!(jobs.len(), 70);
    let g = width as usize + 2;
    for (n, group) in jobs.chunks(g).enumerate() {
        let r = (n * g) as u32;
        assert!(group.iter().all(|j| j.submit == group[0].submit));
        assert_eq!(deps(&group[0]), Vec::<u32>::new(), "root");
        for (c, child) in group[1..=width as usize].iter().enumerate() {
            assert_eq!(deps(child), vec![r], "child {c} of group {n}");
        }
        let children: Vec<u32> = (1..=width).map(|c| r + c).collect();
        assert_eq!(deps(&group[g - 1]), children, "join of group {n}");
    }
}

#[test]
fn fan_out_as_an_array_and_chains_have_exactly_the_asked_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GenerateConfig {
        jobs: 10 * 302,
        fan_share: 1.0,
        fan_width: 300,
        fan_as_array: true,
        ..Default::default()
    };
    let jobs = load_generated(&cfg, dir.path());
    assert_eq!(jobs.len(), 30, "three rows a fan");
    for (n, group) in jobs.chunks(3).enumerate() {
        let r = (n * 3) as u32;
        assert!(group[0].spec.array.is_none() && deps(&group[0]).is_empty());
        assert_eq!(group[1].spec.array.map(|a| a.size), Some(300));
        assert_eq!(deps(&group[1]), vec![r]);
        assert!(group[2].spec.array.is_none());
        assert_eq!(deps(&group[2]), vec![r + 1]);
    }
    let cfg = GenerateConfig {
        jobs: 60,
        chain_share: 1.0,
        chain_length: 6,
        ..Default::default()
    };
    let jobs = load_generated(&cfg, dir.path());
    assert_eq!(jobs.len(), 60);
    for (i, j) in jobs.iter().enumerate() {
        let want: Vec<u32> = if i % 6 == 0 {
            vec![]
        } else {
            vec![i as u32 - 1]
        };
        assert_eq!(deps(j), want, "row {i}");
    }
}

#[test]
fn like_recovers_the_parameters_of_a_generated_trace() {
    let dir = tempfile::tempdir().unwrap();
    let known = GenerateConfig {
        jobs: 60_000,
        seed: 21,
        rate_per_s: 0.2,
        arrivals: ArrivalModel::Diurnal,
        diurnal_amplitude: 0.5,
        queues: vec!["a".into(), "b".into()],
        queue_weights: vec![3.0, 1.0],
        runtime_median_s: 300.0,
        runtime_sigma: 0.8,
        failure_share: 0.1,
        ..Default::default()
    };
    let path = dir.path().join("known.csv");
    std::fs::write(&path, bytes(&known)).unwrap();
    let (jobs, names) = load_bare_trace(&path).unwrap();
    let f = fit_trace(&jobs, &names);
    let near = |got: f64, want: f64, tol: f64, what: &str| {
        assert!(
            (got / want - 1.0).abs() < tol,
            "{what}: fitted {got}, known {want}"
        );
    };
    near(f.rate_per_s, 0.2, 0.03, "rate");
    near(f.runtime_median_s, 300.0, 0.03, "median");
    near(f.runtime_log_sd, 0.8, 0.03, "sigma");
    near(f.queue_shares["a"], 0.75, 0.03, "queue a");
    near(f.failure_share, 0.1, 0.08, "failures");
    assert!(
        (f.shapes_coverage - 1.0).abs() < 1e-12,
        "the built-in mix has few shapes"
    );
    let p = f.hourly_profile.as_ref().expect("a diurnal cycle is found");
    assert!(f.diurnal_chi2.unwrap() > CHI2_23_P001);
    let peak = p[14];
    let expected = 1.0 + 0.5 * (PI / 12.0).sin() / (PI / 12.0);
    near(peak, expected, 0.1, "peak hour rate");
    // A Poisson trace of the same length shows no cycle.
    let flat = GenerateConfig {
        arrivals: ArrivalModel::Poisson,
        ..known.clone()
    };
    std::fs::write(&path, bytes(&flat)).unwrap();
    let (jobs, names) = load_bare_trace(&path).unwrap();
    let g = fit_trace(&jobs, &names);
    assert!(
        g.hourly_profile.is_none(),
        "chi-square {:?}",
        g.diurnal_chi2
    );
    // A trace generated from the fit looks like the source again.
    let again = f.to_config(60_000, 99, RuntimeModel::Lognormal);
    std::fs::write(&path, bytes(&again)).unwrap();
    let (jobs, names) = load_bare_trace(&path).unwrap();
    let h = fit_trace(&jobs, &names);
    near(h.rate_per_s, 0.2, 0.05, "refit rate");
    near(h.runtime_median_s, 300.0, 0.05, "refit median");
    near(h.queue_shares["b"], 0.25, 0.06, "refit queue b");
}

const SCENARIO: &str = r#"
name = "gen"
seed = 4
[generate]
jobs = 400
rate_per_s = 0.05
gpu_share = 0
arrivals = "diurnal"
runtime = "weibull"
weibull_shape = 0.8
weibull_scale_s = 300
fan_share = 0.1
fan_width = 4
[[compute_environments]]
computeEnvironmentName = "od"
[compute_environments.computeResources]
type = "EC2"
maxvCpus = 256
instanceTypes = ["c5", "m5", "r5"]
[[job_queues]]
jobQueueName = "default"
priority = 1
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "od" }]
"#;

#[test]
fn a_generate_section_loads_the_same_jobs_and_simulates() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gen.toml");
    std::fs::write(&p, SCENARIO).unwrap();
    let a = load_scenario(&p, None).unwrap_or_else(|e| panic!("{e}"));
    let b = load_scenario(&p, None).unwrap();
    assert_eq!(a.trace.len(), 400);
    assert_eq!(a.trace, b.trace, "same scenario, same jobs");
    assert!(a.trace.iter().any(|j| !j.spec.depends_on.is_empty()));
    // The section's jobs are the ones `flotilla generate` writes for the scenario's seed.
    let cfg = GenerateConfig {
        jobs: 400,
        seed: 4,
        rate_per_s: 0.05,
        gpu_share: 0.0,
        arrivals: ArrivalModel::Diurnal,
        runtime: RuntimeModel::Weibull,
        weibull_shape: 0.8,
        weibull_scale_s: 300.0,
        fan_share: 0.1,
        fan_width: 4,
        ..Default::default()
    };
    let csv = dir.path().join("same.csv");
    std::fs::write(&csv, bytes(&cfg)).unwrap();
    let from_file = load_scenario(&p, Some(&csv)).unwrap();
    assert_eq!(from_file.trace, a.trace);
    std::fs::write(&p, SCENARIO.replace("seed = 4", "seed = 5")).unwrap();
    let c = load_scenario(&p, None).unwrap();
    assert_ne!(c.trace, a.trace, "another seed, other jobs");

    let run = flotilla::record::simulate(a, "scenario", None).unwrap();
    let s = &run.summary;
    assert_eq!(s.jobs_total, 400);
    assert_eq!(s.jobs_succeeded + s.jobs_failed, 400, "{s:?}");
    assert!(s.jobs_succeeded > 300, "{s:?}");
}

#[test]
fn requested_time_factor_gives_estimates_within_its_range_and_changes_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let plain = GenerateConfig {
        jobs: 4_000,
        seed: 5,
        array_share: 0.2,
        fan_share: 0.05,
        ..Default::default()
    };
    let with = GenerateConfig {
        requested_time_factor: vec![1.0, 3.0],
        ..plain.clone()
    };
    // The other columns are the very bytes written without the option.
    let (a, b) = (bytes(&plain), bytes(&with));
    let (a, b) = (String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    assert_eq!(a.lines().count(), b.lines().count());
    for (x, y) in a.lines().zip(b.lines()) {
        let (head, last) = y.rsplit_once(',').unwrap();
        assert_eq!(head, x);
        assert!(
            last == "requested_time_s" || last.parse::<f64>().is_ok(),
            "{y}"
        );
    }
    let jobs = load_generated(&with, dir.path());
    assert!(
        jobs.iter().any(|j| j.spec.array.is_some()),
        "array rows are covered"
    );
    let mut factors = Vec::new();
    for j in &jobs {
        let run = j.run_time.as_millis() as f64;
        let req = j
            .spec
            .requested_time
            .expect("every job has a requested time");
        let f = req.as_millis() as f64 / run;
        assert!(
            (1.0..=3.0 + 1e-3).contains(&f),
            "{}: factor {f}",
            j.spec.name
        );
        factors.push(f);
    }
    // Drawn uniformly: mean about 2, both ends reached.
    let mean = factors.iter().sum::<f64>() / factors.len() as f64;
    assert!((1.9..2.1).contains(&mean), "mean factor {mean}");
    assert!(factors.iter().any(|&f| f < 1.05) && factors.iter().any(|&f| f > 2.95));
    // Without the option, no job has one.
    let none = load_generated(&plain, dir.path());
    assert!(none.iter().all(|j| j.spec.requested_time.is_none()));
    // [1, 1] is an exact estimate.
    let exact = GenerateConfig {
        requested_time_factor: vec![1.0, 1.0],
        ..plain.clone()
    };
    for j in load_generated(&exact, dir.path()) {
        assert_eq!(j.spec.requested_time, Some(j.run_time), "{}", j.spec.name);
    }
    // Malformed ranges are refused before anything is written.
    for bad in [
        vec![3.0, 1.0],
        vec![0.5, 2.0],
        vec![1.0],
        vec![1.0, f64::NAN],
        vec![1.0, 101.0],
    ] {
        let cfg = GenerateConfig {
            requested_time_factor: bad.clone(),
            ..plain.clone()
        };
        let mut out = Vec::new();
        let e = write_trace(&cfg, &mut out).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(
            e.to_string().contains("requested_time_factor"),
            "{bad:?}: {e}"
        );
        assert!(out.is_empty(), "{bad:?}");
    }
}

#[test]
fn a_bad_generate_section_names_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    for (from, to, want) in [
        ("gpu_share = 0", "gpu_share = 0\nfan_widht = 3", "fan_widht"),
        (
            "gpu_share = 0",
            "gpu_share = 0\nqueues = [\"nope\"]",
            "nope",
        ),
        (
            "gpu_share = 0",
            "gpu_share = 0\ndiurnal_amplitude = 2",
            "diurnal_amplitude",
        ),
        ("seed = 4", "seed = 4\ntrace = \"x.csv\"", "not both"),
        // Regression: an infinite sum of finite weights hung the arrival loop.
        (
            "gpu_share = 0",
            "gpu_share = 0\nhourly_profile = [1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, \
             1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, 1e308, \
             1e308, 1e308, 1e308, 1e308, 1e308, 1e308]",
            "hourly_profile",
        ),
        // A section's trace is built in memory: its size is capped.
        ("jobs = 400", "jobs = 20000000", "generate.jobs"),
        (
            "gpu_share = 0",
            "gpu_share = 0\nrequested_time_factor = [3.0, 1.0]",
            "requested_time_factor must be [low, high] with 1 ≤ low ≤ high ≤ 100",
        ),
        (
            "gpu_share = 0",
            "gpu_share = 0\nrequested_time_factor = [0.5, 2.0]",
            "requested_time_factor",
        ),
        (
            "gpu_share = 0",
            "gpu_share = 0\nrequested_time_factor = [2.0]",
            "requested_time_factor",
        ),
        (
            "gpu_share = 0",
            "gpu_share = 0\nrequested_time_factor = \"exact\"",
            "requested_time_factor",
        ),
    ] {
        std::fs::write(&p, SCENARIO.replace(from, to)).unwrap();
        let e = load_scenario(&p, None).expect_err(want).to_string();
        assert!(
            e.contains(want) && e.contains("bad.toml") && e.contains("generate"),
            "{e}"
        );
    }
}

#[test]
fn generate_like_prints_the_fit_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("like.csv");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args([
            "generate",
            "--like",
            "scenarios/quickstart.toml",
            "--jobs",
            "2000",
        ])
        .args(["--json", "--out", out.to_str().unwrap()])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["fit"]["submissions"].as_u64(), Some(300));
    assert!(v["fit"]["rate_per_s"].as_f64().unwrap() > 0.0);
    assert!(!v["fit"]["shapes"].as_array().unwrap().is_empty());
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2001);
    // The fitted trace runs on the scenario it was fitted to.
    let s = load_scenario(&root().join("scenarios/quickstart.toml"), Some(&out));
    assert!(s.is_ok(), "{:?}", s.err());
}

#[test]
fn the_policy_benchmark_scenario_is_200k_jobs_with_estimates_on_25k_vcpus() {
    let s = load_scenario(&root().join("scenarios/policy-200k.toml"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.trace.len(), 200_000);
    let hosts: Vec<(u32, u32)> = s
        .cluster
        .compute_environments
        .iter()
        .flat_map(|c| c.unmanaged_hosts.iter().map(|h| (h.vcpus, h.memory_mib)))
        .collect();
    assert_eq!(hosts, [(25_000, 25_600_000)]);
    let mut widest = 0;
    for j in &s.trace {
        let (v, run) = (j.spec.vcpus, j.run_time);
        assert!(
            v.is_power_of_two() && v <= 4096,
            "{}: {v} vCPUs",
            j.spec.name
        );
        let req = j.spec.requested_time.expect("requested time");
        assert!(
            req >= run && req.as_millis() <= 3 * run.as_millis() + 1,
            "{}",
            j.spec.name
        );
        widest = widest.max(v);
    }
    assert_eq!(widest, 4096);
}
