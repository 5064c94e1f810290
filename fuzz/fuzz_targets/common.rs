//! A native model and session shared by the fuzz targets' iterations.

use arbpolicy::*;
use std::sync::OnceLock;

/// A session over the reference model's native weights (converted once from the ONNX file).
pub fn session() -> *mut arbp_session {
    struct Shared(*mut arbp_session);
    // SAFETY: libFuzzer runs the target on one thread.
    unsafe impl Send for Shared {}
    unsafe impl Sync for Shared {}
    static SESSION: OnceLock<Shared> = OnceLock::new();
    SESSION
        .get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/reference-torch/policy.onnx");
            let network = arbpolicy_core::policy::onnx::OnnxModel::from_path(path)
                .and_then(|m| m.to_native())
                .expect("the reference model");
            let mut bytes = vec![0u8; arbpolicy_core::policy::artifact::ARTIFACT_LEN];
            network.write_artifact(bytes.as_mut_slice().try_into().unwrap());
            let mut model = std::ptr::null_mut();
            let mut session = std::ptr::null_mut();
            // SAFETY: valid buffers and out pointers.
            unsafe {
                assert_eq!(arbp_model_load_bytes(bytes.as_ptr(), bytes.len(), &mut model), arbp_status::ARBP_OK);
                assert_eq!(arbp_session_new(model, &mut session), arbp_status::ARBP_OK);
                arbp_model_free(model);
            }
            Shared(session)
        })
        .0
}

/// Every status this library defines.
pub fn known(status: arbp_status) -> bool {
    (0..=10).contains(&(status as i32))
}
