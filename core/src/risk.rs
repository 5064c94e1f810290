//! Risk rules that override the policy: forced exits and the daily-loss halt.
//!
//! Both thresholds are fractions: a position is closed when its net P&L over its size is below
//! `stop_loss_threshold` (e.g. `-0.02`), or when its closer leg is less than `liquidation_buffer`
//! (e.g. `0.15`) of the price away from liquidation. The comparisons are written so that a NaN
//! figure counts as a breach.

use crate::MAX_POSITIONS;
use crate::config::TradingConfig;
use crate::portfolio::Portfolio;
use crate::position::Position;
use core::fmt;

/// Why a position was (or must be) closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The policy chose to exit.
    Policy,
    /// Net P&L fell below the stop-loss threshold.
    StopLoss,
    /// A leg came closer to liquidation than the liquidation buffer.
    LiquidationBuffer,
    /// A leg crossed its liquidation price and was liquidated.
    Liquidated,
}

impl ExitReason {
    /// A stable upper-case label.
    pub fn label(self) -> &'static str {
        match self {
            ExitReason::Policy => "POLICY",
            ExitReason::StopLoss => "STOP_LOSS",
            ExitReason::LiquidationBuffer => "LIQUIDATION_BUFFER",
            ExitReason::Liquidated => "LIQUIDATED",
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Whether the risk limits force `position` closed now, and why.
pub fn forced_exit(config: &TradingConfig, position: &Position) -> Option<ExitReason> {
    if !(position.net_pnl_fraction() >= config.stop_loss_threshold) {
        Some(ExitReason::StopLoss)
    } else if !(position.liquidation_distance() >= config.liquidation_buffer) {
        Some(ExitReason::LiquidationBuffer)
    } else {
        None
    }
}

/// The forced exit of every slot (`None` for empty slots and positions within limits).
pub fn forced_exits(config: &TradingConfig, portfolio: &Portfolio) -> [Option<ExitReason>; MAX_POSITIONS] {
    core::array::from_fn(|i| portfolio.positions[i].as_ref().and_then(|p| forced_exit(config, p)))
}

/// Whether new entries are halted: the halt was triggered earlier today, or capital is at least
/// `daily_loss_halt` below the capital at the start of the UTC day.
pub fn entries_halted(config: &TradingConfig, portfolio: &Portfolio) -> bool {
    portfolio.entries_halted
        || !(portfolio.capital > portfolio.day_start_capital * (1.0 - config.daily_loss_halt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::tests::btc_position;

    #[test]
    fn stop_loss_fires_below_the_threshold() {
        let config = TradingConfig { stop_loss_threshold: -0.02, ..Default::default() };
        let mut p = btc_position(); // 2 USD fees on 1,000: -0.2 %
        assert_eq!(forced_exit(&config, &p), None);
        p.funding_paid = 17.0; // -19 USD: -1.9 %
        assert_eq!(forced_exit(&config, &p), None);
        p.funding_paid = 18.5; // -20.5 USD: -2.05 %
        assert_eq!(forced_exit(&config, &p), Some(ExitReason::StopLoss));
        p.funding_paid = f64::NAN;
        assert_eq!(forced_exit(&config, &p), Some(ExitReason::StopLoss));
    }

    #[test]
    fn buffer_breach_fires() {
        let config =
            TradingConfig { liquidation_buffer: 0.3, stop_loss_threshold: -0.05, ..Default::default() };
        let mut p = btc_position(); // 2x: 45 % away
        assert_eq!(forced_exit(&config, &p), None);
        // Move both legs up 20 %: the short is (72,572.5 - 60,060) / 60,060 = 20.8 % away; the hedge
        // keeps net P&L near zero, so only the buffer fires.
        p.long.price = 60_000.0;
        p.short.price = 60_060.0;
        assert_eq!(forced_exit(&config, &p), Some(ExitReason::LiquidationBuffer));
    }

    #[test]
    fn daily_halt_at_five_percent() {
        let config = TradingConfig::default();
        let mut book = Portfolio::new(10_000.0);
        book.capital = 9_501.0;
        assert!(!entries_halted(&config, &book));
        book.capital = 9_500.0;
        assert!(entries_halted(&config, &book));
        book.capital = 9_800.0;
        book.entries_halted = true;
        assert!(entries_halted(&config, &book));
        book.entries_halted = false;
        book.capital = f64::NAN;
        assert!(entries_halted(&config, &book));
    }

    #[test]
    fn forced_exits_by_slot() {
        let config = TradingConfig::default();
        let mut book = Portfolio::new(10_000.0);
        let mut losing = btc_position();
        losing.funding_paid = 100.0;
        book.positions[1] = Some(btc_position());
        book.positions[3] = Some(losing);
        assert_eq!(forced_exits(&config, &book), [None, None, None, Some(ExitReason::StopLoss), None]);
    }
}
