//! Instance lifecycle: launch, boot, Spot notice, loss, idle scale-in.

use super::{
    Command, Engine, InstanceId, InstanceRecord, InstanceState, LaunchFailure, Resources,
    StatusReason, Timer,
};
use crate::model::{ComputeEnvironmentId, InstanceTypeId, Market, MicroUsd, SimDuration};

impl Engine {
    /// Asks for one instance of `t` in `ce` and indexes its capacity as pending.
    pub(super) fn launch(
        &mut self,
        ce: ComputeEnvironmentId,
        t: InstanceTypeId,
        out: &mut Vec<Command>,
    ) -> InstanceId {
        let id = InstanceId(self.instances.len() as u32);
        let cfg = self.cluster.ce(ce);
        let ty = self.cluster.catalog.get(t);
        let max_price = match cfg.market {
            Market::OnDemand => ty.on_demand_per_hour,
            Market::Spot => ty.on_demand_per_hour.percent(cfg.bid_percentage),
        };
        out.push(Command::LaunchInstance {
            instance: id,
            compute_environment: ce,
            instance_type: t,
            market: cfg.market,
            max_price_per_hour: max_price,
        });
        self.add_instance(ce, t)
    }

    /// Takes the hosts of every UNMANAGED compute environment into use.
    fn adopt_unmanaged_hosts(&mut self, out: &mut Vec<Command>) {
        for c in 0..self.cluster.compute_environments.len() {
            let ce = ComputeEnvironmentId(c as u16);
            if self.cluster.ce(ce).unmanaged_hosts.is_empty() {
                continue;
            }
            for t in self.cluster.ce(ce).instance_types.clone() {
                let instance = self.add_instance(ce, t);
                out.push(Command::AdoptHost {
                    instance,
                    compute_environment: ce,
                    instance_type: t,
                });
            }
        }
    }

    /// Records a new instance (Pending) and indexes its capacity.
    fn add_instance(&mut self, ce: ComputeEnvironmentId, t: InstanceTypeId) -> InstanceId {
        let id = InstanceId(self.instances.len() as u32);
        let cfg = self.cluster.ce(ce);
        let ty = self.cluster.catalog.get(t);
        let free = Resources {
            vcpus: ty.vcpus,
            memory_mib: ty.registered_memory_mib,
            gpus: ty.gpus,
        };
        self.instances.push(InstanceRecord {
            compute_environment: ce,
            instance_type: t,
            market: cfg.market,
            state: InstanceState::Pending,
            launched_at: self.now,
            ready_at: None,
            terminated_at: None,
            launch_failure: None,
            interrupted: false,
            free,
            free_gpu_mask: if ty.gpus >= 64 {
                u64::MAX
            } else {
                (1u64 << ty.gpus) - 1
            },
            gpu_host: ty.gpus > 0,
            jobs: Vec::new(),
            reserved: Vec::new(),
            idle_since: None,
            jobs_hosted: 0,
        });
        let st = &mut self.ces[ce.0 as usize];
        st.committed_vcpus += ty.vcpus;
        st.pending.insert(id, free, ty.gpus > 0);
        id
    }

    /// At the start of a run, launches each compute environment's `desiredvCpus` (at least
    /// `minvCpus`) as instances of the type its strategy picks for a 1-vCPU job, within
    /// `maxvCpus` as scale-out is.
    pub(super) fn launch_desired_capacity(&mut self, out: &mut Vec<Command>) {
        self.adopt_unmanaged_hosts(out);
        let tiny = Resources {
            vcpus: 1,
            memory_mib: 1,
            gpus: 0,
        };
        for c in 0..self.cluster.compute_environments.len() {
            let ce = ComputeEnvironmentId(c as u16);
            let cfg = self.cluster.ce(ce);
            let want = cfg.desired_vcpus.max(cfg.min_vcpus);
            // The same type choice and maxvCpus rule as scale-out.
            while self.ces[c].committed_vcpus < want {
                // A CE of GPU types only (with CPU jobs kept off GPU hosts) still keeps its
                // minimum: then the pick is for a 1-GPU job.
                let gpu = Resources { gpus: 1, ..tiny };
                let Ok(t) = self
                    .choose_type(ce, tiny)
                    .or_else(|_| self.choose_type(ce, gpu))
                else {
                    break;
                };
                self.launch(ce, t, out);
            }
        }
    }

