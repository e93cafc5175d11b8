//! `[[job_definitions]]` of the scenario TOML to [`JobDefinitions`], with AWS's rules
//! (reference §1.5, §1.6, §6, §7).

use super::jobdef::{JobDefinition, JobDefinitions};
use super::tomlerr::Ctx;
use super::wire_jobdef::{
    WireContainer, WireEvaluate, WireJobDef, WireNodeProperties, WireResource, WireRetry,
};
use super::InputError;
use crate::model::{EvaluateOnExit, NodeProperties, NodeRange, RetryAction, SimDuration};
use toml::Spanned;

/// Most `evaluateOnExit` rules AWS accepts.
pub(crate) const MAX_EVALUATE_ON_EXIT: usize = 5;
/// Most `nodeRangeProperties` AWS accepts.
const MAX_NODE_RANGES: usize = 5;
/// Most nodes of a multi-node job (the ECS per-cluster default, reference §7).
const MAX_NODES: u32 = 1000;
/// Longest `evaluateOnExit` pattern.
const MAX_PATTERN_LEN: usize = 512;

/// vCPUs, MiB and GPUs as a container gives them (each may be absent).
type Resources = (Option<u32>, Option<u32>, Option<u32>);

/// Builds the job definitions; two entries with one name need distinct revisions.
pub(crate) fn build_job_definitions(
    ctx: &Ctx,
    wires: &[Spanned<WireJobDef>],
) -> Result<JobDefinitions, InputError> {
    let mut defs = JobDefinitions::empty();
    for (i, w) in wires.iter().enumerate() {
        let p = format!("job_definitions[{i}]");
        let d = w.get_ref();
        let name = ctx.name(&d.name, &format!("{p}.jobDefinitionName"))?;
        let def = build_one(ctx, d, &p)?;
        let revision = def.revision;
        if defs.insert(name.clone(), def).is_some() {
            let msg = format!(
                "job definition `{name}` revision {revision} is defined twice; give each \
                 entry of one name its own `revision`"
            );
            return Err(ctx.err(d.name.span(), format!("{p}.jobDefinitionName"), msg));
        }
    }
    Ok(defs)
}

