//! `flotilla diff`: two run records side by side.

use crate::record::diff;
use anyhow::Context;
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// `flotilla diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Run A: a report directory holding summary.json and jobs.csv (written by
    /// `flotilla simulate`, or by a live run).
    pub run_a: PathBuf,
    /// Run B, compared with A: every delta is B − A.
    pub run_b: PathBuf,
    /// Print the whole comparison, every job included, as JSON.
    #[arg(long)]
    pub json: bool,
    /// Most job rows to print (the most different first, then the unpaired jobs).
    #[arg(long, default_value_t = 20)]
    pub rows: usize,
    /// Also write the per-job comparison as CSV to this file (one row per job of either run).
    #[arg(long)]
    pub jobs_csv: Option<PathBuf>,
}

/// Reads both runs, prints their comparison and writes `--jobs-csv` if asked. Differences
/// are the output, not a failure: the exit code is 0 unless a run record cannot be read.
pub(super) fn run(a: DiffArgs) -> anyhow::Result<ExitCode> {
    let run_a = diff::load_run(&a.run_a)?;
    let run_b = diff::load_run(&a.run_b)?;
    let d = diff::diff(&run_a, &run_b);
    if let Some(path) = &a.jobs_csv {
        write_jobs_csv(&d, path)?;
    }
    let printed = print(&d, a.json, a.rows);
    match printed {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// Prints the diff to stdout: the human report, or JSON.
fn print(d: &diff::RunDiff, json: bool, rows: usize) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, d)?;
        writeln!(out)?;
        out.flush()
    } else {
        diff::write_text(d, out, rows)
    }
}

fn write_jobs_csv(d: &diff::RunDiff, path: &std::path::Path) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("{}", path.display()))?;
    diff::write_jobs_csv(d, BufWriter::new(file))
        .with_context(|| format!("writing {}", path.display()))?;
    let rows = d.jobs.len() + d.only_in_a.len() + d.only_in_b.len();
    eprintln!("wrote {rows} job rows to {}", path.display());
    Ok(())
}
