//! Job definitions as the trace resolver uses them: registered revisions, looked up by
//! `name`, `name:revision` or ARN, and the `Ref::name` parameter substitution of commands.

use crate::model::{EvaluateOnExit, NodeProperties, SimDuration};
use std::collections::BTreeMap;

/// One revision of a job definition: what it supplies to the trace rows that name it.
/// Resource fields left `None` fall back to the trace defaults (1 vCPU, 2048 MiB, 0 GPUs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobDefinition {
    /// `revision`, 1 or more.
    pub revision: u32,
    /// vCPUs (`resourceRequirements` VCPU, else `vcpus`). `None` for multi-node definitions.
    pub vcpus: Option<u32>,
    /// Memory, MiB (`resourceRequirements` MEMORY, else `memory`). `None` for multi-node.
    pub memory_mib: Option<u32>,
    /// Whole GPUs (`resourceRequirements` GPU). `None` for multi-node definitions.
    pub gpus: Option<u32>,
    /// `retryStrategy.attempts`.
    pub attempts: Option<u32>,
    /// `retryStrategy.evaluateOnExit`, at most 5 rules, in order.
    pub evaluate_on_exit: Vec<EvaluateOnExit>,
    /// `timeout.attemptDurationSeconds`.
    pub timeout: Option<SimDuration>,
    /// `parameters`: default values for `Ref::name` placeholders, sorted by name.
    pub parameters: Vec<(String, String)>,
    /// `containerProperties.command`, placeholders not yet substituted.
    pub command: Vec<String>,
    /// `containerProperties.environment` (name, value), in order.
    pub environment: Vec<(String, String)>,
    /// `schedulingPriority`, 0 to 9999.
    pub scheduling_priority: Option<u32>,
    /// `nodeProperties` (type `multinode`), node ranges resolved against `numNodes`.
    pub node_properties: Option<NodeProperties>,
    /// What live mode needs to run the container (the simulator ignores it).
    pub container: ContainerProperties,
}

/// The parts of `containerProperties` that only live mode uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerProperties {
    /// `image`; empty if the definition gives none.
    pub image: String,
    /// `privileged` (live mode refuses to run such a job).
    pub privileged: bool,
    /// `readonlyRootFilesystem`.
    pub read_only_root: bool,
    /// Whether `networkConfiguration` is given: only then does the container get a network.
    pub network: bool,
    /// `linuxParameters.capabilities.add`: the only capabilities kept (all others dropped).
    pub capabilities: Vec<String>,
}

impl Default for JobDefinition {
    fn default() -> Self {
        JobDefinition {
            revision: 1,
            vcpus: None,
            memory_mib: None,
            gpus: None,
            attempts: None,
            evaluate_on_exit: Vec::new(),
            timeout: None,
            parameters: Vec::new(),
            command: Vec::new(),
            environment: Vec::new(),
            scheduling_priority: None,
            node_properties: None,
            container: ContainerProperties::default(),
        }
    }
}

/// The job definitions of a scenario, by name and revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobDefinitions {
    defs: BTreeMap<(String, u32), JobDefinition>,
}

impl JobDefinitions {
    /// No job definitions.
    pub fn empty() -> Self {
        JobDefinitions::default()
    }

    /// Adds or replaces revision `def.revision` of `name`; returns the one it replaced.
    pub fn insert(&mut self, name: impl Into<String>, def: JobDefinition) -> Option<JobDefinition> {
        self.defs.insert((name.into(), def.revision), def)
    }

    /// The latest revision of the definition with this name.
    pub fn get(&self, name: &str) -> Option<&JobDefinition> {
        self.latest(name).map(|(_, d)| d)
    }

    /// Resolves a reference as SubmitJob takes it: `name` (latest revision), `name:revision`
    /// or an ARN ending in `job-definition/name[:revision]`. Returns the name and the
    /// definition.
    pub fn resolve(&self, reference: &str) -> Option<(&str, &JobDefinition)> {
        let r = match reference.strip_prefix("arn:") {
            Some(arn) => arn.rsplit_once("job-definition/")?.1,
            None => reference,
        };
        match r.rsplit_once(':') {
            Some((name, rev)) => {
                let rev: u32 = rev.parse().ok()?;
                let (k, d) = self.defs.get_key_value(&(name.to_string(), rev))?;
                Some((k.0.as_str(), d))
            }
            None => self.latest(r),
        }
    }

    fn latest(&self, name: &str) -> Option<(&str, &JobDefinition)> {
        let lo = (name.to_string(), 0);
        let hi = (name.to_string(), u32::MAX);
        self.defs
            .range(lo..=hi)
            .next_back()
            .map(|(k, d)| (k.0.as_str(), d))
    }

