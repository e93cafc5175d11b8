//! `flotilla diff`: compares two run records (directories holding `summary.json` and
//! `jobs.csv`), whichever driver wrote them.
//!
//! Jobs are paired by `job_id` when both runs use the same ids (both drivers use the engine's
//! job numbers), and otherwise by `job_name` and occurrence order (the k-th job named `x` in
//! A with the k-th in B). Jobs with no partner are listed as only in A or only in B.

use crate::input::InputError;
use serde::Serialize;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A problem with a run record: the file, and where known the line and field, at fault.
pub type DiffError = InputError;

/// One row of a run's `jobs.csv`, the columns a diff needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobRow {
    /// The driver's job id (the engine's job number for both drivers).
    pub job_id: String,
    /// The job's name (array children are `parent:index`).
    pub job_name: String,
    /// Final status (SUCCEEDED, FAILED, or a state the run stopped in).
    pub status: String,
    /// Why the job ended as it did; empty when there is nothing to say.
    pub status_reason: String,
    /// Submission time, seconds from the run's epoch.
    pub submitted_s: f64,
    /// Last attempt's STARTING time, seconds.
    pub starting_s: Option<f64>,
    /// Last attempt's RUNNING time, seconds.
    pub running_s: Option<f64>,
    /// Time the job stopped, seconds.
    pub stopped_s: Option<f64>,
    /// Submission to first RUNNING, seconds.
    pub wait_s: Option<f64>,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's instance id; empty when the column is absent or the job never ran.
    pub instance_id: String,
    /// The last attempt's instance type; for an UNMANAGED compute environment the host
    /// itself, named `<ce>/<host>`. Empty when the job never ran.
    pub instance_type: String,
}

/// The parts of a run's `summary.json` a diff compares.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Scenario name (empty when absent).
    pub scenario: String,
    /// Strategy label (empty when absent).
    pub strategy: String,
    /// Master seed, when given.
    pub seed: Option<u64>,
    /// First submission to last job end, seconds.
    pub makespan_s: f64,
    /// Mean wait, seconds.
    pub wait_mean_s: f64,
    /// Median wait, seconds.
    pub wait_p50_s: f64,
    /// 95th percentile wait, seconds.
    pub wait_p95_s: f64,
    /// 99th percentile wait, seconds.
    pub wait_p99_s: f64,
    /// Jobs that ended SUCCEEDED.
    pub jobs_succeeded: f64,
    /// Jobs that ended FAILED.
    pub jobs_failed: f64,
    /// Everything billed, USD.
    pub total_cost_usd: f64,
}

/// A run record as read from its directory.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: RunSummary,
    /// `jobs.csv`, in file order.
    pub jobs: Vec<JobRow>,
}

/// How the jobs of the two runs were paired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// Same `job_id` on both sides.
    JobId,
    /// Same `job_name`, k-th occurrence with k-th occurrence.
    JobName,
}

impl MatchedBy {
    /// The key's column name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::JobId => "job_id",
            MatchedBy::JobName => "job_name",
        }
    }
}

/// One metric in both runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Compared {
    /// Run A's value.
    pub a: f64,
    /// Run B's value.
    pub b: f64,
    /// `b - a`.
    pub delta: f64,
}

impl Compared {
    /// Pairs two values.
    pub fn new(a: f64, b: f64) -> Self {
        Compared { a, b, delta: b - a }
    }
}

/// The summaries side by side.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SummaryDiff {
    /// Makespan, seconds.
    pub makespan_s: Compared,
    /// Mean wait, seconds.
    pub wait_mean_s: Compared,
    /// Median wait, seconds.
    pub wait_p50_s: Compared,
    /// 95th percentile wait, seconds.
    pub wait_p95_s: Compared,
    /// 99th percentile wait, seconds.
    pub wait_p99_s: Compared,
    /// Jobs succeeded.
    pub jobs_succeeded: Compared,
    /// Jobs failed.
    pub jobs_failed: Compared,
    /// Total cost, USD.
    pub total_cost_usd: Compared,
}

