//! Backfilling: jobs behind a blocked queue head start early when they cannot delay the
//! reservations of the jobs in front (the `Backfill` policy says how many jobs hold one: 1
//! is EASY, all is conservative).
//!
//! Modelling choices:
//! - Estimates are [`policy::estimate`]: requested time, else the attempt timeout, else
//!   unknown, which holds capacity for good (such a job never ends before a reservation).
//! - Reservations are on ready hosts of the queue's compute environments (an UNMANAGED
//!   cluster, or a managed one at `maxvCpus`): the earliest time a host has room for the
//!   job's estimate, given running jobs ending at their estimates and the reservations in
//!   front. Backfilled jobs use ready hosts only; they never launch instances.
//! - Reservations only move earlier: they are searched again (with every other one in place,
//!   so a job's old slot is always still free) only after some job ended away from its
//!   estimate, a reservation was withdrawn or a host came or went; otherwise they stand.
//! - A job running past its estimate frees its capacity "never" as far as new searches go.
//!   A reservation that comes due while such a job still holds its room keeps its claim,
//!   from now on, rather than moving later: nothing behind it may take the room the overrun
//!   gives back.
//! - Under EASY the reservation belongs to the current head: a job ranked ahead that
//!   arrives (SJF, fair share) takes it over.
//! - Jobs go only where the placement policy puts them: a host it chose that would delay a
//!   reservation is hidden and the policy asked again.
//! - Multi-node parallel jobs are never backfilled and a blocked one blocks its queue, as
//!   under FIFO (the reservations behind it are dropped).
//! - Cost: a host's profile is its own running jobs and reservations (`profile`), so a
//!   search costs O(changes on the hosts searched); checking a job behind the reservations
//!   costs one placement and O(1) against the cached floor of the host's profile (valid
//!   until the profile, the host's free capacity or its next change in time moves). A pass
//!   never costs running jobs × queue length.

mod profile;

use super::policy::estimate;
use super::{Command, Engine, InstanceId, InstanceState, Resources, Timer};
use crate::model::{ComputeEnvironmentId, JobId, SimDuration, SimTime};
use profile::HostProfile;
use std::collections::{BTreeMap, BTreeSet};

/// Where and when a job may start for sure.
#[derive(Clone, Copy, Debug)]
struct Reservation {
    host: InstanceId,
    start: SimTime,
    dur: Option<SimDuration>,
}

/// Backfilling state of an engine.
#[derive(Debug, Default)]
pub(crate) struct BackfillState {
    /// Jobs per queue that hold a reservation (0: no backfilling).
    depth: usize,
    profiles: BTreeMap<InstanceId, HostProfile>,
    /// Ready hosts per compute environment (terminated ones are dropped when met).
    hosts: BTreeMap<ComputeEnvironmentId, BTreeSet<InstanceId>>,
    reservations: BTreeMap<JobId, Reservation>,
    /// Reservation starts, to see when one comes due.
    due: BTreeSet<(SimTime, JobId)>,
    /// Job ends so far: when it moves, capacity came back and jobs behind the reservations
    /// are worth another look.
    released: u64,
    /// Job ends away from their estimates (or without one) and hosts lost: when it moves,
    /// reservations may move and are searched again. An end exactly at its estimate changes
    /// nothing the profile did not already assume.
    early: u64,
    /// Per queue, `(released, inserts)` at its last scan, and `released` at its last
    /// search of reservations.
    scanned: BTreeMap<usize, (u64, u64)>,
    searched: BTreeMap<usize, u64>,
    /// The scan's snapshot of a share's jobs (kept to reuse its allocation).
    scan: Vec<(super::queue::QueueKey, JobId)>,
}

impl BackfillState {
    /// State for `reservations` jobs per queue (`None`: no backfilling).
    pub(crate) fn new(reservations: Option<usize>) -> Self {
        BackfillState {
            depth: reservations.map_or(0, |r| r.max(1)),
            ..Self::default()
        }
    }

