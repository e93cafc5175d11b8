//! The scheduling pass: queues in priority order, each FIFO with head-of-line blocking.
//!
//! For the job at the head of a queue, each compute environment in `computeEnvironmentOrder`
//! is tried in turn: a ready instance with room (best fit), else room on an instance still
//! booting (the job waits for it), else a new instance chosen by the allocation strategy.
//! The next compute environment is tried only when one can do none of these (reference §4.1).
//! A head job that no compute environment can serve blocks its queue until something changes
//! (reference §1.3); the pass then moves on to the next queue (reference §4.2).

use super::provisioning::{rank, type_holds, Candidate, Unit};
use super::{BlockReason, Command, Engine, InstanceState, Resources};
use crate::model::{AllocationStrategy, ComputeEnvironmentId, InstanceTypeId, JobId, Market};

impl Engine {
    pub(super) fn dispatch_pass(&mut self, out: &mut Vec<Command>) {
        for qi in 0..self.queue_order.len() {
            let q = self.queue_order[qi].0 as usize;
            while let Some((key, job)) = self.queues[q].head(self.now) {
                self.queues[q].remove(key);
                let vcpus = self.jobs[job.0 as usize].spec.vcpus;
                let result = if self.multinode.contains_key(&job) {
                    self.try_dispatch_multinode(job, out)
                } else if self.queues[q].within_reservation(vcpus, self.queue_max_vcpus[q]) {
                    self.try_dispatch(job, out)
                } else {
                    Err(BlockReason::MaxResource) // held back by computeReservation
                };
                match result {
                    Ok(()) => self.queues[q].charge_placed(vcpus as i64),
                    Err(why) => {
                        self.queues[q].insert(key, job);
                        self.note_blocked(job, why);
                        if self.backfill.on() {
                            self.backfill_queue(q, job, out);
                        }
                        break;
                    }
                }
            }
        }
    }

    /// Places, reserves or launches for `job`; the reason if its queue must wait.
    fn try_dispatch(&mut self, job: JobId, out: &mut Vec<Command>) -> Result<(), BlockReason> {
        let j = &self.jobs[job.0 as usize];
        let need = j.resources();
        let queue = j.spec.queue;
        let gpu_hosts = need.gpus > 0 || !self.cluster.options.keep_cpu_jobs_off_gpu_instances;
        let mut why = BlockReason::MaxResource;
        let n = self.cluster.queue(queue).compute_environment_order.len();
        for i in 0..n {
            let ce = self.cluster.queue(queue).compute_environment_order[i];
            if self.cluster.ce(ce).disabled {
                continue; // a DISABLED compute environment places nothing (reference §5.1)
            }
            if let Some(inst) = self.place_ready(ce, job, need, gpu_hosts) {
                self.take_capacity(inst, need);
                self.start_attempt(job, inst, out);
                return Ok(());
            }
            if let Some(inst) = self.place(ce, false, need, gpu_hosts) {
                self.reserve(job, inst, need);
                return Ok(());
            }
            match self.choose_type(ce, need) {
                Ok(t) => {
                    let inst = self.launch(ce, t, out);
                    self.reserve(job, inst, need);
                    return Ok(());
                }
                Err(BlockReason::InsufficientCapacity) => why = BlockReason::InsufficientCapacity,
                Err(BlockReason::MaxResource) => {}
            }
        }
        Err(why)
    }

    /// The host the placement policy picks in `ce` for `need`: among its ready instances
    /// (`ready`), or among those still booting.
    pub(super) fn place(
        &self,
        ce: ComputeEnvironmentId,
        ready: bool,
        need: Resources,
        gpu_hosts: bool,
    ) -> Option<super::InstanceId> {
        let st = &self.ces[ce.0 as usize];
        let index = if ready { &st.ready } else { &st.pending };
        let capacity = |id: super::InstanceId| {
            let t = self.instances[id.0 as usize].instance_type;
            let ty = self.cluster.catalog.get(t);
            Resources {
                vcpus: ty.vcpus,
                memory_mib: ty.registered_memory_mib,
                gpus: ty.gpus,
            }
        };
        let hosts = super::policy::Hosts {
            index,
            capacity: &capacity,
            gpu_hosts,
        };
        self.policies.placement.choose(&need, &hosts)
    }

    /// Takes `need` out of an indexed instance's free capacity.
    pub(super) fn take_capacity(&mut self, id: super::InstanceId, need: Resources) {
        self.clear_idle(id);
        let inst = &mut self.instances[id.0 as usize];
        let old = inst.free;
        inst.free = old.minus(&need);
        let st = &mut self.ces[inst.compute_environment.0 as usize];
        let idx = match inst.state {
            InstanceState::Ready => &mut st.ready,
            _ => &mut st.pending,
        };
        idx.remove(id, old, inst.gpu_host);
        idx.insert(id, inst.free, inst.gpu_host);
    }

