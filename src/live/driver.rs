//! The live driver: real time, real hosts. It hands the engine the facts its executors
//! report (a container running, exiting, a host gone) and carries out the engine's
//! commands; it decides nothing itself.

use super::attempt::{AttemptSpec, Outcome};
use super::executor::{self, Executor, Msg};
use super::journal::{Journal, ProbedHost};
use crate::engine::{
    job_id, ArrayLink, Command, Engine, ExitCause, Input, InstanceId, InstanceState, STOP_GRACE,
};
use crate::input::JobDefinitions;
use crate::model::{InstanceTypeId, JobId, JobStatus, SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Exit code reported for an attempt whose container could not be started (Docker's own
/// convention for a daemon-side failure of `docker run`).
pub const CANNOT_START_EXIT_CODE: i32 = 125;

/// A host the run uses.
pub struct LiveHost {
    /// As probed.
    pub probed: ProbedHost,
    /// How its attempts run.
    pub executor: Executor,
    /// The engine's instance type standing for it.
    pub instance_type: InstanceTypeId,
}

/// Trace facts a live job carries into its container's environment so that a workload can
/// mimic the trace (`FLOTILLA_RUN_TIME_MS`, `FLOTILLA_EXIT_CODE`).
#[derive(Clone, Copy)]
struct Facts {
    run_time: SimDuration,
    exit_code: i32,
}

/// What a live run needs to know besides the engine.
pub struct LiveDriver {
    run: String,
    out_dir: PathBuf,
    origin_unix_ms: u64,
    hosts: Vec<LiveHost>,
    host_of_instance: BTreeMap<InstanceId, usize>,
    lost_hosts: BTreeSet<usize>,
    definitions: JobDefinitions,
    default_image: Option<String>,
    trace: VecDeque<TraceJob>,
    trace_ids: Vec<JobId>,
    facts: Vec<Facts>,
    timed: BTreeSet<(SimTime, u32, bool)>,
    pending: VecDeque<Input>,
    attempts: BTreeMap<(JobId, u32), watch::Sender<Option<Duration>>>,
    acks: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    rt: tokio::runtime::Handle,
    interrupts: u32,
    /// Every host is lost: waiting jobs are cancelled as they come.
    no_hosts_left: bool,
    /// Jobs already sent a CancelJob by `cancel_waiting`.
    cancel_sent: BTreeSet<u32>,
    last: SimTime,
    /// Engine time and the instant it was read, once driving starts.
    clock: Option<(u64, Instant)>,
    /// Time spent deciding and dispatching (not waiting), for the overhead figure.
    pub busy: Duration,
    /// Time spent forcing the journal to disk.
    pub fsync: Duration,
    /// StartJob commands carried out.
    pub starts: u64,
}

/// Settings of a [`LiveDriver`].
pub struct LiveSetup {
    /// Run id.
    pub run: String,
    /// Run folder.
    pub out_dir: PathBuf,
    /// Wall-clock time of engine time 0.
    pub origin_unix_ms: u64,
    /// Hosts, in probe order.
    pub hosts: Vec<LiveHost>,
    /// The scenario's job definitions (images).
    pub definitions: JobDefinitions,
    /// Image for jobs whose definition gives none.
    pub default_image: Option<String>,
    /// The trace, sorted by submission.
    pub trace: Vec<TraceJob>,
}

impl LiveDriver {
    /// A driver whose executors run on `rt`.
    pub fn new(s: LiveSetup, rt: tokio::runtime::Handle) -> LiveDriver {
        let (tx, rx) = std::sync::mpsc::channel();
        LiveDriver {
            run: s.run,
            out_dir: s.out_dir,
            origin_unix_ms: s.origin_unix_ms,
            hosts: s.hosts,
            host_of_instance: BTreeMap::new(),
            lost_hosts: BTreeSet::new(),
            definitions: s.definitions,
            default_image: s.default_image,
            trace: s.trace.into(),
            trace_ids: Vec::new(),
            facts: Vec::new(),
            timed: BTreeSet::new(),
            pending: VecDeque::new(),
            attempts: BTreeMap::new(),
            acks: Vec::new(),
            tasks: Vec::new(),
            tx,
            rx,
            rt,
            interrupts: 0,
            no_hosts_left: false,
            cancel_sent: BTreeSet::new(),
            last: SimTime::ZERO,
            clock: None,
            busy: Duration::ZERO,
            fsync: Duration::ZERO,
            starts: 0,
        }
    }

    /// A sender executors, health checks and signal handlers report through.
    pub fn sender(&self) -> Sender<Msg> {
        self.tx.clone()
    }

    /// Engine time now: milliseconds since the run's origin. The wall clock is read once,
    /// when this process starts driving; after that a monotonic clock counts, so a clock
    /// step cannot fire timeouts early or freeze time.
    fn now(&mut self) -> SimTime {
        let (base, at) = *self.clock.get_or_insert_with(|| {
            let unix = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            (unix.saturating_sub(self.origin_unix_ms), Instant::now())
        });
        let t = SimTime(base + at.elapsed().as_millis() as u64);
        self.last = self.last.max(t);
        self.last
    }

    /// Runs the engine until every job has ended (or Ctrl-C twice and the stops are done).
    pub fn run(
        &mut self,
        engine: &mut Engine,
        journal: &mut Journal,
        observer: &mut dyn crate::driver::Observer,
    ) -> std::io::Result<crate::driver::LoopStats> {
        let mut stats = crate::driver::LoopStats {
            end: self.last,
            ..Default::default()
        };
        let mut deferred = Vec::new();
        while let Some((now, input)) = self.next_input(engine) {
            let t0 = Instant::now();
            // Group commit: every input due now is journaled and handled at once, but the
            // commands that touch the hosts wait until the journal is on disk.
            let mut next = Some((now, input));
            while let Some((now, input)) = next.take() {
                journal.input(now, &input)?;
                self.step(engine, now, input, observer, &mut deferred);
                stats.events_processed += 1;
                stats.end = now;
                next = self.poll_ready(engine).map(|i| (self.now(), i));
            }
            let f0 = Instant::now();
            journal.sync()?;
            self.fsync += f0.elapsed();
            // The exits just journaled may now have their containers removed.
            for ack in self.acks.drain(..) {
                let _ = ack.send(());
            }
            stats.commands += deferred.len() as u64;
            for c in deferred.drain(..) {
                self.apply(engine, &c);
            }
            self.busy += t0.elapsed();
        }
        self.finish_tasks();
        Ok(stats)
    }

    /// Waits (at most a minute) for executors still saving logs or removing containers.
    fn finish_tasks(&mut self) {
        for ack in self.acks.drain(..) {
            let _ = ack.send(());
        }
        let tasks = std::mem::take(&mut self.tasks);
        let all = async move {
            for t in tasks {
                let _ = t.await;
            }
        };
        let _ = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), all).await });
    }

    /// Hands one input to the engine; its commands go to `deferred`, to be carried out
    /// once the input is on disk.
    fn step(
        &mut self,
        engine: &mut Engine,
        now: SimTime,
        input: Input,
        observer: &mut dyn crate::driver::Observer,
        deferred: &mut Vec<Command>,
    ) {
        self.note_input(engine, &input);
        observer.input(now, &input);
        let from = deferred.len();
        engine.handle(now, input, deferred);
        for c in &deferred[from..] {
            observer.command(now, c);
            self.note_command(c);
        }
    }

    /// Feeds a resumed run's journal to a fresh engine: the same inputs give the same state.
    /// Commands are recorded, not carried out; afterwards every attempt the engine still
    /// considers live is picked up again (found by name, or started if it never was).
    pub fn replay(
        &mut self,
        engine: &mut Engine,
        inputs: Vec<(SimTime, Input)>,
        observer: &mut dyn crate::driver::Observer,
    ) {
        let mut commands = Vec::new();
        for (now, input) in inputs {
            self.last = self.last.max(now);
            match input {
                Input::JobSubmitted(_) => {
                    self.submit_next(engine);
                }
                // Already delivered: must not fire again after the resume.
                Input::CancelJobRequested { job } => self.fired(job, false),
                Input::TerminateJobRequested { job } => self.fired(job, true),
                _ => {}
            }
            self.note_input(engine, &input);
            observer.input(now, &input);
            engine.handle(now, input, &mut commands);
            for c in commands.drain(..) {
                observer.command(now, &c);
                self.note_command(&c);
            }
        }
        let live = live_attempts(engine);
        let keep: BTreeSet<String> = live
            .iter()
            .map(|&(j, a, _)| container_name(&self.run, j, a))
            .collect();
        self.remove_ended_containers(keep);
        // Hosts adopted just before the crash whose readiness was not journaled yet.
        for (i, inst) in engine.instances().iter().enumerate() {
            let id = InstanceId(i as u32);
            if inst.state == InstanceState::Pending && self.host_of_instance.contains_key(&id) {
                self.pending
                    .push_back(Input::InstanceReady { instance: id });
            }
        }
        for (job, attempt, instance) in live {
            self.start(engine, job, attempt, instance, true);
        }
    }

    /// Drops a trace cancel (or terminate) of `job` that the journal shows delivered.
    fn fired(&mut self, job: JobId, terminate: bool) {
        let hit = self
            .timed
            .iter()
            .find(|&&(_, j, t)| j == job.0 && t == terminate)
            .copied();
        if let Some(k) = hit {
            self.timed.remove(&k);
        }
    }

    /// After a resume: containers of this run whose exit is already journaled (the driver
    /// died between journaling it and removing them) are removed; their logs were saved
    /// before the exit was reported.
    fn remove_ended_containers(&mut self, keep: BTreeSet<String>) {
        for h in &self.hosts {
            let Executor::Docker(d) = h.executor.clone() else {
                continue;
            };
            let (run, keep) = (self.run.clone(), keep.clone());
            // Done before any new container exists, so none of them can be swept.
            self.rt.block_on(async move {
                let names = super::docker::containers_labelled(&d, "flotilla.run", &run).await;
                for n in names.unwrap_or_default() {
                    if !keep.contains(&n) {
                        super::docker::remove(&d, &n).await;
                    }
                }
            });
        }
    }

    /// Bookkeeping the driver does for every input, live or replayed.
    fn note_input(&mut self, engine: &Engine, input: &Input) {
        match input {
            Input::JobExited { job, attempt, .. } => {
                self.attempts.remove(&(*job, *attempt));
            }
            Input::InstanceTerminated { instance } => {
                if let Some(&h) = self.host_of_instance.get(instance) {
                    self.lost_hosts.insert(h);
                }
                let gone: Vec<_> = self
                    .attempts
                    .keys()
                    .filter(|(j, _)| on_instance(engine, *j, *instance))
                    .copied()
                    .collect();
                for k in gone {
                    // Killed, in case the host was only slow: never two copies running.
                    if let Some(s) = self.attempts.remove(&k) {
                        let _ = s.send(Some(Duration::ZERO));
                    }
                }
            }
            _ => {}
        }
    }

    /// Bookkeeping for a command seen in replay (nothing is carried out).
    fn note_command(&mut self, c: &Command) {
        if let Command::AdoptHost {
            instance,
            instance_type,
            ..
        } = c
        {
            if let Some(h) = self
                .hosts
                .iter()
                .position(|h| h.instance_type == *instance_type)
            {
                self.host_of_instance.insert(*instance, h);
            }
        }
    }

    /// The next input: one already due, an executor's report, a trace submission, a
    /// cancel, or the engine's wakeup; `None` when the run is over.
    fn next_input(&mut self, engine: &Engine) -> Option<(SimTime, Input)> {
        loop {
            if let Some(i) = self.poll_ready(engine) {
                return Some((self.now(), i));
            }
            if self.trace.is_empty() && engine.open_jobs() == 0 && self.attempts.is_empty() {
                return None;
            }
            let now = self.now();
            let wait = self
                .next_deadline(engine)
                .map_or(Duration::from_millis(500), |d| {
                    Duration::from_millis(d.0.saturating_sub(now.0)).min(Duration::from_millis(500))
                });
            match self.rx.recv_timeout(wait) {
                Ok(m) => self.on_msg(engine, m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// An input due now, without blocking: a reported fact, a submission, a cancel, or the
    /// engine's wakeup.
    fn poll_ready(&mut self, engine: &Engine) -> Option<Input> {
        while let Ok(m) = self.rx.try_recv() {
            self.on_msg(engine, m);
        }
        if self.interrupts > 0 || self.no_hosts_left {
            self.cancel_waiting(engine);
        }
        if let Some(i) = self.pending.pop_front() {
            return Some(i);
        }
        let now = self.now();
        if self.trace.front().is_some_and(|j| j.submit <= now) {
            return Some(self.submit_next(engine));
        }
        if let Some(&(at, job, terminate)) = self.timed.first() {
            if at <= now {
                self.timed.pop_first();
                let job = JobId(job);
                return Some(if terminate {
                    Input::TerminateJobRequested { job }
                } else {
                    Input::CancelJobRequested { job }
                });
            }
        }
        engine
            .next_wakeup()
            .is_some_and(|w| w <= now)
            .then_some(Input::Wakeup)
    }

    fn next_deadline(&self, engine: &Engine) -> Option<SimTime> {
        [
            self.trace.front().map(|j| j.submit),
            self.timed.first().map(|t| t.0),
            engine.next_wakeup(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Turns an executor's or the operator's message into pending inputs.
    fn on_msg(&mut self, engine: &Engine, m: Msg) {
        match m {
            Msg::Running { job, attempt } => {
                if self.attempts.contains_key(&(job, attempt)) {
                    self.pending.push_back(Input::JobRunning { job, attempt });
                }
            }
            Msg::Ended {
                job,
                attempt,
                host,
                outcome,
                ack,
            } => self.on_ended(job, attempt, host, outcome, ack),
            Msg::HostLost { host, why } => self.host_lost(host, &why),
            Msg::Interrupt => self.interrupt(engine),
        }
    }

    fn on_ended(
        &mut self,
        job: JobId,
        attempt: u32,
        host: usize,
        outcome: Outcome,
        ack: tokio::sync::oneshot::Sender<()>,
    ) {
        if !self.attempts.contains_key(&(job, attempt)) {
            let _ = ack.send(());
            return;
        }
        let (exit_code, cause) = match outcome {
            Outcome::Exited {
                exit_code,
                oom_killed,
            } => {
                let cause = if oom_killed {
                    ExitCause::OutOfMemory
                } else {
                    ExitCause::Exited
                };
                (exit_code, cause)
            }
            Outcome::StartFailed(why) => {
                eprintln!("flotilla live: {} attempt {attempt}: {why}", job_id(job));
                (CANNOT_START_EXIT_CODE, ExitCause::CannotStart)
            }
            Outcome::HostLost(why) => {
                let _ = ack.send(());
                if self.lost_hosts.contains(&host) {
                    // The engine already failed it with the host; nothing more to wait for.
                    self.attempts.remove(&(job, attempt));
                }
                return self.host_lost(host, &why);
            }
        };
        self.acks.push(ack);
        self.pending.push_back(Input::JobExited {
            job,
            attempt,
            exit_code,
            cause,
        });
    }

    /// A host stopped answering: to the engine it is a terminated instance.
    fn host_lost(&mut self, host: usize, why: &str) {
        if !self.lost_hosts.insert(host) {
            return;
        }
        let name = &self.hosts[host].probed.name;
        eprintln!("flotilla live: host {name} lost: {why}");
        let inst = self
            .host_of_instance
            .iter()
            .find(|(_, &h)| h == host)
            .map(|(&i, _)| i);
        if let Some(instance) = inst {
            self.pending
                .push_back(Input::InstanceTerminated { instance });
        }
        if self.lost_hosts.len() == self.hosts.len() {
            // UNMANAGED hosts never come back by themselves: without one the run could only
            // wait forever, so it ends as after Ctrl-C.
            eprintln!("flotilla live: no host left: cancelling the jobs still waiting");
            self.no_hosts_left = true;
        }
    }

    /// Ctrl-C: the first stops submitting and cancels every job not yet started; the
    /// second also terminates the running ones (SIGTERM, SIGKILL 30 s later); a third kills
    /// them at once. Jobs that become RUNNABLE later (retries, dependents) are cancelled as
    /// they appear. The engine does all of it, so the record stays whole.
    fn interrupt(&mut self, engine: &Engine) {
        self.interrupts += 1;
        match self.interrupts {
            1 => eprintln!(
                "flotilla live: interrupted: no new jobs; waiting for running ones \
                 (Ctrl-C again stops them)"
            ),
            2 => eprintln!("flotilla live: stopping running jobs (Ctrl-C again kills them)"),
            _ => {
                eprintln!("flotilla live: killing running jobs");
                for s in self.attempts.values() {
                    let _ = s.send(Some(Duration::ZERO));
                }
            }
        }
        self.trace.clear();
        self.timed.clear();
        self.cancel_waiting(engine);
        if self.interrupts == 2 {
            for (i, j) in engine.jobs().iter().enumerate() {
                if matches!(j.status, JobStatus::Starting | JobStatus::Running) {
                    let job = JobId(i as u32);
                    self.pending.push_back(Input::TerminateJobRequested { job });
                }
            }
        }
    }

    /// After Ctrl-C (or with no host left): CancelJob for every job not yet started, once.
    fn cancel_waiting(&mut self, engine: &Engine) {
        for (i, j) in engine.jobs().iter().enumerate() {
            let waiting = matches!(j.status, JobStatus::Submitted | JobStatus::Runnable)
                || (j.status == JobStatus::Pending
                    && !matches!(j.array, Some(ArrayLink::Parent { .. })));
            if waiting && !self.cancel_sent.contains(&(i as u32)) {
                self.cancel_sent.insert(i as u32);
                self.pending.push_back(Input::CancelJobRequested {
                    job: JobId(i as u32),
                });
            }
        }
    }

    /// The next trace job as a submission; dependencies turn from trace rows into job ids.
    fn submit_next(&mut self, engine: &Engine) -> Input {
        let mut job = self.trace.pop_front().expect("a trace job is due");
        let id = JobId(engine.jobs().len() as u32);
        self.fill_facts(id.0 as usize);
        self.trace_ids.push(id);
        crate::scenario::resolve_dependencies(&mut job.spec, &self.trace_ids);
        self.facts.push(Facts {
            run_time: job.run_time,
            exit_code: job.exit_code,
        });
        for (at, terminate) in [(job.cancel_at, false), (job.terminate_at, true)] {
            if let Some(at) = at {
                self.timed.insert((at.max(job.submit), id.0, terminate));
            }
        }
        Input::JobSubmitted(Box::new(job.spec))
    }

    /// Jobs the engine made for the previous submission (array children, nodes) share its
    /// facts.
    fn fill_facts(&mut self, len: usize) {
        if let Some(&last) = self.facts.last() {
            self.facts.resize(len.max(self.facts.len()), last);
        }
    }

    /// Carries out one command.
    fn apply(&mut self, engine: &Engine, c: &Command) {
        match c {
            Command::AdoptHost { instance, .. } => {
                // Hosts were probed before the run; the lost ones were left out.
                self.pending.push_back(Input::InstanceReady {
                    instance: *instance,
                });
            }
            Command::LaunchInstance { instance, .. } => {
                // Live mode has only UNMANAGED compute environments.
                self.pending.push_back(Input::LaunchFailed {
                    instance: *instance,
                    reason: crate::engine::LaunchFailure::InsufficientInstanceCapacity,
                });
            }
            Command::TerminateInstance { .. } => {}
            Command::StartJob {
                job,
                instance,
                attempt,
                ..
            } => self.start(engine, *job, *attempt, *instance, false),
            Command::StopJob { job, attempt, .. } => {
                if let Some(s) = self.attempts.get(&(*job, *attempt)) {
                    let grace = Duration::from_millis(STOP_GRACE.0);
                    let _ = s.send(Some(grace));
                }
            }
        }
    }

    /// Starts (or, resuming, picks up) an attempt on its host's executor.
    fn start(
        &mut self,
        engine: &Engine,
        job: JobId,
        attempt: u32,
        instance: InstanceId,
        resume: bool,
    ) {
        let Some(&host) = self.host_of_instance.get(&instance) else {
            return;
        };
        // A later input of the same batch may have ended this attempt already.
        let j = &engine.jobs()[job.0 as usize];
        let current = j.attempts.len() as u32 == attempt
            && matches!(j.status, JobStatus::Starting | JobStatus::Running);
        if !current {
            return;
        }
        let spec = self.attempt_spec(engine, job, attempt, host);
        let (stop_tx, stop_rx) = watch::channel(None);
        if resume && stopping(engine, job) {
            let _ = stop_tx.send(Some(Duration::from_millis(STOP_GRACE.0)));
        }
        self.attempts.insert((job, attempt), stop_tx);
        self.starts += 1;
        let exec = self.hosts[host].executor.clone();
        let tx = self.tx.clone();
        self.tasks.retain(|t| !t.is_finished());
        self.tasks.push(self.rt.spawn(executor::run_attempt(
            exec, spec, job, attempt, host, stop_rx, tx, resume,
        )));
    }

    /// What the container of an attempt is: image and network from the job definition,
    /// command and environment from the job, limits from the engine's reservation.
    fn attempt_spec(&self, engine: &Engine, job: JobId, attempt: u32, host: usize) -> AttemptSpec {
        let rec = &engine.jobs()[job.0 as usize];
        let spec = &rec.spec;
        let container = self
            .definitions
            .resolve(&spec.job_definition)
            .map(|(_, d)| d.container.clone())
            .unwrap_or_default();
        let image = if container.image.is_empty() {
            self.default_image.clone().unwrap_or_default()
        } else {
            container.image.clone()
        };
        let facts = self
            .facts
            .get(job.0 as usize)
            .or(self.facts.last())
            .copied();
        let mut env = spec.environment.clone();
        env.extend(engine.batch_environment(job));
        if let Some(f) = facts {
            env.push(("FLOTILLA_RUN_TIME_MS".into(), f.run_time.0.to_string()));
            env.push(("FLOTILLA_EXIT_CODE".into(), f.exit_code.to_string()));
        }
        let h = &self.hosts[host];
        let gpu_devices = rec
            .attempts
            .last()
            .map(|a| &a.gpu_ids[..])
            .unwrap_or(&[])
            .iter()
            .map(|&i| {
                h.probed
                    .gpu_devices
                    .get(i as usize)
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            })
            .collect();
        let queue = &engine.cluster().queue(spec.queue).name;
        let ce = &h.probed.compute_environment;
        AttemptSpec {
            name: container_name(&self.run, job, attempt),
            image,
            command: spec.command.clone(),
            env,
            vcpus: spec.vcpus,
            memory_mib: spec.memory_mib as u64,
            gpu_devices,
            labels: vec![
                ("flotilla.run".into(), self.run.clone()),
                ("flotilla.job-id".into(), job_id(job)),
                ("flotilla.job-name".into(), spec.name.clone()),
                ("flotilla.attempt".into(), attempt.to_string()),
                ("flotilla.job-queue".into(), queue.clone()),
                ("flotilla.compute-environment".into(), ce.clone()),
            ],
            network: container.network,
            capabilities: container.capabilities,
            read_only_root: container.read_only_root,
            log_dir: self
                .out_dir
                .join("logs")
                .join(job_id(job))
                .join(format!("attempt-{attempt}")),
        }
    }

    /// How many times Ctrl-C was pressed.
    pub fn interrupts(&self) -> u32 {
        self.interrupts
    }
}

/// `flotilla-<run>-<job index>-<attempt>`: unique, so an attempt is never created twice.
pub fn container_name(run: &str, job: JobId, attempt: u32) -> String {
    format!("flotilla-{run}-{}-{attempt}", job.0)
}

fn on_instance(engine: &Engine, job: JobId, instance: InstanceId) -> bool {
    engine.jobs()[job.0 as usize]
        .attempts
        .last()
        .is_some_and(|a| a.instance == instance)
}

fn stopping(engine: &Engine, job: JobId) -> bool {
    engine.jobs()[job.0 as usize]
        .attempts
        .last()
        .is_some_and(|a| a.stop_requested.is_some())
}

/// Attempts the engine considers STARTING or RUNNING: (job, attempt, host instance).
fn live_attempts(engine: &Engine) -> Vec<(JobId, u32, InstanceId)> {
    engine
        .jobs()
        .iter()
        .enumerate()
        .filter(|(_, j)| matches!(j.status, JobStatus::Starting | JobStatus::Running))
        .filter_map(|(i, j)| {
            let a = j.attempts.last()?;
            Some((JobId(i as u32), j.attempts.len() as u32, a.instance))
        })
        .collect()
}
