//! The simulation driver: a virtual clock, an event queue, and a modelled EC2 fleet with
//! boot delays, Spot prices, Spot interruptions and per-pool capacity.
//!
//! Modelling choices (documented in the README too):
//! - Billing runs from the launch request to termination (boot time is paid, as on EC2).
//! - A Spot instance's reclaim time is drawn at launch from an exponential distribution
//!   with the hazard of its type's interruption bucket (see
//!   [`crate::model::InterruptionBucket::hazard_per_hour`]) times `spot.hazard_scale`; the
//!   two-minute notice comes first. A price rise above an instance's maximum price also
//!   reclaims it (notice now, gone two minutes later).
//! - A pool is one instance type in one availability zone (one unnamed zone unless the
//!   scenario lists zones); `spot.capacity` caps the Spot instances of a type alive at once
//!   in each. On-Demand capacity is unlimited. Zones, price histories and synthetic prices:
//!   see [`pools`] and [`spot`].
//! - Measured traces (`[[spot.measured]]`) can drive a pool's capacity and reclaims
//!   instead: see [`measured`].

pub mod billing;
mod events;
mod held;
pub mod measured;
mod pending;
pub mod pool_spec;
pub mod pools;
pub mod rng;
mod spot;
mod synthetic;
mod world;

pub use events::{EventQueue, WorldEvent};
use pending::PendingTrace;
pub use world::{Prices, WorldInstance, WorldJob};

use crate::driver::Driver;
use crate::engine::{Command, Engine, ExitCause, Input, InstanceId};
use crate::model::{AllocationStrategy, Catalog, JobId, Market, MicroUsd, SimDuration, SimTime};
use crate::scenario::{Scenario, SpotModel, TraceJob};
use billing::PriceTimeline;
use pools::SpotMarket;
use rand_pcg::Pcg64;

/// How long after the last submission a run may go on before it is cut (guards against
/// jobs that can never run, e.g. a Spot pool with no capacity at all).
pub const DEFAULT_HORIZON_AFTER_LAST_SUBMIT: SimDuration = SimDuration::from_secs(30 * 86_400);

/// The two-minute Spot interruption notice.
pub const SPOT_NOTICE: SimDuration = SimDuration::from_secs(120);

/// The simulated world a run's engine talks to.
pub struct SimDriver {
    trace: PendingTrace,
    held: held::HeldJobs,
    /// Engine job id of each trace row submitted so far.
    trace_ids: Vec<JobId>,
    events: EventQueue,
    jobs: Vec<WorldJob>,
    instances: Vec<WorldInstance>,
    boot_delay: Vec<SimDuration>,
    hazard: Vec<Option<f64>>,
    prices: Prices,
    /// Spot pools: prices now, capacity, live instances.
    market: SpotMarket,
    /// Allocation strategy of each compute environment (the fleet picks zones by it).
    ce_strategy: Vec<AllocationStrategy>,
    /// Time between synthetic price steps, when some pool has synthetic prices.
    price_step: Option<SimDuration>,
    spot: SpotModel,
    interruptions: Pcg64,
    measured: measured::MeasuredWorld,
    container_start_delay: SimDuration,
    horizon: SimTime,
    now: SimTime,
}

