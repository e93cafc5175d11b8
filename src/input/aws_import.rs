//! `describe-compute-environments`, `describe-job-queues`, `describe-job-definitions` and
//! `describe-scheduling-policies` output, read into plain records that [`super::toml_out`]
//! writes as a scenario.

use super::node::{name_from_arn, read_json, Node};
use super::spec::{parse_spec, SpecParts};
use crate::input::InputError;
use crate::model::Catalog;
use std::path::Path;

/// A compute environment as AWS describes it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImportCe {
    pub(crate) name: String,
    pub(crate) unmanaged: bool,
    pub(crate) state: Option<String>,
    /// `unmanagedvCpus` of an UNMANAGED compute environment.
    pub(crate) unmanaged_vcpus: Option<u32>,
    /// `computeResources` of a MANAGED one.
    pub(crate) resources: Option<ImportResources>,
}

/// `computeResources`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImportResources {
    pub(crate) market: String,
    pub(crate) min_vcpus: u32,
    pub(crate) max_vcpus: u32,
    pub(crate) desired_vcpus: Option<u32>,
    pub(crate) instance_types: Vec<String>,
    pub(crate) allocation_strategy: Option<String>,
    pub(crate) bid_percentage: Option<u32>,
    /// Why the strategy was changed, if it was.
    pub(crate) strategy_note: Option<String>,
}

/// A job queue as AWS describes it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImportQueue {
    pub(crate) name: String,
    pub(crate) priority: i64,
    pub(crate) state: Option<String>,
    /// (order, compute environment name).
    pub(crate) order: Vec<(u32, String)>,
    pub(crate) scheduling_policy: Option<String>,
    pub(crate) time_limit_actions: Vec<ImportTimeLimit>,
}

/// One `jobStateTimeLimitActions` entry (state RUNNABLE, action CANCEL: the only ones AWS
/// allows on EC2 job queues).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImportTimeLimit {
    pub(crate) reason: String,
    pub(crate) max_time_seconds: u32,
}

/// A fair-share scheduling policy.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ImportPolicy {
    pub(crate) name: String,
    pub(crate) share_decay_seconds: Option<u32>,
    pub(crate) compute_reservation: Option<u32>,
    /// (shareIdentifier, weightFactor).
    pub(crate) shares: Vec<(String, Option<f64>)>,
}

/// A job definition revision.
#[derive(Clone, Debug)]
pub(crate) struct ImportJobDef {
    pub(crate) name: String,
    pub(crate) revision: u32,
    pub(crate) kind: String,
    pub(crate) status: Option<String>,
    pub(crate) parts: SpecParts,
    /// Whether a VCPU value was fractional (Fargate) and was rounded up.
    pub(crate) rounded_vcpus: bool,
}

/// Reads `describe-compute-environments` output.
pub(crate) fn read_compute_environments(
    path: &Path,
    catalog: &Catalog,
) -> Result<Vec<ImportCe>, InputError> {
    let doc = read_json(path)?;
    let root = Node::root(&doc, path);
    let what = "the output of `aws batch describe-compute-environments`: an object with a \
                `computeEnvironments` array";
    let list = root.req("computeEnvironments", what)?;
    let mut out: Vec<ImportCe> = Vec::new();
    for ce in list.items("an array of compute environments")? {
        let n = ce.req("computeEnvironmentName", "the compute environment's name")?;
        let name = valid_name(&n)?;
        if out.iter().any(|c| c.name == name) {
            return Err(n.err(format!("compute environment `{name}` appears twice")));
        }
        let unmanaged = match ce.get("type") {
            None => false,
            Some(t) => match t.str("MANAGED or UNMANAGED")? {
                "MANAGED" => false,
                "UNMANAGED" => true,
                _ => return Err(t.expected("MANAGED or UNMANAGED")),
            },
        };
        let state = enabled_state(ce.get("state"))?;
        let unmanaged_vcpus = match ce.get("unmanagedvCpus") {
            Some(u) if unmanaged => Some(u.u32_in(0, u32::MAX, "a whole number of vCPUs")?),
            _ => None,
        };
        let resources = if unmanaged {
            None
        } else {
            let r = ce.req("computeResources", "the compute resources of a MANAGED one")?;
            Some(read_resources(&r, catalog)?)
        };
        out.push(ImportCe {
            name,
            unmanaged,
            state,
            unmanaged_vcpus,
            resources,
        });
    }
    Ok(out)
}

