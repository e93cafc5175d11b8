//! FIFO and EASY backfilling against an independent reference: the textbook algorithm
//! (Mu'alem & Feitelson, IEEE TPDS 12(6), 2001, §2), written here from its definition on
//! nothing but processor counts, replayed on the shipped SWF logs. Every job must start at
//! the same instant in both, so any drift in the engine's queue, profile, reservations or
//! backfilling rules shows up as a named job.
//!
//! The reference, on one machine of `P` processors, scheduling at each arrival and each
//! end (ends first), in submission order:
//! - start jobs from the head while the head fits;
//! - EASY: if the head does not fit, its *shadow time* is the earliest estimated end of a
//!   running job at which the processors free then (all ends at that instant counted) hold
//!   it; *extra* is what is left over then. A later job starts now if it fits and either
//!   ends (by its estimate) by the shadow time or needs no more than the extra processors,
//!   which it then uses up.
//!
//! Two choices the algorithm leaves open, made here as the engine documents them
//! (docs/policies.md): a job running past its estimate frees its processors "never" as far
//! as the shadow time goes; with no shadow time (every release unknown) any job that fits
//! may start.

use flotilla::engine::policy::PolicySpec;
use flotilla::scenario::Scenario;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::path::Path;

/// What the reference knows of a job (times in ms).
#[derive(Clone, Copy, Debug)]
struct RefJob {
    submit: u64,
    procs: u32,
    run: u64,
    estimate: u64,
}

/// A running job: estimated end, processors.
#[derive(Clone, Copy, Debug)]
struct Running {
    est_end: u64,
    procs: u32,
}

/// The reference machine.
struct Machine<'a> {
    jobs: &'a [RefJob],
    free: u32,
    running: BTreeMap<usize, Running>,
    ends: BinaryHeap<Reverse<(u64, usize)>>,
    queue: VecDeque<usize>,
    start: Vec<Option<u64>>,
}

impl Machine<'_> {
    fn begin(&mut self, j: usize, t: u64) {
        let job = self.jobs[j];
        self.free -= job.procs;
        self.start[j] = Some(t);
        let est_end = t + job.estimate;
        self.running.insert(
            j,
            Running {
                est_end,
                procs: job.procs,
            },
        );
        self.ends.push(Reverse((t + job.run, j)));
    }

    /// The head's shadow time and extra processors, if any release is known.
    fn shadow(&self, t: u64, need: u32) -> Option<(u64, u32)> {
        let mut ends: Vec<(u64, u32)> = self
            .running
            .values()
            .filter(|r| r.est_end > t) // past its estimate: never, as far as anyone knows
            .map(|r| (r.est_end, r.procs))
            .collect();
        ends.sort_unstable();
        let mut avail = self.free;
        let mut shadow = None;
        for (end, procs) in ends {
            if shadow.is_some_and(|s| end > s) {
                break;
            }
            avail += procs;
            if shadow.is_none() && avail >= need {
                shadow = Some(end);
            }
        }
        shadow.map(|s| (s, avail - need))
    }

    fn pass(&mut self, t: u64, easy: bool) {
        while let Some(&h) = self.queue.front() {
            if self.jobs[h].procs > self.free {
                break;
            }
            self.queue.pop_front();
            self.begin(h, t);
        }
        let Some(&head) = self.queue.front() else {
            return;
        };
        if !easy {
            return;
        }
        let shadow = self.shadow(t, self.jobs[head].procs);
        let mut extra = shadow.map(|(_, e)| e);
        let behind: Vec<usize> = self.queue.iter().skip(1).copied().collect();
        for j in behind {
            let job = self.jobs[j];
            if job.procs > self.free {
                continue;
            }
            let ends_by_shadow = shadow.is_none_or(|(s, _)| t + job.estimate <= s);
            let fits_extra = extra.is_some_and(|e| job.procs <= e);
            if !(ends_by_shadow || fits_extra) {
                continue;
            }
            if !ends_by_shadow {
                extra = extra.map(|e| e - job.procs);
            }
            self.queue.retain(|&q| q != j);
            self.begin(j, t);
        }
    }
}

/// Start time of each job (ms) under FCFS (`easy` false) or EASY on `procs` processors.
fn reference(jobs: &[RefJob], procs: u32, easy: bool) -> Vec<Option<u64>> {
    let mut m = Machine {
        jobs,
        free: procs,
        running: BTreeMap::new(),
        ends: BinaryHeap::new(),
        queue: VecDeque::new(),
        start: vec![None; jobs.len()],
    };
    let mut next = 0;
    while next < jobs.len() || !m.ends.is_empty() {
        let arrival = jobs.get(next).map(|j| j.submit);
        let end = m.ends.peek().map(|Reverse((e, _))| *e);
        let t = arrival.into_iter().chain(end).min().expect("an event");
        while let Some(&Reverse((e, j))) = m.ends.peek() {
            if e > t {
                break;
            }
            m.ends.pop();
            m.free += jobs[j].procs;
            m.running.remove(&j);
        }
        while next < jobs.len() && jobs[next].submit <= t {
            m.queue.push_back(next);
            next += 1;
        }
        m.pass(t, easy);
    }
    m.start
}

