//! Runs attempts on a host's executor (a Docker engine or local processes) and reports what
//! happened to the driver as messages.

use super::attempt::{AttemptSpec, Outcome};
use crate::model::JobId;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How a host runs its attempts.
#[derive(Clone)]
pub enum Executor {
    /// Containers on a Docker engine.
    Docker(bollard::Docker),
    /// Processes of this machine (no isolation).
    Process,
    /// A host that could not be reached when the run resumed: every attempt on it is lost.
    Unreachable,
}

/// What executors, health checks and signal handlers tell the driver.
pub enum Msg {
    /// An attempt's container (or process) started.
    Running {
        /// The job.
        job: JobId,
        /// Its attempt.
        attempt: u32,
    },
    /// An attempt ended; its container is removed once the driver answers on `ack`
    /// (after journaling the exit), so a crash in between cannot lose the result.
    Ended {
        /// The job.
        job: JobId,
        /// Its attempt.
        attempt: u32,
        /// Host index.
        host: usize,
        /// How it ended.
        outcome: Outcome,
        /// Answered once the exit is on disk.
        ack: oneshot::Sender<()>,
    },
    /// A host stopped answering.
    HostLost {
        /// Host index.
        host: usize,
        /// What failed.
        why: String,
    },
    /// Ctrl-C.
    Interrupt,
}

/// Runs one attempt to its end and reports it.
#[allow(clippy::too_many_arguments)]
pub async fn run_attempt(
    exec: Executor,
    spec: AttemptSpec,
    job: JobId,
    attempt: u32,
    host: usize,
    stop: watch::Receiver<Option<Duration>>,
    tx: Sender<Msg>,
    resume: bool,
) {
    let (run_tx, mut run_rx) = oneshot::channel();
    let (exec2, spec2) = (exec.clone(), spec.clone());
    let work = async move {
        let spec = spec2;
        match exec2 {
            Executor::Docker(d) => {
                super::docker::run_container(d, spec, stop, run_tx, resume).await
            }
            Executor::Process if resume => super::process::abandon(&spec).await,
            Executor::Process => super::process::run_process(&spec, stop, run_tx).await,
            Executor::Unreachable => Outcome::HostLost("unreachable since the resume".into()),
        }
    };
    tokio::pin!(work);
    // Running and Ended go out from this one task, in that order.
    let mut forwarded = false;
    let outcome = loop {
        tokio::select! {
            o = &mut work => break o,
            r = &mut run_rx, if !forwarded => {
                forwarded = true;
                if r.is_ok() {
                    let _ = tx.send(Msg::Running { job, attempt });
                }
            }
        }
    };
    if !forwarded && run_rx.try_recv().is_ok() {
        let _ = tx.send(Msg::Running { job, attempt });
    }
    let lost = matches!(outcome, Outcome::HostLost(_));
    let (ack, acked) = oneshot::channel();
    let ended = Msg::Ended {
        job,
        attempt,
        host,
        outcome,
        ack,
    };
    if tx.send(ended).is_err() || acked.await.is_err() || lost {
        return;
    }
    if let Executor::Docker(d) = exec {
        super::docker::remove(&d, &spec.name).await;
    }
}

/// Pings a Docker host every `every`; two failures in a row report it lost (once).
pub async fn health_check(docker: bollard::Docker, host: usize, every: Duration, tx: Sender<Msg>) {
    let mut failures = 0;
    loop {
        tokio::time::sleep(every).await;
        // A busy daemon answers slowly; only a failed or very late ping counts.
        let limit = (every * 2).max(Duration::from_secs(5));
        let ping = tokio::time::timeout(limit, docker.ping()).await;
        match ping {
            Ok(Ok(_)) => failures = 0,
            Ok(Err(e)) => failures += 1 + report_if(failures, host, &e.to_string(), &tx),
            Err(_) => failures += 1 + report_if(failures, host, "ping timed out", &tx),
        }
        if failures > 1 {
            return;
        }
    }
}

fn report_if(failures: u32, host: usize, why: &str, tx: &Sender<Msg>) -> u32 {
    if failures >= 1 {
        let _ = tx.send(Msg::HostLost {
            host,
            why: why.to_string(),
        });
    }
    0
}
