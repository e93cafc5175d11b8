//! Scenario writing, running and record reading for tests/live.rs.
#![allow(dead_code)]

use super::docker::{self, Daemon, WORKLOAD_IMAGE};
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Private daemons with the workload image built on each, or `None` (skipped loudly).
pub fn daemons(name: &str, n: usize) -> Option<Vec<Daemon>> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(docker::docker_or_skip(&format!("{name}{i}"))?);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    for d in &out {
        rt.block_on(docker::build_workload_image(&d.endpoint))
            .expect("workload image");
    }
    Some(out)
}

/// One trace row under construction.
pub struct Row {
    name: String,
    submit: f64,
    command: String,
    deps: String,
    array: String,
    attempts: String,
    timeout: String,
    memory: String,
    vcpus: String,
    definition: String,
    parameters: String,
}

/// A row of job definition `work` running the workload with `command` (its steps).
pub fn row(name: &str, submit: f64, command: &str) -> Row {
    Row {
        name: name.into(),
        submit,
        command: command.into(),
        deps: String::new(),
        array: String::new(),
        attempts: String::new(),
        timeout: String::new(),
        memory: String::new(),
        vcpus: String::new(),
        definition: "work".into(),
        parameters: String::new(),
    }
}

impl Row {
    /// `depends_on`.
    pub fn deps(mut self, d: &str) -> Self {
        self.deps = d.into();
        self
    }
    /// `array_size`.
    pub fn array(mut self, n: u32) -> Self {
        self.array = n.to_string();
        self
    }
    /// `attempts`.
    pub fn attempts(mut self, n: u32) -> Self {
        self.attempts = n.to_string();
        self
    }
    /// `timeout_s`.
    pub fn timeout(mut self, s: u32) -> Self {
        self.timeout = s.to_string();
        self
    }
    /// `memory_mib`.
    pub fn memory(mut self, m: u32) -> Self {
        self.memory = m.to_string();
        self
    }
    /// `vcpus`.
    pub fn vcpus(mut self, v: u32) -> Self {
        self.vcpus = v.to_string();
        self
    }
    /// `job_definition`.
    pub fn definition(mut self, d: &str) -> Self {
        self.definition = d.into();
        self
    }
    /// `parameters`.
    pub fn parameters(mut self, p: &str) -> Self {
        self.parameters = p.into();
        self
    }
    /// The CSV line.
    pub fn build(self) -> String {
        let cmd = if self.definition == "work" {
            self.command
        } else {
            String::new()
        };
        [
            self.name,
            self.submit.to_string(),
            "default".into(),
            self.definition,
            "1".into(),
            cmd,
            self.deps,
            self.array,
            self.attempts,
            self.timeout,
            self.memory,
            self.vcpus,
            self.parameters,
        ]
        .join(",")
    }
}

const HEADER: &str = "job_id,submit_time_s,queue,job_definition,run_time_s,command,depends_on,\
                      array_size,attempts,timeout_s,memory_mib,vcpus,parameters";

