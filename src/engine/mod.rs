//! The scheduler engine: a pure, deterministic state machine shared by every driver.
//!
//! ```text
//!   driver ──Input (fact)──▶ Engine::handle(now, input, &mut out) ──Command──▶ driver
//!          ◀──────────────── Engine::next_wakeup() ──────────────────────────
//! ```
//!
//! The engine does no I/O, reads no clock and draws no random numbers; its state iterates in
//! a fixed order (vectors and B-tree maps), so the same inputs at the same times give the same
//! commands. Inputs arriving at one instant are batched: they only mark the engine dirty, and
//! the scheduling pass runs once when the driver delivers [`Input::Wakeup`] at the time
//! [`Engine::next_wakeup`] asked for. That makes queue evaluation a cycle over all queues in
//! priority order (reference §4.2) instead of a race between same-time inputs.
//!
//! ```
//! use flotilla::engine::{Command, Engine, Input};
//! use flotilla::model::*;
//!
//! let catalog = flotilla::input::default_catalog(250, SimDuration::from_secs(90));
//! let c5 = catalog.resolve_selector("c5");
//! let cluster = Cluster {
//!     catalog,
//!     compute_environments: vec![ComputeEnvironment {
//!         name: "od".into(),
//!         market: Market::OnDemand,
//!         min_vcpus: 0,
//!         max_vcpus: 64,
//!         desired_vcpus: 0,
//!         instance_types: c5,
//!         allocation_strategy: AllocationStrategy::BestFit,
//!         bid_percentage: 100,
//!         idle_timeout: SimDuration::from_secs(300),
//!         capacity_retry: SimDuration::from_secs(60),
//!         ..ComputeEnvironment::default()
//!     }],
//!     job_queues: vec![JobQueue {
//!         name: "q".into(),
//!         priority: 1,
//!         compute_environment_order: vec![ComputeEnvironmentId(0)],
//!         ..JobQueue::default()
//!     }],
//!     options: SchedulingOptions::default(),
//! };
//! let mut engine = Engine::new(cluster);
//! let mut out = Vec::new();
//! let spec = JobSpec {
//!     name: "hello".into(),
//!     queue: JobQueueId(0),
//!     vcpus: 2,
//!     memory_mib: 2048,
//!     gpus: 0,
//!     attempts: 1,
//!     ..JobSpec::default()
//! };
//! engine.handle(SimTime::ZERO, Input::JobSubmitted(Box::new(spec)), &mut out);
//! assert!(out.is_empty(), "inputs only mark the engine dirty");
//! assert_eq!(engine.next_wakeup(), Some(SimTime::ZERO));
//! engine.handle(SimTime::ZERO, Input::Wakeup, &mut out);
//! // BEST_FIT launches the cheapest c5 that holds 2 vCPUs and 2 GiB: a c5.large.
//! let Command::LaunchInstance { instance, instance_type, .. } = out[0] else { panic!() };
//! assert_eq!(engine.cluster().catalog.get(instance_type).name, "c5.large");
//! out.clear();
//! let ready = SimTime(90_000);
//! engine.handle(ready, Input::InstanceReady { instance }, &mut out);
//! assert!(matches!(out[0], Command::StartJob { attempt: 1, .. }));
//! ```

mod backfill;
mod capacity;
mod control;
mod dispatch;
mod environment;
mod instances;
mod io;
mod jobs;
mod multinode;
pub mod policy;
mod provisioning;
mod queue;
mod state;
mod submit;

pub use capacity::{CapacityIndex, Resources};
pub use environment::{job_id, private_ipv4};
pub use io::{Command, ExitCause, Input, InstanceId, LaunchFailure, STOP_GRACE};
pub use provisioning::{rank, type_holds, Candidate, Unit};
pub use state::{
    ArrayLink, Attempt, BlockReason, InstanceRecord, InstanceState, JobRecord, StatusReason,
    StopReason,
};

use crate::model::{
    Cluster, ComputeEnvironmentId, InstanceTypeId, JobId, JobQueueId, MicroUsd, SimTime,
};
use queue::RunnableQueue;
use std::collections::{BTreeMap, BTreeSet};

/// Something the engine asked to be woken for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// An instance may have been idle long enough to scale in.
    IdleCheck(InstanceId),
    /// A type a compute environment avoided for lack of capacity may be tried again.
    CapacityRetry(ComputeEnvironmentId),
    /// An attempt (job, attempt number) reaches its `attemptDurationSeconds`.
    AttemptTimeout(JobId, u32),
    /// A job blocked at the head of its queue may have reached a `jobStateTimeLimitActions`
    /// limit.
    StateTimeLimit(JobId),
    /// A backfilling reservation's start (a pass then starts it if it still can).
    ReservationDue(JobId),
}

