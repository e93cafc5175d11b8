//! `workload`: a tiny job for flotilla's live-mode tests.
//!
//! It runs the steps given as arguments, in order, e.g.
//! `workload print hello sleep 200 exit 3`. Steps:
//!
//! | step                    | effect                                                                |
//! |-------------------------|-----------------------------------------------------------------------|
//! | `print TEXT`            | TEXT and a newline on stdout                                          |
//! | `eprint TEXT`           | TEXT and a newline on stderr                                          |
//! | `sleep MS`              | sleep MS milliseconds                                                 |
//! | `burn MS`               | keep one CPU busy for MS milliseconds                                 |
//! | `alloc MIB`             | allocate MIB MiB, touch every page, keep it until the process ends    |
//! | `env NAME`              | `NAME=value` (or `NAME=<unset>`) on stdout                            |
//! | `exit CODE`             | exit with CODE at once (the remaining steps do not run)               |
//! | `fail-before-attempt N` | exit 1 (message on stderr) when `AWS_BATCH_JOB_ATTEMPT` is a number < N |
//! | `ignore-sigterm`        | ignore SIGTERM from now on                                            |
//! | `write PATH TEXT`       | append TEXT and a newline to the file PATH (created if missing)       |
//! | `trace`                 | what flotilla live's trace asks: sleep `FLOTILLA_RUN_TIME_MS`, then exit with `FLOTILLA_EXIT_CODE` (0 if unset) |
//!
//! Without steps it exits 0. All steps are parsed before any runs: an unknown step, a missing
//! argument or a malformed number prints a message on stderr and exits 64 (EX_USAGE) without
//! running anything. A step that fails while running (`write` to an unwritable path) exits 70.
//!
//! It has no dependencies so that it builds as a static executable
//! (`-C target-feature=+crt-static`) that runs as the only file of a `FROM scratch` image.

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::{self, Write};
use std::process;
use std::time::{Duration, Instant};

/// Exit status for a bad command line (sysexits.h `EX_USAGE`).
const EX_USAGE: i32 = 64;
/// Exit status for a step that failed while running (sysexits.h `EX_SOFTWARE`).
const EX_SOFTWARE: i32 = 70;
const PAGE: usize = 4096;
const MIB: usize = 1 << 20;

#[derive(Debug)]
enum Step {
    Print(String),
    Eprint(String),
    Sleep(u64),
    Burn(u64),
    Alloc(usize),
    Env(String),
    Exit(i32),
    FailBeforeAttempt(u64),
    Trace,
    IgnoreSigterm,
    Write(String, String),
}

const STEPS: &str = "trace, print TEXT, eprint TEXT, sleep MS, burn MS, alloc MIB, env NAME, exit CODE, \
                     fail-before-attempt N, ignore-sigterm, write PATH TEXT";

fn parse(args: &[String]) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut it = args.iter();
    while let Some(step) = it.next() {
        let mut arg = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("step `{step}` needs {what}"))
        };
        fn number<T: std::str::FromStr>(step: &str, text: String) -> Result<T, String> {
            text.trim()
                .parse()
                .map_err(|_| format!("step `{step}`: `{text}` is not a valid number"))
        }
        steps.push(match step.as_str() {
            "print" => Step::Print(arg("TEXT")?),
            "eprint" => Step::Eprint(arg("TEXT")?),
            "sleep" => Step::Sleep(number(step, arg("MS")?)?),
            "burn" => Step::Burn(number(step, arg("MS")?)?),
            "alloc" => Step::Alloc(number(step, arg("MIB")?)?),
            "env" => Step::Env(arg("NAME")?),
            "exit" => Step::Exit(number(step, arg("CODE")?)?),
            "fail-before-attempt" => Step::FailBeforeAttempt(number(step, arg("N")?)?),
            "ignore-sigterm" => Step::IgnoreSigterm,
            "trace" => Step::Trace,
            "write" => {
                let path = arg("PATH")?;
                Step::Write(path, arg("TEXT")?)
            }
            other => return Err(format!("unknown step `{other}` (steps: {STEPS})")),
        });
    }
    Ok(steps)
}

