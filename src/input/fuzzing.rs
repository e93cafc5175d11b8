//! Entry points for the `cargo fuzz` targets in `fuzz/`: each reader run on arbitrary bytes.
//!
//! They exist so the fuzz crate can reach the crate-private parsers; each returns whether the
//! input was accepted. A reader must never panic: it returns an [`InputError`] instead.

use super::InputError;
use crate::model::SimDuration;
use std::path::Path;

const FUZZ_FILE: &str = "fuzz-input";

/// The instance catalog CSV reader.
pub fn catalog(data: &[u8]) -> Result<usize, InputError> {
    super::catalog::parse_catalog(data, Path::new(FUZZ_FILE), 250, SimDuration::from_secs(90))
        .map(|c| c.len())
}

/// The job trace CSV reader (syntax stage: what `validate` runs on a bare trace).
pub fn trace_csv(data: &[u8]) -> Result<String, InputError> {
    super::trace::describe_bare(data, Path::new(FUZZ_FILE))
}

/// The Spot price series CSV reader (`time_s,instance_type,price_usd_per_hour`).
pub fn price_series_csv(data: &[u8]) -> Result<String, InputError> {
    super::prices::parse_raw(data, Path::new(FUZZ_FILE)).map(|r| super::prices::describe_raw(&r))
}

/// The Spot price history reader (`describe-spot-price-history` JSON or text).
pub fn spot_price_history(data: &[u8]) -> Result<String, InputError> {
    let mut skipped = super::SkippedLines::default();
    let opts = super::ReadOptions::default();
    let sink = super::spot_history::read_history(
        data,
        Path::new(FUZZ_FILE),
        super::spot_history::DEFAULT_PRODUCT,
        opts,
        &mut skipped,
    )?;
    Ok(sink.describe())
}

/// The SWF reader on bytes, through the gzip detection (`validate`'s path on a bare file):
/// plain text, or gzip when the bytes start with its magic.
pub fn swf(data: &[u8]) -> Result<String, InputError> {
    super::swf::describe_read(data, Path::new(FUZZ_FILE))
}

/// The SWF reader on gzip-compressed bytes: `data` compressed, then read back (the
/// decoder path with well-formed gzip around arbitrary text).
pub fn swf_gz(data: &[u8]) -> Result<String, InputError> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|e| InputError::unreadable(Path::new(FUZZ_FILE), &e))
        .and_then(|gz| super::swf::describe_read(gz.as_slice(), Path::new(FUZZ_FILE)))
}

/// The Alibaba GPU trace 2023 task list reader (what `validate` runs on a bare task list).
pub fn alibaba_tasks(data: &[u8]) -> Result<String, InputError> {
    super::alibaba_tasks::describe(data, Path::new(FUZZ_FILE))
}

/// The Alibaba GPU trace 2023 node list reader, and the EC2 mapping of its shapes onto the
/// built-in catalog.
pub fn alibaba_nodes(data: &[u8]) -> Result<usize, InputError> {
    let mut skipped = super::SkippedLines::default();
    let shapes = super::alibaba_nodes::read_node_shapes(
        data,
        Path::new(FUZZ_FILE),
        super::ReadOptions::default(),
        &mut skipped,
    )?;
    let catalog = super::default_catalog(250, SimDuration::from_secs(90));
    let archs = vec![super::Architecture::X86_64; catalog.len()];
    let mapped =
        super::alibaba_fleet::map_shapes(&shapes, &catalog, &archs, &Default::default(), false)
            .map_or(0, |m| {
                super::alibaba_fleet::describe_mapping(&m, &catalog).len()
            });
    Ok(mapped)
}

/// The measured Spot trace JSON reader (`{"metadata": {"gap_seconds": G}, "data": [...]}`),
/// with a node count of 16 bounding the values.
pub fn spot_trace(data: &[u8]) -> Result<usize, InputError> {
    super::spot_trace::parse_spot_trace(data, Path::new(FUZZ_FILE), Some(16))
        .map(|t| t.values.len())
}

