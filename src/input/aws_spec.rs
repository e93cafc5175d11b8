//! What a job asks for, read from AWS JSON: the parts a `describe-jobs` job and a
//! `describe-job-definitions` definition share (container resources, command, environment,
//! parameters, retry strategy, timeout, scheduling priority, multi-node properties).

use super::node::{name_from_arn, Node};
use crate::input::InputError;
use crate::model::{EvaluateOnExit, JobQueueId, JobSpec, NodeProperties, NodeRange};
use crate::model::{RetryAction, SimDuration};

/// AWS's limit on `evaluateOnExit` rules.
const MAX_EVALUATE_ON_EXIT: usize = 5;

/// vCPUs, memory and GPUs as a container asks for them; `None` where it says nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Resources {
    pub(crate) vcpus: Option<u32>,
    pub(crate) memory_mib: Option<u32>,
    pub(crate) gpus: Option<u32>,
}

/// The job-spec parts of a job or job definition.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpecParts {
    pub(crate) name: String,
    pub(crate) job_definition: String,
    pub(crate) resources: Resources,
    pub(crate) attempts: Option<u32>,
    pub(crate) evaluate_on_exit: Vec<EvaluateOnExit>,
    pub(crate) timeout_s: Option<u32>,
    pub(crate) parameters: Vec<(String, String)>,
    pub(crate) command: Vec<String>,
    pub(crate) environment: Vec<(String, String)>,
    pub(crate) share_identifier: Option<String>,
    pub(crate) scheduling_priority: Option<u32>,
    pub(crate) node_properties: Option<NodeProperties>,
}

impl SpecParts {
    /// The job spec, with the trace defaults (1 vCPU, 2048 MiB, 1 attempt) where AWS said
    /// nothing. A multi-node job reserves what its main node's range asks for.
    pub(crate) fn into_spec(self, queue: JobQueueId) -> JobSpec {
        let main = self.node_properties.as_ref().and_then(|n| {
            n.node_ranges
                .iter()
                .rev()
                .find(|r| (r.start..=r.end).contains(&n.main_node))
        });
        let r = self.resources;
        JobSpec {
            name: self.name,
            queue,
            vcpus: r.vcpus.or(main.map(|m| m.vcpus)).unwrap_or(1),
            memory_mib: r.memory_mib.or(main.map(|m| m.memory_mib)).unwrap_or(2048),
            gpus: r.gpus.or(main.map(|m| m.gpus)).unwrap_or(0),
            attempts: self.attempts.unwrap_or(1),
            evaluate_on_exit: self.evaluate_on_exit,
            timeout: self.timeout_s.map(|s| SimDuration::from_secs(u64::from(s))),
            depends_on: Vec::new(),
            array: None,
            job_definition: self.job_definition,
            parameters: self.parameters,
            command: self.command,
            environment: self.environment,
            share_identifier: self.share_identifier,
            scheduling_priority: self.scheduling_priority.unwrap_or(0),
            node_properties: self.node_properties,
            requested_time: None,
            user: None,
        }
    }
}

/// Reads a job (`container`) or a job definition (`containerProperties`).
pub(crate) fn parse_spec(n: &Node, container_key: &str) -> Result<SpecParts, InputError> {
    let mut p = SpecParts::default();
    if let Some(name) = n.get("jobName") {
        p.name = name.text("a job name")?.to_string();
    } else if container_key == "container" {
        n.req("jobName", "the job's name")?;
    }
    if let Some(d) = n.get("jobDefinition") {
        let d = d.str("a job definition ARN or name")?;
        p.job_definition = name_from_arn(d, "job-definition/").to_string();
    }
    if let Some(c) = n.get(container_key) {
        p.resources = resources(&c)?;
        if let Some(cmd) = c.get("command") {
            p.command = cmd.strings("an array of strings")?;
        }
        if let Some(env) = c.get("environment") {
            p.environment = env.name_values()?;
        }
    }
    if let Some(params) = n.get("parameters") {
        p.parameters = params.string_map("an object of string values")?;
    }
    if let Some(r) = n.get("retryStrategy") {
        if let Some(a) = r.get("attempts") {
            p.attempts = Some(a.u32_in(1, 10, "a number of attempts from 1 to 10")?);
        }
        if let Some(rules) = r.get("evaluateOnExit") {
            p.evaluate_on_exit = evaluate_on_exit(&rules)?;
        }
    }
    if let Some(t) = n.get("timeout") {
        if let Some(s) = t.get("attemptDurationSeconds") {
            p.timeout_s = Some(s.u32_in(60, u32::MAX, "a whole number of seconds ≥ 60")?);
        }
    }
    if let Some(s) = n.get("shareIdentifier") {
        p.share_identifier = Some(s.text("a share identifier")?.to_string());
    }
    if let Some(s) = n.get("schedulingPriority") {
        p.scheduling_priority = Some(s.u32_in(0, 9999, "a priority from 0 to 9999")?);
    }
    if let Some(np) = n.get("nodeProperties") {
        p.node_properties = Some(node_properties(&np)?);
    }
    Ok(p)
}

