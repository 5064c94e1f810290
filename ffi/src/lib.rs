//! The C ABI of arbpolicy.
//!
//! A host loads a policy once (`arbp_model_load_file` or `arbp_model_load_bytes`: an ONNX model or a
//! native weights artifact, told apart by content), opens one session per thread
//! (`arbp_session_new`), and asks for decisions (`arbp_decide` with structs, `arbp_decide_json` with
//! the JSON of `docs/decision-json.md`) or raw network outputs (`arbp_session_forward`). Stateless
//! helpers need no model: `arbp_config_default`, `arbp_config_validate`, `arbp_action_mask`,
//! `arbp_position_size`, `arbp_liquidation_prices`, `arbp_action_name`.
//!
//! The header `include/arbpolicy.h` is generated from this crate by cbindgen
//! (`tests/header.rs` regenerates it and fails when the committed one differs). The structs a
//! request carries (`arbp_opportunity`, `arbp_position`, `arbp_portfolio`, `arbp_config` and its
//! `arbp_settings`, the legs) are the core's `arbpolicy_core::host` structs, which the JSON request
//! shares; cbindgen reads them there.

#![deny(missing_docs)]
#![allow(non_camel_case_types)]

mod decide;
mod helpers;
mod model;
mod status;
mod types;

pub use decide::{arbp_decide, arbp_decide_json};
pub use helpers::{
    arbp_action_mask, arbp_action_name, arbp_config_default, arbp_config_validate, arbp_liquidation_prices,
    arbp_position_size,
};
pub use model::{
    arbp_model, arbp_model_free, arbp_model_load_bytes, arbp_model_load_file, arbp_session,
    arbp_session_forward, arbp_session_free, arbp_session_new,
};
pub use status::{arbp_last_error, arbp_status, arbp_status_str};
pub use types::{
    arbp_confidence, arbp_config, arbp_decision, arbp_leg, arbp_opportunity, arbp_override, arbp_portfolio,
    arbp_position, arbp_position_leg, arbp_request, arbp_risk_level, arbp_settings,
};

use std::ffi::c_char;

/// Version of this ABI: bumped whenever a function, a struct layout or a status value changes
/// incompatibly. The header's `ARBP_ABI_VERSION` must equal `arbp_abi_version()`.
pub const ARBP_ABI_VERSION: u32 = 2;
/// Size of every name field (coin, exchange): up to 16 bytes of UTF-8 and a terminating NUL.
pub const ARBP_NAME_SIZE: usize = 17;
/// Size of the action-name field of a decision, NUL included.
pub const ARBP_LABEL_SIZE: usize = 24;
/// Number of actions.
pub const ARBP_ACTION_COUNT: usize = 36;
/// Number of observation features.
pub const ARBP_OBSERVATION_LEN: usize = 275;
/// Most opportunities a request may carry.
pub const ARBP_MAX_OPPORTUNITIES: usize = 100;
/// Most open positions.
pub const ARBP_MAX_POSITIONS: usize = 5;
/// Size of a buffer that always holds `arbp_decide_json`'s answer with its NUL.
pub const ARBP_DECISION_JSON_MAX: usize = 4096;

const _: () = assert!(ARBP_ACTION_COUNT == arbpolicy_core::ACTION_COUNT);
const _: () = assert!(ARBP_OBSERVATION_LEN == arbpolicy_core::OBSERVATION_LEN);
const _: () = assert!(ARBP_MAX_OPPORTUNITIES == arbpolicy_core::MAX_OPPORTUNITIES);
const _: () = assert!(ARBP_MAX_POSITIONS == arbpolicy_core::MAX_POSITIONS);
const _: () = assert!(ARBP_DECISION_JSON_MAX == arbpolicy_core::json::DECISION_JSON_MAX);
const _: () = assert!(ARBP_NAME_SIZE == arbpolicy_core::Name::CAPACITY + 1);

/// The engine's version, e.g. `"0.1.0"`: a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn arbp_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version this library implements (see `ARBP_ABI_VERSION`).
#[unsafe(no_mangle)]
pub extern "C" fn arbp_abi_version() -> u32 {
    ARBP_ABI_VERSION
}
