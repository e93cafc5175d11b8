//! `[catalog_filter]` and the catalog's `architecture` column: the shipped catalog filtered
//! (expected types computed here from the CSV text), a generated 2,000-type catalog, errors.

use flotilla::input::{load_scenario, InputError};
use flotilla::scenario::Scenario;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn catalog_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogs/ec2-us-east-1.csv")
}

/// A catalog row: (name, family, vcpus, gpu_model).
type Row = (String, String, u32, String);

/// The shipped catalog's rows.
fn shipped_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(catalog_path()).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0].into(), c[1].into(), c[2].parse().unwrap(), c[5].into())
        })
        .collect()
}

const TRACE: &str = "job_id,submit_time_s,queue,run_time_s,vcpus,memory_mib,gpus\n\
                     a,0,q,60,2,1024,0\nb,5,q,60,4,2048,0\n";

/// A scenario in a temporary directory with `trace.csv` = [`TRACE`]; `cat` is the catalog
/// line (or empty for the built-in one), `types` the CE's instanceTypes.
fn scenario(dir: &Path, cat: &str, filter: &str, types: &str) -> Result<Scenario, InputError> {
    std::fs::write(dir.join("trace.csv"), TRACE).unwrap();
    let body = format!(
        "trace = \"trace.csv\"\n{cat}\n[catalog_filter]\n{filter}\n\
         [[compute_environments]]\ncomputeEnvironmentName = \"ce\"\n\
         [compute_environments.computeResources]\ntype = \"EC2\"\nmaxvCpus = 256\n\
         instanceTypes = {types}\n\
         [[job_queues]]\njobQueueName = \"q\"\npriority = 1\n\
         computeEnvironmentOrder = [{{ order = 1, computeEnvironment = \"ce\" }}]\n"
    );
    let p = dir.join("s.toml");
    std::fs::write(&p, body).unwrap();
    load_scenario(&p, None)
}

fn kept(s: &Scenario) -> Vec<String> {
    s.cluster
        .catalog
        .types()
        .iter()
        .map(|t| t.name.clone())
        .collect()
}

#[test]
fn filters_keep_exactly_the_matching_types_of_the_shipped_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let rows = shipped_rows();
    let cat = format!("catalog = {:?}", catalog_path());
    let expect = |f: &dyn Fn(&Row) -> bool| -> Vec<String> {
        rows.iter().filter(|r| f(r)).map(|r| r.0.clone()).collect()
    };
    let s = scenario(
        dir.path(),
        &cat,
        "families = [\"g4dn\", \"m5\"]\nsizes = [\"xlarge\", \"2xlarge\"]",
        "[\"m5\"]",
    )
    .unwrap();
    let want = expect(&|r| {
        (r.1 == "g4dn" || r.1 == "m5") && (r.0.ends_with(".xlarge") || r.0.ends_with(".2xlarge"))
    });
    assert_eq!(kept(&s), want);
    assert_eq!(want.len(), 4);

    let s = scenario(dir.path(), "", "gpu_models = [\"V100\"]", "[\"p3\"]").unwrap();
    assert_eq!(kept(&s), expect(&|r| r.3.ends_with(" V100")));

    let s = scenario(
        dir.path(),
        "",
        "gpu_models = [\"none\"]\nmin_vcpus = 4\nmax_vcpus = 8",
        "[\"c5\"]",
    )
    .unwrap();
    assert_eq!(
        kept(&s),
        expect(&|r| r.3.is_empty() && (4..=8).contains(&r.2))
    );
    let ce = &s.cluster.compute_environments[0];
    for &t in &ce.instance_types {
        assert_eq!(s.cluster.catalog.get(t).family, "c5");
    }

    let s = scenario(dir.path(), "", "architectures = [\"x86_64\"]", "[\"c5\"]").unwrap();
    assert_eq!(
        kept(&s).len(),
        rows.len(),
        "the built-in catalog is all x86_64"
    );
}