fn scenario(path: &str) -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    flotilla::input::load_scenario(&root.join(path), None).unwrap_or_else(|e| panic!("{e}"))
}

/// The trace as the reference sees it, and the machine's processors (one host, one vCPU per
/// processor, memory never binding: checked).
fn reference_input(s: &Scenario) -> (Vec<RefJob>, u32) {
    let hosts: Vec<_> = s
        .cluster
        .compute_environments
        .iter()
        .flat_map(|ce| &ce.unmanaged_hosts)
        .collect();
    assert_eq!(hosts.len(), 1, "{}: one machine", s.name);
    let host = hosts[0];
    let jobs: Vec<RefJob> = s
        .trace
        .iter()
        .map(|t| {
            assert!(
                t.cancel_at.is_none() && t.terminate_at.is_none() && t.submit_after.is_none(),
                "{}: job {} is cancelled, terminated or held: outside the reference",
                s.name,
                t.spec.name
            );
            // Memory per vCPU no more than the host's: processors are all that binds.
            assert!(
                u64::from(t.spec.memory_mib) * u64::from(host.vcpus)
                    <= u64::from(host.memory_mib) * u64::from(t.spec.vcpus),
                "{}: job {} needs more memory per processor than the machine has",
                s.name,
                t.spec.name
            );
            RefJob {
                submit: t.submit.0,
                procs: t.spec.vcpus,
                run: t.run_time.0,
                estimate: t.spec.requested_time.expect("an estimate").0,
            }
        })
        .collect();
    assert!(jobs.windows(2).all(|w| w[0].submit <= w[1].submit));
    (jobs, host.vcpus)
}

/// Runs `path` under `policy` in the engine and in the reference; returns how many jobs
/// were compared after checking that each starts at the same instant.
fn agree(path: &str, policy: &str, easy: bool) -> usize {
    let mut s = scenario(path);
    let (jobs, procs) = reference_input(&s);
    let want = reference(&jobs, procs, easy);
    s.cluster.options.policy = PolicySpec::parse(policy).unwrap();
    let names: Vec<String> = s.trace.iter().map(|t| t.spec.name.clone()).collect();
    let run = flotilla::record::simulate(s, "reference", None).expect("in-memory run");
    let got: BTreeMap<&str, Option<u64>> = run
        .engine
        .jobs()
        .iter()
        .map(|j| {
            let start = j.attempts.first().map(|a| a.starting_at.0);
            (j.spec.name.as_str(), start)
        })
        .collect();
    let mut waited = 0;
    for (k, name) in names.iter().enumerate() {
        let g = got.get(name.as_str()).copied().flatten();
        assert_eq!(
            g, want[k],
            "{path} under {policy}: job {name} (trace row {k}) starts at {g:?} ms in the engine, \
             {:?} ms in the reference",
            want[k]
        );
        waited += usize::from(want[k].is_some_and(|w| w > jobs[k].submit));
    }
    // Without waiting jobs the comparison would check nothing about the policies.
    assert!(waited > 0, "{path}: no job waited");
    names.len()
}

#[test]
fn fifo_matches_the_reference_on_nasa_and_hpc2n() {
    assert_eq!(agree("scenarios/swf-nasa.toml", "fifo", false), 18_239);
    assert_eq!(agree("scenarios/swf-hpc2n.toml", "fifo", false), 3_145);
}

#[test]
fn easy_matches_the_reference_on_every_shipped_log() {
    assert_eq!(
        agree("scenarios/swf-nasa.toml", "easy-backfill", true),
        18_239
    );
    assert_eq!(
        agree("scenarios/swf-hpc2n.toml", "easy-backfill", true),
        3_145
    );
    assert_eq!(
        agree("scenarios/swf-lublin.toml", "easy-backfill", true),
        10_000
    );
}

/// The reference itself, on the hand case of tests/backfill.rs: 4 processors; A (2, 100 s)
/// runs, B wants 4 (shadow 100 s, extra 0), C (2, 200 s) would run past it, D (2, 50 s) ends
/// before it.
#[test]
fn the_reference_backfills_by_the_book() {
    let s = 1000;
    let job = |submit, procs, run| RefJob {
        submit: submit * s,
        procs,
        run: run * s,
        estimate: run * s,
    };
    let jobs = [job(0, 2, 100), job(1, 4, 50), job(2, 2, 200), job(3, 2, 50)];
    let easy: Vec<u64> = reference(&jobs, 4, true)
        .into_iter()
        .map(|t| t.unwrap() / s)
        .collect();
    assert_eq!(easy, [0, 100, 150, 3]);
    let fifo: Vec<u64> = reference(&jobs, 4, false)
        .into_iter()
        .map(|t| t.unwrap() / s)
        .collect();
    assert_eq!(fifo, [0, 100, 150, 150]);
}
