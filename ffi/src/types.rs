//! The ABI's own structs: the request (its lists by pointer and count) and the decision. The
//! structs a request carries are the host's input of `arbpolicy_core::host`, defined and mapped
//! into the engine's types there; the rules for `struct_size`, names and units are written there.

use crate::{ARBP_ACTION_COUNT, ARBP_LABEL_SIZE, ARBP_NAME_SIZE};
use arbpolicy_core::Opportunity;
pub use arbpolicy_core::TradingConfig as arbp_settings;
use arbpolicy_core::host::HostError;
pub use arbpolicy_core::host::{
    arbp_config, arbp_leg, arbp_opportunity, arbp_portfolio, arbp_position, arbp_position_leg,
};
use arbpolicy_core::selection::Record;
use std::ffi::c_char;

/// What the engine is asked.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct arbp_request {
    /// `sizeof(arbp_request)`.
    pub struct_size: u32,
    /// Up to `ARBP_MAX_OPPORTUNITIES` opportunities (NULL when the count is 0).
    pub opportunities: *const arbp_opportunity,
    /// How many.
    pub opportunity_count: usize,
    /// Up to `ARBP_MAX_POSITIONS` open positions (NULL when the count is 0).
    pub positions: *const arbp_position,
    /// How many.
    pub position_count: usize,
    /// The book.
    pub portfolio: arbp_portfolio,
    /// The risk settings.
    pub config: arbp_config,
    /// Now, Unix milliseconds.
    pub now_ms: i64,
    /// 1 to draw the action with `sample_seed`, 0 to take the most probable one.
    pub sample: u8,
    /// The seed when `sample` is 1.
    pub sample_seed: u64,
}

/// How sure the policy is of its choice.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum arbp_confidence {
    /// Chosen-action probability >= 0.6.
    ARBP_CONFIDENCE_HIGH = 0,
    /// >= 0.3.
    ARBP_CONFIDENCE_MEDIUM = 1,
    /// Less.
    ARBP_CONFIDENCE_LOW = 2,
}

/// The risk the decision leaves the book with, from the closest liquidation distance.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum arbp_risk_level {
    /// At least 0.45 of price away.
    ARBP_RISK_LOW = 0,
    /// At least 0.2.
    ARBP_RISK_MEDIUM = 1,
    /// Closer.
    ARBP_RISK_HIGH = 2,
}

/// Why a decision is not the policy's own choice.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum arbp_override {
    /// It is the policy's choice.
    ARBP_OVERRIDE_NONE = 0,
    /// A position breached the stop-loss: forced exit.
    ARBP_OVERRIDE_STOP_LOSS = 1,
    /// A position came within the liquidation buffer: forced exit.
    ARBP_OVERRIDE_LIQUIDATION_BUFFER = 2,
    /// A position was past its liquidation price: forced exit.
    ARBP_OVERRIDE_LIQUIDATED = 3,
    /// The policy failed to evaluate: HOLD.
    ARBP_OVERRIDE_POLICY_FAILED = 4,
    /// The policy's outputs were not finite: HOLD.
    ARBP_OVERRIDE_NON_FINITE_OUTPUT = 5,
}

/// The engine's answer. The caller sets `struct_size`; the engine fills every other field.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_decision {
    /// `sizeof(arbp_decision)`.
    pub struct_size: u32,
    /// The action, 0-35 (0 HOLD, 1-30 ENTER, 31-35 EXIT).
    pub action_index: u32,
    /// Its name, e.g. `ENTER_OPP_3_MEDIUM`.
    pub action_name: [c_char; ARBP_LABEL_SIZE],
    /// For an entry: the index into the request's opportunities; else -1.
    pub opportunity_index: i32,
    /// For an exit: the index into the request's positions; else -1.
    pub position_index: i32,
    /// For an entry: the notional of each leg, USD; else 0.
    pub size_usd: f64,
    /// For an entry: the leverage of both legs; else 0.
    pub leverage: f64,
    /// The chosen action's probability.
    pub probability: f32,
    /// Its confidence.
    pub confidence: arbp_confidence,
    /// The policy's state value (0 when the policy was not asked).
    pub value: f32,
    /// Every action's probability (exactly 0 for actions the risk limits forbid).
    pub probabilities: [f32; ARBP_ACTION_COUNT],
    /// The actions allowed when deciding: 1 allowed, 0 not.
    pub mask: [u8; ARBP_ACTION_COUNT],
    /// The coin entered or exited; empty otherwise.
    pub coin: [c_char; ARBP_NAME_SIZE],
    /// Its long exchange; empty otherwise.
    pub long_exchange: [c_char; ARBP_NAME_SIZE],
    /// Its short exchange; empty otherwise.
    pub short_exchange: [c_char; ARBP_NAME_SIZE],
    /// 1 when `expected_apr` is set (entries).
    pub has_expected_apr: u8,
    /// The entered opportunity's 24 h funding difference as an APR, fraction per year.
    pub expected_apr: f64,
    /// The risk level.
    pub risk_level: arbp_risk_level,
    /// The override, if any.
    pub override_reason: arbp_override,
}

