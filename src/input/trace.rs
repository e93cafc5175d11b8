//! The job trace CSV.
//!
//! A header line is required; columns may come in any order and extra columns are ignored.
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `job_id` | yes | the job's name or id (non-empty; need not be unique) |
//! | `submit_time_s` | yes | submission time, decimal seconds ≥ 0 from the start of the run (rounded to the millisecond); rows need not be sorted |
//! | `queue` | yes | name of a job queue of the scenario |
//! | `run_time_s` | yes | how long each attempt's container runs, decimal seconds ≥ 0 |
//! | `vcpus` | no | vCPUs reserved, whole number ≥ 1 |
//! | `memory_mib` | no | memory reserved (hard limit), MiB, whole number ≥ 1 |
//! | `gpus` | no | whole GPUs reserved |
//! | `exit_code` | no | exit code of every attempt (default 0; non-zero fails the attempt) |
//! | `attempts` | no | `retryStrategy.attempts`, 1 to 10 |
//! | `job_definition` | no | name of a `[[job_definitions]]` entry of the scenario, which supplies `vcpus`, `memory_mib`, `gpus`, `attempts` and `timeout_s` where the row leaves them empty |
//! | `timeout_s` | no | `timeout.attemptDurationSeconds`: decimal seconds ≥ 60 |
//!
//! A value left empty (or a column left out) comes from the row's job definition, else from
//! the defaults: 1 vCPU, 2048 MiB, 0 GPUs, 1 attempt, no timeout.
//!
//! Parsing has two stages: rows to raw records (syntax and ranges only, queue and job
//! definition names kept as names), then resolution against a scenario's queues and job
//! definitions. A bare trace can be checked with the first stage alone.

use super::csvutil::{bad, cell, csv_error, line_of, plural, seconds_to_ms, Header};
use super::InputError;
use crate::model::{Cluster, JobQueueId, JobSpec, SimDuration, SimTime};
use crate::scenario::TraceJob;
use csv::ByteRecord;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Defaults a job definition supplies to trace rows that name it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobDefinition {
    /// vCPUs.
    pub vcpus: Option<u32>,
    /// Memory, MiB.
    pub memory_mib: Option<u32>,
    /// Whole GPUs.
    pub gpus: Option<u32>,
    /// `retryStrategy.attempts`.
    pub attempts: Option<u32>,
    /// `timeout.attemptDurationSeconds`.
    pub timeout: Option<SimDuration>,
}

/// The job definitions of a scenario, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobDefinitions {
    defs: BTreeMap<String, JobDefinition>,
}

impl JobDefinitions {
    /// No job definitions.
    pub fn empty() -> Self {
        JobDefinitions::default()
    }

    /// Adds or replaces a definition; returns the one it replaced.
    pub fn insert(&mut self, name: impl Into<String>, def: JobDefinition) -> Option<JobDefinition> {
        self.defs.insert(name.into(), def)
    }

    /// The definition with this name.
    pub fn get(&self, name: &str) -> Option<&JobDefinition> {
        self.defs.get(name)
    }

    /// Names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.defs.keys().map(String::as_str)
    }

    /// Number of definitions.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}

/// One row after the syntax stage.
pub(crate) struct RawJob {
    line: usize,
    name: String,
    submit_ms: u64,
    queue: u32,
    definition: Option<u32>,
    vcpus: Option<u32>,
    memory_mib: Option<u32>,
    gpus: Option<u32>,
    attempts: Option<u32>,
    timeout_ms: Option<u64>,
    run_time_ms: u64,
    exit_code: i32,
}

/// A trace after the syntax stage: names of queues and job definitions are interned.
pub(crate) struct RawTrace {
    jobs: Vec<RawJob>,
    queues: Vec<String>,
    definitions: Vec<String>,
}

/// Distinct names in first-seen order, with a one-entry cache for runs of equal names.
#[derive(Default)]
struct Interner {
    names: Vec<String>,
    index: BTreeMap<String, u32>,
    last: Option<u32>,
}

impl Interner {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(l) = self.last {
            if self.names.get(l as usize).is_some_and(|n| n == name) {
                return l;
            }
        }
        let id = match self.index.get(name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(name.to_string());
                self.index.insert(name.to_string(), id);
                id
            }
        };
        self.last = Some(id);
        id
    }
}

struct Cols {
    id: usize,
    submit: usize,
    queue: usize,
    run_time: usize,
    vcpus: Option<usize>,
    memory: Option<usize>,
    gpus: Option<usize>,
    exit_code: Option<usize>,
    attempts: Option<usize>,
    definition: Option<usize>,
    timeout: Option<usize>,
}

