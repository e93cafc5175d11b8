//! Property tests over random small scenarios: every run, whatever its shape, must respect
//! the invariants of the scheduler (no over-committed host, maxvCpus, queue/CE membership,
//! retry limits), of the world (every job ends, unless the market can never give it a host)
//! and of billing (the summary is the sum of per-instance bills, each at least 60 s).
//!
//! Most checks replay the run's `events.jsonl` independently of the engine's own records,
//! then cross-check those records against the replay.

mod common;

use flotilla::engine::{type_holds, InstanceState, Resources, StatusReason};
use flotilla::model::*;
use flotilla::record::{SimRun, Summary};
use flotilla::scenario::{Scenario, TraceJob};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------------------------------
// Random scenarios
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct TypeP {
    vcpus: u32,
    memory_mib: u32,
    gpus: u32,
    od_cents: u32,
    bucket: usize,
    savings: u32,
}

#[derive(Clone, Debug)]
struct CeP {
    spot: bool,
    strategy: usize,
    max_vcpus: u32,
    /// 0-1: min = desired = 0; 2: desired > 0; 3: min > 0 (and desired ≥ min).
    sizing: (u8, u32, u32),
    types_mask: u32,
}

#[derive(Clone, Debug)]
struct QueueP {
    priority: i32,
    order: Vec<usize>,
}

#[derive(Clone, Debug)]
struct JobP {
    submit_ms: u64,
    queue: usize,
    vcpus: u32,
    memory_mib: u32,
    gpus: u32,
    run_s: u64,
    exit_code: i32,
    attempts: u32,
}

#[derive(Clone, Debug)]
struct Params {
    /// `None`: `common::small_catalog()`.
    types: Option<Vec<TypeP>>,
    ces: Vec<CeP>,
    queues: Vec<QueueP>,
    jobs: Vec<JobP>,
    hazard_scale: f64,
    /// (type index, most Spot instances of it at once).
    capacity: Option<(usize, u32)>,
    seed: u64,
    start_delay_ms: u64,
}

fn type_p() -> impl Strategy<Value = TypeP> {
    (
        1u32..=16,
        1024u32..=32768,
        0u32..=2,
        5u32..=300,
        0usize..5,
        10u32..=90,
    )
        .prop_map(
            |(vcpus, memory_mib, gpus, od_cents, bucket, savings)| TypeP {
                vcpus,
                memory_mib,
                gpus,
                od_cents,
                bucket,
                savings,
            },
        )
}

fn ce_p() -> impl Strategy<Value = CeP> {
    (
        any::<bool>(),
        0usize..4,
        4u32..=64,
        (0u8..4, any::<u32>(), any::<u32>()),
        any::<u32>(),
    )
        .prop_map(|(spot, strategy, max_vcpus, sizing, types_mask)| CeP {
            spot,
            strategy,
            max_vcpus,
            sizing,
            types_mask,
        })
}

fn queue_p() -> impl Strategy<Value = QueueP> {
    (-5i32..=5, prop::collection::vec(0usize..3, 1..=3))
        .prop_map(|(priority, order)| QueueP { priority, order })
}

fn job_p() -> impl Strategy<Value = JobP> {
    (
        0u64..=600_000,
        0usize..2,
        1u32..=8,
        256u32..=8192,
        prop_oneof![4 => Just(0u32), 1 => Just(1u32)],
        1u64..=900,
        prop_oneof![4 => Just(0i32), 1 => Just(1i32)],
        1u32..=3,
    )
        .prop_map(
            |(submit_ms, queue, vcpus, memory_mib, gpus, run_s, exit_code, attempts)| JobP {
                submit_ms,
                queue,
                vcpus,
                memory_mib,
                gpus,
                run_s,
                exit_code,
                attempts,
            },
        )
}

fn params() -> impl Strategy<Value = Params> {
    (
        prop_oneof![
            Just(None),
            prop::collection::vec(type_p(), 1..=5).prop_map(Some)
        ],
        prop::collection::vec(ce_p(), 1..=3),
        prop::collection::vec(queue_p(), 1..=2),
        prop::collection::vec(job_p(), 1..=40),
        prop_oneof![Just(0.0), Just(50.0), Just(500.0)],
        prop_oneof![2 => Just(None), 1 => (0usize..5, 0u32..=3).prop_map(Some)],
        any::<u64>(),
        prop_oneof![Just(0u64), Just(2_500u64)],
    )
        .prop_map(
            |(types, ces, queues, jobs, hazard_scale, capacity, seed, start_delay_ms)| Params {
                types,
                ces,
                queues,
                jobs,
                hazard_scale,
                capacity,
                seed,
                start_delay_ms,
            },
        )
}

