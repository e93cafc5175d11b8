//! `jobs.csv` and `instances.csv`.

use super::metrics::{job_cost_share, Bill};
use crate::engine::Engine;
use crate::model::{MicroUsd, SimTime};
use crate::sim::Prices;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Appends `t` in seconds with milliseconds (nothing for `None`).
fn secs(out: &mut String, t: Option<SimTime>) {
    if let Some(t) = t {
        let _ = write!(out, "{}.{:03}", t.0 / 1000, t.0 % 1000);
    }
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
    // One buffer per column, reused row after row: a million-job table costs no
    // allocation per field.
    let mut row: [String; 20] = std::array::from_fn(|_| String::new());
    for (i, j) in engine.jobs().iter().enumerate() {
        let share = job_cost_share(engine, prices, i, end);
        total += share;
        let last = j.last_attempt();
        let inst = last.map(|a| (a.instance, &engine.instances()[a.instance.0 as usize]));
        let wait = j
            .first_running_at()
            .map(|r| SimTime(r.saturating_since(j.submitted_at).0));
        row.iter_mut().for_each(String::clear);
        let [id, name, queue, vcpus, mem, gpus, status, reason, sub, runnable, starting, running, stopped, wait_s, attempts, instance, ty, market, gpu_ids, cost] =
            &mut row;
        let _ = write!(id, "{i}");
        name.push_str(&j.spec.name);
        queue.push_str(&cluster.queue(j.spec.queue).name);
        let _ = write!(vcpus, "{}", j.spec.vcpus);
        let _ = write!(mem, "{}", j.spec.memory_mib);
        let _ = write!(gpus, "{}", j.spec.gpus);
        let _ = write!(status, "{}", j.status);
        if let Some(r) = j.status_reason {
            let _ = write!(reason, "{r}");
        }
        secs(sub, Some(j.submitted_at));
        secs(runnable, j.runnable_at);
        secs(starting, last.map(|a| a.starting_at));
        secs(running, last.and_then(|a| a.running_at));
        secs(stopped, j.stopped_at);
        secs(wait_s, wait);
        let _ = write!(attempts, "{}", j.attempts.len());
        if let Some((iid, r)) = inst {
            let _ = write!(instance, "{iid}");
            ty.push_str(&cluster.catalog.get(r.instance_type).name);
            let _ = write!(market, "{}", r.market);
        }
        if let Some(a) = last {
            gpu_list(gpu_ids, &a.gpu_ids);
        }
        let _ = write!(cost, "{:.6}", share.as_usd());
        w.write_record(&row).map_err(io_err)?;
    }
    w.flush()?;
    Ok(total)
}

/// `t` in seconds with milliseconds, as a new string.
fn secs_text(t: Option<SimTime>) -> String {
    let mut s = String::new();
    secs(&mut s, t);
    s
}

/// Appends GPU ids separated by `;`.
fn gpu_list(out: &mut String, ids: &[u32]) {
    for (k, g) in ids.iter().enumerate() {
        let sep = if k == 0 { "" } else { ";" };
        let _ = write!(out, "{sep}{g}");
    }
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
            secs_text(Some(r.launched_at)),
            secs_text(r.ready_at),
            secs_text(r.terminated_at),
            secs_text(Some(SimTime(b.billed.0))),
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
