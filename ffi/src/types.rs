//! The blittable structs of the ABI and their conversion into the engine's types.
//!
//! Structs that may grow lead with `uint32_t struct_size`, which the caller sets to `sizeof` the
//! struct of the header it compiled against; this version accepts exactly its own sizes. Names are
//! NUL-terminated UTF-8 in `char[ARBP_NAME_SIZE]` (at most 16 bytes). Times are Unix milliseconds.
//! Rates and thresholds are fractions, as in the engine (a stop-loss of -0.02 is -2 %).

use crate::status::{Failure, invalid_argument, invalid_input};
use crate::{ARBP_ACTION_COUNT, ARBP_LABEL_SIZE, ARBP_NAME_SIZE};
use arbpolicy_core::opportunity::{score, spread_pct};
use arbpolicy_core::position::PositionLeg;
use arbpolicy_core::selection::Record;
use arbpolicy_core::time::hour_of_unix_ms;
use arbpolicy_core::{Error, Leg, MAX_POSITIONS, Name, Opportunity, Portfolio, Position, TradingConfig};
use std::ffi::c_char;

/// The user's risk settings and the engine's parameters (`arbp_config_default` fills the defaults).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_config {
    /// `sizeof(arbp_config)`.
    pub struct_size: u32,
    /// Leverage, `[1, 10]`.
    pub max_leverage: f64,
    /// Share of capital to deploy, `(0, 1]`.
    pub target_utilization: f64,
    /// Open positions at most, `1..=5`.
    pub max_positions: u32,
    /// Stop-loss as a fraction of a position's size, `[-0.05, -0.01]`.
    pub stop_loss_threshold: f64,
    /// Liquidation buffer, fraction of price, `[0.1, 0.3]`.
    pub liquidation_buffer: f64,
    /// Taker fee per side, fraction of notional.
    pub fee_rate: f64,
    /// Smallest position, USD.
    pub min_position_usd: f64,
    /// Margin cap, fraction of capital.
    pub max_margin_usage: f64,
    /// Daily loss that halts new entries, fraction of the day's starting capital.
    pub daily_loss_halt: f64,
    /// Drawdown that ends a training episode, fraction.
    pub episode_drawdown_stop: f64,
}

/// One venue of an opportunity.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_leg {
    /// Exchange name.
    pub exchange: [c_char; ARBP_NAME_SIZE],
    /// Price of the perpetual, USD.
    pub price: f64,
    /// Latest funding rate, fraction per settlement interval.
    pub funding_rate: f64,
    /// Settlement interval, hours.
    pub funding_interval_hours: f64,
}

/// A detected opportunity (the fields of the JSON request's `opportunities`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_opportunity {
    /// `sizeof(arbp_opportunity)`.
    pub struct_size: u32,
    /// Coin symbol, e.g. `BTC`.
    pub symbol: [c_char; ARBP_NAME_SIZE],
    /// The venue to buy on (lower funding).
    pub long_leg: arbp_leg,
    /// The venue to sell on (higher funding).
    pub short_leg: arbp_leg,
    /// Mean over 24 h of the funding difference, fraction per 8 h.
    pub fund_profit_8h_24h_proj: f64,
    /// Mean over 3 days of the funding difference, fraction per 8 h.
    pub fund_profit_8h_3d_proj: f64,
    /// Mean cross-venue price spread over the last 30 samples, percent.
    pub spread_30_sample_avg: f64,
    /// Mean cross-venue price spread over 24 h, percent.
    pub price_spread_24h_avg: f64,
    /// Mean cross-venue price spread over 3 days, percent.
    pub price_spread_3d_avg: f64,
    /// Standard deviation of the spread, percent.
    pub spread_volatility_stddev: f64,
    /// Traded volume over 24 h, USD.
    pub volume_24h: f64,
    /// Bid-ask spread, percent of mid.
    pub bid_ask_spread_percent: f64,
    /// Order-book depth near the mid, USD.
    pub orderbook_depth: f64,
}

/// One venue of an open position.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_position_leg {
    /// Exchange name.
    pub exchange: [c_char; ARBP_NAME_SIZE],
    /// Entry price, USD.
    pub entry_price: f64,
    /// Current price, USD.
    pub price: f64,
    /// Latest funding rate, fraction per settlement interval.
    pub funding_rate: f64,
    /// Settlement interval, hours.
    pub funding_interval_hours: f64,
}

/// An open position; its place in the request's array is its slot (the `position_index` of an
/// exit).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_position {
    /// `sizeof(arbp_position)`.
    pub struct_size: u32,
    /// Coin symbol.
    pub symbol: [c_char; ARBP_NAME_SIZE],
    /// The long leg.
    pub long_leg: arbp_position_leg,
    /// The short leg.
    pub short_leg: arbp_position_leg,
    /// Notional of each leg at entry, USD.
    pub position_size_usd: f64,
    /// Leverage of both legs.
    pub leverage: f64,
    /// Funding received so far, USD.
    pub funding_received_usd: f64,
    /// Funding paid so far, USD.
    pub funding_paid_usd: f64,
    /// Fees paid so far, USD.
    pub fees_paid_usd: f64,
    /// Entry time, Unix milliseconds.
    pub entry_time_ms: i64,
}

