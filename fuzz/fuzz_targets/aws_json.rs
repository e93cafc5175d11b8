#![no_main]
//! Fuzz target: the reader must return Ok or an error on any bytes, never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = flotilla::input::fuzzing::aws_json(data);
});