    /// Distinct names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        let mut last: Option<&str> = None;
        self.defs.keys().filter_map(move |(n, _)| {
            let new = last != Some(n.as_str());
            last = Some(n.as_str());
            new.then_some(n.as_str())
        })
    }

    /// Number of definitions (every revision counts).
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}

/// Whether `c` may appear in a parameter name after `Ref::`.
fn is_param_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Substitutes `Ref::name` placeholders in one argument. A placeholder is `Ref::` followed
/// by the longest run of letters, digits, `_` and `-`; it is replaced wherever it appears in
/// the argument (`--in=Ref::file` works). A placeholder whose name is not in `params`
/// (sorted by name) stays as written.
pub(crate) fn substitute_arg(arg: &str, params: &[(String, String)]) -> String {
    const REF: &str = "Ref::";
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(at) = rest.find(REF) {
        let (before, tail) = rest.split_at(at);
        out.push_str(before);
        let after = &tail[REF.len()..];
        let len = after.find(|c| !is_param_char(c)).unwrap_or(after.len());
        let name = &after[..len];
        match params.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(i) if !name.is_empty() => out.push_str(&params[i].1),
            _ => {
                out.push_str(REF);
                out.push_str(name);
            }
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Substitutes every argument of a command (see [`substitute_arg`]).
pub(crate) fn substitute(command: &[String], params: &[(String, String)]) -> Vec<String> {
    command
        .iter()
        .map(|a| {
            if a.contains("Ref::") {
                substitute_arg(a, params)
            } else {
                a.clone()
            }
        })
        .collect()
}

/// Merges submit-time parameters over a definition's defaults; both and the result are
/// sorted by name.
pub(crate) fn merge_parameters(
    defaults: &[(String, String)],
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = defaults
        .iter()
        .filter(|(k, _)| overrides.binary_search_by(|(o, _)| o.cmp(k)).is_err())
        .cloned()
        .collect();
    out.extend(overrides.iter().cloned());
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// vCPUs, MiB and GPUs of node `index`: the last range that covers it (later ranges
/// override earlier ones); `None` if no range does.
pub fn node_resources(np: &NodeProperties, index: u32) -> Option<(u32, u32, u32)> {
    np.node_ranges
        .iter()
        .rev()
        .find(|r| (r.start..=r.end).contains(&index))
        .map(|r| (r.vcpus, r.memory_mib, r.gpus))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ref_placeholders_are_replaced_inside_arguments() {
        let p = params(&[("codec", "mp4"), ("in", "a.mov")]);
        assert_eq!(substitute_arg("Ref::codec", &p), "mp4");
        assert_eq!(substitute_arg("--in=Ref::in,x", &p), "--in=a.mov,x");
        assert_eq!(substitute_arg("Ref::in/Ref::codec", &p), "a.mov/mp4");
        assert_eq!(substitute_arg("Ref::unknown", &p), "Ref::unknown");
        assert_eq!(
            substitute_arg("Ref::input", &p),
            "Ref::input",
            "whole token"
        );
        assert_eq!(substitute_arg("Ref::", &p), "Ref::");
        assert_eq!(substitute_arg("plain é", &p), "plain é");
    }

    #[test]
    fn overrides_win_and_stay_sorted() {
        let d = params(&[("a", "1"), ("c", "3")]);
        let o = params(&[("b", "x"), ("c", "y")]);
        assert_eq!(
            merge_parameters(&d, &o),
            params(&[("a", "1"), ("b", "x"), ("c", "y")])
        );
    }

    #[test]
    fn references_pick_revisions() {
        let mut defs = JobDefinitions::empty();
        for rev in [1, 3, 2] {
            let d = JobDefinition {
                revision: rev,
                vcpus: Some(rev),
                ..JobDefinition::default()
            };
            assert!(defs.insert("d", d).is_none());
        }
        let v = |r: &str| defs.resolve(r).and_then(|(_, d)| d.vcpus);
        assert_eq!(v("d"), Some(3), "latest");
        assert_eq!(v("d:2"), Some(2));
        assert_eq!(v("d:4"), None);
        assert_eq!(v("d:x"), None);
        assert_eq!(v("arn:aws:batch:us-east-1:1:job-definition/d:1"), Some(1));
        assert_eq!(v("e"), None);
        assert_eq!(defs.names().collect::<Vec<_>>(), ["d"]);
        assert_eq!(defs.len(), 3);
    }
}