fn build_one(ctx: &Ctx, d: &WireJobDef, p: &str) -> Result<JobDefinition, InputError> {
    let revision = match &d.revision {
        Some(r) => ctx.uint(r, &format!("{p}.revision"), 1, u32::MAX, "a revision ≥ 1")?,
        None => 1,
    };
    let multinode = match &d.kind {
        None => false,
        Some(k) => match k.get_ref().as_str() {
            "container" => false,
            "multinode" => true,
            other => {
                let msg = format!("expected `container` or `multinode`, got `{other}`");
                return Err(ctx.err(k.span(), format!("{p}.type"), msg));
            }
        },
    };
    let mut def = JobDefinition {
        revision,
        ..JobDefinition::default()
    };
    match (&d.node_properties, multinode) {
        (Some(np), true) => {
            def.node_properties = Some(node_properties(ctx, np, &format!("{p}.nodeProperties"))?);
            let top = [
                ("vcpus", &d.vcpus),
                ("memory", &d.memory),
                ("gpus", &d.gpus),
            ];
            if let Some((f, v)) = top.iter().find_map(|(f, v)| v.as_ref().map(|v| (f, v))) {
                let msg = "a multinode job definition takes its resources from \
                           nodeProperties.nodeRangeProperties[].container";
                return Err(ctx.err(v.span(), format!("{p}.{f}"), msg));
            }
            if let Some(c) = &d.container {
                let msg =
                    "a multinode job definition takes nodeProperties, not containerProperties";
                return Err(ctx.err(c.span(), format!("{p}.containerProperties"), msg));
            }
        }
        (Some(np), false) => {
            let msg = "nodeProperties needs `type = \"multinode\"`";
            return Err(ctx.err(np.span(), format!("{p}.nodeProperties"), msg));
        }
        (None, true) => {
            let field = format!("{p}.nodeProperties");
            let msg = "a multinode job definition needs nodeProperties";
            return Err(match &d.kind {
                Some(k) => ctx.err(k.span(), field, msg),
                None => ctx.missing(field, msg),
            });
        }
        (None, false) => {
            let (mut v, mut m, mut g) = (None, None, None);
            if let Some(c) = &d.container {
                let cp = format!("{p}.containerProperties");
                (v, m, g) = container_resources(ctx, c.get_ref(), &cp)?;
                container_rest(ctx, c.get_ref(), &cp, &mut def)?;
            }
            let top = [
                (&d.vcpus, &mut v, "vcpus", 1, "a whole number of vCPUs ≥ 1"),
                (&d.memory, &mut m, "memory", 1, "a whole number of MiB ≥ 1"),
                (&d.gpus, &mut g, "gpus", 0, "a whole number of GPUs ≥ 0"),
            ];
            for (wire, slot, f, min, what) in top {
                let Some(x) = wire else { continue };
                let field = format!("{p}.{f}");
                let n = ctx.uint(x, &field, min, u32::MAX, what)?;
                if slot.is_some() {
                    let msg = format!("`{f}` is also given in containerProperties; give it once");
                    return Err(ctx.err(x.span(), field, msg));
                }
                *slot = Some(n);
            }
            (def.vcpus, def.memory_mib, def.gpus) = (v, m, g);
        }
    }
    for (k, v) in &d.parameters {
        def.parameters.push((k.clone(), v.get_ref().clone()));
    }
    if let Some(r) = &d.retry_strategy {
        retry(ctx, r, &format!("{p}.retryStrategy"), &mut def)?;
    }
    if let Some(t) = &d.timeout {
        let f = format!("{p}.timeout.attemptDurationSeconds");
        let what = "a whole number of seconds ≥ 60";
        let s = ctx.uint(&t.attempt_duration_seconds, &f, 60, u32::MAX, what)?;
        def.timeout = Some(SimDuration::from_secs(s.into()));
    }
    if let Some(s) = &d.scheduling_priority {
        let f = format!("{p}.schedulingPriority");
        def.scheduling_priority = Some(ctx.uint(s, &f, 0, 9999, "a priority from 0 to 9999")?);
    }
    Ok(def)
}

/// `command` and `environment` of `containerProperties`.
fn container_rest(
    ctx: &Ctx,
    c: &WireContainer,
    p: &str,
    def: &mut JobDefinition,
) -> Result<(), InputError> {
    container_live(ctx, c, p, def)?;
    if let Some(cmd) = &c.command {
        for (j, a) in cmd.get_ref().iter().enumerate() {
            if a.get_ref().is_empty() {
                let msg = "a command argument cannot be empty (AWS rejects it)";
                return Err(ctx.err(a.span(), format!("{p}.command[{j}]"), msg));
            }
            def.command.push(a.get_ref().clone());
        }
    }
    for (j, e) in c.environment.iter().enumerate() {
        let e = e.get_ref();
        let n = e.name.get_ref();
        let field = format!("{p}.environment[{j}].name");
        if n.is_empty() || n.starts_with("AWS_BATCH") {
            let msg = format!(
                "expected a variable name that is not empty and does not start with \
                 AWS_BATCH (a prefix Batch keeps for itself), got `{n}`"
            );
            return Err(ctx.err(e.name.span(), field, msg));
        }
        if def.environment.iter().any(|(k, _)| k == n) {
            let msg = format!("environment variable `{n}` is given twice");
            return Err(ctx.err(e.name.span(), field, msg));
        }
        def.environment.push((n.clone(), e.value.get_ref().clone()));
    }
    Ok(())
}

/// Resources of a container: `resourceRequirements` override `vcpus` and `memory`.
fn container_resources(ctx: &Ctx, c: &WireContainer, p: &str) -> Result<Resources, InputError> {
    resources(ctx, &c.resource_requirements, &c.vcpus, &c.memory, p)
}