/// The job trace CSV reader with `--skip-bad-lines`, every stage (rows, resolution against
/// a small scenario with queues `default` and `gpu`, dependency linking with the skip
/// cascade). Panics if a kept job depends on a job not before it: the cascade must leave
/// only whole, linkable jobs.
pub fn trace_csv_skipping(data: &[u8]) -> Result<usize, InputError> {
    use std::sync::OnceLock;
    static SCENARIO: OnceLock<(crate::model::Cluster, super::JobDefinitions)> = OnceLock::new();
    let (cluster, defs) = SCENARIO.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("flotilla-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        std::fs::write(dir.join("t.csv"), "job_id,submit_time_s,queue,run_time_s\n")
            .expect("trace");
        std::fs::write(dir.join("s.toml"), FUZZ_SCENARIO).expect("scenario");
        let (s, d) = super::load_scenario_with_definitions(&dir.join("s.toml"), None)
            .expect("the fuzz scenario loads");
        (s.cluster, d)
    });
    let opts = super::ReadOptions {
        skip_bad_lines: true,
    };
    let mut skipped = super::SkippedLines::default();
    let src = super::trace::TraceSource {
        path: Path::new(FUZZ_FILE),
        hint: 0,
    };
    let jobs = super::trace::load_trace_from(data, src, cluster, defs, opts, &mut skipped)?;
    for (i, j) in jobs.iter().enumerate() {
        for d in &j.spec.depends_on {
            assert!((d.job.0 as usize) < i, "job {i} depends on {}", d.job.0);
        }
    }
    Ok(jobs.len())
}

const FUZZ_SCENARIO: &str = r#"
trace = "t.csv"
[[compute_environments]]
computeEnvironmentName = "od"
[compute_environments.computeResources]
type = "EC2"
maxvCpus = 256
instanceTypes = ["c5", "g4dn"]
[[job_queues]]
jobQueueName = "default"
priority = 1
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "od" }]
[[job_queues]]
jobQueueName = "gpu"
priority = 2
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "od" }]
[[job_definitions]]
jobDefinitionName = "small"
vcpus = 1
memory = 2048
"#;

/// A scratch directory for the readers that take a path: the fuzz input is written to a file
/// there (one per process; the fuzzer runs one input at a time).
fn scratch() -> &'static std::path::PathBuf {
    use std::sync::OnceLock;
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("flotilla-fuzz-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        std::fs::write(dir.join("t.csv"), "job_id,submit_time_s,queue,run_time_s\n")
            .expect("trace");
        dir
    })
}

/// The scenario TOML reader (every section, the trace `t.csv` next to it holding no job):
/// the input is the scenario file's text.
pub fn scenario_toml(data: &[u8]) -> Result<usize, InputError> {
    let path = scratch().join("s.toml");
    std::fs::write(&path, data).map_err(|e| InputError::unreadable(&path, &e))?;
    super::load_scenario(&path, None).map(|s| s.cluster.compute_environments.len())
}

/// The AWS CLI JSON readers of `import-aws`: the input is read as each of
/// `describe-compute-environments`, `describe-job-queues`, `describe-job-definitions` and
/// `describe-scheduling-policies` output at once, and as `describe-jobs` output against the
/// quickstart-like cluster the imported files would give.
pub fn aws_json(data: &[u8]) -> Result<usize, InputError> {
    let path = scratch().join("aws.json");
    std::fs::write(&path, data).map_err(|e| InputError::unreadable(&path, &e))?;
    let catalog = super::default_catalog(250, SimDuration::from_secs(90));
    let files = super::aws::ImportFiles {
        compute_environments: path.clone(),
        job_queues: path.clone(),
        job_definitions: Some(path.clone()),
        scheduling_policies: Some(path.clone()),
    };
    let imported = super::aws::import(&files, &catalog).map(|_| 1).unwrap_or(0);
    let cluster = fuzz_cluster();
    let jobs = super::aws::load_jobs_json(&path, cluster).map_or(0, |(j, _)| j.len());
    Ok(imported + jobs)
}

/// A small cluster (queue `default`) for the describe-jobs reader.
fn fuzz_cluster() -> &'static crate::model::Cluster {
    use std::sync::OnceLock;
    static CLUSTER: OnceLock<crate::model::Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let path = scratch().join("cluster.toml");
        std::fs::write(&path, FUZZ_SCENARIO).expect("scenario");
        super::load_scenario(&path, None)
            .expect("the fuzz scenario loads")
            .cluster
    })
}
