//! Scenario settings of issue 3: DISABLED queues and compute environments, UNMANAGED hosts,
//! fair-share scheduling policies, `jobStateTimeLimitActions`, `[scheduler]`, `epoch_ms`,
//! and the documented example of `input::scenario`.

use super::{assert_at, csv, line_of, load, BASE};
use flotilla::model::{Market, SimDuration, UnmanagedHost};

const H: &str = "job_id,submit_time_s,queue,run_time_s,gpus,share_identifier";
const ROW: &str = "a,0,q,1,,";

/// Loads `BASE` with `from` replaced by `to` and checks the error names `field` on the line
/// of `at` in the changed text.
fn scenario_error(from: &str, to: &str, at: &str, field: &str) {
    let text = BASE.replacen(from, to, 1);
    assert_ne!(text, BASE, "`{from}` not found");
    let l = load(&text, &csv(H, &[ROW]));
    assert_at(l.err(), &l.toml(), line_of(&text, at), field);
}

#[test]
fn disabled_states_are_parsed() {
    let text = BASE
        .replacen("\"od\"\n", "\"od\"\nstate = \"DISABLED\"\n", 1)
        .replacen("\"spotq\"\n", "\"spotq\"\nstate = \"DISABLED\"\n", 1)
        .replacen("\"q\"\n", "\"q\"\nstate = \"ENABLED\"\n", 1);
    let s = load(&text, &csv(H, &[ROW])).ok();
    let ces: Vec<bool> = s
        .cluster
        .compute_environments
        .iter()
        .map(|c| c.disabled)
        .collect();
    assert_eq!(ces, [true, false]);
    let queues: Vec<bool> = s.cluster.job_queues.iter().map(|q| q.disabled).collect();
    assert_eq!(queues, [false, true]);
    scenario_error(
        "\"od\"\n",
        "\"od\"\nstate = \"OFF\"\n",
        "\"OFF\"",
        "compute_environments[0].state",
    );
    scenario_error(
        "\"q\"\n",
        "\"q\"\nstate = \"disabled\"\n",
        "\"disabled\"",
        "job_queues[0].state",
    );
}

const ONPREM: &str = r#"
[[compute_environments]]
computeEnvironmentName = "onprem"
type = "UNMANAGED"
hosts = [
  { name = "gpu", vcpus = 16, memory = 64000, gpus = 2, count = 2 },
  { name = "small", vcpus = 4, memory = 8000 },
]

[[job_queues]]
jobQueueName = "local"
priority = 5
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "onprem" }]
"#;

#[test]
fn unmanaged_hosts_expand_count_and_set_vcpu_limits() {
    let h = "job_id,submit_time_s,queue,run_time_s,gpus,share_identifier";
    let s = load(&format!("{BASE}{ONPREM}"), &csv(h, &["a,0,local,1,2,"])).ok();
    let ce = &s.cluster.compute_environments[2];
    let host = |name: &str, vcpus, memory_mib, gpus| UnmanagedHost {
        name: name.into(),
        vcpus,
        memory_mib,
        gpus,
    };
    assert_eq!(
        ce.unmanaged_hosts,
        [
            host("gpu-0", 16, 64000, 2),
            host("gpu-1", 16, 64000, 2),
            host("small", 4, 8000, 0)
        ]
    );
    assert_eq!((ce.min_vcpus, ce.max_vcpus, ce.desired_vcpus), (36, 36, 36));
    assert_eq!(ce.market, Market::OnDemand);
    assert!(ce.instance_types.is_empty());
    assert_eq!(s.trace[0].spec.gpus, 2, "GPU hosts count for the GPU check");

    let l = load(&format!("{BASE}{ONPREM}"), &csv(h, &["a,0,local,1,3,"]));
    assert_at(l.err(), &l.csv(), 2, "gpus");
    let mnp = "\n[[job_definitions]]\njobDefinitionName = \"m\"\ntype = \"multinode\"\n\
               nodeProperties = { numNodes = 2, mainNode = 0, nodeRangeProperties = [{ targetNodes = \":\" }] }\n";
    let h2 = "job_id,submit_time_s,queue,run_time_s,job_definition";
    let l = load(
        &format!("{BASE}{ONPREM}{mnp}"),
        &csv(h2, &["a,0,q,1,m", "b,0,local,1,m"]),
    );
    assert_at(l.err(), &l.csv(), 3, "job_definition");
    assert!(
        l.err()
            .message
            .contains("UNMANAGED compute environment `onprem`"),
        "{}",
        l.err()
    );
}

