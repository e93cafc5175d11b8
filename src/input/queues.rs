//! Job queues: wire shapes to model types, with AWS's rules (reference §1.3, §4).

use super::cluster::is_disabled;
use super::tomlerr::Ctx;
use super::wire::{WireQueue, WireTimeLimitAction};
use super::InputError;
use crate::model::{
    ComputeEnvironment, ComputeEnvironmentId, FairsharePolicy, JobQueue, JobStateTimeLimitAction,
    SimDuration,
};
use toml::Spanned;

/// AWS's limit of compute environments per job queue.
const MAX_CES_PER_QUEUE: usize = 3;

/// Most `jobStateTimeLimitActions` entries of a queue (AWS limit).
const MAX_TIME_LIMIT_ACTIONS: usize = 5;

/// Builds the job queues, in file order, against the compute environments.
pub(crate) fn build_job_queues(
    ctx: &Ctx,
    wires: &[Spanned<WireQueue>],
    ces: &[ComputeEnvironment],
    policies: &[(String, FairsharePolicy)],
) -> Result<Vec<JobQueue>, InputError> {
    if wires.len() > u16::MAX as usize {
        return Err(ctx.missing("job_queues", "too many job queues"));
    }
    let mut out: Vec<JobQueue> = Vec::with_capacity(wires.len());
    for (i, w) in wires.iter().enumerate() {
        let p = format!("job_queues[{i}]");
        let q = w.get_ref();
        let name = ctx.name(&q.name, &format!("{p}.jobQueueName"))?;
        if out.iter().any(|o| o.name == name) {
            return Err(ctx.err(
                q.name.span(),
                format!("{p}.jobQueueName"),
                format!("job queue `{name}` is defined twice"),
            ));
        }
        let priority = ctx.int(
            &q.priority,
            &format!("{p}.priority"),
            0,
            i32::MAX.into(),
            "a priority ≥ 0",
        )?;
        let disabled = is_disabled(ctx, q.state.as_ref(), &format!("{p}.state"))?;
        let fairshare_policy = match &q.scheduling_policy {
            None => None,
            Some(sp) => match policies.iter().find(|(n, _)| n == sp.get_ref()) {
                Some((_, policy)) => Some(policy.clone()),
                None => {
                    let known: Vec<&str> = policies.iter().map(|(n, _)| n.as_str()).collect();
                    let msg = if known.is_empty() {
                        format!(
                            "unknown scheduling policy `{}`; the scenario defines no \
                             [[scheduling_policies]]",
                            sp.get_ref()
                        )
                    } else {
                        format!(
                            "unknown scheduling policy `{}`; the scenario defines: {}",
                            sp.get_ref(),
                            known.join(", ")
                        )
                    };
                    return Err(ctx.err(sp.span(), format!("{p}.schedulingPolicy"), msg));
                }
            },
        };
        let job_state_time_limit_actions = time_limit_actions(
            ctx,
            &q.time_limit_actions,
            &format!("{p}.jobStateTimeLimitActions"),
        )?;
        let field = format!("{p}.computeEnvironmentOrder");
        let entries = q.order.get_ref();
        if entries.is_empty() {
            return Err(ctx.err(
                q.order.span(),
                field,
                "a job queue needs at least one compute environment",
            ));
        }
        if entries.len() > MAX_CES_PER_QUEUE {
            let msg = format!("a job queue can use at most {MAX_CES_PER_QUEUE} compute environments (AWS limit), got {}", entries.len());
            return Err(ctx.err(q.order.span(), field, msg));
        }
        let mut order: Vec<(i64, ComputeEnvironmentId)> = Vec::new();
        for (j, e) in entries.iter().enumerate() {
            let e = e.get_ref();
            let ef = format!("{field}[{j}]");
            let ce_name = e.compute_environment.get_ref();
            let Some(idx) = ces.iter().position(|c| &c.name == ce_name) else {
                let known: Vec<&str> = ces.iter().map(|c| c.name.as_str()).collect();
                let msg = format!(
                    "unknown compute environment `{ce_name}`; the scenario defines: {}",
                    known.join(", ")
                );
                return Err(ctx.err(
                    e.compute_environment.span(),
                    format!("{ef}.computeEnvironment"),
                    msg,
                ));
            };
            let id = ComputeEnvironmentId(idx as u16);
            if order.iter().any(|&(_, c)| c == id) {
                let msg = format!("compute environment `{ce_name}` appears twice in this queue");
                return Err(ctx.err(
                    e.compute_environment.span(),
                    format!("{ef}.computeEnvironment"),
                    msg,
                ));
            }
            let o = ctx.int(
                &e.order,
                &format!("{ef}.order"),
                0,
                i32::MAX.into(),
                "an order ≥ 0",
            )?;
            if order.iter().any(|&(x, _)| x == o) {
                return Err(ctx.err(
                    e.order.span(),
                    format!("{ef}.order"),
                    format!("order {o} is used twice in this queue"),
                ));
            }
            order.push((o, id));
        }
        order.sort_by_key(|&(o, _)| o);
        out.push(JobQueue {
            name,
            priority: i32::try_from(priority).unwrap_or(i32::MAX),
            compute_environment_order: order.into_iter().map(|(_, id)| id).collect(),
            disabled,
            job_state_time_limit_actions,
            fairshare_policy,
        });
    }
    Ok(out)
}

/// `jobStateTimeLimitActions`: state RUNNABLE, action CANCEL, 600 to 86,400 s.
fn time_limit_actions(
    ctx: &Ctx,
    wires: &[Spanned<WireTimeLimitAction>],
    p: &str,
) -> Result<Vec<JobStateTimeLimitAction>, InputError> {
    if let Some(extra) = wires.get(MAX_TIME_LIMIT_ACTIONS) {
        let msg = format!(
            "at most {MAX_TIME_LIMIT_ACTIONS} job state time limit actions are allowed, got {}",
            wires.len()
        );
        return Err(ctx.err(extra.span(), p, msg));
    }
    let mut out = Vec::with_capacity(wires.len());
    for (j, w) in wires.iter().enumerate() {
        let a = w.get_ref();
        let f = format!("{p}[{j}]");
        let reason = a.reason.get_ref();
        if reason.is_empty() || reason.len() > 1024 {
            let msg = "expected a reason of 1 to 1024 characters, e.g. \
                       `CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY`";
            return Err(ctx.err(a.reason.span(), format!("{f}.reason"), msg));
        }
        if a.state.get_ref() != "RUNNABLE" {
            let msg = format!(
                "expected RUNNABLE (the only state AWS allows), got `{}`",
                a.state.get_ref()
            );
            return Err(ctx.err(a.state.span(), format!("{f}.state"), msg));
        }
        if a.action.get_ref() != "CANCEL" {
            let msg = format!(
                "expected CANCEL (the only action AWS allows on EC2 job queues), got `{}`",
                a.action.get_ref()
            );
            return Err(ctx.err(a.action.span(), format!("{f}.action"), msg));
        }
        let what = "a whole number of seconds from 600 to 86400";
        let secs = ctx.uint(
            &a.max_time_seconds,
            &format!("{f}.maxTimeSeconds"),
            600,
            86_400,
            what,
        )?;
        out.push(JobStateTimeLimitAction {
            reason: reason.clone(),
            max_time: SimDuration::from_secs(secs.into()),
        });
    }
    Ok(out)
}