/// Stage 1: reads rows into raw records, checking syntax and ranges.
pub(crate) fn parse_raw<R: Read>(input: R, file: &Path) -> Result<RawTrace, InputError> {
    let mut rdr = super::csvutil::reader(input);
    let h = Header::read(&mut rdr, file)?;
    let c = Cols {
        id: h.require("job_id", file)?,
        submit: h.require("submit_time_s", file)?,
        queue: h.require("queue", file)?,
        run_time: h.require("run_time_s", file)?,
        vcpus: h.find("vcpus"),
        memory: h.find("memory_mib"),
        gpus: h.find("gpus"),
        exit_code: h.find("exit_code"),
        attempts: h.find("attempts"),
        definition: h.find("job_definition"),
        timeout: h.find("timeout_s"),
    };
    let mut queues = Interner::default();
    let mut defs = Interner::default();
    let mut jobs = Vec::new();
    let mut rec = ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(file, e))?
    {
        jobs.push(parse_row(&rec, &c, file, &mut queues, &mut defs)?);
    }
    Ok(RawTrace {
        jobs,
        queues: queues.names,
        definitions: defs.names,
    })
}

/// An optional whole number in `min..=max`.
fn opt_whole(
    rec: &ByteRecord,
    col: Option<usize>,
    name: &str,
    file: &Path,
    min: u32,
    max: u32,
    what: &str,
) -> Result<Option<u32>, InputError> {
    let s = cell(rec, col, name, file)?;
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
        _ => Err(bad(file, rec, name, format!("expected {what}, got `{s}`"))),
    }
}

/// Required decimal seconds ≥ 0.
fn secs(
    rec: &ByteRecord,
    col: usize,
    name: &str,
    file: &Path,
    what: &str,
) -> Result<u64, InputError> {
    let s = cell(rec, Some(col), name, file)?;
    seconds_to_ms(s).ok_or_else(|| {
        bad(
            file,
            rec,
            name,
            format!("expected {what} in seconds ≥ 0, got `{s}`"),
        )
    })
}

fn parse_row(
    rec: &ByteRecord,
    c: &Cols,
    file: &Path,
    queues: &mut Interner,
    defs: &mut Interner,
) -> Result<RawJob, InputError> {
    let name = cell(rec, Some(c.id), "job_id", file)?;
    if name.is_empty() {
        return Err(bad(
            file,
            rec,
            "job_id",
            "expected a job id, got an empty value",
        ));
    }
    let submit_ms = secs(rec, c.submit, "submit_time_s", file, "a submit time")?;
    let queue = cell(rec, Some(c.queue), "queue", file)?;
    if queue.is_empty() {
        return Err(bad(
            file,
            rec,
            "queue",
            "expected a job queue name, got an empty value",
        ));
    }
    let run_time_ms = secs(rec, c.run_time, "run_time_s", file, "a run time")?;
    let vcpus = opt_whole(
        rec,
        c.vcpus,
        "vcpus",
        file,
        1,
        u32::MAX,
        "a whole number of vCPUs ≥ 1",
    )?;
    let memory_mib = opt_whole(
        rec,
        c.memory,
        "memory_mib",
        file,
        1,
        u32::MAX,
        "a whole number of MiB ≥ 1",
    )?;
    let gpus = opt_whole(
        rec,
        c.gpus,
        "gpus",
        file,
        0,
        u32::MAX,
        "a whole number of GPUs",
    )?;
    let attempts = opt_whole(
        rec,
        c.attempts,
        "attempts",
        file,
        1,
        10,
        "a whole number of attempts from 1 to 10",
    )?;
    let exit_s = cell(rec, c.exit_code, "exit_code", file)?;
    let exit_code = if exit_s.is_empty() {
        0
    } else {
        exit_s.parse::<i32>().map_err(|_| {
            bad(
                file,
                rec,
                "exit_code",
                format!("expected an integer exit code, got `{exit_s}`"),
            )
        })?
    };
    let timeout_s = cell(rec, c.timeout, "timeout_s", file)?;
    let timeout_ms = if timeout_s.is_empty() {
        None
    } else {
        match seconds_to_ms(timeout_s) {
            Some(ms) if ms >= 60_000 => Some(ms),
            _ => {
                return Err(bad(
                    file,
                    rec,
                    "timeout_s",
                    format!("expected a timeout in seconds ≥ 60, got `{timeout_s}`"),
                ))
            }
        }
    };
    let def = cell(rec, c.definition, "job_definition", file)?;
    let definition = (!def.is_empty()).then(|| defs.intern(def));
    Ok(RawJob {
        line: line_of(rec),
        name: name.to_string(),
        submit_ms,
        queue: queues.intern(queue),
        definition,
        vcpus,
        memory_mib,
        gpus,
        attempts,
        timeout_ms,
        run_time_ms,
        exit_code,
    })
}

