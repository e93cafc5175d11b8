//! The Docker executor: one attempt = one container, created, started, waited for, its logs
//! saved, then removed. Also connecting to hosts and reading their capacity.

use super::attempt::{AttemptSpec, Outcome};
use super::hosts::Endpoint;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, DeviceRequest, HostConfig, HostConfigLogConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// Seconds bollard waits for a response head (not for long streams such as `wait`).
const REQUEST_TIMEOUT_S: u64 = 30;

/// Memory kept back from each Docker host for the daemon and the system (the ECS agent
/// keeps 32 MiB by default, `ECS_RESERVED_MEMORY`).
pub const RESERVED_MEMORY_MIB: u64 = 32;

/// Each container's log is capped (json-file driver) so a chatty job cannot fill a disk.
pub const LOG_MAX_SIZE: &str = "10m";

/// Connects to a Docker endpoint and negotiates the API version.
pub async fn connect(endpoint: &Endpoint) -> Result<Docker, String> {
    let v = bollard::API_DEFAULT_VERSION;
    let t = REQUEST_TIMEOUT_S;
    let docker = match endpoint {
        Endpoint::Unix(p) => Docker::connect_with_unix(&p.to_string_lossy(), t, v),
        Endpoint::Tls {
            addr,
            ca,
            cert,
            key,
        } => Docker::connect_with_ssl(addr, key, cert, ca, t, v),
        Endpoint::Insecure(addr) => Docker::connect_with_http(addr, t, v),
        Endpoint::Process => return Err("not a Docker endpoint".into()),
    }
    .map_err(|e| format!("{endpoint}: {e}"))?;
    docker
        .negotiate_version()
        .await
        .map_err(|e| format!("{endpoint}: {e}"))
}

/// What a Docker host offers, from `docker info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerInventory {
    /// `NCPU`.
    pub vcpus: u32,
    /// `MemTotal` less [`RESERVED_MEMORY_MIB`].
    pub memory_mib: u64,
    /// GPU device ids from CDI `DiscoveredDevices` (`nvidia.com/gpu=…`).
    pub gpu_devices: Vec<String>,
    /// Whether the NVIDIA runtime is registered.
    pub nvidia_runtime: bool,
    /// `ServerVersion`.
    pub server_version: String,
}

/// Reads a host's capacity.
pub async fn inventory(docker: &Docker) -> Result<DockerInventory, String> {
    let info = docker.info().await.map_err(|e| e.to_string())?;
    let mem = info.mem_total.unwrap_or(0).max(0) as u64 >> 20;
    let ids: Vec<String> = info
        .discovered_devices
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| d.id)
        .collect();
    // `all` and duplicate namings are dropped there; a device known by index is asked for
    // by index.
    let gpu_devices = super::gpu::from_docker_devices(&ids)
        .into_iter()
        .map(|g| {
            if g.uuid.is_empty() {
                g.index.to_string()
            } else {
                g.uuid
            }
        })
        .collect();
    Ok(DockerInventory {
        vcpus: info.ncpu.unwrap_or(0).max(0) as u32,
        memory_mib: mem.saturating_sub(RESERVED_MEMORY_MIB),
        gpu_devices,
        nvidia_runtime: info.runtimes.is_some_and(|r| r.contains_key("nvidia")),
        server_version: info.server_version.unwrap_or_default(),
    })
}

