//! Integration tests of `flotilla::input` for AWS Batch job semantics: job definitions,
//! the trace's job columns (arrays, dependencies, cancel/terminate, fair share, parameters),
//! and the scenario's queue and compute environment settings. Every bad input must name the
//! file, the line and the field; good inputs must come back as the expected model values.

#[path = "input_jobs/cluster.rs"]
mod cluster;
#[path = "input_jobs/columns.rs"]
mod columns;
#[path = "input_jobs/defs.rs"]
mod defs;
#[path = "input_jobs/robust.rs"]
mod robust;

use flotilla::input::{load_scenario, InputError};
use flotilla::scenario::Scenario;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Two compute environments: `od` (On-Demand c5 and g4dn, at most 4 GPUs a type) and `spot`
/// (Spot c5, no GPUs); queue `q` uses `od`, queue `spotq` uses `spot`. Job definitions are
/// appended by each test.
pub const BASE: &str = r#"name = "j"
trace = "jobs.csv"

[[compute_environments]]
computeEnvironmentName = "od"
[compute_environments.computeResources]
type = "EC2"
maxvCpus = 256
instanceTypes = ["c5", "g4dn"]

[[compute_environments]]
computeEnvironmentName = "spot"
[compute_environments.computeResources]
type = "SPOT"
maxvCpus = 256
instanceTypes = ["c5"]

[[job_queues]]
jobQueueName = "q"
priority = 1
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "od" }]

[[job_queues]]
jobQueueName = "spotq"
priority = 1
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "spot" }]
"#;

/// A loaded or failed scenario, with the directory that holds its files.
pub struct Loaded {
    pub dir: TempDir,
    pub result: Result<Scenario, InputError>,
}

impl Loaded {
    /// The scenario file's path.
    pub fn toml(&self) -> PathBuf {
        self.dir.path().join("s.toml")
    }

    /// The trace file's path.
    pub fn csv(&self) -> PathBuf {
        self.dir.path().join("jobs.csv")
    }

    /// The scenario; panics with the error otherwise.
    pub fn ok(self) -> Scenario {
        self.result.unwrap_or_else(|e| panic!("should load: {e}"))
    }

    /// The error; panics if the scenario loaded.
    pub fn err(&self) -> &InputError {
        match &self.result {
            Ok(_) => panic!("should fail"),
            Err(e) => e,
        }
    }
}

/// Writes `scenario` and `trace` (as `s.toml` and `jobs.csv`) and loads them.
pub fn load(scenario: &str, trace: &str) -> Loaded {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("s.toml"), scenario).expect("write");
    fs::write(dir.path().join("jobs.csv"), trace).expect("write");
    let result = load_scenario(&dir.path().join("s.toml"), None);
    Loaded { dir, result }
}

/// A trace: `header` and `rows`, one a line.
pub fn csv(header: &str, rows: &[&str]) -> String {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

/// Asserts that `err` is about `file` at `line`, field `field`, and that its message shows
/// all three.
pub fn assert_at(err: &InputError, file: &Path, line: usize, field: &str) {
    assert_eq!(err.file, file, "{err}");
    assert_eq!(err.line, Some(line), "{err}");
    assert_eq!(err.field.as_deref(), Some(field), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!(":{line}: field `{field}`")),
        "{shown}"
    );
}

/// The 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    text[..at].matches('\n').count() + 1
}