    pub(super) fn on_instance_ready(&mut self, id: InstanceId, out: &mut Vec<Command>) {
        let now = self.now;
        let Some(inst) = self.instances.get_mut(id.0 as usize) else {
            return;
        };
        inst.ready_at.get_or_insert(now);
        if inst.state != InstanceState::Pending {
            return; // noticed or terminated while booting
        }
        inst.state = InstanceState::Ready;
        let (ce, free, gpu) = (inst.compute_environment, inst.free, inst.gpu_host);
        let reserved = std::mem::take(&mut inst.reserved);
        self.ces[ce.0 as usize].pending.remove(id, free, gpu);
        // Jobs waiting for this instance start on it, in the order they reserved it.
        for job in reserved {
            if self.node_waits(job) {
                self.instances[id.0 as usize].reserved.push(job); // until its main node runs
            } else {
                self.start_attempt(job, id, out);
            }
        }
        self.ces[ce.0 as usize].ready.insert(id, free, gpu);
        self.backfill_host_ready(id);
        self.mark_idle_if_so(id);
        self.dirty = true;
    }

    pub(super) fn on_launch_failed(&mut self, id: InstanceId, reason: LaunchFailure) {
        let Some(inst) = self.instances.get(id.0 as usize) else {
            return;
        };
        if inst.state != InstanceState::Pending {
            return;
        }
        let (ce, t) = (inst.compute_environment, inst.instance_type);
        self.counters.launch_failures += 1;
        let reserved = self.remove_instance(id);
        self.instances[id.0 as usize].launch_failure = Some(reason);
        if reason == LaunchFailure::InsufficientInstanceCapacity {
            // At least 1 s, or a zero retry time would relaunch at the same instant forever.
            let retry = self
                .cluster
                .ce(ce)
                .capacity_retry
                .max(SimDuration::from_secs(1));
            let until = self.now + retry;
            self.ces[ce.0 as usize].unavailable_until.insert(t, until);
            self.timers.insert((until, Timer::CapacityRetry(ce)));
        }
        self.requeue(reserved);
    }

    /// Two minutes' warning: the instance takes no new jobs (modelling choice: Batch drains
    /// it), and jobs waiting for it to boot look elsewhere.
    pub(super) fn on_interruption_notice(&mut self, id: InstanceId) {
        let Some(inst) = self.instances.get_mut(id.0 as usize) else {
            return;
        };
        let (ce, free, state, gpu) = (
            inst.compute_environment,
            inst.free,
            inst.state,
            inst.gpu_host,
        );
        let st = &mut self.ces[ce.0 as usize];
        match state {
            InstanceState::Ready => st.ready.remove(id, free, gpu),
            InstanceState::Pending => st.pending.remove(id, free, gpu),
            _ => return,
        }
        inst.state = InstanceState::Draining;
        let reserved = std::mem::take(&mut inst.reserved);
        self.clear_idle(id);
        if !reserved.is_empty() {
            self.requeue(reserved);
        }
    }

    /// The host is gone: every attempt on it fails with `Host EC2 (instance …) terminated.`
    /// and is retried while attempts remain.
    pub(super) fn on_instance_terminated(&mut self, id: InstanceId, out: &mut Vec<Command>) {
        let Some(inst) = self.instances.get(id.0 as usize) else {
            return;
        };
        if inst.state == InstanceState::Terminated {
            return;
        }
        self.counters.spot_interruptions += 1;
        self.instances[id.0 as usize].interrupted = true;
        let jobs = std::mem::take(&mut self.instances[id.0 as usize].jobs);
        let reserved = self.remove_instance(id);
        for job in jobs {
            let host = StatusReason::HostTerminated(id);
            self.end_attempt(job, None, Some(host));
            if self.node_parent(job).is_some() {
                self.on_node_stopped(job, Some(host), None, out);
                continue;
            }
            // An attempt the engine was already stopping fails for that reason, unretried.
            let stop = self.jobs[job.0 as usize]
                .attempts
                .last()
                .and_then(|a| a.stop_requested);
            self.retry_or_fail(job, stop.map_or(host, |s| s.status_reason()), None);
        }
        self.requeue(reserved);
        self.dirty = true;
    }

