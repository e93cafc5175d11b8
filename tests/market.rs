//! Spot markets: price histories (describe-spot-price-history JSON and text), bidPercentage
//! against them, availability zones as pools, synthetic prices.
//!
//! Facts used: c5.large has 2 vCPUs, costs 85,000 µ$/h On-Demand and 34,850 µ$/h on Spot in
//! the catalog; hosts boot in 60 s here and scale in after 300 s idle. 2023-04-22T10:00:00Z
//! is Unix 1,682,157,600,000 ms, the scenarios' `epoch_ms`.

use flotilla::engine::LaunchFailure;
use flotilla::model::{JobStatus, MicroUsd, SimTime};
use flotilla::record::SimRun;
use flotilla::scenario::Scenario;
use std::fs;
use std::path::{Path, PathBuf};

const EPOCH: u64 = 1_682_157_600_000;

/// A scenario in a temp dir: `spot` is the `[spot]` table's body (and what follows it),
/// `ce` extra lines of the Spot compute environment's computeResources, `jobs` trace rows
/// (`job_id,submit_time_s,run_time_s`), `files` other files to write next to it.
fn scenario(dir: &Path, ce: &str, spot: &str, jobs: &str, files: &[(&str, &str)]) -> PathBuf {
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
    let trace = format!("job_id,submit_time_s,queue,run_time_s,vcpus,memory_mib\n{jobs}");
    fs::write(dir.join("jobs.csv"), trace).unwrap();
    let toml = format!(
        r#"seed = 1
trace = "jobs.csv"
boot_delay_s = 60
epoch_ms = {EPOCH}
[[compute_environments]]
computeEnvironmentName = "spot"
[compute_environments.computeResources]
type = "SPOT"
maxvCpus = 64
instanceTypes = ["c5.large"]
{ce}
[[job_queues]]
jobQueueName = "q"
priority = 1
computeEnvironmentOrder = [{{ order = 1, computeEnvironment = "spot" }}]
[spot]
hazard_scale = 0
{spot}
"#
    );
    let p = dir.join("s.toml");
    fs::write(&p, toml).unwrap();
    p
}

fn load(p: &Path) -> Scenario {
    flotilla::input::load_scenario(p, None).expect("scenario loads")
}

fn run(p: &Path) -> SimRun {
    flotilla::record::simulate(load(p), "test", None).expect("run")
}

fn json_entry(zone: &str, ty: &str, product: &str, price: &str, ts: &str) -> String {
    format!(
        r#"    {{
      "AvailabilityZone": "{zone}",
      "InstanceType": "{ty}",
      "ProductDescription": "{product}",
      "SpotPrice": "{price}",
      "Timestamp": "{ts}"
    }}"#
    )
}

/// The same five entries as JSON and as `--output text` (with an AvailabilityZoneId column in
/// one line, a NextToken line, and one Windows entry that is filtered out).
fn history_pair() -> (String, String) {
    let rows = [
        (
            "us-east-1a",
            "c5.large",
            "Linux/UNIX",
            "0.036000",
            "2023-04-22T10:00:00+00:00",
        ),
        (
            "us-east-1a",
            "c5.large",
            "Linux/UNIX",
            "0.072000",
            "2023-04-22T10:03:20.000Z",
        ),
        (
            "us-east-1a",
            "c5.large",
            "Windows",
            "0.200000",
            "2023-04-22T10:01:00Z",
        ),
        (
            "us-east-1a",
            "c5.large",
            "Linux/UNIX",
            "0.018000",
            "2023-04-22T10:06:40Z",
        ),
        (
            "us-east-1b",
            "c5.large",
            "Linux/UNIX",
            "0.040000",
            "2023-04-22T09:00:00Z",
        ),
    ];
    let json = format!(
        "{{\n  \"SpotPriceHistory\": [\n{}\n  ],\n  \"NextToken\": \"\"\n}}\n",
        rows.iter()
            .map(|r| json_entry(r.0, r.1, r.2, r.3, r.4))
            .collect::<Vec<_>>()
            .join(",\n")
    );
    let mut tsv = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i == 1 {
            let line = format!(
                "SPOTPRICEHISTORY\t{}\tuse1-az1\t{}\t{}\t{}\t{}\n",
                r.0, r.1, r.2, r.3, r.4
            );
            tsv.push_str(&line);
        } else {
            let line = format!(
                "SPOTPRICEHISTORY\t{}\t{}\t{}\t{}\t{}\n",
                r.0, r.1, r.2, r.3, r.4
            );
            tsv.push_str(&line);
        }
    }
    tsv.push_str("eyJOZXh0VG9rZW4iOiBudWxsfQ==\n");
    (json, tsv)
}