    /// Whether a backfilling policy is on.
    pub(crate) fn on(&self) -> bool {
        self.depth > 0
    }
}

impl Engine {
    /// A host became ready.
    pub(super) fn backfill_host_ready(&mut self, id: InstanceId) {
        if self.backfill.on() {
            let ce = self.instances[id.0 as usize].compute_environment;
            self.backfill.hosts.entry(ce).or_default().insert(id);
            // New room: jobs behind the reservations are worth another look, and the
            // reservations may move onto it.
            self.backfill.released += 1;
            self.backfill.early += 1;
        }
    }

    /// A host went away: its profile goes, and reservations on it are searched again.
    pub(super) fn backfill_host_gone(&mut self, id: InstanceId) {
        if self.backfill.on() && self.backfill.profiles.remove(&id).is_some() {
            self.backfill.released += 1;
            self.backfill.early += 1;
        }
    }

    /// An attempt started on `host`: it gives its capacity back at its estimated end.
    pub(super) fn backfill_started(&mut self, job: JobId, host: InstanceId) {
        if !self.backfill.on() {
            return;
        }
        self.backfill_forget(job);
        let j = &self.jobs[job.0 as usize];
        if let Some(d) = estimate(&j.spec) {
            let p = self.backfill.profiles.entry(host).or_default();
            p.releases.insert((self.now + d, job), j.resources());
            p.version += 1;
        }
    }

    /// An attempt ended on `host` (its capacity is back).
    pub(super) fn backfill_ended(&mut self, job: JobId, host: InstanceId) {
        if !self.backfill.on() {
            return;
        }
        self.backfill.released += 1;
        let j = &self.jobs[job.0 as usize];
        let (Some(d), Some(a)) = (estimate(&j.spec), j.attempts.last()) else {
            self.backfill.early += 1;
            return;
        };
        let end = a.starting_at + d;
        if self.now != end {
            self.backfill.early += 1;
        }
        if let Some(p) = self.backfill.profiles.get_mut(&host) {
            p.releases.remove(&(end, job));
            p.version += 1;
        }
    }

    /// A RUNNABLE job left its queue (cancelled): its reservation goes, and the ones behind
    /// it may move into the room it held.
    pub(super) fn backfill_withdrawn(&mut self, job: JobId) {
        if self.backfill.reservations.contains_key(&job) {
            self.backfill_forget(job);
            self.backfill.released += 1;
            self.backfill.early += 1;
        }
    }

    /// Drops `job`'s reservation, if it has one.
    pub(super) fn backfill_forget(&mut self, job: JobId) {
        let Some(r) = self.backfill.reservations.remove(&job) else {
            return;
        };
        self.backfill.due.remove(&(r.start, job));
        if let Some(p) = self.backfill.profiles.get_mut(&r.host) {
            p.remove_hold(job, r.start, r.dur);
        }
    }

    /// A ready host of `ce` for `job` that the placement policy accepts and where the job,
    /// starting now, delays no reservation of another job.
    pub(super) fn place_ready(
        &mut self,
        ce: ComputeEnvironmentId,
        job: JobId,
        need: Resources,
        gpu_hosts: bool,
    ) -> Option<InstanceId> {
        let first = self.place(ce, true, need, gpu_hosts)?;
        if !self.backfill.on() {
            return Some(first);
        }
        let own = self.backfill.reservations.get(&job).copied();
        if let Some(r) = own {
            self.profile(r.host).remove_hold(job, r.start, r.dur);
        }
        let dur = estimate(&self.jobs[job.0 as usize].spec);
        // Where the policy's choice would delay a reservation, it chooses again without that
        // host (hidden from the index meanwhile), so a job only ever goes where the policy
        // puts it: gpu-pack's CPU jobs still never strand a GPU.
        let mut refused = Vec::new();
        let mut choice = Some(first);
        let found = loop {
            let Some(h) = choice else { break None };
            if self.delays_nobody(h, need, dur) {
                break Some(h);
            }
            self.hide_ready(h, true);
            refused.push(h);
            choice = self.place(ce, true, need, gpu_hosts);
        };
        for h in refused {
            self.hide_ready(h, false);
        }
        if let (None, Some(r)) = (found, own) {
            self.profile(r.host).add_hold(job, r.start, need, r.dur);
        }
        found
    }

