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
    pub(crate) epoch_ms: Option<Spanned<i64>>,
    pub(crate) scheduler: Option<WireScheduler>,
    #[serde(default)]
    pub(crate) scheduling_policies: Vec<Spanned<WirePolicy>>,
    #[serde(default)]
    pub(crate) compute_environments: Vec<Spanned<WireCe>>,
    #[serde(default)]
    pub(crate) job_queues: Vec<Spanned<WireQueue>>,
    #[serde(default)]
    pub(crate) job_definitions: Vec<Spanned<super::wire_jobdef::WireJobDef>>,
    pub(crate) spot: Option<WireSpot>,
    /// `[generate]`: a synthetic trace instead of `trace` (see `input::generated`).
    pub(crate) generate: Option<Spanned<toml::Table>>,
    pub(crate) swf: Option<super::swf_options::WireSwf>,
    pub(crate) alibaba: Option<super::alibaba::WireAlibaba>,
    pub(crate) catalog_filter: Option<Spanned<super::catalog_filter::WireCatalogFilter>>,
    /// `[sweep]`: the grid of `flotilla sweep` and `flotilla plan` (read by `plan::grid`;
    /// a single run ignores it).
    #[allow(dead_code)]
    pub(crate) sweep: Option<toml::Table>,
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
    /// UNMANAGED only: the fixed hosts.
    pub(crate) hosts: Option<Spanned<Vec<Spanned<WireHost>>>>,
}

/// One `hosts` entry of an UNMANAGED compute environment.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireHost {
    pub(crate) name: Spanned<String>,
    pub(crate) vcpus: Spanned<i64>,
    pub(crate) memory: Spanned<i64>,
    pub(crate) gpus: Option<Spanned<i64>>,
    pub(crate) count: Option<Spanned<i64>>,
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
    #[serde(rename = "schedulingPolicy")]
    pub(crate) scheduling_policy: Option<Spanned<String>>,
    #[serde(rename = "jobStateTimeLimitActions", default)]
    pub(crate) time_limit_actions: Vec<Spanned<WireTimeLimitAction>>,
}

/// One `jobStateTimeLimitActions` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireTimeLimitAction {
    pub(crate) reason: Spanned<String>,
    pub(crate) state: Spanned<String>,
    #[serde(rename = "maxTimeSeconds")]
    pub(crate) max_time_seconds: Spanned<i64>,
    pub(crate) action: Spanned<String>,
}

/// `[[scheduling_policies]]` (CreateSchedulingPolicy).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WirePolicy {
    pub(crate) name: Spanned<String>,
    #[serde(rename = "fairsharePolicy")]
    pub(crate) fairshare_policy: Option<Spanned<WireFairshare>>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    pub(crate) tags: Option<toml::Value>,
}

/// `fairsharePolicy`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireFairshare {
    #[serde(rename = "shareDecaySeconds")]
    pub(crate) share_decay_seconds: Option<Spanned<i64>>,
    #[serde(rename = "computeReservation")]
    pub(crate) compute_reservation: Option<Spanned<i64>>,
    #[serde(rename = "shareDistribution")]
    pub(crate) share_distribution: Option<Spanned<Vec<Spanned<WireShare>>>>,
}

/// One `shareDistribution` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireShare {
    #[serde(rename = "shareIdentifier")]
    pub(crate) share_identifier: Spanned<String>,
    #[serde(rename = "weightFactor")]
    pub(crate) weight_factor: Option<Spanned<f64>>,
}

/// `[scheduler]`: flotilla's own scheduling options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireScheduler {
    pub(crate) keep_cpu_jobs_off_gpu_instances: Option<bool>,
    /// Scheduling policies by name (`engine::policy::spec`), e.g. `"easy-backfill"`.
    pub(crate) policy: Option<Spanned<String>>,
}

/// One `computeEnvironmentOrder` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireOrder {
    pub(crate) order: Spanned<i64>,
    #[serde(rename = "computeEnvironment")]
    pub(crate) compute_environment: Spanned<String>,
}

/// `[spot]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireSpot {
    pub(crate) hazard_scale: Option<Spanned<f64>>,
    pub(crate) price_series: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) capacity: BTreeMap<String, Spanned<i64>>,
    // Zones, pools, price history, synthetic prices (read by `input::spot_market`).
    pub(crate) zones: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) price_history: Option<Spanned<String>>,
    pub(crate) product_description: Option<Spanned<String>>,
    pub(crate) interrupt_above_max_price: Option<bool>,
    #[serde(default)]
    pub(crate) pools: Vec<Spanned<super::spot_market::WirePool>>,
    pub(crate) synthetic_prices: Option<Spanned<super::spot_market::WireSynthetic>>,
    #[serde(default)]
    pub(crate) measured: Vec<Spanned<super::spot_trace_scenario::WireMeasured>>,
}
