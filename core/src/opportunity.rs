//! A detected arbitrage opportunity: one coin, long on the venue whose funding is lower, short on the
//! venue whose funding is higher.
//!
//! Units: funding rates are fractions of notional per settlement interval (`0.0001` = 0.01 %);
//! "profit per 8 h" values are fractions of one leg's notional per 8 hours; APRs are fractions per
//! year; spreads and bid-ask spreads are percent of the mid price; volumes and depths are USD of
//! quote currency.

use crate::Name;
use crate::error::{Error, FINITE, INTERVAL, NON_NEGATIVE, PRICE, RATE, check_all};
use crate::market::Quote;

/// Hours in a year of a 24/7 market.
pub const HOURS_PER_YEAR: f64 = 8760.0;
/// Hours the "per 8 h" figures are quoted for.
pub const PROFIT_HOURS: f64 = 8.0;
/// Holding horizon of `estimated_profit_pct`, in hours.
pub const ESTIMATE_HOURS: f64 = 24.0;
/// Volume above which an opportunity counts as liquid in the composite score, USD per 24 h.
pub const LIQUID_VOLUME_USD: f64 = 1_000_000.0;
/// Bid-ask spread below which an opportunity counts as tight in the composite score, percent.
pub const TIGHT_BID_ASK_PCT: f64 = 0.1;

/// One venue's side of an opportunity, as known at decision time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    /// The exchange.
    pub venue: Name,
    /// Current perpetual price on this venue, quote currency per coin, > 0.
    pub price: f64,
    /// Latest settled funding rate, fraction of notional per interval (positive: longs pay).
    pub funding_rate: f64,
    /// Settlement interval, hours, in `(0, 24]` (observed spacing of settlements).
    pub interval_hours: f64,
}

impl Leg {
    /// The leg on `venue` at its quote.
    pub fn quoted(venue: Name, quote: &Quote) -> Leg {
        Leg {
            venue,
            price: quote.price,
            funding_rate: quote.funding_rate,
            interval_hours: quote.interval_hours,
        }
    }
}

/// A cross-exchange funding-rate arbitrage opportunity with the market statistics the policy sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Opportunity {
    /// The coin, e.g. `BTC`.
    pub coin: Name,
    /// The venue to buy the perpetual on (lower funding).
    pub long: Leg,
    /// The venue to sell the perpetual on (higher funding).
    pub short: Leg,
    /// Mean over the last 24 h of the funding difference, fraction per 8 h.
    pub profit_8h_24h_avg: f64,
    /// Mean over the last 3 days of the funding difference, fraction per 8 h.
    pub profit_8h_3d_avg: f64,
    /// Mean cross-venue price spread over the last 30 samples, percent.
    pub spread_30_avg_pct: f64,
    /// Mean cross-venue price spread over the last 24 h, percent.
    pub spread_24h_avg_pct: f64,
    /// Mean cross-venue price spread over the last 3 days, percent.
    pub spread_3d_avg_pct: f64,
    /// Standard deviation of the cross-venue price spread, percent, >= 0.
    pub spread_std_pct: f64,
    /// Traded volume over the last 24 h, USD, >= 0 (the smaller of the two venues).
    pub volume_24h_usd: f64,
    /// Bid-ask spread, percent of mid, >= 0.
    pub bid_ask_spread_pct: f64,
    /// Order-book depth near the mid, USD, >= 0.
    pub orderbook_depth_usd: f64,
}

impl Opportunity {
    /// Check every input: names distinct venues, prices positive, rates in `[-1, 1]`, intervals in
    /// `(0, 24]`, statistics finite, volumes, depths and spreads' spread non-negative.
    pub fn validate(&self) -> Result<(), Error> {
        if self.long.venue == self.short.venue {
            return Err(Error::SameVenue);
        }
        check_all!(
            ("opportunity.long.price", self.long.price, PRICE),
            ("opportunity.long.funding_rate", self.long.funding_rate, RATE),
            ("opportunity.long.interval_hours", self.long.interval_hours, INTERVAL),
            ("opportunity.short.price", self.short.price, PRICE),
            ("opportunity.short.funding_rate", self.short.funding_rate, RATE),
            ("opportunity.short.interval_hours", self.short.interval_hours, INTERVAL),
            ("opportunity.profit_8h_24h_avg", self.profit_8h_24h_avg, RATE),
            ("opportunity.profit_8h_3d_avg", self.profit_8h_3d_avg, RATE),
            ("opportunity.spread_30_avg_pct", self.spread_30_avg_pct, FINITE),
            ("opportunity.spread_24h_avg_pct", self.spread_24h_avg_pct, FINITE),
            ("opportunity.spread_3d_avg_pct", self.spread_3d_avg_pct, FINITE),
            ("opportunity.spread_std_pct", self.spread_std_pct, NON_NEGATIVE),
            ("opportunity.volume_24h_usd", self.volume_24h_usd, NON_NEGATIVE),
            ("opportunity.bid_ask_spread_pct", self.bid_ask_spread_pct, (0.0, 100.0, false)),
            ("opportunity.orderbook_depth_usd", self.orderbook_depth_usd, NON_NEGATIVE),
        )
    }

