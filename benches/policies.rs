//! Scheduling policies at speed: whole simulated replays, without writing events.
//!
//! - `nasa/fifo` and `nasa/easy-backfill`: the NASA Ames iPSC/860 log (18,239 jobs, 128
//!   processors; `scenarios/swf-nasa.toml`). Target: each under 0.2 s.
//! - `200k/easy-backfill`: 200,000 generated jobs with requested times on one host of 25,000
//!   vCPUs at about 80% offered load (`scenarios/policy-200k.toml`). Target: under 5 s.
//!
//! Scenarios are loaded (and the 200,000 jobs generated) once, outside the timed loop; each
//! iteration clones the scenario and runs `record::simulate` with the policy set in
//! `cluster.options.policy`, as `flotilla simulate --policy` does.

use criterion::{criterion_group, criterion_main, Criterion};
use flotilla::engine::policy::PolicySpec;
use flotilla::scenario::Scenario;
use std::path::Path;
use std::time::Duration;

fn load(path: &str, policy: &str) -> Scenario {
    let mut s = flotilla::input::load_scenario(Path::new(path), None)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    s.cluster.options.policy = PolicySpec::parse(policy).expect("policy spec");
    s
}

fn replay(scenario: &Scenario, jobs: u64) {
    let run = flotilla::record::simulate(scenario.clone(), "bench", None).expect("run");
    assert_eq!(run.summary.jobs_total, jobs);
    assert_eq!(run.summary.jobs_unfinished, 0);
}

fn nasa(c: &mut Criterion) {
    let mut g = c.benchmark_group("nasa");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(13));
    for policy in ["fifo", "easy-backfill"] {
        let s = load("scenarios/swf-nasa.toml", policy);
        g.bench_function(policy, |b| b.iter(|| replay(&s, 18_239)));
    }
    g.finish();
}

fn big(c: &mut Criterion) {
    let s = load("scenarios/policy-200k.toml", "easy-backfill");
    let mut g = c.benchmark_group("200k");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(40));
    g.bench_function("easy-backfill", |b| b.iter(|| replay(&s, 200_000)));
    g.finish();
}

criterion_group!(benches, nasa, big);
criterion_main!(benches);