    /// Takes a ready host out of its compute environment's index (`hide`), or puts it back.
    fn hide_ready(&mut self, host: InstanceId, hide: bool) {
        let inst = &self.instances[host.0 as usize];
        let idx = &mut self.ces[inst.compute_environment.0 as usize].ready;
        if hide {
            idx.remove(host, inst.free, inst.gpu_host);
        } else {
            idx.insert(host, inst.free, inst.gpu_host);
        }
    }

    fn profile(&mut self, host: InstanceId) -> &mut HostProfile {
        self.backfill.profiles.entry(host).or_default()
    }

    /// Whether a job needing `need` for `dur` from now on `host` (where it fits now)
    /// leaves every reservation there intact: at once if it ends before the first one or
    /// fits under the floor of the profile from then on (exact with one reservation, as under
    /// EASY); else, with several reservations here, by walking the profile over its window.
    fn delays_nobody(
        &mut self,
        host: InstanceId,
        need: Resources,
        dur: Option<SimDuration>,
    ) -> bool {
        let (now, free) = (self.now, self.instances[host.0 as usize].free);
        let p = self.profile(host);
        let Some((first, floor)) = p.floor(now, free) else {
            return true;
        };
        if dur.is_some_and(|d| now + d <= first) || floor.holds(need) {
            return true;
        }
        p.several_reservations() && p.fits_now(now, free, need, dur)
    }

    /// After `job` started on `host` by backfilling: keeps the host's floor cache (lowered
    /// by `need` if the job may run past the first reservation there).
    fn note_backfilled(&mut self, job: JobId, host: InstanceId, need: Resources) {
        let j = &mut self.jobs[job.0 as usize];
        j.backfilled = true;
        let dur = estimate(&j.spec);
        let now = self.now;
        let free = self.instances[host.0 as usize].free;
        let p = self.profile(host);
        let past_first = p
            .holds
            .keys()
            .next()
            .is_some_and(|&(first, _, _)| dur.is_none_or(|d| now + d > first));
        p.keep_floor(now, free, need, dur.is_some(), past_first);
    }

