#![no_main]
//! Fuzz target: the trace reader with --skip-bad-lines, all stages; never panics, and every
//! job kept depends only on jobs before it.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = flotilla::input::fuzzing::trace_csv_skipping(data);
});