/// Capital and its history.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_portfolio {
    /// `sizeof(arbp_portfolio)`.
    pub struct_size: u32,
    /// Current capital (equity), USD.
    pub total_capital: f64,
    /// Capital at the start of the account or episode, USD.
    pub initial_capital: f64,
    /// Highest capital seen, USD.
    pub peak_capital: f64,
    /// Largest drawdown seen, fraction.
    pub max_drawdown: f64,
    /// Capital at the start of the UTC day, USD.
    pub day_start_capital: f64,
    /// 1 when the daily-loss halt was triggered today, else 0.
    pub entries_halted: u8,
    /// Share of the episode elapsed, `[0, 1]` (0 outside training).
    pub episode_progress: f64,
}

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

/// `struct_size` must equal this library's `sizeof`.
#[inline(always)]
pub(crate) fn check_size(given: u32, expected: usize, what: &str) -> Result<(), Failure> {
    if given as usize != expected {
        return Err(wrong_size(given, expected, what));
    }
    Ok(())
}

#[cold]
fn wrong_size(given: u32, expected: usize, what: &str) -> Failure {
    invalid_argument(format!(
        "{what}.struct_size is {given}, this library's sizeof({what}) is {expected} (set it to sizeof)"
    ))
}

/// A name field: NUL-terminated UTF-8, 1 to 16 bytes; `what` names the field in an error (built
/// only then: a decision converts hundreds of names).
#[inline(always)]
pub(crate) fn name(field: &[c_char; ARBP_NAME_SIZE], what: impl Fn() -> String) -> Result<Name, Failure> {
    Name::from_nul_terminated(&field.map(|c| c as u8)).map_err(|e| bad_name(e, what))
}

/// Zero when a name field holds 1 to 15 ASCII bytes before a NUL, which makes it a field
/// [`Name::from_nul_terminated`] accepts; the flaws of several fields are or-ed and tested once.
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

#[cold]
fn bad_name(e: Error, what: impl Fn() -> String) -> Failure {
    match e {
        Error::NameNotTerminated => {
            invalid_input(format!("{} is not NUL-terminated within {ARBP_NAME_SIZE} bytes", what()))
        }
        Error::NameNotUtf8 => {
            Failure::new(crate::arbp_status::ARBP_INVALID_UTF8, format!("{} is not UTF-8", what()))
        }
        e => invalid_input(format!("{}: {e}", what())),
    }
}

/// Write a string into a fixed field, NUL-padded (it always fits: names and labels are short).
pub(crate) fn write_text<const N: usize>(field: &mut [c_char; N], text: &str) {
    *field = [0; N];
    for (f, b) in field.iter_mut().zip(text.bytes().take(N - 1)) {
        *f = b as c_char;
    }
}

impl arbp_config {
    pub(crate) fn from_config(c: &TradingConfig) -> Self {
        arbp_config {
            struct_size: size_of::<arbp_config>() as u32,
            max_leverage: c.max_leverage,
            target_utilization: c.target_utilization,
            max_positions: u32::from(c.max_positions),
            stop_loss_threshold: c.stop_loss_threshold,
            liquidation_buffer: c.liquidation_buffer,
            fee_rate: c.fee_rate,
            min_position_usd: c.min_position_usd,
            max_margin_usage: c.max_margin_usage,
            daily_loss_halt: c.daily_loss_halt,
            episode_drawdown_stop: c.episode_drawdown_stop,
        }
    }

    /// The engine's configuration, validated.
    pub(crate) fn engine(&self) -> Result<TradingConfig, Failure> {
        check_size(self.struct_size, size_of::<arbp_config>(), "arbp_config")?;
        let config = TradingConfig {
            max_leverage: self.max_leverage,
            target_utilization: self.target_utilization,
            // Above 255 is out of range either way; validation names the field.
            max_positions: u8::try_from(self.max_positions).unwrap_or(u8::MAX),
            stop_loss_threshold: self.stop_loss_threshold,
            liquidation_buffer: self.liquidation_buffer,
            fee_rate: self.fee_rate,
            min_position_usd: self.min_position_usd,
            max_margin_usage: self.max_margin_usage,
            daily_loss_halt: self.daily_loss_halt,
            episode_drawdown_stop: self.episode_drawdown_stop,
        };
        config.validate()?;
        Ok(config)
    }
}

