//! The trading configuration: the user's risk settings and the engine parameters.

use crate::error::{Error, check_all};
use rand::Rng;

/// The user's risk settings and the engine parameters a user may change.
///
/// All thresholds are fractions: `stop_loss_threshold = -0.02` closes a position that lost 2 % of its
/// size; `liquidation_buffer = 0.15` keeps every leg at least 15 % of its price away from liquidation.
///
/// Laid out for C: it is the `settings` of the ABI's `arbp_config`, and the JSON request's
/// `config`, where the engine parameters may be left out (they then take the defaults given here).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
pub struct TradingConfig {
    /// Largest leverage a position may use, in `[1, 10]`. The leverage actually used is
    /// [`crate::margin::entry_leverage`]: this cap, lowered if the liquidation buffer needs it.
    pub max_leverage: f64,
    /// Share of available capital the book aims to put to work, in `(0, 1]`.
    pub target_utilization: f64,
    /// Most positions open at once, in `1..=5`.
    pub max_positions: u8,
    /// A position whose net P&L as a fraction of its size falls below this is closed, in
    /// `[-0.05, -0.01]`.
    pub stop_loss_threshold: f64,
    /// Smallest allowed distance to liquidation, as a fraction of the price, in `[0.1, 0.3]`.
    pub liquidation_buffer: f64,
    /// Taker fee per side per leg, as a fraction of the filled notional, in `[0, 0.01]`.
    /// Default [`DEFAULT_FEE_RATE`] (0.05 %, a VIP-0 taker fee); the implementation plan's 0.1 %
    /// is [`PLAN_FEE_RATE`].
    #[cfg_attr(feature = "json", serde(default = "defaults::fee_rate"))]
    pub fee_rate: f64,
    /// Smallest position size (notional of one leg) in USD, in `[0, 1e9]`. Default 10.
    #[cfg_attr(feature = "json", serde(default = "defaults::min_position_usd"))]
    pub min_position_usd: f64,
    /// Margin of all positions may not exceed this fraction of capital, in `(0, 1]`. Default 0.95.
    #[cfg_attr(feature = "json", serde(default = "defaults::max_margin_usage"))]
    pub max_margin_usage: f64,
    /// A loss of this fraction of capital since the start of the UTC day halts entries until the next
    /// day, in `(0, 1]`. Default 0.05.
    #[cfg_attr(feature = "json", serde(default = "defaults::daily_loss_halt"))]
    pub daily_loss_halt: f64,
    /// The episode ends when capital falls this fraction below its peak, in `(0, 1]`. Default 0.25.
    #[cfg_attr(feature = "json", serde(default = "defaults::episode_drawdown_stop"))]
    pub episode_drawdown_stop: f64,
}

/// The default taker fee per side: 0.05 %, what the venues charge a VIP-0 taker (Binance USD-M
/// about 0.05 %, Hyperliquid's base tier 0.045 %, Bybit and OKX 0.055 % and 0.05 %).
pub const DEFAULT_FEE_RATE: f64 = 0.0005;
/// The implementation plan's fee per side, 0.1 %.
pub const PLAN_FEE_RATE: f64 = 0.001;

/// The engine parameters' defaults, as a JSON request's omitted fields take them.
#[cfg(feature = "json")]
mod defaults {
    use super::TradingConfig;

    macro_rules! defaults {
        ($($field:ident),+) => {$(
            pub(super) fn $field() -> f64 {
                TradingConfig::default().$field
            }
        )+};
    }
    defaults!(fee_rate, min_position_usd, max_margin_usage, daily_loss_halt, episode_drawdown_stop);
}

/// Allowed ranges, `(min, max, min_exclusive)`, one place for each.
pub mod bounds {
    use crate::error::Bounds;