    /// Marks an instance terminated, drops it from every index and its compute environment's
    /// committed vCPUs; returns the jobs that were waiting for it.
    fn remove_instance(&mut self, id: InstanceId) -> Vec<crate::model::JobId> {
        self.clear_idle(id);
        let now = self.now;
        let inst = &mut self.instances[id.0 as usize];
        let (ce, free, state, gpu) = (
            inst.compute_environment,
            inst.free,
            inst.state,
            inst.gpu_host,
        );
        let vcpus = self.cluster.catalog.get(inst.instance_type).vcpus;
        inst.state = InstanceState::Terminated;
        inst.terminated_at = Some(now);
        let reserved = std::mem::take(&mut inst.reserved);
        let st = &mut self.ces[ce.0 as usize];
        match state {
            InstanceState::Ready => st.ready.remove(id, free, gpu),
            InstanceState::Pending => st.pending.remove(id, free, gpu),
            _ => {}
        }
        st.committed_vcpus = st.committed_vcpus.saturating_sub(vcpus);
        self.backfill_host_gone(id);
        reserved
    }

    /// Starts the idle clock of a ready instance with nothing on it.
    pub(super) fn mark_idle_if_so(&mut self, id: InstanceId) {
        let inst = &mut self.instances[id.0 as usize];
        let unmanaged = !self
            .cluster
            .ce(inst.compute_environment)
            .unmanaged_hosts
            .is_empty();
        if inst.state != InstanceState::Ready || !inst.is_idle() || inst.idle_since.is_some() {
            return;
        }
        if unmanaged {
            return; // UNMANAGED hosts are never scaled in
        }
        inst.idle_since = Some(self.now);
        let timeout = self.cluster.ce(inst.compute_environment).idle_timeout;
        self.timers
            .insert((self.now + timeout, Timer::IdleCheck(id)));
    }

    /// Stops the idle clock (the instance got work or is going away).
    pub(super) fn clear_idle(&mut self, id: InstanceId) {
        let inst = &mut self.instances[id.0 as usize];
        if let Some(since) = inst.idle_since.take() {
            let timeout = self.cluster.ce(inst.compute_environment).idle_timeout;
            self.timers.remove(&(since + timeout, Timer::IdleCheck(id)));
        }
    }

    /// Scale-in: terminates an instance idle for the compute environment's idle timeout,
    /// unless that would take the compute environment below `minvCpus`. The instance's size
    /// is never changed (reference §5.2).
    pub(super) fn scale_in_if_idle(&mut self, id: InstanceId, out: &mut Vec<Command>) {
        let inst = &self.instances[id.0 as usize];
        let ce = inst.compute_environment;
        let vcpus = self.cluster.catalog.get(inst.instance_type).vcpus;
        if inst.state != InstanceState::Ready || !inst.is_idle() {
            return;
        }
        let committed = self.ces[ce.0 as usize].committed_vcpus;
        if committed.saturating_sub(vcpus) < self.cluster.ce(ce).min_vcpus {
            // Kept for minvCpus; it is looked at again once it has run a job and gone idle.
            self.instances[id.0 as usize].idle_since = None;
            return;
        }
        self.remove_instance(id);
        out.push(Command::TerminateInstance { instance: id });
        // Its vCPUs no longer count against maxvCpus: a job waiting on the limit may go now.
        self.dirty = true;
    }

    /// Whether `ce` avoids type `t` at `now` after a capacity failure.
    pub(super) fn type_unavailable(&self, ce: ComputeEnvironmentId, t: InstanceTypeId) -> bool {
        self.ces[ce.0 as usize]
            .unavailable_until
            .get(&t)
            .is_some_and(|&until| until > self.now)
    }

    /// Most a Spot compute environment pays for `t`.
    pub(super) fn bid_cap(&self, ce: ComputeEnvironmentId, t: InstanceTypeId) -> MicroUsd {
        let cfg = self.cluster.ce(ce);
        self.cluster
            .catalog
            .get(t)
            .on_demand_per_hour
            .percent(cfg.bid_percentage)
    }
}