/// The engine's opportunity is built where it is chosen ([`Record::opportunity`]); its values are
/// checked there (an invalid opportunity is never chosen).
impl arbp_opportunity {
    /// The coin and the two venues, checked; and the struct's size.
    #[inline(always)]
    pub(crate) fn names(&self, index: usize) -> Result<[Name; 3], Failure> {
        let what = |field: &str| format!("opportunities[{index}].{field}");
        check_size(self.struct_size, size_of::<arbp_opportunity>(), "arbp_opportunity")?;
        Ok([
            name(&self.symbol, || what("symbol"))?,
            name(&self.long_leg.exchange, || what("long_leg.exchange"))?,
            name(&self.short_leg.exchange, || what("short_leg.exchange"))?,
        ])
    }
}

impl Record for arbp_opportunity {
    type Unreadable = Failure;

    /// Check the struct's size and its names, failing as [`names`](Self::names) does. Names of
    /// plain ASCII, as hosts send, pass in a few instructions each.
    #[inline(always)]
    fn readable(&self, index: usize) -> Result<(), Failure> {
        let flaws = name_flaw(&self.symbol)
            | name_flaw(&self.long_leg.exchange)
            | name_flaw(&self.short_leg.exchange);
        if self.struct_size as usize == size_of::<Self>() && flaws == 0 {
            return Ok(());
        }
        self.names(index).map(drop)
    }

    #[inline]
    fn score(&self) -> f64 {
        score(self.fund_profit_8h_24h_proj, self.volume_24h, self.bid_ask_spread_percent)
    }

    /// Its names were found readable first; a failure here counts as invalid all the same.
    #[inline(always)]
    fn opportunity(&self) -> Option<Opportunity> {
        let [coin, long_venue, short_venue] = self.names(0).ok()?;
        let leg = |l: &arbp_leg, venue: Name| Leg {
            venue,
            price: l.price,
            funding_rate: l.funding_rate,
            interval_hours: l.funding_interval_hours,
        };
        Some(Opportunity {
            coin,
            long: leg(&self.long_leg, long_venue),
            short: leg(&self.short_leg, short_venue),
            profit_8h_24h_avg: self.fund_profit_8h_24h_proj,
            profit_8h_3d_avg: self.fund_profit_8h_3d_proj,
            spread_30_avg_pct: self.spread_30_sample_avg,
            spread_24h_avg_pct: self.price_spread_24h_avg,
            spread_3d_avg_pct: self.price_spread_3d_avg,
            spread_std_pct: self.spread_volatility_stddev,
            volume_24h_usd: self.volume_24h,
            bid_ask_spread_pct: self.bid_ask_spread_percent,
            orderbook_depth_usd: self.orderbook_depth,
        })
    }
}

impl arbp_position {
    /// The engine's position, validated.
    pub(crate) fn engine(&self, index: usize) -> Result<Position, Failure> {
        let what = |field: &str| format!("positions[{index}].{field}");
        check_size(self.struct_size, size_of::<arbp_position>(), "arbp_position")?;
        let leg = |l: &arbp_position_leg, side: &str| -> Result<PositionLeg, Failure> {
            Ok(PositionLeg {
                venue: name(&l.exchange, || what(&format!("{side}.exchange")))?,
                entry_price: l.entry_price,
                price: l.price,
                funding_rate: l.funding_rate,
                interval_hours: l.funding_interval_hours,
            })
        };
        let position = Position {
            coin: name(&self.symbol, || what("symbol"))?,
            long: leg(&self.long_leg, "long_leg")?,
            short: leg(&self.short_leg, "short_leg")?,
            size_usd: self.position_size_usd,
            leverage: self.leverage,
            funding_received: self.funding_received_usd,
            funding_paid: self.funding_paid_usd,
            fees_paid: self.fees_paid_usd,
            entry_hour: hour_of_unix_ms(self.entry_time_ms),
            entry_spread_pct: spread_pct(self.long_leg.entry_price, self.short_leg.entry_price),
        };
        position.validate().map_err(|e| invalid_input(format!("positions[{index}]: {e}")))?;
        Ok(position)
    }
}

impl arbp_portfolio {
    /// The engine's book with these positions in their slots (validated where it is used).
    pub(crate) fn engine(&self, positions: &[arbp_position]) -> Result<Portfolio, Failure> {
        check_size(self.struct_size, size_of::<arbp_portfolio>(), "arbp_portfolio")?;
        if self.entries_halted > 1 {
            return Err(invalid_input(format!(
                "portfolio.entries_halted is {}, expected 0 or 1",
                self.entries_halted
            )));
        }
        let mut book = Portfolio {
            initial_capital: self.initial_capital,
            capital: self.total_capital,
            peak_capital: self.peak_capital,
            max_drawdown: self.max_drawdown,
            day_start_capital: self.day_start_capital,
            entries_halted: self.entries_halted == 1,
            episode_progress: self.episode_progress,
            positions: [None; MAX_POSITIONS],
        };
        for (slot, p) in positions.iter().enumerate() {
            book.positions[slot] = Some(p.engine(slot)?);
        }
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