fn build(p: &Params) -> Scenario {
    const BUCKETS: [InterruptionBucket; 5] = InterruptionBucket::ALL;
    let catalog = match &p.types {
        None => common::small_catalog(),
        Some(ts) => Catalog::new(
            ts.iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut it = common::itype(
                        &format!("r{i}.x"),
                        t.vcpus,
                        t.memory_mib,
                        t.gpus,
                        t.od_cents as f64 / 100.0,
                        BUCKETS[t.bucket],
                    );
                    // Registered memory below nominal, so a job sized to the nominal memory
                    // must not be placed there.
                    it.registered_memory_mib = registered_memory_mib(t.memory_mib, 250);
                    it.spot_savings_pct = Some(t.savings);
                    it
                })
                .collect(),
        ),
    };
    let n_types = catalog.len();
    let ces: Vec<ComputeEnvironment> = p
        .ces
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let market = if c.spot {
                Market::Spot
            } else {
                Market::OnDemand
            };
            let strategy = if c.spot {
                AllocationStrategy::ALL[c.strategy]
            } else {
                AllocationStrategy::ALL[c.strategy % 2]
            };
            let mut types: Vec<&str> = (0..n_types)
                .filter(|t| c.types_mask & (1 << t) != 0)
                .map(|t| catalog.types()[t].name.as_str())
                .collect();
            if types.is_empty() {
                types = catalog.types().iter().map(|t| t.name.as_str()).collect();
            }
            let mut e = common::ce(
                &format!("ce{i}"),
                market,
                strategy,
                c.max_vcpus,
                &catalog,
                &types,
            );
            let (kind, a, b) = c.sizing;
            let max = c.max_vcpus;
            match kind {
                2 => e.desired_vcpus = a % (max + 1),
                3 => {
                    e.min_vcpus = 1 + a % max;
                    e.desired_vcpus = e.min_vcpus + b % (max - e.min_vcpus + 1);
                }
                _ => {}
            }
            e
        })
        .collect();
    let queues: Vec<JobQueue> = p
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut order: Vec<u16> = Vec::new();
            for &o in &q.order {
                let o = (o % ces.len()) as u16;
                if !order.contains(&o) {
                    order.push(o);
                }
            }
            common::queue(&format!("q{i}"), q.priority, &order)
        })
        .collect();
    let trace: Vec<TraceJob> = p
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let mut t = common::job(
                &format!("j{i}"),
                0,
                (j.queue % queues.len()) as u16,
                j.vcpus,
                j.memory_mib,
                j.run_s,
            );
            t.submit = SimTime(j.submit_ms);
            t.spec.gpus = j.gpus;
            t.spec.attempts = j.attempts;
            t.exit_code = j.exit_code;
            t
        })
        .collect();
    let mut s = common::scenario(catalog, ces, queues, trace);
    s.seed = p.seed;
    s.spot.hazard_scale = p.hazard_scale;
    if let Some((t, cap)) = p.capacity {
        s.spot
            .capacity
            .insert(InstanceTypeId((t % n_types) as u16), cap);
    }
    s.container_start_delay = SimDuration::from_millis(p.start_delay_ms);
    s
}

fn simulate(s: Scenario) -> (SimRun, String) {
    let mut buf: Vec<u8> = Vec::new();
    let run = flotilla::record::simulate(s, "p", Some(&mut buf)).expect("in-memory run");
    (run, String::from_utf8(buf).expect("utf-8 log"))
}

// ---------------------------------------------------------------------------------------
// Replaying events.jsonl
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct LoggedJob {
    queue: String,
    need: Resources,
    attempts: u32,
    /// Attempts started so far, with the instance each ran on.
    started: Vec<usize>,
    /// Exit code of each attempt whose container exited.
    exits: BTreeMap<u32, i64>,
}

#[derive(Debug)]
struct LoggedInstance {
    ce: usize,
    ty: InstanceTypeId,
    launched_ms: u64,
    ended_ms: Option<u64>,
    ready: bool,
    noticed: bool,
    failed: bool,
    /// Attempts placed here and not yet ended: (job, attempt, gpu ids).
    running: Vec<(usize, u32, Vec<u32>)>,
}

#[derive(Debug, Default)]
struct Replay {
    jobs: Vec<LoggedJob>,
    instances: Vec<LoggedInstance>,
    launch_failures: usize,
    host_losses: usize,
    last_t: u64,
}

fn instance_index(v: &Value) -> usize {
    let s = v.as_str().expect("instance id string");
    let hex = s.strip_prefix("i-").expect("i- prefix");
    assert_eq!(hex.len(), 17, "EC2-style id {s}");
    usize::from_str_radix(hex, 16).expect("hex id") - 1
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("`{key}` in {v}"))
}

