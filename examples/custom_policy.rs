//! A scheduling policy of your own, without touching the engine: "smallest area first".
//!
//! A job's *area* is what it asks of the machine: its size times its estimated run time,
//! `(vCPUs + weight_gpus × GPUs) × estimate`. Ordering a queue by area puts small, short
//! jobs first, like shortest-job-first, but a one-vCPU job that runs an hour now goes ahead
//! of a 64-vCPU job that runs ten minutes, which SJF would start first.
//!
//! The four steps, each marked below:
//!
//! 1. implement a policy trait ([`QueueOrder`] here; [`Backfill`], [`Placement`] and
//!    [`Provisioning`] work the same way);
//! 2. write a constructor that reads the policy's parameters from [`Params`] (an unknown or
//!    out-of-range parameter is an error, with no extra code);
//! 3. register it in a [`Registry`] under a name;
//! 4. parse a [`PolicySpec`] that combines it with built-ins, resolve it, and run
//!    [`record::simulate_with_policies`].
//!
//! Rules a policy must keep so that runs stay reproducible: read nothing but the arguments
//! (no clock, no environment, no files), no iteration over a `HashMap` or `HashSet` (their
//! order changes from run to run), no randomness unless seeded from the job itself. See
//! `docs/policies-howto.md`.
//!
//! ```text
//! cargo run --release --example custom_policy                       # HPC2N's log
//! cargo run --release --example custom_policy -- scenarios/swf-nasa.toml
//! ```
//!
//! It prints one line per policy set: FIFO (AWS Batch's own), EASY backfilling, and
//! smallest-area-first with EASY backfilling. `cargo test --example custom_policy` runs the
//! checks at the end of this file.
//!
//! [`Backfill`]: flotilla::engine::policy::Backfill
//! [`Placement`]: flotilla::engine::policy::Placement
//! [`Provisioning`]: flotilla::engine::policy::Provisioning

use flotilla::engine::policy::{estimate, Params, PolicySpec, QueueOrder, Registry};
use flotilla::model::JobSpec;
use flotilla::record::{self, Summary};
use std::path::PathBuf;
use std::process::ExitCode;

/// Step 1: the policy, a plain value. `rank` is called for each RUNNABLE job; lower goes
/// first, and equal ranks keep submission order.
#[derive(Clone, Copy, Debug)]
pub struct SmallestAreaFirst {
    /// What one GPU counts for, in vCPUs.
    weight_gpus: f64,
}

impl SmallestAreaFirst {
    /// The name it is registered under.
    pub const NAME: &'static str = "saf";
    /// One line for `Registry::list` (what `flotilla policies` prints).
    pub const ABOUT: &'static str =
        "smallest area first: (vCPUs + weight_gpus × GPUs) × requested time; no estimate last";

    /// Step 2: the constructor, from the parameters written in brackets
    /// (`saf[weight_gpus=16]`). `Params::number` checks the range and names the policy and
    /// the key in its message; the registry rejects any parameter that was not read.
    pub fn new(p: &mut Params<'_>) -> Result<Self, String> {
        Ok(SmallestAreaFirst {
            weight_gpus: p.number("weight_gpus", 8.0, 0.0, 1_000.0)?,
        })
    }

    /// A job's area in vCPU-milliseconds, or `None` without an estimate.
    pub fn area(&self, job: &JobSpec) -> Option<f64> {
        let size = f64::from(job.vcpus) + self.weight_gpus * f64::from(job.gpus);
        estimate(job).map(|d| size * d.as_millis() as f64)
    }
}

impl QueueOrder for SmallestAreaFirst {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn rank(&self, job: &JobSpec) -> u64 {
        // Floating point is deterministic here (the same inputs give the same bits), and
        // `as u64` saturates, so a huge area ranks like the largest. Jobs without an
        // estimate (`None`) go last, in submission order.
        self.area(job)
            .map_or(u64::MAX, |a| (a.round() as u64).min(u64::MAX - 1))
    }
}

/// Step 3: the built-ins plus `saf`.
pub fn registry() -> Registry {
    let mut r = Registry::builtin();
    r.register_order(SmallestAreaFirst::NAME, SmallestAreaFirst::ABOUT, |p| {
        SmallestAreaFirst::new(p).map(|o| Box::new(o) as _)
    });
    r
}

/// Step 4: runs `scenario` with the policies `spec` names (built-ins and `saf`).
pub fn run(scenario: &flotilla::scenario::Scenario, spec: &str) -> Result<record::SimRun, String> {
    let policies = registry().resolve(&PolicySpec::parse(spec)?)?;
    record::simulate_with_policies(scenario.clone(), spec, None, policies)
        .map_err(|e| e.to_string())
}

fn line(spec: &str, s: &Summary) -> String {
    format!(
        "{spec:<22} mean wait {:>9.0} s  p95 {:>9.0} s  makespan {:>10.0} s  utilisation {:>5.1}%",
        s.wait_mean_s,
        s.wait_p95_s,
        s.makespan_s,
        100.0 * s.vcpu_utilization
    )
}

