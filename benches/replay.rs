//! A whole simulated run: a generated 20,000-job trace replayed through the bench-1m
//! scenario's fleet (Spot first, On-Demand behind it), without writing events.

use criterion::{criterion_group, criterion_main, Criterion};
use flotilla::generate::{write_trace, GenerateConfig};
use std::path::Path;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("trace.csv");
    let cfg = GenerateConfig {
        jobs: 20_000,
        seed: 1,
        ..Default::default()
    };
    let file = std::fs::File::create(&trace).expect("trace file");
    write_trace(&cfg, std::io::BufWriter::new(file)).expect("trace written");
    let scenario =
        flotilla::input::load_scenario(Path::new("scenarios/bench-1m.toml"), Some(&trace))
            .expect("bench scenario loads");
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    g.bench_function("20k_jobs", |b| {
        b.iter(|| {
            let run = flotilla::record::simulate(scenario.clone(), "bench", None).expect("run");
            assert_eq!(run.summary.jobs_total, 20_000);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
