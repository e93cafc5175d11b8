//! The trace's job columns: `depends_on`, `array_size`, `cancel_at_s`, `terminate_at_s`,
//! `share_identifier`, `scheduling_priority`, `parameters`, and the checks against the
//! queue (GPUs, multi-node jobs on Spot, fair share).

use super::{assert_at, csv, load, BASE};
use flotilla::input::validate_file;
use flotilla::model::{ArrayProperties, DependencyType, JobDependency, JobId, SimTime};

const H: &str = "job_id,submit_time_s,queue,run_time_s,array_size,depends_on";

fn dep(job: u32, kind: DependencyType) -> JobDependency {
    JobDependency {
        job: JobId(job),
        kind,
    }
}

#[test]
fn depends_on_holds_trace_indices_after_the_sort() {
    // File order a, b, c, d, e; submit order b(5), a(10), c(20), d(20), e(30).
    let t = csv(
        H,
        &[
            "a,10,q,1,,",
            "b,5,q,1,,",
            "c,20,q,1,,a; b",
            "d,20,q,1,,c",
            "e,30,q,1,,d;b;a",
        ],
    );
    let s = load(BASE, &t).ok();
    let names: Vec<&str> = s.trace.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names, ["b", "a", "c", "d", "e"]);
    use DependencyType::Standard;
    assert_eq!(s.trace[0].spec.depends_on, []);
    assert_eq!(
        s.trace[2].spec.depends_on,
        [dep(1, Standard), dep(0, Standard)],
        "c depends on a (now index 1) and b (index 0), in the order written"
    );
    assert_eq!(
        s.trace[3].spec.depends_on,
        [dep(2, Standard)],
        "an equal submit time further up the file counts as earlier"
    );
    assert_eq!(
        s.trace[4].spec.depends_on,
        [dep(3, Standard), dep(0, Standard), dep(1, Standard)]
    );
}

#[test]
fn n_to_n_and_sequential_are_parsed() {
    let t = csv(
        H,
        &[
            "a,0,q,1,3,",
            "b,1,q,1,3,a:N_TO_N;SEQUENTIAL",
            "c,2,q,1,,b",
            "d,3,q,1,10000,SEQUENTIAL",
        ],
    );
    let s = load(BASE, &t).ok();
    assert_eq!(
        s.trace[0].spec.array,
        Some(ArrayProperties {
            size: 3,
            sequential: false
        })
    );
    let b = &s.trace[1].spec;
    assert_eq!(
        b.array,
        Some(ArrayProperties {
            size: 3,
            sequential: true
        })
    );
    assert_eq!(b.depends_on, [dep(0, DependencyType::NToN)]);
    assert_eq!(
        s.trace[2].spec.depends_on,
        [dep(1, DependencyType::Standard)]
    );
    assert_eq!(s.trace[2].spec.array, None);
    assert_eq!(
        s.trace[3].spec.array.map(|a| (a.size, a.sequential)),
        Some((10000, true))
    );
}

/// Loads `rows` (under `H`) against `BASE` and checks the error is on `line`, field `field`,
/// with `needle` in the message.
fn row_error(header: &str, rows: &[&str], line: usize, field: &str, needle: &str) {
    let l = load(BASE, &csv(header, rows));
    assert_at(l.err(), &l.csv(), line, field);
    assert!(l.err().message.contains(needle), "{}", l.err());
}

#[test]
fn bad_dependencies_name_line_field_and_job() {
    let f = "depends_on";
    row_error(
        H,
        &["a,0,q,1,,b", "b,1,q,1,,"],
        2,
        f,
        "`b` is submitted after",
    );
    row_error(
        H,
        &["b,1,q,1,,", "a,1,q,1,,c", "c,1,q,1,,"],
        3,
        f,
        "`c` is submitted after",
    );
    row_error(H, &["a,0,q,1,,a"], 2, f, "`a` cannot depend on itself");
    row_error(H, &["a,0,q,1,,", "b,1,q,1,,zz"], 3, f, "`zz`");
    row_error(
        H,
        &["a,0,q,1,,", "a,1,q,1,,", "b,2,q,1,,a"],
        4,
        f,
        "`a` is on more than one row",
    );
    row_error(
        H,
        &["a,0,q,1,3,", "b,1,q,1,4,a:N_TO_N"],
        3,
        f,
        "an array of 4",
    );
    row_error(
        H,
        &["a,0,q,1,,", "b,1,q,1,4,a:N_TO_N"],
        3,
        f,
        "not an array job",
    );
    row_error(H, &["a,0,q,1,,", "b,1,q,1,,SEQUENTIAL"], 3, f, "array jobs");
    row_error(
        H,
        &["a,0,q,1,,", "b,1,q,1,,a;a"],
        3,
        f,
        "`a` is listed twice",
    );
    let many: Vec<String> = (0..21).map(|i| format!("j{i}")).collect();
    let mut rows: Vec<String> = (0..21).map(|i| format!("j{i},0,q,1,,")).collect();
    rows.push(format!("x,1,q,1,,{}", many.join(";")));
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    row_error(H, &refs, 23, f, "at most 20");
    rows.pop();
    rows.push(format!("x,1,q,1,,{}", many[..20].join(";")));
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let s = load(BASE, &csv(H, &refs)).ok();
    assert_eq!(s.trace[21].spec.depends_on.len(), 20, "20 is allowed");
}

#[test]
fn array_size_must_be_2_to_10000() {
    for bad in ["1", "10001", "0", "x", "-3"] {
        let row = format!("a,0,q,1,{bad},");
        row_error(H, &[&row], 2, "array_size", "2 to 10000");
    }
    let s = load(BASE, &csv(H, &["a,0,q,1,2,", "b,0,q,1,,"])).ok();
    assert_eq!(s.trace[0].spec.array.map(|a| a.size), Some(2));
    assert_eq!(s.trace[1].spec.array, None);
}

