//! Multi-node parallel jobs (reference §7).
//!
//! Modelling choices:
//! - A job with `nodeProperties` of N nodes becomes N+1 records: the job (it queues, holds the
//!   job's attempts and status) and nodes `name#0` … `name#N-1` (they hold the containers).
//! - When the job reaches the head of its queue, one compute environment launches N new
//!   instances of one type at once (the type its strategy ranks first for the largest node
//!   range, all within `maxvCpus`); each node reserves a whole instance (single-tenant).
//! - The main node starts when its instance is ready; the other nodes start once the main
//!   node is RUNNING (and their instance is ready). The job is STARTING with its main node
//!   and RUNNING with it.
//! - The main node's exit ends the attempt: the other nodes are stopped, and once every node
//!   has stopped the job succeeds (exit 0) or fails that attempt and is retried as any job.
//!   A child node's own exit or loss does not end the job. A lost main host fails the attempt
//!   with `Host EC2 (…) terminated.`.
//! - The timeout covers the whole job, from the main node's RUNNING.
//! - Node statuses follow the job's at the end; while the job waits for a retry they are
//!   PENDING again.

use super::{
    Attempt, BlockReason, Command, Engine, InstanceId, InstanceState, MultiNode, Resources,
    StatusReason, StopReason, Timer,
};
use crate::model::{ComputeEnvironmentId, InstanceTypeId, JobId, JobSpec, JobStatus};

impl Engine {
    /// Creates the node records of multi-node job `job` (already pushed).
    pub(super) fn add_nodes(&mut self, job: JobId) {
        let Some(np) = self.jobs[job.0 as usize].spec.node_properties.clone() else {
            return;
        };
        for index in 0..np.num_nodes {
            let p = &self.jobs[job.0 as usize].spec;
            let spec = JobSpec {
                name: format!("{}#{index}", p.name),
                depends_on: Vec::new(),
                array: None,
                node_properties: None,
                timeout: None,
                ..p.clone()
            };
            let mut node = self.new_record(spec);
            node.status = JobStatus::Pending;
            node.pending_at = Some(self.now);
            self.push_job(node);
        }
        // The job itself holds nothing: its nodes hold whole instances.
        let spec = &mut self.jobs[job.0 as usize].spec;
        (spec.vcpus, spec.memory_mib, spec.gpus) = (0, 0, 0);
        self.multinode.insert(
            job,
            MultiNode {
                first: JobId(job.0 + 1),
                nodes: np.num_nodes,
                main: np.main_node,
                main_exit: None,
                live: 0,
            },
        );
    }

    /// The multi-node job a node belongs to, if `job` is a node.
    pub(super) fn node_parent(&self, job: JobId) -> Option<JobId> {
        let (&p, m) = self.multinode.range(..=job).next_back()?;
        (job > p && job.0 < m.first.0 + m.nodes).then_some(p)
    }

    /// What the largest node of `job` needs.
    pub(super) fn largest_node(&self, job: JobId) -> Resources {
        let np = self.jobs[job.0 as usize]
            .spec
            .node_properties
            .as_ref()
            .expect("multi-node");
        np.node_ranges
            .iter()
            .fold(Resources::default(), |m, r| Resources {
                vcpus: m.vcpus.max(r.vcpus),
                memory_mib: m.memory_mib.max(r.memory_mib),
                gpus: m.gpus.max(r.gpus),
            })
    }

    /// Launches the instances of a multi-node job and reserves one for each node.
    pub(super) fn try_dispatch_multinode(
        &mut self,
        job: JobId,
        out: &mut Vec<Command>,
    ) -> Result<(), BlockReason> {
        let need = self.largest_node(job);
        let n = self.multinode[&job].nodes;
        let queue = self.jobs[job.0 as usize].spec.queue;
        let order = self.cluster.queue(queue).compute_environment_order.clone();
        for ce in order {
            if self.cluster.ce(ce).disabled {
                continue;
            }
            if let Some(t) = self.multinode_type(ce, need, n) {
                let whole_vcpus = n * self.cluster.catalog.get(t).vcpus;
                let q = &self.queues[queue.0 as usize];
                if !q.within_reservation(whole_vcpus, self.queue_max_vcpus[queue.0 as usize]) {
                    return Err(BlockReason::MaxResource); // held back by computeReservation
                }
                let first = self.multinode[&job].first;
                for i in 0..n {
                    let inst = self.launch(ce, t, out);
                    let ty = self.cluster.catalog.get(t);
                    let whole = Resources {
                        vcpus: ty.vcpus,
                        memory_mib: ty.registered_memory_mib,
                        gpus: ty.gpus,
                    };
                    let node = JobId(first.0 + i);
                    let spec = &mut self.jobs[node.0 as usize].spec;
                    (spec.vcpus, spec.memory_mib, spec.gpus) =
                        (whole.vcpus, whole.memory_mib, whole.gpus);
                    self.reserve(node, inst, whole);
                    // Fair share counts the nodes' vCPUs (each node gives them back as it ends).
                    self.queues[queue.0 as usize].charge_placed(whole.vcpus as i64);
                }
                return Ok(());
            }
        }
        Err(BlockReason::MaxResource)
    }

