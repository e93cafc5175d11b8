//! `flotilla simulate`: one run, one report.

use super::SimulateArgs;
use crate::record::{self, Summary};
use anyhow::Context;
use std::process::ExitCode;
use std::time::Instant;

pub(super) fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let (mut scenario, mut label) = super::prepare_swf(
        &a.scenario,
        a.trace.as_deref(),
        a.strategy.as_deref(),
        a.seed,
        crate::input::ReadOptions {
            skip_bad_lines: a.skip_bad_lines,
        },
        a.cluster_from_header,
    )?;
    if let Some(p) = &a.policy {
        let l = super::apply_policy(&mut scenario, p)?;
        label = if label == "scenario" {
            l
        } else {
            format!("{label}-{l}")
        };
    }
    if a.keep_cpu_jobs_off_gpu_instances {
        scenario.cluster.options.keep_cpu_jobs_off_gpu_instances = true;
        label.push_str("-cpu-off-gpu");
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| record::default_dir(&scenario.name, &label, scenario.seed));
    let started = Instant::now();
    let epoch_ms = scenario.epoch_ms;
    let last_submit_s = scenario.trace.last().map_or(0, |j| j.submit.0 / 1000);
    let bar = super::sweep::time_progress(last_submit_s, a.quiet);
    let mut tick = |now: crate::model::SimTime| bar.set_position((now.0 / 1000).min(last_submit_s));
    let mut run = record::simulate_to_dir_with_progress(scenario, &label, &dir, Some(&mut tick))
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    bar.finish_and_clear();
    run.summary.wall_seconds = started.elapsed().as_secs_f64();
    record::write_summary(&dir, &run.summary)?;
    if a.aws_json {
        record::aws_json::write_aws_json(&dir, &run.engine, epoch_ms)?;
    }
    if !a.no_report {
        crate::report::write_run_report(&dir)
            .with_context(|| format!("writing the charts and index.html in {}", dir.display()))?;
    }
    warn_unplaceable(&run.summary);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&run.summary)?);
    } else {
        print_human(&run.summary, &dir);
    }
    Ok(ExitCode::SUCCESS)
}

/// Tells stderr about jobs that could never be placed.
pub(super) fn warn_unplaceable(s: &Summary) {
    if s.jobs_unplaceable > 0 {
        eprintln!(
            "warning: {} job(s) can never be placed by their queue's compute environments \
             (failed with MISCONFIGURATION:*), e.g. {}",
            s.jobs_unplaceable,
            s.unplaceable_jobs.join(", ")
        );
    }
    if s.jobs_unfinished > 0 {
        eprintln!(
            "warning: {} job(s) were still waiting when the run reached its horizon",
            s.jobs_unfinished
        );
    }
}

fn print_human(s: &Summary, dir: &std::path::Path) {
    println!(
        "flotilla simulate {} (strategy {}, seed {})",
        s.scenario, s.strategy, s.seed
    );
    println!(
        "  jobs        {} total: {} succeeded, {} failed ({} unplaceable)",
        s.jobs_total, s.jobs_succeeded, s.jobs_failed, s.jobs_unplaceable
    );
    println!(
        "  cost        ${:.2} total: ${:.2} On-Demand, ${:.2} Spot (${:.2} idle)",
        s.total_cost_usd, s.on_demand_cost_usd, s.spot_cost_usd, s.idle_cost_usd
    );
    println!(
        "  queue wait  mean {:.1} s, p50 {:.1} s, p95 {:.1} s, p99 {:.1} s",
        s.wait_mean_s, s.wait_p50_s, s.wait_p95_s, s.wait_p99_s
    );
    println!(
        "  makespan    {:.0} s; vCPU utilization {:.1}%",
        s.makespan_s,
        s.vcpu_utilization * 100.0
    );
    println!(
        "  instances   {} launched (peak {} at once), {} launch failures, {} Spot interruptions",
        s.instances_launched, s.instances_peak, s.launch_failures, s.spot_interruptions
    );
    println!(
        "  events      {} in {:.2} s wall ({:.0} events/s)",
        s.events_processed,
        s.wall_seconds,
        s.events_processed as f64 / s.wall_seconds.max(1e-9)
    );
    println!("  report      {}", dir.display());
}
