//! The scenario TOML as written: private serde shapes, with spans for error lines.
//!
//! Integers are read as `i64` and range-checked afterwards so that the error names the field.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireScenario {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) seed: Option<Spanned<i64>>,
    pub(crate) trace: Option<Spanned<String>>,
    pub(crate) catalog: Option<Spanned<String>>,
    pub(crate) memory_overhead_pct: Option<Spanned<f64>>,
    pub(crate) boot_delay_s: Option<Spanned<f64>>,
    pub(crate) container_start_delay_s: Option<Spanned<f64>>,
    #[serde(default)]
    pub(crate) compute_environments: Vec<Spanned<WireCe>>,
    #[serde(default)]
    pub(crate) job_queues: Vec<Spanned<WireQueue>>,
    #[serde(default)]
    pub(crate) job_definitions: Vec<Spanned<WireJobDef>>,
    pub(crate) spot: Option<WireSpot>,
}

/// `[[compute_environments]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireCe {
    #[serde(rename = "computeEnvironmentName")]
    pub(crate) name: Spanned<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<Spanned<String>>,
    pub(crate) state: Option<Spanned<String>>,
    pub(crate) idle_timeout_s: Option<Spanned<f64>>,
    pub(crate) capacity_retry_s: Option<Spanned<f64>>,
    #[serde(rename = "computeResources")]
    pub(crate) resources: Option<Spanned<WireResources>>,
}

/// `[compute_environments.computeResources]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireResources {
    #[serde(rename = "type")]
    pub(crate) market: Spanned<String>,
    #[serde(rename = "minvCpus")]
    pub(crate) min_vcpus: Option<Spanned<i64>>,
    #[serde(rename = "maxvCpus")]
    pub(crate) max_vcpus: Spanned<i64>,
    #[serde(rename = "desiredvCpus")]
    pub(crate) desired_vcpus: Option<Spanned<i64>>,
    #[serde(rename = "instanceTypes")]
    pub(crate) instance_types: Spanned<Vec<Spanned<String>>>,
    #[serde(rename = "allocationStrategy")]
    pub(crate) allocation_strategy: Option<Spanned<String>>,
    #[serde(rename = "bidPercentage")]
    pub(crate) bid_percentage: Option<Spanned<i64>>,
}

/// `[[job_queues]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireQueue {
    #[serde(rename = "jobQueueName")]
    pub(crate) name: Spanned<String>,
    pub(crate) priority: Spanned<i64>,
    pub(crate) state: Option<Spanned<String>>,
    #[serde(rename = "computeEnvironmentOrder")]
    pub(crate) order: Spanned<Vec<Spanned<WireOrder>>>,
}

/// One `computeEnvironmentOrder` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireOrder {
    pub(crate) order: Spanned<i64>,
    #[serde(rename = "computeEnvironment")]
    pub(crate) compute_environment: Spanned<String>,
}

/// `[[job_definitions]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireJobDef {
    #[serde(rename = "jobDefinitionName")]
    pub(crate) name: Spanned<String>,
    pub(crate) vcpus: Option<Spanned<i64>>,
    pub(crate) memory: Option<Spanned<i64>>,
    pub(crate) gpus: Option<Spanned<i64>>,
    #[serde(rename = "retryStrategy")]
    pub(crate) retry_strategy: Option<WireRetry>,
    pub(crate) timeout: Option<WireTimeout>,
}

/// `retryStrategy`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireRetry {
    pub(crate) attempts: Spanned<i64>,
}

/// `timeout`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireTimeout {
    #[serde(rename = "attemptDurationSeconds")]
    pub(crate) attempt_duration_seconds: Spanned<i64>,
}

/// `[spot]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireSpot {
    pub(crate) hazard_scale: Option<Spanned<f64>>,
    pub(crate) price_series: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) capacity: BTreeMap<String, Spanned<i64>>,
}