/// One job present in both runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobDiff {
    /// The job in run A.
    pub a: JobRow,
    /// The job in run B.
    pub b: JobRow,
    /// `running_s` B − A, seconds; absent unless both ran.
    pub start_delta_s: Option<f64>,
    /// `stopped_s` B − A, seconds; absent unless both stopped.
    pub end_delta_s: Option<f64>,
    /// `wait_s` B − A, seconds; absent unless both ran.
    pub wait_delta_s: Option<f64>,
    /// Whether the last attempt ran on the same instance type (host, for UNMANAGED).
    pub same_host: bool,
}

impl JobDiff {
    fn new(a: &JobRow, b: &JobRow) -> Self {
        JobDiff {
            start_delta_s: delta(a.running_s, b.running_s),
            end_delta_s: delta(a.stopped_s, b.stopped_s),
            wait_delta_s: delta(a.wait_s, b.wait_s),
            same_host: a.instance_type == b.instance_type,
            a: a.clone(),
            b: b.clone(),
        }
    }

    /// Whether the two runs' attempts counts differ.
    pub fn attempts_differ(&self) -> bool {
        self.a.attempts != self.b.attempts
    }

    /// Whether the two runs' final statuses differ.
    pub fn status_differs(&self) -> bool {
        self.a.status != self.b.status
    }

    /// Whether anything compared differs (a time present on one side only counts).
    pub fn differs(&self) -> bool {
        let times_differ = |d: Option<f64>, x: Option<f64>, y: Option<f64>| match d {
            Some(d) => d != 0.0,
            None => x.is_some() != y.is_some(),
        };
        !self.same_host
            || self.attempts_differ()
            || self.status_differs()
            || times_differ(self.start_delta_s, self.a.running_s, self.b.running_s)
            || times_differ(self.end_delta_s, self.a.stopped_s, self.b.stopped_s)
    }

    /// The larger absolute start or end delta, seconds (0 when neither is known).
    pub fn magnitude(&self) -> f64 {
        let abs = |d: Option<f64>| d.map_or(0.0, f64::abs);
        abs(self.start_delta_s).max(abs(self.end_delta_s))
    }
}

/// Absolute deltas over the jobs for which both sides have the time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DeltaStats {
    /// Jobs counted.
    pub jobs: usize,
    /// Mean absolute delta, seconds.
    pub mean_abs_s: f64,
    /// Median absolute delta (nearest rank), seconds.
    pub p50_abs_s: f64,
    /// 95th percentile absolute delta (nearest rank), seconds.
    pub p95_abs_s: f64,
    /// Largest absolute delta, seconds.
    pub max_abs_s: f64,
}

impl DeltaStats {
    /// Statistics of `deltas` (signs ignored).
    pub fn of(deltas: impl Iterator<Item = f64>) -> Self {
        let mut abs: Vec<f64> = deltas.map(f64::abs).collect();
        if abs.is_empty() {
            return DeltaStats::default();
        }
        abs.sort_unstable_by(f64::total_cmp);
        DeltaStats {
            jobs: abs.len(),
            mean_abs_s: abs.iter().sum::<f64>() / abs.len() as f64,
            p50_abs_s: nearest_rank(&abs, 50.0),
            p95_abs_s: nearest_rank(&abs, 95.0),
            max_abs_s: abs[abs.len() - 1],
        }
    }
}

/// Nearest-rank percentile of sorted, non-empty values (as `metrics::percentile`).
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The per-job comparison in aggregate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobStats {
    /// How jobs were paired.
    pub matched_by: MatchedBy,
    /// Jobs present in both runs.
    pub matched: usize,
    /// Jobs only in run A.
    pub only_in_a: usize,
    /// Jobs only in run B.
    pub only_in_b: usize,
    /// Absolute `running_s` deltas.
    pub start: DeltaStats,
    /// Absolute `stopped_s` deltas.
    pub end: DeltaStats,
    /// Matched jobs whose instance type (host) differs.
    pub host_differs: usize,
    /// Matched jobs whose attempts count differs.
    pub attempts_differ: usize,
    /// Matched jobs whose final status differs.
    pub status_differs: usize,
}

