//! `[[job_definitions]]` as written (RegisterJobDefinition's shape, camelCase): private serde
//! shapes with spans for error lines.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[[job_definitions]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireJobDef {
    #[serde(rename = "jobDefinitionName")]
    pub(crate) name: Spanned<String>,
    pub(crate) revision: Option<Spanned<i64>>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<Spanned<String>>,
    /// Shorthand for `containerProperties.vcpus`.
    pub(crate) vcpus: Option<Spanned<i64>>,
    /// Shorthand for `containerProperties.memory`.
    pub(crate) memory: Option<Spanned<i64>>,
    /// Shorthand for a `GPU` resource requirement.
    pub(crate) gpus: Option<Spanned<i64>>,
    #[serde(default)]
    pub(crate) parameters: BTreeMap<String, Spanned<String>>,
    #[serde(rename = "containerProperties")]
    pub(crate) container: Option<Spanned<WireContainer>>,
    #[serde(rename = "nodeProperties")]
    pub(crate) node_properties: Option<Spanned<WireNodeProperties>>,
    #[serde(rename = "retryStrategy")]
    pub(crate) retry_strategy: Option<Spanned<WireRetry>>,
    pub(crate) timeout: Option<WireTimeout>,
    #[serde(rename = "schedulingPriority")]
    pub(crate) scheduling_priority: Option<Spanned<i64>>,
    /// Accepted and ignored.
    #[serde(rename = "propagateTags")]
    #[allow(dead_code)]
    pub(crate) propagate_tags: Option<bool>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub(crate) tags: Option<toml::Value>,
}

/// `containerProperties`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireContainer {
    pub(crate) image: Option<Spanned<String>>,
    /// Live mode refuses `true`: containers never run privileged.
    pub(crate) privileged: Option<Spanned<bool>>,
    #[serde(rename = "readonlyRootFilesystem")]
    pub(crate) readonly_root_filesystem: Option<bool>,
    /// Present (any content): the container gets a network; absent: none.
    #[serde(rename = "networkConfiguration")]
    pub(crate) network_configuration: Option<toml::Value>,
    #[serde(rename = "linuxParameters")]
    pub(crate) linux_parameters: Option<WireLinuxParameters>,
    pub(crate) command: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(crate) environment: Vec<Spanned<WireKeyValue>>,
    #[serde(rename = "resourceRequirements", default)]
    pub(crate) resource_requirements: Vec<Spanned<WireResource>>,
    pub(crate) vcpus: Option<Spanned<i64>>,
    pub(crate) memory: Option<Spanned<i64>>,
}

/// `linuxParameters`: only `capabilities.add` is used (the ECS field; AWS Batch passes
/// other entries through), the rest is accepted and ignored.
#[derive(Deserialize)]
pub(crate) struct WireLinuxParameters {
    pub(crate) capabilities: Option<WireCapabilities>,
}

/// `linuxParameters.capabilities`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireCapabilities {
    #[serde(default)]
    pub(crate) add: Vec<Spanned<String>>,
}

/// The `container` of a node range: resources only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireNodeContainer {
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub(crate) image: Option<String>,
    #[serde(rename = "resourceRequirements", default)]
    pub(crate) resource_requirements: Vec<Spanned<WireResource>>,
    pub(crate) vcpus: Option<Spanned<i64>>,
    pub(crate) memory: Option<Spanned<i64>>,
}

/// One `environment` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireKeyValue {
    pub(crate) name: Spanned<String>,
    pub(crate) value: Spanned<String>,
}

/// One `resourceRequirements` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireResource {
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    pub(crate) value: Spanned<String>,
}

/// `nodeProperties`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireNodeProperties {
    #[serde(rename = "numNodes")]
    pub(crate) num_nodes: Spanned<i64>,
    #[serde(rename = "mainNode")]
    pub(crate) main_node: Spanned<i64>,
    #[serde(rename = "nodeRangeProperties")]
    pub(crate) ranges: Spanned<Vec<Spanned<WireNodeRange>>>,
}

/// One `nodeRangeProperties` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireNodeRange {
    #[serde(rename = "targetNodes")]
    pub(crate) target_nodes: Spanned<String>,
    pub(crate) container: Option<Spanned<WireNodeContainer>>,
}

/// `retryStrategy`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireRetry {
    pub(crate) attempts: Option<Spanned<i64>>,
    #[serde(rename = "evaluateOnExit")]
    pub(crate) evaluate_on_exit: Option<Spanned<Vec<Spanned<WireEvaluate>>>>,
}

/// One `evaluateOnExit` rule.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireEvaluate {
    pub(crate) action: Spanned<String>,
    #[serde(rename = "onStatusReason")]
    pub(crate) on_status_reason: Option<Spanned<String>>,
    #[serde(rename = "onReason")]
    pub(crate) on_reason: Option<Spanned<String>>,
    #[serde(rename = "onExitCode")]
    pub(crate) on_exit_code: Option<Spanned<String>>,
}

/// `timeout`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireTimeout {
    #[serde(rename = "attemptDurationSeconds")]
    pub(crate) attempt_duration_seconds: Spanned<i64>,
}
