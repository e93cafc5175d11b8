//! Test support for the live-mode integration tests: a private Docker daemon per test, the
//! static `workload` job binary (tools/workload) and a registry-free image holding it.
//!
//! Self-contained (no dependency on `tests/common/mod.rs`); include it with
//! `#[path = "common/docker.rs"] mod docker;` from a test file gated on `feature = "live"`.
//!
//! * [`workload_binary`] builds `tools/workload` statically (once per process) and returns the
//!   executable's path.
//! * [`Daemon::start`] starts a private `dockerd` (own data-root, exec-root, socket, containerd;
//!   no bridge, no iptables) under `/tmp/flt-<name>-<pid>-<n>/` and waits until it answers a
//!   ping. Dropping the [`Daemon`] stops it and removes everything it left.
//! * [`docker_or_skip`] is what a test calls: a daemon, or `None` with a loud message when this
//!   machine cannot run one (no `dockerd`, not root) — except under `CI=true`, where it panics.
//! * [`build_workload_image`] builds [`WORKLOAD_IMAGE`] (`FROM scratch` + the binary) on a
//!   daemon through bollard, from an in-memory tar: no registry involved.
//!
//! A test process killed before its `Daemon`s were dropped leaves daemons behind; the next
//! [`Daemon::start`] on the machine finds their directories (the owning test process is gone)
//! and tears them down.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

/// Tag of the image [`build_workload_image`] builds.
pub const WORKLOAD_IMAGE: &str = "flotilla/workload:test";
/// Path of the workload binary inside [`WORKLOAD_IMAGE`] (also its entrypoint).
pub const WORKLOAD_IN_IMAGE: &str = "/workload";
/// How long [`Daemon::start`] waits for the socket to answer a ping.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stop waits after SIGTERM before it sends SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Prefix of every daemon directory (under /tmp: unix socket paths must stay < 108 bytes).
const DIR_PREFIX: &str = "flt-";

// ---------------------------------------------------------------------------------------------
// The workload binary
// ---------------------------------------------------------------------------------------------

/// Rust target triple the workload is built for (`-C target-feature=+crt-static` needs an
/// explicit `--target` so that RUSTFLAGS do not reach build scripts and proc-macros).
pub fn workload_target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// Builds `tools/workload` as a static executable (once per process; cargo's own lock on
/// `target/workload` keeps concurrent builds from several test binaries safe) and returns its
/// path: `target/workload/<triple>/release/workload`. Panics with cargo's output when the
/// build fails.
pub fn workload_binary() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BUILT.get_or_init(build_workload_binary) {
        Ok(path) => path.clone(),
        Err(e) => panic!("building the workload binary failed: {e}"),
    }
}

fn build_workload_binary() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = root.join("tools/workload/Cargo.toml");
    let target_dir = root.join("target/workload");
    let target = workload_target();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--offline",
            "--manifest-path",
        ])
        .arg(&manifest)
        .args(["--target", &target, "--target-dir"])
        .arg(&target_dir)
        // Flags of the outer build (or of whoever runs the tests) must not leak in, and the
        // static flag must win over any encoded form.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cargo:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{cargo:?} build --manifest-path {} exited with {}:\n{}{}",
            manifest.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let binary = target_dir.join(&target).join("release/workload");
    if !binary.is_file() {
        return Err(format!(
            "cargo succeeded but {} is missing",
            binary.display()
        ));
    }
    eprintln!(
        "workload binary ready in {:.2}s: {}",
        started.elapsed().as_secs_f64(),
        binary.display()
    );
    Ok(binary)
}

// ---------------------------------------------------------------------------------------------
// A private dockerd
// ---------------------------------------------------------------------------------------------

/// A private Docker daemon run by this test process. Dropping it stops the daemon, kills what
/// it left running, unmounts what it left mounted and removes its directory.
pub struct Daemon {
    /// `unix:///tmp/flt-<name>-<pid>-<n>/docker.sock`: give it to bollard or `docker -H`.
    pub endpoint: String,
    /// The socket path (the endpoint without `unix://`).
    pub socket: PathBuf,
    /// The daemon's directory: `d/` data-root, `x/` exec-root, `docker.pid`, `dockerd.log`.
    pub dir: PathBuf,
    /// Extra `dockerd` flags given to [`Daemon::start_with`] (kept for [`Daemon::restart`]).
    extra_args: Vec<String>,
    /// A containerd namespace of its own: harmless with the containerd dockerd spawns for
    /// itself (the normal case), and keeps daemons apart should they ever share a system
    /// containerd (dockerd 20.10 uses /run/containerd/containerd.sock when that exists).
    namespace: String,
    child: Option<Child>,
}

