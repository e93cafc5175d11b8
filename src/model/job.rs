//! Jobs and their states.

use super::{JobQueueId, SimDuration};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of a job in a run, assigned in submission order starting at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct JobId(pub u32);

/// The seven AWS Batch job states (reference §1.1). There is no CANCELLED state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Accepted by the queue, not yet evaluated.
    Submitted,
    /// Waiting for dependencies.
    Pending,
    /// Waiting for capacity.
    Runnable,
    /// Placed on an instance; the container is being started.
    Starting,
    /// The container runs (an attempt).
    Running,
    /// Exited 0.
    Succeeded,
    /// Failed all attempts, or was failed by the scheduler.
    Failed,
}

impl JobStatus {
    /// All states in lifecycle order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Submitted,
        JobStatus::Pending,
        JobStatus::Runnable,
        JobStatus::Starting,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
    ];

    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Pending => "PENDING",
            Self::Runnable => "RUNNABLE",
            Self::Starting => "STARTING",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }

    /// SUCCEEDED or FAILED.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job asks the scheduler for; the engine sees no run time or exit code, which are
/// facts of the world the driver owns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The job's name or id as the trace gives it.
    pub name: String,
    /// The job queue it is submitted to.
    pub queue: JobQueueId,
    /// vCPUs reserved.
    pub vcpus: u32,
    /// Memory reserved, MiB (a hard limit).
    pub memory_mib: u32,
    /// Whole GPUs reserved.
    pub gpus: u32,
    /// `retryStrategy.attempts`, 1 to 10.
    pub attempts: u32,
    /// `retryStrategy.evaluateOnExit`, at most 5 rules, first match wins.
    pub evaluate_on_exit: Vec<EvaluateOnExit>,
    /// `timeout.attemptDurationSeconds` (at least 60 s), counted from each attempt's RUNNING.
    pub timeout: Option<SimDuration>,
    /// `dependsOn`: jobs submitted earlier that must succeed first (at most 20).
    pub depends_on: Vec<JobDependency>,
    /// `arrayProperties`: this is an array job of `size` children.
    pub array: Option<ArrayProperties>,
    /// `jobDefinition` it was submitted with (`name:revision`), empty if none.
    pub job_definition: String,
    /// `parameters` (name, value), after submit-time overrides, in name order.
    pub parameters: Vec<(String, String)>,
    /// The container's command, parameters already substituted (`Ref::name`).
    pub command: Vec<String>,
    /// The container's environment variables (name, value), in order.
    pub environment: Vec<(String, String)>,
    /// `shareIdentifier`: required on fair-share queues, forbidden elsewhere.
    pub share_identifier: Option<String>,
    /// `schedulingPriority` (0 to 9999): higher first, within one share.
    pub scheduling_priority: u32,
    /// `nodeProperties`: this is a multi-node parallel job.
    pub node_properties: Option<NodeProperties>,
    /// The user's estimate of one attempt's run time (SWF field 9, "requested time"); only
    /// scheduling policies read it (shortest-job-first, backfilling). `None`: unknown, and
    /// policies fall back to `timeout` (see `engine::policy::estimate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_time: Option<SimDuration>,
    /// Who submitted it (SWF user id as `u<N>`, a trace's `user`), for per-user fairness
    /// figures and the `fair-share` policy's default share; `None` if the trace does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `nodeProperties` of a multi-node parallel job (reference §7).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeProperties {
    /// `numNodes`.
    pub num_nodes: u32,
    /// `mainNode`: index of the main node.
    pub main_node: u32,
    /// `nodeRangeProperties`, at most 5; a later range overrides an earlier one.
    pub node_ranges: Vec<NodeRange>,
}

/// One `nodeRangeProperties` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRange {
    /// First node index of `targetNodes` (`"0:3"` → 0; `":3"` → 0).
    pub start: u32,
    /// Last node index, inclusive (`"0:3"` → 3; `"2:"` → `num_nodes - 1`).
    pub end: u32,
    /// vCPUs of each node in the range.
    pub vcpus: u32,
    /// Memory of each node in the range, MiB.
    pub memory_mib: u32,
    /// GPUs of each node in the range.
    pub gpus: u32,
}

