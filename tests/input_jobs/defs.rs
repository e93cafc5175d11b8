//! `[[job_definitions]]`: the RegisterJobDefinition shape, revisions, parameter
//! substitution, retry rules, multi-node ranges, and their errors.

use super::{assert_at, csv, line_of, load, BASE};
use flotilla::model::{NodeRange, RetryAction, SimDuration};

const H: &str = "job_id,submit_time_s,queue,run_time_s,job_definition,parameters,command,vcpus";

const FFMPEG: &str = r#"
[[job_definitions]]
jobDefinitionName = "ffmpeg"
parameters = { codec = "mp4", outputfile = "out" }
timeout = { attemptDurationSeconds = 120 }
schedulingPriority = 7
propagateTags = true
tags = { team = "media" }
retryStrategy = { attempts = 3, evaluateOnExit = [
  { action = "retry", onStatusReason = "Host EC2*" },
  { action = "Exit", onReason = "*", onExitCode = "13*" },
] }
[job_definitions.containerProperties]
image = "my_repo/ffmpeg"
vcpus = 1
memory = 1000
command = ["ffmpeg", "-i", "Ref::inputfile", "-c", "Ref::codec", "--out=Ref::outputfile.mkv", "Ref::nope"]
environment = [{ name = "MODE", value = "fast" }, { name = "LEVEL", value = "3" }]
resourceRequirements = [{ type = "VCPU", value = "4" }, { type = "MEMORY", value = "8192" }, { type = "GPU", value = "1" }]
"#;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn job_definition_fills_the_spec_and_substitutes_ref_parameters() {
    let t = csv(
        H,
        &[
            "a,0,q,10,ffmpeg,inputfile=in.mov;codec=h264,,",
            "b,1,q,10,ffmpeg:1,,,",
        ],
    );
    let s = load(&format!("{BASE}{FFMPEG}"), &t).ok();
    let a = &s.trace[0].spec;
    assert_eq!(a.job_definition, "ffmpeg:1");
    assert_eq!(
        (a.vcpus, a.memory_mib, a.gpus),
        (4, 8192, 1),
        "resourceRequirements override vcpus and memory"
    );
    assert_eq!(
        a.parameters,
        pairs(&[
            ("codec", "h264"),
            ("inputfile", "in.mov"),
            ("outputfile", "out")
        ]),
        "row parameters override the defaults; sorted by name"
    );
    assert_eq!(
        a.command,
        strings(&[
            "ffmpeg",
            "-i",
            "in.mov",
            "-c",
            "h264",
            "--out=out.mkv",
            "Ref::nope"
        ]),
        "placeholders are replaced inside arguments; unknown ones stay"
    );
    assert_eq!(a.environment, pairs(&[("MODE", "fast"), ("LEVEL", "3")]));
    assert_eq!((a.attempts, a.scheduling_priority), (3, 7));
    assert_eq!(a.timeout, Some(SimDuration::from_secs(120)));
    let rules = &a.evaluate_on_exit;
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0].action,
        RetryAction::Retry,
        "actions are case-insensitive"
    );
    assert_eq!(rules[0].on_status_reason.as_deref(), Some("Host EC2*"));
    assert_eq!(rules[1].action, RetryAction::Exit);
    assert_eq!(
        (
            rules[1].on_reason.as_deref(),
            rules[1].on_exit_code.as_deref()
        ),
        (Some("*"), Some("13*"))
    );
    let b = &s.trace[1].spec;
    assert_eq!(
        b.command,
        strings(&[
            "ffmpeg",
            "-i",
            "Ref::inputfile",
            "-c",
            "mp4",
            "--out=out.mkv",
            "Ref::nope"
        ]),
        "without row parameters the defaults apply"
    );
}

#[test]
fn row_command_overrides_the_definition_and_is_substituted() {
    let t = csv(
        H,
        &["a,0,q,10,ffmpeg,codec=vp9,echo Ref::codec  Ref::outputfile,"],
    );
    let s = load(&format!("{BASE}{FFMPEG}"), &t).ok();
    assert_eq!(s.trace[0].spec.command, strings(&["echo", "vp9", "out"]));
    let t = csv(H, &["a,0,q,10,,x=1,run Ref::x,"]);
    let s = load(BASE, &t).ok();
    let a = &s.trace[0].spec;
    assert_eq!(
        a.command,
        strings(&["run", "1"]),
        "parameters work without a definition"
    );
    assert_eq!((a.job_definition.as_str(), a.vcpus), ("", 1));
}

