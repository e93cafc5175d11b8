//! `flotilla import-aws`: AWS CLI `describe-*` output to a scenario file (and a trace CSV).

use super::ImportAwsArgs;
use crate::input::aws::{self, ImportFiles, TomlOptions};
use crate::input::{default_catalog, load_scenario};
use crate::model::SimDuration;
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(super) fn run(a: ImportAwsArgs) -> anyhow::Result<ExitCode> {
    let name = scenario_name(&a)?;
    let files = ImportFiles {
        compute_environments: a.compute_environments.clone(),
        job_queues: a.job_queues.clone(),
        job_definitions: a.job_definitions.clone(),
        scheduling_policies: a.scheduling_policies.clone(),
    };
    let catalog = default_catalog(250, SimDuration::from_secs(90));
    let imported = aws::import(&files, &catalog)?;
    let dir = a.out.parent().unwrap_or(Path::new("")).to_path_buf();
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    }
    let mut opts = TomlOptions {
        name: name.clone(),
        ..TomlOptions::default()
    };
    let mut trace_csv: Option<PathBuf> = None;
    if let Some(jobs) = &a.jobs {
        let cluster = imported.queue_cluster();
        let (trace, epoch) = aws::load_jobs_json(jobs, &cluster)?;
        let file_name = format!("{name}-jobs.csv");
        let path = dir.join(&file_name);
        let f = std::fs::File::create(&path).with_context(|| format!("{}", path.display()))?;
        let mut w = std::io::BufWriter::new(f);
        let lost = aws::write_trace_csv(&trace, &cluster, &imported.job_definition_refs(), &mut w)
            .with_context(|| format!("writing {}", path.display()))?;
        w.flush()?;
        if !lost.is_empty() {
            opts.notes.push(format!(
                "The trace CSV cannot hold everything of {}; for a faithful replay run\n  \
                 flotilla simulate {} --trace {}",
                jobs.display(),
                a.out.display(),
                jobs.display()
            ));
            opts.notes.extend(lost.iter().map(|l| format!("  - {l}")));
            for l in &lost {
                eprintln!("warning: {l}; pass --trace {} to keep it", jobs.display());
            }
        }
        eprintln!("wrote {} job(s) to {}", trace.len(), path.display());
        opts.trace = Some(file_name);
        opts.epoch_ms = Some(epoch);
        trace_csv = Some(path);
    }
    let text = imported.to_toml(&opts);
    std::fs::write(&a.out, text).with_context(|| format!("{}", a.out.display()))?;
    for w in imported.warnings() {
        eprintln!("warning: {w}");
    }
    let check = match &trace_csv {
        Some(_) => load_scenario(&a.out, None),
        None => {
            let empty = super::EmptyTrace::create()?;
            load_scenario(&a.out, Some(empty.path()))
        }
    };
    if let Err(e) = check {
        bail!(
            "wrote {}, but it does not load (please report this): {e}",
            a.out.display()
        );
    }
    println!("wrote {} ({})", a.out.display(), imported.describe());
    if trace_csv.is_none() {
        println!(
            "  no --jobs given: set `trace` in {} or pass --trace to `flotilla simulate`",
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--name`, else the output file's stem with characters a name cannot hold replaced.
fn scenario_name(a: &ImportAwsArgs) -> anyhow::Result<String> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if let Some(n) = &a.name {
        if !valid(n) {
            bail!("--name `{n}`: expected 1 to 128 letters, digits, `-` or `_`");
        }
        return Ok(n.clone());
    }
    let stem = a
        .out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    if name.is_empty() {
        name = "imported".to_string();
    }
    Ok(name)
}