    /// The type `ce` launches `n` of for nodes needing `need`, all within `maxvCpus`.
    fn multinode_type(
        &mut self,
        ce: ComputeEnvironmentId,
        need: Resources,
        n: u32,
    ) -> Option<InstanceTypeId> {
        let (max, committed) = (
            self.cluster.ce(ce).max_vcpus,
            self.ces[ce.0 as usize].committed_vcpus,
        );
        self.candidates_for(ce, need);
        self.candidates[&(ce, need)]
            .iter()
            .map(|c| c.id)
            .filter(|&t| !self.type_unavailable(ce, t))
            .find(|&t| {
                committed as u64 + n as u64 * self.cluster.catalog.get(t).vcpus as u64 <= max as u64
            })
    }

    /// Whether a node must wait for its main node before starting on its ready instance.
    pub(super) fn node_waits(&self, node: JobId) -> bool {
        let Some(p) = self.node_parent(node) else {
            return false;
        };
        let m = &self.multinode[&p];
        node.0 - m.first.0 != m.main && self.jobs[p.0 as usize].status != JobStatus::Running
    }

    /// A node's container started: the main node's start moves the job along.
    pub(super) fn on_node_started(&mut self, node: JobId, running: bool, out: &mut Vec<Command>) {
        let Some(p) = self.node_parent(node) else {
            return;
        };
        let m = &self.multinode[&p];
        if node.0 - m.first.0 != m.main {
            return;
        }
        let now = self.now;
        let inst = self.jobs[node.0 as usize]
            .attempts
            .last()
            .map(|a| a.instance);
        let pj = &mut self.jobs[p.0 as usize];
        if !running {
            // A new attempt: a later wait at the head of the queue starts a new clock.
            self.clear_blocked(p);
            let pj = &mut self.jobs[p.0 as usize];
            pj.status = JobStatus::Starting;
            pj.attempts.push(Attempt {
                instance: inst.unwrap_or(InstanceId(0)),
                starting_at: now,
                running_at: None,
                stopped_at: None,
                exit_code: None,
                status_reason: None,
                gpu_ids: Vec::new(),
                stop_requested: None,
            });
            return;
        }
        pj.status = JobStatus::Running;
        if let Some(a) = pj.attempts.last_mut() {
            a.running_at = Some(now);
        }
        if let Some(limit) = pj.spec.timeout {
            let attempt = pj.attempts.len() as u32;
            self.timers
                .insert((now + limit, Timer::AttemptTimeout(p, attempt)));
        }
        // Children start now on the instances that are ready.
        let (first, n) = (self.multinode[&p].first, self.multinode[&p].nodes);
        for i in 0..n {
            let c = JobId(first.0 + i);
            if let Some(inst) = self.jobs[c.0 as usize].reserved_on {
                if self.instances[inst.0 as usize].state == InstanceState::Ready {
                    self.instances[inst.0 as usize].reserved.retain(|&j| j != c);
                    self.start_attempt(c, inst, out);
                }
            }
        }
    }

    /// Counts a node container started (+1) or stopped (−1).
    pub(super) fn count_live_node(&mut self, node: JobId, delta: i32) {
        if let Some(p) = self.node_parent(node) {
            if let Some(m) = self.multinode.get_mut(&p) {
                m.live = m.live.saturating_add_signed(delta);
            }
        }
    }

    /// A node's attempt ended (exit or lost host): the main node's end stops the others; the
    /// job's attempt ends when all have stopped.
    pub(super) fn on_node_stopped(
        &mut self,
        node: JobId,
        reason: Option<StatusReason>,
        exit: Option<i32>,
        out: &mut Vec<Command>,
    ) {
        let Some(p) = self.node_parent(node) else {
            return;
        };
        self.count_live_node(node, -1);
        let j = &mut self.jobs[node.0 as usize];
        j.status = JobStatus::Pending;
        let m = self.multinode[&p].clone();
        if node.0 - m.first.0 == m.main {
            let stop = self.jobs[node.0 as usize]
                .attempts
                .last()
                .and_then(|a| a.stop_requested);
            let why = stop.map(StopReason::status_reason).or(reason);
            self.multinode.get_mut(&p).expect("multi-node").main_exit = Some((why, exit));
            self.stop_nodes(p, StopReason::Terminated, out);
        }
        self.conclude_if_done(p);
    }

