//! `aws batch describe-jobs` output as a trace: one [`TraceJob`] per job, array children and
//! multi-node children folded into their parent.

use super::node::{name_from_arn, read_json, Node};
use super::spec::{parse_spec, SpecParts};
use crate::input::InputError;
use crate::model::{ArrayProperties, Cluster, DependencyType, JobDependency, JobId, JobQueueId};
use crate::model::{SimDuration, SimTime};
use crate::scenario::TraceJob;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;

/// AWS's limit on `dependsOn` entries.
const MAX_DEPENDENCIES: usize = 20;

/// One `dependsOn` entry before it is resolved to a row.
struct RawDep {
    path: String,
    job_id: String,
    kind: DependencyType,
}

/// One job of the file that becomes a trace row.
struct Row {
    path: String,
    job_id: String,
    created: u64,
    queue: JobQueueId,
    parts: SpecParts,
    deps: Vec<RawDep>,
    sequential: bool,
    array_size: Option<u32>,
    run_time_ms: u64,
    exit_code: i32,
    cancel_at_ms: Option<u64>,
}

/// What an attempt (or the job itself) tells of a run: run time and exit code.
#[derive(Clone, Copy)]
struct Outcome {
    /// `stoppedAt − startedAt` of the last attempt; `None` when it never started.
    run_ms: Option<u64>,
    exit_code: Option<i32>,
}

/// Loads a describe-jobs export (`{"jobs": [...]}`) against `cluster`'s job queues. Returns
/// the jobs sorted by `createdAt` (dependencies before their dependents) and the Unix time in
/// milliseconds of the earliest `createdAt`, which becomes simulated time 0.
pub(crate) fn load(path: &Path, cluster: &Cluster) -> Result<(Vec<TraceJob>, u64), InputError> {
    let doc = read_json(path)?;
    let root = Node::root(&doc, path);
    let list = if doc.is_array() {
        root
    } else {
        root.req(
            "jobs",
            "the output of `aws batch describe-jobs`: an object with a `jobs` array",
        )?
    };
    let items = list.items("an array of jobs")?;
    let mut ids = BTreeMap::new();
    for (i, j) in items.iter().enumerate() {
        let id = j.req("jobId", "the job's id")?.text("a job id")?;
        ids.entry(id.to_string()).or_insert(i);
    }
    let mut children: BTreeMap<usize, Vec<Outcome>> = BTreeMap::new();
    let mut rows = Vec::with_capacity(items.len());
    for (i, j) in items.iter().enumerate() {
        let id = j.req("jobId", "the job's id")?.text("a job id")?;
        if let Some(&parent) = parent_of(id).and_then(|p| ids.get(p)) {
            if parent != i {
                children.entry(parent).or_default().push(outcome(j)?);
                continue;
            }
        }
        rows.push((i, parse_row(j, cluster)?));
    }
    for (i, row) in &mut rows {
        if let Some(kids) = children.get(i) {
            fold_children(row, kids);
        }
    }
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    let epoch = rows.iter().map(|r| r.created).min().unwrap_or(0);
    let order = dependency_order(&rows, path)?;
    let mut position = vec![0u32; rows.len()];
    for (pos, &r) in order.iter().enumerate() {
        position[r] = pos as u32;
    }
    let row_of_id: BTreeMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.job_id.clone(), i))
        .collect();
    let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(order.len());
    for &r in &order {
        let Some(row) = slots[r].take() else { continue };
        let deps = row
            .deps
            .iter()
            .filter_map(|d| {
                let target = resolve_dep(&d.job_id, &row_of_id)?;
                Some(JobDependency {
                    job: JobId(position[target]),
                    kind: d.kind,
                })
            })
            .collect();
        out.push(into_trace_job(row, deps, epoch));
    }
    Ok((out, epoch))
}

/// `parent` of `parent:index` (array child) or `parent#node` (multi-node child).
fn parent_of(id: &str) -> Option<&str> {
    let cut = id.rfind([':', '#'])?;
    id[cut + 1..]
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some(&id[..cut])
        .filter(|p| !p.is_empty())
}

/// The row a `dependsOn[].jobId` names: the job itself, or the array job of a child.
fn resolve_dep(id: &str, rows: &BTreeMap<String, usize>) -> Option<usize> {
    rows.get(id)
        .or_else(|| parent_of(id).and_then(|p| rows.get(p)))
        .copied()
}

