#![no_main]
//! Fuzz target: the Spot price history reader (JSON or text, told by the first byte) must
//! return Ok or an error on any bytes, never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = flotilla::input::fuzzing::spot_price_history(data);
});
