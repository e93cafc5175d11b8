//! Stage 2 of trace loading: a raw row resolved against a scenario's job queues and job
//! definitions, with the checks that need them (GPUs the queue can hold, multi-node jobs on
//! Spot or UNMANAGED capacity, share identifiers on fair-share queues).

use super::csvutil::plural;
use super::jobdef::{merge_parameters, node_resources, substitute, JobDefinition, JobDefinitions};
use super::trace_row::{Names, RawJob};
use super::InputError;
use crate::model::{ArrayProperties, Cluster, JobQueueId, JobSpec, Market, SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::path::Path;

/// What the checks need to know about a job queue.
struct QueueFacts {
    id: JobQueueId,
    /// Most GPUs of any instance type or host of its compute environments.
    max_gpus: u32,
    /// Whether it has a fair-share scheduling policy.
    fair_share: bool,
    /// A SPOT or UNMANAGED compute environment of it, if any (multi-node jobs cannot run).
    no_mnp: Option<String>,
}

/// A job definition a row names, with what every row that names it shares.
struct DefRef<'a> {
    def: &'a JobDefinition,
    /// `name:revision`.
    label: String,
    /// The command with the definition's default parameters substituted.
    command: Vec<String>,
}

/// Resolves rows, caching lookups by interned id.
pub(crate) struct Resolver<'a> {
    pub(crate) file: &'a Path,
    pub(crate) cluster: &'a Cluster,
    pub(crate) definitions: &'a JobDefinitions,
    queues: Vec<Option<QueueFacts>>,
    defs: Vec<Option<DefRef<'a>>>,
}

impl<'a> Resolver<'a> {
    /// A resolver for rows of `file`.
    pub(crate) fn new(
        file: &'a Path,
        cluster: &'a Cluster,
        definitions: &'a JobDefinitions,
    ) -> Self {
        Resolver {
            file,
            cluster,
            definitions,
            queues: Vec::new(),
            defs: Vec::new(),
        }
    }

    fn queue_facts(&self, name: &str) -> Option<QueueFacts> {
        let id = self.cluster.find_queue(name)?;
        let q = self.cluster.queue(id);
        let mut max_gpus = 0;
        let mut no_mnp = None;
        for &ce_id in &q.compute_environment_order {
            let ce = self.cluster.ce(ce_id);
            for &t in &ce.instance_types {
                max_gpus = max_gpus.max(self.cluster.catalog.get(t).gpus);
            }
            for h in &ce.unmanaged_hosts {
                max_gpus = max_gpus.max(h.gpus);
            }
            if no_mnp.is_none() {
                if !ce.unmanaged_hosts.is_empty() {
                    no_mnp = Some(format!("UNMANAGED compute environment `{}`", ce.name));
                } else if ce.market == Market::Spot {
                    no_mnp = Some(format!("SPOT compute environment `{}`", ce.name));
                }
            }
        }
        Some(QueueFacts {
            id,
            max_gpus,
            fair_share: q.fairshare_policy.is_some(),
            no_mnp,
        })
    }

    fn err(&self, j: &RawJob, field: &str, msg: String) -> InputError {
        InputError::new(self.file, msg)
            .at_line(j.line)
            .in_field(field)
    }

