//! An open arbitrage position: two legs of equal entry notional on one coin.

use crate::Name;
use crate::error::{Error, INTERVAL, NON_NEGATIVE, PRICE, RATE, check_all};
use crate::margin;
use crate::opportunity::{Leg, Opportunity, funding_difference_8h, spread_pct};

/// Hours that normalise `hours_held` in the observation.
pub const HOLD_NORM_HOURS: f64 = 72.0;
/// Largest leverage a position may carry (exchange maximum).
pub const MAX_POSITION_LEVERAGE: f64 = 125.0;

/// One leg of an open position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionLeg {
    /// The exchange.
    pub venue: Name,
    /// Fill price at entry, quote currency per coin.
    pub entry_price: f64,
    /// Current mark price, quote currency per coin.
    pub price: f64,
    /// Latest settled funding rate on this venue, fraction per interval.
    pub funding_rate: f64,
    /// Settlement interval on this venue, hours.
    pub interval_hours: f64,
}

impl PositionLeg {
    fn opened(leg: &Leg) -> Self {
        PositionLeg {
            venue: leg.venue,
            entry_price: leg.price,
            price: leg.price,
            funding_rate: leg.funding_rate,
            interval_hours: leg.interval_hours,
        }
    }

    /// Coins held on this leg for a notional of `size_usd` at entry.
    pub fn quantity(&self, size_usd: f64) -> f64 {
        size_usd / self.entry_price
    }

    /// Current notional of this leg, quote currency.
    pub fn notional(&self, size_usd: f64) -> f64 {
        self.quantity(size_usd) * self.price
    }
}

/// An arbitrage execution: long `coin` on one venue, short it on another, `size_usd` notional each at
/// entry, both legs at `leverage` on isolated margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// The coin.
    pub coin: Name,
    /// The long leg.
    pub long: PositionLeg,
    /// The short leg.
    pub short: PositionLeg,
    /// Notional of each leg at entry, USD.
    pub size_usd: f64,
    /// Leverage of both legs.
    pub leverage: f64,
    /// Funding received so far, USD, >= 0.
    pub funding_received: f64,
    /// Funding paid so far, USD, >= 0.
    pub funding_paid: f64,
    /// Fees paid so far (the entry fees of both legs), USD, >= 0.
    pub fees_paid: f64,
    /// Entry time, hours since the Unix epoch.
    pub entry_hour: i64,
    /// Cross-venue price spread at entry, percent.
    pub entry_spread_pct: f64,
}

impl Position {
    /// Open a position on `opportunity` at its current prices, paying `fee_rate` on both legs.
    pub fn open(opportunity: &Opportunity, size_usd: f64, leverage: f64, fee_rate: f64, hour: i64) -> Self {
        Position {
            coin: opportunity.coin,
            long: PositionLeg::opened(&opportunity.long),
            short: PositionLeg::opened(&opportunity.short),
            size_usd,
            leverage,
            funding_received: 0.0,
            funding_paid: 0.0,
            fees_paid: entry_fees(size_usd, fee_rate),
            entry_hour: hour,
            entry_spread_pct: opportunity.spread_pct(),
        }
    }

    /// Whether this position is the trade `opportunity` describes.
    pub fn is_trade_of(&self, opportunity: &Opportunity) -> bool {
        opportunity.same_trade(&self.coin, &self.long.venue, &self.short.venue)
    }

    /// Price P&L of the long leg, USD.
    pub fn long_pnl(&self) -> f64 {
        self.long.quantity(self.size_usd) * (self.long.price - self.long.entry_price)
    }

    /// Price P&L of the short leg, USD.
    pub fn short_pnl(&self) -> f64 {
        self.short.quantity(self.size_usd) * (self.short.entry_price - self.short.price)
    }

    /// Price P&L of both legs, USD.
    pub fn price_pnl(&self) -> f64 {
        self.long_pnl() + self.short_pnl()
    }

    /// Funding received minus funding paid, USD.
    pub fn net_funding(&self) -> f64 {
        self.funding_received - self.funding_paid
    }

