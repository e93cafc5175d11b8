//! The live-mode test harness itself, against a real (private) Docker daemon: the static
//! workload binary, a registry-free image, exit codes, logs, OOM kills, two daemons at once.
//!
//! Needs root and Debian's `docker.io`; skipped loudly otherwise (an error under `CI=true`).
#![cfg(feature = "live")]

#[path = "common/docker.rs"]
mod docker;

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, ContainerInspectResponse, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Instant;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What a finished container left: exit code (from `wait`), stdout, stderr, inspect record.
struct Finished {
    code: i64,
    stdout: String,
    stderr: String,
    inspect: ContainerInspectResponse,
}

/// Creates, starts and waits for a container of the workload image running `steps`, collects
/// its logs and inspect record, then removes it.
async fn run_workload(
    docker: &Docker,
    name: &str,
    steps: &[&str],
    env: &[&str],
    host_config: HostConfig,
    test: &str,
) -> Finished {
    let body = ContainerCreateBody {
        image: Some(docker::WORKLOAD_IMAGE.to_string()),
        cmd: Some(steps.iter().map(|s| s.to_string()).collect()),
        env: Some(env.iter().map(|s| s.to_string()).collect()),
        labels: Some(docker::test_labels(test)),
        tty: Some(false),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..host_config
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    let created = docker
        .create_container(Some(options), body)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    docker
        .start_container(&created.id, None)
        .await
        .unwrap_or_else(|e| panic!("start {name}: {e}"));

    // bollard turns a non-zero exit into Err(DockerContainerWaitError { code, .. }).
    let code = match docker.wait_container(&created.id, None).next().await {
        Some(Ok(response)) => response.status_code,
        Some(Err(DockerError::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => panic!("wait {name}: {e}"),
        None => panic!("wait {name}: the stream ended without a status"),
    };

    let logs_options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut logs = docker.logs(&created.id, Some(logs_options));
    let (mut stdout, mut stderr) = (String::new(), String::new());
    while let Some(item) = logs.next().await {
        match item.unwrap_or_else(|e| panic!("logs {name}: {e}")) {
            bollard::container::LogOutput::StdErr { message } => {
                stderr.push_str(&String::from_utf8_lossy(&message))
            }
            other => stdout.push_str(&other.to_string()),
        }
    }
    // Docker sets OOMKilled from containerd's OOM event, which can arrive after the exit on
    // a busy host (seen once in CI: exit 137, OOMKilled false). Look again a few times, as
    // the live driver does (`src/live/docker.rs`, `exit_state`).
    let mut inspect = docker
        .inspect_container(&created.id, None)
        .await
        .unwrap_or_else(|e| panic!("inspect {name}: {e}"));
    for _ in 0..8 {
        let state = inspect.state.as_ref();
        let killed = state.and_then(|s| s.exit_code) == Some(137);
        if !killed || state.and_then(|s| s.oom_killed) == Some(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        inspect = docker
            .inspect_container(&created.id, None)
            .await
            .unwrap_or_else(|e| panic!("inspect {name}: {e}"));
    }
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .unwrap_or_else(|e| panic!("remove {name}: {e}"));
    Finished {
        code,
        stdout,
        stderr,
        inspect,
    }
}

/// The workload binary is a static executable (no ELF interpreter) and runs its steps.
#[test]
fn workload_binary_is_static_and_runs_steps() {
    let binary = docker::workload_binary();
    let elf = std::fs::read(&binary).expect("read workload");
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    let interp = (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    });
    assert!(!interp, "{} needs a dynamic loader", binary.display());

    let out = std::process::Command::new(&binary)
        .args(["print", "hi", "eprint", "oops", "env", "FLT_X", "exit", "3"])
        .env("FLT_X", "42")
        .output()
        .expect("run workload");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\nFLT_X=42\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");

    let out = std::process::Command::new(&binary)
        .args(["print", "never", "no-such-step"])
        .output()
        .expect("run workload");
    assert_eq!(out.status.code(), Some(64), "unknown step is a usage error");
    assert!(out.stdout.is_empty(), "steps are checked before any runs");

    let out = std::process::Command::new(&binary)
        .args(["fail-before-attempt", "2", "print", "ran"])
        .env("AWS_BATCH_JOB_ATTEMPT", "1")
        .output()
        .expect("run workload");
    assert_eq!(out.status.code(), Some(1));
    let out = std::process::Command::new(&binary)
        .args(["fail-before-attempt", "2", "print", "ran"])
        .env("AWS_BATCH_JOB_ATTEMPT", "2")
        .output()
        .expect("run workload");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
}

/// Exit codes arrive (non-zero through bollard's error arm), logs keep stdout and stderr apart,
/// environment variables reach the job.
#[test]
fn container_exit_code_logs_and_env() {
    let Some(daemon) = docker::docker_or_skip("exit") else {
        return;
    };
    runtime().block_on(async {
        let started = Instant::now();
        let tag = docker::build_workload_image(&daemon.endpoint)
            .await
            .expect("build the workload image");
        eprintln!(
            "image {tag} built in {:.3}s",
            started.elapsed().as_secs_f64()
        );
        let docker = daemon.docker();

        let started = Instant::now();
        let failed = run_workload(
            &docker,
            "exit-3",
            &["print", "hi", "eprint", "oops", "exit", "3"],
            &[],
            HostConfig::default(),
            "exit",
        )
        .await;
        eprintln!(
            "create→start→wait→logs→inspect→remove in {:.3}s",
            started.elapsed().as_secs_f64()
        );
        assert_eq!(failed.code, 3);
        assert!(failed.stdout.contains("hi"), "stdout: {:?}", failed.stdout);
        assert!(
            !failed.stdout.contains("oops"),
            "stdout: {:?}",
            failed.stdout
        );
        assert!(
            failed.stderr.contains("oops"),
            "stderr: {:?}",
            failed.stderr
        );
        let state = failed.inspect.state.expect("state");
        assert_eq!(state.exit_code, Some(3));
        assert_eq!(state.oom_killed, Some(false));

        let ok = run_workload(
            &docker,
            "exit-0",
            &["env", "AWS_BATCH_JOB_ATTEMPT", "env", "FLT_UNSET"],
            &["AWS_BATCH_JOB_ATTEMPT=2"],
            HostConfig::default(),
            "exit",
        )
        .await;
        assert_eq!(ok.code, 0);
        assert_eq!(ok.stdout, "AWS_BATCH_JOB_ATTEMPT=2\nFLT_UNSET=<unset>\n");
    });
}

/// A job over its hard memory limit (no swap) is OOM-killed, and inspect says so.
#[test]
fn container_over_memory_limit_is_oom_killed() {
    let Some(daemon) = docker::docker_or_skip("oom") else {
        return;
    };
    runtime().block_on(async {
        docker::build_workload_image(&daemon.endpoint)
            .await
            .expect("build the workload image");
        let docker = daemon.docker();
        let limit = 16 * 1024 * 1024;
        let finished = run_workload(
            &docker,
            "oom",
            &["print", "allocating", "alloc", "64", "print", "survived"],
            &[],
            HostConfig {
                memory: Some(limit),
                memory_swap: Some(limit),
                ..Default::default()
            },
            "oom",
        )
        .await;
        let state = finished.inspect.state.expect("state");
        eprintln!(
            "OOM: wait code {}, state exit_code {:?}, oom_killed {:?}",
            finished.code, state.exit_code, state.oom_killed
        );
        assert_eq!(state.oom_killed, Some(true));
        // The workload is PID 1 here: SIGKILL gives 128 + 9.
        assert_eq!(finished.code, 137);
        assert!(finished.stdout.contains("allocating"));
        assert!(!finished.stdout.contains("survived"));

        // The same job under a limit it fits in completes.
        let fits = run_workload(
            &docker,
            "fits",
            &["alloc", "4", "print", "done"],
            &[],
            HostConfig {
                memory: Some(limit),
                memory_swap: Some(limit),
                ..Default::default()
            },
            "oom",
        )
        .await;
        assert_eq!(fits.code, 0, "stderr: {}", fits.stderr);
        assert_eq!(fits.inspect.state.expect("state").oom_killed, Some(false));
    });
}

/// Two private daemons run side by side, each sees only its own containers, and stopping one
/// (a host going away) leaves the other working.
#[test]
fn two_daemons_at_once() {
    let Some(mut first) = docker::docker_or_skip("two_a") else {
        return;
    };
    let Some(second) = docker::docker_or_skip("two_b") else {
        return;
    };
    assert_ne!(first.endpoint, second.endpoint);
    let rt = runtime();
    rt.block_on(async {
        let (a, b) = tokio::join!(
            docker::build_workload_image(&first.endpoint),
            docker::build_workload_image(&second.endpoint)
        );
        a.expect("image on the first daemon");
        b.expect("image on the second daemon");
        let (da, db) = (first.docker(), second.docker());
        let (ra, rb) = tokio::join!(
            run_workload(
                &da,
                "on-a",
                &["print", "a", "exit", "5"],
                &[],
                HostConfig::default(),
                "two"
            ),
            run_workload(
                &db,
                "on-b",
                &["print", "b", "exit", "6"],
                &[],
                HostConfig::default(),
                "two"
            ),
        );
        assert_eq!((ra.code, ra.stdout.as_str()), (5, "a\n"));
        assert_eq!((rb.code, rb.stdout.as_str()), (6, "b\n"));

        // A container left on each: each daemon lists only its own.
        for (docker, name) in [(&da, "left-a"), (&db, "left-b")] {
            let body = ContainerCreateBody {
                image: Some(docker::WORKLOAD_IMAGE.to_string()),
                labels: Some(docker::test_labels("two")),
                ..Default::default()
            };
            docker
                .create_container(
                    Some(CreateContainerOptionsBuilder::default().name(name).build()),
                    body,
                )
                .await
                .expect("create");
        }
        let filters = HashMap::from([("label", vec!["flotilla.test=two"])]);
        let list = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let names = |summaries: Vec<bollard::models::ContainerSummary>| -> Vec<String> {
            summaries
                .into_iter()
                .flat_map(|s| s.names.unwrap_or_default())
                .collect()
        };
        assert_eq!(
            names(da.list_containers(Some(list.clone())).await.unwrap()),
            ["/left-a"]
        );
        assert_eq!(
            names(db.list_containers(Some(list)).await.unwrap()),
            ["/left-b"]
        );
    });

    // The first host goes away mid-test; the second keeps answering.
    let started = Instant::now();
    first.stop();
    eprintln!("daemon stopped in {:.2}s", started.elapsed().as_secs_f64());
    assert!(!first.is_running());
    first.stop(); // idempotent (and Drop calls it once more)
    rt.block_on(async {
        assert!(
            docker::connect(&first.endpoint).is_err() || first.docker().ping().await.is_err(),
            "a stopped daemon must not answer"
        );
        assert_eq!(second.docker().ping().await.expect("second still up"), "OK");
    });
}

/// Stopping a daemon while a job runs (a host going away) ends the job's processes and leaves
/// no mount behind; the directory goes on drop.
#[test]
fn stopping_a_daemon_with_a_running_job_leaves_nothing() {
    let Some(mut daemon) = docker::docker_or_skip("busy") else {
        return;
    };
    let rt = runtime();
    let id = rt.block_on(async {
        docker::build_workload_image(&daemon.endpoint)
            .await
            .expect("build the workload image");
        let docker = daemon.docker();
        let body = ContainerCreateBody {
            image: Some(docker::WORKLOAD_IMAGE.to_string()),
            // PID 1 without a handler: SIGTERM does nothing, the daemon must kill it.
            cmd: Some(vec!["sleep".into(), "600000".into()]),
            labels: Some(docker::test_labels("busy")),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name("busy")
                        .build(),
                ),
                body,
            )
            .await
            .expect("create");
        docker
            .start_container(&created.id, None)
            .await
            .expect("start");
        let state = docker
            .inspect_container(&created.id, None)
            .await
            .expect("inspect")
            .state
            .expect("state");
        assert_eq!(state.running, Some(true));
        (created.id, state.pid.expect("pid") as u32)
    });
    let (id, job_pid) = id;
    assert!(std::path::Path::new(&format!("/proc/{job_pid}")).exists());

    let started = Instant::now();
    daemon.stop();
    eprintln!(
        "daemon with a running job stopped in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert!(!daemon.is_running());
    let gone = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
    };
    assert!(gone(job_pid), "job {id} (pid {job_pid}) survived the stop");
    let base = format!("{}/", daemon.dir.display());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&base),
        "mounts left under {base}:\n{mounts}"
    );
    let dir = daemon.dir.clone();
    drop(daemon);
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// With `--live-restore`, a running job survives a daemon restart and is found again.
#[test]
fn live_restore_keeps_a_running_job_across_a_daemon_restart() {
    let Some(mut daemon) = docker::docker_or_skip_with("restart", &["--live-restore"]) else {
        return;
    };
    let rt = runtime();
    let (id, pid) = rt.block_on(async {
        docker::build_workload_image(&daemon.endpoint)
            .await
            .expect("build the workload image");
        let docker = daemon.docker();
        let body = ContainerCreateBody {
            image: Some(docker::WORKLOAD_IMAGE.to_string()),
            cmd: Some(vec!["sleep".into(), "600000".into()]),
            labels: Some(docker::test_labels("restart")),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(
                    CreateContainerOptionsBuilder::default()
                        .name("kept")
                        .build(),
                ),
                body,
            )
            .await
            .expect("create");
        docker
            .start_container(&created.id, None)
            .await
            .expect("start");
        let state = docker
            .inspect_container(&created.id, None)
            .await
            .expect("inspect")
            .state
            .expect("state");
        (created.id, state.pid.expect("pid"))
    });
    let old_daemon_pid = daemon.pid();
    let started = Instant::now();
    daemon.restart().expect("restart");
    eprintln!(
        "daemon restarted in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    assert_ne!(daemon.pid(), old_daemon_pid);
    rt.block_on(async {
        let state = daemon
            .docker()
            .inspect_container(&id, None)
            .await
            .expect("inspect after restart")
            .state
            .expect("state");
        assert_eq!(state.running, Some(true), "job did not survive: {state:?}");
        assert_eq!(state.pid, Some(pid), "same process after the restart");
    });
}
