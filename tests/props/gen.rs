//! Random small scenarios: plain jobs on managed On-Demand and Spot compute environments, and
//! sometimes every other AWS Batch feature the engine models: dependencies (plain and
//! `N_TO_N`), array jobs (sequential or not), timeouts, CancelJob/TerminateJob calls,
//! `evaluateOnExit` rules, multi-node parallel jobs (only on queues whose compute environments
//! are all managed On-Demand, and never as arrays, as the input layer requires), fair-share
//! queues with share identifiers, `jobStateTimeLimitActions`, DISABLED queues and compute
//! environments, and UNMANAGED compute environments.
//!
//! The Spot market sometimes has price changes for one type, Spot compute environments
//! sometimes a `bidPercentage` below 100, and the cluster sometimes keeps CPU jobs off GPU
//! instance types.
//!
//! Jobs are generated with their submit times sorted, so every dependency points to a smaller
//! trace index before and after `Scenario::sort_trace` (a stable sort).

use crate::common;
use flotilla::model::*;
use flotilla::scenario::{Scenario, TraceJob};
use proptest::prelude::*;

#[derive(Clone, Debug)]
pub struct TypeP {
    vcpus: u32,
    memory_mib: u32,
    gpus: u32,
    od_cents: u32,
    bucket: usize,
    savings: u32,
}

/// How a compute environment is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeKind {
    Managed,
    /// MANAGED but DISABLED: places nothing, launches nothing but its desired capacity.
    Disabled,
    /// UNMANAGED: a fixed set of hosts.
    Unmanaged,
}

#[derive(Clone, Debug)]
pub struct CeP {
    spot: bool,
    strategy: usize,
    max_vcpus: u32,
    /// 0-1: min = desired = 0; 2: desired > 0; 3: min > 0 (and desired ≥ min).
    sizing: (u8, u32, u32),
    types_mask: u32,
    kind: CeKind,
    /// Hosts of an UNMANAGED compute environment: (vCPUs, MiB, GPUs).
    hosts: Vec<(u32, u32, u32)>,
    /// `bidPercentage` of a Spot compute environment.
    bid: u32,
}

#[derive(Clone, Debug)]
pub struct FairP {
    decay_s: u64,
    reservation: u32,
    /// Weights of identifiers `a` and of prefix `t*` (None: no entry).
    weight_a: Option<f64>,
    weight_t: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct QueueP {
    priority: i32,
    order: Vec<usize>,
    disabled: bool,
    fair: Option<FairP>,
    /// `jobStateTimeLimitActions`: (reason index, maxTimeSeconds).
    time_limits: Vec<(usize, u64)>,
}

/// One `evaluateOnExit` rule: action (true = RETRY) and which pattern it carries.
#[derive(Clone, Debug)]
pub struct RuleP {
    retry: bool,
    pattern: usize,
}

#[derive(Clone, Debug)]
pub struct JobP {
    submit_ms: u64,
    queue: usize,
    vcpus: u32,
    memory_mib: u32,
    gpus: u32,
    run_s: u64,
    exit_code: i32,
    attempts: u32,
    /// Plain dependencies: raw picks among the earlier jobs.
    deps: Vec<u32>,
    /// `N_TO_N`: a raw pick among the earlier arrays of the same size.
    n_to_n: Option<u32>,
    /// (size, sequential).
    array: Option<(u32, bool)>,
    timeout_s: Option<u64>,
    /// (TerminateJob instead of CancelJob, delay after submission in ms).
    stop: Option<(bool, u64)>,
    rules: Vec<RuleP>,
    /// (numNodes, raw main node).
    nodes: Option<(u32, u32)>,
    share: usize,
    priority: u32,
}

#[derive(Clone, Debug)]
pub struct Params {
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
    /// Spot price changes of one type: (type index, [(time ms, percent of On-Demand)]).
    prices: Option<(usize, Vec<(u64, u32)>)>,
    /// `keep_cpu_jobs_off_gpu_instances`.
    keep_off_gpus: bool,
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
        prop_oneof![
            8 => Just(CeKind::Managed),
            1 => Just(CeKind::Disabled),
            1 => Just(CeKind::Unmanaged),
        ],
        prop::collection::vec((1u32..=16, 1024u32..=32768, 0u32..=1), 1..=3),
        prop_oneof![3 => Just(100u32), 1 => 20u32..=100],
    )
        .prop_map(
            |(spot, strategy, max_vcpus, sizing, types_mask, kind, hosts, bid)| CeP {
                spot,
                strategy,
                max_vcpus,
                sizing,
                types_mask,
                kind,
                hosts,
                bid,
            },
        )
}

