//! flotilla (work in progress)
#[cfg(feature = "cli")]
pub mod cli;
pub mod driver;
pub mod engine;
pub mod generate;
pub mod input;
pub mod model;
pub mod record;
pub mod scenario;
pub mod sim;
