//! Margin, leverage and liquidation math for isolated-margin perpetual legs.
//!
//! A leg of notional `size` at leverage `L` posts margin `size / L`. It is liquidated when the
//! price has moved `MAINTENANCE_FRACTION / L` against it (90 % of the margin lost):
//! long at `entry x (1 - 0.9 / L)`, short at `entry x (1 + 0.9 / L)`.

use crate::config::TradingConfig;

/// Share of a leg's margin that a price move may consume before the leg is liquidated.
pub const MAINTENANCE_FRACTION: f64 = 0.9;

/// Room a new position keeps beyond its liquidation buffer, a fraction of the price: its legs may
/// move 5 % against it before the buffer forces it out. A position opened at the buffer's edge is
/// closed by the first adverse tick and pays a round trip for nothing.
pub const ENTRY_ROOM: f64 = 0.05;

/// Margin one leg of notional `size_usd` posts at leverage `leverage`.
pub fn leg_margin(size_usd: f64, leverage: f64) -> f64 {
    size_usd / leverage
}

/// Margin a two-legged position of `size_usd` per leg posts (both legs).
pub fn position_margin(size_usd: f64, leverage: f64) -> f64 {
    2.0 * leg_margin(size_usd, leverage)
}

/// Liquidation price of a long leg entered at `entry`.
pub fn long_liquidation_price(entry: f64, leverage: f64) -> f64 {
    entry * (1.0 - MAINTENANCE_FRACTION / leverage)
}

/// Liquidation price of a short leg entered at `entry`.
pub fn short_liquidation_price(entry: f64, leverage: f64) -> f64 {
    entry * (1.0 + MAINTENANCE_FRACTION / leverage)
}

/// Distance of a long leg from its liquidation price, as a fraction of the current price
/// (negative once crossed).
pub fn long_liquidation_distance(price: f64, liquidation: f64) -> f64 {
    (price - liquidation) / price
}

/// Distance of a short leg from its liquidation price, as a fraction of the current price
/// (negative once crossed).
pub fn short_liquidation_distance(price: f64, liquidation: f64) -> f64 {
    (liquidation - price) / price
}

/// The leverage a new position uses: the user's `max_leverage`, lowered when needed so that the
/// position starts [`ENTRY_ROOM`] beyond its liquidation buffer (`0.9 / L >= buffer + 0.05`).
/// The user's maximum is a cap, never exceeded.
pub fn entry_leverage(config: &TradingConfig) -> f64 {
    config.max_leverage.min(MAINTENANCE_FRACTION / (config.liquidation_buffer + ENTRY_ROOM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liquidation_prices_by_hand() {
        // 5x: 0.9 / 5 = 18 % away.
        assert!((long_liquidation_price(100.0, 5.0) - 82.0).abs() < 1e-12);
        assert!((short_liquidation_price(100.0, 5.0) - 118.0).abs() < 1e-12);
        // 1x: the long is liquidated at 10 % of entry, the short at 190 %.
        assert!((long_liquidation_price(2000.0, 1.0) - 200.0).abs() < 1e-9);
        assert!((short_liquidation_price(2000.0, 1.0) - 3800.0).abs() < 1e-9);
    }

    #[test]
    fn liquidation_distance_by_hand() {
        // Long entered at 100 with 5x (liq 82), now at 90: (90 - 82) / 90.
        assert!((long_liquidation_distance(90.0, 82.0) - 8.0 / 90.0).abs() < 1e-15);
        // Short entered at 100 with 5x (liq 118), now at 110: (118 - 110) / 110.
        assert!((short_liquidation_distance(110.0, 118.0) - 8.0 / 110.0).abs() < 1e-15);
        assert!(short_liquidation_distance(120.0, 118.0) < 0.0);
    }

    #[test]
    fn margin_by_hand() {
        assert_eq!(leg_margin(1000.0, 4.0), 250.0);
        assert_eq!(position_margin(1000.0, 4.0), 500.0);
    }

    #[test]
    fn entry_leverage_caps_at_user_max_and_buffer() {
        let c = TradingConfig { max_leverage: 3.0, liquidation_buffer: 0.15, ..Default::default() };
        assert_eq!(entry_leverage(&c), 3.0); // 0.9 / 3 = 0.30 >= 0.15 + 0.05
        let c = TradingConfig { max_leverage: 10.0, liquidation_buffer: 0.15, ..Default::default() };
        let l = entry_leverage(&c);
        assert!((l - 4.5).abs() < 1e-12); // 0.9 / (0.15 + 0.05)
        // The legs start 20 % from liquidation: 5 % of price beyond the buffer.
        assert!((long_liquidation_distance(100.0, long_liquidation_price(100.0, l)) - 0.2).abs() < 1e-12);
        let c = TradingConfig { max_leverage: 10.0, liquidation_buffer: 0.3, ..Default::default() };
        assert!((entry_leverage(&c) - 0.9 / 0.35).abs() < 1e-12);
    }
}