impl SimDriver {
    /// A world for `scenario` (its trace is moved into the driver).
    pub fn new(scenario: Scenario) -> Self {
        let Scenario {
            seed,
            mut cluster,
            trace,
            spot,
            container_start_delay,
            epoch_ms,
            ..
        } = scenario;
        cluster.add_unmanaged_host_types();
        let catalog = &cluster.catalog;
        let last_submit = trace
            .iter()
            .map(|j| j.submit)
            .max()
            .unwrap_or(SimTime::ZERO);
        let setup = SpotMarket::build(catalog, &spot, seed, epoch_ms);
        let (trace, held) = held::HeldJobs::split(trace);
        let mut events = EventQueue::default();
        for &(at, pool, p) in &setup.changes {
            events.push(at, WorldEvent::PriceChange(pool, p));
        }
        let price_step = setup
            .market
            .has_synthetic()
            .then(|| spot.market.synthetic.map(|m| m.step))
            .flatten();
        if let Some(step) = price_step {
            events.push(SimTime::ZERO + step, WorldEvent::PriceTick);
        }
        let prices = prices_of(catalog, &setup);
        let name = |t: crate::model::InstanceTypeId| catalog.get(t).name.clone();
        let zones = setup.market.zones().to_vec();
        let measured =
            measured::MeasuredWorld::new(seed, &spot.measured, &zones, &name, &mut events);
        SimDriver {
            jobs: Vec::with_capacity(trace.len()),
            trace_ids: Vec::with_capacity(trace.len()),
            trace: PendingTrace::new(trace),
            held,
            events,
            instances: Vec::new(),
            boot_delay: catalog.types().iter().map(|t| t.boot_delay).collect(),
            hazard: catalog
                .types()
                .iter()
                .map(|t| t.interruption_bucket.map(|b| b.hazard_per_hour()))
                .collect(),
            prices,
            market: setup.market,
            ce_strategy: cluster
                .compute_environments
                .iter()
                .map(|ce| ce.allocation_strategy)
                .collect(),
            price_step,
            spot,
            interruptions: rng::stream(seed, "interruptions"),
            measured,
            container_start_delay,
            horizon: last_submit + DEFAULT_HORIZON_AFTER_LAST_SUBMIT,
            now: SimTime::ZERO,
        }
    }

    /// Instances as the world saw them, indexed by [`InstanceId`].
    pub fn instances(&self) -> &[WorldInstance] {
        &self.instances
    }

    /// Price timelines, for billing.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }

    /// Time of the last event delivered.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Whether the run stopped at its horizon with work left.
    pub fn hit_horizon(&self) -> bool {
        self.now >= self.horizon
    }

    fn deliver(&mut self, at: SimTime, e: WorldEvent) -> Option<Input> {
        match e {
            WorldEvent::InstanceReady(i) => self
                .instance(i)
                .alive()
                .then_some(Input::InstanceReady { instance: i }),
            WorldEvent::LaunchFailed(i, reason) => Some(Input::LaunchFailed {
                instance: i,
                reason,
            }),
            WorldEvent::JobRunning(j, a) => self
                .attempt_live(j, a)
                .then_some(Input::JobRunning { job: j, attempt: a }),
            WorldEvent::JobExited(j, a, code) => {
                if !self.attempt_live(j, a) {
                    return None;
                }
                self.end_attempt(j);
                Some(Input::JobExited {
                    job: j,
                    attempt: a,
                    exit_code: code,
                    cause: ExitCause::Exited,
                })
            }
            WorldEvent::SpotNotice(i, reclaim) => {
                let inst = self.instance_mut(i);
                let due = inst.alive() && !inst.noticed && inst.reclaim_at == Some(reclaim);
                inst.noticed |= due;
                due.then_some(Input::SpotInterruptionNotice { instance: i })
            }
            WorldEvent::SpotReclaim(i) => {
                let inst = self.instance(i);
                if !inst.alive() || inst.reclaim_at != Some(at) {
                    return None;
                }
                self.end_instance(i, at);
                for j in std::mem::take(&mut self.instance_mut(i).jobs) {
                    self.jobs[j.0 as usize].attempt = 0;
                }
                Some(Input::InstanceTerminated { instance: i })
            }
            WorldEvent::CancelRequested(job) => Some(Input::CancelJobRequested { job }),
            WorldEvent::TerminateRequested(job) => Some(Input::TerminateJobRequested { job }),
            WorldEvent::Measured(pool) => {
                self.measured_tick(pool, at);
                None
            }
            WorldEvent::PriceChange(pool, price) => Some(self.price_changed(pool, price, at)),
            WorldEvent::PriceTick => {
                self.price_tick(at);
                None
            }
        }
    }