/// A scenario, its trace and hosts file in a temporary folder, and the run folder.
pub struct Run {
    /// The run folder (`--out`).
    pub dir: PathBuf,
    scenario: PathBuf,
    hosts: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Run {
    /// Hosts `h0`, `h1`, … on the daemons, 2 vCPUs and 512 MiB each.
    pub fn new(name: &str, daemons: &[Daemon], rows: &[String]) -> Run {
        let hosts: Vec<String> = daemons
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "[[compute_environments.hosts]]\nname = \"h{i}\"\nendpoint = \"{}\"\n\
                     vcpus = 2\nmemory_mib = 512\n",
                    d.endpoint
                )
            })
            .collect();
        Run::write(name, daemons.len(), &hosts.concat(), rows)
    }

    /// One host `h0` with `executor = "process"`.
    pub fn with_process_host(name: &str, rows: &[String]) -> Run {
        let host = "[[compute_environments.hosts]]\nname = \"h0\"\nexecutor = \"process\"\n\
                    vcpus = 2\nmemory_mib = 512\n";
        Run::write(name, 1, host, rows)
    }

    /// `n` simulated hosts `h0`… and the given `[[compute_environments.hosts]]` entries.
    pub fn with_hosts(name: &str, n: usize, hosts: &str, rows: &[String]) -> Run {
        Run::write(name, n, hosts, rows)
    }

    fn write(name: &str, n: usize, hosts: &str, rows: &[String]) -> Run {
        let tmp = tempfile::tempdir().unwrap();
        let trace = tmp.path().join("trace.csv");
        std::fs::write(&trace, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
        let sim_hosts: Vec<String> = (0..n)
            .map(|i| format!("{{ name = \"h{i}\", vcpus = 2, memory = 512 }}"))
            .collect();
        let scenario = tmp.path().join("scenario.toml");
        let text = SCENARIO
            .replace("NAME", name)
            .replace("HOSTS", &sim_hosts.join(", "))
            .replace("IMAGE", WORKLOAD_IMAGE);
        std::fs::write(&scenario, text).unwrap();
        let hosts_file = tmp.path().join("hosts.toml");
        std::fs::write(
            &hosts_file,
            format!("[[compute_environments]]\nname = \"local\"\n{hosts}"),
        )
        .unwrap();
        Run {
            dir: tmp.path().join("run"),
            scenario,
            hosts: hosts_file,
            _tmp: tmp,
        }
    }

    fn options(&self) -> flotilla::live::LiveOptions {
        flotilla::live::LiveOptions {
            scenario: self.scenario.clone(),
            hosts: self.hosts.clone(),
            out: Some(self.dir.clone()),
            health_every: Some(Duration::from_millis(500)),
            ..Default::default()
        }
    }

    /// Runs it live, in this process.
    pub fn live(&self) -> flotilla::live::LiveRun {
        flotilla::live::run_live(&self.options()).expect("live run")
    }

    /// Simulates the same scenario.
    pub fn simulate(&self) -> flotilla::record::Summary {
        let s = flotilla::input::load_scenario(&self.scenario, None).unwrap();
        flotilla::record::simulate(s, "sim", None).unwrap().summary
    }

    /// `flotilla live` as a child process.
    pub fn spawn_cli(&self) -> Child {
        Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .arg("live")
            .arg(&self.scenario)
            .arg("--hosts")
            .arg(&self.hosts)
            .arg("--out")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `flotilla live --resume` to its end.
    pub fn resume_cli(&self) {
        let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .args(["live", "--resume"])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits (up to 60 s) until the journal holds `n` inputs of `kind`.
    pub fn wait_for_events(&self, kind: &str, n: usize) {
        let start = Instant::now();
        let pat = format!("\"{kind}\"");
        loop {
            let text = std::fs::read_to_string(self.dir.join("journal.jsonl")).unwrap_or_default();
            if text.lines().filter(|l| l.contains(&pat)).count() >= n {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no {n} {kind} in the journal"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Inspects the container of `job` while it runs (in a thread started now).
    pub fn watch_container(
        &self,
        d: &Daemon,
        job: &str,
    ) -> std::thread::JoinHandle<bollard::models::ContainerInspectResponse> {
        let docker = d.docker();
        let label = format!("flotilla.job-name={job}");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let start = Instant::now();
            loop {
                let filters = HashMap::from([("label", vec![label.clone()])]);
                let o = ListContainersOptionsBuilder::new()
                    .filters(&filters)
                    .build();
                let list = rt
                    .block_on(docker.list_containers(Some(o)))
                    .unwrap_or_default();
                if let Some(id) = list.first().and_then(|c| c.id.clone()) {
                    let o = None::<InspectContainerOptions>;
                    if let Ok(i) = rt.block_on(docker.inspect_container(&id, o)) {
                        return i;
                    }
                }
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "{label} never ran"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    }

    /// `jobs.csv` rows by column name.
    pub fn jobs(&self) -> Vec<BTreeMap<String, String>> {
        read_csv(&self.dir.join("jobs.csv"))
    }

    /// `instances.csv` rows by column name.
    pub fn instances(&self) -> Vec<BTreeMap<String, String>> {
        read_csv(&self.dir.join("instances.csv"))
    }

    /// Lines of `events.jsonl` whose input or command is `kind`.
    pub fn events_of(&self, kind: &str) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.join("events.jsonl")).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["input"] == kind || v["command"] == kind)
            .collect()
    }

    /// `live.json`.
    pub fn live_json(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("live.json")).unwrap()).unwrap()
    }
}

fn read_csv(p: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .zip(rec.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Seconds in a jobs.csv time column.
pub fn secs(row: &BTreeMap<String, String>, col: &str) -> f64 {
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} in {row:?}"))
}

/// SIGKILL and reap.
pub fn kill9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Kills a daemon's dockerd with SIGKILL, as a machine that vanishes (its containers are
/// cleaned up when the [`Daemon`] is dropped).
pub fn kill_dockerd(d: &mut Daemon) {
    let pid = d.pid().expect("dockerd pid");
    let ok = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits (up to 60 s) until `n` containers run on the daemon.
pub fn wait_running_on(d: &Daemon, n: usize) {
    let docker = d.docker();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let start = Instant::now();
    while rt
        .block_on(docker.list_containers(None::<bollard::query_parameters::ListContainersOptions>))
        .map_or(0, |l| l.len())
        < n
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no container ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// No container of any flotilla run is left on the daemons.
pub fn assert_no_containers_left(daemons: &[Daemon]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for d in daemons {
        let filters = HashMap::from([("label", vec!["flotilla.run".to_string()])]);
        let o = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = rt.block_on(d.docker().list_containers(Some(o))).unwrap();
        assert!(
            list.is_empty(),
            "containers left on {}: {}",
            d.endpoint,
            list.len()
        );
    }
}

const SCENARIO: &str = r#"
name = "NAME"
seed = 1
trace = "trace.csv"

[[compute_environments]]
computeEnvironmentName = "local"
type = "UNMANAGED"
hosts = [HOSTS]

[[job_queues]]
jobQueueName = "default"
priority = 1
computeEnvironmentOrder = [{ order = 1, computeEnvironment = "local" }]

[[job_definitions]]
jobDefinitionName = "work"
type = "container"
[job_definitions.containerProperties]
image = "IMAGE"
vcpus = 1
memory = 64
[job_definitions.retryStrategy]
attempts = 1
evaluateOnExit = [{ onExitCode = "4", action = "EXIT" }, { onExitCode = "*", action = "RETRY" }]

[[job_definitions]]
jobDefinitionName = "missing"
type = "container"
[job_definitions.containerProperties]
image = "flotilla/no-such-image:nope"
vcpus = 1
memory = 64

[[job_definitions]]
jobDefinitionName = "sh"
type = "container"
parameters = { code = "0" }
[job_definitions.containerProperties]
command = ["sh", "-c", "echo gpus=[$CUDA_VISIBLE_DEVICES]; exit Ref::code"]
vcpus = 1
memory = 64
"#;

/// SIGINT, as Ctrl-C in a terminal.
pub fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in
/// `dir` (`ca.pem`, `server-cert.pem`, `server-key.pem`, `cert.pem`, `key.pem`).
pub fn make_certs(dir: &Path) {
    let sh = |script: &str| {
        let ok = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
        -subj /CN=flotilla-test-ca",
    );
    sh(
        "openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr \
        -subj /CN=127.0.0.1 && printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
        > server.ext && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem \
        -CAcreateserial -out server-cert.pem -days 2 -extfile server.ext",
    );
    sh(
        "openssl req -newkey rsa:2048 -nodes -keyout key.pem -out client.csr -subj /CN=client \
        && printf 'extendedKeyUsage=clientAuth\n' > client.ext && openssl x509 -req \
        -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 \
        -extfile client.ext",
    );
}

/// A TCP port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
