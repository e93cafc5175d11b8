//! RUNNABLE jobs of one job queue, in dispatch order: FIFO, or fair share (reference §4.3,
//! §4.4).
//!
//! A job's place is a key `(share, 9999 - schedulingPriority, rank, position)`, where the
//! rank comes from the queue-order policy (0 under FIFO; the requested run time under
//! shortest-job-first). In a FIFO queue share, priority and rank are 0, so the order is the
//! position: new jobs get increasing positions at the back, retried attempts decreasing
//! negative ones at the front (reference §1.6).
//!
//! Fair share, modelling choices (AWS does not document the decay function):
//! - Each share identifier's usage is its vCPUs in use (STARTING or RUNNING), integrated
//!   over time with exponential decay of time constant `shareDecaySeconds` (0 means 600 s,
//!   the current API text): `U(t+Δ) = U·e^(−Δ/τ) + v·τ·(1 − e^(−Δ/τ))`.
//! - The next job comes from the share with the lowest `U × weight` among shares with
//!   RUNNABLE jobs (ties: the share first seen); within a share, higher `schedulingPriority`
//!   first, then FIFO. Under sustained load this holds `U_a × w_a = U_b × w_b`, so vCPUs
//!   split in inverse proportion to the weight factors.
//! - A `*` entry's weight is multiplied by the number of active identifiers it matches; an
//!   identifier no entry matches weighs 1.0. Active: the share has jobs not yet ended.
//! - `computeReservation` r: the queue's jobs may hold at most
//!   `(1 − (r/100)^active) × Σ maxvCpus` of its compute environments, keeping the rest for
//!   identifiers not yet active.

use crate::model::{FairsharePolicy, JobId, SimTime};
use std::collections::BTreeMap;

/// Where a RUNNABLE job stands in its queue.
pub(crate) type QueueKey = (u32, u32, u64, i64);

/// RUNNABLE jobs of one queue.
#[derive(Debug, Default)]
pub(crate) struct RunnableQueue {
    jobs: BTreeMap<QueueKey, JobId>,
    next_back: i64,
    next_front: i64,
    /// Jobs put in so far (backfilling rescans a queue only when this or capacity moved).
    inserts: u64,
    fair: Option<FairShare>,
}

#[derive(Debug)]
struct FairShare {
    policy: FairsharePolicy,
    tau_s: f64,
    shares: Vec<Share>,
    by_name: BTreeMap<String, u32>,
    /// RUNNABLE jobs per share.
    waiting: BTreeMap<u32, usize>,
    /// vCPUs of the queue's jobs placed or waiting for a booting instance.
    used_vcpus: u64,
}

#[derive(Debug)]
struct Share {
    name: String,
    usage: f64,
    running_vcpus: u64,
    last: SimTime,
    open_jobs: u64,
}

impl RunnableQueue {
    /// A queue; fair share if `policy` is given.
    pub(crate) fn new(policy: Option<&FairsharePolicy>) -> Self {
        RunnableQueue {
            fair: policy.map(|p| FairShare {
                tau_s: if p.share_decay.as_millis() == 0 {
                    600.0
                } else {
                    p.share_decay.as_secs_f64()
                },
                policy: p.clone(),
                shares: Vec::new(),
                by_name: BTreeMap::new(),
                waiting: BTreeMap::new(),
                used_vcpus: 0,
            }),
            ..Self::default()
        }
    }

    /// The share index of an identifier (0 in a FIFO queue).
    pub(crate) fn share_of(&mut self, identifier: Option<&str>, now: SimTime) -> u32 {
        let Some(f) = &mut self.fair else { return 0 };
        let name = identifier.unwrap_or_default();
        if let Some(&i) = f.by_name.get(name) {
            return i;
        }
        let i = f.shares.len() as u32;
        f.shares.push(Share {
            name: name.to_string(),
            usage: 0.0,
            running_vcpus: 0,
            last: now,
            open_jobs: 0,
        });
        f.by_name.insert(name.to_string(), i);
        i
    }

    /// A key at the back of the queue.
    pub(crate) fn key_back(&mut self, share: u32, priority: u32, rank: u64) -> QueueKey {
        self.next_back += 1;
        (share, self.rank(priority), rank, self.next_back)
    }

    /// `schedulingPriority` orders jobs only in fair-share queues (reference §4.4).
    fn rank(&self, priority: u32) -> u32 {
        if self.fair.is_some() {
            9999u32.saturating_sub(priority)
        } else {
            0
        }
    }

    /// A key at the front of the queue (a retried attempt).
    pub(crate) fn key_front(&mut self, share: u32, priority: u32, rank: u64) -> QueueKey {
        self.next_front -= 1;
        (share, self.rank(priority), rank, self.next_front)
    }

    /// Puts a job at `key`.
    pub(crate) fn insert(&mut self, key: QueueKey, job: JobId) {
        self.inserts += 1;
        if self.jobs.insert(key, job).is_none() {
            if let Some(f) = &mut self.fair {
                *f.waiting.entry(key.0).or_default() += 1;
            }
        }
    }