    /// Registers a trace job with the world (its children too, for an array job: the engine
    /// gives them the ids after the parent's) and turns it into the engine's input.
    ///
    /// `next_id` is the id the engine will give the job (its job count). Records the engine
    /// made for the previous submission (array children, multi-node nodes: the ids after
    /// it) share that submission's facts; they are filled in lazily, so the world follows
    /// whatever the engine created (none, for a job its DISABLED queue refused).
    fn submit(&mut self, mut job: TraceJob, next_id: JobId) -> Input {
        self.fill_to(next_id.0 as usize);
        let id = next_id;
        self.trace_ids.push(id);
        crate::scenario::resolve_dependencies(&mut job.spec, &self.trace_ids);
        let world = WorldJob {
            run_time: job.run_time,
            exit_code: job.exit_code,
            attempt: 0,
            instance: None,
        };
        self.jobs.push(world);
        if let Some(at) = job.cancel_at {
            self.events
                .push(at.max(job.submit), WorldEvent::CancelRequested(id));
        }
        if let Some(at) = job.terminate_at {
            self.events
                .push(at.max(job.submit), WorldEvent::TerminateRequested(id));
        }
        Input::JobSubmitted(Box::new(job.spec))
    }

    /// Extends the world's jobs to `len` with copies of the last submission's facts.
    fn fill_to(&mut self, len: usize) {
        if let Some(&last) = self.jobs.last() {
            let world = WorldJob {
                attempt: 0,
                instance: None,
                ..last
            };
            while self.jobs.len() < len {
                self.jobs.push(world);
            }
        }
    }

    fn instance(&self, i: InstanceId) -> &WorldInstance {
        &self.instances[i.0 as usize]
    }

    fn instance_mut(&mut self, i: InstanceId) -> &mut WorldInstance {
        &mut self.instances[i.0 as usize]
    }

    fn attempt_live(&self, j: JobId, attempt: u32) -> bool {
        self.jobs
            .get(j.0 as usize)
            .is_some_and(|w| w.attempt == attempt && attempt > 0)
    }

    fn end_attempt(&mut self, j: JobId) {
        let w = &mut self.jobs[j.0 as usize];
        w.attempt = 0;
        if let Some(i) = w.instance.take() {
            let jobs = &mut self.instances[i.0 as usize].jobs;
            if let Some(p) = jobs.iter().position(|&x| x == j) {
                jobs.swap_remove(p);
            }
        }
    }

    fn end_instance(&mut self, i: InstanceId, at: SimTime) {
        let inst = &mut self.instances[i.0 as usize];
        if let (Some(p), true) = (inst.pool, inst.alive()) {
            self.market.pool_mut(p).alive.remove(&i);
        }
        inst.ended_at = Some(at);
    }

    fn schedule_reclaim(&mut self, i: InstanceId, now: SimTime, reclaim: SimTime) {
        self.instances[i.0 as usize].reclaim_at = Some(reclaim);
        let notice = (reclaim - SPOT_NOTICE).max(now);
        self.events.push(notice, WorldEvent::SpotNotice(i, reclaim));
        self.events.push(reclaim, WorldEvent::SpotReclaim(i));
    }
}

/// On-Demand and Spot price timelines of every catalog type under `spot` (Spot: per pool,
/// as known before the run; synthetic prices are drawn during a run).
pub fn build_prices(catalog: &Catalog, spot: &SpotModel) -> Prices {
    prices_of(catalog, &SpotMarket::build(catalog, spot, 0, 0))
}

fn prices_of(catalog: &Catalog, setup: &pools::MarketSetup) -> Prices {
    Prices {
        on_demand: catalog
            .types()
            .iter()
            .map(|t| PriceTimeline::constant(t.on_demand_per_hour))
            .collect(),
        spot: setup.timelines.clone(),
        type_pool: catalog
            .ids()
            .map(|t| setup.market.pools_of(t).first().copied())
            .collect(),
        instance_pool: Vec::new(),
    }
}

