//! Pluggable scheduling policies: small traits the engine calls at its decision points, one
//! built-in policy per file, chosen by name (see [`spec`]).
//!
//! | role | trait | built-ins | AWS Batch's own (the default) |
//! |---|---|---|---|
//! | queue order | [`QueueOrder`] | `fifo`, `fair-share`, `sjf`, `ljf` | `fifo` |
//! | backfilling | [`Backfill`] | `easy-backfill`, `conservative-backfill` | none: head-of-line blocking |
//! | placement | [`Placement`] | `first-fit`, `best-fit`, `worst-fit`, `gpu-pack` | `best-fit` |
//! | provisioning | [`Provisioning`] | `BEST_FIT`, `BEST_FIT_PROGRESSIVE`, `SPOT_CAPACITY_OPTIMIZED`, `SPOT_PRICE_CAPACITY_OPTIMIZED` | each compute environment's `allocationStrategy` |
//!
//! A user adds a policy by implementing a trait and registering a constructor in a
//! [`Registry`] (see `examples/custom_policy.rs`); the engine never names a policy itself.
//! Policies are plain values: they read nothing but their arguments, so the engine stays
//! deterministic whatever is plugged in, as long as the policy is.

mod allocation;
mod best_fit;
mod conservative_backfill;
mod easy_backfill;
mod fair_share;
mod fifo;
mod first_fit;
mod gpu_pack;
mod ljf;
mod sjf;
pub mod spec;
mod worst_fit;

pub use allocation::AllocationPolicy;
pub use best_fit::BestFit;
pub use conservative_backfill::ConservativeBackfill;
pub use easy_backfill::EasyBackfill;
pub use fair_share::FairShare;
pub use fifo::Fifo;
pub use first_fit::FirstFit;
pub use gpu_pack::GpuPack;
pub use ljf::LongestJobFirst;
pub use sjf::ShortestJobFirst;
pub use spec::{Params, PolicyRef, PolicySpec};
pub use worst_fit::WorstFit;

use super::capacity::{CapacityIndex, Resources};
use super::provisioning::{Candidate, Unit};
use super::InstanceId;
use crate::model::{AllocationStrategy, Catalog, FairsharePolicy, JobSpec, Market, SimDuration};

/// The run time a policy may assume for one attempt of `job`: its requested time, else its
/// `attemptDurationSeconds` timeout, else unknown (`None`: treated as unbounded, so a job
/// without an estimate is never backfilled ahead of a reservation it could delay).
pub fn estimate(job: &JobSpec) -> Option<SimDuration> {
    job.requested_time.or(job.timeout)
}

/// Orders the RUNNABLE jobs of a queue. Within one share of a fair-share queue, jobs go by
/// `schedulingPriority` first (AWS), then by this rank, then by submission.
pub trait QueueOrder: Send + Sync {
    /// The name it was registered under.
    fn name(&self) -> &str;
    /// A job's rank: lower goes first; equal ranks keep submission order (retried attempts
    /// first).
    fn rank(&self, job: &JobSpec) -> u64;
    /// A fair-share policy for queues that have none (`fair-share`), or `None` to leave
    /// queues as the scenario made them.
    fn fair_share(&self) -> Option<FairsharePolicy> {
        None
    }
}

/// Lets jobs behind a blocked queue head start early without delaying the reservations of
/// the jobs in front (see `engine::backfill`).
pub trait Backfill: Send + Sync {
    /// The name it was registered under.
    fn name(&self) -> &str;
    /// How many waiting jobs at the front of a queue hold a reservation that later jobs may
    /// not delay: 1 is EASY backfilling; `usize::MAX` is conservative backfilling (every
    /// job). At least 1.
    fn reservations(&self) -> usize;
}

/// One host with room, as a [`Placement`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    /// The instance.
    pub id: InstanceId,
    /// What it has free.
    pub free: Resources,
    /// What it has in all (its type's vCPUs, registered memory and GPUs).
    pub capacity: Resources,
}

/// The hosts of one compute environment with free capacity (ready ones, or booting ones a
/// job may wait for), for a [`Placement`] to choose from.
pub struct Hosts<'a> {
    pub(crate) index: &'a CapacityIndex,
    pub(crate) capacity: &'a dyn Fn(InstanceId) -> Resources,
    /// Whether jobs without GPUs may use GPU hosts (`keep_cpu_jobs_off_gpu_instances` off,
    /// or the job needs GPUs).
    pub gpu_hosts: bool,
}

impl Hosts<'_> {
    /// The tightest host that holds `need` (fewest free GPUs, then vCPUs, then memory; hosts
    /// without GPUs first for jobs without GPUs), in O(distinct sizes × log hosts).
    pub fn tightest(&self, need: &Resources) -> Option<InstanceId> {
        self.index.best_fit(need, self.gpu_hosts)
    }

    /// The loosest host that holds `need` (most free vCPUs; hosts without GPUs first for
    /// jobs without GPUs).
    pub fn loosest(&self, need: &Resources) -> Option<InstanceId> {
        self.index.worst_fit(need, self.gpu_hosts)
    }

    /// Every host that holds `need`, tightest first (costs O(hosts with room)).
    pub fn fitting<'b>(&'b self, need: &'b Resources) -> impl Iterator<Item = Host> + 'b {
        self.index
            .fitting(need, self.gpu_hosts)
            .map(|(id, free)| Host {
                id,
                free,
                capacity: (self.capacity)(id),
            })
    }
}