#[test]
fn revisions_latest_by_default_or_named() {
    let defs = r#"
[[job_definitions]]
jobDefinitionName = "d"
vcpus = 2

[[job_definitions]]
jobDefinitionName = "d"
revision = 3
containerProperties = { vcpus = 8 }
"#;
    let t = csv(H, &["a,0,q,10,d,,,", "b,0,q,10,d:1,,,", "c,0,q,10,d:3,,,"]);
    let s = load(&format!("{BASE}{defs}"), &t).ok();
    let got: Vec<(&str, u32)> = s
        .trace
        .iter()
        .map(|j| (j.spec.job_definition.as_str(), j.spec.vcpus))
        .collect();
    assert_eq!(got, [("d:3", 8), ("d:1", 2), ("d:3", 8)]);

    let t = csv(H, &["a,0,q,10,d,,,", "b,0,q,10,d:2,,,"]);
    let l = load(&format!("{BASE}{defs}"), &t);
    assert_at(l.err(), &l.csv(), 3, "job_definition");
    assert!(l.err().message.contains("`d:2`"), "{}", l.err());

    let twice = defs.replace("revision = 3\n", "");
    let l = load(&format!("{BASE}{twice}"), &t);
    let text = format!("{BASE}{twice}");
    let line = text
        .match_indices("jobDefinitionName")
        .nth(1)
        .map(|(i, _)| text[..i].matches('\n').count() + 1);
    assert_eq!(l.err().line, line, "{}", l.err());
    assert_eq!(
        l.err().field.as_deref(),
        Some("job_definitions[1].jobDefinitionName")
    );
}

const MPI: &str = r#"
[[job_definitions]]
jobDefinitionName = "mpi"
type = "multinode"
[job_definitions.nodeProperties]
numNodes = 6
mainNode = 1
nodeRangeProperties = [
  { targetNodes = "0:", container = { vcpus = 4, memory = 8000 } },
  { targetNodes = ":1", container = { resourceRequirements = [{ type = "VCPU", value = "8" }, { type = "MEMORY", value = "16000" }, { type = "GPU", value = "2" }] } },
  { targetNodes = "5", container = { vcpus = 2, memory = 1000 } },
]
"#;

#[test]
fn multinode_ranges_resolve_and_later_ranges_override() {
    let t = csv(H, &["a,0,q,10,mpi,,,", "b,0,q,10,mpi,,,16"]);
    let s = load(&format!("{BASE}{MPI}"), &t).ok();
    let a = &s.trace[0].spec;
    let np = a.node_properties.as_ref().expect("multi-node");
    assert_eq!((np.num_nodes, np.main_node), (6, 1));
    let r = |start, end, vcpus, memory_mib, gpus| NodeRange {
        start,
        end,
        vcpus,
        memory_mib,
        gpus,
    };
    assert_eq!(
        np.node_ranges,
        [
            r(0, 5, 4, 8000, 0),
            r(0, 1, 8, 16000, 2),
            r(5, 5, 2, 1000, 0)
        ],
        "open ends resolve against numNodes"
    );
    assert_eq!(
        (a.vcpus, a.memory_mib, a.gpus),
        (8, 16000, 2),
        "the job's resources are its main node's, where the later range overrides"
    );
    assert_eq!(flotilla::input::node_resources(np, 3), Some((4, 8000, 0)));
    let b = &s.trace[1].spec;
    let np = b.node_properties.as_ref().expect("multi-node");
    assert!(
        np.node_ranges.iter().all(|r| r.vcpus == 16),
        "row vcpus apply to every node"
    );
    assert_eq!(b.vcpus, 16);
}

/// Replaces `from` by `to` in `BASE + defs`, loads it with one plain row, and checks that the
/// error names `field` on the line of `at` (a needle in the changed text).
fn def_error(defs: &str, from: &str, to: &str, at: &str, field: &str) {
    let bad_defs = defs.replacen(from, to, 1);
    assert_ne!(bad_defs, defs, "`{from}` not found");
    let text = format!("{BASE}{bad_defs}");
    let l = load(&text, &csv(H, &["a,0,q,10,,,,"]));
    assert_at(l.err(), &l.toml(), line_of(&text, at), field);
}