/// Replays the log, asserting the per-event invariants (1, 4, 5) as it goes.
fn replay(s: &Scenario, log: &str) -> Replay {
    let cluster = &s.cluster;
    let cat = &cluster.catalog;
    let mut r = Replay::default();
    let mut committed = vec![0u64; cluster.compute_environments.len()];
    // Each CE's desiredvCpus (at least minvCpus), launched at the first wakeup before any
    // scheduling pass.
    let want: Vec<u64> = cluster
        .compute_environments
        .iter()
        .map(|c| c.desired_vcpus.max(c.min_vcpus) as u64)
        .collect();
    let mut wakeups = 0u32;
    let mut desired_checked = false;
    for (n, line) in log.lines().enumerate() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {n}: {e}: {line}"));
        let t = u(&v, "t_ms");
        assert!(t >= r.last_t, "time goes backwards at line {n}: {line}");
        r.last_t = t;
        let kind = v
            .get("input")
            .or_else(|| v.get("command"))
            .and_then(Value::as_str)
            .expect("kind");
        if wakeups == 1 && !desired_checked && v.get("input").is_some() {
            // The first wakeup's commands are over: desired capacity is all launched.
            desired_checked = true;
            for (c, (&have, &w)) in committed.iter().zip(&want).enumerate() {
                // Strict BEST_FIT on On-Demand stops short when one more instance of even
                // its smallest type would cross maxvCpus.
                let cfg = &cluster.compute_environments[c];
                let smallest = cfg
                    .instance_types
                    .iter()
                    .map(|&t| cat.get(t).vcpus)
                    .min()
                    .unwrap_or(0);
                let strict_stop = !cfg.allocation_strategy.may_exceed_max_vcpus(cfg.market)
                    && have + smallest as u64 > cfg.max_vcpus as u64;
                assert!(
                    have >= w || strict_stop,
                    "CE {c} launched {have} of its {w} desired vCPUs"
                );
            }
        }
        match kind {
            "JobSubmitted" => {
                let need = Resources {
                    vcpus: u(&v, "vcpus") as u32,
                    memory_mib: u(&v, "memory") as u32,
                    gpus: u(&v, "gpus") as u32,
                };
                r.jobs.push(LoggedJob {
                    queue: v["jobQueue"].as_str().expect("queue").to_string(),
                    need,
                    attempts: u(&v, "attempts") as u32,
                    started: Vec::new(),
                    exits: BTreeMap::new(),
                });
            }
            "LaunchInstance" => {
                let id = instance_index(&v["instance"]);
                assert_eq!(
                    id,
                    r.instances.len(),
                    "instance ids are assigned in launch order"
                );
                let ce_name = v["computeEnvironment"].as_str().expect("ce");
                let ce = cluster
                    .compute_environments
                    .iter()
                    .position(|c| c.name == ce_name)
                    .expect("known CE");
                let ty = cat
                    .find(v["instanceType"].as_str().expect("type"))
                    .expect("type in catalog");
                let cfg = &cluster.compute_environments[ce];
                assert!(
                    cfg.instance_types.contains(&ty),
                    "{line}: type not in the CE's instanceTypes"
                );
                assert_eq!(v["market"].as_str(), Some(cfg.market.as_str()), "{line}");
                committed[ce] += cat.get(ty).vcpus as u64;
                // Invariant 5: maxvCpus, exceeded by at most one instance (never by strict
                // BEST_FIT on On-Demand), the desired-capacity launches at the start included.
                let max = cfg.max_vcpus as u64;
                if cfg.allocation_strategy.may_exceed_max_vcpus(cfg.market) {
                    let largest = cfg
                        .instance_types
                        .iter()
                        .map(|&t| cat.get(t).vcpus)
                        .max()
                        .unwrap_or(0) as u64;
                    assert!(
                        committed[ce] < max + largest,
                        "{line}: {} committed vCPUs in {ce_name} (max {max}, largest type {largest})",
                        committed[ce]
                    );
                } else {
                    assert!(
                        committed[ce] <= max,
                        "{line}: {} committed vCPUs in strict {ce_name} (max {max})",
                        committed[ce]
                    );
                }
                r.instances.push(LoggedInstance {
                    ce,
                    ty,
                    launched_ms: t,
                    ended_ms: None,
                    ready: false,
                    noticed: false,
                    failed: false,
                    running: Vec::new(),
                });
            }
            "LaunchFailed" | "InstanceTerminated" | "TerminateInstance" => {
                let id = instance_index(&v["instance"]);
                let inst = &mut r.instances[id];
                assert!(inst.ended_ms.is_none(), "{line}: instance already gone");
                inst.ended_ms = Some(t);
                committed[inst.ce] -= cat.get(inst.ty).vcpus as u64;
                match kind {
                    "LaunchFailed" => {
                        assert!(
                            !inst.ready && inst.running.is_empty(),
                            "{line}: a failed launch had started"
                        );
                        assert_eq!(inst.launched_ms, t, "{line}: launches fail at once");
                        assert_eq!(
                            cluster.compute_environments[inst.ce].market,
                            Market::Spot,
                            "{line}"
                        );
                        inst.failed = true;
                        r.launch_failures += 1;
                    }
                    "InstanceTerminated" => {
                        assert_eq!(
                            cluster.compute_environments[inst.ce].market,
                            Market::Spot,
                            "{line}"
                        );
                        inst.running.clear();
                        r.host_losses += 1;
                    }
                    _ => {
                        // Scale-in only takes idle instances.
                        assert!(
                            inst.running.is_empty(),
                            "{line}: scale-in of a busy instance: {:?}",
                            inst.running
                        );
                        assert!(inst.ready, "{line}: scale-in of an instance never ready");
                    }
                }
            }
            "InstanceReady" => {
                let inst = &mut r.instances[instance_index(&v["instance"])];
                assert!(inst.ended_ms.is_none() && !inst.ready, "{line}");
                inst.ready = true;
            }
            "SpotInterruptionNotice" => {
                let inst = &mut r.instances[instance_index(&v["instance"])];
                assert!(inst.ended_ms.is_none() && !inst.noticed, "{line}");
                assert_eq!(
                    cluster.compute_environments[inst.ce].market,
                    Market::Spot,
                    "{line}"
                );
                inst.noticed = true;
            }
            "StartJob" => {
                let job = u(&v, "job") as usize;
                let attempt = u(&v, "attempt") as u32;
                let id = instance_index(&v["instance"]);
                let gpu_ids: Vec<u32> = v["gpuIds"]
                    .as_array()
                    .expect("gpuIds")
                    .iter()
                    .map(|g| g.as_u64().expect("gpu id") as u32)
                    .collect();
                let j = &mut r.jobs[job];
                // Invariant 4: attempts numbered 1, 2, … up to retryStrategy.attempts.
                assert_eq!(
                    attempt as usize,
                    j.started.len() + 1,
                    "{line}: attempt numbering"
                );
                assert!(
                    attempt <= j.attempts,
                    "{line}: attempt beyond retryStrategy.attempts {}",
                    j.attempts
                );
                if let Some(&prev) = j.started.last() {
                    assert!(
                        r.instances[prev].running.iter().all(|x| x.0 != job),
                        "{line}: previous attempt still running"
                    );
                }
                j.started.push(id);
                let need = j.need;
                // Invariant 4: only on a CE of the job's queue.
                let q = cluster.find_queue(&j.queue).expect("queue");
                let inst = &r.instances[id];
                assert!(
                    cluster
                        .queue(q)
                        .compute_environment_order
                        .contains(&ComputeEnvironmentId(inst.ce as u16)),
                    "{line}: CE {} not in queue {}'s computeEnvironmentOrder",
                    cluster.compute_environments[inst.ce].name,
                    j.queue
                );
                assert!(
                    inst.ready && inst.ended_ms.is_none() && !inst.failed,
                    "{line}: host not ready: {inst:?}"
                );
                assert!(
                    !inst.noticed,
                    "{line}: new job on an instance that got its Spot notice"
                );
                // Invariant 1: capacity.
                let ty = cat.get(inst.ty);
                let mut used = need;
                for &(other, _, _) in &inst.running {
                    used = used.plus(&r.jobs[other].need);
                }
                assert!(
                    used.vcpus <= ty.vcpus
                        && used.memory_mib <= ty.registered_memory_mib
                        && used.gpus <= ty.gpus,
                    "{line}: over-committed {} ({} vCPU, {} MiB registered, {} GPU): {used:?} with {:?}",
                    ty.name,
                    ty.vcpus,
                    ty.registered_memory_mib,
                    ty.gpus,
                    inst.running
                );
                assert_eq!(
                    gpu_ids.len() as u32,
                    need.gpus,
                    "{line}: GPU ids for {} GPUs",
                    need.gpus
                );
                let mut held: BTreeSet<u32> = inst
                    .running
                    .iter()
                    .flat_map(|x| x.2.iter().copied())
                    .collect();
                for &g in &gpu_ids {
                    assert!(g < ty.gpus, "{line}: GPU id {g} on a {}-GPU host", ty.gpus);
                    assert!(held.insert(g), "{line}: GPU {g} already in use on the host");
                }
                r.instances[id].running.push((job, attempt, gpu_ids));
            }
            "JobRunning" | "JobExited" => {
                let job = u(&v, "job") as usize;
                let attempt = u(&v, "attempt") as u32;
                let j = &mut r.jobs[job];
                assert_eq!(
                    j.started.len() as u32,
                    attempt,
                    "{line}: not the current attempt"
                );
                let id = j.started[attempt as usize - 1];
                let inst = &mut r.instances[id];
                let pos = inst
                    .running
                    .iter()
                    .position(|x| x.0 == job && x.1 == attempt);
                let pos = pos.unwrap_or_else(|| panic!("{line}: attempt is not live on {id}"));
                if kind == "JobExited" {
                    inst.running.swap_remove(pos);
                    j.exits
                        .insert(attempt, v["exitCode"].as_i64().expect("exit code"));
                }
            }
            "Wakeup" => wakeups += 1,
            "SpotPriceChanged" => {}
            other => panic!("unknown event kind {other}: {line}"),
        }
    }
    r
}