/// The label of one side of a diff.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunLabel {
    /// The run record's directory.
    pub dir: PathBuf,
    /// Scenario name from `summary.json`.
    pub scenario: String,
    /// Strategy label from `summary.json`.
    pub strategy: String,
    /// Seed from `summary.json`.
    pub seed: Option<u64>,
}

impl RunLabel {
    fn of(r: &RunRecord) -> Self {
        RunLabel {
            dir: r.dir.clone(),
            scenario: r.summary.scenario.clone(),
            strategy: r.summary.strategy.clone(),
            seed: r.summary.seed,
        }
    }
}

/// Two runs compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunDiff {
    /// Run A.
    pub a: RunLabel,
    /// Run B.
    pub b: RunLabel,
    /// Summaries side by side.
    pub summary: SummaryDiff,
    /// Per-job comparison in aggregate.
    pub job_stats: JobStats,
    /// Every matched job, in run A's order.
    pub jobs: Vec<JobDiff>,
    /// Jobs only in run A, in its order.
    pub only_in_a: Vec<JobRow>,
    /// Jobs only in run B, in its order.
    pub only_in_b: Vec<JobRow>,
}

/// Reads a run record: `DIR/summary.json` and `DIR/jobs.csv`.
pub fn load_run(dir: &Path) -> Result<RunRecord, DiffError> {
    if !dir.is_dir() {
        return Err(InputError::new(
            dir,
            "not a run record: expected a directory holding summary.json and jobs.csv",
        ));
    }
    Ok(RunRecord {
        dir: dir.to_path_buf(),
        summary: load_summary(&dir.join("summary.json"))?,
        jobs: load_jobs(&dir.join("jobs.csv"))?,
    })
}

/// Reads the compared fields of a `summary.json`; other fields are ignored, so that
/// summaries from any driver (or a later version) can be read.
pub fn load_summary(path: &Path) -> Result<RunSummary, DiffError> {
    let text = fs::read_to_string(path).map_err(|e| InputError::unreadable(path, &e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| InputError::new(path, format!("malformed JSON: {e}")).at_line(e.line()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| InputError::new(path, "expected a JSON object"))?;
    let num = |name: &str| -> Result<f64, DiffError> {
        match obj.get(name) {
            Some(x) => x.as_f64().ok_or_else(|| {
                InputError::new(path, format!("expected a number, found {x}")).in_field(name)
            }),
            None => Err(InputError::new(path, "missing required number").in_field(name)),
        }
    };
    let text_field = |name: &str| obj.get(name).and_then(|x| x.as_str()).unwrap_or_default();
    Ok(RunSummary {
        scenario: text_field("scenario").to_string(),
        strategy: text_field("strategy").to_string(),
        seed: obj.get("seed").and_then(serde_json::Value::as_u64),
        makespan_s: num("makespan_s")?,
        wait_mean_s: num("wait_mean_s")?,
        wait_p50_s: num("wait_p50_s")?,
        wait_p95_s: num("wait_p95_s")?,
        wait_p99_s: num("wait_p99_s")?,
        jobs_succeeded: num("jobs_succeeded")?,
        jobs_failed: num("jobs_failed")?,
        total_cost_usd: num("total_cost_usd")?,
    })
}

/// Column indices of a `jobs.csv`, looked up by name so that extra columns are fine.
struct Columns {
    job_id: usize,
    job_name: usize,
    status: usize,
    status_reason: usize,
    submitted_s: usize,
    starting_s: usize,
    running_s: usize,
    stopped_s: usize,
    wait_s: usize,
    attempts: usize,
    instance_id: Option<usize>,
    instance_type: usize,
}

impl Columns {
    fn find(header: &csv::StringRecord, path: &Path) -> Result<Self, DiffError> {
        let names: Vec<&str> = header
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i == 0 {
                    n.trim_start_matches('\u{feff}')
                } else {
                    n
                }
            })
            .map(str::trim)
            .collect();
        let find = |name: &str| names.iter().position(|n| *n == name);
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                InputError::new(
                    path,
                    format!(
                        "missing required column; the header has: {}",
                        names.join(", ")
                    ),
                )
                .at_line(1)
                .in_field(name)
            })
        };
        Ok(Columns {
            job_id: need("job_id")?,
            job_name: need("job_name")?,
            status: need("status")?,
            status_reason: need("status_reason")?,
            submitted_s: need("submitted_s")?,
            starting_s: need("starting_s")?,
            running_s: need("running_s")?,
            stopped_s: need("stopped_s")?,
            wait_s: need("wait_s")?,
            attempts: need("attempts")?,
            instance_id: find("instance_id"),
            instance_type: need("instance_type")?,
        })
    }
}

