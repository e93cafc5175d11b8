//! A slice of the shipped capacity-plan sweep (10,000-job scenario): 2 points × 8 seeds = 16
//! runs, on a rayon pool of 1 and of 2 threads, to watch the speed-up from threads.

use criterion::{criterion_group, criterion_main, Criterion};
use flotilla::plan::grid::Grid;
use flotilla::plan::run::{run_tasks, Base, Task};
use std::path::Path;

fn bench(c: &mut Criterion) {
    let path = Path::new("scenarios/capacity-plan.toml");
    let (base, sweep) = Base::read(path, None, Default::default()).expect("scenario loads");
    let grid = Grid::from_table(&sweep.expect("[sweep]"), "capacity-plan").expect("grid");
    let points = grid.points();
    let seeds: Vec<u64> = (1..=8).collect();
    let tasks: Vec<Task> = points[..2]
        .iter()
        .map(|p| Task {
            point: p,
            seeds: seeds.clone(),
        })
        .collect();
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        g.bench_function(format!("16_runs_10k_jobs_{threads}_threads"), |b| {
            b.iter(|| {
                let runs = pool
                    .install(|| run_tasks(&base, &grid, &tasks, &|| {}))
                    .expect("runs");
                assert_eq!(runs.len(), 2);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
