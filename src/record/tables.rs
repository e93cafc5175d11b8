//! `jobs.csv` and `instances.csv`.

use super::metrics::{job_cost_share, Bill};
use crate::engine::Engine;
use crate::model::{MicroUsd, SimTime};
use crate::sim::Prices;
use std::io::{self, Write};

fn secs(t: Option<SimTime>) -> String {
    t.map_or_else(String::new, |t| format!("{}.{:03}", t.0 / 1000, t.0 % 1000))
}

fn io_err(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// Writes one row per job; returns the sum of the jobs' cost shares.
///
/// Columns: `job_id, job_name, job_queue, vcpus, memory_mib, gpus, status, status_reason,
/// submitted_s, runnable_s, starting_s, running_s, stopped_s, wait_s, attempts,
/// instance_id, instance_type, market, gpu_ids, cost_share_usd`. State times are those of the
/// last attempt; `wait_s` is submission to first RUNNING.
pub fn write_jobs<W: Write>(
    out: W,
    engine: &Engine,
    prices: &Prices,
    end: SimTime,
) -> io::Result<MicroUsd> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "job_id",
        "job_name",
        "job_queue",
        "vcpus",
        "memory_mib",
        "gpus",
        "status",
        "status_reason",
        "submitted_s",
        "runnable_s",
        "starting_s",
        "running_s",
        "stopped_s",
        "wait_s",
        "attempts",
        "instance_id",
        "instance_type",
        "market",
        "gpu_ids",
        "cost_share_usd",
    ])
    .map_err(io_err)?;
    let cluster = engine.cluster();
    let mut total = MicroUsd::ZERO;
    for (i, j) in engine.jobs().iter().enumerate() {
        let share = job_cost_share(engine, prices, i, end);
        total += share;
        let last = j.last_attempt();
        let inst = last.map(|a| (a.instance, &engine.instances()[a.instance.0 as usize]));
        let wait = j
            .first_running_at()
            .map(|r| SimTime(r.saturating_since(j.submitted_at).0));
        let gpus = last.map(|a| gpu_list(&a.gpu_ids)).unwrap_or_default();
        w.write_record([
            i.to_string(),
            j.spec.name.clone(),
            cluster.queue(j.spec.queue).name.clone(),
            j.spec.vcpus.to_string(),
            j.spec.memory_mib.to_string(),
            j.spec.gpus.to_string(),
            j.status.to_string(),
            j.status_reason.map(|r| r.to_string()).unwrap_or_default(),
            secs(Some(j.submitted_at)),
            secs(j.runnable_at),
            secs(last.map(|a| a.starting_at)),
            secs(last.and_then(|a| a.running_at)),
            secs(j.stopped_at),
            secs(wait),
            j.attempts.len().to_string(),
            inst.map(|(id, _)| id.to_string()).unwrap_or_default(),
            inst.map(|(_, r)| cluster.catalog.get(r.instance_type).name.clone())
                .unwrap_or_default(),
            inst.map(|(_, r)| r.market.to_string()).unwrap_or_default(),
            gpus,
            format!("{:.6}", share.as_usd()),
        ])
        .map_err(io_err)?;
    }
    w.flush()?;
    Ok(total)
}

fn gpu_list(ids: &[u32]) -> String {
    ids.iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

/// Writes one row per instance the engine asked for.
///
/// Columns: `instance_id, compute_environment, instance_type, market, launched_s, ready_s,
/// terminated_s, billed_s, cost_usd, jobs_hosted, interrupted, launch_failure, vcpus`, and
/// `availability_zone` when `zones` is given (runs with Spot zones; empty for On-Demand).
pub fn write_instances<W: Write>(
    out: W,
    engine: &Engine,
    bills: &[Bill],
    zones: Option<&[String]>,
) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "instance_id",
        "compute_environment",
        "instance_type",
        "market",
        "launched_s",
        "ready_s",
        "terminated_s",
        "billed_s",
        "cost_usd",
        "jobs_hosted",
        "interrupted",
        "launch_failure",
        // After the original twelve columns (readers find columns by name); reports chart
        // paid vCPUs from it without the catalog. `availability_zone` follows when present.
        "vcpus",
    ];
    if zones.is_some() {
        header.push("availability_zone");
    }
    w.write_record(&header).map_err(io_err)?;
    let cluster = engine.cluster();
    for (i, (r, b)) in engine.instances().iter().zip(bills).enumerate() {
        let mut row = vec![
            crate::engine::InstanceId(i as u32).to_string(),
            cluster.ce(r.compute_environment).name.clone(),
            cluster.catalog.get(r.instance_type).name.clone(),
            r.market.to_string(),
            secs(Some(r.launched_at)),
            secs(r.ready_at),
            secs(r.terminated_at),
            secs(Some(SimTime(b.billed.0))),
            format!("{:.6}", b.cost.as_usd()),
            r.jobs_hosted.to_string(),
            r.interrupted.to_string(),
            r.launch_failure
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
            cluster.catalog.get(r.instance_type).vcpus.to_string(),
        ];
        if let Some(z) = zones {
            row.push(z.get(i).cloned().unwrap_or_default());
        }
        w.write_record(&row).map_err(io_err)?;
    }
    w.flush()
}