    /// Takes the job at `key` out.
    pub(crate) fn remove(&mut self, key: QueueKey) -> Option<JobId> {
        let job = self.jobs.remove(&key)?;
        if let Some(f) = &mut self.fair {
            if let Some(n) = f.waiting.get_mut(&key.0) {
                *n -= 1;
                if *n == 0 {
                    f.waiting.remove(&key.0);
                }
            }
        }
        Some(job)
    }

    /// The job to dispatch next.
    pub(crate) fn head(&self, now: SimTime) -> Option<(QueueKey, JobId)> {
        let Some(f) = &self.fair else {
            return self.jobs.first_key_value().map(|(k, j)| (*k, *j));
        };
        let share = f.waiting.keys().copied().min_by(|&a, &b| {
            f.weighted_usage(a, now)
                .total_cmp(&f.weighted_usage(b, now))
                .then(a.cmp(&b))
        })?;
        self.jobs
            .range((share, 0, 0, i64::MIN)..)
            .next()
            .map(|(k, j)| (*k, *j))
    }

    /// Jobs put in so far.
    pub(crate) fn inserts(&self) -> u64 {
        self.inserts
    }

    /// Shares with RUNNABLE jobs in the order [`Self::head`] would serve them now (one share,
    /// 0, in a FIFO queue).
    pub(crate) fn shares_in_order(&self, now: SimTime) -> Vec<u32> {
        let Some(f) = &self.fair else {
            return vec![0];
        };
        let mut shares: Vec<(f64, u32)> = f
            .waiting
            .keys()
            .map(|&s| (f.weighted_usage(s, now), s))
            .collect();
        shares.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        shares.into_iter().map(|(_, s)| s).collect()
    }

    /// Appends the jobs of `share`, in order, to `out`.
    pub(crate) fn share_jobs(&self, share: u32, out: &mut Vec<(QueueKey, JobId)>) {
        let range = (share, 0, 0, i64::MIN)..(share + 1, 0, 0, i64::MIN);
        out.extend(self.jobs.range(range).map(|(k, j)| (*k, *j)));
    }

    /// Whether the queue may place `vcpus` more under `computeReservation`, given the total
    /// `maxvCpus` of its compute environments.
    pub(crate) fn within_reservation(&self, vcpus: u32, max_vcpus: u64) -> bool {
        let Some(f) = &self.fair else { return true };
        let active = f.shares.iter().filter(|s| s.open_jobs > 0).count() as i32;
        let reserved = (f.policy.compute_reservation as f64 / 100.0).powi(active.max(1));
        (f.used_vcpus + vcpus as u64) as f64 <= (1.0 - reserved) * max_vcpus as f64
    }

    /// A job of `share` was submitted (+1) or ended (−1).
    pub(crate) fn count_open(&mut self, share: u32, delta: i64) {
        if let Some(s) = self
            .fair
            .as_mut()
            .and_then(|f| f.shares.get_mut(share as usize))
        {
            s.open_jobs = s.open_jobs.saturating_add_signed(delta);
        }
    }

    /// vCPUs of the queue placed or reserved changed by `delta`.
    pub(crate) fn charge_placed(&mut self, delta: i64) {
        if let Some(f) = &mut self.fair {
            f.used_vcpus = f.used_vcpus.saturating_add_signed(delta);
        }
    }

    /// vCPUs of `share` running changed by `delta` at `now` (usage accrues from here).
    pub(crate) fn charge_running(&mut self, share: u32, delta: i64, now: SimTime) {
        let Some(f) = &mut self.fair else { return };
        let tau = f.tau_s;
        if let Some(s) = f.shares.get_mut(share as usize) {
            s.usage = s.usage_at(now, tau);
            s.last = now;
            s.running_vcpus = s.running_vcpus.saturating_add_signed(delta);
        }
    }
}

impl Share {
    fn usage_at(&self, now: SimTime, tau: f64) -> f64 {
        let dt = now.saturating_since(self.last).as_secs_f64();
        let decay = (-dt / tau).exp();
        self.usage * decay + self.running_vcpus as f64 * tau * (1.0 - decay)
    }
}

impl FairShare {
    fn weighted_usage(&self, share: u32, now: SimTime) -> f64 {
        let s = &self.shares[share as usize];
        s.usage_at(now, self.tau_s) * self.weight(&s.name)
    }

    /// The weight of an identifier: its entry's `weightFactor`, a `*` entry's times the
    /// number of active identifiers it matches, or 1.0.
    fn weight(&self, name: &str) -> f64 {
        for e in &self.policy.share_distribution {
            match e.share_identifier.strip_suffix('*') {
                Some(prefix) if name.starts_with(prefix) => {
                    let active = self
                        .shares
                        .iter()
                        .filter(|s| s.open_jobs > 0 && s.name.starts_with(prefix))
                        .count();
                    return e.weight_factor * active.max(1) as f64;
                }
                None if e.share_identifier == name => return e.weight_factor,
                _ => {}
            }
        }
        1.0
    }
}