fn fair_p() -> impl Strategy<Value = FairP> {
    (
        prop_oneof![Just(0u64), Just(60), Just(600), Just(3600)],
        prop_oneof![1 => Just(0u32), 2 => 1u32..50],
        prop::option::of(prop_oneof![Just(0.25), Just(1.0), Just(4.0)]),
        prop::option::of(prop_oneof![Just(0.5), Just(2.0)]),
    )
        .prop_map(|(decay_s, reservation, weight_a, weight_t)| FairP {
            decay_s,
            reservation,
            weight_a,
            weight_t,
        })
}

fn queue_p() -> impl Strategy<Value = QueueP> {
    (
        -5i32..=5,
        prop::collection::vec(0usize..3, 1..=3),
        prop_oneof![9 => Just(false), 1 => Just(true)],
        prop_oneof![2 => Just(None), 1 => fair_p().prop_map(Some)],
        prop_oneof![
            4 => Just(Vec::new()),
            1 => prop::collection::vec((0usize..2, 600u64..=1800), 1..=2),
        ],
    )
        .prop_map(|(priority, order, disabled, fair, time_limits)| QueueP {
            priority,
            order,
            disabled,
            fair,
            time_limits,
        })
}

fn rule_p() -> impl Strategy<Value = RuleP> {
    (any::<bool>(), 0usize..PATTERNS.len()).prop_map(|(retry, pattern)| RuleP { retry, pattern })
}

/// (onStatusReason, onReason, onExitCode) of the rule patterns.
const PATTERNS: [(Option<&str>, Option<&str>, Option<&str>); 7] = [
    (Some("Host EC2*"), None, None),
    (Some("*"), None, None),
    (None, None, Some("1")),
    (None, None, Some("*")),
    (Some("Essential*"), None, Some("2")),
    (None, Some("*"), None),
    (Some("Job attempt*"), None, None),
];

fn job_p() -> impl Strategy<Value = JobP> {
    let base = (
        0u64..=600_000,
        0usize..2,
        1u32..=8,
        256u32..=8192,
        prop_oneof![4 => Just(0u32), 1 => Just(1u32)],
        1u64..=900,
        prop_oneof![8 => Just(0i32), 2 => Just(1i32), 1 => Just(2i32)],
        1u32..=3,
    );
    let extra = (
        prop_oneof![
            3 => Just(Vec::new()),
            1 => prop::collection::vec(any::<u32>(), 1..=2),
        ],
        prop_oneof![3 => Just(None), 1 => any::<u32>().prop_map(Some)],
        prop_oneof![4 => Just(None), 1 => (2u32..6, any::<bool>()).prop_map(Some)],
        prop_oneof![4 => Just(None), 1 => (60u64..=900).prop_map(Some)],
        prop_oneof![
            5 => Just(None),
            1 => (any::<bool>(), 0u64..=900_000).prop_map(Some),
        ],
        prop_oneof![
            3 => Just(Vec::new()),
            1 => prop::collection::vec(rule_p(), 1..=3),
        ],
        prop_oneof![6 => Just(None), 1 => (1u32..=4, any::<u32>()).prop_map(Some)],
        (0usize..5, 0u32..3),
    );
    (base, extra).prop_map(
        |(
            (submit_ms, queue, vcpus, memory_mib, gpus, run_s, exit_code, attempts),
            (deps, n_to_n, array, timeout_s, stop, rules, nodes, (share, priority)),
        )| JobP {
            submit_ms,
            queue,
            vcpus,
            memory_mib,
            gpus,
            run_s,
            exit_code,
            attempts,
            deps,
            n_to_n,
            array,
            timeout_s,
            stop,
            rules,
            nodes,
            share,
            priority,
        },
    )
}

