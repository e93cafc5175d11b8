//! Stage 1 of trace loading: CSV rows to raw records, checking syntax and ranges only
//! (queue and job definition names are kept as interned names).

use super::csvutil::{bad, line_of, parse_u32, secs_bytes_to_ms, Header};
use super::policy::check_share_identifier;
use super::{InputError, ReadOptions, SkippedLines};
use csv::ByteRecord;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Most `dependsOn` entries of a job (AWS limit).
pub(crate) const MAX_DEPENDENCIES: usize = 20;
/// Array sizes AWS accepts.
pub(crate) const ARRAY_SIZES: std::ops::RangeInclusive<u32> = 2..=10_000;

/// One `depends_on` entry naming a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawDep {
    /// The `job_id` depended on.
    pub(crate) id: String,
    /// `JOB_ID:N_TO_N`.
    pub(crate) n_to_n: bool,
}

/// One row after the syntax stage.
pub(crate) struct RawJob {
    pub(crate) line: usize,
    pub(crate) name: String,
    pub(crate) submit_ms: u64,
    pub(crate) queue: u32,
    pub(crate) definition: Option<u32>,
    pub(crate) vcpus: Option<u32>,
    pub(crate) memory_mib: Option<u32>,
    pub(crate) gpus: Option<u32>,
    pub(crate) attempts: Option<u32>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) run_time_ms: u64,
    pub(crate) exit_code: i32,
    /// The optional columns of AWS job semantics; `None` when the row leaves them all empty
    /// (boxed, so that plain rows stay small and fast to move).
    pub(crate) extra: Option<Box<RawExtra>>,
}

/// The optional columns of a row beyond resources, retries and timeout.
#[derive(Default)]
pub(crate) struct RawExtra {
    pub(crate) array_size: Option<u32>,
    pub(crate) sequential: bool,
    pub(crate) depends_on: Vec<RawDep>,
    pub(crate) cancel_at_ms: Option<u64>,
    pub(crate) terminate_at_ms: Option<u64>,
    pub(crate) share_identifier: Option<String>,
    pub(crate) scheduling_priority: Option<u32>,
    /// Submit-time parameters, sorted by name.
    pub(crate) parameters: Vec<(String, String)>,
    pub(crate) command: Option<Vec<String>>,
    /// `requested_time_s`: the user's run-time estimate (for scheduling policies).
    pub(crate) requested_time_ms: Option<u64>,
    /// `user`: who submitted it (per-user fairness figures).
    pub(crate) user: Option<String>,
}

/// Queue and job definition names seen by the syntax stage, interned in first-seen order.
#[derive(Default)]
pub(crate) struct Names {
    pub(crate) queues: Interner,
    pub(crate) definitions: Interner,
}

/// Distinct names in first-seen order, with a one-entry cache for runs of equal names.
#[derive(Default)]
pub(crate) struct Interner {
    pub(crate) names: Vec<String>,
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

    /// The name with this id ("" if none).
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
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
    depends_on: Option<usize>,
    array_size: Option<usize>,
    cancel_at: Option<usize>,
    terminate_at: Option<usize>,
    share_identifier: Option<usize>,
    scheduling_priority: Option<usize>,
    parameters: Option<usize>,
    command: Option<usize>,
    requested_time: Option<usize>,
    user: Option<usize>,
}