fn read_resources(r: &Node, catalog: &Catalog) -> Result<ImportResources, InputError> {
    let t = r.req("type", "EC2 or SPOT")?;
    let market = match t.str("EC2 or SPOT")? {
        m @ ("EC2" | "SPOT") => m.to_string(),
        f @ ("FARGATE" | "FARGATE_SPOT") => {
            return Err(t.err(format!(
                "{f} compute environments are not supported: flotilla simulates EC2 instances \
                 (type EC2 or SPOT)"
            )))
        }
        _ => return Err(t.expected("EC2 or SPOT")),
    };
    let vcpus = "a whole number of vCPUs ≥ 0";
    let max_vcpus = r
        .req("maxvCpus", "the most vCPUs it may scale to")?
        .u32_in(0, u32::MAX, vcpus)?;
    let min_vcpus = match r.get("minvCpus") {
        Some(m) => m.u32_in(0, max_vcpus, "a whole number of vCPUs from 0 to maxvCpus")?,
        None => 0,
    };
    let desired_vcpus = match r.get("desiredvCpus") {
        Some(d) => Some(d.u32_in(0, u32::MAX, vcpus)?.clamp(min_vcpus, max_vcpus)),
        None => None,
    };
    let types = r.req("instanceTypes", "a list of instance types or families")?;
    let instance_types = types.strings("a list of instance type names")?;
    for (i, sel) in instance_types.iter().enumerate() {
        let known = matches!(sel.as_str(), "optimal" | "default_x86_64")
            || !catalog.resolve_selector(sel).is_empty();
        if !known {
            let at = types.items("a list")?.swap_remove(i);
            return Err(at.err(format!(
                "instance type or family `{sel}` is not in flotilla's built-in catalog \
                 (catalogs/ec2-us-east-1.csv); remove it or add it to a catalog"
            )));
        }
    }
    let (allocation_strategy, strategy_note) = match r.get("allocationStrategy") {
        None => (None, None),
        Some(s) => {
            let v = s.str("an allocation strategy")?;
            match v {
                "BEST_FIT"
                | "BEST_FIT_PROGRESSIVE"
                | "SPOT_CAPACITY_OPTIMIZED"
                | "SPOT_PRICE_CAPACITY_OPTIMIZED" => (Some(v.to_string()), None),
                "BEST_FIT_PROGRESSIVE_ORDERED" | "SPOT_CAPACITY_OPTIMIZED_PRIORITIZED" => {
                    let base = v.rsplit_once('_').map_or(v, |(b, _)| b);
                    let note = format!(
                        "{v} imported as {base}: flotilla does not model the ordered variant"
                    );
                    (Some(base.to_string()), Some(note))
                }
                _ => return Err(s.expected("an allocation strategy such as BEST_FIT")),
            }
        }
    };
    let bid_percentage = match r.get("bidPercentage") {
        Some(b) if market == "SPOT" => {
            let v = b.u32_in(0, 100, "a percentage from 0 to 100")?;
            (v > 0).then_some(v)
        }
        _ => None,
    };
    Ok(ImportResources {
        market,
        min_vcpus,
        max_vcpus,
        desired_vcpus,
        instance_types,
        allocation_strategy,
        bid_percentage,
        strategy_note,
    })
}

