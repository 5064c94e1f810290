//! Arbitrary bytes as a JSON request: a status and, on success, a whole decision, never a crash.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::json_request(data));