    /// Asks every node still starting or running to stop.
    pub(super) fn stop_nodes(&mut self, job: JobId, why: StopReason, out: &mut Vec<Command>) {
        let (first, n) = (self.multinode[&job].first, self.multinode[&job].nodes);
        for i in 0..n {
            self.stop_attempt(JobId(first.0 + i), why, out);
        }
    }

    fn conclude_if_done(&mut self, p: JobId) {
        let m = &self.multinode[&p];
        let Some((reason, exit)) = m.main_exit else {
            return;
        };
        if m.live > 0 {
            return;
        }
        self.multinode.get_mut(&p).expect("multi-node").main_exit = None;
        let now = self.now;
        let pj = &mut self.jobs[p.0 as usize];
        let timeout = pj.spec.timeout;
        if let Some(a) = pj.attempts.last_mut() {
            (a.stopped_at, a.exit_code, a.status_reason) = (Some(now), exit, reason);
            if let (Some(limit), Some(running)) = (timeout, a.running_at) {
                let attempt = pj.attempts.len() as u32;
                self.timers
                    .remove(&(running + limit, Timer::AttemptTimeout(p, attempt)));
            }
        }
        // Nodes that never started give their instances back (they go idle and scale in).
        self.release_node_reservations(p);
        // Ending the job (set_terminal) ends its nodes too.
        match reason {
            None => self.finish_job(p, JobStatus::Succeeded, None),
            Some(r) => self.retry_or_fail(p, r, exit),
        }
    }

    /// TerminateJob or a timeout on a running multi-node job: stops every node; the job's
    /// attempt ends with that reason once they have stopped.
    pub(super) fn stop_multinode(
        &mut self,
        job: JobId,
        why: StopReason,
        out: &mut Vec<Command>,
    ) -> bool {
        let j = &mut self.jobs[job.0 as usize];
        if !matches!(j.status, JobStatus::Starting | JobStatus::Running) {
            return false;
        }
        if let Some(a) = j.attempts.last_mut() {
            a.stop_requested.get_or_insert(why);
        }
        self.stop_nodes(job, why, out);
        true
    }

    /// Frees the instances a multi-node job's nodes were waiting for (no-op for other jobs).
    pub(super) fn release_node_reservations(&mut self, job: JobId) {
        let Some(m) = self.multinode.get(&job) else {
            return;
        };
        let (first, n) = (m.first, m.nodes);
        for i in 0..n {
            let node = JobId(first.0 + i);
            if let Some(inst) = self.jobs[node.0 as usize].reserved_on.take() {
                let need = self.jobs[node.0 as usize].resources();
                self.unreserve(node, inst, need);
                self.mark_idle_if_so(inst);
                let q = self.jobs[node.0 as usize].spec.queue.0 as usize;
                self.queues[q].charge_placed(-(need.vcpus as i64));
            }
        }
    }

    /// A node's instance will not come (launch failed, Spot notice): the job gives back the
    /// others and waits in its queue again.
    pub(super) fn abort_multinode_dispatch(&mut self, job: JobId) {
        if self.jobs[job.0 as usize].status != JobStatus::Runnable {
            return;
        }
        self.release_node_reservations(job);
        let j = &self.jobs[job.0 as usize];
        let (q, key) = (j.spec.queue.0 as usize, j.queue_key);
        self.queues[q].insert(key, job);
        self.dirty = true;
    }

    /// Whether some compute environment of `queue` could ever launch `n` instances of one type
    /// holding `need` within its `maxvCpus`.
    pub(super) fn multinode_fits_somewhere(
        &self,
        queue: crate::model::JobQueueId,
        need: Resources,
        n: u32,
    ) -> bool {
        let catalog = &self.cluster.catalog;
        self.cluster
            .queue(queue)
            .compute_environment_order
            .iter()
            .any(|&ce| {
                let cfg = self.cluster.ce(ce);
                cfg.instance_types.iter().any(|&t| {
                    let ty = catalog.get(t);
                    self.may_use(ty, &need) && n as u64 * ty.vcpus as u64 <= cfg.max_vcpus as u64
                })
            })
    }
}
