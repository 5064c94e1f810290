//! Position sizing: how large an ENTER action's position is.

use crate::action::SizeTier;
use crate::config::TradingConfig;

/// The largest position one slot may take: `available x target_utilization / max_positions`.
pub fn max_allowed_size(available_capital: f64, config: &TradingConfig) -> f64 {
    available_capital * config.target_utilization / f64::from(config.max_positions)
}

/// The size (notional of each leg, USD) of an entry of `tier`:
/// [`max_allowed_size`] x 0.10, 0.20 or 0.30.
pub fn position_size(available_capital: f64, config: &TradingConfig, tier: SizeTier) -> f64 {
    max_allowed_size(available_capital, config) * tier.fraction()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plans_worked_example() {
        // 10,000 available, 60 % utilisation, 5 positions -> 1,200 max -> 120 / 240 / 360.
        let c = TradingConfig { target_utilization: 0.6, max_positions: 5, ..Default::default() };
        assert!((max_allowed_size(10_000.0, &c) - 1200.0).abs() < 1e-9);
        assert!((position_size(10_000.0, &c, SizeTier::Small) - 120.0).abs() < 1e-9);
        assert!((position_size(10_000.0, &c, SizeTier::Medium) - 240.0).abs() < 1e-9);
        assert!((position_size(10_000.0, &c, SizeTier::Large) - 360.0).abs() < 1e-9);
    }

    #[test]
    fn size_scales_with_available_capital() {
        let c = TradingConfig { target_utilization: 0.5, max_positions: 2, ..Default::default() };
        assert!((position_size(4000.0, &c, SizeTier::Large) - 300.0).abs() < 1e-12);
        assert_eq!(position_size(0.0, &c, SizeTier::Large), 0.0);
    }
}
