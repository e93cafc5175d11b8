//! Builders shared by the integration tests: small hand-made catalogs and scenarios whose
//! results can be computed by hand.
#![allow(dead_code)]

use flotilla::model::*;
use flotilla::scenario::{Scenario, SpotModel, TraceJob};
use std::path::PathBuf;

/// An instance type with `vcpus`, `memory_mib` (registered = nominal, to keep arithmetic
/// simple), `gpus`, an On-Demand price in USD/hour, and a Spot offer at half price in the
/// given bucket.
pub fn itype(
    name: &str,
    vcpus: u32,
    memory_mib: u32,
    gpus: u32,
    od_usd: f64,
    bucket: InterruptionBucket,
) -> InstanceType {
    InstanceType {
        name: name.into(),
        family: name.split('.').next().unwrap_or_default().into(),
        vcpus,
        memory_mib,
        registered_memory_mib: memory_mib,
        gpus,
        gpu_model: if gpus > 0 { "T4".into() } else { String::new() },
        gpu_memory_mib: if gpus > 0 { 16384 } else { 0 },
        on_demand_per_hour: MicroUsd::from_usd(od_usd),
        spot_savings_pct: Some(50),
        interruption_bucket: Some(bucket),
        boot_delay: SimDuration::from_secs(60),
    }
}

/// A small catalog: `s.large` 2 vCPU $0.10, `s.xlarge` 4 vCPU $0.20, `s.2xlarge` 8 vCPU
/// $0.40 (same price per vCPU), `g.xlarge` 4 vCPU 1 GPU $0.50.
pub fn small_catalog() -> Catalog {
    use InterruptionBucket::*;
    Catalog::new(vec![
        itype("s.large", 2, 4096, 0, 0.10, Over20),
        itype("s.xlarge", 4, 8192, 0, 0.20, Under5),
        itype("s.2xlarge", 8, 16384, 0, 0.40, From5To10),
        itype("g.xlarge", 4, 16384, 1, 0.50, From10To15),
    ])
}

/// A managed compute environment over `types` (names in `catalog`).
pub fn ce(
    name: &str,
    market: Market,
    strategy: AllocationStrategy,
    max_vcpus: u32,
    catalog: &Catalog,
    types: &[&str],
) -> ComputeEnvironment {
    ComputeEnvironment {
        name: name.into(),
        market,
        min_vcpus: 0,
        max_vcpus,
        desired_vcpus: 0,
        instance_types: types
            .iter()
            .map(|t| catalog.find(t).expect("type in catalog"))
            .collect(),
        allocation_strategy: strategy,
        bid_percentage: 100,
        idle_timeout: SimDuration::from_secs(300),
        capacity_retry: SimDuration::from_secs(60),
        ..ComputeEnvironment::default()
    }
}

/// A queue over compute environments `order` (ids in that order).
pub fn queue(name: &str, priority: i32, order: &[u16]) -> JobQueue {
    JobQueue {
        name: name.into(),
        priority,
        compute_environment_order: order.iter().map(|&i| ComputeEnvironmentId(i)).collect(),
        ..JobQueue::default()
    }
}

/// A trace job submitted at `submit_s` to queue index `q`.
pub fn job(name: &str, submit_s: u64, q: u16, vcpus: u32, memory_mib: u32, run_s: u64) -> TraceJob {
    TraceJob {
        submit: SimTime(submit_s * 1000),
        spec: JobSpec {
            name: name.into(),
            queue: JobQueueId(q),
            vcpus,
            memory_mib,
            gpus: 0,
            attempts: 1,
            timeout: None,
            ..JobSpec::default()
        },
        run_time: SimDuration::from_secs(run_s),
        exit_code: 0,
        cancel_at: None,
        terminate_at: None,
        submit_after: None,
    }
}

/// A scenario with no Spot interruptions, no start delay and seed 1.
pub fn scenario(
    catalog: Catalog,
    ces: Vec<ComputeEnvironment>,
    queues: Vec<JobQueue>,
    trace: Vec<TraceJob>,
) -> Scenario {
    let mut s = Scenario {
        name: "test".into(),
        seed: 1,
        cluster: Cluster {
            catalog,
            compute_environments: ces,
            job_queues: queues,
            options: Default::default(),
        },
        trace,
        trace_path: PathBuf::from("test.csv"),
        spot: SpotModel {
            hazard_scale: 0.0,
            ..SpotModel::default()
        },
        container_start_delay: SimDuration::ZERO,
        epoch_ms: 0,
        skipped_lines: Default::default(),
        notes: Vec::new(),
    };
    s.sort_trace();
    s
}

/// Runs a scenario and returns the run with its event log as text.
pub fn run(s: Scenario) -> (flotilla::record::SimRun, String) {
    let mut buf: Vec<u8> = Vec::new();
    let run = flotilla::record::simulate(s, "test", Some(&mut buf)).expect("in-memory run");
    (run, String::from_utf8(buf).expect("utf-8 log"))
}

/// One On-Demand BEST_FIT compute environment of `s.large` (2 vCPUs) with `max_vcpus`,
/// behind one queue `q`: the smallest world in which job order is easy to follow by hand.
pub fn one_queue(trace: Vec<TraceJob>, max_vcpus: u32) -> Scenario {
    let cat = small_catalog();
    let ces = vec![ce(
        "od",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        max_vcpus,
        &cat,
        &["s.large"],
    )];
    scenario(cat, ces, vec![queue("q", 1, &[0])], trace)
}

/// The record of the job called `name`.
pub fn job_named<'a>(
    run: &'a flotilla::record::SimRun,
    name: &str,
) -> &'a flotilla::engine::JobRecord {
    run.engine
        .jobs()
        .iter()
        .find(|j| j.spec.name == name)
        .unwrap_or_else(|| panic!("no job {name}"))
}

/// When the first attempt of `name` entered STARTING.
pub fn started(run: &flotilla::record::SimRun, name: &str) -> SimTime {
    job_named(run, name)
        .attempts
        .first()
        .unwrap_or_else(|| panic!("{name} never started"))
        .starting_at
}

/// Makes `job` a multi-node parallel job of `nodes` nodes (main node `main`), every node
/// asking for the job's vCPUs and memory and no GPUs (one `nodeRangeProperties` entry).
pub fn multi_node(mut job: TraceJob, nodes: u32, main: u32) -> TraceJob {
    job.spec.gpus = 0;
    job.spec.node_properties = Some(NodeProperties {
        num_nodes: nodes,
        main_node: main,
        node_ranges: vec![NodeRange {
            start: 0,
            end: nodes - 1,
            vcpus: job.spec.vcpus,
            memory_mib: job.spec.memory_mib,
            gpus: 0,
        }],
    });
    job
}

/// An UNMANAGED compute environment of hosts `(name, vCPUs, MiB, GPUs)`, its maxvCpus their
/// sum (its instance types are filled in by `Cluster::add_unmanaged_host_types`).
pub fn unmanaged_ce(name: &str, hosts: &[(&str, u32, u32, u32)]) -> ComputeEnvironment {
    let hosts: Vec<UnmanagedHost> = hosts
        .iter()
        .map(|&(n, vcpus, memory_mib, gpus)| UnmanagedHost {
            name: n.into(),
            vcpus,
            memory_mib,
            gpus,
        })
        .collect();
    ComputeEnvironment {
        name: name.into(),
        max_vcpus: hosts.iter().map(|h| h.vcpus).sum(),
        unmanaged_hosts: hosts,
        ..ComputeEnvironment::default()
    }
}
