//! The scenario's `[swf]` section: how an SWF trace's jobs become AWS Batch jobs (see
//! [`super::swf_jobs`] for what each option does, and `docs/swf.md`).
//!
//! ```toml
//! trace = "../traces/swf/hpc2n_alea_subset.swf"   # .swf or .swf.gz (gzip by magic bytes)
//!
//! [swf]                              # every key optional
//! processors = "requested"           # or "allocated": which field sizes a job (the other
//!                                    # is the fallback when it is unknown)
//! memory = "requested"               # "used" (fallback to the other), or "ignore": every
//!                                    # job gets processors × memory_per_processor_mib
//! vcpus_per_processor = 1            # vCPUs of one SWF processor, 1 to 1024
//! memory_per_processor_mib = 1024    # MiB per processor when the log gives none, 1 to 1 TiB
//! timeout_from_requested_time = false   # requested time → timeout.attemptDurationSeconds
//! requested_time_fallback = "run_time"  # estimate when field 9 is unknown: "run_time" or "none"
//! cancelled = "replay"               # status 5: "replay" or "omit"
//! share_identifier = "none"          # "user" (u12), "group" (g3), "user_group" (u12g3)
//! think_time = false                 # submit a job think-time after its preceding job ends
//! cluster_from_header = false        # add an UNMANAGED compute environment of the machine
//! node_processors = 16               # with cluster_from_header: hosts of this many processors
//! [swf.queues]                       # SWF queue number → job queue name (others: the
//! "1" = "batch"                      # scenario's first job queue)
//! ```

use super::tomlerr::Ctx;
use super::InputError;
use crate::model::JobQueueId;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[swf]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireSwf {
    processors: Option<Spanned<String>>,
    memory: Option<Spanned<String>>,
    vcpus_per_processor: Option<Spanned<i64>>,
    memory_per_processor_mib: Option<Spanned<i64>>,
    timeout_from_requested_time: Option<bool>,
    requested_time_fallback: Option<Spanned<String>>,
    cancelled: Option<Spanned<String>>,
    share_identifier: Option<Spanned<String>>,
    think_time: Option<bool>,
    pub(crate) cluster_from_header: Option<bool>,
    node_processors: Option<Spanned<i64>>,
    #[serde(default)]
    queues: BTreeMap<String, Spanned<String>>,
}

/// Which processor count sizes a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcessorSource {
    /// Field 8, falling back to field 5 (what AWS Batch sees: the job's request).
    #[default]
    Requested,
    /// Field 5, falling back to field 8.
    Allocated,
}

/// Which memory sizes a job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemorySource {
    /// Field 10, falling back to field 7, then to the per-processor default.
    #[default]
    Requested,
    /// Field 7, falling back to field 10, then to the default.
    Used,
    /// Always the per-processor default.
    Ignore,
}

/// What becomes of a share identifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShareBy {
    /// No `shareIdentifier`.
    #[default]
    None,
    /// `u<user>`.
    User,
    /// `g<group>`.
    Group,
    /// `u<user>g<group>`.
    UserGroup,
}

/// The `[swf]` options, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwfOptions {
    /// `processors`.
    pub processors: ProcessorSource,
    /// `memory`.
    pub memory: MemorySource,
    /// `vcpus_per_processor`.
    pub vcpus_per_processor: u32,
    /// `memory_per_processor_mib`.
    pub memory_per_processor_mib: u32,
    /// `timeout_from_requested_time`.
    pub timeout_from_requested_time: bool,
    /// `requested_time_fallback = "run_time"` (true, default) or `"none"`.
    pub requested_time_fallback_run_time: bool,
    /// `cancelled = "replay"` (true) or `"omit"`.
    pub replay_cancelled: bool,
    /// `share_identifier`.
    pub share_by: ShareBy,
    /// `think_time`.
    pub think_time: bool,
    /// `cluster_from_header`.
    pub cluster_from_header: bool,
    /// `node_processors`.
    pub node_processors: Option<u32>,
}

impl Default for SwfOptions {
    fn default() -> Self {
        SwfOptions {
            processors: ProcessorSource::Requested,
            memory: MemorySource::Requested,
            vcpus_per_processor: 1,
            memory_per_processor_mib: 1024,
            timeout_from_requested_time: false,
            requested_time_fallback_run_time: true,
            replay_cancelled: true,
            share_by: ShareBy::None,
            think_time: false,
            cluster_from_header: false,
            node_processors: None,
        }
    }
}