/// Stage 2: resolves queue and job definition names and fills defaults. File order is kept.
pub(crate) fn resolve(
    raw: RawTrace,
    file: &Path,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
) -> Result<Vec<TraceJob>, InputError> {
    let queue_ids: Vec<Option<JobQueueId>> =
        raw.queues.iter().map(|q| cluster.find_queue(q)).collect();
    let defs: Vec<Option<&JobDefinition>> = raw
        .definitions
        .iter()
        .map(|d| job_definitions.get(d))
        .collect();
    let mut out = Vec::with_capacity(raw.jobs.len());
    for j in raw.jobs {
        let Some(&Some(queue)) = queue_ids.get(j.queue as usize) else {
            let name = raw.queues.get(j.queue as usize).map_or("", String::as_str);
            let known: Vec<&str> = cluster.job_queues.iter().map(|q| q.name.as_str()).collect();
            let msg = format!(
                "unknown job queue `{name}`; the scenario's job queues are: {}",
                known.join(", ")
            );
            return Err(InputError::new(file, msg).at_line(j.line).in_field("queue"));
        };
        let def = match j.definition {
            None => None,
            Some(d) => match defs.get(d as usize) {
                Some(&Some(def)) => Some(def),
                _ => {
                    let name = raw.definitions.get(d as usize).map_or("", String::as_str);
                    let known: Vec<&str> = job_definitions.names().collect();
                    let msg = if known.is_empty() {
                        format!("unknown job definition `{name}`; the scenario defines no job definitions")
                    } else {
                        format!(
                            "unknown job definition `{name}`; the scenario defines: {}",
                            known.join(", ")
                        )
                    };
                    return Err(InputError::new(file, msg)
                        .at_line(j.line)
                        .in_field("job_definition"));
                }
            },
        };
        let pick = |row: Option<u32>, f: fn(&JobDefinition) -> Option<u32>, default: u32| {
            row.or_else(|| def.and_then(f)).unwrap_or(default)
        };
        let timeout = j
            .timeout_ms
            .map(SimDuration::from_millis)
            .or_else(|| def.and_then(|d| d.timeout));
        out.push(TraceJob {
            submit: SimTime(j.submit_ms),
            spec: JobSpec {
                name: j.name,
                queue,
                vcpus: pick(j.vcpus, |d| d.vcpus, 1),
                memory_mib: pick(j.memory_mib, |d| d.memory_mib, 2048),
                gpus: pick(j.gpus, |d| d.gpus, 0),
                attempts: pick(j.attempts, |d| d.attempts, 1),
                timeout,
            },
            run_time: SimDuration::from_millis(j.run_time_ms),
            exit_code: j.exit_code,
        });
    }
    Ok(out)
}

/// Loads a trace and resolves it against a cluster's job queues and a scenario's job
/// definitions. Jobs come back sorted by submit time, file order kept between equal times.
pub fn load_trace(
    path: &Path,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
) -> Result<Vec<TraceJob>, InputError> {
    let rdr = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let raw = parse_raw(rdr, path)?;
    let mut jobs = resolve(raw, path, cluster, job_definitions)?;
    jobs.sort_by_key(|j| j.submit);
    Ok(jobs)
}

/// A one-line description of a bare trace (syntax stage only).
pub(crate) fn describe_raw(raw: &RawTrace) -> String {
    let last = raw.jobs.iter().map(|j| j.submit_ms).max().unwrap_or(0);
    let first = raw.jobs.iter().map(|j| j.submit_ms).min().unwrap_or(0);
    let mut s = format!(
        "trace: {} in {} ({}), submitted from {} to {}",
        plural(raw.jobs.len(), "job", "jobs"),
        plural(raw.queues.len(), "queue", "queues"),
        raw.queues.join(", "),
        SimTime(first),
        SimTime(last),
    );
    if !raw.definitions.is_empty() {
        s.push_str(&format!(
            "; job definitions used: {}",
            raw.definitions.join(", ")
        ));
    }
    s
}