// ---------------------------------------------------------------------------------------
// Checks on the finished run
// ---------------------------------------------------------------------------------------

/// Whether the Spot market may refuse type `t` forever: a pool capped at 0, or capped at all
/// while some CE pins instances with minvCpus (which may fill the pool for good).
fn pool_can_starve(s: &Scenario, t: InstanceTypeId) -> bool {
    match s.spot.capacity.get(&t) {
        None => false,
        Some(0) => true,
        Some(_) => s
            .cluster
            .compute_environments
            .iter()
            .any(|c| c.min_vcpus > 0),
    }
}

/// Whether compute environment `c` could refuse a job needing `need` forever: it can never
/// hold the job at all, it pins instances (minvCpus > 0, so maxvCpus or a pool can stay
/// full), or it is Spot and every type it would launch for the job (for BEST_FIT: the one
/// cheapest type it insists on) is a pool that can starve.
fn ce_can_block(s: &Scenario, c: &ComputeEnvironment, need: &Resources) -> bool {
    if c.min_vcpus > 0 || !ce_serves(s, c, need).1 {
        return true;
    }
    if c.market != Market::Spot {
        return false;
    }
    let cat = &s.cluster.catalog;
    let cands = c
        .instance_types
        .iter()
        .copied()
        .filter(|&t| type_holds(cat.get(t), need) && cat.get(t).has_spot());
    match c.allocation_strategy {
        // BEST_FIT insists on the cheapest type (price, then fewer vCPUs, then name).
        AllocationStrategy::BestFit => cands
            .min_by_key(|&t| {
                let ty = cat.get(t);
                (ty.default_spot_price(), ty.vcpus, ty.name.clone())
            })
            .is_some_and(|t| pool_can_starve(s, t)),
        _ => cands.into_iter().all(|t| pool_can_starve(s, t)),
    }
}