    /// Current funding difference (short's hourly rate minus long's), fraction per 8 h.
    pub fn profit_8h(&self) -> f64 {
        funding_difference_8h(
            (self.long.funding_rate, self.long.interval_hours),
            (self.short.funding_rate, self.short.interval_hours),
        )
    }

    /// Current funding difference annualised, fraction per year.
    pub fn apr(&self) -> f64 {
        per_8h_to_apr(self.profit_8h())
    }

    /// The 24 h average funding difference annualised, fraction per year.
    pub fn apr_24h(&self) -> f64 {
        per_8h_to_apr(self.profit_8h_24h_avg)
    }

    /// Current cross-venue price spread `|long - short| / mid`, percent.
    pub fn spread_pct(&self) -> f64 {
        spread_pct(self.long.price, self.short.price)
    }

    /// Round-trip cost of a position, percent of its size: taker fees on both legs at entry and exit
    /// (`4 x fee_rate`) plus half the bid-ask spread crossed at each of the four fills.
    pub fn position_cost_pct(&self, fee_rate: f64) -> f64 {
        4.0 * fee_rate * 100.0 + 2.0 * self.bid_ask_spread_pct
    }

    /// Expected net profit of holding the position for [`ESTIMATE_HOURS`] at the 24 h average funding
    /// difference, after [`Self::position_cost_pct`], percent of its size.
    pub fn estimated_profit_pct(&self, fee_rate: f64) -> f64 {
        self.expected_funding_pct() - self.position_cost_pct(fee_rate)
    }

    /// Funding earned over [`ESTIMATE_HOURS`] at the 24 h average difference, percent of size.
    fn expected_funding_pct(&self) -> f64 {
        self.profit_8h_24h_avg * (ESTIMATE_HOURS / PROFIT_HOURS) * 100.0
    }

    /// The composite score that ranks opportunities (the plan's `APR x quality`): the 24 h average
    /// APR times a quality factor of 1, halved when 24 h volume is at most 1 M USD and halved again
    /// when the bid-ask spread is at least 0.1 %.
    pub fn score(&self) -> f64 {
        score(self.profit_8h_24h_avg, self.volume_24h_usd, self.bid_ask_spread_pct)
    }

    /// Whether this opportunity is the same trade (coin, long venue, short venue) as `other`.
    pub fn same_trade(&self, coin: &Name, long_venue: &Name, short_venue: &Name) -> bool {
        self.coin == *coin && self.long.venue == *long_venue && self.short.venue == *short_venue
    }

    /// The 20 observation features of a filled slot, in the plan's order (see
    /// `docs/observation.md`). The caller validates the opportunity first.
    pub fn features(&self, fee_rate: f64) -> [f32; 20] {
        let profit_8h = self.profit_8h();
        let cost_pct = self.position_cost_pct(fee_rate);
        [
            1.0,
            self.long.funding_rate as f32,
            self.short.funding_rate as f32,
            (self.long.interval_hours / PROFIT_HOURS) as f32,
            (self.short.interval_hours / PROFIT_HOURS) as f32,
            profit_8h as f32,
            self.profit_8h_24h_avg as f32,
            self.profit_8h_3d_avg as f32,
            per_8h_to_apr(profit_8h) as f32,
            self.apr_24h() as f32,
            per_8h_to_apr(self.profit_8h_3d_avg) as f32,
            self.spread_30_avg_pct as f32,
            self.spread_24h_avg_pct as f32,
            self.spread_3d_avg_pct as f32,
            self.spread_std_pct as f32,
            libm::log10f(1.0 + self.volume_24h_usd as f32),
            self.bid_ask_spread_pct as f32,
            libm::log10f(1.0 + self.orderbook_depth_usd as f32),
            (self.expected_funding_pct() - cost_pct) as f32,
            cost_pct as f32,
        ]
    }
}

/// What a position long the first venue and short the second earns in funding, fraction of one
/// leg's notional per 8 h: each `(rate per interval, interval hours)` is normalised to one hour
/// before the difference is taken, so venues with different intervals compare.
pub fn funding_difference_8h(long: (f64, f64), short: (f64, f64)) -> f64 {
    (short.0 / short.1 - long.0 / long.1) * PROFIT_HOURS
}