/// The container body for an attempt: hard limits equal to the engine's reservation, no
/// privileges, every capability dropped but those asked for, no network unless asked for.
pub fn container_body(spec: &AttemptSpec) -> ContainerCreateBody {
    let memory = (spec.memory_mib as i64) << 20;
    let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut device_requests = None;
    if !spec.gpu_devices.is_empty() {
        // The container toolkit reads this; the device request is what isolates.
        env.push(format!(
            "NVIDIA_VISIBLE_DEVICES={}",
            spec.gpu_devices.join(",")
        ));
        device_requests = Some(vec![DeviceRequest {
            driver: Some("nvidia".into()),
            device_ids: Some(spec.gpu_devices.clone()),
            capabilities: Some(vec![vec!["gpu".into()]]),
            ..Default::default()
        }]);
    }
    let log_config = HostConfigLogConfig {
        typ: Some("json-file".into()),
        config: Some(HashMap::from([
            ("max-size".to_string(), LOG_MAX_SIZE.to_string()),
            ("max-file".to_string(), "1".to_string()),
        ])),
    };
    let host_config = HostConfig {
        nano_cpus: Some(spec.vcpus as i64 * 1_000_000_000),
        memory: Some(memory),
        memory_swap: Some(memory),
        init: Some(true),
        privileged: Some(false),
        cap_drop: Some(vec!["ALL".into()]),
        cap_add: (!spec.capabilities.is_empty()).then(|| spec.capabilities.clone()),
        security_opt: Some(vec!["no-new-privileges".into()]),
        readonly_rootfs: Some(spec.read_only_root),
        network_mode: Some(if spec.network { "bridge" } else { "none" }.into()),
        device_requests,
        log_config: Some(log_config),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!spec.command.is_empty()).then(|| spec.command.clone()),
        env: Some(env),
        labels: Some(spec.labels.iter().cloned().collect()),
        tty: Some(false),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// Runs an attempt from creation to exit and saves its logs; the caller removes the
/// container once the exit is journaled. `resume` is true when a restarted driver picks
/// up an attempt it may already have created: an existing container is then followed, not
/// created again.
pub async fn run_container(
    docker: Docker,
    spec: AttemptSpec,
    mut stop: watch::Receiver<Option<Duration>>,
    running: oneshot::Sender<()>,
    resume: bool,
) -> Outcome {
    let name = spec.name.clone();
    let existing = if resume {
        match docker.inspect_container(&name, None).await {
            Ok(c) => Some(c),
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Outcome::HostLost(e.to_string()),
        }
    } else {
        None
    };
    let started = existing
        .as_ref()
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.started_at.as_deref())
        .is_some_and(|t| !t.starts_with("0001-"));
    if existing.is_none() {
        let opts = CreateContainerOptionsBuilder::new().name(&name).build();
        if let Err(e) = docker
            .create_container(Some(opts), container_body(&spec))
            .await
        {
            return start_error(e);
        }
    }
    if !started {
        if let Err(e) = docker.start_container(&name, None).await {
            let out = start_error(e);
            save_logs(&docker, &spec).await;
            return out;
        }
    }
    let _ = running.send(());
    let outcome = wait(&docker, &name, &mut stop).await;
    if matches!(outcome, Outcome::HostLost(_)) {
        return outcome;
    }
    save_logs(&docker, &spec).await;
    outcome
}

/// Waits for the container to exit, stopping it (SIGTERM, SIGKILL after the grace) when
/// asked; then reads its exit code and OOM flag.
async fn wait(
    docker: &Docker,
    name: &str,
    stop: &mut watch::Receiver<Option<Duration>>,
) -> Outcome {
    let opts = WaitContainerOptionsBuilder::new()
        .condition("not-running")
        .build();
    let mut waiter = docker.wait_container(name, Some(opts));
    let mut stopping = false;
    loop {
        tokio::select! {
            r = waiter.next() => match r {
                // bollard reports a non-zero exit as an error carrying the code.
                Some(Ok(_)) | Some(Err(DockerError::DockerContainerWaitError { .. })) => break,
                Some(Err(e)) => return Outcome::HostLost(e.to_string()),
                None => break,
            },
            changed = stop.changed(), if !stopping => {
                if changed.is_err() { stopping = true; continue; }
                if let Some(grace) = *stop.borrow() {
                    stopping = true;
                    let d = docker.clone();
                    let n = name.to_string();
                    let t = grace.as_secs().max(1) as i32;
                    tokio::spawn(async move {
                        let o = StopContainerOptionsBuilder::new().t(t).build();
                        let _ = d.stop_container(&n, Some(o)).await;
                    });
                }
            }
        }
    }
    exit_state(docker, name).await
}