    /// Gives back the room a RUNNABLE job held on a booting (or draining) instance.
    pub(super) fn unreserve(&mut self, job: JobId, id: super::InstanceId, need: Resources) {
        let inst = &mut self.instances[id.0 as usize];
        inst.reserved.retain(|&j| j != job);
        let old = inst.free;
        inst.free = old.plus(&need);
        let st = &mut self.ces[inst.compute_environment.0 as usize];
        let idx = match inst.state {
            InstanceState::Pending => &mut st.pending,
            InstanceState::Ready => &mut st.ready,
            _ => return,
        };
        idx.remove(id, old, inst.gpu_host);
        idx.insert(id, inst.free, inst.gpu_host);
    }

    pub(super) fn reserve(&mut self, job: JobId, inst: super::InstanceId, need: Resources) {
        // Waiting for this instance now: a backfilling reservation it held on a ready host
        // would hold room nobody will use.
        self.backfill_forget(job);
        self.take_capacity(inst, need);
        self.instances[inst.0 as usize].reserved.push(job);
        // `blocked` stays: a job waiting for a launch that may fail is still stuck, as far as
        // jobStateTimeLimitActions are concerned, until it starts.
        self.jobs[job.0 as usize].reserved_on = Some(inst);
    }

    /// The type `ce` launches for a job needing `need` now (see `provisioning`), or why it
    /// cannot launch one: at `maxvCpus` (or no launches at all: UNMANAGED), or the types it
    /// would use have no capacity or are priced above the bid.
    pub(super) fn choose_type(
        &mut self,
        ce: ComputeEnvironmentId,
        need: Resources,
    ) -> Result<InstanceTypeId, BlockReason> {
        let cfg = self.cluster.ce(ce);
        let committed = self.ces[ce.0 as usize].committed_vcpus;
        let exceed = cfg.allocation_strategy.may_exceed_max_vcpus(cfg.market);
        // maxvCpus: only BEST_FIT on On-Demand is strict; every other combination may go
        // over by the one instance that crosses the limit (reference §5.2).
        if committed >= cfg.max_vcpus || !cfg.unmanaged_hosts.is_empty() {
            return Err(BlockReason::MaxResource);
        }
        let (max, strict_best_fit) = (
            cfg.max_vcpus,
            cfg.allocation_strategy.for_market(cfg.market) == AllocationStrategy::BestFit,
        );
        self.candidates_for(ce, need);
        let candidates = &self.candidates[&(ce, need)];
        let mut why = if candidates.is_empty() {
            BlockReason::InsufficientCapacity // e.g. every Spot pool above the bid
        } else {
            BlockReason::MaxResource
        };
        for c in candidates {
            let vcpus = self.cluster.catalog.get(c.id).vcpus;
            if !exceed && committed + vcpus > max {
                continue;
            }
            if self.type_unavailable(ce, c.id) {
                if strict_best_fit {
                    // BEST_FIT waits for its type instead of diversifying.
                    return Err(BlockReason::InsufficientCapacity);
                }
                why = BlockReason::InsufficientCapacity;
                continue;
            }
            return Ok(c.id);
        }
        Err(why)
    }

    /// Types `ce` may launch for `need`, ranked by its strategy (cached per shape; the cache
    /// is dropped when Spot prices change).
    pub(super) fn candidates_for(
        &mut self,
        ce: ComputeEnvironmentId,
        need: Resources,
    ) -> &[Candidate] {
        if !self.candidates.contains_key(&(ce, need)) {
            let list = self.build_candidates(ce, need);
            self.candidates.insert((ce, need), list);
        }
        &self.candidates[&(ce, need)]
    }

    fn build_candidates(&self, ce: ComputeEnvironmentId, need: Resources) -> Vec<Candidate> {
        let cfg = self.cluster.ce(ce);
        let catalog = &self.cluster.catalog;
        let mut list: Vec<Candidate> = cfg
            .instance_types
            .iter()
            .filter(|&&t| self.may_use(catalog.get(t), &need))
            .filter_map(|&t| {
                let ty = catalog.get(t);
                match cfg.market {
                    Market::OnDemand => Some(Candidate {
                        id: t,
                        price: ty.on_demand_per_hour,
                    }),
                    Market::Spot => {
                        let price = self.spot_price(t);
                        // bidPercentage: a pool priced above the cap is not launched.
                        (ty.has_spot() && price <= self.bid_cap(ce, t))
                            .then_some(Candidate { id: t, price })
                    }
                }
            })
            .collect();
        let unit = if need.gpus > 0 { Unit::Gpu } else { Unit::Vcpu };
        match &self.policies.provisioning {
            Some(p) if p.allocation_strategy().is_none() => {
                p.rank(catalog, cfg.market, unit, &mut list)
            }
            _ => rank(
                catalog,
                cfg.allocation_strategy,
                cfg.market,
                unit,
                &mut list,
            ),
        }
        list
    }

    /// Whether a job needing `need` may run on (or launch) type `t`: it holds the job, and
    /// the optional policy does not keep a CPU job off a GPU type.
    pub(super) fn may_use(&self, t: &crate::model::InstanceType, need: &Resources) -> bool {
        type_holds(t, need)
            && (need.gpus > 0
                || t.gpus == 0
                || !self.cluster.options.keep_cpu_jobs_off_gpu_instances)
    }
}
