//! flotilla (work in progress)
pub mod engine;
pub mod model;
pub mod scenario;