    /// `max_leverage`.
    pub const MAX_LEVERAGE: Bounds = (1.0, 10.0, false);
    /// `target_utilization`.
    pub const TARGET_UTILIZATION: Bounds = (0.0, 1.0, true);
    /// `max_positions`.
    pub const MAX_POSITIONS: Bounds = (1.0, 5.0, false);
    /// `stop_loss_threshold`.
    pub const STOP_LOSS_THRESHOLD: Bounds = (-0.05, -0.01, false);
    /// `liquidation_buffer`.
    pub const LIQUIDATION_BUFFER: Bounds = (0.1, 0.3, false);
    /// `fee_rate`.
    pub const FEE_RATE: Bounds = (0.0, 0.01, false);
    /// `min_position_usd`.
    pub const MIN_POSITION_USD: Bounds = (0.0, 1e9, false);
    /// `max_margin_usage`.
    pub const MAX_MARGIN_USAGE: Bounds = (0.0, 1.0, true);
    /// `daily_loss_halt`.
    pub const DAILY_LOSS_HALT: Bounds = (0.0, 1.0, true);
    /// `episode_drawdown_stop`.
    pub const EPISODE_DRAWDOWN_STOP: Bounds = (0.0, 1.0, true);
}

/// Ranges the training sampler draws from (the implementation plan's training ranges).
pub mod training_ranges {
    /// `max_leverage`, uniform.
    pub const MAX_LEVERAGE: (f64, f64) = (1.0, 10.0);
    /// `target_utilization`, uniform.
    pub const TARGET_UTILIZATION: (f64, f64) = (0.3, 0.8);
    /// `max_positions`, uniform over the integers.
    pub const MAX_POSITIONS: (u8, u8) = (1, 5);
    /// `stop_loss_threshold`, uniform.
    pub const STOP_LOSS_THRESHOLD: (f64, f64) = (-0.05, -0.01);
    /// `liquidation_buffer`, uniform.
    pub const LIQUIDATION_BUFFER: (f64, f64) = (0.1, 0.3);
}

impl Default for TradingConfig {
    /// The implementation plan's defaults: 1x, 50 %, 3 positions, -2 % stop, 15 % buffer; the
    /// fee is a desk's, [`DEFAULT_FEE_RATE`].
    fn default() -> Self {
        TradingConfig {
            max_leverage: 1.0,
            target_utilization: 0.5,
            max_positions: 3,
            stop_loss_threshold: -0.02,
            liquidation_buffer: 0.15,
            fee_rate: DEFAULT_FEE_RATE,
            min_position_usd: 10.0,
            max_margin_usage: 0.95,
            daily_loss_halt: 0.05,
            episode_drawdown_stop: 0.25,
        }
    }
}

impl TradingConfig {
    /// Low leverage, little capital at work, few positions, tight stop, wide buffer.
    pub fn conservative() -> Self {
        TradingConfig {
            max_leverage: 1.0,
            target_utilization: 0.3,
            max_positions: 2,
            stop_loss_threshold: -0.01,
            liquidation_buffer: 0.3,
            ..Self::default()
        }
    }

    /// The middle of every range.
    pub fn balanced() -> Self {
        TradingConfig {
            max_leverage: 3.0,
            target_utilization: 0.5,
            max_positions: 3,
            stop_loss_threshold: -0.02,
            liquidation_buffer: 0.15,
            ..Self::default()
        }
    }

    /// High leverage, most capital at work, all five slots, loose stop, narrow buffer.
    pub fn aggressive() -> Self {
        TradingConfig {
            max_leverage: 8.0,
            target_utilization: 0.8,
            max_positions: 5,
            stop_loss_threshold: -0.05,
            liquidation_buffer: 0.1,
            ..Self::default()
        }
    }

    /// A random configuration over the plan's training ranges ([`training_ranges`]), for the
    /// curriculum; engine parameters keep their defaults.
    pub fn sample<R: Rng + ?Sized>(rng: &mut R) -> Self {
        use training_ranges as r;
        TradingConfig {
            max_leverage: rng.random_range(r::MAX_LEVERAGE.0..=r::MAX_LEVERAGE.1),
            target_utilization: rng.random_range(r::TARGET_UTILIZATION.0..=r::TARGET_UTILIZATION.1),
            max_positions: rng.random_range(r::MAX_POSITIONS.0..=r::MAX_POSITIONS.1),
            stop_loss_threshold: rng.random_range(r::STOP_LOSS_THRESHOLD.0..=r::STOP_LOSS_THRESHOLD.1),
            liquidation_buffer: rng.random_range(r::LIQUIDATION_BUFFER.0..=r::LIQUIDATION_BUFFER.1),
            ..Self::default()
        }
    }