#[test]
fn json_and_text_histories_give_the_same_step_functions() {
    let dir = tempfile::tempdir().unwrap();
    let (json, tsv) = history_pair();
    let files = [("h.json", json.as_str()), ("h.txt", tsv.as_str())];
    let a = load(&scenario(
        dir.path(),
        "",
        "price_history = \"h.json\"",
        "j,0,q,1,1,100\n",
        &files,
    ));
    let b = load(&scenario(
        dir.path(),
        "",
        "price_history = \"h.txt\"",
        "j,0,q,1,1,100\n",
        &files,
    ));
    let (ha, hb) = (
        a.spot.market.history.unwrap(),
        b.spot.market.history.unwrap(),
    );
    assert_eq!(ha, hb);
    assert_eq!(a.spot.market.zones, ["us-east-1a", "us-east-1b"]);
    let c5 = a.cluster.catalog.find("c5.large").unwrap();
    let steps = &ha.pools[&(c5, "us-east-1a".to_string())];
    assert_eq!(
        steps,
        &[
            (EPOCH, MicroUsd(36_000)),
            (EPOCH + 200_000, MicroUsd(72_000)),
            (EPOCH + 400_000, MicroUsd(18_000))
        ]
    );
    assert_eq!(ha.earliest_ms, EPOCH - 3_600_000);
}

#[test]
fn a_history_is_billed_second_by_second() {
    let dir = tempfile::tempdir().unwrap();
    let (json, _) = history_pair();
    let spot = "price_history = \"h.json\"\nzones = [\"us-east-1a\"]";
    let p = scenario(
        dir.path(),
        "",
        spot,
        "j,0,q,300,1,100\n",
        &[("h.json", &json)],
    );
    let r = run(&p);
    let inst = &r.engine.instances()[0];
    // Launched at 0, ready at 60, job 60-360, idle 300 s: terminated at 660.
    assert_eq!(
        (inst.launched_at, inst.terminated_at),
        (SimTime(0), Some(SimTime(660_000)))
    );
    // 200 s at 36,000 µ$/h + 200 s at 72,000 + 260 s at 18,000 = 2,000 + 4,000 + 1,300.
    assert_eq!(r.bills[0].cost, MicroUsd(7_300));
    assert_eq!(
        r.driver.instance_zones(),
        Some(vec!["us-east-1a".to_string()])
    );
}

/// c5.large in one zone; the price passes the 50% bid (42,500 µ$/h) from 200 s to 600 s.
fn bid_scenario(dir: &Path, interrupt: Option<bool>) -> PathBuf {
    let mut json = String::from("{\"SpotPriceHistory\": [\n");
    let steps = [
        ("0.030000", "10:00:00"),
        ("0.050000", "10:03:20"),
        ("0.030000", "10:10:00"),
    ];
    let entries: Vec<String> = steps
        .iter()
        .map(|(p, t)| {
            json_entry(
                "z1",
                "c5.large",
                "Linux/UNIX",
                p,
                &format!("2023-04-22T{t}Z"),
            )
        })
        .collect();
    json.push_str(&entries.join(",\n"));
    json.push_str("]}\n");
    let mut spot = String::from("price_history = \"h.json\"\n");
    if let Some(i) = interrupt {
        spot.push_str(&format!("interrupt_above_max_price = {i}\n"));
    }
    // `a` runs 1,000 s from 0; `b` (a whole instance) comes at 250 s, while the price is high.
    let jobs = "a,0,q,1000,2,100\nb,250,q,10,2,100\n";
    scenario(dir, "bidPercentage = 50", &spot, jobs, &[("h.json", &json)])
}

