//! Arbitrary bytes as a JSON request: a status and, on success, a whole decision, never a crash.
#![no_main]

#[path = "common.rs"]
mod common;

use arbpolicy::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let session = common::session();
    let mut out = vec![0u8; 16 * 1024];
    let mut needed = 0usize;
    // SAFETY: a live session, `data.len()` readable bytes, `out.len()` writable bytes.
    let status = unsafe {
        arbp_decide_json(session, data.as_ptr().cast(), data.len(), out.as_mut_ptr().cast(), out.len(), &mut needed)
    };
    assert!(common::known(status));
    if status == arbp_status::ARBP_OK {
        assert!(needed <= out.len() && out[needed - 1] == 0);
        let text = std::str::from_utf8(&out[..needed - 1]).expect("UTF-8 decision");
        assert!(text.contains("\"action_probabilities\""));
    }
});
