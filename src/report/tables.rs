//! Reading a run folder's `jobs.csv` and `instances.csv` by column name, keeping only what
//! the charts need. Errors name the file, the line and the column.

use anyhow::{anyhow, bail, Context};
use std::path::Path;

/// One instance of `instances.csv` that was launched (refused launches are left out).
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRow {
    /// Instance type name.
    pub instance_type: String,
    /// `On-Demand` or `Spot` (instances.csv says `EC2` or `SPOT`, as AWS Batch does).
    pub market: String,
    /// Launch time, seconds.
    pub launched_s: f64,
    /// Termination time, seconds (None: alive at the end).
    pub terminated_s: Option<f64>,
    /// Billed seconds.
    pub billed_s: f64,
    /// What it cost, USD.
    pub cost_usd: f64,
    /// Reclaimed by Spot.
    pub interrupted: bool,
    /// vCPUs (None in run folders written before the column existed).
    pub vcpus: Option<f64>,
}

/// `jobs.csv`, one entry per job, indexed by `job_id`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobColumns {
    /// Job queue names, sorted; `queue` indexes it.
    pub queues: Vec<String>,
    /// Queue of each job.
    pub queue: Vec<u32>,
    /// vCPUs of each job.
    pub vcpus: Vec<f64>,
    /// First RUNNABLE time (NaN: never).
    pub runnable_s: Vec<f64>,
    /// End time (NaN: not ended).
    pub stopped_s: Vec<f64>,
    /// Submission to first RUNNING, seconds, of the jobs that ran.
    pub waits: Vec<f64>,
}

/// A CSV file read row by row with columns found by name.
struct Table {
    path: std::path::PathBuf,
    reader: csv::Reader<std::fs::File>,
    header: csv::StringRecord,
}

