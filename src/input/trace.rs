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

use super::csvutil::{bad, csv_error, line_of, parse_u32, plural, secs_bytes_to_ms, Header};
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

/// Queue and job definition names seen by the syntax stage, interned in first-seen order.
#[derive(Default)]
pub(crate) struct Names {
    queues: Interner,
    definitions: Interner,
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

/// Stage 1: reads rows into raw records, checking syntax and ranges, and hands each to
/// `each` with the names interned so far.
fn for_each_row<R: Read>(
    input: R,
    file: &Path,
    mut each: impl FnMut(RawJob, &Names) -> Result<(), InputError>,
) -> Result<Names, InputError> {
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
    let mut names = Names::default();
    let mut rec = ByteRecord::new();
    while rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(file, e))?
    {
        let job = parse_row(&rec, &c, file, &mut names)?;
        each(job, &names)?;
    }
    Ok(names)
}

/// One record being read, with the file for error messages.
struct Row<'r> {
    rec: &'r ByteRecord,
    file: &'r Path,
}

impl<'r> Row<'r> {
    /// A cell's bytes, trimmed; empty when the column is absent.
    fn bytes(&self, col: Option<usize>) -> &'r [u8] {
        col.and_then(|c| self.rec.get(c))
            .map_or(&b""[..], <[u8]>::trim_ascii)
    }

    /// "expected {what}, got `{value}`" at this row.
    fn expected(&self, name: &str, what: &str, got: &[u8]) -> InputError {
        let got = String::from_utf8_lossy(got);
        bad(
            self.file,
            self.rec,
            name,
            format!("expected {what}, got `{got}`"),
        )
    }

    /// A required, non-empty text cell.
    fn text(&self, col: usize, name: &str, what: &str) -> Result<&'r str, InputError> {
        let b = self.bytes(Some(col));
        match std::str::from_utf8(b) {
            Ok(s) if !s.is_empty() => Ok(s),
            _ => Err(self.expected(name, what, b)),
        }
    }

    /// An optional whole number in `min..=max`.
    fn whole(
        &self,
        col: Option<usize>,
        name: &str,
        min: u32,
        max: u32,
        what: &str,
    ) -> Result<Option<u32>, InputError> {
        let b = self.bytes(col);
        if b.is_empty() {
            return Ok(None);
        }
        match parse_u32(b) {
            Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(self.expected(name, what, b)),
        }
    }

    /// Optional decimal seconds of at least `min_ms`, in milliseconds.
    fn secs(
        &self,
        col: Option<usize>,
        name: &str,
        min_ms: u64,
        what: &str,
    ) -> Result<Option<u64>, InputError> {
        let b = self.bytes(col);
        if b.is_empty() {
            return Ok(None);
        }
        match secs_bytes_to_ms(b) {
            Some(ms) if ms >= min_ms => Ok(Some(ms)),
            _ => Err(self.expected(name, what, b)),
        }
    }

    /// Required decimal seconds ≥ 0, in milliseconds.
    fn required_secs(&self, col: usize, name: &str, what: &str) -> Result<u64, InputError> {
        match self.secs(Some(col), name, 0, what)? {
            Some(ms) => Ok(ms),
            None => Err(self.expected(name, what, b"")),
        }
    }
}