/// One `dependsOn` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDependency {
    /// The job depended on.
    pub job: JobId,
    /// Plain (wait for the whole job) or `N_TO_N` (child i waits for child i of an array job
    /// of the same size).
    pub kind: DependencyType,
}

/// `dependsOn[].type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DependencyType {
    /// No type: wait until the job (an array job: all its children) succeeded.
    Standard,
    /// `N_TO_N`: each child waits for the child of the same index.
    NToN,
}

/// `arrayProperties` of an array job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayProperties {
    /// Number of children, 2 to 10,000.
    pub size: u32,
    /// A `SEQUENTIAL` dependency: child i waits for child i-1.
    pub sequential: bool,
}

/// `retryStrategy.evaluateOnExit[]` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetryAction {
    /// Retry the job if attempts remain.
    Retry,
    /// Fail the job now.
    Exit,
}

/// One `evaluateOnExit` rule: every field given must match (reference §1.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateOnExit {
    /// What to do when the rule matches.
    pub action: RetryAction,
    /// Pattern for the attempt's `statusReason`.
    pub on_status_reason: Option<String>,
    /// Pattern for the container's `reason`.
    pub on_reason: Option<String>,
    /// Pattern for the decimal exit code.
    pub on_exit_code: Option<String>,
}

/// AWS's pattern rule: an exact match, or, when the pattern ends with `*`, a prefix match.
pub fn glob_matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

impl EvaluateOnExit {
    /// Whether the rule matches a failed attempt. A missing container reason reads as empty;
    /// a missing exit code (a lost host) matches no `onExitCode` pattern.
    pub fn matches(&self, status_reason: &str, reason: &str, exit_code: Option<i32>) -> bool {
        let sr = self
            .on_status_reason
            .as_deref()
            .is_none_or(|p| glob_matches(p, status_reason));
        let r = self
            .on_reason
            .as_deref()
            .is_none_or(|p| glob_matches(p, reason));
        let ec = self
            .on_exit_code
            .as_deref()
            .is_none_or(|p| exit_code.is_some_and(|c| glob_matches(p, &c.to_string())));
        sr && r && ec
    }
}

/// The action the rules choose for a failed attempt: the first rule that matches, or RETRY
/// when none does (reference §1.6; "first match wins" is INF, AWS lists a catch-all last).
pub fn retry_action(
    rules: &[EvaluateOnExit],
    status_reason: &str,
    reason: &str,
    exit_code: Option<i32>,
) -> RetryAction {
    rules
        .iter()
        .find(|r| r.matches(status_reason, reason, exit_code))
        .map_or(RetryAction::Retry, |r| r.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        action: RetryAction,
        sr: Option<&str>,
        r: Option<&str>,
        ec: Option<&str>,
    ) -> EvaluateOnExit {
        EvaluateOnExit {
            action,
            on_status_reason: sr.map(str::to_string),
            on_reason: r.map(str::to_string),
            on_exit_code: ec.map(str::to_string),
        }
    }

    #[test]
    fn checklist_5_evaluate_on_exit_globs_and_default_retry() {
        use RetryAction::*;
        // AWS's Spot example: retry host losses, exit on anything else.
        let rules = [
            rule(Retry, Some("Host EC2*"), None, None),
            rule(Exit, None, Some("*"), None),
        ];
        let host = "Host EC2 (instance i-0abc) terminated.";
        assert_eq!(retry_action(&rules, host, "", None), Retry);
        assert_eq!(
            retry_action(&rules, "Essential container in task exited", "", Some(1)),
            Exit
        );
        // All given fields must match; exit codes are decimal strings with prefix globs.
        let both = [rule(Exit, Some("Essential*"), None, Some("13*"))];
        assert_eq!(
            retry_action(&both, "Essential container in task exited", "", Some(137)),
            Exit
        );
        assert_eq!(
            retry_action(&both, "Essential container in task exited", "", Some(1)),
            Retry
        );
        assert_eq!(
            retry_action(&both, host, "", None),
            Retry,
            "no exit code matches no pattern"
        );
        assert_eq!(retry_action(&[], host, "", None), Retry, "no rule: retry");
        assert!(
            !glob_matches("Host", "Host EC2"),
            "without * the match is exact"
        );
    }
}