/// Independent feasibility: `None` if some CE of the queue could ever hold the job.
fn expected_unplaceable(s: &Scenario, q: JobQueueId, need: &Resources) -> Option<StatusReason> {
    let (mut any_type, mut ok) = (false, false);
    for &c in &s.cluster.queue(q).compute_environment_order {
        let (a, o) = ce_serves(s, s.cluster.ce(c), need);
        any_type |= a;
        ok |= o;
    }
    match (ok, any_type) {
        (true, _) => None,
        (false, true) => Some(StatusReason::ComputeEnvironmentMaxResource),
        (false, false) => Some(StatusReason::JobResourceRequirement),
    }
}

/// Whether some type of `c` holds a job needing `need` (with a Spot offer on Spot), and
/// whether one does within maxvCpus (the job's vCPUs never above it, nor the instance's on
/// strict BEST_FIT On-Demand): if not, `c` can never run the job.
fn ce_serves(s: &Scenario, c: &ComputeEnvironment, need: &Resources) -> (bool, bool) {
    let cat = &s.cluster.catalog;
    let (mut any_type, mut ok) = (false, false);
    for &t in &c.instance_types {
        let ty = cat.get(t);
        if !type_holds(ty, need) || (c.market == Market::Spot && !ty.has_spot()) {
            continue;
        }
        any_type = true;
        let strict = !c.allocation_strategy.may_exceed_max_vcpus(c.market);
        ok |= need.vcpus <= c.max_vcpus && (!strict || ty.vcpus <= c.max_vcpus);
    }
    (any_type, ok)
}