/// Reads rows into raw records, checking syntax and ranges, and hands each to `each` with
/// the names interned so far. With `skip_bad_lines`, a row that is malformed
/// (wrong number of cells, a bad value) or that `each` rejects is counted in `skipped` and
/// left out. `each` must therefore keep nothing of a row it rejects.
pub(crate) fn for_each_row_with<R: Read>(
    input: R,
    file: &Path,
    opts: ReadOptions,
    skipped: &mut SkippedLines,
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
        depends_on: h.find("depends_on"),
        array_size: h.find("array_size"),
        cancel_at: h.find("cancel_at_s"),
        terminate_at: h.find("terminate_at_s"),
        share_identifier: h.find("share_identifier"),
        scheduling_priority: h.find("scheduling_priority"),
        parameters: h.find("parameters"),
        command: h.find("command"),
        requested_time: h.find("requested_time_s"),
        user: h.find("user"),
    };
    let mut names = Names::default();
    let mut rec = ByteRecord::new();
    while super::csvutil::next_record(&mut rdr, &mut rec, file, opts, skipped)? {
        let row = parse_row(&rec, &c, file, &mut names).and_then(|job| each(job, &names));
        if let Err(e) = row {
            skipped.handle(opts, e)?;
        }
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

    /// An error about one cell of this row.
    fn bad(&self, name: &str, message: impl Into<String>) -> InputError {
        bad(self.file, self.rec, name, message)
    }

    /// "expected {what}, got `{value}`" at this row.
    fn expected(&self, name: &str, what: &str, got: &[u8]) -> InputError {
        let got = String::from_utf8_lossy(got);
        self.bad(name, format!("expected {what}, got `{got}`"))
    }

    /// A required, non-empty text cell.
    fn text(&self, col: usize, name: &str, what: &str) -> Result<&'r str, InputError> {
        let b = self.bytes(Some(col));
        match std::str::from_utf8(b) {
            Ok(s) if !s.is_empty() => Ok(s),
            _ => Err(self.expected(name, what, b)),
        }
    }

    /// An optional text cell (`None` when empty).
    fn opt_text(&self, col: Option<usize>, name: &str) -> Result<Option<&'r str>, InputError> {
        let b = self.bytes(col);
        if b.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(b)
            .map(Some)
            .map_err(|_| self.bad(name, "the value is not valid UTF-8"))
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
        _ => Some(
            std::str::from_utf8(def)
                .map_err(|_| row.expected("job_definition", "a job definition name", def))?,
        ),
    };
    let mut extra = None;
    if c.depends_on.is_some()
        || c.array_size.is_some()
        || c.cancel_at.is_some()
        || c.terminate_at.is_some()
        || c.share_identifier.is_some()
        || c.scheduling_priority.is_some()
        || c.parameters.is_some()
        || c.command.is_some()
        || c.requested_time.is_some()
        || c.user.is_some()
    {
        let mut x = RawExtra::default();
        parse_job_columns(&row, c, submit_ms, &mut x)?;
        if !x.is_empty() {
            extra = Some(Box::new(x));
        }
    }
    // Names are interned only once the whole row is good, so that a row skipped with
    // `--skip-bad-lines` leaves no queue or job definition name behind.
    Ok(RawJob {
        line: line_of(rec),
        name: name.to_string(),
        submit_ms,
        queue: names.queues.intern(queue),
        definition: definition.map(|d| names.definitions.intern(d)),
        vcpus,
        memory_mib,
        gpus,
        attempts,
        timeout_ms,
        run_time_ms,
        exit_code,
        extra,
    })
}

/// The optional columns of AWS job semantics (arrays, dependencies, cancel and terminate,
/// fair share, parameters, command).
fn parse_job_columns(
    row: &Row,
    c: &Cols,
    submit_ms: u64,
    job: &mut RawExtra,
) -> Result<(), InputError> {
    job.array_size = row.whole(
        c.array_size,
        "array_size",
        *ARRAY_SIZES.start(),
        *ARRAY_SIZES.end(),
        "an array size from 2 to 10000",
    )?;
    let at_or_after = |col, name: &str| match row.secs(col, name, 0, "a time in seconds ≥ 0")? {
        Some(ms) if ms < submit_ms => Err(row.bad(
            name,
            format!(
                "expected a time at or after submit_time_s ({} s), got {} s",
                submit_ms as f64 / 1000.0,
                ms as f64 / 1000.0
            ),
        )),
        t => Ok(t),
    };
    job.cancel_at_ms = at_or_after(c.cancel_at, "cancel_at_s")?;
    job.terminate_at_ms = at_or_after(c.terminate_at, "terminate_at_s")?;
    job.scheduling_priority = row.whole(
        c.scheduling_priority,
        "scheduling_priority",
        0,
        9999,
        "a scheduling priority from 0 to 9999",
    )?;
    if let Some(s) = row.opt_text(c.share_identifier, "share_identifier")? {
        check_share_identifier(s).map_err(|m| row.bad("share_identifier", m))?;
        job.share_identifier = Some(s.to_string());
    }
    if let Some(p) = row.opt_text(c.parameters, "parameters")? {
        job.parameters = parse_parameters(p).map_err(|m| row.bad("parameters", m))?;
    }
    job.requested_time_ms = row.secs(
        c.requested_time,
        "requested_time_s",
        1,
        "a requested run time in seconds > 0",
    )?;
    job.user = row.opt_text(c.user, "user")?.map(str::to_string);
    if let Some(cmd) = row.opt_text(c.command, "command")? {
        job.command = Some(cmd.split_whitespace().map(str::to_string).collect());
    }
    if let Some(d) = row.opt_text(c.depends_on, "depends_on")? {
        let (deps, sequential) =
            parse_depends_on(d, job.array_size.is_some()).map_err(|m| row.bad("depends_on", m))?;
        job.depends_on = deps;
        job.sequential = sequential;
    }
    Ok(())
}