#[test]
fn a_price_above_the_bid_blocks_launches_and_interrupts_by_default() {
    let dir = tempfile::tempdir().unwrap();
    for (option, interrupted) in [(None, true), (Some(true), true), (Some(false), false)] {
        let r = run(&bid_scenario(dir.path(), option));
        let first = &r.engine.instances()[0];
        assert_eq!(first.interrupted, interrupted, "{option:?}");
        if interrupted {
            // Notice at 200 s, reclaimed at 320 s.
            assert_eq!(first.terminated_at, Some(SimTime(320_000)));
        }
        // Nothing is launched while the price is above the bid (200-600 s).
        for i in r.engine.instances() {
            let t = i.launched_at;
            assert!(
                !(SimTime(200_000)..SimTime(600_000)).contains(&t),
                "{option:?}: {t:?}"
            );
        }
        let b = r.engine.jobs().iter().find(|j| j.spec.name == "b").unwrap();
        assert_eq!(b.status, JobStatus::Succeeded);
        assert!(b.attempts[0].starting_at >= SimTime(660_000), "{option:?}");
    }
}

#[test]
fn a_price_above_the_bid_in_one_zone_sends_launches_to_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let json = format!(
        "{{\"SpotPriceHistory\": [{}, {}]}}",
        json_entry(
            "a",
            "c5.large",
            "Linux/UNIX",
            "0.050000",
            "2023-04-22T10:00:00Z"
        ),
        json_entry(
            "b",
            "c5.large",
            "Linux/UNIX",
            "0.060000",
            "2023-04-22T10:00:00Z"
        ),
    );
    let p = scenario(
        dir.path(),
        "bidPercentage = 60",
        "price_history = \"h.json\"",
        "j,0,q,10,1,100\n",
        &[("h.json", &json)],
    );
    // Both within 60% (51,000 µ$/h)? a yes, b no: the launch goes to a.
    let r = run(&p);
    assert_eq!(r.driver.instance_zones(), Some(vec!["a".to_string()]));
    assert_eq!(r.engine.instances().len(), 1);
}

/// Two zones; `a` deeper (10) and dearer (0.040), `b` shallower (6) and cheaper (0.030).
fn two_zones(dir: &Path, strategy: &str, jobs: &str, caps: (u32, u32)) -> PathBuf {
    let spot = format!(
        r#"zones = ["a", "b"]
[[spot.pools]]
instance_type = "c5.large"
zone = "a"
capacity = {}
spot_price_usd_per_hour = 0.040
[[spot.pools]]
instance_type = "c5.large"
zone = "b"
capacity = {}
spot_price_usd_per_hour = 0.030
"#,
        caps.0, caps.1
    );
    let ce = format!("allocationStrategy = \"{strategy}\"");
    scenario(dir, &ce, &spot, jobs, &[])
}

#[test]
fn strategies_pick_zones_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    for (strategy, zone) in [
        ("SPOT_CAPACITY_OPTIMIZED", "a"),
        ("SPOT_PRICE_CAPACITY_OPTIMIZED", "b"),
        ("BEST_FIT", "b"),
        ("BEST_FIT_PROGRESSIVE", "b"),
    ] {
        let r = run(&two_zones(
            dir.path(),
            strategy,
            "j,0,q,10,1,100\n",
            (10, 6),
        ));
        assert_eq!(
            r.driver.instance_zones(),
            Some(vec![zone.to_string()]),
            "{strategy}"
        );
        // Billed at its zone's price for 60 + 10 + 300 s: 370 × 40,000 / 3,600 = 4,111.1 or
        // 370 × 30,000 / 3,600 = 3,083.3 µ$.
        let cost = if zone == "a" { 4_111 } else { 3_083 };
        assert_eq!(r.bills[0].cost, MicroUsd(cost), "{strategy}");
    }
    // Price-capacity-optimized leaves a pool with less than half the deepest spare capacity.
    let r = run(&two_zones(
        dir.path(),
        "SPOT_PRICE_CAPACITY_OPTIMIZED",
        "j,0,q,10,1,100\n",
        (10, 4),
    ));
    assert_eq!(r.driver.instance_zones(), Some(vec!["a".to_string()]));
}