/// Chooses the host for a job among hosts with room.
pub trait Placement: Send + Sync {
    /// The name it was registered under.
    fn name(&self) -> &str;
    /// The host for a job needing `need`, or `None` to leave it unplaced here.
    fn choose(&self, need: &Resources, hosts: &Hosts<'_>) -> Option<InstanceId>;
}

/// Ranks the instance types a managed compute environment may launch for a job.
pub trait Provisioning: Send + Sync {
    /// The name it was registered under.
    fn name(&self) -> &str;
    /// The AWS allocation strategy this is, if it is one: the engine then applies it to
    /// every managed compute environment, with all of that strategy's rules.
    fn allocation_strategy(&self) -> Option<AllocationStrategy> {
        None
    }
    /// Orders `candidates` (types that hold the job, with their price now) best first;
    /// `unit` says whether the job buys GPUs or vCPUs.
    fn rank(&self, catalog: &Catalog, market: Market, unit: Unit, candidates: &mut [Candidate]);
}

/// The policies one engine runs with.
pub struct Policies {
    /// Queue order.
    pub order: Box<dyn QueueOrder>,
    /// Backfilling, or `None` for head-of-line blocking.
    pub backfill: Option<Box<dyn Backfill>>,
    /// Host choice.
    pub placement: Box<dyn Placement>,
    /// Instance type choice, or `None` for each compute environment's own strategy.
    pub provisioning: Option<Box<dyn Provisioning>>,
}

impl Default for Policies {
    /// AWS Batch's: FIFO (or the queue's fair share), head-of-line blocking, best fit, each
    /// compute environment's allocation strategy.
    fn default() -> Self {
        Policies {
            order: Box::new(Fifo),
            backfill: None,
            placement: Box::new(BestFit::default()),
            provisioning: None,
        }
    }
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("order", &self.order.name())
            .field("backfill", &self.backfill.as_ref().map(|b| b.name()))
            .field("placement", &self.placement.name())
            .field(
                "provisioning",
                &self.provisioning.as_ref().map(|p| p.name()),
            )
            .finish()
    }
}

/// A constructor from parameters.
pub type Make<T> = Box<dyn Fn(&mut Params<'_>) -> Result<Box<T>, String> + Send + Sync>;

enum Entry {
    Order(Make<dyn QueueOrder>),
    Backfill(Make<dyn Backfill>),
    Placement(Make<dyn Placement>),
    Provisioning(Make<dyn Provisioning>),
}

impl Entry {
    fn role(&self) -> &'static str {
        match self {
            Entry::Order(_) => "queue order",
            Entry::Backfill(_) => "backfilling",
            Entry::Placement(_) => "placement",
            Entry::Provisioning(_) => "provisioning",
        }
    }
}

/// Policies by name: the built-ins, plus any a user registers.
pub struct Registry {
    entries: Vec<(String, &'static str, Entry)>,
}

impl Registry {
    /// The built-in policies.
    pub fn builtin() -> Self {
        let mut r = Registry {
            entries: Vec::new(),
        };
        r.register_order("fifo", Fifo::ABOUT, |p| {
            Fifo::new(p).map(|o| Box::new(o) as _)
        });
        r.register_order("fair-share", FairShare::ABOUT, |p| {
            FairShare::new(p).map(|o| Box::new(o) as _)
        });
        r.register_order("sjf", ShortestJobFirst::ABOUT, |p| {
            ShortestJobFirst::new(p).map(|o| Box::new(o) as _)
        });
        r.register_order("ljf", LongestJobFirst::ABOUT, |p| {
            LongestJobFirst::new(p).map(|o| Box::new(o) as _)
        });
        r.register_backfill("easy-backfill", EasyBackfill::ABOUT, |p| {
            EasyBackfill::new(p).map(|b| Box::new(b) as _)
        });
        r.register_backfill("conservative-backfill", ConservativeBackfill::ABOUT, |p| {
            ConservativeBackfill::new(p).map(|b| Box::new(b) as _)
        });
        r.register_placement("first-fit", FirstFit::ABOUT, |p| {
            FirstFit::new(p).map(|b| Box::new(b) as _)
        });
        r.register_placement("best-fit", BestFit::ABOUT, |p| {
            BestFit::new(p).map(|b| Box::new(b) as _)
        });
        r.register_placement("worst-fit", WorstFit::ABOUT, |p| {
            WorstFit::new(p).map(|b| Box::new(b) as _)
        });
        r.register_placement("gpu-pack", GpuPack::ABOUT, |p| {
            GpuPack::new(p).map(|b| Box::new(b) as _)
        });
        for s in AllocationStrategy::ALL {
            r.register_provisioning(s.as_str(), "AWS Batch allocation strategy", move |p| {
                AllocationPolicy::new(s, p).map(|b| Box::new(b) as _)
            });
        }
        r
    }