    /// Resolves one row.
    pub(crate) fn resolve(&mut self, mut j: RawJob, names: &Names) -> Result<TraceJob, InputError> {
        let mut extra = j.extra.take();
        let array_size = extra.as_ref().and_then(|x| x.array_size);
        for q in names.queues.names.iter().skip(self.queues.len()) {
            let facts = self.queue_facts(q);
            self.queues.push(facts);
        }
        for d in names.definitions.names.iter().skip(self.defs.len()) {
            let r = self.definitions.resolve(d).map(|(name, def)| DefRef {
                def,
                label: format!("{name}:{}", def.revision),
                command: substitute(&def.command, &def.parameters),
            });
            self.defs.push(r);
        }
        let Some(Some(queue)) = self.queues.get(j.queue as usize) else {
            let known: Vec<&str> = self
                .cluster
                .job_queues
                .iter()
                .map(|q| q.name.as_str())
                .collect();
            let msg = format!(
                "unknown job queue `{}`; the scenario's job queues are: {}",
                names.queues.name(j.queue),
                known.join(", ")
            );
            return Err(self.err(&j, "queue", msg));
        };
        let def = match j.definition {
            None => None,
            Some(d) => match self.defs.get(d as usize) {
                Some(Some(def)) => Some(def),
                _ => {
                    let name = names.definitions.name(d);
                    let known: Vec<&str> = self.definitions.names().collect();
                    let msg = if known.is_empty() {
                        format!("unknown job definition `{name}`; the scenario defines no job definitions")
                    } else {
                        format!(
                            "unknown job definition `{name}`; the scenario defines: {} \
                             (write `name` for the latest revision or `name:revision`)",
                            known.join(", ")
                        )
                    };
                    return Err(self.err(&j, "job_definition", msg));
                }
            },
        };
        let d = def.map(|d| d.def);
        let pick = |row: Option<u32>, f: fn(&JobDefinition) -> Option<u32>, default: u32| {
            row.or_else(|| d.and_then(f)).unwrap_or(default)
        };
        let mut vcpus = pick(j.vcpus, |d| d.vcpus, 1);
        let mut memory_mib = pick(j.memory_mib, |d| d.memory_mib, 2048);
        let mut gpus = pick(j.gpus, |d| d.gpus, 0);
        let mut gpus_needed = gpus;
        let mut node_properties = None;
        if let Some(np) = d.and_then(|d| d.node_properties.as_ref()) {
            if array_size.is_some() {
                let msg = "array jobs of multi-node parallel job definitions are not supported; \
                           leave `array_size` empty";
                return Err(self.err(&j, "array_size", msg.into()));
            }
            if let Some(ce) = &queue.no_mnp {
                let msg = format!(
                    "job `{}` is a multi-node parallel job, which AWS rejects on a queue with \
                     a {ce}",
                    j.name
                );
                return Err(self.err(&j, "job_definition", msg));
            }
            let mut np = np.clone();
            for r in &mut np.node_ranges {
                r.vcpus = j.vcpus.unwrap_or(r.vcpus);
                r.memory_mib = j.memory_mib.unwrap_or(r.memory_mib);
                r.gpus = j.gpus.unwrap_or(r.gpus);
            }
            (vcpus, memory_mib, gpus) = node_resources(&np, np.main_node).unwrap_or((1, 2048, 0));
            gpus_needed = np.node_ranges.iter().map(|r| r.gpus).max().unwrap_or(0);
            node_properties = Some(np);
        }
        if gpus_needed > queue.max_gpus {
            let field = if j.gpus.is_some() {
                "gpus"
            } else {
                "job_definition"
            };
            let msg = format!(
                "job `{}` asks for {}, but no instance type or host of the compute \
                 environments of queue `{}` has more than {}",
                j.name,
                plural(gpus_needed as usize, "GPU", "GPUs"),
                names.queues.name(j.queue),
                queue.max_gpus
            );
            return Err(self.err(&j, field, msg));
        }
        let share_identifier = extra.as_mut().and_then(|x| x.share_identifier.take());
        if share_identifier.is_some() != queue.fair_share {
            let q = names.queues.name(j.queue);
            let msg = match &share_identifier {
                None => format!(
                    "job `{}` is on queue `{q}`, which has a fair-share scheduling policy: a \
                     share identifier is required",
                    j.name
                ),
                Some(s) => format!(
                    "job `{}` gives share identifier `{s}`, but queue `{q}` has no fair-share \
                     scheduling policy (AWS rejects it there)",
                    j.name
                ),
            };
            return Err(self.err(&j, "share_identifier", msg));
        }
        let x = extra.as_deref();
        let row_params: &[(String, String)] = x.map_or(&[], |x| &x.parameters);
        let params_overridden = !row_params.is_empty();
        let parameters = match d {
            Some(d) if params_overridden => merge_parameters(&d.parameters, row_params),
            Some(d) => d.parameters.clone(),
            None if params_overridden => row_params.to_vec(),
            None => Vec::new(),
        };
        let command = match (x.and_then(|x| x.command.as_ref()), def) {
            (Some(c), _) => substitute(c, &parameters),
            (None, Some(def)) if params_overridden => substitute(&def.def.command, &parameters),
            (None, Some(def)) => def.command.clone(),
            (None, None) => Vec::new(),
        };
        let (job_definition, evaluate_on_exit, environment) = match def {
            Some(def) => (
                def.label.clone(),
                def.def.evaluate_on_exit.clone(),
                def.def.environment.clone(),
            ),
            None => (String::new(), Vec::new(), Vec::new()),
        };
        let spec = JobSpec {
            name: j.name,
            queue: queue.id,
            vcpus,
            memory_mib,
            gpus,
            attempts: pick(j.attempts, |d| d.attempts, 1),
            evaluate_on_exit,
            timeout: j
                .timeout_ms
                .map(SimDuration::from_millis)
                .or_else(|| d.and_then(|d| d.timeout)),
            depends_on: Vec::new(),
            array: array_size.map(|size| ArrayProperties {
                size,
                sequential: x.is_some_and(|x| x.sequential),
            }),
            job_definition,
            parameters,
            command,
            environment,
            share_identifier,
            scheduling_priority: pick(
                x.and_then(|x| x.scheduling_priority),
                |d| d.scheduling_priority,
                0,
            ),
            node_properties,
            requested_time: x
                .and_then(|x| x.requested_time_ms)
                .map(SimDuration::from_millis),
            user: x.and_then(|x| x.user.clone()),
        };
        Ok(TraceJob {
            submit: SimTime(j.submit_ms),
            spec,
            run_time: SimDuration::from_millis(j.run_time_ms),
            exit_code: j.exit_code,
            cancel_at: x.and_then(|x| x.cancel_at_ms).map(SimTime),
            terminate_at: x.and_then(|x| x.terminate_at_ms).map(SimTime),
            submit_after: None,
        })
    }
}
