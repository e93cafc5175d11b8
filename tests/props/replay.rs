//! Replaying `events.jsonl` independently of the engine's records.
//!
//! The log names jobs by the engine's ids, and a submission is one line even when the engine
//! makes several records of it, so the replay lays the records out itself from the trace:
//! an array job of size N is the parent and then its N children; a multi-node job of N nodes
//! is the job and then its N nodes; a job submitted to a DISABLED queue is one record (it
//! fails at once, with no children or nodes). The per-event invariants are asserted as the
//! replay goes: capacity and GPU ids at every StartJob (multi-node nodes hold whole
//! instances), attempt numbering, queue/CE membership, maxvCpus at every launch, no work on
//! DISABLED compute environments, array parents and multi-node jobs never started themselves,
//! StopJob only for a live attempt, CancelJob/TerminateJob for the job the trace names at the
//! time it names.

use flotilla::engine::Resources;
use flotilla::model::*;
use flotilla::scenario::Scenario;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What an engine record is, as laid out from the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Plain,
    /// An array job; `size` 0 when its queue refused it (no children).
    ArrayParent {
        size: u32,
    },
    ArrayChild {
        parent: usize,
        index: u32,
    },
    /// A multi-node job; `nodes` 0 when its queue refused it (no nodes).
    MnpParent {
        first: usize,
        nodes: u32,
        main: u32,
    },
    MnpNode {
        parent: usize,
        index: u32,
    },
}

/// One attempt as the log shows it.
#[derive(Debug)]
pub struct LoggedAttempt {
    pub instance: usize,
    pub start_ms: u64,
    pub running_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub exit: Option<i64>,
    /// Ended by the loss of its host.
    pub lost: bool,
    /// StopJob: (time, reason as logged).
    pub stop: Option<(u64, String)>,
}

#[derive(Debug)]
pub struct LoggedJob {
    /// Trace row it comes from (an array child's or node's: its parent's row).
    pub row: usize,
    pub kind: Kind,
    pub queue: JobQueueId,
    /// What it asks of a host (a node: the whole instance, set at its StartJob).
    pub need: Resources,
    pub max_attempts: u32,
    pub attempts: Vec<LoggedAttempt>,
    /// Whether its current attempt is STARTING or RUNNING.
    pub live: bool,
    /// Log line of each StartJob.
    pub start_lines: Vec<usize>,
}

#[derive(Debug)]
pub struct LoggedInstance {
    pub ce: usize,
    pub ty: InstanceTypeId,
    pub launched_ms: u64,
    pub ended_ms: Option<u64>,
    pub ready: bool,
    pub noticed: bool,
    pub failed: bool,
    pub adopted: bool,
    /// Attempts placed here and not yet ended: (job, attempt, gpu ids).
    pub running: Vec<(usize, u32, Vec<u32>)>,
}

/// A CancelJob or TerminateJob call.
#[derive(Debug)]
pub struct LoggedRequest {
    pub line: usize,
    pub t: u64,
    pub job: usize,
    pub terminate: bool,
    /// The records it applies to (an array job's children, else the job), each with whether
    /// it was STARTING or RUNNING at the call.
    pub targets: Vec<(usize, bool)>,
}

/// A StartJob in a fair-share queue, with the vCPUs of the queue's jobs then running (this
/// one included; a multi-node node counts its whole instance, as the engine charges it).
#[derive(Debug)]
pub struct FairStart {
    pub t: u64,
    /// The job started (a node's: its multi-node job).
    pub job: usize,
    pub queue: JobQueueId,
    pub running_vcpus: u64,
}

#[derive(Debug, Default)]
struct MnpState {
    live: bool,
    main_done: bool,
}

#[derive(Debug, Default)]
pub struct Replay {
    pub jobs: Vec<LoggedJob>,
    /// Engine id of each trace row.
    pub rows: Vec<usize>,
    pub instances: Vec<LoggedInstance>,
    pub requests: Vec<LoggedRequest>,
    pub fair_starts: Vec<FairStart>,
    pub launch_failures: usize,
    pub host_losses: usize,
    pub last_t: u64,
    mnp: BTreeMap<usize, MnpState>,
    fair_running: BTreeMap<JobQueueId, u64>,
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

impl Replay {
    /// A node's or any attempt's end: bookkeeping of liveness, multi-node progress and
    /// fair-share running vCPUs.
    fn attempt_ended(&mut self, job: usize, t: u64, lost: bool, exit: Option<i64>) {
        let j = &mut self.jobs[job];
        j.live = false;
        let a = j.attempts.last_mut().expect("an attempt");
        a.end_ms = Some(t);
        a.lost = lost;
        a.exit = exit;
        let (kind, queue, vcpus) = (j.kind, j.queue, j.need.vcpus as u64);
        if let Some(r) = self.fair_running.get_mut(&queue) {
            *r -= vcpus;
        }
        if let Kind::MnpNode { parent, index } = kind {
            let Kind::MnpParent { first, nodes, main } = self.jobs[parent].kind else {
                unreachable!("a node's parent is a multi-node job")
            };
            let st = self.mnp.entry(parent).or_default();
            if index == main {
                st.main_done = true;
            }
            if st.main_done && (first..first + nodes as usize).all(|n| !self.jobs[n].live) {
                st.live = false;
            }
        }
    }