impl Driver for SimDriver {
    type Error = std::convert::Infallible;

    fn next_input(&mut self, engine: &Engine) -> Result<Option<(SimTime, Input)>, Self::Error> {
        loop {
            self.held.observe(engine);
            // A job released think-time after its predecessor may come after the logged
            // submissions: the run's horizon follows it.
            if let Some(at) = self.held.latest_ready() {
                self.horizon = self.horizon.max(at + DEFAULT_HORIZON_AFTER_LAST_SUBMIT);
            }
            let wake = engine.next_wakeup();
            let submit = self.held.peek_submit(&self.trace);
            let event = self.events.peek_time();
            let done = submit.is_none()
                && wake.is_none()
                && self.events.foreground() == 0
                && (engine.open_jobs() == 0 || self.events.is_empty());
            if done {
                return Ok(None);
            }
            let next_world = match (submit, event) {
                (Some(s), Some(e)) => Some(s.min(e)),
                (s, e) => s.or(e),
            };
            let t = match (next_world, wake) {
                (Some(w), Some(k)) => w.min(k),
                (w, k) => w.or(k).unwrap_or(self.now),
            };
            if t > self.horizon {
                return Ok(None);
            }
            self.now = self.now.max(t);
            // World events at a time go before the engine's wakeup at that time, so the
            // scheduling pass sees every fact of the instant.
            if next_world.is_some_and(|w| wake.is_none_or(|k| w <= k)) {
                if event == Some(t) {
                    let (at, e) = self.events.pop().expect("peeked");
                    if let Some(input) = self.deliver(at, e) {
                        return Ok(Some((at, input)));
                    }
                    continue;
                }
                let next_id = JobId(engine.jobs().len() as u32);
                let job = self
                    .held
                    .next_job(&mut self.trace, next_id)
                    .expect("peeked");
                return Ok(Some((job.submit, self.submit(job, next_id))));
            }
            return Ok(Some((t, Input::Wakeup)));
        }
    }

    fn apply(&mut self, now: SimTime, command: &Command) -> Result<(), Self::Error> {
        match *command {
            Command::LaunchInstance {
                instance,
                instance_type,
                market,
                max_price_per_hour,
                compute_environment,
            } => {
                let strategy = self.ce_strategy[compute_environment.0 as usize];
                let launch = spot::Launch {
                    id: instance,
                    instance_type,
                    market,
                    max_price: max_price_per_hour,
                    strategy,
                };
                self.launch(now, launch)
            }
            Command::AdoptHost {
                instance,
                instance_type,
                ..
            } => {
                // An UNMANAGED host: already running, not billed by this run.
                let launch = spot::Launch {
                    id: instance,
                    instance_type,
                    market: Market::OnDemand,
                    max_price: MicroUsd::ZERO,
                    strategy: AllocationStrategy::BestFit,
                };
                self.launch(now, launch)
            }
            Command::TerminateInstance { instance } => self.end_instance(instance, now),
            Command::StopJob { job, attempt, .. } => {
                // Modelling choice: simulated containers exit on SIGTERM at once, with 143.
                if self.attempt_live(job, attempt) {
                    self.events
                        .push(now, WorldEvent::JobExited(job, attempt, 143));
                }
            }
            Command::StartJob {
                job,
                instance,
                attempt,
                ..
            } => {
                self.fill_to(job.0 as usize + 1);
                let w = &mut self.jobs[job.0 as usize];
                w.attempt = attempt;
                w.instance = Some(instance);
                let (run, code) = (w.run_time, w.exit_code);
                self.instances[instance.0 as usize].jobs.push(job);
                let running = now + self.container_start_delay;
                self.events
                    .push(running, WorldEvent::JobRunning(job, attempt));
                self.events
                    .push(running + run, WorldEvent::JobExited(job, attempt, code));
            }
        }
        Ok(())
    }
}
