//! AWS Batch JSON in: what the AWS CLI prints, read as flotilla inputs.
//!
//! - [`import`] reads `aws batch describe-compute-environments`, `describe-job-queues` and,
//!   optionally, `describe-job-definitions` and `describe-scheduling-policies` output, and
//!   [`Imported::to_toml`] writes it as a scenario file (`flotilla import-aws`).
//! - [`load_jobs_json`] reads `aws batch describe-jobs` output as a trace, so a real Batch
//!   history can be replayed (`flotilla simulate --trace jobs.json`);
//!   [`write_trace_csv`] writes such a trace in flotilla's CSV format.
//!
//! Fields flotilla does not use (ARNs, subnets, security groups, roles, tags, images…) are
//! ignored. Errors name the file and the JSON path of the value at fault, e.g.
//! `computeEnvironments[0].computeResources.maxvCpus`, and say what was expected.
//!
//! Conversion of a describe-jobs job into a trace row:
//! - submit time = `createdAt` − the earliest `createdAt` of the file (which becomes the
//!   scenario's `epoch_ms`); rows are sorted by `createdAt`, dependencies first;
//! - queue = `jobQueue` (ARN or name; must be a queue of the scenario);
//! - vCPUs, memory and GPUs from `container.resourceRequirements` (a fractional Fargate VCPU
//!   is rounded up), else the legacy `container.vcpus` and `container.memory`; a multi-node
//!   job's from `nodeProperties`;
//! - run time = `stoppedAt − startedAt` of the last attempt (else of the job); a job that
//!   never started (or has not stopped) runs 0 s but is still submitted;
//! - exit code = the last attempt's `container.exitCode` (else the job's), default 0, or 1
//!   for a FAILED job without one;
//! - attempts = `retryStrategy.attempts`, else the number of attempts made (at least 1);
//!   `evaluateOnExit`, `timeout`, `shareIdentifier`, `schedulingPriority`, `parameters`,
//!   `command` and `environment` as given;
//! - `dependsOn` entries name earlier jobs by `jobId` (a child `parent:i` stands for its
//!   array job); `N_TO_N` is kept, and `SEQUENTIAL` makes an array job sequential;
//! - an array job (`arrayProperties.size`) spawns its children, so child entries
//!   (`parent:i`, and multi-node nodes `parent#i`) whose parent is in the file are not rows
//!   of their own: the children's mean run time and most common exit code become the array
//!   job's (a trace gives every child the same ones);
//! - a job cancelled or terminated before it started is cancelled at its `stoppedAt`.

#[path = "aws_import.rs"]
mod import;
#[path = "aws_jobs.rs"]
mod jobs;
#[path = "aws_node.rs"]
mod node;
#[path = "aws_spec.rs"]
mod spec;
#[path = "aws_toml.rs"]
mod toml_out;
#[path = "aws_trace_csv.rs"]
mod trace_csv;

pub use trace_csv::write_trace_csv;

use crate::input::InputError;
use crate::model::{Catalog, Cluster, JobQueue};
use crate::scenario::TraceJob;
use std::path::{Path, PathBuf};

/// The AWS CLI output files an import reads.
#[derive(Clone, Debug, Default)]
pub struct ImportFiles {
    /// `aws batch describe-compute-environments` output.
    pub compute_environments: PathBuf,
    /// `aws batch describe-job-queues` output.
    pub job_queues: PathBuf,
    /// `aws batch describe-job-definitions` output, if any.
    pub job_definitions: Option<PathBuf>,
    /// `aws batch describe-scheduling-policies` output, if any queue has a policy.
    pub scheduling_policies: Option<PathBuf>,
}

/// What [`Imported::to_toml`] writes besides the imported records.
#[derive(Clone, Debug, Default)]
pub struct TomlOptions {
    /// The scenario's `name`.
    pub name: String,
    /// The trace path (relative to the scenario file), or `None` for a placeholder the user
    /// must set.
    pub trace: Option<String>,
    /// Unix time in milliseconds of simulated time 0 (`epoch_ms`), if known.
    pub epoch_ms: Option<u64>,
    /// Lines written as comments at the top (e.g. what the trace CSV could not hold).
    pub notes: Vec<String>,
}

/// Compute environments, job queues, scheduling policies and job definitions read from AWS
/// JSON, ready to be written as a scenario.
#[derive(Clone, Debug)]
pub struct Imported {
    sources: Vec<String>,
    ces: Vec<import::ImportCe>,
    queues: Vec<import::ImportQueue>,
    policies: Vec<import::ImportPolicy>,
    job_definitions: Vec<import::ImportJobDef>,
}

