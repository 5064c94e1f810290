//! Arbitrary bytes as a model file: refused with a status, or loaded and runnable, never a crash.
#![no_main]

#[path = "common.rs"]
mod common;

use arbpolicy::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut model = std::ptr::null_mut();
    // SAFETY: `data.len()` readable bytes and an out pointer.
    let status = unsafe { arbp_model_load_bytes(data.as_ptr(), data.len(), &mut model) };
    assert!(common::known(status));
    if status != arbp_status::ARBP_OK {
        assert!(model.is_null());
        return;
    }
    let mut session = std::ptr::null_mut();
    // SAFETY: a live model; the session is used on this thread and freed.
    unsafe {
        if arbp_session_new(model, &mut session) == arbp_status::ARBP_OK {
            let obs = [0.1f32; ARBP_OBSERVATION_LEN];
            let (mut logits, mut value) = ([0f32; ARBP_ACTION_COUNT], 0f32);
            let s = arbp_session_forward(
                session,
                obs.as_ptr(),
                obs.len(),
                std::ptr::null(),
                logits.as_mut_ptr(),
                logits.len(),
                &mut value,
            );
            assert!(common::known(s));
            arbp_session_free(session);
        }
        arbp_model_free(model);
    }
});