#[test]
fn zones_have_their_own_capacity() {
    let dir = tempfile::tempdir().unwrap();
    // Three jobs of a whole instance each; one instance fits in each zone.
    let jobs = "j1,0,q,100,2,100\nj2,0,q,100,2,100\nj3,0,q,100,2,100\n";
    let r = run(&two_zones(dir.path(), "BEST_FIT", jobs, (1, 1)));
    let zones = r.driver.instance_zones().unwrap();
    let recs = r.engine.instances();
    // The cheaper zone b first, then a; a third launch fails for capacity in both.
    assert_eq!(zones[..2], ["b".to_string(), "a".to_string()]);
    let failed: Vec<_> = recs.iter().filter_map(|i| i.launch_failure).collect();
    assert!(!failed.is_empty());
    assert!(failed
        .iter()
        .all(|f| *f == LaunchFailure::InsufficientInstanceCapacity));
    assert!(r
        .engine
        .jobs()
        .iter()
        .all(|j| j.status == JobStatus::Succeeded));
}

#[test]
fn bad_histories_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = json_entry(
        "a",
        "c5.large",
        "Linux/UNIX",
        "0.03",
        "2023-04-22T10:00:00Z",
    );
    let bad_price = json_entry(
        "a",
        "c5.large",
        "Linux/UNIX",
        "cheap",
        "2023-04-22T10:00:00Z",
    );
    let cases: Vec<(&str, String, Option<usize>, Option<&str>)> = vec![
        (
            "h.json",
            format!("{{\"SpotPriceHistory\": [\n{good},\n{bad_price}\n]}}"),
            Some(15),
            Some("SpotPriceHistory[1].SpotPrice"),
        ),
        (
            "h.json",
            "{\"SpotPriceHistory\": [{\"AvailabilityZone\": \"a\"}]}".into(),
            Some(1),
            Some("SpotPriceHistory[0].InstanceType"),
        ),
        (
            "h.json",
            "{\"SpotPriceHistory\": [1,".into(),
            Some(1),
            Some("SpotPriceHistory[0]"),
        ),
        (
            "h.json",
            "{\"Other\": []}".into(),
            None,
            Some("SpotPriceHistory"),
        ),
        (
            "h.txt",
            "SPOTPRICEHISTORY\ta\tc5.large\tLinux/UNIX\t0.03\t2023-04-22T10:00:00Z\n\
             SPOTPRICEHISTORY\ta\tc5.large\tLinux/UNIX\t0.03\tyesterday\n"
                .into(),
            Some(2),
            Some("Timestamp"),
        ),
        (
            "h.txt",
            "SPOTPRICEHISTORY\ta\tc5.large\n".into(),
            Some(1),
            None,
        ),
    ];
    for (name, text, line, field) in cases {
        let p = scenario(
            dir.path(),
            "",
            &format!("price_history = \"{name}\""),
            "j,0,q,1,1,100\n",
            &[(name, &text)],
        );
        let e = flotilla::input::load_scenario(&p, None).expect_err(&text);
        assert!(e.file.ends_with(name), "{e}");
        assert_eq!(e.line, line, "{e}");
        assert_eq!(e.field.as_deref(), field, "{e}");
    }
}