    /// Net P&L: price P&L of both legs + net funding - fees paid, USD.
    pub fn net_pnl(&self) -> f64 {
        self.price_pnl() + self.net_funding() - self.fees_paid
    }

    /// Net P&L as a fraction of the position's size (the stop-loss compares this).
    pub fn net_pnl_fraction(&self) -> f64 {
        self.net_pnl() / self.size_usd
    }

    /// Margin both legs post, USD.
    pub fn margin(&self) -> f64 {
        margin::position_margin(self.size_usd, self.leverage)
    }

    /// Liquidation prices `(long, short)`.
    pub fn liquidation_prices(&self) -> (f64, f64) {
        (
            margin::long_liquidation_price(self.long.entry_price, self.leverage),
            margin::short_liquidation_price(self.short.entry_price, self.leverage),
        )
    }

    /// Distance to liquidation of the closer leg, fraction of its current price.
    pub fn liquidation_distance(&self) -> f64 {
        let (long_liq, short_liq) = self.liquidation_prices();
        margin::long_liquidation_distance(self.long.price, long_liq)
            .min(margin::short_liquidation_distance(self.short.price, short_liq))
    }

    /// Fees to close both legs at current prices, USD.
    pub fn exit_fees(&self, fee_rate: f64) -> f64 {
        fee_rate * (self.long.notional(self.size_usd) + self.short.notional(self.size_usd))
    }

    /// Hours held at `now` (hours since the epoch), never negative.
    pub fn hours_held(&self, now: i64) -> f64 {
        (now - self.entry_hour).max(0) as f64
    }

    /// Check every field: names, positive prices and size, leverage in `[1, 125]`, rates in
    /// `[-1, 1]`, intervals in `(0, 24]`, funding and fees non-negative and finite.
    pub fn validate(&self) -> Result<(), Error> {
        if self.long.venue == self.short.venue {
            return Err(Error::SameVenue);
        }
        check_all!(
            ("position.long.entry_price", self.long.entry_price, PRICE),
            ("position.long.price", self.long.price, PRICE),
            ("position.long.funding_rate", self.long.funding_rate, RATE),
            ("position.long.interval_hours", self.long.interval_hours, INTERVAL),
            ("position.short.entry_price", self.short.entry_price, PRICE),
            ("position.short.price", self.short.price, PRICE),
            ("position.short.funding_rate", self.short.funding_rate, RATE),
            ("position.short.interval_hours", self.short.interval_hours, INTERVAL),
            ("position.size_usd", self.size_usd, (0.0, 1e12, true)),
            ("position.leverage", self.leverage, (1.0, MAX_POSITION_LEVERAGE, false)),
            ("position.funding_received", self.funding_received, NON_NEGATIVE),
            ("position.funding_paid", self.funding_paid, NON_NEGATIVE),
            ("position.fees_paid", self.fees_paid, NON_NEGATIVE),
            ("position.entry_spread_pct", self.entry_spread_pct, NON_NEGATIVE),
        )
    }

    /// The 12 observation features of an active slot, in the plan's order (see
    /// `docs/observation.md`). `now` is the current hour, `capital` the portfolio's capital.
    pub fn features(&self, now: i64, capital: f64) -> [f32; 12] {
        let funding_rate_8h = funding_difference_8h(
            (self.long.funding_rate, self.long.interval_hours),
            (self.short.funding_rate, self.short.interval_hours),
        );
        [
            1.0,
            (self.net_pnl_fraction() * 100.0) as f32,
            (self.hours_held(now) / HOLD_NORM_HOURS) as f32,
            (self.net_funding() / self.size_usd) as f32,
            funding_rate_8h as f32,
            spread_pct(self.long.price, self.short.price) as f32,
            self.entry_spread_pct as f32,
            ratio(self.size_usd, capital) as f32,
            ratio(self.net_funding(), self.fees_paid) as f32,
            ((self.long.price - self.long.entry_price) / self.long.entry_price * 100.0) as f32,
            ((self.short.entry_price - self.short.price) / self.short.entry_price * 100.0) as f32,
            self.liquidation_distance() as f32,
        ]
    }
}

