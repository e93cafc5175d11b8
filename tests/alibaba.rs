//! Alibaba GPU cluster trace 2023: the shipped task and node lists, the `[alibaba]` options
//! and both fleets, checked against facts computed here from the CSV text itself.

use flotilla::input::{load_scenario_with_options, ReadOptions};
use flotilla::model::Market;
use flotilla::scenario::Scenario;
use std::path::{Path, PathBuf};

fn shipped(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/alibaba-gpu-2023")
        .join(file)
}

const TASKS: &str = "openb_pod_list_default.csv";
const NODES: &str = "openb_node_list_all_node.csv";

/// The data rows of a shipped CSV, split on commas (the files quote nothing).
fn rows(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(shipped(file)).unwrap();
    let mut lines = text.lines();
    lines.next();
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Writes a scenario next to nothing in particular; paths in it are absolute.
fn scenario_file(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("s.toml");
    std::fs::write(&p, body).unwrap();
    p
}

fn load(body: &str) -> Result<Scenario, flotilla::input::InputError> {
    load_opts(body, ReadOptions::default())
}

fn load_opts(body: &str, opts: ReadOptions) -> Result<Scenario, flotilla::input::InputError> {
    let dir = tempfile::tempdir().unwrap();
    let p = scenario_file(dir.path(), body);
    load_scenario_with_options(&p, None, opts).map(|(s, _)| s)
}

fn alibaba(extra: &str) -> String {
    format!(
        "trace = {:?}\n[alibaba]\nnodes = {:?}\n{extra}\n",
        shipped(TASKS),
        shipped(NODES)
    )
}

#[test]
fn shipped_files_have_the_documented_size_and_shape() {
    let tasks = rows(TASKS);
    let nodes = rows(NODES);
    assert_eq!(tasks.len(), 8_152);
    assert_eq!(nodes.len(), 1_523);
    let gpus: u64 = nodes.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
    assert_eq!(gpus, 6_212);
    let fractional = tasks
        .iter()
        .filter(|r| r[3] == "1" && r[4].parse::<u32>().unwrap() < 1000)
        .count();
    assert_eq!(fractional, 3_078);
    let last: u64 = tasks
        .iter()
        .map(|r| r[8].parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(last, 12_901_761, "about 149 days of submissions");
}

#[test]
fn every_task_becomes_a_job_with_its_resources_and_times() {
    let tasks = rows(TASKS);
    let s = load(&alibaba("unscheduled = \"keep\"")).unwrap();
    assert_eq!(s.trace.len(), tasks.len());
    let last_submit: u64 = tasks
        .iter()
        .map(|r| r[8].parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert_eq!(s.trace.first().unwrap().submit.0, 0);
    assert_eq!(s.trace.last().unwrap().submit.0, last_submit * 1000);
    let gpus: u64 = tasks.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
    assert_eq!(
        s.trace.iter().map(|j| u64::from(j.spec.gpus)).sum::<u64>(),
        gpus
    );
    let failed = tasks.iter().filter(|r| r[7] == "Failed").count();
    assert_eq!(s.trace.iter().filter(|j| j.exit_code == 1).count(), failed);
    // Run time: deletion − scheduled (or − creation for a never-scheduled task).
    let t0 = &tasks[0];
    let j0 = s.trace.iter().find(|j| j.spec.name == t0[0]).unwrap();
    let d: u64 = t0[9].parse().unwrap();
    let sch: u64 = t0[10].parse().unwrap();
    assert_eq!(j0.run_time.as_millis(), (d - sch) * 1000);
    let cpu: u32 = t0[1].parse().unwrap();
    assert_eq!(j0.spec.vcpus, cpu.div_ceil(1000));
    assert!(
        s.notes.iter().any(|n| n.contains("3078 fractional")),
        "{:?}",
        s.notes
    );
}

#[test]
fn gpu_share_modes_do_what_they_say() {
    let tasks = rows(TASKS);
    let scheduled: Vec<&Vec<String>> = tasks.iter().filter(|r| !r[10].is_empty()).collect();
    let frac = |r: &&&Vec<String>| r[3] == "1" && r[4] != "1000";
    let n_frac = scheduled.iter().filter(frac).count();
    let with_gpu = scheduled.iter().filter(|r| r[3] != "0").count();
    let gpu_jobs = |s: &Scenario| s.trace.iter().filter(|j| j.spec.gpus > 0).count();

    let whole = load(&alibaba("gpu_share = \"whole\"")).unwrap();
    assert_eq!(whole.trace.len(), scheduled.len());
    assert_eq!(gpu_jobs(&whole), with_gpu);

    let cpu_only = load(&alibaba("gpu_share = \"cpu-only\"")).unwrap();
    assert_eq!(cpu_only.trace.len(), scheduled.len());
    assert_eq!(gpu_jobs(&cpu_only), with_gpu - n_frac);

    let skip = load(&alibaba("gpu_share = \"skip\"")).unwrap();
    assert_eq!(skip.trace.len(), scheduled.len() - n_frac);
    assert_eq!(gpu_jobs(&skip), with_gpu - n_frac);
    // Counted once each: a fractional task never scheduled is counted as fractional.
    let all_frac = tasks
        .iter()
        .filter(|r| r[3] == "1" && r[4] != "1000")
        .count();
    let note = format!("{all_frac} left out");
    assert!(
        skip.notes.iter().any(|n| n.contains(&note)),
        "{:?}",
        skip.notes
    );
}

#[test]
fn unmanaged_fleet_has_every_node_and_a_default_queue() {
    let nodes = rows(NODES);
    let s = load(&alibaba("fleet = \"unmanaged\"")).unwrap();
    let ces = &s.cluster.compute_environments;
    assert_eq!(ces.len(), 1);
    assert_eq!(ces[0].name, "alibaba");
    let hosts = &ces[0].unmanaged_hosts;
    assert_eq!(hosts.len(), nodes.len());
    let gpus: u32 = nodes.iter().map(|r| r[3].parse::<u32>().unwrap()).sum();
    assert_eq!(hosts.iter().map(|h| h.gpus).sum::<u32>(), gpus);
    let vcpus: u32 = nodes
        .iter()
        .map(|r| r[1].parse::<u32>().unwrap() / 1000)
        .sum();
    assert_eq!(ces[0].max_vcpus, vcpus);
    assert_eq!(s.cluster.job_queues.len(), 1);
    assert_eq!(s.cluster.job_queues[0].name, "alibaba");
}

/// The documented mapping (docs/alibaba.md) of the shipped fleet onto the built-in catalog.
const MAPPING: [(&str, &str); 7] = [
    ("549 × 8xG2 96c 384GiB → g4dn.metal", "G2: closest shape"),
    ("387 × 2xT4 104c 512GiB → g4dn.metal", "T4"),
    (
        "107 × 2xP100 16c 120GiB → p3.8xlarge",
        "P100: closest shape",
    ),
    ("39 × 8xG3 128c 768GiB → g5.48xlarge", "G3: closest shape"),
    ("28 × 4xV100M16 32c 128GiB → p3.8xlarge", "V100 16 GiB"),
    ("21 × 8xV100M32 96c 768GiB → p3dn.24xlarge", "V100 32 GiB"),
    ("2 × 1xA10 128c 1024GiB → g5.16xlarge", "A10 → A10G"),
];

#[test]
fn ec2_fleet_maps_shapes_onto_the_documented_types() {
    let nodes = rows(NODES);
    let s = load(&alibaba("fleet = \"ec2\"")).unwrap();
    for (line, what) in MAPPING {
        assert!(
            s.notes.iter().any(|n| n.contains(line)),
            "{what}: {line} not in {:#?}",
            s.notes
        );
    }
    let ce = &s.cluster.compute_environments[0];
    assert_eq!((ce.market, ce.unmanaged_hosts.len()), (Market::OnDemand, 0));
    let cat = &s.cluster.catalog;
    let names: Vec<&str> = ce
        .instance_types
        .iter()
        .map(|&i| cat.get(i).name.as_str())
        .collect();
    assert!(
        names.contains(&"g4dn.metal") && names.contains(&"p3dn.24xlarge"),
        "{names:?}"
    );
    // Every GPU type's GPU count covers a node of the fleet at least once: maxvCpus is the
    // sum of one mapped instance per node, so at least the fleet's GPU nodes' count × 8 vCPUs.
    assert!(ce.max_vcpus as usize >= nodes.len() * 8);
}

#[test]
fn spot_and_on_demand_fleets_get_their_default_names_and_order() {
    let s = load(&alibaba("fleet = \"ec2\"\nmarket = \"SPOT_AND_EC2\"")).unwrap();
    let ces = &s.cluster.compute_environments;
    let names: Vec<(&str, Market)> = ces.iter().map(|c| (c.name.as_str(), c.market)).collect();
    assert_eq!(
        names,
        [
            ("alibaba-spot", Market::Spot),
            ("alibaba-ec2", Market::OnDemand)
        ]
    );
    let q = &s.cluster.job_queues[0];
    assert_eq!(q.compute_environment_order.len(), 2);
    assert_eq!(q.compute_environment_order[0].0, 0, "Spot first");
    for &t in &ces[0].instance_types {
        assert!(s.cluster.catalog.get(t).has_spot());
    }
}

#[test]
fn qos_queues_route_tasks_and_scenario_queues_may_name_the_generated_ce() {
    let tasks = rows(TASKS);
    let be = tasks
        .iter()
        .filter(|r| r[6] == "BE" && !r[10].is_empty())
        .count();
    let body = alibaba(
        "fleet = \"ec2\"\ncompute_environment = \"aws\"\nqos_queues = { BE = \"batch\" }\n\
         [[job_queues]]\njobQueueName = \"main\"\npriority = 2\n\
         computeEnvironmentOrder = [{ order = 1, computeEnvironment = \"aws\" }]\n\
         [[job_queues]]\njobQueueName = \"batch\"\npriority = 1\n\
         computeEnvironmentOrder = [{ order = 1, computeEnvironment = \"aws\" }]\n",
    );
    let s = load(&body).unwrap();
    assert_eq!(s.cluster.compute_environments[0].name, "aws");
    let batch = s.cluster.find_queue("batch").unwrap();
    assert_eq!(s.trace.iter().filter(|j| j.spec.queue == batch).count(), be);
}

#[test]
fn option_errors_name_the_field() {
    let cases = [
        (alibaba("gpu_share = \"half\""), "alibaba.gpu_share"),
        (alibaba("fleet = \"cloud\""), "alibaba.fleet"),
        (alibaba("market = \"SPOT\""), "alibaba.market"),
        (
            alibaba("qos_queues = { BE = \"nope\" }"),
            "alibaba.qos_queues.BE",
        ),
        (
            alibaba("fleet = \"ec2\"\ninstance_types = { G2 = \"x9.huge\" }"),
            "alibaba.instance_types.G2",
        ),
        (
            format!("trace = {:?}\n[alibaba]\nfleet = \"ec2\"\n", shipped(TASKS)),
            "alibaba.fleet",
        ),
    ];
    for (body, field) in cases {
        let e = load(&body).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.line.is_some(), "{e}");
    }
}

#[test]
fn bad_task_lines_are_errors_or_counted_with_skip_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(shipped(TASKS)).unwrap();
    let mut lines: Vec<&str> = text.lines().take(21).collect();
    lines[5] = "bad-pod,1000,10,1,1500,,LS,Running,0,10,0";
    lines[9] = "bad-pod-2,1000,10,0,0,,LS,Running,0,10";
    let tasks = dir.path().join("tasks.csv");
    std::fs::write(&tasks, lines.join("\n")).unwrap();
    let body = format!(
        "trace = {tasks:?}\n[alibaba]\nnodes = {:?}\n",
        shipped(NODES)
    );
    let e = load(&body).unwrap_err();
    assert_eq!(e.file, tasks);
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(6), Some("gpu_milli")),
        "{e}"
    );
    let skip = ReadOptions {
        skip_bad_lines: true,
    };
    let s = load_opts(&body, skip).unwrap();
    assert_eq!(s.skipped_lines.count, 2);
    assert_eq!(s.skipped_lines.first[1].line, Some(10));
    let good_scheduled = lines[1..]
        .iter()
        .filter(|l| !l.starts_with("bad") && !l.ends_with(','))
        .count();
    assert_eq!(s.trace.len(), good_scheduled);
}