fn resources(
    ctx: &Ctx,
    reqs: &[Spanned<WireResource>],
    vcpus: &Option<Spanned<i64>>,
    memory: &Option<Spanned<i64>>,
    p: &str,
) -> Result<Resources, InputError> {
    let mut v = match vcpus {
        Some(x) => Some(ctx.uint(
            x,
            &format!("{p}.vcpus"),
            1,
            u32::MAX,
            "a whole number of vCPUs ≥ 1",
        )?),
        None => None,
    };
    let mut m = match memory {
        Some(x) => Some(ctx.uint(
            x,
            &format!("{p}.memory"),
            1,
            u32::MAX,
            "a whole number of MiB ≥ 1",
        )?),
        None => None,
    };
    let mut g = None;
    let mut seen: Vec<&str> = Vec::new();
    for (j, r) in reqs.iter().enumerate() {
        let r = r.get_ref();
        let f = format!("{p}.resourceRequirements[{j}]");
        let kind = r.kind.get_ref().as_str();
        let (slot, min, what) = match kind {
            "VCPU" => (&mut v, 1, "a whole number of vCPUs ≥ 1"),
            "MEMORY" => (&mut m, 1, "a whole number of MiB ≥ 1"),
            "GPU" => (&mut g, 0, "a whole number of GPUs ≥ 0"),
            other => {
                let msg = format!("expected VCPU, MEMORY or GPU, got `{other}`");
                return Err(ctx.err(r.kind.span(), format!("{f}.type"), msg));
            }
        };
        if seen.contains(&kind) {
            let msg = format!("resource type {kind} is listed twice");
            return Err(ctx.err(r.kind.span(), format!("{f}.type"), msg));
        }
        seen.push(kind);
        let val = r.value.get_ref();
        match super::csvutil::parse_u32(val.trim().as_bytes()) {
            Some(n) if n >= min => *slot = Some(n),
            _ => {
                let msg = format!("expected {what}, written as a string, got `{val}`");
                return Err(ctx.err(r.value.span(), format!("{f}.value"), msg));
            }
        }
    }
    Ok((v, m, g))
}

fn retry(
    ctx: &Ctx,
    r: &Spanned<WireRetry>,
    p: &str,
    def: &mut JobDefinition,
) -> Result<(), InputError> {
    let w = r.get_ref();
    if let Some(a) = &w.attempts {
        let what = "a number of attempts from 1 to 10";
        def.attempts = Some(ctx.uint(a, &format!("{p}.attempts"), 1, 10, what)?);
    }
    let Some(rules) = &w.evaluate_on_exit else {
        return Ok(());
    };
    let field = format!("{p}.evaluateOnExit");
    if rules.get_ref().len() > MAX_EVALUATE_ON_EXIT {
        let msg = format!(
            "at most {MAX_EVALUATE_ON_EXIT} evaluateOnExit rules are allowed (AWS limit), got {}",
            rules.get_ref().len()
        );
        return Err(ctx.err(rules.span(), field, msg));
    }
    if w.attempts.is_none() && !rules.get_ref().is_empty() {
        let msg = "evaluateOnExit needs `attempts` in the same retryStrategy (AWS requires it)";
        return Err(ctx.err(rules.span(), field, msg));
    }
    for (j, rule) in rules.get_ref().iter().enumerate() {
        def.evaluate_on_exit
            .push(evaluate(ctx, rule.get_ref(), &format!("{field}[{j}]"))?);
    }
    Ok(())
}

