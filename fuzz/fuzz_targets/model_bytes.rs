//! Arbitrary bytes as a model file: refused with a status, or loaded and runnable, never a crash.
#![no_main]

#[path = "checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::model_bytes(data));