    /// Check every field against its range; the error names the first field out of range, its value
    /// and the range. NaN is always out of range.
    pub fn validate(&self) -> Result<(), Error> {
        check_all!(
            ("config.max_leverage", self.max_leverage, bounds::MAX_LEVERAGE),
            ("config.target_utilization", self.target_utilization, bounds::TARGET_UTILIZATION),
            ("config.max_positions", f64::from(self.max_positions), bounds::MAX_POSITIONS),
            ("config.stop_loss_threshold", self.stop_loss_threshold, bounds::STOP_LOSS_THRESHOLD),
            ("config.liquidation_buffer", self.liquidation_buffer, bounds::LIQUIDATION_BUFFER),
            ("config.fee_rate", self.fee_rate, bounds::FEE_RATE),
            ("config.min_position_usd", self.min_position_usd, bounds::MIN_POSITION_USD),
            ("config.max_margin_usage", self.max_margin_usage, bounds::MAX_MARGIN_USAGE),
            ("config.daily_loss_halt", self.daily_loss_halt, bounds::DAILY_LOSS_HALT),
            ("config.episode_drawdown_stop", self.episode_drawdown_stop, bounds::EPISODE_DRAWDOWN_STOP),
        )
    }

    /// The five configuration features of the observation, in order: max_leverage,
    /// target_utilization, max_positions, stop_loss_threshold, liquidation_buffer (raw values).
    pub fn features(&self) -> [f32; 5] {
        [
            self.max_leverage as f32,
            self.target_utilization as f32,
            f32::from(self.max_positions),
            self.stop_loss_threshold as f32,
            self.liquidation_buffer as f32,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::string::ToString;

    #[test]
    fn defaults_and_presets_are_valid() {
        for c in [
            TradingConfig::default(),
            TradingConfig::conservative(),
            TradingConfig::balanced(),
            TradingConfig::aggressive(),
        ] {
            assert_eq!(c.validate(), Ok(()));
        }
    }

    #[test]
    fn validate_names_field_value_and_range() {
        let c = TradingConfig { max_leverage: 11.0, ..Default::default() };
        assert_eq!(c.validate().unwrap_err().to_string(), "config.max_leverage = 11 is outside [1, 10]");
        let c = TradingConfig { target_utilization: 0.0, ..Default::default() };
        assert_eq!(c.validate().unwrap_err().to_string(), "config.target_utilization = 0 is outside (0, 1]");
        let c = TradingConfig { liquidation_buffer: f64::NAN, ..Default::default() };
        assert!(matches!(c.validate(), Err(Error::OutOfRange { field: "config.liquidation_buffer", .. })));
        let c = TradingConfig { max_positions: 0, ..Default::default() };
        assert!(c.validate().is_err());
        let c = TradingConfig { max_positions: 6, ..Default::default() };
        assert!(c.validate().is_err());
        let c = TradingConfig { stop_loss_threshold: -2.0, ..Default::default() };
        assert!(c.validate().is_err());
        let c = TradingConfig { fee_rate: -0.001, ..Default::default() };
        assert!(c.validate().is_err());
        let c = TradingConfig { min_position_usd: f64::INFINITY, ..Default::default() };
        assert!(c.validate().is_err());
    }

    #[test]
    fn sampled_configs_are_valid_and_cover_the_training_ranges() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        let mut seen_positions = [false; 6];
        let (mut lo_lev, mut hi_lev) = (f64::MAX, f64::MIN);
        for _ in 0..2000 {
            let c = TradingConfig::sample(&mut rng);
            assert_eq!(c.validate(), Ok(()));
            assert!((0.3..=0.8).contains(&c.target_utilization));
            seen_positions[c.max_positions as usize] = true;
            lo_lev = lo_lev.min(c.max_leverage);
            hi_lev = hi_lev.max(c.max_leverage);
        }
        assert_eq!(seen_positions, [false, true, true, true, true, true]);
        assert!(lo_lev < 1.1 && hi_lev > 9.9);
    }

    #[test]
    fn features_are_the_raw_risk_settings() {
        let f = TradingConfig::balanced().features();
        assert_eq!(f, [3.0, 0.5, 3.0, -0.02, 0.15]);
    }
}