/// The exit code and OOM flag of an exited container. Docker sets `OOMKilled` from
/// containerd's OOM event, which can come after the exit on a busy host: a SIGKILL exit
/// (137) without the flag is looked at again a few times before it counts as a plain kill.
async fn exit_state(docker: &Docker, name: &str) -> Outcome {
    for retry in 0.. {
        let s = match docker.inspect_container(name, None).await {
            Ok(c) => c.state.unwrap_or_default(),
            Err(e) => return Outcome::HostLost(e.to_string()),
        };
        let exit_code = s.exit_code.unwrap_or(-1) as i32;
        let oom_killed = s.oom_killed.unwrap_or(false);
        if oom_killed || exit_code != 137 || retry == 4 {
            return Outcome::Exited {
                exit_code,
                oom_killed,
            };
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    unreachable!("the loop returns by its fifth look")
}

/// Writes the container's stdout and stderr into the attempt's log folder.
async fn save_logs(docker: &Docker, spec: &AttemptSpec) {
    if std::fs::create_dir_all(&spec.log_dir).is_err() {
        return;
    }
    let opts = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
    let mut logs = docker.logs(&spec.name, Some(opts));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while let Some(Ok(chunk)) = logs.next().await {
        match chunk {
            bollard::container::LogOutput::StdErr { message } => err.extend_from_slice(&message),
            other => out.extend_from_slice(&other.into_bytes()),
        }
    }
    for (file, bytes) in [("stdout.log", out), ("stderr.log", err)] {
        if let Ok(mut f) = std::fs::File::create(spec.log_dir.join(file)) {
            let _ = f.write_all(&bytes);
        }
    }
}

/// Removes a container and its anonymous volumes (errors ignored: it may be gone).
pub async fn remove(docker: &Docker, name: &str) {
    let o = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(name, Some(o)).await;
}

/// A failed create or start: a dead daemon is a lost host, anything else a start failure
/// with Docker's own message.
fn start_error(e: DockerError) -> Outcome {
    match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => Outcome::StartFailed(format!("{status_code}: {message}")),
        // A slow daemon is not a lost host: the health check decides that.
        DockerError::RequestTimeoutError => Outcome::StartFailed("Docker request timed out".into()),
        other => Outcome::HostLost(other.to_string()),
    }
}

fn is_not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Names of the containers on a host that carry `label=value` (all states).
pub async fn containers_labelled(
    docker: &Docker,
    label: &str,
    value: &str,
) -> Result<Vec<String>, String> {
    let filters = HashMap::from([("label", vec![format!("{label}={value}")])]);
    let opts = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let list = docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| e.to_string())?;
    Ok(list
        .into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .map(|n| n.trim_start_matches('/').to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AttemptSpec {
        AttemptSpec {
            name: "flotilla-r-1-1".into(),
            image: "img".into(),
            command: vec!["print".into(), "x".into()],
            env: vec![("A".into(), "1".into())],
            vcpus: 2,
            memory_mib: 100,
            gpu_devices: Vec::new(),
            labels: vec![("flotilla.run".into(), "r".into())],
            network: false,
            capabilities: Vec::new(),
            read_only_root: false,
            log_dir: "/tmp/x".into(),
        }
    }

    #[test]
    fn limits_and_security_follow_the_reservation() {
        let b = container_body(&spec());
        let h = b.host_config.unwrap();
        assert_eq!(h.nano_cpus, Some(2_000_000_000));
        assert_eq!(
            (h.memory, h.memory_swap),
            (Some(100 << 20), Some(100 << 20))
        );
        assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(h.cap_add, None);
        assert_eq!(h.network_mode.as_deref(), Some("none"));
        assert_eq!(h.device_requests, None);
        assert_eq!(b.env, Some(vec!["A=1".to_string()]));
    }

    #[test]
    fn gpus_become_a_device_request_with_explicit_ids() {
        let mut s = spec();
        s.gpu_devices = vec!["GPU-aaa".into(), "GPU-bbb".into()];
        s.capabilities = vec!["SYS_PTRACE".into()];
        s.network = true;
        s.read_only_root = true;
        let b = container_body(&s);
        let h = b.host_config.unwrap();
        let d = &h.device_requests.unwrap()[0];
        assert_eq!(d.driver.as_deref(), Some("nvidia"));
        assert_eq!(d.device_ids, Some(s.gpu_devices.clone()));
        assert_eq!(d.count, None, "explicit ids, never a count");
        assert_eq!(d.capabilities, Some(vec![vec!["gpu".to_string()]]));
        assert!(b
            .env
            .unwrap()
            .contains(&"NVIDIA_VISIBLE_DEVICES=GPU-aaa,GPU-bbb".to_string()));
        assert_eq!(h.cap_add, Some(vec!["SYS_PTRACE".to_string()]));
        assert_eq!(h.network_mode.as_deref(), Some("bridge"));
        assert_eq!(h.readonly_rootfs, Some(true));
        assert_eq!(h.privileged, Some(false));
    }
}