/// `resourceRequirements` (preferred) or the legacy `vcpus` and `memory` of a container.
/// A fractional VCPU value (Fargate's `0.25`) is rounded up to a whole vCPU.
pub(crate) fn resources(c: &Node) -> Result<Resources, InputError> {
    let mut r = Resources::default();
    if let Some(reqs) = c.get("resourceRequirements") {
        for req in reqs.items("an array of {type, value} objects")? {
            let kind = req.req("type", "VCPU, MEMORY or GPU")?;
            let value = req.req("value", "the amount, as a string")?;
            let text = value
                .v
                .as_str()
                .map(str::to_string)
                .or_else(|| value.v.as_f64().map(|f| f.to_string()))
                .ok_or_else(|| value.expected("the amount, as a string"))?;
            let num = text.trim().parse::<f64>().ok().filter(|f| f.is_finite());
            match kind.str("VCPU, MEMORY or GPU")? {
                "VCPU" => match num {
                    Some(f) if f > 0.0 && f <= f64::from(u32::MAX) => {
                        r.vcpus = Some(f.ceil() as u32);
                    }
                    _ => return Err(value.expected("a number of vCPUs > 0, e.g. \"2\"")),
                },
                "MEMORY" => match num {
                    Some(f) if f >= 1.0 && f <= f64::from(u32::MAX) => {
                        r.memory_mib = Some(f.ceil() as u32);
                    }
                    _ => return Err(value.expected("a number of MiB ≥ 1, e.g. \"2048\"")),
                },
                "GPU" => match num {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX) => {
                        r.gpus = Some(f as u32);
                    }
                    _ => return Err(value.expected("a whole number of GPUs, e.g. \"1\"")),
                },
                _ => return Err(kind.expected("VCPU, MEMORY or GPU")),
            }
        }
    }
    if r.vcpus.is_none() {
        if let Some(v) = c.get("vcpus") {
            let v = v.u32_in(0, u32::MAX, "a whole number of vCPUs")?;
            r.vcpus = (v > 0).then_some(v);
        }
    }
    if r.memory_mib.is_none() {
        if let Some(m) = c.get("memory") {
            let m = m.u32_in(0, u32::MAX, "a whole number of MiB")?;
            r.memory_mib = (m > 0).then_some(m);
        }
    }
    Ok(r)
}

/// `retryStrategy.evaluateOnExit`: at most 5 rules; `action` RETRY or EXIT in any case.
pub(crate) fn evaluate_on_exit(rules: &Node) -> Result<Vec<EvaluateOnExit>, InputError> {
    let items = rules.items("an array of rules")?;
    if items.len() > MAX_EVALUATE_ON_EXIT {
        return Err(rules.err(format!(
            "{} rules; AWS Batch allows at most {MAX_EVALUATE_ON_EXIT}",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for rule in items {
        let a = rule.req("action", "RETRY or EXIT")?;
        let action = match a.str("RETRY or EXIT")?.to_ascii_uppercase().as_str() {
            "RETRY" => RetryAction::Retry,
            "EXIT" => RetryAction::Exit,
            _ => return Err(a.expected("RETRY or EXIT")),
        };
        let pattern = |key: &str| -> Result<Option<String>, InputError> {
            rule.get(key)
                .map(|p| p.str("a pattern string").map(str::to_string))
                .transpose()
        };
        out.push(EvaluateOnExit {
            action,
            on_status_reason: pattern("onStatusReason")?,
            on_reason: pattern("onReason")?,
            on_exit_code: pattern("onExitCode")?,
        });
    }
    Ok(out)
}

/// `nodeProperties`: `numNodes`, `mainNode` and `nodeRangeProperties` (`"0:3"`, `":3"`,
/// `"2:"`, `"4"`), each range's resources from its `container`.
pub(crate) fn node_properties(np: &Node) -> Result<NodeProperties, InputError> {
    let num_nodes = np.req("numNodes", "the number of nodes")?.u32_in(
        1,
        1000,
        "a number of nodes from 1 to 1000",
    )?;
    let main_node = np.req("mainNode", "the main node's index")?.u32_in(
        0,
        num_nodes - 1,
        "a node index below numNodes",
    )?;
    let mut node_ranges = Vec::new();
    let ranges = np.req("nodeRangeProperties", "an array of node ranges")?;
    for r in ranges.items("an array of node ranges")? {
        let t = r.req("targetNodes", "a node range such as \"0:3\"")?;
        let text = t.str("a node range such as \"0:3\"")?;
        let (start, end) = parse_range(text, num_nodes)
            .ok_or_else(|| t.expected("a node range such as \"0:3\", \":3\" or \"2:\""))?;
        let res = match r.get("container") {
            Some(c) => resources(&c)?,
            None => Resources::default(),
        };
        node_ranges.push(NodeRange {
            start,
            end,
            vcpus: res.vcpus.unwrap_or(1),
            memory_mib: res.memory_mib.unwrap_or(2048),
            gpus: res.gpus.unwrap_or(0),
        });
    }
    Ok(NodeProperties {
        num_nodes,
        main_node,
        node_ranges,
    })
}

/// `"a:b"` with either side optional, or a single index; inclusive, within `0..n`.
fn parse_range(text: &str, n: u32) -> Option<(u32, u32)> {
    let num = |s: &str, default: u32| -> Option<u32> {
        let s = s.trim();
        if s.is_empty() {
            Some(default)
        } else {
            s.parse().ok()
        }
    };
    let (a, b) = match text.split_once(':') {
        Some((a, b)) => (num(a, 0)?, num(b, n - 1)?),
        None => {
            let i = num(text, u32::MAX)?;
            (i, i)
        }
    };
    (a <= b && b < n).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ranges_parse_open_ends() {
        assert_eq!(parse_range("0:3", 8), Some((0, 3)));
        assert_eq!(parse_range(":3", 8), Some((0, 3)));
        assert_eq!(parse_range("2:", 8), Some((2, 7)));
        assert_eq!(parse_range("5", 8), Some((5, 5)));
        assert_eq!(parse_range("3:2", 8), None);
        assert_eq!(parse_range("0:8", 8), None);
        assert_eq!(parse_range("x", 8), None);
    }
}
