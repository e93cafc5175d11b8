//! Writes imported AWS records as a scenario TOML file, AWS field names kept.

use super::import::{ImportCe, ImportJobDef, ImportPolicy, ImportQueue};
use crate::model::NodeProperties;
use std::fmt::Write;

/// A TOML string literal.
fn s(v: &str) -> String {
    toml::Value::String(v.to_string()).to_string()
}

/// A TOML key, quoted when it is not a bare key.
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        s(k)
    }
}

/// `["a", "b"]`.
fn list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| s(i)).collect();
    format!("[{}]", inner.join(", "))
}

/// `{ a = "x", b = "y" }`.
fn map(pairs: &[(String, String)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), s(v)))
        .collect();
    format!("{{ {} }}", inner.join(", "))
}

/// Comment lines (`# …`) for each line of `text`.
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "# {line}");
    }
}

/// The whole scenario file.
pub(crate) struct ScenarioText<'a> {
    pub(crate) name: &'a str,
    pub(crate) sources: &'a [String],
    pub(crate) trace: Option<&'a str>,
    pub(crate) epoch_ms: Option<u64>,
    pub(crate) notes: &'a [String],
    pub(crate) ces: &'a [ImportCe],
    pub(crate) queues: &'a [ImportQueue],
    pub(crate) policies: &'a [ImportPolicy],
    pub(crate) job_definitions: &'a [ImportJobDef],
}

impl ScenarioText<'_> {
    /// Renders the file.
    pub(crate) fn render(&self) -> String {
        let mut o = String::new();
        comment(
            &mut o,
            &format!(
                "{}: imported from AWS Batch JSON by `flotilla import-aws`\n  from {}\n\
                 Field names follow AWS Batch's API; snake_case fields are flotilla's own.",
                self.name,
                self.sources.join(", ")
            ),
        );
        for n in self.notes {
            comment(&mut o, n);
        }
        let _ = writeln!(o, "\nname = {}", s(self.name));
        o.push_str("seed = 1\n");
        match self.trace {
            Some(t) => {
                let _ = writeln!(o, "trace = {}", s(t));
            }
            None => {
                o.push_str(
                    "# PLACEHOLDER: no --jobs file was given. Point `trace` at a trace CSV, or\n\
                     # pass one (CSV or describe-jobs JSON) with `flotilla simulate --trace FILE`.\n",
                );
                o.push_str("trace = \"SET-ME-trace.csv\"\n");
            }
        }
        if let Some(e) = self.epoch_ms {
            let _ = writeln!(
                o,
                "epoch_ms = {e}                # Unix ms of simulated time 0 (the first createdAt)"
            );
        }
        for p in self.policies {
            write_policy(&mut o, p);
        }
        for ce in self.ces {
            write_ce(&mut o, ce);
        }
        for q in self.queues {
            write_queue(&mut o, q);
        }
        for d in self.job_definitions {
            write_job_definition(&mut o, d);
        }
        o
    }
}

fn write_policy(o: &mut String, p: &ImportPolicy) {
    let _ = writeln!(o, "\n[[scheduling_policies]]\nname = {}", s(&p.name));
    o.push_str("[scheduling_policies.fairsharePolicy]\n");
    if let Some(d) = p.share_decay_seconds {
        let _ = writeln!(o, "shareDecaySeconds = {d}");
    }
    if let Some(c) = p.compute_reservation {
        let _ = writeln!(o, "computeReservation = {c}");
    }
    if !p.shares.is_empty() {
        o.push_str("shareDistribution = [\n");
        for (id, w) in &p.shares {
            let weight = w.map_or(String::new(), |w| {
                format!(", weightFactor = {}", toml::Value::Float(w))
            });
            let _ = writeln!(o, "  {{ shareIdentifier = {}{weight} }},", s(id));
        }
        o.push_str("]\n");
    }
}

fn write_ce(o: &mut String, ce: &ImportCe) {
    let _ = writeln!(
        o,
        "\n[[compute_environments]]\ncomputeEnvironmentName = {}",
        s(&ce.name)
    );
    let kind = if ce.unmanaged { "UNMANAGED" } else { "MANAGED" };
    let _ = writeln!(o, "type = {}", s(kind));
    if let Some(st) = &ce.state {
        let _ = writeln!(o, "state = {}", s(st));
    }
    if ce.unmanaged {
        let vcpus = ce.unmanaged_vcpus.filter(|&v| v > 0).unwrap_or(4);
        o.push_str(
            "# PLACEHOLDER: AWS does not describe the hosts of an UNMANAGED compute environment;\n\
             # list yours here (name, vcpus, memory in MiB, optional gpus and count).\n",
        );
        let _ = writeln!(
            o,
            "hosts = [ {{ name = \"host\", vcpus = {vcpus}, memory = {} }} ]",
            u64::from(vcpus) * 4096
        );
        return;
    }
    let Some(r) = &ce.resources else { return };
    o.push_str("[compute_environments.computeResources]\n");
    let _ = writeln!(o, "type = {}", s(&r.market));
    let _ = writeln!(o, "minvCpus = {}", r.min_vcpus);
    let _ = writeln!(o, "maxvCpus = {}", r.max_vcpus);
    if let Some(d) = r.desired_vcpus {
        let _ = writeln!(o, "desiredvCpus = {d}");
    }
    let _ = writeln!(o, "instanceTypes = {}", list(&r.instance_types));
    if let Some(n) = &r.strategy_note {
        comment(o, n);
    }
    if let Some(a) = &r.allocation_strategy {
        let _ = writeln!(o, "allocationStrategy = {}", s(a));
    }
    if let Some(b) = r.bid_percentage {
        let _ = writeln!(o, "bidPercentage = {b}");
    }
}