/// Reads `describe-job-queues` output; compute environments (ARNs or names) must be among
/// `ces`, scheduling policies among `policies`.
pub(crate) fn read_job_queues(
    path: &Path,
    ces: &[ImportCe],
    policies: &[ImportPolicy],
) -> Result<Vec<ImportQueue>, InputError> {
    let doc = read_json(path)?;
    let root = Node::root(&doc, path);
    let what = "the output of `aws batch describe-job-queues`: an object with a `jobQueues` array";
    let list = root.req("jobQueues", what)?;
    let mut out: Vec<ImportQueue> = Vec::new();
    for q in list.items("an array of job queues")? {
        let n = q.req("jobQueueName", "the job queue's name")?;
        let name = valid_name(&n)?;
        if out.iter().any(|o| o.name == name) {
            return Err(n.err(format!("job queue `{name}` appears twice")));
        }
        if let Some(t) = q.get("jobQueueType") {
            let kind = t.str("ECS")?;
            if kind != "ECS" {
                return Err(t.err(format!(
                    "{kind} job queues are not supported; flotilla simulates ECS on EC2"
                )));
            }
        }
        let priority =
            q.req("priority", "the queue's priority")?
                .int(0, i32::MAX.into(), "a priority ≥ 0")?;
        let state = enabled_state(q.get("state"))?;
        let mut order = Vec::new();
        let ceo = q.req(
            "computeEnvironmentOrder",
            "the queue's compute environments",
        )?;
        for o in ceo.items("an array of {order, computeEnvironment} objects")? {
            let rank = o
                .req("order", "the position")?
                .u32_in(0, u32::MAX, "a whole number")?;
            let c = o.req("computeEnvironment", "a compute environment ARN or name")?;
            let ce = name_from_arn(
                c.text("a compute environment ARN or name")?,
                "compute-environment/",
            );
            if !ces.iter().any(|x| x.name == ce) {
                let known: Vec<&str> = ces.iter().map(|x| x.name.as_str()).collect();
                return Err(c.err(format!(
                    "unknown compute environment `{ce}`; the compute environments file has: {}",
                    known.join(", ")
                )));
            }
            order.push((rank, ce.to_string()));
        }
        let scheduling_policy = match q.get("schedulingPolicyArn") {
            None => None,
            Some(s) => {
                let p = name_from_arn(s.text("a scheduling policy ARN")?, "scheduling-policy/");
                if !policies.iter().any(|x| x.name == p) {
                    return Err(s.err(format!(
                        "the queue uses scheduling policy `{p}`, which is not among the \
                         imported ones; pass the output of `aws batch \
                         describe-scheduling-policies` with --scheduling-policies"
                    )));
                }
                Some(p.to_string())
            }
        };
        let mut time_limit_actions = Vec::new();
        if let Some(list) = q.get("jobStateTimeLimitActions") {
            for a in list.items("an array of time limit actions")? {
                let reason = a.req("reason", "a reason")?.text("a reason")?.to_string();
                let state = a.req("state", "RUNNABLE")?;
                if state.str("RUNNABLE")? != "RUNNABLE" {
                    return Err(state.expected("RUNNABLE (the only state AWS allows)"));
                }
                let action = a.req("action", "CANCEL")?;
                if action.str("CANCEL")? != "CANCEL" {
                    return Err(action.expected("CANCEL (the only action on EC2 job queues)"));
                }
                let max_time_seconds = a.req("maxTimeSeconds", "a number of seconds")?.u32_in(
                    600,
                    86_400,
                    "a whole number of seconds from 600 to 86400",
                )?;
                time_limit_actions.push(ImportTimeLimit {
                    reason,
                    max_time_seconds,
                });
            }
        }
        out.push(ImportQueue {
            name,
            priority,
            state,
            order,
            scheduling_policy,
            time_limit_actions,
        });
    }
    Ok(out)
}