/// Checks invariants 1 and 3-5 and the per-job half of 2 (every job is SUCCEEDED, FAILED
/// or RUNNABLE, consistently with its attempts); returns the RUNNABLE jobs by queue.
fn check_run(
    s: &Scenario,
    run: &SimRun,
    log: &str,
) -> Result<BTreeMap<JobQueueId, Vec<usize>>, TestCaseError> {
    let r = replay(s, log);
    let engine = &run.engine;
    let cluster = &s.cluster;
    let cat = &cluster.catalog;
    let jobs = engine.jobs();
    prop_assert_eq!(jobs.len(), s.trace.len());
    prop_assert_eq!(r.jobs.len(), s.trace.len());
    prop_assert_eq!(engine.instances().len(), r.instances.len());

    // --- Invariant 2: every job ends, or waits RUNNABLE on a market that never serves it.
    let mut unfinished: BTreeMap<JobQueueId, Vec<usize>> = BTreeMap::new();
    for (i, (j, tj)) in jobs.iter().zip(&s.trace).enumerate() {
        prop_assert_eq!(&j.spec, &tj.spec, "job {} out of trace order", i);
        let expect = expected_unplaceable(s, j.spec.queue, &j.resources());
        let unplaceable = j.status_reason.is_some_and(StatusReason::is_unplaceable);
        prop_assert_eq!(
            unplaceable,
            expect.is_some(),
            "job {}: {:?}, expected {:?}",
            i,
            j.status_reason,
            expect
        );
        if unplaceable {
            prop_assert_eq!(j.status, JobStatus::Failed);
            prop_assert_eq!(j.status_reason, expect);
            prop_assert!(
                j.attempts.is_empty() && r.jobs[i].started.is_empty(),
                "unplaceable job {} ran",
                i
            );
            continue;
        }
        match j.status {
            JobStatus::Succeeded | JobStatus::Failed => {}
            JobStatus::Runnable => {
                unfinished.entry(j.spec.queue).or_default().push(i);
                continue;
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "job {i} ended the run {other}"
                )))
            }
        }
        // --- Invariant 4: attempts, exit codes.
        let n = j.attempts.len() as u32;
        prop_assert!(
            n >= 1 && n <= j.spec.attempts,
            "job {}: {} attempts of {}",
            i,
            n,
            j.spec.attempts
        );
        prop_assert_eq!(
            r.jobs[i].started.len() as u32,
            n,
            "job {}: StartJob commands vs attempts",
            i
        );
        for (a, rec) in j.attempts.iter().enumerate() {
            prop_assert_eq!(rec.instance.0 as usize, r.jobs[i].started[a]);
            prop_assert_eq!(
                rec.exit_code.map(i64::from),
                r.jobs[i].exits.get(&(a as u32 + 1)).copied()
            );
        }
        let last = j.last_attempt().expect("an attempt");
        if j.status == JobStatus::Succeeded {
            prop_assert_eq!(
                last.exit_code,
                Some(0),
                "job {} SUCCEEDED with {:?}",
                i,
                last.exit_code
            );
            prop_assert_eq!(tj.exit_code, 0);
            prop_assert!(j.status_reason.is_none());
        } else {
            prop_assert_eq!(n, j.spec.attempts, "job {} FAILED with attempts left", i);
            match j.status_reason {
                Some(StatusReason::EssentialContainerExited) => {
                    prop_assert_eq!(last.exit_code, Some(tj.exit_code));
                    prop_assert!(tj.exit_code != 0);
                }
                Some(StatusReason::HostTerminated(h)) => {
                    prop_assert_eq!(last.instance, h);
                    prop_assert!(engine.instances()[h.0 as usize].interrupted);
                }
                other => {
                    return Err(TestCaseError::fail(format!(
                        "job {i} FAILED with {other:?}"
                    )))
                }
            }
        }
        if tj.exit_code != 0 {
            prop_assert_eq!(
                j.status,
                JobStatus::Failed,
                "job {} exits {} but did not fail",
                i,
                tj.exit_code
            );
        }
    }
    let open = jobs.iter().filter(|j| !j.status.is_terminal()).count() as u64;
    prop_assert_eq!(run.summary.jobs_unfinished, open);
    prop_assert_eq!(
        run.summary.jobs_succeeded + run.summary.jobs_failed + run.summary.jobs_unfinished,
        run.summary.jobs_total
    );
    for waiting in unfinished.values() {
        for &i in waiting {
            let j = &jobs[i];
            prop_assert!(
                j.attempts.len() < j.spec.attempts as usize,
                "job {} waits with no attempt left",
                i
            );
        }
    }

    // --- Invariant 3: costs.
    let end = run.stats.end;
    prop_assert_eq!(run.bills.len(), engine.instances().len());
    let (mut od, mut spot, mut launched, mut failed) = (MicroUsd::ZERO, MicroUsd::ZERO, 0u64, 0u64);
    for (k, ((rec, bill), logged)) in engine
        .instances()
        .iter()
        .zip(&run.bills)
        .zip(&r.instances)
        .enumerate()
    {
        prop_assert_eq!(rec.instance_type, logged.ty);
        prop_assert_eq!(rec.launched_at, SimTime(logged.launched_ms));
        prop_assert_eq!(
            rec.terminated_at,
            logged.ended_ms.map(SimTime),
            "instance {}",
            k
        );
        prop_assert_eq!(rec.launch_failure.is_some(), logged.failed);
        if logged.failed {
            prop_assert_eq!(
                *bill,
                flotilla::record::Bill::default(),
                "refused launch {} billed",
                k
            );
            failed += 1;
            continue;
        }
        launched += 1;
        let ty = cat.get(rec.instance_type);
        let price = match rec.market {
            Market::OnDemand => ty.on_demand_per_hour,
            Market::Spot => ty.default_spot_price().expect("spot price"),
        };
        let lived = rec
            .terminated_at
            .unwrap_or(end)
            .saturating_since(rec.launched_at)
            .as_millis();
        let billed = (lived.div_ceil(1000) * 1000).max(60_000);
        prop_assert!(
            bill.billed.as_millis() >= 60_000,
            "instance {} billed {:?}",
            k,
            bill.billed
        );
        prop_assert_eq!(
            bill.billed.as_millis(),
            billed,
            "instance {} lived {} ms",
            k,
            lived
        );
        let cost = (price.0 as u128 * billed as u128 + 1_800_000) / 3_600_000;
        prop_assert_eq!(
            bill.cost,
            MicroUsd(cost as u64),
            "instance {} at {} for {} ms",
            k,
            price,
            billed
        );
        match rec.market {
            Market::OnDemand => od += bill.cost,
            Market::Spot => spot += bill.cost,
        }
    }
    let total: MicroUsd = run.bills.iter().map(|b| b.cost).sum();
    prop_assert_eq!(od + spot, total);
    prop_assert_eq!(MicroUsd::from_usd(run.summary.total_cost_usd), total);
    prop_assert_eq!(MicroUsd::from_usd(run.summary.on_demand_cost_usd), od);
    prop_assert_eq!(MicroUsd::from_usd(run.summary.spot_cost_usd), spot);
    prop_assert_eq!(run.summary.instances_launched, launched);
    prop_assert_eq!(run.summary.launch_failures, failed);
    prop_assert_eq!(r.launch_failures as u64, failed);
    prop_assert_eq!(run.summary.spot_interruptions, r.host_losses as u64);
    if s.spot.hazard_scale == 0.0 {
        prop_assert_eq!(
            r.host_losses,
            0,
            "reclaims with no hazard and no price changes"
        );
    }
    if s.spot.capacity.is_empty() {
        prop_assert_eq!(
            failed,
            0,
            "refused launches with unlimited pools at list prices"
        );
    }
    Ok(unfinished)
}