/// Reads a `jobs.csv` (see [`super::tables::write_jobs`] for its columns).
pub fn load_jobs(path: &Path) -> Result<Vec<JobRow>, DiffError> {
    let file = fs::File::open(path).map_err(|e| InputError::unreadable(path, &e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(io::BufReader::new(file));
    let header = rdr.headers().map_err(|e| csv_error(path, e))?.clone();
    let cols = Columns::find(&header, path)?;
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut jobs = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, csv::Position::line);
        let row = Cells {
            rec: &rec,
            path,
            line,
        }
        .job(&cols)?;
        // Pairing by id needs ids to be unique within a run.
        if let Some(first) = first_line.insert(row.job_id.clone(), line) {
            return Err(InputError::new(
                path,
                format!(
                    "job_id `{}` appears twice (first on line {first})",
                    row.job_id
                ),
            )
            .at_line(line as usize)
            .in_field("job_id"));
        }
        jobs.push(row);
    }
    Ok(jobs)
}

/// A reader error, with its line when the reader knows it.
fn csv_error(path: &Path, e: csv::Error) -> DiffError {
    let line = e.position().map(|p| p.line() as usize);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields like the header, found {len}"),
        csv::ErrorKind::Io(io) => format!("cannot read the file: {io}"),
        _ => format!("malformed CSV: {e}"),
    };
    InputError::new(path, message).at_opt_line(line)
}

/// The cells of one `jobs.csv` record, parsed with errors naming file, line and column.
struct Cells<'a> {
    rec: &'a csv::StringRecord,
    path: &'a Path,
    line: u64,
}

impl Cells<'_> {
    fn job(&self, c: &Columns) -> Result<JobRow, DiffError> {
        Ok(JobRow {
            job_id: self.required_text(c.job_id, "job_id")?,
            job_name: self.text(Some(c.job_name)),
            status: self.required_text(c.status, "status")?,
            status_reason: self.text(Some(c.status_reason)),
            submitted_s: self
                .seconds(c.submitted_s, "submitted_s")?
                .ok_or_else(|| self.bad("submitted_s", "expected a number of seconds ≥ 0"))?,
            starting_s: self.seconds(c.starting_s, "starting_s")?,
            running_s: self.seconds(c.running_s, "running_s")?,
            stopped_s: self.seconds(c.stopped_s, "stopped_s")?,
            wait_s: self.seconds(c.wait_s, "wait_s")?,
            attempts: self.attempts(c.attempts)?,
            instance_id: self.text(c.instance_id),
            instance_type: self.text(Some(c.instance_type)),
        })
    }

    fn text(&self, col: Option<usize>) -> String {
        col.and_then(|i| self.rec.get(i))
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    fn required_text(&self, col: usize, name: &str) -> Result<String, DiffError> {
        let s = self.text(Some(col));
        if s.is_empty() {
            return Err(self.bad(name, "expected a value, found an empty cell"));
        }
        Ok(s)
    }

    /// Seconds ≥ 0, or `None` for an empty cell (a state the job never reached).
    fn seconds(&self, col: usize, name: &str) -> Result<Option<f64>, DiffError> {
        let s = self.text(Some(col));
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
            _ => Err(self.bad(
                name,
                format!("expected a number of seconds ≥ 0 or an empty cell, found `{s}`"),
            )),
        }
    }

    fn attempts(&self, col: usize) -> Result<u32, DiffError> {
        let s = self.text(Some(col));
        s.parse::<u32>().map_err(|_| {
            self.bad(
                "attempts",
                format!("expected a whole number of attempts, found `{s}`"),
            )
        })
    }

    fn bad(&self, field: &str, message: impl Into<String>) -> DiffError {
        InputError::new(self.path, message)
            .at_line(self.line as usize)
            .in_field(field)
    }
}

