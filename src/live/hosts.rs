//! The hosts file of `flotilla live`: Docker endpoints (or local process executors) grouped
//! into the UNMANAGED compute environments that replace the scenario's of the same name.
//!
//! ```toml
//! [[compute_environments]]
//! name = "cpu"                          # a compute environment of the scenario
//!
//! [[compute_environments.hosts]]
//! name = "local"
//! endpoint = "unix:///var/run/docker.sock"   # the default
//! vcpus = 2                             # optional caps on what the host reports
//! memory_mib = 4096
//!
//! [[compute_environments.hosts]]
//! name = "remote"
//! endpoint = "tcp://10.0.0.7:2376"      # TLS with client certificates (the default) …
//! tls = { ca = "certs/ca.pem", cert = "certs/cert.pem", key = "certs/key.pem" }
//! # insecure = true                     # … or plain TCP, only when asked for by name
//!
//! [[compute_environments.hosts]]
//! name = "gpu-box"
//! executor = "process"                  # no Docker: jobs run as local processes
//! ```

use anyhow::{bail, Context};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A parsed hosts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostsFile {
    /// Compute environments, in file order.
    pub compute_environments: Vec<HostGroup>,
}

/// One UNMANAGED compute environment and its hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGroup {
    /// Name of the scenario's compute environment it stands for.
    pub name: String,
    /// Its hosts.
    pub hosts: Vec<HostConfig>,
}

/// One host as the file gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    /// Name, unique within its compute environment.
    pub name: String,
    /// How to reach it.
    pub endpoint: Endpoint,
    /// Caps on the capacity the host reports (never raised above it).
    pub cap: Caps,
}

/// Caps on a host's reported capacity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// Most vCPUs to use.
    pub vcpus: Option<u32>,
    /// Most memory to use, MiB.
    pub memory_mib: Option<u32>,
    /// Most GPUs to use.
    pub gpus: Option<u32>,
}