#[test]
fn a_task_still_running_at_the_end_runs_to_the_last_time_stamp() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = dir.path().join("tasks.csv");
    std::fs::write(
        &tasks,
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,\
         deletion_time,scheduled_time\n\
         a,2500,0,1,300,V100M32,LS,Running,10,,40\n\
         b,1000,512,0,0,,BE,Failed,20,500,30\n\
         c,1000,512,0,0,,BE,Pending,25,90,\n",
    )
    .unwrap();
    let body = format!(
        "trace = {tasks:?}\n[alibaba]\nnodes = {:?}\nunscheduled = \"keep\"\n\
         gpu_spec_queues = {{ V100M32 = \"alibaba\" }}\n",
        shipped(NODES)
    );
    let s = load(&body).unwrap();
    let a = &s.trace[0];
    assert_eq!((a.spec.vcpus, a.spec.memory_mib, a.spec.gpus), (3, 1, 1));
    assert_eq!(
        a.run_time.as_millis(),
        (500 - 40) * 1000,
        "censored at the file's last time"
    );
    assert_eq!(
        (s.trace[1].exit_code, s.trace[1].run_time.as_millis()),
        (1, 470_000)
    );
    assert_eq!(
        (s.trace[2].exit_code, s.trace[2].run_time.as_millis()),
        (0, 65_000)
    );
}