/// `b - a` rounded to the millisecond: the files hold milliseconds, and rounding keeps
/// float noise (`0.30000000000000004`) out of equal-looking deltas.
fn delta(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(((b? - a?) * 1000.0).round() / 1000.0)
}

/// Compares run A with run B.
pub fn diff(a: &RunRecord, b: &RunRecord) -> RunDiff {
    let pairing = match_jobs(&a.jobs, &b.jobs);
    let mut jobs = Vec::with_capacity(a.jobs.len());
    let mut only_in_a = Vec::new();
    for (i, partner) in pairing.partner_of_a.into_iter().enumerate() {
        match partner {
            Some(j) => jobs.push(JobDiff::new(&a.jobs[i], &b.jobs[j])),
            None => only_in_a.push(a.jobs[i].clone()),
        }
    }
    let only_in_b: Vec<JobRow> = pairing.only_b.iter().map(|&j| b.jobs[j].clone()).collect();
    let job_stats = JobStats {
        matched_by: pairing.by,
        matched: jobs.len(),
        only_in_a: only_in_a.len(),
        only_in_b: only_in_b.len(),
        start: DeltaStats::of(jobs.iter().filter_map(|j| j.start_delta_s)),
        end: DeltaStats::of(jobs.iter().filter_map(|j| j.end_delta_s)),
        host_differs: jobs.iter().filter(|j| !j.same_host).count(),
        attempts_differ: jobs.iter().filter(|j| j.attempts_differ()).count(),
        status_differs: jobs.iter().filter(|j| j.status_differs()).count(),
    };
    RunDiff {
        a: RunLabel::of(a),
        b: RunLabel::of(b),
        summary: summary_diff(&a.summary, &b.summary),
        job_stats,
        jobs,
        only_in_a,
        only_in_b,
    }
}

fn summary_diff(a: &RunSummary, b: &RunSummary) -> SummaryDiff {
    SummaryDiff {
        makespan_s: Compared::new(a.makespan_s, b.makespan_s),
        wait_mean_s: Compared::new(a.wait_mean_s, b.wait_mean_s),
        wait_p50_s: Compared::new(a.wait_p50_s, b.wait_p50_s),
        wait_p95_s: Compared::new(a.wait_p95_s, b.wait_p95_s),
        wait_p99_s: Compared::new(a.wait_p99_s, b.wait_p99_s),
        jobs_succeeded: Compared::new(a.jobs_succeeded, b.jobs_succeeded),
        jobs_failed: Compared::new(a.jobs_failed, b.jobs_failed),
        total_cost_usd: Compared::new(a.total_cost_usd, b.total_cost_usd),
    }
}

/// Whether pairing by `job_id` is meaningful: some id appears on both sides, and every such
/// id names the same job. Runs of different traces (or a driver with its own ids) share no
/// ids or give them to other jobs; their jobs can then only be paired by name.
fn ids_agree(a: &[JobRow], b: &[JobRow]) -> bool {
    let names: HashMap<&str, &str> = b
        .iter()
        .map(|r| (r.job_id.as_str(), r.job_name.as_str()))
        .collect();
    let mut shared = 0usize;
    for r in a {
        match names.get(r.job_id.as_str()) {
            Some(&name) if name != r.job_name => return false,
            Some(_) => shared += 1,
            None => {}
        }
    }
    shared > 0
}

/// Pairing keys: the job id, or the name with its occurrence number.
fn keys(rows: &[JobRow], by: MatchedBy) -> Vec<(&str, usize)> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    rows.iter()
        .map(|r| match by {
            MatchedBy::JobId => (r.job_id.as_str(), 0),
            MatchedBy::JobName => {
                let n = seen.entry(r.job_name.as_str()).or_insert(0);
                *n += 1;
                (r.job_name.as_str(), *n)
            }
        })
        .collect()
}