/// Where a host's jobs run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A Docker engine on a Unix socket.
    Unix(PathBuf),
    /// A Docker engine over TCP with mutual TLS.
    Tls {
        /// `host:port`.
        addr: String,
        /// CA certificate that signed the daemon's.
        ca: PathBuf,
        /// Client certificate.
        cert: PathBuf,
        /// Client key.
        key: PathBuf,
    },
    /// A Docker engine over plain TCP (`insecure = true`).
    Insecure(String),
    /// No Docker: jobs run as processes of this machine (no isolation).
    Process,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix://{}", p.display()),
            Self::Tls { addr, .. } => write!(f, "tcp://{addr} (TLS)"),
            Self::Insecure(a) => write!(f, "tcp://{a} (no TLS)"),
            Self::Process => f.write_str("local processes"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFile {
    compute_environments: Vec<WireGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGroup {
    name: String,
    hosts: Vec<WireHost>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireHost {
    name: String,
    endpoint: Option<String>,
    executor: Option<String>,
    tls: Option<WireTls>,
    #[serde(default)]
    insecure: bool,
    vcpus: Option<u32>,
    memory_mib: Option<u32>,
    gpus: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTls {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// The local Docker socket.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Reads and checks a hosts file; relative certificate paths are taken from its folder.
pub fn load_hosts(path: &Path) -> anyhow::Result<HostsFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let wire: WireFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        let at = line.map_or(String::new(), |l| format!(":{l}"));
        anyhow::anyhow!("{}{at}: {}", path.display(), e.message())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut groups = Vec::new();
    for (g, wg) in wire.compute_environments.into_iter().enumerate() {
        let at = format!("{}: compute_environments[{g}]", path.display());
        if wg.hosts.is_empty() {
            bail!("{at}.hosts: expected at least one host");
        }
        let mut hosts: Vec<HostConfig> = Vec::new();
        for (h, wh) in wg.hosts.into_iter().enumerate() {
            let at = format!("{at}.hosts[{h}]");
            if hosts.iter().any(|x| x.name == wh.name) {
                bail!("{at}.name: host `{}` is listed twice", wh.name);
            }
            hosts.push(host(wh, base, &at)?);
        }
        groups.push(HostGroup {
            name: wg.name,
            hosts,
        });
    }
    Ok(HostsFile {
        compute_environments: groups,
    })
}

fn host(w: WireHost, base: &Path, at: &str) -> anyhow::Result<HostConfig> {
    if w.name.is_empty()
        || !w
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        bail!(
            "{at}.name: expected letters, digits, `-`, `_` or `.`, got `{}`",
            w.name
        );
    }
    let endpoint = match w.executor.as_deref().unwrap_or("docker") {
        "process" if w.endpoint.is_some() => {
            bail!("{at}.endpoint: a host with executor = \"process\" takes no endpoint")
        }
        "process" => Endpoint::Process,
        "docker" => docker_endpoint(&w, base, at)?,
        other => bail!("{at}.executor: expected \"docker\" or \"process\", got `{other}`"),
    };
    let cap = Caps {
        vcpus: w.vcpus,
        memory_mib: w.memory_mib,
        gpus: w.gpus,
    };
    if cap.vcpus == Some(0) {
        bail!("{at}.vcpus: expected at least 1");
    }
    Ok(HostConfig {
        name: w.name,
        endpoint,
        cap,
    })
}

fn docker_endpoint(w: &WireHost, base: &Path, at: &str) -> anyhow::Result<Endpoint> {
    let ep = w.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT);
    if let Some(p) = ep.strip_prefix("unix://") {
        if w.tls.is_some() || w.insecure {
            bail!("{at}: `tls` and `insecure` are for tcp:// endpoints only");
        }
        return Ok(Endpoint::Unix(PathBuf::from(p)));
    }
    let Some(addr) = ep.strip_prefix("tcp://") else {
        bail!("{at}.endpoint: expected unix:///path/to/docker.sock or tcp://host:port, got `{ep}`");
    };
    if !addr.contains(':') {
        bail!("{at}.endpoint: expected a port in `{ep}` (Docker's TLS port is 2376)");
    }
    // TLS verification is the default: plain TCP gives root on the host to anyone on the
    // network, so it must be asked for by name.
    match (&w.tls, w.insecure) {
        (Some(_), true) => bail!("{at}: give either `tls` or `insecure = true`, not both"),
        (None, false) => bail!(
            "{at}.tls: a tcp:// endpoint needs client certificates \
             (tls = {{ ca, cert, key }}), or `insecure = true` for plain TCP"
        ),
        (None, true) => Ok(Endpoint::Insecure(addr.to_string())),
        (Some(t), false) => Ok(Endpoint::Tls {
            addr: addr.to_string(),
            ca: base.join(&t.ca),
            cert: base.join(&t.cert),
            key: base.join(&t.key),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<HostsFile> {
        let dir = std::env::temp_dir().join(format!("flt-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("h{}.toml", text.len()));
        std::fs::write(&p, text).unwrap();
        load_hosts(&p)
    }

    #[test]
    fn endpoints_and_caps() {
        let f = parse(
            "[[compute_environments]]\nname = \"ce\"\n\
             [[compute_environments.hosts]]\nname = \"a\"\nvcpus = 2\n\
             [[compute_environments.hosts]]\nname = \"b\"\nendpoint = \"tcp://h:2376\"\n\
             tls = { ca = \"ca.pem\", cert = \"c.pem\", key = \"k.pem\" }\n\
             [[compute_environments.hosts]]\nname = \"c\"\nexecutor = \"process\"\n",
        )
        .unwrap();
        let h = &f.compute_environments[0].hosts;
        assert_eq!(h[0].endpoint, Endpoint::Unix("/var/run/docker.sock".into()));
        assert_eq!(h[0].cap.vcpus, Some(2));
        assert!(matches!(&h[1].endpoint, Endpoint::Tls { addr, ca, .. }
            if addr == "h:2376" && ca.ends_with("ca.pem")));
        assert_eq!(h[2].endpoint, Endpoint::Process);
    }

    #[test]
    fn plain_tcp_needs_insecure() {
        let base = "[[compute_environments]]\nname = \"ce\"\n\
                    [[compute_environments.hosts]]\nname = \"a\"\nendpoint = \"tcp://h:2375\"\n";
        let e = parse(base).unwrap_err().to_string();
        assert!(e.contains("compute_environments[0].hosts[0].tls"), "{e}");
        let ok = parse(&format!("{base}insecure = true\n")).unwrap();
        assert_eq!(
            ok.compute_environments[0].hosts[0].endpoint,
            Endpoint::Insecure("h:2375".into())
        );
    }

    #[test]
    fn bad_input_names_line_and_field() {
        let e = parse("[[compute_environments]]\nname = \"ce\"\nhosts = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("compute_environments[0].hosts"), "{e}");
        let e = parse("[[compute_environments]]\nname = \"ce\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":3:") && e.contains("bogus"), "{e}");
    }
}