fn parse_row(j: &Node, cluster: &Cluster) -> Result<Row, InputError> {
    let job_id = j
        .req("jobId", "the job's id")?
        .text("a job id")?
        .to_string();
    let q = j.req("jobQueue", "the job queue's ARN or name")?;
    let queue_name = name_from_arn(q.text("a job queue ARN or name")?, "job-queue/");
    let Some(queue) = cluster.find_queue(queue_name) else {
        let known: Vec<&str> = cluster.job_queues.iter().map(|q| q.name.as_str()).collect();
        return Err(q.err(format!(
            "unknown job queue `{queue_name}`; the scenario's job queues are: {}",
            known.join(", ")
        )));
    };
    let created = j
        .req("createdAt", "when the job was submitted (Unix ms)")?
        .millis()?;
    let mut parts = parse_spec(j, "container")?;
    let fair_share = cluster.queue(queue).fairshare_policy.is_some();
    match (&parts.share_identifier, fair_share) {
        (None, true) => {
            return Err(j.err(format!(
                "job `{job_id}` is on queue `{queue_name}`, which has a fair-share scheduling \
                 policy: a shareIdentifier is required"
            )))
        }
        (Some(s), false) => {
            let at = j.get("shareIdentifier").unwrap_or_else(|| j.clone());
            return Err(at.err(format!(
                "job `{job_id}` gives share identifier `{s}`, but queue `{queue_name}` has no \
                 fair-share scheduling policy"
            )));
        }
        _ => {}
    }
    if parts.attempts.is_none() {
        if let Some(a) = j.get("attempts") {
            let n = a.items("an array of attempts")?.len();
            parts.attempts = Some(n.clamp(1, 10) as u32);
        }
    }
    let mut deps = Vec::new();
    let mut sequential = false;
    if let Some(list) = j.get("dependsOn") {
        for d in list.items("an array of {jobId, type} objects")? {
            let kind = match d.get("type") {
                None => DependencyType::Standard,
                Some(t) => match t.str("N_TO_N or SEQUENTIAL")? {
                    "N_TO_N" => DependencyType::NToN,
                    "SEQUENTIAL" => {
                        let dep = d.get("jobId");
                        let other = dep.as_ref().and_then(|x| x.v.as_str());
                        if other.is_none_or(|o| o == job_id) {
                            sequential = true;
                            continue;
                        }
                        DependencyType::Standard
                    }
                    _ => return Err(t.expected("N_TO_N or SEQUENTIAL")),
                },
            };
            let id = d.req("jobId", "the id of the job depended on")?;
            deps.push(RawDep {
                path: id.path().to_string(),
                job_id: id.text("a job id")?.to_string(),
                kind,
            });
        }
        if deps.len() > MAX_DEPENDENCIES {
            return Err(list.err(format!(
                "{} dependencies; AWS Batch allows at most {MAX_DEPENDENCIES}",
                deps.len()
            )));
        }
    }
    let array_size = match j.get("arrayProperties").and_then(|a| a.get("size")) {
        Some(s) => Some(s.u32_in(2, 10_000, "an array size from 2 to 10,000")?),
        None => None,
    };
    let o = outcome(j)?;
    let failed = j
        .get("status")
        .is_some_and(|s| s.v.as_str() == Some("FAILED"));
    let started = o.run_ms.is_some();
    let mut cancelled = false;
    for key in ["isCancelled", "isTerminated"] {
        if let Some(b) = j.get(key) {
            cancelled |= b.bool("true or false")?;
        }
    }
    let cancel_at_ms = if cancelled && !started {
        let stopped = match j.get("stoppedAt") {
            Some(s) => s.millis()?,
            None => created,
        };
        Some(stopped.max(created))
    } else {
        None
    };
    Ok(Row {
        path: j.path().to_string(),
        job_id,
        created,
        queue,
        parts,
        deps,
        sequential,
        array_size,
        run_time_ms: o.run_ms.unwrap_or(0),
        exit_code: o.exit_code.unwrap_or(i32::from(failed)),
        cancel_at_ms,
    })
}