/// Reads `describe-scheduling-policies` output.
pub(crate) fn read_scheduling_policies(path: &Path) -> Result<Vec<ImportPolicy>, InputError> {
    let doc = read_json(path)?;
    let root = Node::root(&doc, path);
    let what = "the output of `aws batch describe-scheduling-policies`: an object with a \
                `schedulingPolicies` array";
    let list = root.req("schedulingPolicies", what)?;
    let mut out = Vec::new();
    for p in list.items("an array of scheduling policies")? {
        let name = valid_name(&p.req("name", "the policy's name")?)?;
        let mut policy = ImportPolicy {
            name,
            share_decay_seconds: None,
            compute_reservation: None,
            shares: Vec::new(),
        };
        if let Some(f) = p.get("fairsharePolicy") {
            if let Some(s) = f.get("shareDecaySeconds") {
                policy.share_decay_seconds = Some(s.u32_in(0, 604_800, "0 to 604800 seconds")?);
            }
            if let Some(c) = f.get("computeReservation") {
                policy.compute_reservation = Some(c.u32_in(0, 99, "a percentage from 0 to 99")?);
            }
            if let Some(list) = f.get("shareDistribution") {
                for s in list.items("an array of shares")? {
                    let id = s.req("shareIdentifier", "a share identifier")?;
                    let weight = match s.get("weightFactor") {
                        Some(w) => Some(w.v.as_f64().ok_or_else(|| w.expected("a number"))?),
                        None => None,
                    };
                    policy
                        .shares
                        .push((id.text("a share identifier")?.to_string(), weight));
                }
            }
        }
        out.push(policy);
    }
    Ok(out)
}

/// Reads `describe-job-definitions` output (every revision it lists).
pub(crate) fn read_job_definitions(path: &Path) -> Result<Vec<ImportJobDef>, InputError> {
    let doc = read_json(path)?;
    let root = Node::root(&doc, path);
    let what = "the output of `aws batch describe-job-definitions`: an object with a \
                `jobDefinitions` array";
    let list = root.req("jobDefinitions", what)?;
    let mut out: Vec<ImportJobDef> = Vec::new();
    for d in list.items("an array of job definitions")? {
        let name = valid_name(&d.req("jobDefinitionName", "the job definition's name")?)?;
        let rev = d.req("revision", "the revision number")?;
        let revision = rev.u32_in(1, u32::MAX, "a revision number ≥ 1")?;
        if out.iter().any(|o| o.name == name && o.revision == revision) {
            return Err(rev.err(format!("job definition `{name}:{revision}` appears twice")));
        }
        let kind = match d.get("type") {
            None => "container".to_string(),
            Some(t) => match t.str("container or multinode")? {
                k @ ("container" | "multinode") => k.to_string(),
                _ => return Err(t.expected("container or multinode")),
            },
        };
        let status = match d.get("status") {
            Some(s) => Some(s.str("ACTIVE or INACTIVE")?.to_string()),
            None => None,
        };
        let rounded_vcpus = d
            .get("containerProperties")
            .and_then(|c| c.get("resourceRequirements"))
            .and_then(|r| r.v.as_array().cloned())
            .is_some_and(|reqs| {
                reqs.iter().any(|r| {
                    r.get("type").and_then(|t| t.as_str()) == Some("VCPU")
                        && r.get("value")
                            .and_then(|v| v.as_str())
                            .and_then(|v| v.parse::<f64>().ok())
                            .is_some_and(|f| f.fract() != 0.0)
                })
            });
        let mut parts = parse_spec(&d, "containerProperties")?;
        parts.job_definition.clear();
        out.push(ImportJobDef {
            name,
            revision,
            kind,
            status,
            parts,
            rounded_vcpus,
        });
    }
    Ok(out)
}

/// A name of 1 to 128 letters, digits, `-` or `_` (AWS's rule, and the scenario's).
fn valid_name(n: &Node) -> Result<String, InputError> {
    let s = n.text("a name")?;
    let ok = s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(n.expected("a name of 1 to 128 letters, digits, `-` or `_`"))
    }
}

/// `state`: ENABLED or DISABLED.
fn enabled_state(s: Option<Node>) -> Result<Option<String>, InputError> {
    match s {
        None => Ok(None),
        Some(s) => match s.str("ENABLED or DISABLED")? {
            v @ ("ENABLED" | "DISABLED") => Ok(Some(v.to_string())),
            _ => Err(s.expected("ENABLED or DISABLED")),
        },
    }
}
