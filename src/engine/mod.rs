//! The scheduler engine (work in progress).
mod io;
pub use io::{Command, Input, InstanceId, LaunchFailure};