/// How the jobs of two runs pair up.
struct Pairing {
    by: MatchedBy,
    /// For each job of A, in order, its partner's index in B.
    partner_of_a: Vec<Option<usize>>,
    /// B's jobs without a partner, in order.
    only_b: Vec<usize>,
}

/// Pairs the jobs of A with those of B.
fn match_jobs(a: &[JobRow], b: &[JobRow]) -> Pairing {
    let by = if ids_agree(a, b) {
        MatchedBy::JobId
    } else {
        MatchedBy::JobName
    };
    let index: HashMap<(&str, usize), usize> = keys(b, by)
        .into_iter()
        .enumerate()
        .map(|(j, k)| (k, j))
        .collect();
    let partner_of_a: Vec<Option<usize>> = keys(a, by)
        .into_iter()
        .map(|k| index.get(&k).copied())
        .collect();
    let mut taken = vec![false; b.len()];
    for &j in partner_of_a.iter().flatten() {
        taken[j] = true;
    }
    let only_b = (0..b.len()).filter(|&j| !taken[j]).collect();
    Pairing {
        by,
        partner_of_a,
        only_b,
    }
}

/// Writes the diff as a human-readable report: summaries side by side, job deltas in
/// aggregate, then at most `max_rows` of the most different jobs and of the unpaired ones.
pub fn write_text<W: Write>(d: &RunDiff, mut out: W, max_rows: usize) -> io::Result<()> {
    write_labels(d, &mut out)?;
    writeln!(out)?;
    write_summary_table(&d.summary, &mut out)?;
    writeln!(out)?;
    write_job_stats(&d.job_stats, &mut out)?;
    write_job_rows(d, &mut out, max_rows)?;
    write_unpaired("A", &d.only_in_a, &mut out, max_rows)?;
    write_unpaired("B", &d.only_in_b, &mut out, max_rows)?;
    out.flush()
}