/// Progress of a multi-node parallel job (see `multinode`).
#[derive(Clone, Debug)]
struct MultiNode {
    /// Id of node 0 (the nodes' ids follow the job's).
    first: JobId,
    /// `numNodes`.
    nodes: u32,
    /// `mainNode`.
    main: u32,
    /// Set when the main node's attempt ended: why it failed (None = exit 0) and its code.
    main_exit: Option<(Option<StatusReason>, Option<i32>)>,
    /// Node containers starting or running.
    live: u32,
}

/// Scheduling state of one compute environment.
#[derive(Debug, Default)]
struct CeState {
    /// Free capacity of ready instances.
    ready: CapacityIndex,
    /// Unreserved capacity of instances still booting.
    pending: CapacityIndex,
    /// vCPUs of every instance launched and not yet terminated.
    committed_vcpus: u32,
    /// Types that recently failed to launch for lack of capacity, until when to avoid them.
    unavailable_until: BTreeMap<InstanceTypeId, SimTime>,
}

/// Counters kept for the run summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Instances lost to Spot interruptions (or any host loss).
    pub spot_interruptions: u64,
    /// Launch requests that produced no instance.
    pub launch_failures: u64,
    /// Scheduling passes run.
    pub passes: u64,
}

/// The AWS Batch scheduler as a state machine.
pub struct Engine {
    cluster: Cluster,
    jobs: Vec<JobRecord>,
    instances: Vec<InstanceRecord>,
    queues: Vec<RunnableQueue>,
    queue_order: Vec<JobQueueId>,
    /// Σ maxvCpus of each queue's compute environments (for `computeReservation`).
    queue_max_vcpus: Vec<u64>,
    ces: Vec<CeState>,
    spot_prices: Vec<MicroUsd>,
    timers: BTreeSet<(SimTime, Timer)>,
    multinode: BTreeMap<JobId, MultiNode>,
    candidates: BTreeMap<(ComputeEnvironmentId, Resources), Vec<Candidate>>,
    feasibility: BTreeMap<(JobQueueId, Resources), Option<StatusReason>>,
    now: SimTime,
    dirty: bool,
    started: bool,
    open_jobs: usize,
    counters: EngineCounters,
    policies: policy::Policies,
    /// Backfilling state (reservations, expected releases), when a backfill policy is set.
    backfill: backfill::BackfillState,
}

impl Engine {
    /// An engine for `cluster`, with no jobs and no instances yet. Its first wakeup (at the
    /// driver's start time) launches each compute environment's `desiredvCpus`. The
    /// policies are the built-ins `cluster.options.policy` names.
    ///
    /// # Panics
    /// If that spec names no built-in policy (the scenario loaders reject such a spec
    /// first); use [`Engine::with_policies`] for policies of your own.
    pub fn new(cluster: Cluster) -> Self {
        let policies = policy::Registry::builtin()
            .resolve(&cluster.options.policy)
            .unwrap_or_else(|e| panic!("scheduler.policy: {e}"));
        Self::with_policies(cluster, policies)
    }

    /// [`Engine::new`] with the given policies instead of `cluster.options.policy`'s.
    pub fn with_policies(mut cluster: Cluster, policies: policy::Policies) -> Self {
        cluster.add_unmanaged_host_types();
        if let Some(s) = policies
            .provisioning
            .as_ref()
            .and_then(|p| p.allocation_strategy())
        {
            for ce in &mut cluster.compute_environments {
                ce.allocation_strategy = s.for_market(ce.market);
            }
        }
        if let Some(fs) = policies.order.fair_share() {
            for q in &mut cluster.job_queues {
                q.fairshare_policy.get_or_insert_with(|| fs.clone());
            }
        }
        let mut queue_order: Vec<JobQueueId> = (0..cluster.job_queues.len())
            .map(|i| JobQueueId(i as u16))
            .collect();
        // Higher priority first; equal priorities in scenario order.
        queue_order.sort_by_key(|q| std::cmp::Reverse(cluster.queue(*q).priority));
        let spot_prices = cluster
            .catalog
            .types()
            .iter()
            .map(|t| t.default_spot_price().unwrap_or(MicroUsd(u64::MAX)))
            .collect();
        let queue_max_vcpus = cluster
            .job_queues
            .iter()
            .map(|q| {
                let ces = q.compute_environment_order.iter();
                ces.map(|c| cluster.ce(*c).max_vcpus as u64).sum()
            })
            .collect();
        Engine {
            queues: cluster
                .job_queues
                .iter()
                .map(|q| RunnableQueue::new(q.fairshare_policy.as_ref()))
                .collect(),
            ces: (0..cluster.compute_environments.len())
                .map(|_| CeState::default())
                .collect(),
            cluster,
            jobs: Vec::new(),
            instances: Vec::new(),
            queue_order,
            queue_max_vcpus,
            spot_prices,
            timers: BTreeSet::new(),
            multinode: BTreeMap::new(),
            candidates: BTreeMap::new(),
            feasibility: BTreeMap::new(),
            now: SimTime::ZERO,
            dirty: false,
            started: false,
            open_jobs: 0,
            counters: EngineCounters::default(),
            backfill: backfill::BackfillState::new(
                policies.backfill.as_ref().map(|b| b.reservations()),
            ),
            policies,
        }
    }

