//! Live mode: the same engine, real hosts.
//!
//! `flotilla live SCENARIO --hosts HOSTS.toml` turns the compute environments named in the
//! hosts file into UNMANAGED ones whose hosts are Docker engines (or, on GPU machines
//! without Docker, local process executors). The engine decides exactly as in a simulation;
//! [`driver::LiveDriver`] carries its commands out in real time and reports back facts. The
//! run leaves the simulator's record (`summary.json`, `jobs.csv`, `instances.csv`,
//! `events.jsonl`) plus `journal.jsonl` (for `--resume`), `live.json` (live-only figures)
//! and every attempt's logs under `logs/<job id>/attempt-<n>/`.

pub mod attempt;
pub mod docker;
pub mod driver;
pub mod executor;
pub mod gpu;
pub mod hosts;
pub mod journal;
pub mod probe;
pub mod process;
pub mod run;

pub use run::{resume_live, run_live, LiveOptions, LiveRun, LiveStats};
