//! Requests through the struct path with arbitrary floats, names and counts (see `checks.rs`).
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::struct_request(data));