/// Fees to enter a position of `size_usd` per leg: `2 x fee_rate x size_usd`.
pub fn entry_fees(size_usd: f64, fee_rate: f64) -> f64 {
    2.0 * fee_rate * size_usd
}

/// `numerator / denominator`, or 0 when the denominator is not positive.
pub(crate) fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 { numerator / denominator } else { 0.0 }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::opportunity::tests::btc;

    /// BTC opened at 1,000 USD a leg, 2x, 0.1 % fee: long Binance at 50,000, short Hyperliquid at
    /// 50,050, at hour 100.
    pub(crate) fn btc_position() -> Position {
        Position::open(&btc(), 1000.0, 2.0, 0.001, 100)
    }

    #[test]
    fn pnl_by_hand() {
        let mut p = btc_position();
        assert_eq!(p.fees_paid, 2.0);
        p.long.price = 51_000.0; // long +2 %: 0.02 coin x 1,000 = +20
        p.short.price = 51_001.0; // short: 1000/50050 coin x (50,050 - 51,001) = -19.0010...
        assert!((p.long_pnl() - 20.0).abs() < 1e-9);
        let short = 1000.0 / 50_050.0 * (50_050.0 - 51_001.0);
        assert!((p.short_pnl() - short).abs() < 1e-9);
        p.funding_received = 3.0;
        p.funding_paid = 0.5;
        let net = 20.0 + short + 2.5 - 2.0;
        assert!((p.net_pnl() - net).abs() < 1e-9);
        assert!((p.net_pnl_fraction() - net / 1000.0).abs() < 1e-12);
        // Exit fees on the current notional of each leg.
        let exit = 0.001 * (0.02 * 51_000.0 + 1000.0 / 50_050.0 * 51_001.0);
        assert!((p.exit_fees(0.001) - exit).abs() < 1e-12);
    }

    #[test]
    fn liquidation_by_hand() {
        let mut p = btc_position();
        let (l, s) = p.liquidation_prices();
        assert!((l - 50_000.0 * 0.55).abs() < 1e-6); // 1 - 0.9 / 2
        assert!((s - 50_050.0 * 1.45).abs() < 1e-6);
        // At entry both legs are 45 % away; the long's distance is the same, the short's too.
        assert!((p.liquidation_distance() - 0.45).abs() < 1e-12);
        p.short.price = 60_000.0; // short now (72,572.5 - 60,000) / 60,000 away
        assert!((p.liquidation_distance() - (50_050.0 * 1.45 - 60_000.0) / 60_000.0).abs() < 1e-12);
        assert_eq!(p.margin(), 1000.0);
    }

    #[test]
    fn features_by_hand() {
        let mut p = btc_position();
        p.funding_received = 4.0;
        let f = p.features(136, 10_000.0);
        assert_eq!(f[0], 1.0);
        assert!((f[1] - 0.2).abs() < 1e-6); // (4 - 2) / 1000 x 100
        assert_eq!(f[2], 0.5); // 36 h / 72
        assert!((f[3] - 0.004).abs() < 1e-7);
        assert!((f[4] - 0.0003).abs() < 1e-9);
        assert!((f[7] - 0.1).abs() < 1e-7);
        assert_eq!(f[8], 2.0); // 4 / 2
        assert!((f[11] - 0.45).abs() < 1e-6);
        assert_eq!(p.features(99, 0.0)[2], 0.0); // a clock behind entry never gives negative hours
        assert_eq!(p.features(99, 0.0)[7], 0.0);
    }

    #[test]
    fn validation() {
        assert_eq!(btc_position().validate(), Ok(()));
        let mut p = btc_position();
        p.leverage = 0.5;
        assert!(p.validate().is_err());
        let mut p = btc_position();
        p.funding_paid = -1.0;
        assert!(p.validate().is_err());
        let mut p = btc_position();
        p.short.price = f64::NAN;
        assert!(matches!(p.validate(), Err(Error::OutOfRange { field: "position.short.price", .. })));
    }
}
