//! Nothing panics on bad input: every prefix and many mutations of a scenario and trace that
//! use every new field load to a value or an error.

use super::{csv, BASE};
use flotilla::input::{load_scenario, validate_file};
use std::fs;

const RICH: &str = r#"
[[compute_environments]]
computeEnvironmentName = "onprem"
type = "UNMANAGED"
state = "DISABLED"
hosts = [{ name = "h", vcpus = 8, memory = 32000, gpus = 1, count = 2 }]

[[scheduling_policies]]
name = "fs"
fairsharePolicy = { shareDecaySeconds = 60, computeReservation = 5, shareDistribution = [{ shareIdentifier = "a*", weightFactor = 0.25 }] }

[[job_queues]]
jobQueueName = "fair"
priority = 3
schedulingPolicy = "fs"
jobStateTimeLimitActions = [{ reason = "r", state = "RUNNABLE", maxTimeSeconds = 900, action = "CANCEL" }]
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "onprem" }]

[[job_definitions]]
jobDefinitionName = "d"
revision = 2
parameters = { p = "v" }
retryStrategy = { attempts = 2, evaluateOnExit = [{ action = "EXIT", onExitCode = "1*" }] }
containerProperties = { command = ["x", "Ref::p"], resourceRequirements = [{ type = "GPU", value = "1" }] }

[[job_definitions]]
jobDefinitionName = "m"
type = "multinode"
nodeProperties = { numNodes = 3, mainNode = 2, nodeRangeProperties = [{ targetNodes = "0:" }, { targetNodes = "2", container = { vcpus = 4 } }] }
"#;

const HEADER: &str = "job_id,submit_time_s,queue,run_time_s,job_definition,array_size,\
                      depends_on,cancel_at_s,terminate_at_s,share_identifier,parameters,command";

const ROWS: [&str; 4] = [
    "a,0,fair,5,d:2,3,,9,10,ab,p=w,run Ref::p",
    "b,1,fair,5,d,3,a:N_TO_N;SEQUENTIAL,,,a1,,",
    "c,2,q,5,m,,a;b,,,,,",
    "e,1.5,q,5,,,a,,,,,",
];

/// A small deterministic generator for mutations.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn truncated_and_mutated_inputs_never_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = dir.path().join("s.toml");
    let t = dir.path().join("jobs.csv");
    let scenario = format!("{BASE}{RICH}");
    let trace = csv(HEADER, &ROWS);
    fs::write(&s, &scenario).expect("write");
    fs::write(&t, &trace).expect("write");
    let good = load_scenario(&s, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(good.trace.len(), 4);
    assert_eq!(good.trace[3].spec.depends_on.len(), 2);

    for at in (0..scenario.len()).step_by(5) {
        if let Some(prefix) = scenario.get(..at) {
            fs::write(&s, prefix).expect("write");
            let _ = load_scenario(&s, None);
        }
    }
    fs::write(&s, &scenario).expect("write");
    for at in 0..trace.len() {
        if let Some(prefix) = trace.get(..at) {
            fs::write(&t, prefix).expect("write");
            let _ = load_scenario(&s, None);
            let _ = validate_file(&t);
        }
    }
    let alphabet: &[u8] = b"0123456789:;,.*-= \n\"[]{}xNTO_SEQUENTIAL\xff";
    let mut rng = Lcg(7);
    let mut errors = 0;
    for _ in 0..400 {
        let (which, text) = if rng.next(2) == 0 {
            (&s, scenario.as_bytes())
        } else {
            (&t, trace.as_bytes())
        };
        let mut bytes = text.to_vec();
        for _ in 0..1 + rng.next(3) {
            let i = rng.next(bytes.len());
            bytes[i] = alphabet[rng.next(alphabet.len())];
        }
        fs::write(which, &bytes).expect("write");
        if load_scenario(&s, None).is_err() {
            errors += 1;
        }
        let _ = validate_file(&t);
        fs::write(&s, &scenario).expect("write");
        fs::write(&t, &trace).expect("write");
    }
    assert!(errors > 100, "most mutations must be caught, got {errors}");
}