/// Reads the files of an import. Instance types are checked against `catalog` (the
/// scenario will use the built-in one).
pub fn import(files: &ImportFiles, catalog: &Catalog) -> Result<Imported, InputError> {
    let ces = import::read_compute_environments(&files.compute_environments, catalog)?;
    let policies = match &files.scheduling_policies {
        Some(p) => import::read_scheduling_policies(p)?,
        None => Vec::new(),
    };
    let queues = import::read_job_queues(&files.job_queues, &ces, &policies)?;
    let job_definitions = match &files.job_definitions {
        Some(p) => import::read_job_definitions(p)?,
        None => Vec::new(),
    };
    let mut sources = vec![
        file_name(&files.compute_environments),
        file_name(&files.job_queues),
    ];
    sources.extend(files.job_definitions.iter().map(|p| file_name(p)));
    sources.extend(files.scheduling_policies.iter().map(|p| file_name(p)));
    Ok(Imported {
        sources,
        ces,
        queues,
        policies,
        job_definitions,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl Imported {
    /// The scenario file's text.
    pub fn to_toml(&self, opts: &TomlOptions) -> String {
        toml_out::ScenarioText {
            name: &opts.name,
            sources: &self.sources,
            trace: opts.trace.as_deref(),
            epoch_ms: opts.epoch_ms,
            notes: &opts.notes,
            ces: &self.ces,
            queues: &self.queues,
            policies: &self.policies,
            job_definitions: &self.job_definitions,
        }
        .render()
    }

    /// A cluster with the imported job queues only (no compute environment, empty catalog,
    /// a default fair-share policy where the queue has one): enough to read a describe-jobs
    /// export against, before the scenario exists.
    pub fn queue_cluster(&self) -> Cluster {
        Cluster {
            catalog: Catalog::new(Vec::new()),
            compute_environments: Vec::new(),
            job_queues: self
                .queues
                .iter()
                .map(|q| JobQueue {
                    name: q.name.clone(),
                    priority: i32::try_from(q.priority).unwrap_or(i32::MAX),
                    fairshare_policy: q.scheduling_policy.as_ref().map(|_| Default::default()),
                    ..JobQueue::default()
                })
                .collect(),
            options: Default::default(),
        }
    }

    /// How many compute environments, job queues, job definition revisions and scheduling
    /// policies were imported, in words.
    pub fn describe(&self) -> String {
        let n = |count: usize, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        format!(
            "{}, {}, {}, {}",
            n(
                self.ces.len(),
                "compute environment",
                "compute environments"
            ),
            n(self.queues.len(), "job queue", "job queues"),
            n(
                self.job_definitions.len(),
                "job definition revision",
                "job definition revisions"
            ),
            n(
                self.policies.len(),
                "scheduling policy",
                "scheduling policies"
            ),
        )
    }

    /// Things the user must check or fill in: placeholders and approximations.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for ce in &self.ces {
            if ce.unmanaged {
                w.push(format!(
                    "compute environment `{}` is UNMANAGED: AWS does not describe its hosts; \
                     the scenario has a placeholder host to replace",
                    ce.name
                ));
            }
            if let Some(n) = ce.resources.as_ref().and_then(|r| r.strategy_note.as_ref()) {
                w.push(format!("compute environment `{}`: {n}", ce.name));
            }
        }
        for d in &self.job_definitions {
            if d.rounded_vcpus {
                w.push(format!(
                    "job definition `{}:{}`: a fractional VCPU value was rounded up",
                    d.name, d.revision
                ));
            }
        }
        w
    }

    /// `name:revision` of every imported job definition revision.
    pub fn job_definition_refs(&self) -> Vec<String> {
        self.job_definitions
            .iter()
            .map(|d| format!("{}:{}", d.name, d.revision))
            .collect()
    }
}

/// Loads `aws batch describe-jobs` output (`{"jobs": [...]}`) as a trace for `cluster`
/// (queues are matched by name). Returns the jobs, sorted by submit time with every job
/// after the jobs it depends on, and the Unix time in milliseconds of the earliest
/// `createdAt` (simulated time 0; 0 for an empty file). In the trace, `dependsOn` holds
/// trace indices ([`crate::scenario::TraceIndex`]).
pub fn load_jobs_json(path: &Path, cluster: &Cluster) -> Result<(Vec<TraceJob>, u64), InputError> {
    jobs::load(path, cluster)
}