    /// The scan of queue `q` after its head blocked: the first `depth` waiting jobs get (or
    /// keep) reservations and start when theirs come due; the others start if they fit now
    /// and delay no reservation.
    pub(super) fn backfill_queue(&mut self, q: usize, head: JobId, out: &mut Vec<Command>) {
        if self.multinode.contains_key(&head) {
            // A blocked multi-node job blocks its queue, as under FIFO: the jobs behind it
            // start nothing, so the room their reservations held goes back to the others.
            self.drop_stale_reservations(q, &[], 0);
            return;
        }
        let stamp = (self.backfill.released, self.queues[q].inserts());
        let due = self
            .backfill
            .due
            .first()
            .is_some_and(|&(t, _)| t <= self.now);
        if self.backfill.scanned.get(&q) == Some(&stamp) && !due {
            return; // nothing freed, nothing new, nothing due: the last scan's verdicts hold
        }
        let search = self.backfill.searched.get(&q) != Some(&self.backfill.early);
        let depth = self.backfill.depth;
        let (mut reserved, mut waiting) = (0usize, false);
        let mut scan = std::mem::take(&mut self.backfill.scan);
        'shares: for share in self.queues[q].shares_in_order(self.now) {
            scan.clear();
            self.queues[q].share_jobs(share, &mut scan);
            for (i, &(key, job)) in scan.iter().enumerate() {
                if reserved >= depth && !self.room_in(q) {
                    break 'shares; // nothing can start now, and every reservation is made
                }
                if self.multinode.contains_key(&job) {
                    self.backfill_forget(job);
                    waiting = true;
                    continue;
                }
                let started = if reserved < depth {
                    if reserved == 0 && depth < usize::MAX {
                        self.drop_stale_reservations(q, &scan[i..], depth);
                    }
                    reserved += 1;
                    self.start_if_due(q, job, search, out)
                } else {
                    self.backfill_forget(job);
                    self.start_now_if_harmless(q, job, out)
                };
                match started {
                    Some(host) => {
                        self.queues[q].remove(key);
                        if waiting {
                            let need = self.jobs[job.0 as usize].resources();
                            self.note_backfilled(job, host, need);
                        }
                    }
                    None => waiting = true,
                }
            }
        }
        self.backfill.scan = scan;
        self.backfill.searched.insert(q, self.backfill.early);
        let stamp = (self.backfill.released, self.queues[q].inserts());
        self.backfill.scanned.insert(q, stamp);
    }

    /// Under a bounded number of reservations (EASY), the jobs that hold them are the first
    /// `depth` waiting ones in queue order, which change when a job ranked ahead arrives (SJF,
    /// fair share): the others of queue `q` lose theirs before the new heads search, so that
    /// no head steps around the hold of a job now behind it. `ahead` is the scan from the
    /// first head on (heads in later shares, rare, lose theirs and search again).
    fn drop_stale_reservations(
        &mut self,
        q: usize,
        ahead: &[(super::queue::QueueKey, JobId)],
        depth: usize,
    ) {
        let heads: Vec<JobId> = ahead
            .iter()
            .map(|&(_, j)| j)
            .filter(|j| !self.multinode.contains_key(j))
            .take(depth)
            .collect();
        let stale: Vec<JobId> = self
            .backfill
            .reservations
            .keys()
            .copied()
            .filter(|j| self.jobs[j.0 as usize].spec.queue.0 as usize == q && !heads.contains(j))
            .collect();
        for job in stale {
            self.backfill_forget(job);
        }
    }

    /// Starts `job` now where the placement policy puts it, if that delays no other
    /// reservation; else gives it a reservation after now (keeping the one it has unless
    /// `search`, or unless it came due and the job still could not start: a host busy past
    /// an estimate, or a placement that refuses the host).
    fn start_if_due(
        &mut self,
        q: usize,
        job: JobId,
        search: bool,
        out: &mut Vec<Command>,
    ) -> Option<InstanceId> {
        // A standing reservation is the earliest slot after it was made, and nothing freed
        // early since: the job cannot start before it.
        let now = self.now;
        let stands = self.backfill.reservations.get(&job).is_some_and(|r| {
            !search
                && r.start > now
                && self.instances[r.host.0 as usize].state == InstanceState::Ready
        });
        if stands {
            return None;
        }
        if let Some(host) = self.start_now_if_harmless(q, job, out) {
            return Some(host);
        }
        if self.keep_overrun_claim(job) {
            return None;
        }
        let (need, dur) = {
            let j = &self.jobs[job.0 as usize];
            (j.resources(), estimate(&j.spec))
        };
        self.backfill_forget(job);
        // After now: had it fitted now where the placement allows, it would have started.
        let (host, start) = self.earliest_host(q, need, dur)?;
        self.profile(host).add_hold(job, start, need, dur);
        let r = Reservation { host, start, dur };
        self.backfill.reservations.insert(job, r);
        self.backfill.due.insert((start, job));
        self.jobs[job.0 as usize]
            .first_reservation
            .get_or_insert(start);
        self.timers.insert((start, Timer::ReservationDue(job)));
        None
    }

    /// A reservation came due but its host still lacks the room: a job there ran past its
    /// estimate, and when it ends is unknown. The claim stands, held from now, rather than
    /// moving to a later slot: a later slot would let jobs behind take the room the overrun
    /// gives back, and the job would start after them. Until then the host takes no
    /// backfilled job that could still run when the overrun ends (the profile counts the
    /// overrun as never ending). Not when the room is there and the placement policy turned
    /// the host down: that job searches again.
    fn keep_overrun_claim(&mut self, job: JobId) -> bool {
        let Some(r) = self.backfill.reservations.get(&job).copied() else {
            return false;
        };
        let now = self.now;
        let need = self.jobs[job.0 as usize].resources();
        let inst = &self.instances[r.host.0 as usize];
        if r.start > now || inst.state != InstanceState::Ready || inst.free.holds(&need) {
            return false;
        }
        if r.start < now {
            // Hold from now for the whole estimate: a hold left where it was would give its
            // capacity back at its old end, before the job could have run.
            self.backfill.due.remove(&(r.start, job));
            let p = self.profile(r.host);
            p.remove_hold(job, r.start, r.dur);
            p.add_hold(job, now, need, r.dur);
            let r = Reservation { start: now, ..r };
            self.backfill.reservations.insert(job, r);
            self.backfill.due.insert((now, job));
        }
        true
    }

    /// Starts `job` now on a ready host where it delays no reservation, if there is one.
    fn start_now_if_harmless(
        &mut self,
        q: usize,
        job: JobId,
        out: &mut Vec<Command>,
    ) -> Option<InstanceId> {
        let need = self.jobs[job.0 as usize].resources();
        if !self.queues[q].within_reservation(need.vcpus, self.queue_max_vcpus[q]) {
            return None;
        }
        let gpu_hosts = need.gpus > 0 || !self.cluster.options.keep_cpu_jobs_off_gpu_instances;
        let queue = self.jobs[job.0 as usize].spec.queue;
        let n = self.cluster.queue(queue).compute_environment_order.len();
        for i in 0..n {
            let ce = self.cluster.queue(queue).compute_environment_order[i];
            if self.cluster.ce(ce).disabled || self.ces[ce.0 as usize].ready.is_empty() {
                continue;
            }
            if let Some(host) = self.place_ready(ce, job, need, gpu_hosts) {
                self.start_on(q, job, host, out);
                return Some(host);
            }
        }
        None
    }

    /// Whether some ready host of `q`'s compute environments has any room.
    fn room_in(&self, q: usize) -> bool {
        let order = &self.cluster.job_queues[q].compute_environment_order;
        order
            .iter()
            .any(|ce| !self.ces[ce.0 as usize].ready.is_empty())
    }

    fn start_on(&mut self, q: usize, job: JobId, host: InstanceId, out: &mut Vec<Command>) {
        let need = self.jobs[job.0 as usize].resources();
        self.take_capacity(host, need);
        self.start_attempt(job, host, out);
        self.queues[q].charge_placed(need.vcpus as i64);
    }

    /// The ready host of `q`'s compute environments where `need` can start soonest for
    /// `dur`, and when (ties: the host met first).
    fn earliest_host(
        &mut self,
        q: usize,
        need: Resources,
        dur: Option<SimDuration>,
    ) -> Option<(InstanceId, SimTime)> {
        let gpu_hosts = need.gpus > 0 || !self.cluster.options.keep_cpu_jobs_off_gpu_instances;
        let order = self.cluster.job_queues[q].compute_environment_order.clone();
        let mut best: Option<(SimTime, InstanceId)> = None;
        for ce in order {
            if self.cluster.ce(ce).disabled {
                continue;
            }
            let hosts: Vec<InstanceId> = match self.backfill.hosts.get_mut(&ce) {
                Some(set) => {
                    let alive =
                        |h: &InstanceId| self.instances[h.0 as usize].state == InstanceState::Ready;
                    set.retain(alive);
                    set.iter().copied().collect()
                }
                None => continue,
            };
            for h in hosts {
                let inst = &self.instances[h.0 as usize];
                let ty = self.cluster.catalog.get(inst.instance_type);
                if !self.may_use(ty, &need) || (inst.gpu_host && !gpu_hosts) {
                    continue;
                }
                let free = inst.free;
                let p = self.backfill.profiles.entry(h).or_default();
                if let Some(t) = p.earliest_after(self.now, free, need, dur) {
                    if best.is_none_or(|(bt, _)| t < bt) {
                        best = Some((t, h));
                    }
                }
            }
        }
        best.map(|(t, h)| (h, t))
    }
}