fn write_queue(o: &mut String, q: &ImportQueue) {
    let _ = writeln!(
        o,
        "\n[[job_queues]]\njobQueueName = {}\npriority = {}",
        s(&q.name),
        q.priority
    );
    if let Some(st) = &q.state {
        let _ = writeln!(o, "state = {}", s(st));
    }
    if let Some(p) = &q.scheduling_policy {
        let _ = writeln!(o, "schedulingPolicy = {}", s(p));
    }
    o.push_str("computeEnvironmentOrder = [\n");
    for (order, ce) in &q.order {
        let _ = writeln!(
            o,
            "  {{ order = {order}, computeEnvironment = {} }},",
            s(ce)
        );
    }
    o.push_str("]\n");
    if !q.time_limit_actions.is_empty() {
        o.push_str("jobStateTimeLimitActions = [\n");
        for a in &q.time_limit_actions {
            let _ = writeln!(
                o,
                "  {{ reason = {}, state = \"RUNNABLE\", maxTimeSeconds = {}, action = \"CANCEL\" }},",
                s(&a.reason),
                a.max_time_seconds,
            );
        }
        o.push_str("]\n");
    }
}

/// `[{ type = "VCPU", value = "2" }, …]` for the resources given.
fn requirements(vcpus: Option<u32>, memory: Option<u32>, gpus: Option<u32>) -> String {
    let mut items = Vec::new();
    for (t, v) in [("VCPU", vcpus), ("MEMORY", memory), ("GPU", gpus)] {
        if let Some(v) = v {
            items.push(format!("{{ type = \"{t}\", value = \"{v}\" }}"));
        }
    }
    format!("[{}]", items.join(", "))
}

fn write_job_definition(o: &mut String, d: &ImportJobDef) {
    let p = &d.parts;
    o.push('\n');
    if d.status.as_deref() == Some("INACTIVE") {
        o.push_str("# INACTIVE revision (deregistered); kept so that old jobs resolve.\n");
    }
    let _ = writeln!(
        o,
        "[[job_definitions]]\njobDefinitionName = {}\nrevision = {}\ntype = {}",
        s(&d.name),
        d.revision,
        s(&d.kind)
    );
    if !p.parameters.is_empty() {
        let _ = writeln!(o, "parameters = {}", map(&p.parameters));
    }
    if let Some(sp) = p.scheduling_priority {
        let _ = writeln!(o, "schedulingPriority = {sp}");
    }
    if p.attempts.is_some() || !p.evaluate_on_exit.is_empty() {
        let mut fields = Vec::new();
        if let Some(a) = p.attempts {
            fields.push(format!("attempts = {a}"));
        }
        if !p.evaluate_on_exit.is_empty() {
            let rules: Vec<String> = p
                .evaluate_on_exit
                .iter()
                .map(|r| {
                    let mut f = vec![format!(
                        "action = {}",
                        s(match r.action {
                            crate::model::RetryAction::Retry => "RETRY",
                            crate::model::RetryAction::Exit => "EXIT",
                        })
                    )];
                    for (k, v) in [
                        ("onStatusReason", &r.on_status_reason),
                        ("onReason", &r.on_reason),
                        ("onExitCode", &r.on_exit_code),
                    ] {
                        if let Some(v) = v {
                            f.push(format!("{k} = {}", s(v)));
                        }
                    }
                    format!("{{ {} }}", f.join(", "))
                })
                .collect();
            fields.push(format!("evaluateOnExit = [{}]", rules.join(", ")));
        }
        let _ = writeln!(o, "retryStrategy = {{ {} }}", fields.join(", "));
    }
    if let Some(t) = p.timeout_s {
        let _ = writeln!(o, "timeout = {{ attemptDurationSeconds = {t} }}");
    }
    let r = p.resources;
    let has_container =
        r != Default::default() || !p.command.is_empty() || !p.environment.is_empty();
    if has_container && p.node_properties.is_none() {
        o.push_str("[job_definitions.containerProperties]\n");
        if !p.command.is_empty() {
            let _ = writeln!(o, "command = {}", list(&p.command));
        }
        if !p.environment.is_empty() {
            let env: Vec<String> = p
                .environment
                .iter()
                .map(|(k, v)| format!("{{ name = {}, value = {} }}", s(k), s(v)))
                .collect();
            let _ = writeln!(o, "environment = [{}]", env.join(", "));
        }
        if d.rounded_vcpus {
            o.push_str("# a fractional (Fargate) VCPU value was rounded up to a whole vCPU\n");
        }
        if r != Default::default() {
            let _ = writeln!(
                o,
                "resourceRequirements = {}",
                requirements(r.vcpus, r.memory_mib, r.gpus)
            );
        }
    }
    if let Some(np) = &p.node_properties {
        write_node_properties(o, np);
    }
}

fn write_node_properties(o: &mut String, np: &NodeProperties) {
    let _ = writeln!(
        o,
        "[job_definitions.nodeProperties]\nnumNodes = {}\nmainNode = {}",
        np.num_nodes, np.main_node
    );
    for r in &np.node_ranges {
        let _ = writeln!(
            o,
            "[[job_definitions.nodeProperties.nodeRangeProperties]]\ntargetNodes = \"{}:{}\"\n\
             container = {{ resourceRequirements = {} }}",
            r.start,
            r.end,
            requirements(
                Some(r.vcpus),
                Some(r.memory_mib),
                (r.gpus > 0).then_some(r.gpus)
            )
        );
    }
}
