//! Reading each host's capacity at the start of a run, and turning the hosts into the
//! UNMANAGED compute environments the engine schedules on.

use super::executor::Executor;
use super::hosts::{Caps, Endpoint, HostConfig, HostsFile};
use super::journal::ProbedHost;
use crate::model::{Cluster, UnmanagedHost};
use std::time::Duration;

/// How long a host may take to answer at the start before it is left out.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes every host of the file; unreachable ones are reported on stderr and left out.
pub async fn probe_all(file: &HostsFile) -> Vec<(ProbedHost, Executor)> {
    let mut out = Vec::new();
    for g in &file.compute_environments {
        for h in &g.hosts {
            match tokio::time::timeout(PROBE_TIMEOUT, probe(&g.name, h)).await {
                Ok(Ok(p)) => out.push(p),
                Ok(Err(e)) => eprintln!("flotilla live: host {} left out: {e}", h.name),
                Err(_) => eprintln!(
                    "flotilla live: host {} left out: no answer within {} s",
                    h.name,
                    PROBE_TIMEOUT.as_secs()
                ),
            }
        }
    }
    out
}

/// Connects to a host already probed in an earlier part of the run (`--resume`).
pub async fn reconnect(file: &HostsFile, p: &ProbedHost) -> Result<Executor, String> {
    let h = file
        .compute_environments
        .iter()
        .filter(|g| g.name == p.compute_environment)
        .flat_map(|g| &g.hosts)
        .find(|h| h.name == p.name)
        .ok_or_else(|| format!("host {} is no longer in the hosts file", p.name))?;
    match &h.endpoint {
        Endpoint::Process => Ok(Executor::Process),
        ep => {
            let d = super::docker::connect(ep).await?;
            d.ping().await.map_err(|e| format!("{ep}: {e}"))?;
            Ok(Executor::Docker(d))
        }
    }
}

async fn probe(ce: &str, h: &HostConfig) -> Result<(ProbedHost, Executor), String> {
    let (vcpus, memory_mib, gpus, exec) = match &h.endpoint {
        Endpoint::Process => {
            let gpus = super::gpu::discover_local_gpus()?;
            let ids = gpus.into_iter().map(|g| g.uuid).collect();
            (local_vcpus(), local_memory_mib()?, ids, Executor::Process)
        }
        ep => {
            let d = super::docker::connect(ep).await?;
            let inv = super::docker::inventory(&d).await?;
            let mut gpus = inv.gpu_devices.clone();
            // A local engine with the NVIDIA runtime but no CDI list: ask the driver here.
            if gpus.is_empty() && inv.nvidia_runtime && matches!(ep, Endpoint::Unix(_)) {
                gpus = super::gpu::discover_local_gpus()?
                    .into_iter()
                    .map(|g| g.uuid)
                    .collect();
            }
            eprintln!(
                "flotilla live: host {}: Docker {}",
                h.name, inv.server_version
            );
            (inv.vcpus, inv.memory_mib, gpus, Executor::Docker(d))
        }
    };
    let p = capped(ce, &h.name, vcpus, memory_mib, gpus, h.cap);
    eprintln!(
        "flotilla live: host {} ({}): {} vCPUs, {} MiB, {} GPUs",
        h.name,
        h.endpoint,
        p.vcpus,
        p.memory_mib,
        p.gpu_devices.len()
    );
    Ok((p, exec))
}

/// A host's capacity after the file's caps (never above what it reported).
fn capped(
    ce: &str,
    name: &str,
    vcpus: u32,
    mem: u64,
    mut gpus: Vec<String>,
    cap: Caps,
) -> ProbedHost {
    if let Some(g) = cap.gpus {
        gpus.truncate(g as usize);
    }
    ProbedHost {
        compute_environment: ce.to_string(),
        name: name.to_string(),
        vcpus: cap.vcpus.map_or(vcpus, |c| c.min(vcpus)),
        memory_mib: cap
            .memory_mib
            .map_or(mem, |c| (c as u64).min(mem))
            .min(u32::MAX as u64) as u32,
        gpu_devices: gpus,
    }
}

fn local_vcpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

fn local_memory_mib() -> Result<u64, String> {
    let text =
        std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("/proc/meminfo: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .ok_or_else(|| "/proc/meminfo: no MemTotal line".to_string())
}

/// Makes every compute environment named in the hosts file UNMANAGED with the probed
/// hosts; the others keep no hosts (live mode cannot launch EC2 instances), so jobs only
/// they could run fail as unplaceable. Errors if the file names a compute environment the
/// scenario lacks.
pub fn live_cluster(
    cluster: &mut Cluster,
    file: &HostsFile,
    probed: &[ProbedHost],
) -> anyhow::Result<()> {
    for g in &file.compute_environments {
        if !cluster
            .compute_environments
            .iter()
            .any(|c| c.name == g.name)
        {
            let known: Vec<&str> = cluster
                .compute_environments
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            anyhow::bail!(
                "hosts file: compute environment `{}` is not in the scenario (it has: {})",
                g.name,
                known.join(", ")
            );
        }
    }
    for ce in &mut cluster.compute_environments {
        let hosts: Vec<UnmanagedHost> = probed
            .iter()
            .filter(|p| p.compute_environment == ce.name)
            .map(|p| UnmanagedHost {
                name: p.name.clone(),
                vcpus: p.vcpus,
                memory_mib: p.memory_mib,
                gpus: p.gpu_devices.len() as u32,
            })
            .collect();
        if hosts.is_empty() {
            eprintln!(
                "flotilla live: compute environment {} has no reachable host",
                ce.name
            );
        }
        // maxvCpus means nothing for fixed hosts; let it be what the hosts hold.
        ce.max_vcpus = hosts.iter().map(|h| h.vcpus).sum::<u32>().max(1);
        ce.min_vcpus = 0;
        ce.desired_vcpus = 0;
        ce.instance_types.clear();
        ce.unmanaged_hosts = hosts;
    }
    cluster.add_unmanaged_host_types();
    Ok(())
}