fn main() -> ExitCode {
    let path = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/swf-hpc2n.toml"),
        PathBuf::from,
    );
    let scenario = match flotilla::input::load_scenario(&path, None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("custom_policy: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{} ({} jobs)", path.display(), scenario.trace.len());
    for spec in ["fifo", "easy-backfill", "saf+easy-backfill"] {
        match run(&scenario, spec) {
            Ok(r) => println!("{}", line(spec, &r.summary)),
            Err(e) => {
                eprintln!("custom_policy: {spec}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla::model::SimDuration;

    /// One host of 4 vCPUs, and three jobs, each with its exact run time as its
    /// requested time:
    ///
    /// | job | submit | vCPUs | run | area (vCPU·s) |
    /// |---|---|---|---|---|
    /// | `a` | 0 s | 4 | 100 s | 400 |
    /// | `b` | 1 s | 4 | 50 s | 200 |
    /// | `c` | 2 s | 1 | 150 s | 150 |
    ///
    /// `a` holds the whole host until 100 s; then `b` and `c` wait. FIFO and SJF start `b`
    /// first (earlier; shorter), smallest area first starts `c`.
    const TRACE: &str =
        "job_id,submit_time_s,queue,vcpus,memory_mib,gpus,run_time_s,requested_time_s
a,0,q,4,1024,0,100,100
b,1,q,4,1024,0,50,50
c,2,q,1,256,0,150,150
";

    const SCENARIO: &str = r#"
name = "three-jobs"
trace = "trace.csv"
[[compute_environments]]
computeEnvironmentName = "one"
type = "UNMANAGED"
hosts = [{ name = "h", vcpus = 4, memory = 4096 }]
[[job_queues]]
jobQueueName = "q"
priority = 1
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "one" }]
"#;

    fn three_jobs() -> flotilla::scenario::Scenario {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("trace.csv"), TRACE).unwrap();
        let path = dir.path().join("three.toml");
        std::fs::write(&path, SCENARIO).unwrap();
        flotilla::input::load_scenario(&path, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Job names in the order they started.
    fn start_order(spec: &str) -> Vec<String> {
        let run = run(&three_jobs(), spec).unwrap();
        let mut started: Vec<(flotilla::model::SimTime, &str)> = run
            .engine
            .jobs()
            .iter()
            .map(|j| (j.attempts[0].starting_at, j.spec.name.as_str()))
            .collect();
        started.sort();
        started.into_iter().map(|(_, n)| n.to_string()).collect()
    }

    #[test]
    fn smallest_area_first_changes_the_start_order() {
        assert_eq!(start_order("fifo"), ["a", "b", "c"]);
        assert_eq!(start_order("sjf"), ["a", "b", "c"], "b is shorter");
        assert_eq!(start_order("saf"), ["a", "c", "b"], "c is smaller");
        // Combined with a built-in of another role.
        assert_eq!(start_order("saf+easy-backfill+first-fit"), ["a", "c", "b"]);
    }

    #[test]
    fn area_weighs_gpus_and_puts_unknown_estimates_last() {
        let spec = |p: &str| PolicySpec::parse(p).unwrap();
        let order = |p: &str| registry().resolve(&spec(p)).unwrap().order;
        let job = |vcpus, gpus, secs: Option<u64>| JobSpec {
            vcpus,
            gpus,
            requested_time: secs.map(SimDuration::from_secs),
            ..JobSpec::default()
        };
        let cpu = job(16, 0, Some(60)); // 16 × 60 = 960 vCPU·s
        let gpu = job(4, 1, Some(60)); // (4 + w) × 60
        let default = order("saf");
        assert_eq!(default.name(), "saf");
        assert!(
            default.rank(&gpu) < default.rank(&cpu),
            "(4 + 8) × 60 < 960"
        );
        let heavy = order("saf[weight_gpus=100]");
        assert!(heavy.rank(&gpu) > heavy.rank(&cpu), "(4 + 100) × 60 > 960");
        assert_eq!(default.rank(&job(1, 0, None)), u64::MAX);
        assert!(default.rank(&job(u32::MAX, 0, Some(48 * 3600))) < u64::MAX);
        // The timeout stands in for a missing requested time.
        let timed = JobSpec {
            timeout: Some(SimDuration::from_secs(60)),
            ..job(16, 0, None)
        };
        assert_eq!(default.rank(&timed), default.rank(&cpu));
    }

    #[test]
    fn bad_parameters_are_rejected_with_the_policy_and_key_named() {
        let r = registry();
        let err = |p: &str| r.resolve(&PolicySpec::parse(p).unwrap()).unwrap_err();
        assert_eq!(
            err("saf[weight_gpu=2]"),
            "saf: unknown parameter `weight_gpu`"
        );
        let e = err("saf[weight_gpus=-1]");
        assert!(
            e.contains("saf: `weight_gpus` must be a number from 0 to 1000"),
            "{e}"
        );
        let e = err("saf[weight_gpus=lots]");
        assert!(e.contains("not `lots`"), "{e}");
        let e = err("saf+sjf");
        assert!(e.contains("both queue order"), "{e}");
        // Registered alongside the built-ins, which stay as they were.
        let names: Vec<&str> = r.list().iter().map(|(n, _, _)| *n).collect();
        assert!(
            names.contains(&"saf") && names.contains(&"fifo"),
            "{names:?}"
        );
        assert!(Registry::builtin()
            .resolve(&PolicySpec::parse("saf").unwrap())
            .unwrap_err()
            .contains("unknown policy `saf`"));
    }
}
