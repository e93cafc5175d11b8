//! `jobs.json`: the jobs of a run shaped like `aws batch describe-jobs` output
//! (`{"jobs": [JobDetail, …]}`), field names and units (Unix epoch milliseconds) as AWS
//! prints them (reference §11), so that tools written for Batch can read a simulated run.
//!
//! Identifiers are made up but stable: job `i` of the engine has the UUID-shaped id
//! [`job_id`]; an array child is `<parent id>:<index>`, as in AWS. ARNs use region
//! `us-east-1` and account `123456789012`. Times are the scenario's `epoch_ms` plus the
//! simulated milliseconds; a time the job never reached is left out. Only attempts that have
//! ended are listed, as AWS lists them.

use crate::engine::{ArrayLink, Attempt, Engine, JobRecord};
use crate::model::{DependencyType, JobId, JobSpec, JobStatus, RetryAction, SimTime};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Region and account of every Batch ARN written.
pub const BATCH_ARN_PREFIX: &str = "arn:aws:batch:us-east-1:123456789012";
/// Region and account of every ECS ARN written.
const ECS_ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012";

/// The id of engine job `index` when it is not an array child: UUID-shaped, version-4
/// layout, deterministic.
pub fn base_job_id(index: u32) -> String {
    let mix = index.wrapping_mul(0x9E37_79B9) ^ 0x5BD1_E995;
    format!("{mix:08x}-0000-4000-8000-{:012x}", u64::from(index))
}