fn evaluate(ctx: &Ctx, e: &WireEvaluate, p: &str) -> Result<EvaluateOnExit, InputError> {
    let action = match e.action.get_ref().to_ascii_uppercase().as_str() {
        "RETRY" => RetryAction::Retry,
        "EXIT" => RetryAction::Exit,
        _ => {
            let msg = format!("expected RETRY or EXIT, got `{}`", e.action.get_ref());
            return Err(ctx.err(e.action.span(), format!("{p}.action"), msg));
        }
    };
    let pattern = |v: &Option<Spanned<String>>, f: &str, digits: bool| match v {
        None => Ok(None),
        Some(s) => match check_pattern(s.get_ref(), digits) {
            Ok(()) => Ok(Some(s.get_ref().clone())),
            Err(msg) => Err(ctx.err(s.span(), format!("{p}.{f}"), msg)),
        },
    };
    Ok(EvaluateOnExit {
        action,
        on_status_reason: pattern(&e.on_status_reason, "onStatusReason", false)?,
        on_reason: pattern(&e.on_reason, "onReason", false)?,
        on_exit_code: pattern(&e.on_exit_code, "onExitCode", true)?,
    })
}

/// AWS's pattern syntax: `onExitCode` digits, the others letters, digits, `.`, `:` and
/// white space; either may end with `*`; 1 to 512 characters.
pub(crate) fn check_pattern(s: &str, digits: bool) -> Result<(), String> {
    let body = s.strip_suffix('*').unwrap_or(s);
    let ok_char = |c: char| {
        if digits {
            c.is_ascii_digit()
        } else {
            c.is_ascii_alphanumeric() || c == '.' || c == ':' || c.is_whitespace()
        }
    };
    if !s.is_empty() && s.len() <= MAX_PATTERN_LEN && body.chars().all(ok_char) {
        Ok(())
    } else if digits {
        Err(format!(
            "expected 1 to {MAX_PATTERN_LEN} digits, optionally ending in `*`, got `{s}`"
        ))
    } else {
        Err(format!(
            "expected 1 to {MAX_PATTERN_LEN} letters, digits, `.`, `:` or spaces, optionally \
             ending in `*`, got `{s}`"
        ))
    }
}

fn node_properties(
    ctx: &Ctx,
    np: &Spanned<WireNodeProperties>,
    p: &str,
) -> Result<NodeProperties, InputError> {
    let w = np.get_ref();
    let what = format!("a number of nodes from 1 to {MAX_NODES}");
    let num_nodes = ctx.uint(&w.num_nodes, &format!("{p}.numNodes"), 1, MAX_NODES, &what)?;
    let last = num_nodes - 1;
    let what = format!("a node index from 0 to {last} (below numNodes)");
    let main_node = ctx.uint(&w.main_node, &format!("{p}.mainNode"), 0, last, &what)?;
    let rf = format!("{p}.nodeRangeProperties");
    let ranges = w.ranges.get_ref();
    if ranges.is_empty() || ranges.len() > MAX_NODE_RANGES {
        let msg = format!(
            "expected 1 to {MAX_NODE_RANGES} node ranges (AWS limit), got {}",
            ranges.len()
        );
        return Err(ctx.err(w.ranges.span(), rf, msg));
    }
    let mut node_ranges = Vec::with_capacity(ranges.len());
    for (j, r) in ranges.iter().enumerate() {
        let r = r.get_ref();
        let f = format!("{rf}[{j}]");
        let t = &r.target_nodes;
        let (start, end) = parse_target_nodes(t.get_ref(), last)
            .map_err(|m| ctx.err(t.span(), format!("{f}.targetNodes"), m))?;
        let (v, m, g) = match &r.container {
            Some(c) => {
                let c = c.get_ref();
                let cf = format!("{f}.container");
                resources(ctx, &c.resource_requirements, &c.vcpus, &c.memory, &cf)?
            }
            None => (None, None, None),
        };
        node_ranges.push(NodeRange {
            start,
            end,
            vcpus: v.unwrap_or(1),
            memory_mib: m.unwrap_or(2048),
            gpus: g.unwrap_or(0),
        });
    }
    let mut spans: Vec<(u32, u32)> = node_ranges.iter().map(|r| (r.start, r.end)).collect();
    spans.sort_unstable();
    let mut next = 0u32;
    for (s, e) in spans {
        if s > next {
            break;
        }
        next = next.max(e.saturating_add(1));
    }
    if next <= last {
        let msg = format!(
            "node {next} is in no range: the ranges together must cover every node from 0 \
             to {last}"
        );
        return Err(ctx.err(w.ranges.span(), rf, msg));
    }
    Ok(NodeProperties {
        num_nodes,
        main_node,
        node_ranges,
    })
}