impl Table {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .with_context(|| path.display().to_string())?;
        let header = reader
            .headers()
            .with_context(|| format!("{}: reading the header", path.display()))?
            .clone();
        Ok(Table {
            path: path.to_path_buf(),
            reader,
            header,
        })
    }

    fn col(&self, name: &str) -> anyhow::Result<usize> {
        self.col_opt(name)
            .ok_or_else(|| anyhow!("{}: no column `{name}`", self.path.display()))
    }

    fn col_opt(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Calls `f` with each row and its line number.
    fn rows(
        &mut self,
        mut f: impl FnMut(&csv::StringRecord, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut rec = csv::StringRecord::new();
        loop {
            let more = self
                .reader
                .read_record(&mut rec)
                .with_context(|| self.path.display().to_string())?;
            if !more {
                return Ok(());
            }
            let line = rec.position().map_or(0, |p| p.line());
            f(&rec, line).with_context(|| format!("{} line {line}", self.path.display()))?;
        }
    }
}

/// The number in column `c`, or None when the cell is empty.
fn num(rec: &csv::StringRecord, c: usize, name: &str) -> anyhow::Result<Option<f64>> {
    let cell = rec.get(c).unwrap_or("").trim();
    if cell.is_empty() {
        return Ok(None);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => bail!("column `{name}`: `{cell}` is not a number"),
    }
}

fn text(rec: &csv::StringRecord, c: usize) -> &str {
    rec.get(c).unwrap_or("")
}

/// The market as people say it: AWS Batch's `EC2` is On-Demand.
pub fn market_name(s: &str) -> String {
    match s.to_ascii_uppercase().as_str() {
        "EC2" | "ON-DEMAND" | "ONDEMAND" | "ON_DEMAND" => "On-Demand".to_string(),
        "SPOT" => "Spot".to_string(),
        _ => s.to_string(),
    }
}

/// Reads the launched instances of `instances.csv`.
pub fn read_instances(path: &Path) -> anyhow::Result<Vec<InstanceRow>> {
    let mut t = Table::open(path)?;
    let [ty, market, launched, terminated, billed, cost, interrupted, failure] = [
        "instance_type",
        "market",
        "launched_s",
        "terminated_s",
        "billed_s",
        "cost_usd",
        "interrupted",
        "launch_failure",
    ]
    .map(|n| t.col(n));
    let (ty, market, launched, terminated) = (ty?, market?, launched?, terminated?);
    let (billed, cost, interrupted, failure) = (billed?, cost?, interrupted?, failure?);
    let vcpus = t.col_opt("vcpus");
    let mut out = Vec::new();
    t.rows(|r, _| {
        if !text(r, failure).is_empty() {
            return Ok(());
        }
        out.push(InstanceRow {
            instance_type: text(r, ty).to_string(),
            market: market_name(text(r, market)),
            launched_s: num(r, launched, "launched_s")?.unwrap_or(0.0),
            terminated_s: num(r, terminated, "terminated_s")?,
            billed_s: num(r, billed, "billed_s")?.unwrap_or(0.0),
            cost_usd: num(r, cost, "cost_usd")?.unwrap_or(0.0),
            interrupted: text(r, interrupted) == "true",
            vcpus: match vcpus {
                Some(c) => num(r, c, "vcpus")?,
                None => None,
            },
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads `jobs.csv` into columns; `job_id` must be the row's index (as flotilla writes it),
/// so that `events.jsonl`'s job numbers find their row.
pub fn read_jobs(path: &Path) -> anyhow::Result<JobColumns> {
    let mut t = Table::open(path)?;
    let [id, queue, vcpus, runnable, stopped, wait] = [
        "job_id",
        "job_queue",
        "vcpus",
        "runnable_s",
        "stopped_s",
        "wait_s",
    ]
    .map(|n| t.col(n));
    let (id, queue, vcpus, runnable, stopped, wait) =
        (id?, queue?, vcpus?, runnable?, stopped?, wait?);
    let mut queues = std::collections::BTreeMap::<String, u32>::new();
    let mut j = JobColumns::default();
    t.rows(|r, _| {
        let expected = j.vcpus.len();
        if text(r, id).trim().parse::<usize>().ok() != Some(expected) {
            bail!("column `job_id`: expected {expected} (rows in job order)");
        }
        let next = queues.len() as u32;
        j.queue
            .push(*queues.entry(text(r, queue).to_string()).or_insert(next));
        j.vcpus.push(num(r, vcpus, "vcpus")?.unwrap_or(0.0));
        j.runnable_s
            .push(num(r, runnable, "runnable_s")?.unwrap_or(f64::NAN));
        j.stopped_s
            .push(num(r, stopped, "stopped_s")?.unwrap_or(f64::NAN));
        if let Some(w) = num(r, wait, "wait_s")? {
            j.waits.push(w);
        }
        Ok(())
    })?;
    // Queue numbers were handed out in order of appearance; renumber to name order so the
    // charts list queues alphabetically whatever the trace's order.
    let by_name: Vec<(String, u32)> = queues.into_iter().collect();
    let mut remap = vec![0u32; by_name.len()];
    for (sorted, (_, first_seen)) in by_name.iter().enumerate() {
        remap[*first_seen as usize] = sorted as u32;
    }
    for q in &mut j.queue {
        *q = remap[*q as usize];
    }
    j.queues = by_name.into_iter().map(|(n, _)| n).collect();
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_read_by_column_name_with_queues_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("jobs.csv");
        std::fs::write(
            &p,
            "wait_s,job_id,job_queue,vcpus,runnable_s,stopped_s\n\
             2.5,0,zeta,4,1.000,9\n\
             ,1,alpha,2,,\n",
        )
        .unwrap();
        let j = read_jobs(&p).unwrap();
        assert_eq!(j.queues, ["alpha", "zeta"]);
        assert_eq!(j.queue, [1, 0]);
        assert_eq!(j.vcpus, [4.0, 2.0]);
        assert_eq!(j.waits, [2.5]);
        assert!(j.runnable_s[1].is_nan() && j.stopped_s[0] == 9.0);
    }

    #[test]
    fn bad_cells_and_missing_columns_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("jobs.csv");
        std::fs::write(
            &p,
            "job_id,job_queue,vcpus,runnable_s,stopped_s,wait_s\n0,q,four,,,\n",
        )
        .unwrap();
        let e = format!("{:#}", read_jobs(&p).unwrap_err());
        assert!(e.contains("jobs.csv line 2") && e.contains("`four`"), "{e}");
        let p = dir.path().join("instances.csv");
        std::fs::write(&p, "instance_id\n").unwrap();
        let e = format!("{:#}", read_instances(&p).unwrap_err());
        assert!(
            e.contains("instances.csv: no column `instance_type`"),
            "{e}"
        );
    }
}