#[test]
fn bad_unmanaged_compute_environments_are_rejected() {
    let check = |from: &str, to: &str, at: &str, field: &str| {
        let text = format!("{BASE}{}", ONPREM.replacen(from, to, 1));
        assert_ne!(text, format!("{BASE}{ONPREM}"), "`{from}` not found");
        let l = load(&text, &csv(H, &[ROW]));
        assert_at(l.err(), &l.toml(), line_of(&text, at), field);
    };
    let p = "compute_environments[2]";
    check(
        "count = 2",
        "count = 0",
        "count = 0",
        &format!("{p}.hosts[0].count"),
    );
    check(
        "\"small\"",
        "\"gpu-1\"",
        "\"gpu-1\"",
        &format!("{p}.hosts[1].name"),
    );
    check(
        "vcpus = 4",
        "vcpus = 0",
        "vcpus = 0",
        &format!("{p}.hosts[1].vcpus"),
    );
    check(
        "type = \"UNMANAGED\"\n",
        "type = \"UNMANAGED\"\ncomputeResources = { type = \"EC2\", maxvCpus = 4, instanceTypes = [\"c5\"] }\n",
        "computeResources = {",
        &format!("{p}.computeResources"),
    );
    check(
        "type = \"UNMANAGED\"\n",
        "",
        "hosts = [",
        &format!("{p}.hosts"),
    );
    check(
        "hosts = [\n  { name = \"gpu\", vcpus = 16, memory = 64000, gpus = 2, count = 2 },\n  { name = \"small\", vcpus = 4, memory = 8000 },\n]",
        "hosts = []",
        "hosts = []",
        &format!("{p}.hosts"),
    );
}

const FAIR: &str = r#"
[[scheduling_policies]]
name = "fs"
[scheduling_policies.fairsharePolicy]
shareDecaySeconds = 3600
computeReservation = 25
shareDistribution = [
  { shareIdentifier = "teamA", weightFactor = 0.5 },
  { shareIdentifier = "b*" },
]
"#;

#[test]
fn fair_share_policy_is_parsed_and_required_share_identifiers_checked() {
    let text = format!(
        "{}{FAIR}",
        BASE.replacen("\"q\"\n", "\"q\"\nschedulingPolicy = \"fs\"\n", 1)
    );
    let s = load(&text, &csv(H, &["a,0,q,1,,teamA", "b,0,spotq,1,,"])).ok();
    let p = s.cluster.job_queues[0]
        .fairshare_policy
        .as_ref()
        .expect("policy");
    assert_eq!(p.share_decay, SimDuration::from_secs(3600));
    assert_eq!(p.compute_reservation, 25);
    let shares: Vec<(&str, f64)> = p
        .share_distribution
        .iter()
        .map(|w| (w.share_identifier.as_str(), w.weight_factor))
        .collect();
    assert_eq!(
        shares,
        [("teamA", 0.5), ("b*", 1.0)],
        "weightFactor defaults to 1.0"
    );
    assert!(s.cluster.job_queues[1].fairshare_policy.is_none());
    assert_eq!(s.trace[0].spec.share_identifier.as_deref(), Some("teamA"));

    let l = load(&text, &csv(H, &["a,0,q,1,,"]));
    assert_at(l.err(), &l.csv(), 2, "share_identifier");
    assert!(l.err().message.contains("required"), "{}", l.err());
    let l = load(&text, &csv(H, &["a,0,q,1,,x", "b,0,spotq,1,,x"]));
    assert_at(l.err(), &l.csv(), 3, "share_identifier");

    let bad = |from: &str, to: &str, at: &str, field: &str| {
        let t = text.replacen(from, to, 1);
        assert_ne!(t, text, "`{from}` not found");
        let l = load(&t, &csv(H, &["a,0,q,1,,teamA"]));
        assert_at(l.err(), &l.toml(), line_of(&t, at), field);
    };
    let f = "scheduling_policies[0].fairsharePolicy";
    bad(
        "weightFactor = 0.5",
        "weightFactor = 0.0",
        "0.0",
        &format!("{f}.shareDistribution[0].weightFactor"),
    );
    bad(
        "weightFactor = 0.5",
        "weightFactor = 1000.0",
        "1000.0",
        &format!("{f}.shareDistribution[0].weightFactor"),
    );
    bad(
        "\"b*\"",
        "\"teamA*\"",
        "\"teamA*\"",
        &format!("{f}.shareDistribution[1].shareIdentifier"),
    );
    bad(
        "\"b*\"",
        "\"b-c\"",
        "\"b-c\"",
        &format!("{f}.shareDistribution[1].shareIdentifier"),
    );
    bad(
        "shareDecaySeconds = 3600",
        "shareDecaySeconds = 604801",
        "604801",
        &format!("{f}.shareDecaySeconds"),
    );
    bad(
        "computeReservation = 25",
        "computeReservation = 100",
        "= 100",
        &format!("{f}.computeReservation"),
    );
    bad(
        "schedulingPolicy = \"fs\"",
        "schedulingPolicy = \"nope\"",
        "\"nope\"",
        "job_queues[0].schedulingPolicy",
    );
}