    fn add(&mut self, name: &str, about: &'static str, e: Entry) {
        self.entries.retain(|(n, _, _)| n != name);
        self.entries.push((name.to_string(), about, e));
    }

    /// Adds (or replaces) a queue-order policy.
    pub fn register_order(
        &mut self,
        name: &str,
        about: &'static str,
        make: impl Fn(&mut Params<'_>) -> Result<Box<dyn QueueOrder>, String> + Send + Sync + 'static,
    ) {
        self.add(name, about, Entry::Order(Box::new(make)));
    }

    /// Adds (or replaces) a backfilling policy.
    pub fn register_backfill(
        &mut self,
        name: &str,
        about: &'static str,
        make: impl Fn(&mut Params<'_>) -> Result<Box<dyn Backfill>, String> + Send + Sync + 'static,
    ) {
        self.add(name, about, Entry::Backfill(Box::new(make)));
    }

    /// Adds (or replaces) a placement policy.
    pub fn register_placement(
        &mut self,
        name: &str,
        about: &'static str,
        make: impl Fn(&mut Params<'_>) -> Result<Box<dyn Placement>, String> + Send + Sync + 'static,
    ) {
        self.add(name, about, Entry::Placement(Box::new(make)));
    }

    /// Adds (or replaces) a provisioning policy.
    pub fn register_provisioning(
        &mut self,
        name: &str,
        about: &'static str,
        make: impl Fn(&mut Params<'_>) -> Result<Box<dyn Provisioning>, String> + Send + Sync + 'static,
    ) {
        self.add(name, about, Entry::Provisioning(Box::new(make)));
    }

    /// `(name, role, one line about it)` of every policy, in registration order.
    pub fn list(&self) -> Vec<(&str, &'static str, &'static str)> {
        self.entries
            .iter()
            .map(|(n, about, e)| (n.as_str(), e.role(), *about))
            .collect()
    }

    /// Builds the policies `spec` names; roles it does not name get AWS Batch's.
    pub fn resolve(&self, spec: &PolicySpec) -> Result<Policies, String> {
        let mut out = Policies::default();
        let mut seen: Vec<(&'static str, &str)> = Vec::new();
        for part in &spec.parts {
            let Some((_, _, entry)) = self.entries.iter().find(|(n, _, _)| *n == part.name) else {
                let names: Vec<&str> = self.entries.iter().map(|(n, _, _)| n.as_str()).collect();
                return Err(format!(
                    "unknown policy `{}` (known: {})",
                    part.name,
                    names.join(", ")
                ));
            };
            if let Some((_, other)) = seen.iter().find(|(r, _)| *r == entry.role()) {
                return Err(format!(
                    "`{other}` and `{}` are both {} policies; name at most one",
                    part.name,
                    entry.role()
                ));
            }
            seen.push((entry.role(), part.name.as_str()));
            let mut params = Params::new(part);
            match entry {
                Entry::Order(m) => out.order = m(&mut params)?,
                Entry::Backfill(m) => out.backfill = Some(m(&mut params)?),
                Entry::Placement(m) => out.placement = m(&mut params)?,
                Entry::Provisioning(m) => out.provisioning = Some(m(&mut params)?),
            }
            params.finish()?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_each_role_and_rejects_two_of_one() {
        let r = Registry::builtin();
        let spec = PolicySpec::parse("sjf+easy-backfill+worst-fit+SPOT_CAPACITY_OPTIMIZED");
        let p = r.resolve(&spec.unwrap()).unwrap();
        assert_eq!(p.order.name(), "sjf");
        assert_eq!(p.backfill.as_ref().unwrap().reservations(), 1);
        assert_eq!(p.placement.name(), "worst-fit");
        let s = p.provisioning.unwrap().allocation_strategy();
        assert_eq!(s, Some(AllocationStrategy::SpotCapacityOptimized));
        let two = PolicySpec::parse("easy-backfill+conservative-backfill").unwrap();
        assert!(r.resolve(&two).unwrap_err().contains("both backfilling"));
        let unknown = PolicySpec::parse("easy").unwrap();
        let e = r.resolve(&unknown).unwrap_err();
        assert!(
            e.contains("unknown policy `easy`") && e.contains("easy-backfill"),
            "{e}"
        );
        let bad = PolicySpec::parse("sjf[x=1]").unwrap();
        assert!(r
            .resolve(&bad)
            .unwrap_err()
            .contains("unknown parameter `x`"));
    }

    #[test]
    fn estimate_falls_back_to_the_timeout() {
        let mut j = JobSpec {
            timeout: Some(SimDuration::from_secs(600)),
            ..JobSpec::default()
        };
        assert_eq!(estimate(&j), Some(SimDuration::from_secs(600)));
        j.requested_time = Some(SimDuration::from_secs(60));
        assert_eq!(estimate(&j), Some(SimDuration::from_secs(60)));
        assert_eq!(estimate(&JobSpec::default()), None);
    }
}