const HT: &str =
    "job_id,submit_time_s,queue,run_time_s,cancel_at_s,terminate_at_s,scheduling_priority";

#[test]
fn cancel_and_terminate_times_and_priority() {
    let s = load(BASE, &csv(HT, &["a,10,q,1,10,12.5,9999", "b,0,q,1,,,"])).ok();
    let a = &s.trace[1];
    assert_eq!(a.spec.name, "a");
    assert_eq!(a.cancel_at, Some(SimTime(10_000)));
    assert_eq!(a.terminate_at, Some(SimTime(12_500)));
    assert_eq!(a.spec.scheduling_priority, 9999);
    let b = &s.trace[0];
    assert_eq!(
        (b.cancel_at, b.terminate_at, b.spec.scheduling_priority),
        (None, None, 0)
    );
    row_error(
        HT,
        &["a,10,q,1,9.999,,"],
        2,
        "cancel_at_s",
        "at or after submit_time_s",
    );
    row_error(
        HT,
        &["a,10,q,1,,5,"],
        2,
        "terminate_at_s",
        "at or after submit_time_s",
    );
    row_error(HT, &["a,10,q,1,,-1,"], 2, "terminate_at_s", "-1");
    row_error(
        HT,
        &["a,10,q,1,,,10000"],
        2,
        "scheduling_priority",
        "0 to 9999",
    );
}

#[test]
fn row_priority_overrides_the_definition() {
    let defs = "\n[[job_definitions]]\njobDefinitionName = \"p\"\nschedulingPriority = 5\n";
    let h = "job_id,submit_time_s,queue,run_time_s,job_definition,scheduling_priority";
    let s = load(
        &format!("{BASE}{defs}"),
        &csv(h, &["a,0,q,1,p,", "b,0,q,1,p,0"]),
    )
    .ok();
    let got: Vec<u32> = s.trace.iter().map(|j| j.spec.scheduling_priority).collect();
    assert_eq!(got, [5, 0]);
}

#[test]
fn gpus_no_instance_type_of_the_queue_holds_are_rejected() {
    let h = "job_id,submit_time_s,queue,run_time_s,gpus,job_definition";
    let s = load(BASE, &csv(h, &["a,0,q,1,4,"])).ok();
    assert_eq!(s.trace[0].spec.gpus, 4, "g4dn.12xlarge has 4");
    row_error(
        h,
        &["a,0,q,1,4,", "big,0,q,1,5,"],
        3,
        "gpus",
        "job `big` asks for 5 GPUs",
    );
    row_error(h, &["c,0,spotq,1,1,"], 2, "gpus", "job `c` asks for 1 GPU,");
    let defs = "\n[[job_definitions]]\njobDefinitionName = \"g\"\ngpus = 8\n";
    let l = load(&format!("{BASE}{defs}"), &csv(h, &["d,0,q,1,,g"]));
    assert_at(l.err(), &l.csv(), 2, "job_definition");
    assert!(
        l.err().message.contains("job `d` asks for 8 GPUs"),
        "{}",
        l.err()
    );
}

#[test]
fn multinode_jobs_are_rejected_on_spot_queues_and_as_arrays() {
    let defs = "\n[[job_definitions]]\njobDefinitionName = \"m\"\ntype = \"multinode\"\n\
                nodeProperties = { numNodes = 2, mainNode = 0, nodeRangeProperties = [{ targetNodes = \"0:1\" }] }\n";
    let h = "job_id,submit_time_s,queue,run_time_s,job_definition,array_size";
    let text = format!("{BASE}{defs}");
    let s = load(&text, &csv(h, &["a,0,q,1,m,"])).ok();
    assert_eq!(
        s.trace[0]
            .spec
            .node_properties
            .as_ref()
            .map(|n| n.num_nodes),
        Some(2)
    );
    let l = load(&text, &csv(h, &["a,0,q,1,m,", "b,0,spotq,1,m,"]));
    assert_at(l.err(), &l.csv(), 3, "job_definition");
    assert!(
        l.err().message.contains("SPOT compute environment `spot`"),
        "{}",
        l.err()
    );
    let l = load(&text, &csv(h, &["a,0,q,1,m,4"]));
    assert_at(l.err(), &l.csv(), 2, "array_size");
}

#[test]
fn parameters_and_share_identifier_syntax() {
    let h = "job_id,submit_time_s,queue,run_time_s,parameters,share_identifier";
    row_error(h, &["a,0,q,1,novalue,"], 2, "parameters", "name=value");
    row_error(
        h,
        &["a,0,q,1,k=1;k=2,"],
        2,
        "parameters",
        "`k` is given twice",
    );
    row_error(
        h,
        &["a,0,q,1,,team-a"],
        2,
        "share_identifier",
        "letters and digits",
    );
    row_error(
        h,
        &["a,0,q,1,,teamA"],
        2,
        "share_identifier",
        "no fair-share",
    );
}

#[test]
fn bare_trace_validation_counts_arrays_and_dependencies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join("t.csv");
    std::fs::write(&p, csv(H, &["a,0,q,1,3,", "b,1,q,1,5,a", "c,2,q,1,,a;b"])).expect("write");
    let line = validate_file(&p).expect("valid");
    assert!(
        line.contains("2 array jobs with 8 children; 2 with dependencies"),
        "{line}"
    );
    std::fs::write(&p, csv(H, &["a,0,q,1,1,"])).expect("write");
    let err = validate_file(&p).expect_err("array size 1");
    assert_eq!(
        (err.line, err.field.as_deref()),
        (Some(2), Some("array_size"))
    );
}
