//! Requests as a host builds them: the hours of a synthetic market as C structs.

#![allow(dead_code)]

use arbpolicy::*;
use arbpolicy_core::market::{MemoryMarket, SyntheticMarket, SyntheticParams};
use arbpolicy_core::{Opportunity, Position};
use std::ffi::c_char;

/// A name field.
pub fn name(s: &str) -> [c_char; ARBP_NAME_SIZE] {
    let mut out = [0 as c_char; ARBP_NAME_SIZE];
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = b as c_char;
    }
    out
}

/// The struct of an engine opportunity.
pub fn opportunity(o: &Opportunity) -> arbp_opportunity {
    arbp_opportunity::from(o)
}

/// The struct of an engine position.
pub fn position(p: &Position) -> arbp_position {
    arbp_position::from(p)
}

/// A synthetic market of 400 hours and 12 coins.
pub fn market() -> MemoryMarket {
    SyntheticMarket::generate(5, &SyntheticParams { hours: 400, coins: 12, ..Default::default() })
}

/// Requests over the hours of `market`, with capital varying between them.
pub fn requests(market: &MemoryMarket) -> (Vec<Vec<arbp_opportunity>>, Vec<f64>) {
    let hours: Vec<Vec<arbp_opportunity>> = market
        .snapshots()
        .iter()
        .map(|h| h.opportunities.iter().take(100).map(opportunity).collect())
        .collect();
    let capital = (0..hours.len()).map(|i| 2_000.0 + 500.0 * (i % 37) as f64).collect();
    (hours, capital)
}

/// The default config.
pub fn config() -> arbp_config {
    let mut config = std::mem::MaybeUninit::<arbp_config>::zeroed();
    // SAFETY: a writable config.
    assert_eq!(unsafe { arbp_config_default(config.as_mut_ptr()) }, arbp_status::ARBP_OK);
    // SAFETY: written by arbp_config_default.
    unsafe { config.assume_init() }
}

/// A request over these opportunities with a fresh book of `capital`.
pub fn request(opportunities: &[arbp_opportunity], capital: f64) -> arbp_request {
    arbp_request {
        struct_size: size_of::<arbp_request>() as u32,
        opportunities: opportunities.as_ptr(),
        opportunity_count: opportunities.len(),
        positions: std::ptr::null(),
        position_count: 0,
        portfolio: arbp_portfolio {
            struct_size: size_of::<arbp_portfolio>() as u32,
            total_capital: capital,
            initial_capital: capital,
            peak_capital: capital,
            max_drawdown: 0.0,
            day_start_capital: capital,
            entries_halted: 0,
            episode_progress: 0.0,
        },
        config: config(),
        now_ms: 1_764_547_200_000,
        sample: 0,
        sample_seed: 0,
    }
}

/// A zeroed decision with its size set.
pub fn blank_decision() -> arbp_decision {
    // SAFETY: zero is a valid bit pattern for the decision's fields.
    let mut d: arbp_decision = unsafe { std::mem::zeroed() };
    d.struct_size = size_of::<arbp_decision>() as u32;
    d
}

/// Load a model file through the ABI.
pub fn load(path: &std::path::Path) -> *mut arbp_model {
    let bytes = std::fs::read(path).expect("the model file");
    let mut model: *mut arbp_model = std::ptr::null_mut();
    // SAFETY: readable bytes and a writable out pointer.
    assert_eq!(
        unsafe { arbp_model_load_bytes(bytes.as_ptr(), bytes.len(), &mut model) },
        arbp_status::ARBP_OK
    );
    model
}

/// The reference model.
pub fn reference() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models/reference-torch/policy.onnx")
}