/// Invariant 2, the other half: a queue with RUNNABLE jobs at the end of a run must have a
/// head the market can starve forever: a waiting job that no ready or booting host of its
/// queue's CEs has room for, and that every one of those CEs could refuse forever (a Spot
/// pool capped at 0, or capacity pinned by minvCpus). Nothing else may leave a job unfinished.
fn check_waiting_jobs_are_starved(
    s: &Scenario,
    run: &SimRun,
    unfinished: &BTreeMap<JobQueueId, Vec<usize>>,
) -> Result<(), TestCaseError> {
    let engine = &run.engine;
    let jobs = engine.jobs();
    let cluster = &s.cluster;
    for (q, waiting) in unfinished {
        let order = &cluster.queue(*q).compute_environment_order;
        let starved = waiting.iter().any(|&i| {
            let need = jobs[i].resources();
            order.iter().all(|&c| {
                let no_room = engine.instances().iter().all(|inst| {
                    inst.compute_environment != c
                        || !matches!(inst.state, InstanceState::Ready | InstanceState::Pending)
                        || !inst.free.holds(&need)
                });
                no_room && ce_can_block(s, cluster.ce(c), &need)
            })
        });
        prop_assert!(
            starved,
            "queue {} left jobs {:?} RUNNABLE with no capacity limit or minvCpus to explain it",
            cluster.queue(*q).name,
            waiting
        );
    }
    Ok(())
}

/// 256 cases (a second or two in release) from a fixed seed, so the suite is reproducible;
/// `PROPTEST_CASES` and `PROPTEST_RNG_SEED` explore further.
fn config() -> ProptestConfig {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    ProptestConfig {
        cases: env("PROPTEST_CASES").map_or(256, |c| c as u32),
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            env("PROPTEST_RNG_SEED").unwrap_or(0xf107_111a),
        ),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Invariants 1, 3, 4, 5 (and the per-job part of 2) on random small scenarios.
    #[test]
    fn random_runs_keep_capacity_cost_and_queue_invariants(p in params()) {
        let s = build(&p);
        let (run, log) = simulate(s.clone());
        check_run(&s, &run, &log)?;
    }

    /// Invariant 2: every job ends unless the market can starve it forever.
    #[test]
    fn random_runs_finish_every_job_the_market_can_serve(p in params()) {
        let s = build(&p);
        let (run, log) = simulate(s.clone());
        let waiting = check_run(&s, &run, &log)?;
        check_waiting_jobs_are_starved(&s, &run, &waiting)?;
    }

    #[test]
    fn summary_json_round_trips(
        ints in prop::collection::vec(any::<u64>(), 64),
        millis in prop::collection::vec(0u64..=u64::from(u32::MAX) * 1000, 64),
        words in prop::collection::vec("[ -~]{0,12}", 64),
        lists in prop::collection::vec(prop::collection::vec("[ -~]{0,10}", 0..4), 64),
    ) {
        // Fill every field of the summary, whatever fields it has, by its JSON type: text,
        // lists of names, counts, and floats that are milliseconds or micro-dollars scaled to
        // a unit (the only floats a summary holds).
        let template = serde_json::to_value(Summary::default()).expect("to value");
        let Value::Object(template) = template else {
            panic!("a summary is a JSON object");
        };
        let mut filled = serde_json::Map::new();
        for (k, (key, v)) in template.into_iter().enumerate() {
            let x = match v {
                Value::String(_) => Value::from(words[k].clone()),
                Value::Array(_) => Value::from(lists[k].clone()),
                Value::Number(n) if n.is_u64() => Value::from(ints[k]),
                Value::Number(_) if k % 2 == 0 => Value::from(millis[k] as f64 / 1000.0),
                Value::Number(_) => Value::from(MicroUsd(millis[k]).as_usd()),
                other => panic!("unexpected summary field {key}: {other}"),
            };
            filled.insert(key, x);
        }
        let filled = Value::Object(filled);
        let s: Summary = serde_json::from_value(filled.clone()).expect("from value");
        let text = serde_json::to_string_pretty(&s).expect("serialize");
        let back: Summary = serde_json::from_str(&text).expect("deserialize");
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(serde_json::to_value(&back).expect("to value"), filled);
        let compact = serde_json::to_string(&s).expect("serialize");
        let compact: Summary = serde_json::from_str(&compact).expect("deserialize");
        prop_assert_eq!(compact, s);
    }
}

/// The checker itself must catch an over-committed host: a log that places two 2-vCPU jobs
/// on a 2-vCPU instance is rejected.
#[test]
#[should_panic(expected = "over-committed")]
fn replay_rejects_an_over_committed_host() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        16,
        &cat,
        &["s.large"],
    );
    let s = common::scenario(cat, vec![ce], vec![common::queue("q0", 1, &[0])], vec![]);
    let log = [
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"a","jobQueue":"q0","vcpus":2,"memory":100,"gpus":0,"attempts":1}"#,
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"b","jobQueue":"q0","vcpus":2,"memory":100,"gpus":0,"attempts":1}"#,
        r#"{"t_ms":0,"command":"LaunchInstance","instance":"i-00000000000000001","computeEnvironment":"ce0","instanceType":"s.large","market":"EC2","max_price_micro_usd_per_hour":100000}"#,
        r#"{"t_ms":60000,"input":"InstanceReady","instance":"i-00000000000000001"}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":0,"instance":"i-00000000000000001","attempt":1,"gpuIds":[]}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":1,"instance":"i-00000000000000001","attempt":1,"gpuIds":[]}"#,
    ]
    .join("\n");
    replay(&s, &log);
}

