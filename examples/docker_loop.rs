//! The baseline for flotilla live's throughput: a plain create/start/wait/logs/remove loop
//! through bollard, with no scheduler, no journal and no engine in the way.
//!
//! flotilla's live mode aims to finish at least 90% as many jobs per second as this loop at
//! the same concurrency on the same Docker host. So the loop does what one flotilla attempt
//! does to the daemon and nothing else:
//!
//! 1. create the container with the very body flotilla sends
//!    ([`flotilla::live::docker::container_body`]: 1 vCPU as `NanoCpus`, 64 MiB memory equal
//!    to `MemorySwap`, `Init`, no network, every capability dropped, `no-new-privileges`,
//!    json-file log capped at 10m), through a connection made by flotilla's own
//!    [`flotilla::live::docker::connect`] (same timeout, negotiated API version);
//! 2. start it;
//! 3. wait for it (`condition=not-running`; a non-zero exit arrives as
//!    `Err(DockerContainerWaitError)` and counts as a normal end);
//! 4. (only with `--inspect`) inspect it for the exit code and OOM flag, as flotilla does
//!    after every wait;
//! 5. read its stdout and stderr (kept in memory, not written to disk);
//! 6. remove it (`force`, with its anonymous volumes).
//!
//! At most `--concurrency` jobs are in flight at once (a semaphore; each job is a tokio
//! task on a 2-worker runtime, as in flotilla live). It prints the job count, concurrency,
//! wall seconds, jobs per second and each phase's p50/p95 in milliseconds; `--json` prints
//! the same as one JSON line.
//!
//! ```text
//! cargo build --release --examples
//! target/release/examples/docker_loop --endpoint unix:///var/run/docker.sock \
//!     --image flotilla/workload:latest --jobs 60 --concurrency 4 --cmd "sleep 100"
//! ```

use bollard::errors::Error as DockerError;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use bollard::Docker;
use flotilla::live::attempt::AttemptSpec;
use flotilla::live::docker::{connect, container_body};
use flotilla::live::hosts::Endpoint;
use futures_util::StreamExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const USAGE: &str = "usage: docker_loop --endpoint unix:///PATH|tcp://HOST:PORT --image IMAGE \
--jobs N --concurrency C [--cmd \"sleep 100\"] [--inspect] [--json]";

/// The command line.
struct Args {
    endpoint: Endpoint,
    image: String,
    jobs: usize,
    concurrency: usize,
    cmd: Vec<String>,
    inspect: bool,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut endpoint = None;
    let mut image = None;
    let mut jobs = None;
    let mut concurrency = None;
    let mut cmd = Vec::new();
    let mut inspect = false;
    let mut json = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--endpoint" => endpoint = Some(parse_endpoint(&value()?)?),
            "--image" => image = Some(value()?),
            "--jobs" => jobs = Some(parse_count(&flag, &value()?)?),
            "--concurrency" => concurrency = Some(parse_count(&flag, &value()?)?),
            "--cmd" => cmd = value()?.split_whitespace().map(String::from).collect(),
            "--inspect" => inspect = true,
            "--json" => json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{USAGE}");
    Ok(Args {
        endpoint: endpoint.ok_or_else(|| missing("--endpoint"))?,
        image: image.ok_or_else(|| missing("--image"))?,
        jobs: jobs.ok_or_else(|| missing("--jobs"))?,
        concurrency: concurrency.ok_or_else(|| missing("--concurrency"))?,
        cmd,
        inspect,
        json,
    })
}

fn parse_endpoint(s: &str) -> Result<Endpoint, String> {
    if let Some(path) = s.strip_prefix("unix://") {
        Ok(Endpoint::Unix(PathBuf::from(path)))
    } else if let Some(addr) = s.strip_prefix("tcp://") {
        Ok(Endpoint::Insecure(addr.to_string()))
    } else {
        Err(format!(
            "--endpoint {s:?}: expected unix:///PATH or tcp://HOST:PORT"
        ))
    }
}

fn parse_count(flag: &str, s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} {s:?}: expected a positive integer")),
    }
}

/// How long each phase of one job took.
#[derive(Default)]
struct JobTimes {
    create: Duration,
    start: Duration,
    wait: Duration,
    inspect: Duration,
    logs: Duration,
    remove: Duration,
    total: Duration,
    exit_code: i64,
    log_bytes: usize,
}