    /// Reports a fact that happened at `now` (never earlier than the previous call's `now`)
    /// and appends the engine's requests to `out`.
    pub fn handle(&mut self, now: SimTime, input: Input, out: &mut Vec<Command>) {
        self.now = self.now.max(now);
        match input {
            Input::JobSubmitted(spec) => self.on_job_submitted(*spec),
            Input::InstanceReady { instance } => self.on_instance_ready(instance, out),
            Input::LaunchFailed { instance, reason } => self.on_launch_failed(instance, reason),
            Input::JobRunning { job, attempt } => self.on_job_running(job, attempt, out),
            Input::JobExited {
                job,
                attempt,
                exit_code,
                cause,
            } => self.on_job_exited(job, attempt, exit_code, cause, out),
            Input::SpotInterruptionNotice { instance } => self.on_interruption_notice(instance),
            Input::InstanceTerminated { instance } => self.on_instance_terminated(instance, out),
            Input::SpotPriceChanged {
                instance_type,
                price_per_hour,
            } => self.on_spot_price_changed(instance_type, price_per_hour),
            Input::CancelJobRequested { job } => self.on_cancel_requested(job),
            Input::TerminateJobRequested { job } => self.on_terminate_requested(job, out),
            Input::Wakeup => self.on_wakeup(out),
        }
    }

    /// When the engine next needs a [`Input::Wakeup`]: now if inputs are waiting for a
    /// scheduling pass, else its earliest timer. `None` means only new inputs can make it act.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        if self.dirty || !self.started {
            return Some(self.now);
        }
        self.timers.first().map(|(t, _)| *t)
    }

    fn on_wakeup(&mut self, out: &mut Vec<Command>) {
        if !self.started {
            self.started = true;
            self.launch_desired_capacity(out);
        }
        while let Some(&(at, timer)) = self.timers.first() {
            if at > self.now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::IdleCheck(i) => self.scale_in_if_idle(i, out),
                Timer::CapacityRetry(_) => self.dirty = true,
                Timer::AttemptTimeout(job, attempt) => self.on_attempt_timeout(job, attempt, out),
                Timer::StateTimeLimit(job) => self.on_state_time_limit(job),
                Timer::ReservationDue(_) => self.dirty = true,
            }
        }
        if self.dirty {
            self.dirty = false;
            self.counters.passes += 1;
            self.dispatch_pass(out);
        }
    }

    fn on_spot_price_changed(&mut self, t: InstanceTypeId, price: MicroUsd) {
        if let Some(p) = self.spot_prices.get_mut(t.0 as usize) {
            *p = price;
            // Rankings and bid filters depend on prices: rebuild them lazily.
            self.candidates.clear();
            self.dirty = true;
        }
    }

    /// The static configuration.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Makes room for `additional` more jobs at once: a driver that knows its trace's length
    /// spares the engine copying its job table each time it grows. Changes no outcome.
    pub fn reserve_jobs(&mut self, additional: usize) {
        self.jobs.reserve(additional);
    }

    /// Every job submitted so far, indexed by [`JobId`].
    pub fn jobs(&self) -> &[JobRecord] {
        &self.jobs
    }

    /// Every instance launched so far, indexed by [`InstanceId`].
    pub fn instances(&self) -> &[InstanceRecord] {
        &self.instances
    }

    /// The job with this id.
    pub fn job(&self, id: JobId) -> Option<&JobRecord> {
        self.jobs.get(id.0 as usize)
    }

    /// The instance with this id.
    pub fn instance(&self, id: InstanceId) -> Option<&InstanceRecord> {
        self.instances.get(id.0 as usize)
    }

    /// Jobs not yet SUCCEEDED or FAILED.
    pub fn open_jobs(&self) -> usize {
        self.open_jobs
    }

    /// The policies this engine runs with.
    pub fn policies(&self) -> &policy::Policies {
        &self.policies
    }

    /// Counters for the summary.
    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    /// The Spot price the engine currently believes for a type.
    pub fn spot_price(&self, t: InstanceTypeId) -> MicroUsd {
        self.spot_prices[t.0 as usize]
    }

    /// vCPUs of the instances a compute environment has launched and not terminated.
    pub fn committed_vcpus(&self, ce: ComputeEnvironmentId) -> u32 {
        self.ces[ce.0 as usize].committed_vcpus
    }
}