/// `targetNodes`: `"0:3"`, `"2:"` (to the last node), `":3"` (from node 0), `"2"` or `":"`,
/// inclusive; `last` is `numNodes - 1`.
pub(crate) fn parse_target_nodes(s: &str, last: u32) -> Result<(u32, u32), String> {
    let num = |t: &str, default: u32| -> Result<u32, String> {
        let t = t.trim();
        if t.is_empty() {
            return Ok(default);
        }
        super::csvutil::parse_u32(t.as_bytes()).ok_or_else(|| {
            format!("expected a node range like `0:3`, `2:`, `:3` or `2`, got `{s}`")
        })
    };
    let (start, end) = match s.split_once(':') {
        Some((a, b)) => (num(a, 0)?, num(b, last)?),
        None if s.trim().is_empty() => {
            return Err(format!(
                "expected a node range like `0:3`, `2:`, `:3` or `2`, got `{s}`"
            ))
        }
        None => {
            let n = num(s, 0)?;
            (n, n)
        }
    };
    if start > end {
        return Err(format!("the range `{s}` starts after it ends"));
    }
    if end > last {
        return Err(format!(
            "the range `{s}` goes past the last node, {last} (numNodes - 1)"
        ));
    }
    Ok((start, end))
}

/// Image, privilege, network and capabilities: what live mode runs the container with.
fn container_live(
    ctx: &Ctx,
    c: &WireContainer,
    p: &str,
    def: &mut JobDefinition,
) -> Result<(), InputError> {
    let live = &mut def.container;
    if let Some(i) = &c.image {
        if i.get_ref().trim().is_empty() {
            let msg = "expected an image name such as `busybox:latest`";
            return Err(ctx.err(i.span(), format!("{p}.image"), msg));
        }
        live.image = i.get_ref().clone();
    }
    live.privileged = c.privileged.as_ref().is_some_and(|b| *b.get_ref());
    live.read_only_root = c.readonly_root_filesystem.unwrap_or(false);
    live.network = c.network_configuration.is_some();
    let caps = c
        .linux_parameters
        .as_ref()
        .and_then(|l| l.capabilities.as_ref());
    for (j, cap) in caps.map_or(&[][..], |c| &c.add[..]).iter().enumerate() {
        let name = cap.get_ref().trim_start_matches("CAP_");
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
            let f = format!("{p}.linuxParameters.capabilities.add[{j}]");
            let msg = format!("expected a capability name such as `NET_ADMIN`, got `{name}`");
            return Err(ctx.err(cap.span(), f, msg));
        }
        live.capabilities.push(name.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_nodes_forms() {
        assert_eq!(parse_target_nodes("0:3", 7), Ok((0, 3)));
        assert_eq!(parse_target_nodes("2:", 7), Ok((2, 7)));
        assert_eq!(parse_target_nodes(":3", 7), Ok((0, 3)));
        assert_eq!(parse_target_nodes("5", 7), Ok((5, 5)));
        assert_eq!(parse_target_nodes(":", 7), Ok((0, 7)));
        for bad in ["", "3:1", "0:8", "a:2", "-1:2", "1:2:3"] {
            assert!(parse_target_nodes(bad, 7).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_follow_aws_syntax() {
        assert!(check_pattern("13*", true).is_ok());
        assert!(check_pattern("*", true).is_ok());
        assert!(check_pattern("1a", true).is_err());
        assert!(check_pattern("", false).is_err());
        assert!(check_pattern("Host EC2*", false).is_ok());
        assert!(check_pattern("a*b", false).is_err(), "`*` only at the end");
        assert!(check_pattern("x(y)", false).is_err());
        assert!(check_pattern(&"a".repeat(513), false).is_err());
        assert!(check_pattern(&"a".repeat(512), false).is_ok());
    }
}