/// Runs one container from creation to removal.
async fn run_job(docker: Docker, spec: AttemptSpec, inspect: bool) -> Result<JobTimes, String> {
    let name = spec.name.as_str();
    let mut t = JobTimes::default();
    let begin = Instant::now();

    let opts = CreateContainerOptionsBuilder::new().name(name).build();
    docker
        .create_container(Some(opts), container_body(&spec))
        .await
        .map_err(|e| format!("create {name}: {e}"))?;
    t.create = begin.elapsed();

    let result = async {
        let s = Instant::now();
        docker
            .start_container(name, None)
            .await
            .map_err(|e| format!("start {name}: {e}"))?;
        t.start = s.elapsed();

        let s = Instant::now();
        let opts = WaitContainerOptionsBuilder::new()
            .condition("not-running")
            .build();
        let mut waiter = docker.wait_container(name, Some(opts));
        t.exit_code = match waiter.next().await {
            Some(Ok(r)) => r.status_code,
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(DockerError::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => return Err(format!("wait {name}: {e}")),
            None => return Err(format!("wait {name}: stream ended without a status")),
        };
        drop(waiter);
        t.wait = s.elapsed();

        if inspect {
            let s = Instant::now();
            let c = docker
                .inspect_container(name, None)
                .await
                .map_err(|e| format!("inspect {name}: {e}"))?;
            if let Some(code) = c.state.and_then(|st| st.exit_code) {
                t.exit_code = code;
            }
            t.inspect = s.elapsed();
        }

        let s = Instant::now();
        let opts = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
        let mut logs = docker.logs(name, Some(opts));
        while let Some(chunk) = logs.next().await {
            let chunk = chunk.map_err(|e| format!("logs {name}: {e}"))?;
            t.log_bytes += chunk.into_bytes().len();
        }
        t.logs = s.elapsed();
        Ok(())
    }
    .await;

    let s = Instant::now();
    let opts = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let removed = docker.remove_container(name, Some(opts)).await;
    t.remove = s.elapsed();
    t.total = begin.elapsed();
    result?;
    removed.map_err(|e| format!("remove {name}: {e}"))?;
    Ok(t)
}

/// The `p`th percentile (nearest rank) of some durations, in milliseconds.
fn percentile_ms(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn phase_stats(times: &[JobTimes], f: impl Fn(&JobTimes) -> Duration) -> (f64, f64) {
    let mut ms: Vec<f64> = times.iter().map(|t| f(t).as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    (percentile_ms(&ms, 50.0), percentile_ms(&ms, 95.0))
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

async fn run(args: Args) -> Result<bool, String> {
    let docker = connect(&args.endpoint).await?;
    docker
        .inspect_image(&args.image)
        .await
        .map_err(|e| format!("image {}: {e}", args.image))?;

    let tag = format!("docker-loop-{}", std::process::id());
    let base = AttemptSpec {
        name: String::new(),
        image: args.image.clone(),
        command: args.cmd.clone(),
        env: Vec::new(),
        vcpus: 1,
        memory_mib: 64,
        gpu_devices: Vec::new(),
        labels: vec![("flotilla.baseline".into(), tag.clone())],
        network: false,
        capabilities: Vec::new(),
        read_only_root: false,
        log_dir: PathBuf::new(),
    };

    let slots = Arc::new(Semaphore::new(args.concurrency));
    let mut tasks = JoinSet::new();
    let begin = Instant::now();
    for i in 0..args.jobs {
        let permit = slots.clone().acquire_owned().await.expect("semaphore open");
        let spec = AttemptSpec {
            name: format!("{tag}-{i}"),
            ..base.clone()
        };
        let docker = docker.clone();
        let inspect = args.inspect;
        tasks.spawn(async move {
            let out = run_job(docker, spec, inspect).await;
            drop(permit);
            out
        });
    }
    let mut times = Vec::with_capacity(args.jobs);
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(t)) => times.push(t),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("task: {e}")),
        }
    }
    let wall = begin.elapsed().as_secs_f64();

    let nonzero = times.iter().filter(|t| t.exit_code != 0).count();
    let log_bytes: usize = times.iter().map(|t| t.log_bytes).sum();
    let mut phases: Vec<(&str, (f64, f64))> = vec![
        ("create", phase_stats(&times, |t| t.create)),
        ("start", phase_stats(&times, |t| t.start)),
        ("wait", phase_stats(&times, |t| t.wait)),
    ];
    if args.inspect {
        phases.push(("inspect", phase_stats(&times, |t| t.inspect)));
    }
    phases.push(("logs", phase_stats(&times, |t| t.logs)));
    phases.push(("remove", phase_stats(&times, |t| t.remove)));
    phases.push(("total", phase_stats(&times, |t| t.total)));
    let jobs_per_s = times.len() as f64 / wall;

    if args.json {
        let mut out = serde_json::Map::new();
        out.insert("jobs".into(), args.jobs.into());
        out.insert("concurrency".into(), args.concurrency.into());
        out.insert("cmd".into(), args.cmd.join(" ").into());
        out.insert("inspect".into(), args.inspect.into());
        out.insert("completed".into(), times.len().into());
        out.insert("failed".into(), errors.len().into());
        out.insert("nonzero_exits".into(), nonzero.into());
        out.insert("log_bytes".into(), log_bytes.into());
        out.insert("wall_s".into(), round3(wall).into());
        out.insert("jobs_per_s".into(), round3(jobs_per_s).into());
        for (phase, (p50, p95)) in &phases {
            out.insert(format!("{phase}_p50_ms"), round3(*p50).into());
            out.insert(format!("{phase}_p95_ms"), round3(*p95).into());
        }
        println!("{}", serde_json::Value::Object(out));
    } else {
        println!("jobs         {}", args.jobs);
        println!("concurrency  {}", args.concurrency);
        println!(
            "completed    {} ({} failed, {} non-zero exits)",
            times.len(),
            errors.len(),
            nonzero
        );
        println!("wall         {wall:.3} s");
        println!("throughput   {jobs_per_s:.3} jobs/s");
        println!("{:<8} {:>9} {:>9}", "phase", "p50 ms", "p95 ms");
        for (phase, (p50, p95)) in &phases {
            println!("{phase:<8} {p50:>9.1} {p95:>9.1}");
        }
    }
    for e in errors.iter().take(10) {
        eprintln!("error: {e}");
    }
    if errors.len() > 10 {
        eprintln!("… and {} more errors", errors.len() - 10);
    }
    Ok(errors.is_empty())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // The same runtime shape as flotilla live: two workers.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("docker_loop: {e}");
            ExitCode::FAILURE
        }
    }
}
