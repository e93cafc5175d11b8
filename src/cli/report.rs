//! `flotilla report`: (re)builds a run folder's charts and index.html from its files, e.g.
//! after `--no-report`, for a live run, or after an upgrade.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// `flotilla report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Run folder: summary.json, jobs.csv, instances.csv and events.jsonl from
    /// `flotilla simulate` or `flotilla live`.
    pub dir: PathBuf,
}

pub(super) fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let files = crate::report::write_run_report(&a.dir)?;
    println!(
        "report: {} ({} files)",
        a.dir.join("index.html").display(),
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}