fn write_labels<W: Write>(d: &RunDiff, out: &mut W) -> io::Result<()> {
    for (side, l) in [("A", &d.a), ("B", &d.b)] {
        let seed = l.seed.map_or_else(|| "?".to_string(), |s| s.to_string());
        writeln!(
            out,
            "{side}: {} (scenario {}, strategy {}, seed {seed})",
            l.dir.display(),
            or_dash(&l.scenario),
            or_dash(&l.strategy),
        )?;
    }
    Ok(())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn write_summary_table<W: Write>(s: &SummaryDiff, out: &mut W) -> io::Result<()> {
    let rows: [(&str, &Compared, usize); 8] = [
        ("makespan (s)", &s.makespan_s, 3),
        ("wait mean (s)", &s.wait_mean_s, 3),
        ("wait p50 (s)", &s.wait_p50_s, 3),
        ("wait p95 (s)", &s.wait_p95_s, 3),
        ("wait p99 (s)", &s.wait_p99_s, 3),
        ("jobs succeeded", &s.jobs_succeeded, 0),
        ("jobs failed", &s.jobs_failed, 0),
        ("total cost (USD)", &s.total_cost_usd, 6),
    ];
    let mut table = vec![cells(["", "A", "B", "B − A"])];
    for (name, c, p) in rows {
        table.push(vec![
            name.to_string(),
            format!("{:.p$}", c.a),
            format!("{:.p$}", c.b),
            format!("{:+.p$}", c.delta),
        ]);
    }
    write_table(out, &table, 1)
}

fn write_job_stats<W: Write>(s: &JobStats, out: &mut W) -> io::Result<()> {
    writeln!(
        out,
        "jobs: {} matched by {}, {} only in A, {} only in B",
        s.matched,
        s.matched_by.as_str(),
        s.only_in_a,
        s.only_in_b
    )?;
    let mut table = vec![cells(["|B − A| (s)", "jobs", "mean", "p50", "p95", "max"])];
    for (name, d) in [("start (running_s)", &s.start), ("end (stopped_s)", &s.end)] {
        table.push(vec![
            name.to_string(),
            d.jobs.to_string(),
            format!("{:.3}", d.mean_abs_s),
            format!("{:.3}", d.p50_abs_s),
            format!("{:.3}", d.p95_abs_s),
            format!("{:.3}", d.max_abs_s),
        ]);
    }
    write_table(out, &table, 1)?;
    writeln!(
        out,
        "host differs: {}, attempts differ: {}, status differs: {}",
        s.host_differs, s.attempts_differ, s.status_differs
    )
}

/// The matched jobs that differ, most different first: a changed status, then the larger
/// absolute start or end delta, then run A's order.
fn most_different(jobs: &[JobDiff]) -> Vec<&JobDiff> {
    let mut v: Vec<&JobDiff> = jobs.iter().filter(|j| j.differs()).collect();
    // A stable sort keeps run A's order among equals.
    v.sort_by(|x, y| {
        y.status_differs()
            .cmp(&x.status_differs())
            .then(y.magnitude().total_cmp(&x.magnitude()))
    });
    v
}

fn write_job_rows<W: Write>(d: &RunDiff, out: &mut W, max_rows: usize) -> io::Result<()> {
    let differing = most_different(&d.jobs);
    writeln!(out)?;
    if differing.is_empty() {
        return writeln!(out, "no matched job differs");
    }
    let shown = differing.len().min(max_rows);
    writeln!(
        out,
        "{shown} of {} differing jobs, most different first:",
        differing.len()
    )?;
    if shown == 0 {
        return Ok(());
    }
    let mut table = vec![cells([
        "job_name",
        "id A",
        "id B",
        "status A",
        "status B",
        "attempts",
        "host A",
        "host B",
        "start Δ s",
        "end Δ s",
    ])];
    for j in &differing[..shown] {
        table.push(vec![
            j.a.job_name.clone(),
            j.a.job_id.clone(),
            j.b.job_id.clone(),
            j.a.status.clone(),
            j.b.status.clone(),
            format!("{}/{}", j.a.attempts, j.b.attempts),
            or_dash(&j.a.instance_type).to_string(),
            or_dash(&j.b.instance_type).to_string(),
            signed(j.start_delta_s),
            signed(j.end_delta_s),
        ]);
    }
    write_table(out, &table, 8)
}

fn signed(d: Option<f64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{d:+.3}"))
}

fn write_unpaired<W: Write>(
    side: &str,
    rows: &[JobRow],
    out: &mut W,
    max_rows: usize,
) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nonly in {side}: {} jobs", rows.len())?;
    for r in rows.iter().take(max_rows) {
        writeln!(out, "  {} (job_id {}, {})", r.job_name, r.job_id, r.status)?;
    }
    if rows.len() > max_rows {
        writeln!(out, "  … {} more", rows.len() - max_rows)?;
    }
    Ok(())
}

