#![no_main]
//! Fuzz target: the SWF reader must return Ok or an error on any bytes, never panic. The
//! bytes go in as they are (plain text, or gzip when they start with its magic) and, for
//! the decoder path, gzip-compressed.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = flotilla::input::fuzzing::swf(data);
    let _ = flotilla::input::fuzzing::swf_gz(data);
});