impl RawExtra {
    /// Whether every column was empty.
    fn is_empty(&self) -> bool {
        self.array_size.is_none()
            && !self.sequential
            && self.depends_on.is_empty()
            && self.cancel_at_ms.is_none()
            && self.terminate_at_ms.is_none()
            && self.share_identifier.is_none()
            && self.scheduling_priority.is_none()
            && self.parameters.is_empty()
            && self.command.is_none()
            && self.requested_time_ms.is_none()
            && self.user.is_none()
    }
}

/// `k=v;k2=v2`, sorted by name; names must be unique and non-empty.
fn parse_parameters(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((k, v)) = entry.split_once('=') else {
            return Err(format!(
                "expected `name=value` entries separated by `;`, got `{entry}`"
            ));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("expected a parameter name before `=` in `{entry}`"));
        }
        if out.iter().any(|(o, _)| o == k) {
            return Err(format!("parameter `{k}` is given twice"));
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `;`-separated `JOB_ID`, `JOB_ID:N_TO_N` and `SEQUENTIAL` entries; returns the jobs and
/// whether `SEQUENTIAL` was given.
pub(crate) fn parse_depends_on(s: &str, is_array: bool) -> Result<(Vec<RawDep>, bool), String> {
    let mut deps: Vec<RawDep> = Vec::new();
    let mut sequential = false;
    let mut count = 0usize;
    for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        count += 1;
        if count > MAX_DEPENDENCIES {
            return Err(format!(
                "a job can depend on at most {MAX_DEPENDENCIES} jobs (AWS limit), got {}",
                s.split(';').filter(|e| !e.trim().is_empty()).count()
            ));
        }
        if entry == "SEQUENTIAL" {
            if !is_array {
                return Err("SEQUENTIAL is only allowed on array jobs (give `array_size`)".into());
            }
            if sequential {
                return Err("SEQUENTIAL is given twice".into());
            }
            sequential = true;
            continue;
        }
        let (id, n_to_n) = match entry.strip_suffix(":N_TO_N") {
            Some(id) => (id.trim_end(), true),
            None => (entry, false),
        };
        if id.is_empty() {
            return Err(format!("expected a job id before `:N_TO_N` in `{entry}`"));
        }
        if deps.iter().any(|d| d.id == id) {
            return Err(format!("job `{id}` is listed twice"));
        }
        deps.push(RawDep {
            id: id.to_string(),
            n_to_n,
        });
    }
    Ok((deps, sequential))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_syntax() {
        let (d, seq) = parse_depends_on("a; b:N_TO_N ;SEQUENTIAL;", true).expect("parses");
        assert!(seq);
        assert_eq!(d.len(), 2);
        assert_eq!((d[1].id.as_str(), d[1].n_to_n), ("b", true));
        assert!(parse_depends_on("SEQUENTIAL", false).is_err());
        assert!(parse_depends_on("a;a", false).is_err());
        assert!(parse_depends_on(":N_TO_N", false).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("j{i}")).collect();
        assert!(parse_depends_on(&many.join(";"), false).is_err());
        assert!(parse_depends_on(&many[..20].join(";"), false).is_ok());
    }

    #[test]
    fn parameters_syntax() {
        let p = parse_parameters("b=2; a = x y ;").expect("parses");
        assert_eq!(p, [("a".into(), "x y".into()), ("b".into(), "2".into())]);
        assert!(parse_parameters("a").is_err());
        assert!(parse_parameters("=1").is_err());
        assert!(parse_parameters("a=1;a=2").is_err());
    }
}