impl Daemon {
    /// Starts a private `dockerd` named `name` (used in the directory name; keep it short) and
    /// waits up to [`START_TIMEOUT`] until its socket answers a ping.
    ///
    /// Errors (as text) when `dockerd` is not on PATH, when not running as root, or when the
    /// daemon does not come up (the message then ends with the tail of its log).
    pub fn start(name: &str) -> Result<Daemon, String> {
        Daemon::start_with(name, &[])
    }

    /// [`Daemon::start`] with extra `dockerd` flags, e.g. `["--live-restore"]` or
    /// `["--storage-driver=vfs"]`. The storage driver can also be forced for every daemon with
    /// the environment variable `FLOTILLA_DOCKER_STORAGE_DRIVER`.
    pub fn start_with(name: &str, extra_args: &[&str]) -> Result<Daemon, String> {
        if !is_root() {
            return Err("not running as root (a private dockerd needs root)".into());
        }
        if which("dockerd").is_none() {
            return Err("`dockerd` is not on PATH (Debian: apt-get install docker.io)".into());
        }
        reap_stale_daemons();

        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let mut short: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(20)
            .collect();
        if short.is_empty() {
            short.push('d');
        }
        let dir = PathBuf::from(format!(
            "/tmp/{DIR_PREFIX}{short}-{}-{seq}",
            std::process::id()
        ));
        if dir.exists() {
            // Left by an earlier process with the same pid: ours now.
            teardown_leftovers(&dir);
            let _ = fs::remove_dir_all(&dir);
        }
        fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let socket = dir.join("docker.sock");
        let mut extra: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        if let Ok(driver) = std::env::var("FLOTILLA_DOCKER_STORAGE_DRIVER") {
            if !driver.is_empty() && !extra.iter().any(|a| a.starts_with("--storage-driver")) {
                extra.push(format!("--storage-driver={driver}"));
            }
        }
        let mut daemon = Daemon {
            endpoint: format!("unix://{}", socket.display()),
            socket,
            dir,
            extra_args: extra,
            namespace: format!("flt{}x{seq}", std::process::id()),
            child: None,
        };
        // On error `daemon` is dropped here, which cleans up.
        daemon.spawn_and_wait()?;
        Ok(daemon)
    }

    /// A bollard client for this daemon.
    pub fn docker(&self) -> Docker {
        connect(&self.endpoint).expect("connect to the private daemon")
    }