/// A funding difference per 8 h as an APR (fraction per year).
pub fn per_8h_to_apr(per_8h: f64) -> f64 {
    per_8h * (HOURS_PER_YEAR / PROFIT_HOURS)
}

/// [`Opportunity::score`] from the three inputs it reads.
#[inline]
pub fn score(profit_8h_24h_avg: f64, volume_24h_usd: f64, bid_ask_spread_pct: f64) -> f64 {
    let volume = if volume_24h_usd > LIQUID_VOLUME_USD { 1.0 } else { 0.5 };
    let tight = if bid_ask_spread_pct < TIGHT_BID_ASK_PCT { 1.0 } else { 0.5 };
    per_8h_to_apr(profit_8h_24h_avg) * volume * tight
}

/// Cross-venue price spread `|a - b| / ((a + b) / 2)`, percent.
pub fn spread_pct(a: f64, b: f64) -> f64 {
    (a - b).abs() / ((a + b) * 0.5) * 100.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::name;

    /// A BTC opportunity: long Binance (8 h, 0.01 %), short Hyperliquid (1 h, 0.005 %).
    pub(crate) fn btc() -> Opportunity {
        Opportunity {
            coin: name("BTC").unwrap(),
            long: Leg {
                venue: name("binance").unwrap(),
                price: 50_000.0,
                funding_rate: 0.0001,
                interval_hours: 8.0,
            },
            short: Leg {
                venue: name("hyperliquid").unwrap(),
                price: 50_050.0,
                funding_rate: 0.00005,
                interval_hours: 1.0,
            },
            profit_8h_24h_avg: 0.0002,
            profit_8h_3d_avg: 0.0001,
            spread_30_avg_pct: 0.1,
            spread_24h_avg_pct: 0.12,
            spread_3d_avg_pct: 0.09,
            spread_std_pct: 0.02,
            volume_24h_usd: 2_000_000.0,
            bid_ask_spread_pct: 0.01,
            orderbook_depth_usd: 999.0,
        }
    }

    #[test]
    fn rates_are_normalised_per_hour_before_comparing() {
        let o = btc();
        // Long pays 0.01 % / 8 h = 0.00125 %/h; short receives 0.005 %/h: difference 0.00375 %/h,
        // i.e. 0.03 % per 8 h, not the raw 0.00005 - 0.0001 < 0.
        assert!((o.profit_8h() - 0.0003).abs() < 1e-15);
        assert!((o.apr() - 0.0003 * 1095.0).abs() < 1e-12);
        assert!((o.apr_24h() - 0.219).abs() < 1e-12);
    }

    #[test]
    fn features_by_hand() {
        let f = btc().features(0.001);
        assert_eq!(f[0], 1.0);
        assert_eq!(f[3], 1.0);
        assert_eq!(f[4], 0.125);
        assert!((f[15] - 6.301_03).abs() < 1e-5); // log10(2,000,001)
        assert!((f[17] - 3.0).abs() < 1e-6); // log10(1000)
        assert!((f[19] - 0.42).abs() < 1e-6); // 0.4 % fees + 2 x 0.01 % spread
        assert!((f[18] - (0.06 - 0.42)).abs() < 1e-6); // 0.02 % x 3 - costs
        assert!((btc().spread_pct() - 50.0 / 50_025.0 * 100.0).abs() < 1e-12);
    }

    #[test]
    fn score_halves_for_thin_or_wide_markets() {
        let mut o = btc();
        let full = o.score();
        o.volume_24h_usd = 1_000_000.0;
        assert!((o.score() - full / 2.0).abs() < 1e-12);
        o.bid_ask_spread_pct = 0.1;
        assert!((o.score() - full / 4.0).abs() < 1e-12);
    }

    #[test]
    fn validation_rejects_bad_inputs() {
        assert_eq!(btc().validate(), Ok(()));
        let mut o = btc();
        o.short.venue = o.long.venue;
        assert_eq!(o.validate(), Err(Error::SameVenue));
        let mut o = btc();
        o.long.price = 0.0;
        assert!(matches!(o.validate(), Err(Error::OutOfRange { field: "opportunity.long.price", .. })));
        let mut o = btc();
        o.short.funding_rate = f64::NAN;
        assert!(matches!(
            o.validate(),
            Err(Error::OutOfRange { field: "opportunity.short.funding_rate", .. })
        ));
        let mut o = btc();
        o.short.interval_hours = 0.0;
        assert!(o.validate().is_err());
        let mut o = btc();
        o.volume_24h_usd = -1.0;
        assert!(o.validate().is_err());
        let mut o = btc();
        o.spread_3d_avg_pct = f64::INFINITY;
        assert!(o.validate().is_err());
    }
}