pub fn params() -> impl Strategy<Value = Params> {
    let world = (
        prop_oneof![
            Just(None),
            prop::collection::vec(type_p(), 1..=5).prop_map(Some)
        ],
        prop::collection::vec(ce_p(), 1..=3),
        prop::collection::vec(queue_p(), 1..=2),
        prop::collection::vec(job_p(), 1..=40),
        prop_oneof![Just(0.0), Just(50.0), Just(500.0), Just(20_000.0)],
        prop_oneof![2 => Just(None), 1 => (0usize..5, 0u32..=3).prop_map(Some)],
        any::<u64>(),
        prop_oneof![Just(0u64), Just(2_500u64)],
        prop_oneof![
            2 => Just(None),
            1 => (0usize..5, prop::collection::vec((0u64..=900_000, 5u32..=150), 1..=4))
                .prop_map(Some),
        ],
    );
    let options = prop_oneof![3 => Just(false), 1 => Just(true)];
    (world, options).prop_map(
        |(
            (types, ces, queues, jobs, hazard_scale, capacity, seed, start_delay_ms, prices),
            keep_off_gpus,
        )| {
            Params {
                types,
                ces,
                queues,
                jobs,
                hazard_scale,
                capacity,
                seed,
                start_delay_ms,
                prices,
                keep_off_gpus,
            }
        },
    )
}

/// Share identifiers jobs of fair-share queues pick from.
const SHARES: [&str; 5] = ["a", "b", "c", "t1", "t2"];

fn build_ce(i: usize, c: &CeP, catalog: &Catalog) -> ComputeEnvironment {
    if c.kind == CeKind::Unmanaged {
        let names: Vec<String> = (0..c.hosts.len()).map(|h| format!("h{h}")).collect();
        let hosts: Vec<(&str, u32, u32, u32)> = c
            .hosts
            .iter()
            .zip(&names)
            .map(|(&(vcpus, memory_mib, gpus), n)| (n.as_str(), vcpus, memory_mib, gpus))
            .collect();
        return common::unmanaged_ce(&format!("ce{i}"), &hosts);
    }
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
    let n_types = catalog.len();
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
        catalog,
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
    e.disabled = c.kind == CeKind::Disabled;
    if c.spot {
        e.bid_percentage = c.bid;
    }
    e
}

fn build_queue(i: usize, q: &QueueP, n_ces: usize) -> JobQueue {
    let mut order: Vec<u16> = Vec::new();
    for &o in &q.order {
        let o = (o % n_ces) as u16;
        if !order.contains(&o) {
            order.push(o);
        }
    }
    let mut jq = common::queue(&format!("q{i}"), q.priority, &order);
    jq.disabled = q.disabled;
    const REASONS: [&str; 2] = [
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
    ];
    jq.job_state_time_limit_actions = q
        .time_limits
        .iter()
        .map(|&(r, secs)| JobStateTimeLimitAction {
            reason: REASONS[r].to_string(),
            max_time: SimDuration::from_secs(secs),
        })
        .collect();
    jq.fairshare_policy = q.fair.as_ref().map(|f| {
        let mut dist = Vec::new();
        if let Some(w) = f.weight_a {
            dist.push(ShareWeight {
                share_identifier: "a".into(),
                weight_factor: w,
            });
        }
        if let Some(w) = f.weight_t {
            dist.push(ShareWeight {
                share_identifier: "t*".into(),
                weight_factor: w,
            });
        }
        FairsharePolicy {
            share_decay: SimDuration::from_secs(f.decay_s),
            compute_reservation: f.reservation,
            share_distribution: dist,
        }
    });
    jq
}

/// Whether multi-node jobs may go to queue `q`: every compute environment of it is managed
/// and On-Demand (AWS rejects them on SPOT or UNMANAGED capacity).
fn mnp_allowed(ces: &[ComputeEnvironment], q: &JobQueue) -> bool {
    q.compute_environment_order.iter().all(|c| {
        let ce = &ces[c.0 as usize];
        ce.market == Market::OnDemand && ce.unmanaged_hosts.is_empty()
    })
}