#[test]
fn filter_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "families = [\"m5\"]",
            "[\"c5\"]",
            "compute_environments[0].computeResources.instanceTypes[0]",
        ),
        (
            "families = [\"zz9\"]",
            "[\"c5\"]",
            "catalog_filter.families[0]",
        ),
        (
            "architectures = [\"arm64\"]",
            "[\"c5\"]",
            "catalog_filter.architectures[0]",
        ),
        (
            "architectures = [\"sparc\"]",
            "[\"c5\"]",
            "catalog_filter.architectures[0]",
        ),
        ("min_vcpus = 500", "[\"c5\"]", "catalog_filter"),
        ("max_vcpus = -1", "[\"c5\"]", "catalog_filter.max_vcpus"),
        ("flavours = [\"x\"]", "[\"c5\"]", "catalog_filter.flavours"),
    ];
    for (filter, types, field) in cases {
        let e = scenario(dir.path(), "", filter, types).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(field), "{filter}: {e}");
        assert!(e.line.is_some(), "{e}");
    }
    let e = scenario(dir.path(), "", "families = [\"m5\"]", "[\"c5\"]").unwrap_err();
    assert!(e.message.contains("catalog_filter"), "{e}");
}

/// A catalog of `n` types over x86 and Graviton families; every 7th row states its
/// architecture, the others leave it to the family name.
fn big_catalog(n: usize) -> (String, usize) {
    let families = ["m6i", "c6i", "r6i", "m6g", "c7gn", "r6gd", "m5", "c7g"];
    let mut s = String::from(
        "instance_type,family,vcpus,memory_mib,on_demand_usd_per_hour,spot_savings_pct,\
         interruption_bucket,architecture\n",
    );
    let mut arm = 0;
    for i in 0..n {
        let f = families[i % families.len()];
        let size = i / families.len() + 1;
        let vcpus = 2 * size;
        let is_arm = f.contains('g');
        arm += usize::from(is_arm);
        let arch = match (i % 7 == 0, is_arm) {
            (false, _) => "",
            (true, true) => "arm64",
            (true, false) => "x86_64",
        };
        let price = 0.01 * vcpus as f64 * if is_arm { 0.8 } else { 1.0 };
        writeln!(
            s,
            "{f}.s{size},{f},{vcpus},{},{price:.4},60,<5%,{arch}",
            vcpus * 4096
        )
        .unwrap();
    }
    (s, arm)
}

#[test]
fn a_generated_2000_type_catalog_loads_filters_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (text, arm) = big_catalog(2_000);
    std::fs::write(dir.path().join("big.csv"), &text).unwrap();
    let cat = "catalog = \"big.csv\"";
    let s = scenario(dir.path(), cat, "architectures = [\"arm64\"]", "[\"c7g\"]").unwrap();
    assert_eq!(s.cluster.catalog.len(), arm);
    let s = scenario(
        dir.path(),
        cat,
        "architectures = [\"arm64\"]\nmax_vcpus = 64",
        "[\"c7g\", \"m6g\"]",
    )
    .unwrap();
    let want = text
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1).unwrap().contains('g'))
        .filter(|l| l.split(',').nth(2).unwrap().parse::<u32>().unwrap() <= 64)
        .count();
    assert_eq!(s.cluster.catalog.len(), want);
    assert!(want > 0 && want < arm, "{want} {arm}");
    let ids = s.cluster.compute_environments[0].instance_types.clone();
    assert!(!ids.is_empty());
    let run = flotilla::record::simulate(s.clone(), "test", None).unwrap();
    assert_eq!(run.summary.jobs_succeeded, 2);
    for i in run.engine.instances() {
        let t = s.cluster.catalog.get(i.instance_type);
        assert!(t.family == "c7g" || t.family == "m6g", "{}", t.name);
        assert!(t.vcpus <= 64);
    }
    // The full catalog loads too.
    let s = scenario(dir.path(), cat, "", "[\"m6i\"]").unwrap();
    assert_eq!(s.cluster.catalog.len(), 2_000);
}

#[test]
fn a_bad_architecture_cell_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (mut text, _) = big_catalog(10);
    text.push_str("zz.large,zz,2,4096,0.1,60,<5%,riscv\n");
    std::fs::write(dir.path().join("big.csv"), &text).unwrap();
    let e = scenario(dir.path(), "catalog = \"big.csv\"", "", "[\"m6i\"]").unwrap_err();
    assert_eq!(e.file, dir.path().join("big.csv"));
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(12), Some("architecture")),
        "{e}"
    );
}