    /// Whether record `job` is STARTING or RUNNING now (a multi-node job: from its main
    /// node's start until all its nodes stopped after the main node's end).
    pub fn is_live(&self, job: usize) -> bool {
        match self.jobs[job].kind {
            Kind::MnpParent { .. } => self.mnp.get(&job).is_some_and(|m| m.live),
            _ => self.jobs[job].live,
        }
    }
}

/// Replays the log, asserting the per-event invariants as it goes.
pub fn replay(s: &Scenario, log: &str) -> Replay {
    let cluster = &s.cluster;
    let cat = &cluster.catalog;
    let mut r = Replay::default();
    for (q, jq) in cluster.job_queues.iter().enumerate() {
        if jq.fairshare_policy.is_some() {
            r.fair_running.insert(JobQueueId(q as u16), 0);
        }
    }
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
                // It launches the types a 1-vCPU job (or, failing that, a 1-GPU job: a CE of
                // GPU types with CPU jobs kept off them keeps its minimum too) could get at
                // time 0: on Spot only those priced within the bid. Strict BEST_FIT on
                // On-Demand stops short when one more instance of even its smallest such type
                // would cross maxvCpus.
                let cfg = &cluster.compute_environments[c];
                let launchable = |t: InstanceTypeId| {
                    let ty = cat.get(t);
                    let series = s
                        .spot
                        .price_series
                        .get(&t)
                        .map_or(&[][..], |v| v.as_slice());
                    let at_start = series.iter().rev().find(|(at, _)| at.0 == 0).map(|x| x.1);
                    let cap = ty.on_demand_per_hour.percent(cfg.bid_percentage);
                    cfg.market == Market::OnDemand
                        || at_start
                            .or(ty.default_spot_price())
                            .is_some_and(|p| p <= cap)
                };
                let smallest = cfg
                    .instance_types
                    .iter()
                    .filter(|&&t| launchable(t))
                    .map(|&t| cat.get(t).vcpus as u64)
                    .min();
                let stops = match smallest {
                    None => true,
                    Some(v) => {
                        !cfg.allocation_strategy.may_exceed_max_vcpus(cfg.market)
                            && have + v > cfg.max_vcpus as u64
                    }
                };
                assert!(
                    have >= w || stops,
                    "CE {c} launched {have} of its {w} desired vCPUs"
                );
            }
        }
        // Commands of the first wakeup: the desired capacity and the UNMANAGED hosts.
        let first_wakeup = wakeups == 1 && !desired_checked;
        match kind {
            "JobSubmitted" => {
                let row = r.rows.len();
                let tj = s
                    .trace
                    .get(row)
                    .unwrap_or_else(|| panic!("{line}: more submissions than trace rows"));
                assert_eq!(v["jobName"].as_str(), Some(tj.spec.name.as_str()), "{line}");
                assert_eq!(t, tj.submit.0, "{line}: submitted at its trace time");
                let queue = cluster
                    .find_queue(v["jobQueue"].as_str().expect("queue"))
                    .expect("known queue");
                assert_eq!(queue, tj.spec.queue, "{line}");
                let need = Resources {
                    vcpus: u(&v, "vcpus") as u32,
                    memory_mib: u(&v, "memory") as u32,
                    gpus: u(&v, "gpus") as u32,
                };
                assert_eq!(
                    (
                        need.vcpus,
                        need.memory_mib,
                        need.gpus,
                        u(&v, "attempts") as u32
                    ),
                    (
                        tj.spec.vcpus,
                        tj.spec.memory_mib,
                        tj.spec.gpus,
                        tj.spec.attempts
                    ),
                    "{line}"
                );
                let id = r.jobs.len();
                r.rows.push(id);
                let refused = cluster.queue(queue).disabled;
                let children = if refused {
                    0
                } else {
                    tj.spec.array.map_or(0, |a| a.size)
                };
                let nodes = match &tj.spec.node_properties {
                    Some(np) if !refused => np.num_nodes,
                    _ => 0,
                };
                let kind = match (&tj.spec.array, &tj.spec.node_properties) {
                    (Some(_), _) => Kind::ArrayParent { size: children },
                    (None, Some(np)) => Kind::MnpParent {
                        first: id + 1,
                        nodes,
                        main: np.main_node,
                    },
                    _ => Kind::Plain,
                };
                let logged = |kind| LoggedJob {
                    row,
                    kind,
                    queue,
                    need,
                    max_attempts: tj.spec.attempts,
                    attempts: Vec::new(),
                    live: false,
                    start_lines: Vec::new(),
                };
                r.jobs.push(logged(kind));
                for index in 0..children {
                    r.jobs.push(logged(Kind::ArrayChild { parent: id, index }));
                }
                for index in 0..nodes {
                    r.jobs.push(logged(Kind::MnpNode { parent: id, index }));
                }
            }
            "LaunchInstance" | "AdoptHost" => {
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
                let type_key = if kind == "AdoptHost" {
                    "host"
                } else {
                    "instanceType"
                };
                let ty = cat
                    .find(v[type_key].as_str().expect("type"))
                    .expect("type in catalog");
                let cfg = &cluster.compute_environments[ce];
                assert!(
                    cfg.instance_types.contains(&ty),
                    "{line}: type not in the CE's instanceTypes"
                );
                let unmanaged = !cfg.unmanaged_hosts.is_empty();
                if kind == "AdoptHost" {
                    assert!(unmanaged, "{line}: a MANAGED CE adopts a host");
                    assert!(first_wakeup, "{line}: hosts are adopted at the start");
                } else {
                    assert!(!unmanaged, "{line}: an UNMANAGED CE launches");
                    assert_eq!(v["market"].as_str(), Some(cfg.market.as_str()), "{line}");
                    // The most it pays: On-Demand, or bidPercentage of it on Spot.
                    let od = cat.get(ty).on_demand_per_hour;
                    let cap = match cfg.market {
                        Market::OnDemand => od,
                        Market::Spot => od.percent(cfg.bid_percentage),
                    };
                    assert_eq!(u(&v, "max_price_micro_usd_per_hour"), cap.0, "{line}");
                    assert!(
                        !cfg.disabled || first_wakeup,
                        "{line}: a DISABLED CE scales out"
                    );
                }
                committed[ce] += cat.get(ty).vcpus as u64;
                // maxvCpus, exceeded by at most one instance (never by strict BEST_FIT on
                // On-Demand), the desired-capacity launches at the start included.
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
                    adopted: kind == "AdoptHost",
                    running: Vec::new(),
                });
            }
            "LaunchFailed" | "InstanceTerminated" | "TerminateInstance" => {
                let id = instance_index(&v["instance"]);
                let inst = &mut r.instances[id];
                assert!(inst.ended_ms.is_none(), "{line}: instance already gone");
                assert!(!inst.adopted, "{line}: an UNMANAGED host goes away");
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
                        // The engine knows every price change when it launches, so EC2
                        // only ever refuses it for capacity.
                        assert_eq!(
                            v["reason"].as_str(),
                            Some("InsufficientInstanceCapacity"),
                            "{line}: launched above its own price cap"
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
                        let lost = std::mem::take(&mut inst.running);
                        r.host_losses += 1;
                        for (job, attempt, _) in lost {
                            assert_eq!(r.jobs[job].attempts.len() as u32, attempt, "{line}");
                            r.attempt_ended(job, t, true, None);
                        }
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
                let ty = cat.get(r.instances[id].ty);
                let whole = Resources {
                    vcpus: ty.vcpus,
                    memory_mib: ty.registered_memory_mib,
                    gpus: ty.gpus,
                };
                let j = &r.jobs[job];
                match j.kind {
                    Kind::Plain | Kind::ArrayChild { .. } => {}
                    Kind::MnpNode { parent, index } => {
                        let Kind::MnpParent { first, main, .. } = r.jobs[parent].kind else {
                            unreachable!()
                        };
                        if index != main {
                            // Other nodes start once the main node is RUNNING.
                            let m = &r.jobs[first + main as usize];
                            let running =
                                m.live && m.attempts.last().is_some_and(|a| a.running_ms.is_some());
                            assert!(running, "{line}: a node starts before its main node runs");
                        } else {
                            let st = r.mnp.entry(parent).or_default();
                            assert!(!st.live, "{line}: main node started twice in one attempt");
                            *st = MnpState {
                                live: true,
                                main_done: false,
                            };
                        }
                    }
                    other => panic!("{line}: StartJob for a {other:?} record"),
                }
                let j = &mut r.jobs[job];
                if let Kind::MnpNode { .. } = j.kind {
                    // A node holds its whole instance.
                    j.need = whole;
                }
                // Attempts numbered 1, 2, … up to retryStrategy.attempts.
                assert_eq!(
                    attempt as usize,
                    j.attempts.len() + 1,
                    "{line}: attempt numbering"
                );
                assert!(
                    attempt <= j.max_attempts,
                    "{line}: attempt beyond retryStrategy.attempts {}",
                    j.max_attempts
                );
                assert!(!j.live, "{line}: previous attempt still running");
                j.live = true;
                j.start_lines.push(n);
                j.attempts.push(LoggedAttempt {
                    instance: id,
                    start_ms: t,
                    running_ms: None,
                    end_ms: None,
                    exit: None,
                    lost: false,
                    stop: None,
                });
                let (need, q, jkind) = (j.need, j.queue, j.kind);
                // Only on a CE of the job's queue, never a DISABLED one.
                let inst = &r.instances[id];
                let cfg = &cluster.compute_environments[inst.ce];
                assert!(
                    cluster
                        .queue(q)
                        .compute_environment_order
                        .contains(&ComputeEnvironmentId(inst.ce as u16)),
                    "{line}: CE {} not in queue {}'s computeEnvironmentOrder",
                    cfg.name,
                    cluster.queue(q).name
                );
                assert!(
                    !cfg.disabled,
                    "{line}: job placed in DISABLED CE {}",
                    cfg.name
                );
                // A multi-node job's nodes ask for no GPUs here (whole hosts aside).
                let asks_gpus = match jkind {
                    Kind::MnpNode { .. } => 0,
                    _ => need.gpus,
                };
                assert!(
                    asks_gpus > 0
                        || ty.gpus == 0
                        || !cluster.options.keep_cpu_jobs_off_gpu_instances,
                    "{line}: a CPU job on GPU host {} with CPU jobs kept off GPU types",
                    ty.name
                );
                assert!(
                    inst.ready && inst.ended_ms.is_none() && !inst.failed,
                    "{line}: host not ready: {inst:?}"
                );
                assert!(
                    !inst.noticed,
                    "{line}: new job on an instance that got its Spot notice"
                );
                // Capacity.
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
                if let Some(run) = r.fair_running.get_mut(&q) {
                    *run += need.vcpus as u64;
                    r.fair_starts.push(FairStart {
                        t,
                        job: match jkind {
                            Kind::MnpNode { parent, .. } => parent,
                            _ => job,
                        },
                        queue: q,
                        running_vcpus: *run,
                    });
                }
            }
            "JobRunning" | "JobExited" | "StopJob" => {
                let job = u(&v, "job") as usize;
                let attempt = u(&v, "attempt") as u32;
                let j = &mut r.jobs[job];
                assert_eq!(
                    j.attempts.len() as u32,
                    attempt,
                    "{line}: not the current attempt"
                );
                assert!(j.live, "{line}: attempt not live");
                let id = j.attempts[attempt as usize - 1].instance;
                let on_host = r.instances[id]
                    .running
                    .iter()
                    .position(|x| x.0 == job && x.1 == attempt);
                let pos = on_host.unwrap_or_else(|| panic!("{line}: attempt is not live on {id}"));
                let a = j.attempts.last_mut().expect("attempt");
                match kind {
                    "JobRunning" => {
                        assert!(a.running_ms.is_none(), "{line}: RUNNING twice");
                        a.running_ms = Some(t);
                    }
                    "StopJob" => {
                        assert_eq!(instance_index(&v["instance"]), id, "{line}");
                        assert!(a.stop.is_none(), "{line}: attempt stopped twice");
                        let reason = v["reason"].as_str().expect("reason").to_string();
                        assert!(
                            reason == "Timeout" || reason == "Terminated",
                            "{line}: stop reason"
                        );
                        a.stop = Some((t, reason));
                    }
                    _ => {
                        r.instances[id].running.swap_remove(pos);
                        let code = v["exitCode"].as_i64().expect("exit code");
                        r.attempt_ended(job, t, false, Some(code));
                    }
                }
            }
            "CancelJobRequested" | "TerminateJobRequested" => {
                let job = u(&v, "job") as usize;
                let terminate = kind == "TerminateJobRequested";
                let row = r
                    .rows
                    .iter()
                    .position(|&x| x == job)
                    .unwrap_or_else(|| panic!("{line}: not a submitted job's id"));
                let tj = &s.trace[row];
                let at = if terminate {
                    tj.terminate_at
                } else {
                    tj.cancel_at
                };
                let at = at.unwrap_or_else(|| panic!("{line}: row {row} has no such call"));
                assert_eq!(t, at.max(tj.submit).0, "{line}: called at the trace's time");
                let targets: Vec<usize> = match r.jobs[job].kind {
                    Kind::ArrayParent { size } => (job + 1..=job + size as usize).collect(),
                    _ => vec![job],
                };
                let targets = targets.into_iter().map(|x| (x, r.is_live(x))).collect();
                r.requests.push(LoggedRequest {
                    line: n,
                    t,
                    job,
                    terminate,
                    targets,
                });
            }
            "Wakeup" => wakeups += 1,
            "SpotPriceChanged" => {}
            other => panic!("unknown event kind {other}: {line}"),
        }
    }
    r
}