/// Run time and exit code of the last attempt, else of the job's own `startedAt`,
/// `stoppedAt` and `container.exitCode`.
fn outcome(j: &Node) -> Result<Outcome, InputError> {
    let exit = |n: Option<Node>| -> Result<Option<i32>, InputError> {
        match n.and_then(|c| c.get("exitCode")) {
            Some(e) => Ok(Some(
                e.int(i32::MIN.into(), i32::MAX.into(), "an exit code")? as i32,
            )),
            None => Ok(None),
        }
    };
    let span = |n: &Node| -> Result<Option<u64>, InputError> {
        match (n.get("startedAt"), n.get("stoppedAt")) {
            (Some(a), Some(b)) => {
                let (a, b) = (a.millis()?, b.millis()?);
                Ok(Some(b.saturating_sub(a)))
            }
            (Some(_), None) | (None, _) => Ok(None),
        }
    };
    let last = match j.get("attempts") {
        Some(a) => a.items("an array of attempts")?.pop(),
        None => None,
    };
    let from_attempt = match &last {
        Some(a) => Outcome {
            run_ms: span(a)?,
            exit_code: exit(a.get("container"))?,
        },
        None => Outcome {
            run_ms: None,
            exit_code: None,
        },
    };
    Ok(Outcome {
        run_ms: match from_attempt.run_ms {
            Some(r) => Some(r),
            None if last.is_none() => span(j)?,
            None => None,
        },
        exit_code: match from_attempt.exit_code {
            Some(c) => Some(c),
            None => exit(j.get("container"))?,
        },
    })
}

/// An array job's children share one run time and exit code in a trace: the mean run time
/// of the children that ran, and their most common exit code (the smallest on a tie).
fn fold_children(row: &mut Row, kids: &[Outcome]) {
    let ran: Vec<u64> = kids.iter().filter_map(|k| k.run_ms).collect();
    if !ran.is_empty() {
        let sum: u128 = ran.iter().map(|&r| u128::from(r)).sum();
        row.run_time_ms = (sum / ran.len() as u128) as u64;
    }
    let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
    for k in kids.iter().filter(|k| k.run_ms.is_some()) {
        *counts.entry(k.exit_code.unwrap_or(1)).or_default() += 1;
    }
    let best = counts.iter().max_by_key(|&(code, n)| (*n, Reverse(*code)));
    if let Some((&code, _)) = best {
        row.exit_code = code;
    }
}

/// Row indices in trace order: by `createdAt`, then file order, every job after the jobs it
/// depends on. Errors on unknown ids, cycles and dependencies on later jobs.
fn dependency_order(rows: &[Row], file: &Path) -> Result<Vec<usize>, InputError> {
    let index: BTreeMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.job_id.clone(), i))
        .collect();
    let mut waiting = vec![0usize; rows.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    for (i, r) in rows.iter().enumerate() {
        for d in &r.deps {
            let Some(t) = resolve_dep(&d.job_id, &index) else {
                let msg = format!(
                    "job `{}` is not in this file; an export must hold every job that others \
                     depend on",
                    d.job_id
                );
                return Err(InputError::new(file, msg).in_field(d.path.clone()));
            };
            if t == i {
                continue;
            }
            if rows[t].created > r.created {
                let msg = format!(
                    "job `{}` depends on job `{}` ({}), which was created after it",
                    r.job_id, d.job_id, rows[t].path
                );
                return Err(InputError::new(file, msg).in_field(d.path.clone()));
            }
            waiting[i] += 1;
            dependents[t].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<(u64, usize)>> = (0..rows.len())
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse((rows[i].created, i)))
        .collect();
    let mut order = Vec::with_capacity(rows.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(Reverse((rows[d].created, d)));
            }
        }
    }
    if let Some(stuck) = (0..rows.len()).find(|&i| waiting[i] > 0) {
        let r = &rows[stuck];
        let msg = format!(
            "job `{}` is part of a dependency cycle; dependencies must form no cycle",
            r.job_id
        );
        return Err(InputError::new(file, msg).in_field(format!("{}.dependsOn", r.path)));
    }
    Ok(order)
}

fn into_trace_job(row: Row, depends_on: Vec<JobDependency>, epoch: u64) -> TraceJob {
    let mut spec = row.parts.into_spec(row.queue);
    spec.depends_on = depends_on;
    spec.array = row.array_size.map(|size| ArrayProperties {
        size,
        sequential: row.sequential,
    });
    TraceJob {
        submit: SimTime(row.created - epoch),
        spec,
        run_time: SimDuration::from_millis(row.run_time_ms),
        exit_code: row.exit_code,
        cancel_at: row.cancel_at_ms.map(|c| SimTime(c - epoch)),
        terminate_at: None,
        submit_after: None,
    }
}