    /// The dockerd process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the dockerd process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last `lines` lines of `dockerd.log` (dockerd's and its containerd's output).
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.dir.join("dockerd.log"), lines)
    }

    /// Stops the daemon as a host that goes away: SIGKILL to the processes of its running
    /// containers (a graceful dockerd shutdown would give each container its 10 s stop
    /// timeout), SIGTERM to dockerd and SIGKILL after [`STOP_TIMEOUT`], then SIGKILL to anything
    /// it left running (containerd, shims) and unmount everything under its directory. The
    /// directory (data-root, log) stays until drop. Idempotent; [`Drop`] calls it too.
    pub fn stop(&mut self) {
        if self.child.is_some() {
            kill_and_wait(container_pids(&self.dir));
            // Let the daemon see the exits and retire the containers' shims while containerd
            // is still up: a shim killed later leaves its socket in /run/containerd/s.
            let tag = format!("{}/", self.dir.display());
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline
                && all_pids().into_iter().any(|pid| {
                    fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.starts_with("containerd-shim"))
                        && alive(pid)
                        && cmdline(pid).contains(&tag)
                })
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.stop_dockerd();
        teardown_leftovers(&self.dir);
    }

    /// Stops dockerd only (SIGTERM, SIGKILL after [`STOP_TIMEOUT`]) and starts it again on
    /// the same data-root and socket, like a daemon restart on a host. With `--live-restore`
    /// among the extra flags, running containers survive it.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop_dockerd();
        self.spawn_and_wait()
    }

    fn stop_dockerd(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!(
                    "dockerd {} ignored SIGTERM for {:?}: SIGKILL",
                    child.id(),
                    STOP_TIMEOUT
                );
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let dockerd = which("dockerd").ok_or("`dockerd` is not on PATH")?;
        let _ = fs::remove_file(&self.socket);
        let log_path = self.dir.join("dockerd.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let d = self.dir.display();
        let mut cmd = Command::new(&dockerd);
        cmd.arg(format!("--data-root={d}/d"))
            .arg(format!("--exec-root={d}/x"))
            .arg(format!("--pidfile={d}/docker.pid"))
            .arg(format!("--host={}", self.endpoint))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                "--userland-proxy=false",
                // Running containers get this long for SIGTERM when the daemon stops.
                "--shutdown-timeout=3",
            ])
            .arg(format!("--containerd-namespace={}", self.namespace))
            .arg(format!(
                "--containerd-plugins-namespace={}p",
                self.namespace
            ))
            .args(&self.extra_args)
            // dockerd finds containerd, runc and docker-init on PATH.
            .env("PATH", daemon_path())
            .env_remove("DOCKER_HOST")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", dockerd.display()))?;
        self.child = Some(child);

        let started = Instant::now();
        let endpoint = self.endpoint.clone();
        let socket = self.socket.clone();
        let child = self.child.as_mut().expect("just spawned");
        let ready: Result<(), String> = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| format!("tokio runtime: {e}"))?;
                    let mut last_error = String::from("socket not created yet");
                    loop {
                        if let Ok(Some(status)) = child.try_wait() {
                            return Err(format!("dockerd exited during start-up with {status}"));
                        }
                        if started.elapsed() > START_TIMEOUT {
                            return Err(format!(
                                "dockerd did not answer a ping within {START_TIMEOUT:?} \
                                 (last: {last_error})"
                            ));
                        }
                        if socket.exists() {
                            let ping = rt.block_on(async {
                                let docker = connect(&endpoint)?;
                                match tokio::time::timeout(Duration::from_secs(2), docker.ping())
                                    .await
                                {
                                    Ok(Ok(answer)) => Ok(answer),
                                    Ok(Err(e)) => Err(e.to_string()),
                                    Err(_) => Err("ping timed out".to_string()),
                                }
                            });
                            match ping {
                                Ok(answer) if answer.trim() == "OK" => return Ok(()),
                                Ok(answer) => last_error = format!("ping answered {answer:?}"),
                                Err(e) => last_error = e,
                            }
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
                .join()
                .unwrap_or_else(|_| Err("readiness thread panicked".into()))
        });
        match ready {
            Ok(()) => {
                eprintln!(
                    "dockerd {} ready in {:.2}s at {}",
                    self.pid().unwrap_or(0),
                    started.elapsed().as_secs_f64(),
                    self.endpoint
                );
                Ok(())
            }
            Err(e) => {
                let tail = self.log_tail(30);
                self.stop();
                Err(format!("{e}; dockerd.log ends:\n{tail}"))
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} (test failed), last lines:\n{}\n---",
                self.dir.join("dockerd.log").display(),
                self.log_tail(40)
            );
        }
        self.stop();
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// A private daemon for a live test, or `None` (after a loud message on stderr) when this
/// machine cannot run one. Under `CI=true` live tests must run: it panics with the reason.
pub fn docker_or_skip(name: &str) -> Option<Daemon> {
    docker_or_skip_with(name, &[])
}

/// [`docker_or_skip`] with extra `dockerd` flags (see [`Daemon::start_with`]).
pub fn docker_or_skip_with(name: &str, extra_args: &[&str]) -> Option<Daemon> {
    match Daemon::start_with(name, extra_args) {
        Ok(daemon) => Some(daemon),
        Err(reason) if in_ci() => {
            panic!("live tests must run in CI (CI=true), but no Docker daemon: {reason}")
        }
        Err(reason) => {
            // Straight to the process's stderr: the test harness captures `eprintln!` and would
            // show it only for a failing test.
            let _ = writeln!(
                std::io::stderr(),
                "\n========================================================================\n\
                 LIVE TESTS SKIPPED: {name}: {reason}\n\
                 (run as root with Debian's docker.io installed to run them; CI=true makes \
                 this an error)\n\
                 ========================================================================"
            );
            None
        }
    }
}

/// Whether the environment says this is CI (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