#[test]
fn bad_market_settings_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    for (spot, field) in [
        ("zones = [\"a\", \"a\"]", "spot.zones[1]"),
        (
            "zones = [\"a\"]\n[[spot.pools]]\ninstance_type = \"c5.large\"\nzone = \"b\"",
            "spot.pools[0].zone",
        ),
        (
            "[spot.synthetic_prices]\nvolatility = -1\nreversion_per_hour = 1",
            "spot.synthetic_prices.volatility",
        ),
    ] {
        let p = scenario(dir.path(), "", spot, "j,0,q,1,1,100\n", &[]);
        let e = flotilla::input::load_scenario(&p, None).expect_err(spot);
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
    }
}

#[test]
fn synthetic_prices_repeat_per_seed_and_stay_under_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let spot = "zones = [\"a\", \"b\"]\n[spot.synthetic_prices]\nvolatility = 0.5\nreversion_per_hour = 0.2\nstep_s = 60";
    let p = scenario(dir.path(), "", spot, "j,0,q,36000,1,100\n", &[]);
    let (r1, r2) = (run(&p), run(&p));
    let c5 = r1.engine.cluster().catalog.find("c5.large").unwrap();
    let market = r1.driver.market();
    let (pa, pb) = (market.pool(c5, "a").unwrap(), market.pool(c5, "b").unwrap());
    let tl =
        |r: &SimRun, p: flotilla::sim::pools::PoolId| r.driver.prices().spot[p.0 as usize].clone();
    assert_eq!(tl(&r1, pa), tl(&r2, pa));
    assert_ne!(tl(&r1, pa), tl(&r1, pb), "each pool has its own stream");
    let a = tl(&r1, pa);
    let mut changes = 0;
    for s in 0..36_000u64 {
        let p = a.at(SimTime(s * 1000));
        assert!(p.0 >= 1 && p <= MicroUsd(85_000));
        changes += usize::from(s > 0 && p != a.at(SimTime(s * 1000 - 1000)));
    }
    assert!(changes > 100, "{changes}");
    assert_eq!(r1.bills, r2.bills);
}

#[test]
fn the_shipped_zone_scenario_and_history_load_and_run() {
    let r = run(Path::new("scenarios/spot-zones.toml"));
    assert!(r.summary.jobs_succeeded > 0);
    let zones = r.driver.instance_zones().expect("zones");
    assert!(zones.iter().any(|z| !z.is_empty()));
    let d = flotilla::input::validate_file(Path::new("traces/spot/us-east-1-2023-04-22.json"));
    assert!(
        d.as_ref().is_ok_and(|d| d.contains("Spot price history")),
        "{d:?}"
    );
}

#[test]
fn skip_bad_lines_skips_a_bad_history_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "SPOTPRICEHISTORY\ta\tc5.large\tLinux/UNIX\t0.03\t2023-04-22T10:00:00Z\n\
                SPOTPRICEHISTORY\ta\tc5.large\tLinux/UNIX\tfree\t2023-04-22T10:05:00Z\n\
                SPOTPRICEHISTORY\ta\tc5.large\tLinux/UNIX\t0.04\t2023-04-22T10:10:00Z\n";
    let p = scenario(
        dir.path(),
        "",
        "price_history = \"h.tsv\"",
        "j,0,q,1,1,100\n",
        &[("h.tsv", text)],
    );
    assert!(flotilla::input::load_scenario(&p, None).is_err());
    let opts = flotilla::input::ReadOptions {
        skip_bad_lines: true,
    };
    let (s, _) = flotilla::input::load_scenario_with_options(&p, None, opts).expect("loads");
    assert_eq!(s.skipped_lines.count, 1);
    assert_eq!(s.skipped_lines.first[0].line, Some(2));
    let steps: Vec<_> = s.spot.market.history.unwrap().pools.into_values().collect();
    assert_eq!(
        steps,
        [vec![
            (EPOCH, MicroUsd(30_000)),
            (EPOCH + 600_000, MicroUsd(40_000))
        ]]
    );
}
