//! The scheduling pass: queues in priority order, each FIFO with head-of-line blocking.
//!
//! For the job at the head of a queue, each compute environment in `computeEnvironmentOrder`
//! is tried in turn: a ready instance with room (best fit), else room on an instance still
//! booting (the job waits for it), else a new instance chosen by the allocation strategy.
//! The next compute environment is tried only when one can do none of these (reference §4.1).
//! A head job that no compute environment can serve blocks its queue until something changes
//! (reference §1.3); the pass then moves on to the next queue (reference §4.2).

use super::provisioning::{rank, type_holds, Candidate, Unit};
use super::{Command, Engine, InstanceState, Resources};
use crate::model::{AllocationStrategy, ComputeEnvironmentId, InstanceTypeId, JobId, Market};

impl Engine {
    pub(super) fn dispatch_pass(&mut self, out: &mut Vec<Command>) {
        for qi in 0..self.queue_order.len() {
            let q = self.queue_order[qi].0 as usize;
            while let Some((key, job)) = self.queues[q].jobs.pop_first() {
                if !self.try_dispatch(job, out) {
                    self.queues[q].jobs.insert(key, job);
                    break;
                }
            }
        }
    }

    /// Places, reserves or launches for `job`; false if its queue must wait.
    fn try_dispatch(&mut self, job: JobId, out: &mut Vec<Command>) -> bool {
        let j = &self.jobs[job.0 as usize];
        let need = j.resources();
        let queue = j.spec.queue;
        let n = self.cluster.queue(queue).compute_environment_order.len();
        for i in 0..n {
            let ce = self.cluster.queue(queue).compute_environment_order[i];
            let st = &self.ces[ce.0 as usize];
            let gpu_hosts = need.gpus > 0 || !self.cluster.options.keep_cpu_jobs_off_gpu_instances;
            if let Some(inst) = st.ready.best_fit(&need, gpu_hosts) {
                self.take_capacity(inst, need);
                self.start_attempt(job, inst, out);
                return true;
            }
            if let Some(inst) = st.pending.best_fit(&need, gpu_hosts) {
                self.reserve(job, inst, need);
                return true;
            }
            if let Some(t) = self.choose_type(ce, need) {
                let inst = self.launch(ce, t, out);
                self.reserve(job, inst, need);
                return true;
            }
        }
        false
    }

    /// Takes `need` out of an indexed instance's free capacity.
    fn take_capacity(&mut self, id: super::InstanceId, need: Resources) {
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
        if inst.state == InstanceState::Pending {
            let st = &mut self.ces[inst.compute_environment.0 as usize];
            st.pending.remove(id, old, inst.gpu_host);
            st.pending.insert(id, inst.free, inst.gpu_host);
        }
    }

    fn reserve(&mut self, job: JobId, inst: super::InstanceId, need: Resources) {
        self.take_capacity(inst, need);
        self.instances[inst.0 as usize].reserved.push(job);
        self.jobs[job.0 as usize].reserved_on = Some(inst);
    }

    /// The type `ce` launches for a job needing `need` now, if any (see `provisioning`).
    pub(super) fn choose_type(
        &mut self,
        ce: ComputeEnvironmentId,
        need: Resources,
    ) -> Option<InstanceTypeId> {
        let cfg = self.cluster.ce(ce);
        let committed = self.ces[ce.0 as usize].committed_vcpus;
        let exceed = cfg.allocation_strategy.may_exceed_max_vcpus(cfg.market);
        // maxvCpus: only BEST_FIT on On-Demand is strict; every other combination may go
        // over by the one instance that crosses the limit (reference §5.2).
        if committed >= cfg.max_vcpus {
            return None;
        }
        let (max, strict_best_fit) = (
            cfg.max_vcpus,
            cfg.allocation_strategy.for_market(cfg.market) == AllocationStrategy::BestFit,
        );
        self.candidates_for(ce, need);
        for c in &self.candidates[&(ce, need)] {
            let vcpus = self.cluster.catalog.get(c.id).vcpus;
            if !exceed && committed + vcpus > max {
                continue;
            }
            if self.type_unavailable(ce, c.id) {
                if strict_best_fit {
                    return None; // BEST_FIT waits for its type instead of diversifying
                }
                continue;
            }
            return Some(c.id);
        }
        None
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
            .filter(|&&t| type_holds(catalog.get(t), &need))
            .filter(|&&t| {
                need.gpus > 0
                    || catalog.get(t).gpus == 0
                    || !self.cluster.options.keep_cpu_jobs_off_gpu_instances
            })
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
        rank(
            catalog,
            cfg.allocation_strategy,
            cfg.market,
            unit,
            &mut list,
        );
        list
    }
}