fn cells<const N: usize>(names: [&str; N]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Writes rows as aligned columns, two spaces apart: the first `left` columns aligned left
/// (names), the rest right (numbers).
fn write_table<W: Write>(out: &mut W, rows: &[Vec<String>], left: usize) -> io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c < left {
                line.push_str(&format!(" {cell:<w$}"));
            } else {
                line.push_str(&format!("  {cell:>w$}"));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Writes one CSV row per job of either run (columns: [`JOBS_CSV_COLUMNS`]): `present` is
/// `both`, `a_only` or `b_only`, and the other side's cells are empty for an unpaired job.
pub fn write_jobs_csv<W: Write>(d: &RunDiff, out: W) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(JOBS_CSV_COLUMNS).map_err(io::Error::other)?;
    for j in &d.jobs {
        let deltas = [
            opt(j.start_delta_s),
            opt(j.end_delta_s),
            opt(j.wait_delta_s),
            j.same_host.to_string(),
        ];
        let rec = csv_row("both", &j.a.job_name, Some(&j.a), Some(&j.b), deltas);
        w.write_record(&rec).map_err(io::Error::other)?;
    }
    let none = || std::array::from_fn(|_| String::new());
    for r in &d.only_in_a {
        let rec = csv_row("a_only", &r.job_name, Some(r), None, none());
        w.write_record(&rec).map_err(io::Error::other)?;
    }
    for r in &d.only_in_b {
        let rec = csv_row("b_only", &r.job_name, None, Some(r), none());
        w.write_record(&rec).map_err(io::Error::other)?;
    }
    w.flush()
}

fn csv_row(
    present: &str,
    name: &str,
    a: Option<&JobRow>,
    b: Option<&JobRow>,
    deltas: [String; 4],
) -> Vec<String> {
    let mut rec = vec![present.to_string(), name.to_string()];
    rec.extend(side_cells(a));
    rec.extend(side_cells(b));
    rec.extend(deltas);
    rec
}

/// Columns of [`write_jobs_csv`].
pub const JOBS_CSV_COLUMNS: [&str; 22] = [
    "present",
    "job_name",
    "job_id_a",
    "status_a",
    "status_reason_a",
    "attempts_a",
    "instance_type_a",
    "running_s_a",
    "stopped_s_a",
    "wait_s_a",
    "job_id_b",
    "status_b",
    "status_reason_b",
    "attempts_b",
    "instance_type_b",
    "running_s_b",
    "stopped_s_b",
    "wait_s_b",
    "start_delta_s",
    "end_delta_s",
    "wait_delta_s",
    "same_host",
];

/// Cells per side in a [`write_jobs_csv`] row.
const SIDE_CELLS: usize = 8;

/// One side's cells of a [`write_jobs_csv`] row (empty when the job is not on that side).
fn side_cells(r: Option<&JobRow>) -> Vec<String> {
    match r {
        Some(r) => vec![
            r.job_id.clone(),
            r.status.clone(),
            r.status_reason.clone(),
            r.attempts.to_string(),
            r.instance_type.clone(),
            opt(r.running_s),
            opt(r.stopped_s),
            opt(r.wait_s),
        ],
        None => vec![String::new(); SIDE_CELLS],
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or_else(String::new, |x| format!("{x:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, name: &str) -> JobRow {
        JobRow {
            job_id: id.into(),
            job_name: name.into(),
            status: "SUCCEEDED".into(),
            status_reason: String::new(),
            submitted_s: 0.0,
            starting_s: None,
            running_s: None,
            stopped_s: None,
            wait_s: None,
            attempts: 1,
            instance_id: String::new(),
            instance_type: String::new(),
        }
    }

    #[test]
    fn names_pair_kth_occurrence_with_kth_occurrence() {
        let a = [row("1", "x"), row("2", "y"), row("3", "x")];
        let b = [row("a", "x"), row("b", "x"), row("c", "z")];
        let p = match_jobs(&a, &b);
        assert_eq!(p.by, MatchedBy::JobName);
        assert_eq!(p.partner_of_a, [Some(0), None, Some(1)]);
        assert_eq!(p.only_b, [2]);
    }

    #[test]
    fn ids_pair_only_when_shared_ids_name_the_same_jobs() {
        let a = [row("0", "x"), row("1", "y")];
        let p = match_jobs(&a, &[row("1", "y"), row("7", "z")]);
        assert_eq!(p.by, MatchedBy::JobId);
        assert_eq!((p.partner_of_a, p.only_b), (vec![None, Some(0)], vec![1]));
        // Same ids given to other jobs: another trace, or another id scheme.
        let p = match_jobs(&a, &[row("0", "y"), row("1", "x")]);
        assert_eq!(p.by, MatchedBy::JobName);
        assert_eq!(p.partner_of_a, [Some(1), Some(0)]);
    }

    #[test]
    fn delta_stats_use_absolute_values_and_nearest_rank() {
        let s = DeltaStats::of([-4.0, 1.0, 2.0, -3.0].into_iter());
        assert_eq!(s.jobs, 4);
        assert_eq!(s.mean_abs_s, 2.5);
        assert_eq!((s.p50_abs_s, s.p95_abs_s, s.max_abs_s), (2.0, 4.0, 4.0));
        assert_eq!(DeltaStats::of(std::iter::empty()), DeltaStats::default());
        assert_eq!(delta(Some(90.041), Some(90.0)), Some(-0.041));
        assert_eq!(delta(None, Some(1.0)), None);
    }
}
