//! Stateless helpers: they need no model.

use crate::ARBP_ACTION_COUNT;
use crate::decide::convert;
use crate::status::{
    arbp_status, guard, invalid_argument, invalid_input, reference, reference_mut, set_last_error,
};
use crate::types::{arbp_config, arbp_request};
use arbpolicy_core::action::NAMES;
use arbpolicy_core::policy::decision::view;
use arbpolicy_core::{SizeTier, TradingConfig, margin, sizing};
use std::ffi::{CString, c_char};
use std::sync::OnceLock;

/// Fill `*out` with the engine's default configuration (the balanced preset: 3x leverage, 50 %
/// utilisation, 3 positions, -2 % stop-loss, 15 % liquidation buffer), `struct_size` included.
///
/// # Safety
/// `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_config_default(out: *mut arbp_config) -> arbp_status {
    guard("arbp_config_default", || {
        // SAFETY: per the function's contract.
        let out = unsafe { reference_mut(out, "out") }?;
        *out = arbp_config::of(TradingConfig::balanced());
        Ok(())
    })
}

/// Check a configuration: `ARBP_OK`, or `ARBP_INVALID_INPUT` with the message naming the field, its
/// value and its range.
///
/// # Safety
/// `config` readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_config_validate(config: *const arbp_config) -> arbp_status {
    guard("arbp_config_validate", || {
        // SAFETY: per the function's contract.
        Ok(unsafe { reference(config, "config") }?.engine().map(drop)?)
    })
}

/// The actions the risk limits allow for a request, as `ARBP_ACTION_COUNT` bytes (1 allowed, 0
/// not) into `mask` (`mask_len` must be `ARBP_ACTION_COUNT`). These are the actions the policy may
/// choose from; when a position breaches the stop-loss or the liquidation buffer, `arbp_decide`
/// exits it whatever the mask.
///
/// # Safety
/// `request` a valid request whose arrays hold their counts; `mask` writable for `mask_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_action_mask(
    request: *const arbp_request,
    mask: *mut u8,
    mask_len: usize,
) -> arbp_status {
    guard("arbp_action_mask", || {
        // SAFETY: per the function's contract.
        let request = unsafe { reference(request, "request") }?;
        if mask_len != ARBP_ACTION_COUNT {
            return Err(invalid_argument(format!("mask_len is {mask_len}, expected {ARBP_ACTION_COUNT}")));
        }
        // SAFETY: per the function's contract.
        let out = unsafe { reference_mut(mask.cast::<[u8; ARBP_ACTION_COUNT]>(), "mask") }?;
        // SAFETY: per the function's contract.
        let (input, _) = unsafe { convert(request) }?;
        let seen = view(&input.request())?;
        *out = seen.mask.to_bools().map(u8::from);
        Ok(())
    })
}

/// The size of a new position's legs and their leverage: the plan's sizing (`available_capital x
/// target_utilization / max_positions`, times 10 %, 20 % or 30 % for `tier` 0, 1, 2) and the
/// user's leverage lowered so that a new position starts 5 % of its price beyond the liquidation
/// buffer (`0.9 / leverage >= liquidation_buffer + 0.05`).
///
/// # Safety
/// `config` readable; `size_usd` and `leverage` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_position_size(
    config: *const arbp_config,
    available_capital: f64,
    tier: u32,
    size_usd: *mut f64,
    leverage: *mut f64,
) -> arbp_status {
    guard("arbp_position_size", || {
        // SAFETY: per the function's contract.
        let (config, size_out, leverage_out) = unsafe {
            (
                reference(config, "config")?,
                reference_mut(size_usd, "size_usd")?,
                reference_mut(leverage, "leverage")?,
            )
        };
        let config = config.engine()?;
        if !(available_capital.is_finite() && available_capital >= 0.0) {
            return Err(invalid_input(format!(
                "available_capital is {available_capital}, expected finite and >= 0"
            )));
        }
        let tier = *SizeTier::ALL.get(tier as usize).ok_or_else(|| {
            invalid_argument(format!("tier is {tier}, expected 0 (small), 1 (medium) or 2 (large)"))
        })?;
        *size_out = sizing::position_size(available_capital, &config, tier);
        *leverage_out = margin::entry_leverage(&config);
        Ok(())
    })
}

/// The liquidation prices of a position's legs entered at these prices and leverage: the long leg
/// is liquidated at `entry x (1 - 0.9 / leverage)`, the short leg at `entry x (1 + 0.9 /
/// leverage)`.
///
/// # Safety
/// `long_liquidation` and `short_liquidation` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_liquidation_prices(
    long_entry_price: f64,
    short_entry_price: f64,
    leverage: f64,
    long_liquidation: *mut f64,
    short_liquidation: *mut f64,
) -> arbp_status {
    guard("arbp_liquidation_prices", || {
        // SAFETY: per the function's contract.
        let (long_out, short_out) = unsafe {
            (
                reference_mut(long_liquidation, "long_liquidation")?,
                reference_mut(short_liquidation, "short_liquidation")?,
            )
        };
        for (what, price) in
            [("long_entry_price", long_entry_price), ("short_entry_price", short_entry_price)]
        {
            if !(price.is_finite() && price > 0.0) {
                return Err(invalid_input(format!("{what} is {price}, expected finite and > 0")));
            }
        }
        if !(leverage.is_finite() && leverage >= 1.0) {
            return Err(invalid_input(format!("leverage is {leverage}, expected finite and >= 1")));
        }
        *long_out = margin::long_liquidation_price(long_entry_price, leverage);
        *short_out = margin::short_liquidation_price(short_entry_price, leverage);
        Ok(())
    })
}

/// The name of action `index` (e.g. `"ENTER_OPP_3_MEDIUM"`), a static NUL-terminated string;
/// NULL (and the thread's message set) when `index` is not below `ARBP_ACTION_COUNT`.
#[unsafe(no_mangle)]
pub extern "C" fn arbp_action_name(index: u32) -> *const c_char {
    static NAMES_C: OnceLock<Vec<CString>> = OnceLock::new();
    let names =
        NAMES_C.get_or_init(|| NAMES.iter().map(|n| CString::new(*n).expect("no NUL in names")).collect());
    match names.get(index as usize) {
        Some(n) => n.as_ptr(),
        None => {
            set_last_error(&format!("arbp_action_name: index {index} is not below {ARBP_ACTION_COUNT}"));
            std::ptr::null()
        }
    }
}