fn out(line: &str) {
    // A closed stdout/stderr must not turn into a panic (exit 101): the exit code is the test.
    let _ = writeln!(io::stdout(), "{line}");
}

fn err(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

fn exit(code: i32) -> ! {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    process::exit(code)
}

/// Allocates `mib` MiB and writes one byte in every page so that the memory is really resident
/// (and counted by a cgroup limit).
fn alloc(mib: usize) -> Vec<u8> {
    let len = mib.checked_mul(MIB).unwrap_or_else(|| {
        err(&format!("workload: alloc {mib}: size overflows"));
        exit(EX_SOFTWARE)
    });
    let mut block = vec![0u8; len];
    let mut i = 0;
    while i < len {
        block[i] = 1;
        i += PAGE;
    }
    black_box(&mut block);
    block
}

fn burn(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    let mut x: u64 = 0;
    while Instant::now() < end {
        for _ in 0..10_000 {
            x = black_box(
                x.wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407),
            );
        }
    }
    black_box(x);
}

#[cfg(unix)]
fn ignore_sigterm() {
    // `signal(2)` from the C library std links anyway; no `libc` crate needed.
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGTERM: i32 = 15;
    const SIG_IGN: usize = 1;
    const SIG_ERR: usize = usize::MAX;
    // SAFETY: installs the SIG_IGN disposition, no Rust handler runs in signal context.
    if unsafe { signal(SIGTERM, SIG_IGN) } == SIG_ERR {
        err("workload: ignore-sigterm: signal() failed");
    }
}

#[cfg(not(unix))]
fn ignore_sigterm() {
    err("workload: ignore-sigterm: not supported on this platform; continuing");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps = match parse(&args) {
        Ok(steps) => steps,
        Err(message) => {
            err(&format!("workload: {message}"));
            exit(EX_USAGE)
        }
    };
    // Allocations live until the process ends.
    let mut held: Vec<Vec<u8>> = Vec::new();
    for step in steps {
        match step {
            Step::Print(text) => out(&text),
            Step::Eprint(text) => err(&text),
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(ms)),
            Step::Burn(ms) => burn(ms),
            Step::Alloc(mib) => held.push(alloc(mib)),
            Step::Env(name) => match std::env::var_os(&name) {
                Some(value) => out(&format!("{name}={}", value.to_string_lossy())),
                None => out(&format!("{name}=<unset>")),
            },
            Step::Exit(code) => exit(code),
            Step::FailBeforeAttempt(n) => {
                let attempt = std::env::var("AWS_BATCH_JOB_ATTEMPT").ok();
                if let Some(a) = attempt
                    .as_deref()
                    .and_then(|a| a.trim().parse::<u64>().ok())
                {
                    if a < n {
                        err(&format!(
                            "workload: failing on purpose: AWS_BATCH_JOB_ATTEMPT={a} < {n}"
                        ));
                        exit(1);
                    }
                }
            }
            Step::IgnoreSigterm => ignore_sigterm(),
            Step::Trace => trace(),
            Step::Write(path, text) => {
                let result = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| writeln!(f, "{text}"));
                if let Err(e) = result {
                    err(&format!("workload: write {path}: {e}"));
                    exit(EX_SOFTWARE);
                }
            }
        }
    }
    black_box(&held);
    exit(0)
}

/// The `trace` step: sleep the trace's run time, then exit with its exit code, so a live run
/// executes the same trace as its simulation.
fn trace() {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<i64>().ok());
    let ms = var("FLOTILLA_RUN_TIME_MS").unwrap_or(0).max(0) as u64;
    std::thread::sleep(Duration::from_millis(ms));
    exit(var("FLOTILLA_EXIT_CODE").unwrap_or(0) as i32);
}