pub fn build(p: &Params) -> Scenario {
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
        .map(|(i, c)| build_ce(i, c, &catalog))
        .collect();
    let queues: Vec<JobQueue> = p
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| build_queue(i, q, ces.len()))
        .collect();
    // Sorted submit times (stable), so that trace indices are final here.
    let mut jobs: Vec<&JobP> = p.jobs.iter().collect();
    jobs.sort_by_key(|j| j.submit_ms);
    let mut trace: Vec<TraceJob> = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let q = j.queue % queues.len();
        let queue = &queues[q];
        let mut t = common::job(
            &format!("j{i}"),
            0,
            q as u16,
            j.vcpus,
            j.memory_mib,
            j.run_s,
        );
        t.submit = SimTime(j.submit_ms);
        t.spec.gpus = j.gpus;
        t.spec.attempts = j.attempts;
        t.exit_code = j.exit_code;
        t.spec.timeout = j.timeout_s.map(SimDuration::from_secs);
        t.spec.scheduling_priority = j.priority;
        if queue.fairshare_policy.is_some() {
            t.spec.share_identifier = Some(SHARES[j.share].to_string());
        }
        t.spec.evaluate_on_exit = j
            .rules
            .iter()
            .map(|r| {
                let (sr, reason, ec) = PATTERNS[r.pattern];
                EvaluateOnExit {
                    action: if r.retry {
                        RetryAction::Retry
                    } else {
                        RetryAction::Exit
                    },
                    on_status_reason: sr.map(str::to_string),
                    on_reason: reason.map(str::to_string),
                    on_exit_code: ec.map(str::to_string),
                }
            })
            .collect();
        match (j.nodes, j.array) {
            (Some((n, main)), _) if mnp_allowed(&ces, queue) => {
                t.spec.gpus = 0;
                t.spec.node_properties = Some(NodeProperties {
                    num_nodes: n,
                    main_node: main % n,
                    node_ranges: vec![NodeRange {
                        start: 0,
                        end: n - 1,
                        vcpus: j.vcpus,
                        memory_mib: j.memory_mib,
                        gpus: 0,
                    }],
                });
            }
            (_, Some((size, sequential))) => {
                t.spec.array = Some(ArrayProperties { size, sequential });
            }
            _ => {}
        }
        if i > 0 {
            for &d in &j.deps {
                let target = JobId(d % i as u32);
                if !t.spec.depends_on.iter().any(|x| x.job == target) {
                    t.spec.depends_on.push(JobDependency {
                        job: target,
                        kind: DependencyType::Standard,
                    });
                }
            }
        }
        if let (Some(a), Some(pick)) = (t.spec.array, j.n_to_n) {
            let same: Vec<usize> = (0..i)
                .filter(|&k| trace[k].spec.array.is_some_and(|b| b.size == a.size))
                .collect();
            if !same.is_empty() {
                let target = JobId(same[pick as usize % same.len()] as u32);
                t.spec.depends_on.retain(|x| x.job != target);
                t.spec.depends_on.push(JobDependency {
                    job: target,
                    kind: DependencyType::NToN,
                });
            }
        }
        match j.stop {
            Some((false, d)) => t.cancel_at = Some(SimTime(j.submit_ms + d)),
            Some((true, d)) => t.terminate_at = Some(SimTime(j.submit_ms + d)),
            None => {}
        }
        trace.push(t);
    }
    let mut s = common::scenario(catalog, ces, queues, trace);
    // Host types of UNMANAGED compute environments join the catalog now (as the engine and the
    // driver do on their copies), so the replay finds them by name.
    s.cluster.add_unmanaged_host_types();
    s.seed = p.seed;
    s.spot.hazard_scale = p.hazard_scale;
    if let Some((t, cap)) = p.capacity {
        s.spot
            .capacity
            .insert(InstanceTypeId((t % n_types) as u16), cap);
    }
    s.container_start_delay = SimDuration::from_millis(p.start_delay_ms);
    s.cluster.options.keep_cpu_jobs_off_gpu_instances = p.keep_off_gpus;
    if let Some((t, changes)) = &p.prices {
        let t = InstanceTypeId((t % n_types) as u16);
        let od = s.cluster.catalog.get(t).on_demand_per_hour;
        let mut series: Vec<(SimTime, MicroUsd)> = changes
            .iter()
            .map(|&(at, pct)| (SimTime(at), od.percent(pct)))
            .collect();
        series.sort_by_key(|c| c.0);
        s.spot.price_series.insert(t, series);
    }
    s
}
