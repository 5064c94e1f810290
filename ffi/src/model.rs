//! Model and session handles, and the raw network.

use crate::status::{Failure, arbp_status, guard, invalid_argument, reference, reference_mut, slice};
use crate::{ARBP_ACTION_COUNT, ARBP_OBSERVATION_LEN};
use arbpolicy_core::policy::file::{PolicyFile, PolicySession};
use arbpolicy_core::{ActionMask, Observation};
use std::ffi::{CStr, c_char};

/// A loaded policy: an ONNX model or native weights. Immutable once loaded; functions taking a
/// `const arbp_model *` may be called from any number of threads at once.
pub struct arbp_model {
    file: PolicyFile,
}

/// One thread's session over a model: reuses the runtime's state and buffers between calls. A
/// session must not be used by two threads at once; it keeps what it runs alive, so the model may
/// be freed before it.
pub struct arbp_session {
    pub(crate) policy: PolicySession,
}

fn publish<T>(value: T, out: &mut *mut T) {
    *out = Box::into_raw(Box::new(value));
}

fn load(bytes: &[u8], out: &mut *mut arbp_model) -> Result<(), Failure> {
    let file = PolicyFile::from_bytes(bytes)?;
    publish(arbp_model { file }, out);
    Ok(())
}

/// Load a model file (ONNX or native weights, told apart by content) into `*out`, to be freed with
/// `arbp_model_free`. On failure `*out` is left as it was.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_model_load_file(path: *const c_char, out: *mut *mut arbp_model) -> arbp_status {
    guard("arbp_model_load_file", || {
        // SAFETY: per the function's contract.
        let out = unsafe { reference_mut(out, "out") }?;
        if path.is_null() {
            return Err(Failure::new(arbp_status::ARBP_NULL_POINTER, "path is NULL"));
        }
        // SAFETY: a NUL-terminated string per the contract.
        let path = unsafe { CStr::from_ptr(path) }
            .to_str()
            .map_err(|_| Failure::new(arbp_status::ARBP_INVALID_UTF8, "path is not UTF-8"))?;
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::new(arbp_status::ARBP_IO_ERROR, format!("cannot read {path}: {e}")))?;
        load(&bytes, out).map_err(|f| Failure::new(f.status, format!("{path}: {}", f.message)))
    })
}

/// Load a model from `len` bytes (copied; the caller keeps its buffer) into `*out`, to be freed
/// with `arbp_model_free`. On failure `*out` is left as it was.
///
/// # Safety
/// `bytes` readable for `len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_model_load_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut arbp_model,
) -> arbp_status {
    guard("arbp_model_load_bytes", || {
        // SAFETY: per the function's contract.
        let (out, bytes) = unsafe { (reference_mut(out, "out")?, slice(bytes, len, usize::MAX, "bytes")?) };
        load(bytes, out)
    })
}

/// Free a model (NULL is accepted). Sessions opened on it keep working until freed themselves.
///
/// # Safety
/// `model` must be NULL or a model from `arbp_model_load_*` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_model_free(model: *mut arbp_model) {
    if !model.is_null() {
        // SAFETY: a model from Box::into_raw, freed once.
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(model) })));
    }
}

/// Open a session on `model` into `*out`, to be freed with `arbp_session_free`.
///
/// # Safety
/// `model` must be a live model; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_session_new(
    model: *const arbp_model,
    out: *mut *mut arbp_session,
) -> arbp_status {
    guard("arbp_session_new", || {
        // SAFETY: per the function's contract.
        let (model, out) = unsafe { (reference(model, "model")?, reference_mut(out, "out")?) };
        let session = arbp_session { policy: model.file.session()? };
        publish(session, out);
        Ok(())
    })
}

/// Free a session (NULL is accepted).
///
/// # Safety
/// `session` must be NULL or a session from `arbp_session_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_session_free(session: *mut arbp_session) {
    if !session.is_null() {
        // SAFETY: a session from Box::into_raw, freed once.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop(unsafe { Box::from_raw(session) })
        }));
    }
}

/// Run the raw network on one observation: `obs_len` must be `ARBP_OBSERVATION_LEN` finite
/// values, `mask` NULL or `ARBP_ACTION_COUNT` bytes of 0 or 1 (fed to models that take a mask;
/// all allowed when NULL), `logits_len` `ARBP_ACTION_COUNT`. Writes the raw (unmasked) logits and
/// the value; on failure neither is written.
///
/// # Safety
/// `session` as for `arbp_decide`; the arrays readable or writable for their lengths; `value`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_session_forward(
    session: *mut arbp_session,
    obs: *const f32,
    obs_len: usize,
    mask: *const u8,
    logits: *mut f32,
    logits_len: usize,
    value: *mut f32,
) -> arbp_status {
    guard("arbp_session_forward", || {
        // SAFETY: per the function's contract.
        let (session, value) =
            unsafe { (reference_mut(session, "session")?, reference_mut(value, "value")?) };
        if obs_len != ARBP_OBSERVATION_LEN {
            return Err(invalid_argument(format!("obs_len is {obs_len}, expected {ARBP_OBSERVATION_LEN}")));
        }
        if logits_len != ARBP_ACTION_COUNT {
            return Err(invalid_argument(format!(
                "logits_len is {logits_len}, expected {ARBP_ACTION_COUNT}"
            )));
        }
        // SAFETY: per the function's contract.
        let obs: &[f32] = unsafe { slice(obs, obs_len, obs_len, "obs") }?;
        if let Some(i) = obs.iter().position(|v| !v.is_finite()) {
            return Err(Failure::new(arbp_status::ARBP_INVALID_INPUT, format!("obs[{i}] is {}", obs[i])));
        }
        let allowed = if mask.is_null() {
            ActionMask::from_bools(&[true; ARBP_ACTION_COUNT])
        } else {
            // SAFETY: per the function's contract.
            let bytes: &[u8] = unsafe { slice(mask, ARBP_ACTION_COUNT, ARBP_ACTION_COUNT, "mask") }?;
            if let Some(i) = bytes.iter().position(|&b| b > 1) {
                return Err(invalid_argument(format!("mask[{i}] is {}, expected 0 or 1", bytes[i])));
            }
            ActionMask::from_bools(&std::array::from_fn(|i| bytes[i] == 1))
        };
        // SAFETY: per the function's contract; checked before anything is computed.
        let logits = unsafe { reference_mut(logits.cast::<[f32; ARBP_ACTION_COUNT]>(), "logits") }?;
        let obs: &Observation = obs.try_into().expect("checked length");
        let output = session.policy.forward(obs, allowed)?;
        *logits = output.logits;
        *value = output.value;
        Ok(())
    })
}