#[test]
fn bad_retry_rules_name_their_fields() {
    let p = "job_definitions[0].retryStrategy";
    let first = "  { action = \"retry\", onStatusReason = \"Host EC2*\" },\n";
    let five = "  { action = \"EXIT\", onExitCode = \"1\" },\n".repeat(5);
    def_error(
        FFMPEG,
        first,
        &five,
        "evaluateOnExit = [",
        &format!("{p}.evaluateOnExit"),
    );
    def_error(
        FFMPEG,
        "attempts = 3, ",
        "",
        "evaluateOnExit",
        &format!("{p}.evaluateOnExit"),
    );
    def_error(
        FFMPEG,
        "action = \"retry\"",
        "action = \"RESTART\"",
        "RESTART",
        &format!("{p}.evaluateOnExit[0].action"),
    );
    def_error(
        FFMPEG,
        "\"13*\"",
        "\"1a\"",
        "\"1a\"",
        &format!("{p}.evaluateOnExit[1].onExitCode"),
    );
    def_error(
        FFMPEG,
        "\"Host EC2*\"",
        "\"Host (EC2)\"",
        "Host (EC2)",
        &format!("{p}.evaluateOnExit[0].onStatusReason"),
    );
    def_error(
        FFMPEG,
        "onReason = \"*\"",
        "onReason = \"a*b\"",
        "a*b",
        &format!("{p}.evaluateOnExit[1].onReason"),
    );
    def_error(
        FFMPEG,
        "attempts = 3",
        "attempts = 11",
        "attempts = 11",
        &format!("{p}.attempts"),
    );
}

#[test]
fn bad_definition_fields_name_their_paths() {
    let p = "job_definitions[0]";
    let c = format!("{p}.containerProperties");
    def_error(
        FFMPEG,
        "= 120",
        "= 59",
        "= 59",
        &format!("{p}.timeout.attemptDurationSeconds"),
    );
    def_error(
        FFMPEG,
        "= 7",
        "= 10000",
        "= 10000",
        &format!("{p}.schedulingPriority"),
    );
    def_error(
        FFMPEG,
        "\"VCPU\"",
        "\"CPU\"",
        "\"CPU\"",
        &format!("{c}.resourceRequirements[0].type"),
    );
    def_error(
        FFMPEG,
        "value = \"8192\"",
        "value = \"8 GiB\"",
        "8 GiB",
        &format!("{c}.resourceRequirements[1].value"),
    );
    def_error(
        FFMPEG,
        "\"GPU\", value = \"1\"",
        "\"VCPU\", value = \"1\"",
        "\"VCPU\", value = \"1\"",
        &format!("{c}.resourceRequirements[2].type"),
    );
    def_error(
        FFMPEG,
        "\"LEVEL\"",
        "\"AWS_BATCH_X\"",
        "AWS_BATCH_X",
        &format!("{c}.environment[1].name"),
    );
    def_error(
        FFMPEG,
        "\"Ref::nope\"",
        "\"\"",
        "\"\"]",
        &format!("{c}.command[6]"),
    );
    def_error(
        FFMPEG,
        "\"ffmpeg\"\n",
        "\"ffmpeg\"\ntype = \"batch\"\n",
        "\"batch\"",
        &format!("{p}.type"),
    );
    def_error(
        FFMPEG,
        "\"ffmpeg\"\n",
        "\"ffmpeg\"\nvcpus = 2\n",
        "vcpus = 2",
        &format!("{p}.vcpus"),
    );
    def_error(
        FFMPEG,
        "\"ffmpeg\"\n",
        "\"ffmpeg\"\ntype = \"multinode\"\n",
        "\"multinode\"",
        &format!("{p}.nodeProperties"),
    );
}

#[test]
fn invalid_node_ranges_are_rejected() {
    let p = "job_definitions[0].nodeProperties";
    let r = format!("{p}.nodeRangeProperties");
    def_error(
        MPI,
        "\"0:\"",
        "\"0:6\"",
        "\"0:6\"",
        &format!("{r}[0].targetNodes"),
    );
    def_error(
        MPI,
        "\"0:\"",
        "\"3:1\"",
        "\"3:1\"",
        &format!("{r}[0].targetNodes"),
    );
    def_error(
        MPI,
        "\"0:\"",
        "\"x\"",
        "\"x\"",
        &format!("{r}[0].targetNodes"),
    );
    def_error(MPI, "\"0:\"", "\"3:4\"", "nodeRangeProperties = [", &r);
    def_error(
        MPI,
        "mainNode = 1",
        "mainNode = 6",
        "mainNode = 6",
        &format!("{p}.mainNode"),
    );
    def_error(
        MPI,
        "numNodes = 6",
        "numNodes = 0",
        "numNodes = 0",
        &format!("{p}.numNodes"),
    );
    let five = "  { targetNodes = \"5\"";
    let extra = format!("  {{ targetNodes = \"1\" }},\n  {{ targetNodes = \"2\" }},\n  {{ targetNodes = \"3\" }},\n{five}");
    def_error(MPI, five, &extra, "nodeRangeProperties = [", &r);
    def_error(
        MPI,
        "type = \"multinode\"\n",
        "",
        "[job_definitions.nodeProperties]",
        p,
    );
    def_error(
        MPI,
        "type = \"multinode\"\n",
        "type = \"multinode\"\nvcpus = 1\n",
        "vcpus = 1",
        "job_definitions[0].vcpus",
    );
}