/// Write a string into a fixed field, NUL-padded (it always fits: names and labels are short).
pub(crate) fn write_text<const N: usize>(field: &mut [c_char; N], text: &str) {
    *field = [0; N];
    for (f, b) in field.iter_mut().zip(text.bytes().take(N - 1)) {
        *f = b as c_char;
    }
}

/// An `arbp_opportunity` as the ABI reads it: the same bytes, with a quicker check of its names
/// while ranking (the engine's reading decides whenever the quick check is not sure).
#[repr(transparent)]
pub(crate) struct Received(pub(crate) arbp_opportunity);

impl Record for Received {
    type Unreadable = HostError;

    /// Names of plain ASCII, as hosts send, pass in a few instructions each.
    #[inline(always)]
    fn readable(&self, index: usize) -> Result<(), HostError> {
        let o = &self.0;
        let flaws = name_flaw(&o.symbol) | name_flaw(&o.long_leg.exchange) | name_flaw(&o.short_leg.exchange);
        if o.struct_size as usize == size_of::<arbp_opportunity>() && flaws == 0 {
            return Ok(());
        }
        o.readable(index)
    }

    #[inline]
    fn score(&self) -> f64 {
        self.0.score()
    }

    #[inline(always)]
    fn opportunity(&self) -> Option<Opportunity> {
        self.0.opportunity()
    }
}

/// Zero when a name field holds 1 to 15 ASCII bytes before a NUL, which makes it a field
/// [`arbpolicy_core::Name::from_nul_terminated`] accepts; the flaws of several fields are or-ed and tested once.
/// Tested in one SSE2 word (a decision carries 300 names); non-zero leaves the verdict to the
/// engine's reading, as for a name of 16 bytes and on targets without SSE2.
#[inline(always)]
fn name_flaw(field: &[c_char; ARBP_NAME_SIZE]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128};
        // SAFETY: the field has 16 readable bytes; SSE2 is part of x86-64.
        let (zeros, high) = unsafe {
            let word = _mm_loadu_si128(field.as_ptr().cast());
            (
                _mm_movemask_epi8(_mm_cmpeq_epi8(word, _mm_setzero_si128())) as u32,
                _mm_movemask_epi8(word) as u32,
            )
        };
        // The first NUL's bit (0 when there is none); the bits below it are the name's bytes,
        // none of which may have its high bit set. A NUL in the first byte (1), or no NUL in the
        // sixteen (0), is a flaw.
        let nul = zeros & zeros.wrapping_neg();
        high & nul.wrapping_sub(1) | u32::from(nul <= 1)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = field;
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::Name;
    use proptest::prelude::*;

    fn field(bytes: &[u8; ARBP_NAME_SIZE]) -> [c_char; ARBP_NAME_SIZE] {
        bytes.map(|b| b as c_char)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The quick test passes only fields the engine accepts, and passes every plain name
        /// shorter than 16 bytes.
        #[test]
        fn flawless_names_are_names(
            raw in proptest::array::uniform17(prop_oneof![Just(0u8), 1u8..0x80, 0x80u8..=0xff]),
            len in 0usize..=17,
        ) {
            let mut bytes = raw;
            if len < ARBP_NAME_SIZE {
                bytes[len] = 0;
            }
            let quick = name_flaw(&field(&bytes)) == 0;
            let engine = Name::from_nul_terminated(&bytes);
            prop_assert!(!quick || engine.is_ok(), "{bytes:?}");
            let first_nul = bytes.iter().position(|&b| b == 0);
            let plain = first_nul.is_some_and(|n| (1..16).contains(&n) && bytes[..n].is_ascii());
            if cfg!(target_arch = "x86_64") {
                prop_assert_eq!(quick, plain, "{:?}", bytes);
            }
        }
    }
}
