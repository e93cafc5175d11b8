//! Placement policies on a hand-made UNMANAGED cluster whose host choice can be read off.

mod common;

use common::{job, scenario, started};
use flotilla::engine::policy::PolicySpec;
use flotilla::model::*;
use flotilla::record::SimRun;
use flotilla::scenario::TraceJob;

fn host(name: &str, vcpus: u32, gpus: u32) -> UnmanagedHost {
    UnmanagedHost {
        name: name.into(),
        vcpus,
        memory_mib: vcpus * 1024,
        gpus,
    }
}

fn run(policy: &str, hosts: Vec<UnmanagedHost>, trace: Vec<TraceJob>) -> SimRun {
    let ce = ComputeEnvironment::unmanaged("c".into(), hosts);
    let mut s = scenario(
        Catalog::new(Vec::new()),
        vec![ce],
        vec![common::queue("q", 1, &[0])],
        trace,
    );
    s.cluster.options.policy = PolicySpec::parse(policy).expect("policy");
    common::run(s).0
}

/// The host the first attempt of `name` ran on.
fn host_of(run: &SimRun, name: &str) -> String {
    let a = common::job_named(run, name).attempts[0].instance;
    let t = run.engine.instance(a).unwrap().instance_type;
    run.engine
        .cluster()
        .catalog
        .get(t)
        .name
        .trim_start_matches("c/")
        .to_string()
}

fn three_hosts() -> Vec<UnmanagedHost> {
    vec![host("big", 16, 0), host("mid", 8, 0), host("small", 4, 0)]
}

#[test]
fn first_best_and_worst_fit_pick_the_documented_host() {
    let trace = || vec![job("x", 0, 0, 2, 1024, 10)];
    let on = |p: &str| host_of(&run(p, three_hosts(), trace()), "x");
    assert_eq!(on("first-fit"), "big", "oldest host with room");
    assert_eq!(on("best-fit"), "small", "tightest");
    assert_eq!(on("worst-fit"), "big", "most free vCPUs");
    // Keeping 60% of a host free: small would keep 2/4, mid keeps 6/8 = 75%.
    assert_eq!(on("best-fit[headroom=0.6]"), "mid");
    // No host can keep 90% free for a 2-vCPU job but big (14/16 = 87.5% < 90%): tightest.
    assert_eq!(on("best-fit[headroom=0.9]"), "small");
}

#[test]
fn worst_fit_spreads_where_best_fit_packs() {
    let trace = || {
        (0..3)
            .map(|i| job(&format!("j{i}"), i, 0, 2, 1024, 100))
            .collect()
    };
    let best = run("best-fit", three_hosts(), trace());
    let worst = run("worst-fit", three_hosts(), trace());
    let hosts = |r: &SimRun| {
        (0..3)
            .map(|i| host_of(r, &format!("j{i}")))
            .collect::<Vec<_>>()
    };
    assert_eq!(hosts(&best), ["small", "small", "mid"]);
    assert_eq!(
        hosts(&worst),
        ["big", "big", "big"],
        "big keeps the most room (14, 12)"
    );
}

#[test]
fn gpu_pack_keeps_cpu_work_from_stranding_gpus() {
    // "cpu" is busy for 100 s; then a 4-vCPU CPU job arrives. Best fit puts it on the
    // 2-GPU host, leaving 4 vCPUs for 2 GPUs; gpu-pack waits for the CPU host.
    let hosts = || vec![host("cpu", 4, 0), host("g2", 8, 2)];
    let trace = || {
        let mut gpu = job("train", 2, 0, 8, 4096, 50);
        gpu.spec.gpus = 2;
        vec![
            job("busy", 0, 0, 4, 1024, 100),
            job("etl", 1, 0, 4, 1024, 100),
            gpu,
        ]
    };
    let best = run("best-fit", hosts(), trace());
    assert_eq!(host_of(&best, "etl"), "g2");
    // The GPU job needs the whole host: it waits for etl (1 + 100 s).
    assert_eq!(started(&best, "train").0, 101_000);
    let pack = run("gpu-pack", hosts(), trace());
    assert_eq!(host_of(&pack, "etl"), "cpu");
    assert_eq!(started(&pack, "etl").0, 100_000, "waits for the CPU host");
    // Under FIFO the GPU job waits behind etl; with EASY it uses the GPUs kept free.
    assert_eq!(started(&pack, "train").0, 100_000);
    let easy = run("gpu-pack+easy-backfill", hosts(), trace());
    assert_eq!(host_of(&easy, "etl"), "cpu");
    assert_eq!(started(&easy, "train").0, 2_000, "the GPUs were kept free");
    assert!(common::job_named(&easy, "train").backfilled);
}

/// Backfilling asks the placement policy again when its choice would delay a reservation,
/// and never goes around it. A CPU host of 8 vCPUs and a GPU host (8 vCPUs, 1 GPU) that
/// CPU jobs may use (`keep_cpu_jobs_off_gpu_instances` off), under EASY and gpu-pack: A
/// (4 vCPUs, 100 s) runs on the CPU host; B (8 vCPUs) is reserved there at 100 (gpu-pack
/// keeps it off the GPU host, whose free GPU needs all 8 vCPUs); C (2 vCPUs, 200 s) fits on
/// the CPU host now but would delay B, and on the GPU host would strand its GPU.
#[test]
fn backfilling_keeps_to_the_placement_policy() {
    let timed = |name, at, vcpus, secs| {
        let mut t = job(name, at, 0, vcpus, 1024, secs);
        t.spec.requested_time = Some(SimDuration::from_secs(secs));
        t
    };
    let trace = vec![
        timed("A", 0, 4, 100),
        timed("B", 1, 8, 10),
        timed("C", 2, 2, 200),
    ];
    let ce = ComputeEnvironment::unmanaged("c".into(), vec![host("cpu", 8, 0), host("gpu", 8, 1)]);
    let mut s = scenario(
        Catalog::new(Vec::new()),
        vec![ce],
        vec![common::queue("q", 1, &[0])],
        trace,
    );
    s.cluster.options.keep_cpu_jobs_off_gpu_instances = false;
    s.cluster.options.policy = PolicySpec::parse("easy-backfill+gpu-pack").unwrap();
    let run = common::run(s).0;
    assert_eq!(host_of(&run, "C"), "cpu");
    assert_eq!(started(&run, "B").0, 100_000);
    assert_eq!(
        started(&run, "C").0,
        110_000,
        "after B, not backfilled on the GPU host"
    );
    assert!(!common::job_named(&run, "C").backfilled);
}