/// The `jobId` of engine job `id`: [`base_job_id`], or `<parent id>:<index>` for a child.
pub fn job_id(engine: &Engine, id: JobId) -> String {
    match engine.job(id).and_then(|j| j.array) {
        Some(ArrayLink::Child { parent, index }) => format!("{}:{index}", base_job_id(parent.0)),
        _ => base_job_id(id.0),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobDetail<'a> {
    job_arn: String,
    job_name: &'a str,
    job_id: String,
    job_queue: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    share_identifier: Option<&'a str>,
    scheduling_priority: u32,
    attempts: Vec<AttemptDetail>,
    created_at: u64,
    retry_strategy: RetryStrategy<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at: Option<u64>,
    depends_on: Vec<Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_definition: Option<String>,
    parameters: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<ContainerDetail<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    node_properties: Option<NodePropertiesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    array_properties: Option<ArrayPropertiesDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<Timeout>,
    tags: BTreeMap<String, String>,
    is_cancelled: bool,
    is_terminated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttemptDetail {
    container: AttemptContainer,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct AttemptContainer {
    #[serde(skip_serializing_if = "Option::is_none")]
    container_instance_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_stream_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerDetail<'a> {
    vcpus: u32,
    memory: u32,
    command: &'a [String],
    environment: Vec<NameValue<'a>>,
    resource_requirements: Vec<Requirement>,
    #[serde(flatten)]
    last: AttemptContainer,
}

#[derive(Serialize)]
struct NameValue<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct Requirement {
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RetryStrategy<'a> {
    attempts: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evaluate_on_exit: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    on_status_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_exit_code: Option<&'a str>,
    action: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Timeout {
    attempt_duration_seconds: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArrayPropertiesDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    status_summary: Option<BTreeMap<&'static str, u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodePropertiesOut {
    num_nodes: u32,
    main_node: u32,
    node_range_properties: Vec<NodeRangeOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeRangeOut {
    target_nodes: String,
    container: NodeContainer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeContainer {
    resource_requirements: Vec<Requirement>,
}

/// Writes `jobs.json` into `dir`; returns its path.
pub fn write_aws_json(dir: &Path, engine: &Engine, epoch_ms: u64) -> io::Result<PathBuf> {
    let path = dir.join("jobs.json");
    let file = File::create(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write_jobs_json(&mut w, engine, epoch_ms)?;
    w.flush()?;
    Ok(path)
}

/// Writes every job of `engine` as describe-jobs JSON, one job per line.
pub fn write_jobs_json<W: Write>(mut out: W, engine: &Engine, epoch_ms: u64) -> io::Result<()> {
    out.write_all(b"{\"jobs\": [")?;
    for (i, j) in engine.jobs().iter().enumerate() {
        out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        let detail = job_detail(engine, JobId(i as u32), j, epoch_ms);
        serde_json::to_writer(&mut out, &detail).map_err(io::Error::other)?;
    }
    out.write_all(b"\n]}\n")
}

fn job_detail<'a>(engine: &Engine, id: JobId, j: &'a JobRecord, epoch: u64) -> JobDetail<'a> {
    let ms = |t: SimTime| epoch.saturating_add(t.0);
    let s = &j.spec;
    let jid = job_id(engine, id);
    let queue = &engine.cluster().queue(s.queue).name;
    let ended: Vec<(usize, &Attempt)> = j
        .attempts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.stopped_at.is_some())
        .collect();
    let attempts = ended
        .iter()
        .map(|&(n, a)| AttemptDetail {
            container: attempt_container(id, n, a, s),
            started_at: a.running_at.map(ms),
            stopped_at: a.stopped_at.map(ms),
            status_reason: Some(attempt_reason(a)),
        })
        .collect();
    let last = j
        .attempts
        .len()
        .checked_sub(1)
        .map(|n| attempt_container(id, n, &j.attempts[n], s))
        .unwrap_or_default();
    JobDetail {
        job_arn: format!("{BATCH_ARN_PREFIX}:job/{jid}"),
        job_name: &s.name,
        job_id: jid,
        job_queue: format!("{BATCH_ARN_PREFIX}:job-queue/{queue}"),
        status: j.status.as_str(),
        status_reason: job_reason(j),
        share_identifier: s.share_identifier.as_deref(),
        scheduling_priority: s.scheduling_priority,
        attempts,
        created_at: ms(j.submitted_at),
        retry_strategy: retry_strategy(s),
        started_at: j.attempts.iter().rev().find_map(|a| a.running_at).map(ms),
        stopped_at: j.stopped_at.map(ms),
        depends_on: dependencies(engine, j),
        job_definition: (!s.job_definition.is_empty())
            .then(|| format!("{BATCH_ARN_PREFIX}:job-definition/{}", s.job_definition)),
        parameters: s
            .parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        container: s.node_properties.is_none().then(|| ContainerDetail {
            vcpus: s.vcpus,
            memory: s.memory_mib,
            command: &s.command,
            environment: s
                .environment
                .iter()
                .map(|(name, value)| NameValue { name, value })
                .collect(),
            resource_requirements: requirements(s.vcpus, s.memory_mib, s.gpus),
            last,
        }),
        node_properties: s.node_properties.as_ref().map(|n| NodePropertiesOut {
            num_nodes: n.num_nodes,
            main_node: n.main_node,
            node_range_properties: n
                .node_ranges
                .iter()
                .map(|r| NodeRangeOut {
                    target_nodes: format!("{}:{}", r.start, r.end),
                    container: NodeContainer {
                        resource_requirements: requirements(r.vcpus, r.memory_mib, r.gpus),
                    },
                })
                .collect(),
        }),
        array_properties: array_properties(engine, id, j),
        timeout: s.timeout.map(|t| Timeout {
            attempt_duration_seconds: t.0 / 1000,
        }),
        tags: BTreeMap::new(),
        is_cancelled: j.is_cancelled,
        is_terminated: j.is_terminated,
    }
}

/// The container facts of attempt `n` (0-based): ECS task and container instance, exit
/// code, and the log stream once the container ran.
fn attempt_container(id: JobId, n: usize, a: &Attempt, s: &JobSpec) -> AttemptContainer {
    let task = format!("{:016x}{:016x}", u64::from(id.0) + 1, n as u64 + 1);
    let definition = s
        .job_definition
        .split(':')
        .next()
        .filter(|d| !d.is_empty())
        .unwrap_or("flotilla");
    AttemptContainer {
        container_instance_arn: Some(format!(
            "{ECS_ARN_PREFIX}:container-instance/flotilla/{:032x}",
            u64::from(a.instance.0) + 1
        )),
        task_arn: Some(format!("{ECS_ARN_PREFIX}:task/flotilla/{task}")),
        exit_code: a.exit_code,
        reason: None,
        log_stream_name: a.running_at.map(|_| format!("{definition}/default/{task}")),
    }
}

fn attempt_reason(a: &Attempt) -> String {
    match (a.status_reason, a.stop_requested) {
        (Some(r), _) => r.to_string(),
        (None, Some(stop)) => stop.status_reason().to_string(),
        (None, None) => "Essential container in task exited".to_string(),
    }
}

/// The job's `statusReason`: the engine's, else the last attempt's once the job ended.
fn job_reason(j: &JobRecord) -> Option<String> {
    if let Some(r) = j.status_reason {
        return Some(r.to_string());
    }
    if !j.status.is_terminal() {
        return None;
    }
    Some(j.attempts.last().map_or_else(
        || "Essential container in task exited".to_string(),
        attempt_reason,
    ))
}

fn retry_strategy(s: &JobSpec) -> RetryStrategy<'_> {
    RetryStrategy {
        attempts: s.attempts,
        evaluate_on_exit: s
            .evaluate_on_exit
            .iter()
            .map(|r| Rule {
                on_status_reason: r.on_status_reason.as_deref(),
                on_reason: r.on_reason.as_deref(),
                on_exit_code: r.on_exit_code.as_deref(),
                action: match r.action {
                    RetryAction::Retry => "RETRY",
                    RetryAction::Exit => "EXIT",
                },
            })
            .collect(),
    }
}

fn requirements(vcpus: u32, memory: u32, gpus: u32) -> Vec<Requirement> {
    let mut r = vec![
        Requirement {
            kind: "VCPU",
            value: vcpus.to_string(),
        },
        Requirement {
            kind: "MEMORY",
            value: memory.to_string(),
        },
    ];
    if gpus > 0 {
        r.push(Requirement {
            kind: "GPU",
            value: gpus.to_string(),
        });
    }
    r
}

/// `dependsOn`: the spec's for a job; for an array child, what it waits for (its parent's
/// plain dependencies, child `index` of an `N_TO_N` one, and the previous child of a
/// `SEQUENTIAL` array).
fn dependencies(engine: &Engine, j: &JobRecord) -> Vec<Dependency> {
    let dep = |job_id: String, kind: Option<&'static str>| Dependency {
        job_id: Some(job_id),
        kind,
    };
    match j.array {
        Some(ArrayLink::Child { parent, index }) => {
            let Some(p) = engine.job(parent) else {
                return Vec::new();
            };
            let mut out: Vec<Dependency> = p
                .spec
                .depends_on
                .iter()
                .map(|d| match d.kind {
                    DependencyType::Standard => dep(job_id(engine, d.job), None),
                    DependencyType::NToN => {
                        dep(format!("{}:{index}", job_id(engine, d.job)), Some("N_TO_N"))
                    }
                })
                .collect();
            if index > 0 && p.spec.array.is_some_and(|a| a.sequential) {
                let prev = format!("{}:{}", job_id(engine, parent), index - 1);
                out.push(dep(prev, Some("SEQUENTIAL")));
            }
            out
        }
        _ => {
            let mut out: Vec<Dependency> = j
                .spec
                .depends_on
                .iter()
                .map(|d| {
                    let kind = (d.kind == DependencyType::NToN).then_some("N_TO_N");
                    dep(job_id(engine, d.job), kind)
                })
                .collect();
            if j.spec.array.is_some_and(|a| a.sequential) {
                out.push(Dependency {
                    job_id: None,
                    kind: Some("SEQUENTIAL"),
                });
            }
            out
        }
    }
}

/// A parent's `size` and `statusSummary` (every state, counted over its children); a
/// child's `index`.
fn array_properties(engine: &Engine, id: JobId, j: &JobRecord) -> Option<ArrayPropertiesDetail> {
    match j.array? {
        ArrayLink::Parent { size, .. } => {
            let mut summary: BTreeMap<&'static str, u32> =
                JobStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
            for c in 0..size {
                if let Some(child) = engine.job(JobId(id.0 + 1 + c)) {
                    *summary.entry(child.status.as_str()).or_default() += 1;
                }
            }
            Some(ArrayPropertiesDetail {
                status_summary: Some(summary),
                size: Some(size),
                index: None,
            })
        }
        ArrayLink::Child { index, .. } => Some(ArrayPropertiesDetail {
            status_summary: None,
            size: None,
            index: Some(index),
        }),
    }
}
