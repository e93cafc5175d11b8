//! flotilla: a discrete-event simulator and capacity planner for AWS-Batch-style batch
//! computing.
//!
//! One scheduler engine, shared by every driver:
//!
//! ```text
//!   input/  scenario TOML, catalog CSV, trace CSV  ──▶  scenario::Scenario
//!                                                          │
//!   engine/ Engine::handle(now, Input, &mut Vec<Command>)  │  pure: no I/O, no clock,
//!           Engine::next_wakeup()                          │  no unseeded randomness
//!              ▲ Inputs (facts)        │ Commands (requests)
//!              │                       ▼
//!   driver.rs  run(engine, driver, observer)  ── the loop every driver shares
//!   sim/       SimDriver: virtual clock, event queue (time, seq), EC2 fleet model
//!   record/    summary.json, jobs.csv, instances.csv, events.jsonl
//!   report/    charts (SVG, PNG) and index.html from a run folder (feature `cli`)
//! ```
//!
//! Glossary (AWS Batch and EC2 words, spelled as AWS spells them):
//! - **job queue**: where jobs wait, with a `priority` and a `computeEnvironmentOrder`;
//! - **compute environment** (CE): a managed pool of EC2 instances, On-Demand (`EC2`) or
//!   `SPOT`, bounded by `minvCpus`/`maxvCpus`, grown by an `allocationStrategy`;
//! - **job states**: SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED;
//!   an **attempt** is one pass through STARTING/RUNNING;
//! - **instance type**: vCPUs, memory, GPUs and an On-Demand price; its **Spot offering** has
//!   a price and an interruption bucket from the Spot Instance Advisor;
//! - **Spot interruption notice**: EC2's two-minute warning before it reclaims an instance.
//!
//! Determinism: time is [`model::SimTime`] (integer ms), money [`model::MicroUsd`] (integer
//! micro-dollars); the engine iterates only vectors and B-tree maps; every random stream is a
//! named generator seeded from the scenario's seed ([`sim::rng`]). Same scenario and seed give
//! a byte-identical `events.jsonl`.
//!
//! `model` and `engine` (and the simulator) build with no optional feature; the command line
//! is behind the default feature `cli`.

#[cfg(feature = "cli")]
pub mod cli;
pub mod driver;
pub mod engine;
pub mod generate;
pub mod input;
#[cfg(feature = "live")]
pub mod live;
pub mod model;
#[cfg(feature = "cli")]
pub mod plan;
pub mod record;
#[cfg(feature = "cli")]
pub mod report;
pub mod scenario;
pub mod sim;