fn parse_row(
    rec: &ByteRecord,
    c: &Cols,
    file: &Path,
    names: &mut Names,
) -> Result<RawJob, InputError> {
    let row = Row { rec, file };
    let name = row.text(c.id, "job_id", "a job id")?;
    let submit_ms = row.required_secs(c.submit, "submit_time_s", "a submit time in seconds ≥ 0")?;
    let queue = row.text(c.queue, "queue", "a job queue name")?;
    let run_time_ms = row.required_secs(c.run_time, "run_time_s", "a run time in seconds ≥ 0")?;
    let vcpus = row.whole(c.vcpus, "vcpus", 1, u32::MAX, "a whole number of vCPUs ≥ 1")?;
    let memory_mib = row.whole(
        c.memory,
        "memory_mib",
        1,
        u32::MAX,
        "a whole number of MiB ≥ 1",
    )?;
    let gpus = row.whole(c.gpus, "gpus", 0, u32::MAX, "a whole number of GPUs")?;
    let attempts = row.whole(
        c.attempts,
        "attempts",
        1,
        10,
        "a whole number of attempts from 1 to 10",
    )?;
    let exit_b = row.bytes(c.exit_code);
    let exit_code = match exit_b {
        b"" | b"0" => 0,
        _ => std::str::from_utf8(exit_b)
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
            .ok_or_else(|| row.expected("exit_code", "an integer exit code", exit_b))?,
    };
    let timeout_ms = row.secs(c.timeout, "timeout_s", 60_000, "a timeout in seconds ≥ 60")?;
    let def = row.bytes(c.definition);
    let definition = match def {
        b"" => None,
        _ => {
            let d = std::str::from_utf8(def)
                .map_err(|_| row.expected("job_definition", "a job definition name", def))?;
            Some(names.definitions.intern(d))
        }
    };
    Ok(RawJob {
        line: line_of(rec),
        name: name.to_string(),
        submit_ms,
        queue: names.queues.intern(queue),
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

/// Stage 2: resolves a row's queue and job definition names, caching lookups by interned id.
struct Resolver<'a> {
    file: &'a Path,
    cluster: &'a Cluster,
    definitions: &'a JobDefinitions,
    queue_ids: Vec<Option<JobQueueId>>,
    def_refs: Vec<Option<&'a JobDefinition>>,
}

impl<'a> Resolver<'a> {
    fn resolve(&mut self, j: RawJob, names: &Names) -> Result<TraceJob, InputError> {
        for q in names.queues.names.iter().skip(self.queue_ids.len()) {
            self.queue_ids.push(self.cluster.find_queue(q));
        }
        for d in names.definitions.names.iter().skip(self.def_refs.len()) {
            self.def_refs.push(self.definitions.get(d));
        }
        let Some(&Some(queue)) = self.queue_ids.get(j.queue as usize) else {
            let name = names
                .queues
                .names
                .get(j.queue as usize)
                .map_or("", String::as_str);
            let known: Vec<&str> = self
                .cluster
                .job_queues
                .iter()
                .map(|q| q.name.as_str())
                .collect();
            let msg = format!(
                "unknown job queue `{name}`; the scenario's job queues are: {}",
                known.join(", ")
            );
            return Err(InputError::new(self.file, msg)
                .at_line(j.line)
                .in_field("queue"));
        };
        let def = match j.definition {
            None => None,
            Some(d) => match self.def_refs.get(d as usize) {
                Some(&Some(def)) => Some(def),
                _ => {
                    let name = names
                        .definitions
                        .names
                        .get(d as usize)
                        .map_or("", String::as_str);
                    let known: Vec<&str> = self.definitions.names().collect();
                    let msg = if known.is_empty() {
                        format!("unknown job definition `{name}`; the scenario defines no job definitions")
                    } else {
                        format!(
                            "unknown job definition `{name}`; the scenario defines: {}",
                            known.join(", ")
                        )
                    };
                    return Err(InputError::new(self.file, msg)
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
        Ok(TraceJob {
            submit: SimTime(j.submit_ms),
            spec: JobSpec {
                name: j.name,
                queue,
                vcpus: pick(j.vcpus, |d| d.vcpus, 1),
                memory_mib: pick(j.memory_mib, |d| d.memory_mib, 2048),
                gpus: pick(j.gpus, |d| d.gpus, 0),
                attempts: pick(j.attempts, |d| d.attempts, 1),
                timeout,
                ..JobSpec::default()
            },
            run_time: SimDuration::from_millis(j.run_time_ms),
            exit_code: j.exit_code,
            cancel_at: None,
            terminate_at: None,
        })
    }
}

/// Loads a trace and resolves it against a cluster's job queues and a scenario's job
/// definitions. Jobs come back sorted by submit time, file order kept between equal times.
pub fn load_trace(
    path: &Path,
    cluster: &Cluster,
    job_definitions: &JobDefinitions,
) -> Result<Vec<TraceJob>, InputError> {
    let f = std::fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    // About 40 bytes a row: reserving up front saves copying a growing vector.
    let hint = f.metadata().map_or(0, |m| m.len() / 40).min(1 << 26) as usize;
    let mut jobs = Vec::with_capacity(hint);
    let mut r = Resolver {
        file: path,
        cluster,
        definitions: job_definitions,
        queue_ids: Vec::new(),
        def_refs: Vec::new(),
    };
    for_each_row(f, path, |j, names| {
        jobs.push(r.resolve(j, names)?);
        Ok(())
    })?;
    jobs.shrink_to_fit();
    jobs.sort_by_key(|j| j.submit);
    Ok(jobs)
}

/// Checks a bare trace (syntax stage only) and describes it in one line.
pub(crate) fn describe_bare<R: Read>(input: R, file: &Path) -> Result<String, InputError> {
    let (mut count, mut first, mut last) = (0usize, u64::MAX, 0u64);
    let names = for_each_row(input, file, |j, _| {
        count += 1;
        first = first.min(j.submit_ms);
        last = last.max(j.submit_ms);
        Ok(())
    })?;
    let mut s = format!(
        "trace: {} in {} ({}), submitted from {} to {}",
        plural(count, "job", "jobs"),
        plural(names.queues.names.len(), "queue", "queues"),
        names.queues.names.join(", "),
        SimTime(first.min(last)),
        SimTime(last),
    );
    if !names.definitions.names.is_empty() {
        s.push_str(&format!(
            "; job definitions used: {}",
            names.definitions.names.join(", ")
        ));
    }
    Ok(s)
}