/// A bollard client for an endpoint: `unix:///path` (or a bare path) or `tcp://host:port`.
pub fn connect(endpoint: &str) -> Result<Docker, String> {
    let result = if endpoint.starts_with("unix://") || endpoint.starts_with('/') {
        Docker::connect_with_unix(endpoint, 120, bollard::API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_http(endpoint, 120, bollard::API_DEFAULT_VERSION)
    };
    result.map_err(|e| format!("cannot connect to {endpoint}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The workload image
// ---------------------------------------------------------------------------------------------

/// Builds [`WORKLOAD_IMAGE`] on the daemon at `endpoint` from an in-memory tar build context
/// (a `FROM scratch` Dockerfile and the static workload binary) with the classic builder; no
/// registry involved. Returns the tag. Errors carry the build output.
pub async fn build_workload_image(endpoint: &str) -> Result<String, String> {
    let binary = tokio::task::spawn_blocking(workload_binary)
        .await
        .map_err(|e| format!("building the workload binary: {e}"))?;
    let context = build_context(&binary)?;
    let docker = connect(endpoint)?;
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(WORKLOAD_IMAGE)
        .rm(true)
        .forcerm(true)
        .build();
    let mut output = String::new();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.or(info.status) {
                    output.push_str(&text);
                }
            }
            Err(e) => {
                return Err(format!(
                    "building {WORKLOAD_IMAGE} on {endpoint} failed: {e}\n{output}"
                ))
            }
        }
    }
    docker.inspect_image(WORKLOAD_IMAGE).await.map_err(|e| {
        format!("{WORKLOAD_IMAGE} missing on {endpoint} after the build: {e}\n{output}")
    })?;
    Ok(WORKLOAD_IMAGE.to_string())
}

/// The tar build context: `Dockerfile` and `workload`.
fn build_context(binary: &Path) -> Result<Vec<u8>, String> {
    let dockerfile = format!(
        "FROM scratch\nCOPY workload {WORKLOAD_IN_IMAGE}\nENTRYPOINT [\"{WORKLOAD_IN_IMAGE}\"]\n"
    );
    let program = fs::read(binary).map_err(|e| format!("cannot read {}: {e}", binary.display()))?;
    let mut tar = tar::Builder::new(Vec::new());
    for (name, mode, data) in [
        ("Dockerfile", 0o644, dockerfile.as_bytes()),
        ("workload", 0o755, program.as_slice()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data)
            .map_err(|e| format!("tar {name}: {e}"))?;
    }
    tar.into_inner().map_err(|e| format!("tar: {e}"))
}

/// Labels every container a test creates can carry, so a daemon's listing is easy to filter.
pub fn test_labels(test: &str) -> HashMap<String, String> {
    HashMap::from([("flotilla.test".to_string(), test.to_string())])
}

// ---------------------------------------------------------------------------------------------
// Process, mount and directory housekeeping (no libc: /proc, `kill`, `umount`)
// ---------------------------------------------------------------------------------------------

fn is_root() -> bool {
    // Effective uid: the second number of the `Uid:` line.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// `program` on PATH, or in the usual sbin/bin directories (a non-login root shell may lack
/// /usr/sbin, where Debian puts dockerd and runc).
fn which(program: &str) -> Option<PathBuf> {
    daemon_path()
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

fn daemon_path() -> String {
    let mut path = std::env::var("PATH").unwrap_or_default();
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        if !path.split(':').any(|p| p == dir) {
            if !path.is_empty() {
                path.push(':');
            }
            path.push_str(dir);
        }
    }
    path
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry but holds nothing: count it as gone.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn cmdline(pid: u32) -> String {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// dockerd, containerd, containerd-shim*, runc, docker-init/docker-proxy (by `comm`, which the
/// kernel cuts at 15 bytes).
fn is_docker_machinery(pid: u32) -> bool {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let comm = comm.trim();
    comm == "dockerd"
        || comm == "runc"
        || comm.starts_with("containerd")
        || comm.starts_with("docker-")
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Processes a daemon in `dir` left behind: its dockerd (by pidfile), containerd and shims
/// (their command lines name the directory), and the processes of its containers (by the
/// containers' cgroups). Sends them SIGKILL and waits up to 5 s for them to go, then unmounts
/// everything still mounted under `dir`.
fn teardown_leftovers(dir: &Path) {
    let tag = format!("{}/", dir.display());
    let own = std::process::id();
    // Container processes first, then the machinery.
    let mut victims = container_pids(dir);
    if let Some(pid) = fs::read_to_string(dir.join("docker.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        if cmdline(pid).contains(&tag) {
            victims.push(pid);
        }
    }
    for pid in all_pids() {
        if pid != own && is_docker_machinery(pid) && cmdline(pid).contains(&tag) {
            victims.push(pid);
        }
    }
    victims.sort_unstable();
    victims.dedup();
    victims.retain(|&pid| pid != own && alive(pid));
    if !victims.is_empty() {
        eprintln!(
            "cleaning up {} process(es) left by the daemon in {}: {victims:?}",
            victims.len(),
            dir.display()
        );
        // A shim killed before containerd retired it leaves its socket behind.
        let sockets = shim_sockets(&victims);
        kill_and_wait(victims);
        for socket in sockets {
            let _ = fs::remove_file(socket);
        }
    }
    unmount_under(dir);
}

/// The sockets that containerd shims among `pids` listen on under /run/containerd/s (their
/// socket inodes from /proc/<pid>/fd, the paths from /proc/net/unix).
fn shim_sockets(pids: &[u32]) -> Vec<PathBuf> {
    let mut inodes = std::collections::HashSet::new();
    for &pid in pids {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if !comm.starts_with("containerd-shim") {
            continue;
        }
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = fs::read_link(fd.path()) {
                let target = target.to_string_lossy().to_string();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|t| t.strip_suffix(']'))
                {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let table = fs::read_to_string("/proc/net/unix").unwrap_or_default();
    let mut sockets: Vec<PathBuf> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            // Num RefCount Protocol Flags Type St Inode Path
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (inode, path) = (fields.get(6)?, fields.get(7)?);
            (inodes.contains(*inode) && path.starts_with("/run/containerd/s/"))
                .then(|| PathBuf::from(path))
        })
        .collect();
    sockets.sort();
    sockets.dedup();
    sockets
}

/// The processes in the cgroups of the containers of the daemon in `dir` (cgroup v1 or v2,
/// cgroupfs or systemd driver).
fn container_pids(dir: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(entries) = fs::read_dir(dir.join("d/containers")) else {
        return pids;
    };
    for entry in entries.flatten() {
        let id = entry.file_name().to_string_lossy().to_string();
        for cgroup in [
            format!("/sys/fs/cgroup/pids/docker/{id}"),
            format!("/sys/fs/cgroup/memory/docker/{id}"),
            format!("/sys/fs/cgroup/cpu,cpuacct/docker/{id}"),
            format!("/sys/fs/cgroup/cpu/docker/{id}"),
            format!("/sys/fs/cgroup/docker/{id}"),
            format!("/sys/fs/cgroup/system.slice/docker-{id}.scope"),
        ] {
            if let Ok(procs) = fs::read_to_string(format!("{cgroup}/cgroup.procs")) {
                pids.extend(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// SIGKILL to `pids`, then up to 5 s for them to be gone.
fn kill_and_wait(mut pids: Vec<u32>) {
    pids.sort_unstable();
    pids.dedup();
    pids.retain(|&pid| pid != std::process::id() && alive(pid));
    for &pid in &pids {
        signal(pid, "KILL");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && pids.iter().any(|&pid| alive(pid)) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Unmounts every mount point at or below `dir`, deepest first (lazily if a plain unmount
/// fails).
fn unmount_under(dir: &Path) {
    let base = dir.display().to_string();
    for _round in 0..3 {
        let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        let mut points: Vec<String> = info
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(unescape_mount_path)
            .filter(|p| p == &base || p.starts_with(&format!("{base}/")))
            .collect();
        if points.is_empty() {
            return;
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points.dedup();
        for point in points {
            let ok = Command::new("umount")
                .arg(&point)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount")
                    .args(["-l", &point])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Tears down daemons whose test process is gone: `/tmp/flt-<name>-<pid>-<n>` with no live
/// `<pid>`.
fn reap_stale_daemons() {
    let Ok(entries) = fs::read_dir("/tmp") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let mut parts = rest.rsplitn(3, '-');
        let (Some(seq), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(_), Ok(pid)) = (seq.parse::<u32>(), pid.parse::<u32>()) else {
            continue;
        };
        let path = entry.path();
        if pid == std::process::id() || alive(pid) || !path.join("dockerd.log").exists() {
            continue;
        }
        eprintln!(
            "reaping a daemon left by dead test process {pid}: {}",
            path.display()
        );
        teardown_leftovers(&path);
        let _ = fs::remove_dir_all(&path);
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    // The last 64 KiB is plenty for a tail.
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut text = String::new();
    let mut buf = Vec::new();
    if file.read_to_end(&mut buf).is_ok() {
        text = String::from_utf8_lossy(&buf).into_owned();
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