fn choice<T: Copy>(
    ctx: &Ctx,
    v: Option<&Spanned<String>>,
    field: &str,
    options: &[(&str, T)],
    default: T,
) -> Result<T, InputError> {
    let Some(v) = v else { return Ok(default) };
    match options.iter().find(|(n, _)| *n == v.get_ref()) {
        Some((_, t)) => Ok(*t),
        None => {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
            let msg = format!(
                "expected one of {}, got `{}`",
                names.join(", "),
                v.get_ref()
            );
            Err(ctx.err(v.span(), field, msg))
        }
    }
}

/// Checks `[swf]` (absent: the defaults).
pub(crate) fn build_swf_options(ctx: &Ctx, w: Option<&WireSwf>) -> Result<SwfOptions, InputError> {
    let d = SwfOptions::default();
    let Some(w) = w else { return Ok(d) };
    use ProcessorSource as P;
    let processors = choice(
        ctx,
        w.processors.as_ref(),
        "swf.processors",
        &[("requested", P::Requested), ("allocated", P::Allocated)],
        d.processors,
    )?;
    use MemorySource as M;
    let memory = choice(
        ctx,
        w.memory.as_ref(),
        "swf.memory",
        &[
            ("requested", M::Requested),
            ("used", M::Used),
            ("ignore", M::Ignore),
        ],
        d.memory,
    )?;
    let replay_cancelled = choice(
        ctx,
        w.cancelled.as_ref(),
        "swf.cancelled",
        &[("replay", true), ("omit", false)],
        true,
    )?;
    use ShareBy as S;
    let share_by = choice(
        ctx,
        w.share_identifier.as_ref(),
        "swf.share_identifier",
        &[
            ("none", S::None),
            ("user", S::User),
            ("group", S::Group),
            ("user_group", S::UserGroup),
        ],
        d.share_by,
    )?;
    let vcpus_per_processor = match &w.vcpus_per_processor {
        Some(v) => ctx.uint(
            v,
            "swf.vcpus_per_processor",
            1,
            1024,
            "vCPUs from 1 to 1024",
        )?,
        None => d.vcpus_per_processor,
    };
    let memory_per_processor_mib = match &w.memory_per_processor_mib {
        Some(v) => ctx.uint(
            v,
            "swf.memory_per_processor_mib",
            1,
            1 << 20,
            "MiB from 1 to 1048576",
        )?,
        None => d.memory_per_processor_mib,
    };
    let node_processors = match &w.node_processors {
        Some(v) => Some(ctx.uint(v, "swf.node_processors", 1, 1 << 20, "processors ≥ 1")?),
        None => None,
    };
    Ok(SwfOptions {
        processors,
        memory,
        vcpus_per_processor,
        memory_per_processor_mib,
        timeout_from_requested_time: w.timeout_from_requested_time.unwrap_or(false),
        requested_time_fallback_run_time: match &w.requested_time_fallback {
            None => true,
            Some(v) => match v.get_ref().as_str() {
                "run_time" => true,
                "none" => false,
                _ => {
                    let msg = format!("expected \"run_time\" or \"none\", got \"{}\"", v.get_ref());
                    return Err(ctx.err(v.span(), "swf.requested_time_fallback", msg));
                }
            },
        },
        replay_cancelled,
        share_by,
        think_time: w.think_time.unwrap_or(false),
        cluster_from_header: w.cluster_from_header.unwrap_or(false),
        node_processors,
    })
}

/// Resolves `[swf.queues]` against the scenario's job queues.
pub(crate) fn resolve_queues(
    ctx: &Ctx,
    w: Option<&WireSwf>,
    queues: &[crate::model::JobQueue],
) -> Result<BTreeMap<u64, JobQueueId>, InputError> {
    let mut out = BTreeMap::new();
    let Some(w) = w else { return Ok(out) };
    for (k, v) in &w.queues {
        let field = format!("swf.queues.\"{k}\"");
        let Ok(n) = k.trim().parse::<u64>() else {
            let msg = format!("expected an SWF queue number as the key, got `{k}`");
            return Err(ctx.err(v.span(), field, msg));
        };
        match queues.iter().position(|q| q.name == *v.get_ref()) {
            Some(i) => out.insert(n, JobQueueId(i as u16)),
            None => {
                let known: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
                let msg = format!(
                    "unknown job queue `{}`; the scenario's queues are: {}",
                    v.get_ref(),
                    known.join(", ")
                );
                return Err(ctx.err(v.span(), field, msg));
            }
        };
    }
    Ok(out)
}