#[test]
fn job_state_time_limit_actions_are_parsed_and_checked() {
    let tla = "\"q\"\njobStateTimeLimitActions = [{ reason = \"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY\", \
               state = \"RUNNABLE\", maxTimeSeconds = 600, action = \"CANCEL\" }]\n";
    let text = BASE.replacen("\"q\"\n", tla, 1);
    let s = load(&text, &csv(H, &[ROW])).ok();
    let a = &s.cluster.job_queues[0].job_state_time_limit_actions;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].reason, "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY");
    assert_eq!(a[0].max_time, SimDuration::from_secs(600));
    let p = "job_queues[0].jobStateTimeLimitActions[0]";
    scenario_error(
        "\"q\"\n",
        &tla.replace("= 600", "= 599"),
        "599",
        &format!("{p}.maxTimeSeconds"),
    );
    scenario_error(
        "\"q\"\n",
        &tla.replace("= 600", "= 86401"),
        "86401",
        &format!("{p}.maxTimeSeconds"),
    );
    scenario_error(
        "\"q\"\n",
        &tla.replace("\"RUNNABLE\"", "\"STARTING\""),
        "STARTING",
        &format!("{p}.state"),
    );
    scenario_error(
        "\"q\"\n",
        &tla.replace("\"CANCEL\"", "\"TERMINATE\""),
        "TERMINATE",
        &format!("{p}.action"),
    );
}

#[test]
fn scheduler_options_and_epoch() {
    let s = load(BASE, &csv(H, &[ROW])).ok();
    assert!(!s.cluster.options.keep_cpu_jobs_off_gpu_instances);
    assert_eq!(s.epoch_ms, 0);
    let text = BASE.replacen(
        "trace = \"jobs.csv\"\n",
        "trace = \"jobs.csv\"\nepoch_ms = 1700000000000\n[scheduler]\nkeep_cpu_jobs_off_gpu_instances = true\n",
        1,
    );
    let s = load(&text, &csv(H, &[ROW])).ok();
    assert!(s.cluster.options.keep_cpu_jobs_off_gpu_instances);
    assert_eq!(s.epoch_ms, 1_700_000_000_000);
    scenario_error(
        "trace = \"jobs.csv\"\n",
        "trace = \"jobs.csv\"\nepoch_ms = -1\n",
        "-1",
        "epoch_ms",
    );
}

#[test]
fn documented_scenario_example_loads() {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/input/scenario.rs"),
    )
    .expect("read");
    let doc: Vec<&str> = src
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .map(|l| {
            l.strip_prefix("//! ")
                .or(l.strip_prefix("//!"))
                .unwrap_or(l)
        })
        .collect();
    let start = doc
        .iter()
        .position(|l| *l == "```toml")
        .expect("toml block")
        + 1;
    let end = start
        + doc[start..]
            .iter()
            .position(|l| *l == "```")
            .expect("block end");
    let example = doc[start..end]
        .join("\n")
        .replace("../traces/quickstart.csv", "jobs.csv");
    let example = example.replace("catalog = ", "# catalog = ");
    let l = load(
        &example,
        &csv(H, &["a,0,default,1,,teamA", "b,1,default,1,,bob"]),
    );
    std::fs::write(
        l.dir.path().join("prices.csv"),
        "time_s,instance_type,price_usd_per_hour\n0,c5.large,0.03\n",
    )
    .expect("write");
    let s = flotilla::input::load_scenario(&l.toml(), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster.compute_environments.len(), 2);
    assert_eq!(s.trace.len(), 2);
    assert!(s.cluster.job_queues[0].fairshare_policy.is_some());
}