/// A pool with no capacity at all behind a single BEST_FIT Spot CE: the job can never run,
/// and the property must accept exactly that (RUNNABLE, not FAILED, not lost).
#[test]
fn zero_capacity_pool_leaves_the_job_runnable() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::Spot,
        AllocationStrategy::BestFit,
        16,
        &cat,
        &["s.large", "s.xlarge"],
    );
    let mut s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 1, &[0])],
        vec![common::job("a", 0, 0, 1, 512, 60)],
    );
    s.spot.capacity.insert(InstanceTypeId(0), 0);
    let (run, log) = simulate(s.clone());
    assert_eq!(run.engine.jobs()[0].status, JobStatus::Runnable);
    assert_eq!(run.summary.jobs_unfinished, 1);
    let waiting = check_run(&s, &run, &log).expect("invariants");
    check_waiting_jobs_are_starved(&s, &run, &waiting).expect("a starved job is allowed");
    // Without the cap, the same scenario must finish, and the check must insist on it.
    let mut free = s.clone();
    free.spot.capacity.clear();
    let (run, log) = simulate(free.clone());
    assert_eq!(run.engine.jobs()[0].status, JobStatus::Succeeded);
    let mut forged = check_run(&free, &run, &log).expect("invariants");
    forged.insert(JobQueueId(0), vec![0]);
    assert!(
        check_waiting_jobs_are_starved(&free, &run, &forged).is_err(),
        "an unexplained wait is rejected"
    );
}

/// maxvCpus is a hard limit for BEST_FIT on On-Demand (reference §5.2), also for the
/// desiredvCpus launched at the start: desired 5 on 2-vCPU instances is at most 4 vCPUs (or
/// at least not 6, which is over maxvCpus 5).
#[test]
fn desired_capacity_never_exceeds_strict_max_vcpus() {
    let cat = common::small_catalog();
    let mut ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        5,
        &cat,
        &["s.large"],
    );
    ce.desired_vcpus = 5;
    ce.min_vcpus = 5;
    let s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 1, &[0])],
        vec![common::job("a", 0, 0, 1, 512, 60)],
    );
    let (_run, log) = simulate(s);
    let launched_vcpus = log
        .lines()
        .filter(|l| l.contains("\"command\":\"LaunchInstance\""))
        .count() as u32
        * 2;
    assert!(launched_vcpus >= 2, "desired capacity launches something");
    assert!(
        launched_vcpus <= 5,
        "strict BEST_FIT on EC2 launched {launched_vcpus} vCPUs with maxvCpus 5"
    );
}

/// Scale-in gives maxvCpus headroom back: a job that waited for it (here a GPU job behind a
/// CPU instance in a 4-vCPU strict BEST_FIT CE) must run once the idle instance is gone.
#[test]
fn scale_in_frees_max_vcpus_for_a_waiting_job() {
    let cat = common::small_catalog();
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        4,
        &cat,
        &["s.large", "g.xlarge"],
    );
    let mut gpu = common::job("b", 0, 0, 1, 256, 1);
    gpu.spec.gpus = 1;
    let s = common::scenario(
        cat,
        vec![ce],
        vec![common::queue("q0", 1, &[0])],
        vec![common::job("a", 0, 0, 1, 256, 1), gpu],
    );
    let (run, log) = simulate(s.clone());
    assert!(
        log.contains("TerminateInstance"),
        "the CPU instance is scaled in"
    );
    let waiting = check_run(&s, &run, &log).expect("invariants");
    let statuses: Vec<JobStatus> = run.engine.jobs().iter().map(|j| j.status).collect();
    assert_eq!(
        statuses,
        [JobStatus::Succeeded, JobStatus::Succeeded],
        "waiting: {waiting:?}"
    );
}

/// The checker catches two jobs handed the same GPU of a host.
#[test]
#[should_panic(expected = "already in use")]
fn replay_rejects_a_shared_gpu() {
    let g = common::itype("g.2xlarge", 8, 16384, 2, 1.0, InterruptionBucket::Under5);
    let cat = Catalog::new(vec![g]);
    let ce = common::ce(
        "ce0",
        Market::OnDemand,
        AllocationStrategy::BestFit,
        16,
        &cat,
        &["g.2xlarge"],
    );
    let s = common::scenario(cat, vec![ce], vec![common::queue("q0", 1, &[0])], vec![]);
    let log = [
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"a","jobQueue":"q0","vcpus":1,"memory":100,"gpus":1,"attempts":1}"#,
        r#"{"t_ms":0,"input":"JobSubmitted","jobName":"b","jobQueue":"q0","vcpus":1,"memory":100,"gpus":1,"attempts":1}"#,
        r#"{"t_ms":0,"command":"LaunchInstance","instance":"i-00000000000000001","computeEnvironment":"ce0","instanceType":"g.2xlarge","market":"EC2","max_price_micro_usd_per_hour":1000000}"#,
        r#"{"t_ms":60000,"input":"InstanceReady","instance":"i-00000000000000001"}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":0,"instance":"i-00000000000000001","attempt":1,"gpuIds":[1]}"#,
        r#"{"t_ms":60000,"command":"StartJob","job":1,"instance":"i-00000000000000001","attempt":1,"gpuIds":[1]}"#,
    ]
    .join("\n");
    replay(&s, &log);
}
