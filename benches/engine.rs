//! The engine's hot path: one scheduling decision (submit, place, exit) against a fleet of
//! 1,000 and 20,000 ready instances, and behind a blocked queue of 1,000 and 100,000 jobs.
//! The cost of a decision must stay flat as the fleet and the queues grow.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use flotilla::engine::{Command, Engine, Input};
use flotilla::model::*;
use std::hint::black_box;

const SIZES: [&str; 4] = ["c5.large", "c5.xlarge", "c5.2xlarge", "c5.4xlarge"];

fn cluster() -> Cluster {
    let catalog = flotilla::input::default_catalog(250, SimDuration::from_secs(90));
    let types: Vec<InstanceTypeId> = SIZES.iter().map(|t| catalog.find(t).unwrap()).collect();
    let ce = |name: &str, max| ComputeEnvironment {
        name: name.into(),
        market: Market::OnDemand,
        min_vcpus: 0,
        max_vcpus: max,
        desired_vcpus: 0,
        instance_types: types.clone(),
        allocation_strategy: AllocationStrategy::BestFit,
        bid_percentage: 100,
        idle_timeout: SimDuration::from_secs(300),
        capacity_retry: SimDuration::from_secs(60),
        ..ComputeEnvironment::default()
    };
    let q = |name: &str, priority, ce: u16| JobQueue {
        name: name.into(),
        priority,
        compute_environment_order: vec![ComputeEnvironmentId(ce)],
        ..JobQueue::default()
    };
    Cluster {
        catalog,
        compute_environments: vec![ce("fleet", u32::MAX), ce("tiny", 2)],
        job_queues: vec![q("work", 1, 0), q("blocked", 10, 1)],
        options: SchedulingOptions::default(),
    }
}

fn spec(queue: u16, vcpus: u32) -> JobSpec {
    JobSpec {
        name: "j".into(),
        queue: JobQueueId(queue),
        vcpus,
        memory_mib: 1024,
        gpus: 0,
        attempts: 1,
        timeout: None,
        ..JobSpec::default()
    }
}

/// Feeds inputs at time 0 and answers every launch at once, so the fleet is ready.
fn feed(engine: &mut Engine, input: Input, out: &mut Vec<Command>) {
    engine.handle(SimTime::ZERO, input, out);
    engine.handle(SimTime::ZERO, Input::Wakeup, out);
    let launches: Vec<_> = out
        .drain(..)
        .filter_map(|c| match c {
            Command::LaunchInstance { instance, .. } => Some(instance),
            _ => None,
        })
        .collect();
    for instance in launches {
        engine.handle(SimTime::ZERO, Input::InstanceReady { instance }, out);
    }
    out.clear();
}

/// A fleet of `instances` ready hosts of four sizes, half of them busy, plus `blocked`
/// jobs waiting in a higher-priority queue whose compute environment is full.
fn setup(instances: usize, blocked: usize) -> Engine {
    let mut e = Engine::new(cluster());
    let mut out = Vec::new();
    feed(&mut e, Input::Wakeup, &mut out);
    for i in 0..instances {
        let vcpus = [2, 4, 8, 16][i % 4];
        feed(
            &mut e,
            Input::JobSubmitted(Box::new(spec(0, vcpus))),
            &mut out,
        );
    }
    for i in (0..instances).step_by(2) {
        let input = Input::JobExited {
            job: JobId(i as u32),
            attempt: 1,
            exit_code: 0,
            cause: flotilla::engine::ExitCause::Exited,
        };
        feed(&mut e, input, &mut out);
    }
    for _ in 0..=blocked {
        e.handle(
            SimTime::ZERO,
            Input::JobSubmitted(Box::new(spec(1, 2))),
            &mut out,
        );
    }
    feed(&mut e, Input::Wakeup, &mut out);
    e
}

/// One decision: submit a 1-vCPU job, place it, let it exit, release its host.
fn decide(e: &mut Engine, out: &mut Vec<Command>) {
    let id = JobId(e.jobs().len() as u32);
    e.handle(
        SimTime::ZERO,
        Input::JobSubmitted(Box::new(spec(0, 1))),
        out,
    );
    e.handle(SimTime::ZERO, Input::Wakeup, out);
    e.handle(
        SimTime::ZERO,
        Input::JobRunning {
            job: id,
            attempt: 1,
        },
        out,
    );
    e.handle(
        SimTime::ZERO,
        Input::JobExited {
            job: id,
            attempt: 1,
            exit_code: 0,
            cause: flotilla::engine::ExitCause::Exited,
        },
        out,
    );
    e.handle(SimTime::ZERO, Input::Wakeup, out);
    out.clear();
}

fn bench(c: &mut Criterion) {
    // Every decision adds a job record, so keep the measurement short to bound memory
    // (a few million decisions, a few hundred MB).
    let mut g = c.benchmark_group("decision/fleet");
    g.warm_up_time(std::time::Duration::from_secs(1));
    g.measurement_time(std::time::Duration::from_secs(3));
    for n in [1_000, 20_000] {
        let mut e = setup(n, 0);
        assert_eq!(
            e.instances().len(),
            n + 1,
            "the fleet plus the blocked queue's host"
        );
        let mut out = Vec::new();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| decide(black_box(&mut e), &mut out))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("decision/blocked_queue");
    g.warm_up_time(std::time::Duration::from_secs(1));
    g.measurement_time(std::time::Duration::from_secs(3));
    for n in [1_000, 100_000] {
        let mut e = setup(1_000, n);
        let mut out = Vec::new();
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| decide(black_box(&mut e), &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
