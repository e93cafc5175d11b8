//! Golden scenarios (`scenarios/golden/`): summary numbers worked out by hand.
//!
//! Common facts: c5.large has 2 vCPUs and 3,961 MiB registered memory, costs $0.085/h
//! (85,000 µ$/h) On-Demand and 34,850 µ$/h on Spot (59% savings); c5.xlarge $0.17/h; hosts
//! boot in 60 s and scale in after 300 s idle; bills are per second with a 60 s minimum.

use flotilla::engine::{JobRecord, StatusReason};
use flotilla::model::{JobStatus, MicroUsd, SimTime};
use flotilla::record::SimRun;
use std::path::Path;

fn run(name: &str) -> SimRun {
    let path = format!("scenarios/golden/{name}.toml");
    let s = flotilla::input::load_scenario(Path::new(&path), None).expect("golden scenario loads");
    flotilla::record::simulate(s, "golden", None).expect("run")
}

fn job<'a>(run: &'a SimRun, name: &str) -> &'a JobRecord {
    run.engine
        .jobs()
        .iter()
        .find(|j| j.spec.name == name)
        .expect("job")
}

fn start(run: &SimRun, name: &str) -> SimTime {
    job(run, name).attempts[0].starting_at
}

fn total(run: &SimRun) -> MicroUsd {
    run.bills.iter().map(|b| b.cost).sum()
}

#[test]
fn dag_with_arrays() {
    // 0 s: prep and seq:0 reserve one c5.large (i0). 60 s: both start; seq:0 ends at 90,
    // seq:1 runs 90-120, seq:2 120-150 (SEQUENTIAL). prep ends at 160: fanout:0 and :1 take
    // i0 (160-260), :2 and :3 launch i1 (ready 220, run 220-320). The array ends at 320, so
    // reduce runs 320-370 on i0. i1 idles from 320 (gone 620), i0 from 370 (gone 670).
    let r = run("dag");
    assert_eq!(start(&r, "seq:1"), SimTime(90_000));
    assert_eq!(start(&r, "seq:2"), SimTime(120_000));
    assert_eq!(start(&r, "fanout:3"), SimTime(220_000));
    assert_eq!(job(&r, "fanout").stopped_at, Some(SimTime(320_000)));
    assert_eq!(start(&r, "reduce"), SimTime(320_000));
    assert_eq!((r.summary.jobs_total, r.summary.jobs_succeeded), (11, 11));
    assert_eq!(r.summary.makespan_s, 370.0);
    // i0: 670 s × 85,000 µ$/h = 15,819.4; i1: 460 s = 10,861.1.
    assert_eq!(
        r.bills.iter().map(|b| b.cost.0).collect::<Vec<_>>(),
        [15_819, 10_861]
    );
    assert_eq!(total(&r), MicroUsd(26_680));
}

#[test]
fn retries_under_a_spot_reclaim() {
    // train and fragile share a Spot c5.large from 60 s. fragile exits 1 at 110 s: the
    // `EXIT onReason *` rule ends it after one attempt. The price passes the 50% bid
    // (42,500 µ$/h) at 200 s: notice, reclaim at 320 s. train's attempt fails with
    // `Host EC2 … terminated.`, which the RETRY rule retries, on On-Demand (Spot is above the
    // bid): launched 320 s, runs 380-980, host gone at 1,280 s.
    let r = run("spot-retry");
    let train = job(&r, "train");
    assert_eq!(
        (train.status, train.attempts.len()),
        (JobStatus::Succeeded, 2)
    );
    assert!(matches!(
        train.attempts[0].status_reason,
        Some(StatusReason::HostTerminated(_))
    ));
    assert_eq!(train.attempts[0].stopped_at, Some(SimTime(320_000)));
    assert_eq!(train.attempts[1].starting_at, SimTime(380_000));
    let fragile = job(&r, "fragile");
    assert_eq!(
        (fragile.status, fragile.attempts.len()),
        (JobStatus::Failed, 1)
    );
    assert_eq!(r.summary.spot_interruptions, 1);
    assert_eq!(r.summary.makespan_s, 980.0);
    // Spot: 200 s × 34,850 + 120 s × 50,000 µ$/h = 3,602.8; On-Demand: 960 s = 22,666.7.
    assert_eq!(
        r.bills.iter().map(|b| b.cost.0).collect::<Vec<_>>(),
        [3_603, 22_667]
    );
    assert_eq!(total(&r), MicroUsd(26_270));
}

#[test]
fn multi_node_job() {
    // Three nodes of 4 vCPUs/4,000 MiB: three c5.xlarge (the cheapest c5 that holds a node),
    // ready at 60 s; the main node runs 60-260 and the others start once it runs. All three
    // hosts idle from 260 s and go at 560 s; billed from launch: 560 s × 170,000 µ$/h =
    // 26,444.4 each.
    let r = run("multinode");
    let solver = job(&r, "solver");
    assert_eq!(
        (solver.status, solver.stopped_at),
        (JobStatus::Succeeded, Some(SimTime(260_000)))
    );
    assert!(["solver#1", "solver#2"]
        .iter()
        .all(|n| start(&r, n) == SimTime(60_000)));
    let cat = &r.engine.cluster().catalog;
    assert!(r
        .engine
        .instances()
        .iter()
        .all(|i| cat.get(i.instance_type).name == "c5.xlarge"));
    assert_eq!(r.engine.instances().len(), 3);
    assert_eq!(total(&r), MicroUsd(3 * 26_444));
}

#[test]
fn fair_share_serves_the_newcomer_second() {
    // One c5.large (maxvCpus 2) runs one 2-vCPU job at a time. a1 runs 60-160; then share b
    // has used nothing and a has, so b1 (submitted last) goes at 160, before a2 (260) and a3
    // (360-460). The host idles until 760 s: 760 s × 85,000 µ$/h = 17,944.4.
    let r = run("fairshare");
    assert_eq!(start(&r, "b1"), SimTime(160_000));
    assert_eq!(start(&r, "a2"), SimTime(260_000));
    assert_eq!(start(&r, "a3"), SimTime(360_000));
    assert_eq!(r.summary.makespan_s, 460.0);
    assert_eq!(total(&r), MicroUsd(17_944));
}
