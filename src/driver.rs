//! The run loop shared by every driver: ask the driver for the next fact, hand it to the
//! engine, hand the engine's commands back to the driver, and let an observer record both.

use crate::engine::{Command, Engine, Input};
use crate::model::SimTime;

/// Owns time and effects: a simulated world or real hosts.
pub trait Driver {
    /// A broken driver (not an expected failure, which is an [`Input`]).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The next fact and when it happened, or `Input::Wakeup` at the engine's
    /// `next_wakeup()` if nothing happens before it; `None` when the run is over.
    fn next_input(&mut self, engine: &Engine) -> Result<Option<(SimTime, Input)>, Self::Error>;

    /// Carries out a command issued at `now`.
    fn apply(&mut self, now: SimTime, command: &Command) -> Result<(), Self::Error>;
}

/// Sees every input and command of a run, in order (e.g. to write `events.jsonl`).
pub trait Observer {
    /// An input about to be handled.
    fn input(&mut self, now: SimTime, input: &Input);
    /// A command the engine issued.
    fn command(&mut self, now: SimTime, command: &Command);
}

/// An observer that records nothing.
pub struct NoObserver;

impl Observer for NoObserver {
    fn input(&mut self, _: SimTime, _: &Input) {}
    fn command(&mut self, _: SimTime, _: &Command) {}
}

/// What the loop counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Inputs handled by the engine.
    pub events_processed: u64,
    /// Commands the engine issued.
    pub commands: u64,
    /// Time of the last input.
    pub end: SimTime,
}

/// Runs `engine` against `driver` until the driver says the run is over.
pub fn run<D: Driver, O: Observer>(
    engine: &mut Engine,
    driver: &mut D,
    observer: &mut O,
) -> Result<LoopStats, D::Error> {
    let mut stats = LoopStats::default();
    let mut commands = Vec::new();
    while let Some((now, input)) = driver.next_input(engine)? {
        observer.input(now, &input);
        engine.handle(now, input, &mut commands);
        stats.events_processed += 1;
        stats.end = now;
        for c in commands.drain(..) {
            observer.command(now, &c);
            driver.apply(now, &c)?;
            stats.commands += 1;
        }
    }
    Ok(stats)
}