#[test]
fn the_aws_what_if_simulates_end_to_end() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/alibaba-gpu-aws.toml");
    let s = flotilla::input::load_scenario(&p, None).unwrap();
    let n = s.trace.len() as u64;
    let run = flotilla::record::simulate(s, "test", None).unwrap();
    assert_eq!(run.summary.jobs_total, n);
    assert_eq!(run.summary.jobs_unplaceable, 0);
    assert_eq!(run.summary.jobs_succeeded + run.summary.jobs_failed, n);
    assert!(run.summary.total_cost_usd > 0.0);
}

#[test]
fn whole_gpus_inflate_gpu_time_by_the_documented_16_percent() {
    // Used GPU time from the raw rows: share × GPUs × (deletion − scheduled).
    let used_s: f64 = rows(TASKS)
        .iter()
        .filter(|r| !r[10].is_empty())
        .map(|r| {
            let share = r[3].parse::<f64>().unwrap() * r[4].parse::<f64>().unwrap() / 1000.0;
            share * (r[9].parse::<f64>().unwrap() - r[10].parse::<f64>().unwrap())
        })
        .sum();
    // Reserved GPU time of the jobs `whole` builds.
    let s = load(&alibaba("gpu_share = \"whole\"")).unwrap();
    let reserved_s: f64 = s
        .trace
        .iter()
        .map(|j| f64::from(j.spec.gpus) * j.run_time.as_millis() as f64 / 1000.0)
        .sum();
    assert_eq!((used_s / 3600.0).round(), 51_471.0);
    assert_eq!((reserved_s / 3600.0).round(), 59_612.0);
    assert!((reserved_s / used_s - 1.158).abs() < 0.001);
}
