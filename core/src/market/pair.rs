//! One coin's pair of venues over time, and the opportunity it makes at each hour: the statistics of
//! the funding difference and of the price spread, from the pair's own past only.
//!
//! Every market builds its opportunities here, the synthetic one and the replay of recorded data
//! alike, so the features mean the same in training and in evaluation.

use super::Quote;
use crate::Name;
use crate::opportunity::{Leg, Opportunity, funding_difference_8h, spread_pct};
use alloc::collections::VecDeque;

/// Hours of the long statistics window (the 3-day averages and the spread's deviation).
pub const LONG_WINDOW_HOURS: i64 = 72;
/// Hours of the short window (the 24 h averages).
pub const SHORT_WINDOW_HOURS: i64 = 24;
/// Samples of the spread's recent average.
pub const RECENT_SAMPLES: usize = 30;

/// What a venue pair's opportunity needs beyond prices and funding, which recorded data may lack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Liquidity {
    /// Traded volume over the last 24 h, USD (the thinner venue's).
    pub volume_24h_usd: f64,
    /// Bid-ask spread, percent of mid.
    pub bid_ask_spread_pct: f64,
    /// Order-book depth near the mid, USD.
    pub orderbook_depth_usd: f64,
}

/// The history of venues `a` and `b` of one coin: the funding difference (b's hourly rate minus
/// a's, per 8 h) and the price spread at each hour both were quoted, for the last 72 hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairHistory {
    samples: VecDeque<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    hour: i64,
    difference: f64,
    spread: f64,
}

impl PairHistory {
    /// Record both venues' quotes at `hour` (hours increase from call to call).
    pub fn record(&mut self, hour: i64, a: &Quote, b: &Quote) {
        let difference =
            funding_difference_8h((a.funding_rate, a.interval_hours), (b.funding_rate, b.interval_hours));
        self.samples.push_back(Sample { hour, difference, spread: spread_pct(a.price, b.price) });
        while self.samples.front().is_some_and(|s| s.hour <= hour - LONG_WINDOW_HOURS) {
            self.samples.pop_front();
        }
    }

    /// The opportunity at the last recorded hour: long the venue with the lower hourly rate, short
    /// the other; the averages are taken over the samples of the last 24 h and 72 h (30 samples for
    /// the recent spread), signed to the trade's direction. `None` before any sample.
    pub fn opportunity(
        &self,
        coin: Name,
        (venue_a, a): (Name, &Quote),
        (venue_b, b): (Name, &Quote),
        liquidity: Liquidity,
    ) -> Option<Opportunity> {
        let last = self.samples.back()?;
        let (long, short, sign) = if last.difference >= 0.0 {
            (Leg::quoted(venue_a, a), Leg::quoted(venue_b, b), 1.0)
        } else {
            (Leg::quoted(venue_b, b), Leg::quoted(venue_a, a), -1.0)
        };
        let since = |hours: i64| self.samples.iter().filter(move |s| s.hour > last.hour - hours);
        let short_window = mean(since(SHORT_WINDOW_HOURS).map(|s| s.difference));
        let long_window = mean(since(LONG_WINDOW_HOURS).map(|s| s.difference));
        let recent = mean(
            self.samples.iter().skip(self.samples.len().saturating_sub(RECENT_SAMPLES)).map(|s| s.spread),
        );
        let spreads = || since(LONG_WINDOW_HOURS).map(|s| s.spread);
        let spread_3d = mean(spreads());
        let variance = mean(spreads().map(|s| (s - spread_3d) * (s - spread_3d)));
        Some(Opportunity {
            coin,
            long,
            short,
            profit_8h_24h_avg: sign * short_window,
            profit_8h_3d_avg: sign * long_window,
            spread_30_avg_pct: recent,
            spread_24h_avg_pct: mean(since(SHORT_WINDOW_HOURS).map(|s| s.spread)),
            spread_3d_avg_pct: spread_3d,
            spread_std_pct: libm::sqrt(variance),
            volume_24h_usd: liquidity.volume_24h_usd,
            bid_ask_spread_pct: liquidity.bid_ask_spread_pct,
            orderbook_depth_usd: liquidity.orderbook_depth_usd,
        })
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name;

    fn quote(price: f64, rate: f64, interval: f64) -> Quote {
        Quote { price, funding_rate: rate, interval_hours: interval, settlement: None }
    }

    #[test]
    fn averages_cover_the_windows_and_follow_the_trade_direction() {
        let (btc, a, b) = (name("BTC").unwrap(), name("binance").unwrap(), name("hyperliquid").unwrap());
        let mut h = PairHistory::default();
        let liquidity = Liquidity { volume_24h_usd: 1e9, bid_ask_spread_pct: 0.01, orderbook_depth_usd: 1e7 };
        assert!(
            h.opportunity(btc, (a, &quote(1.0, 0.0, 8.0)), (b, &quote(1.0, 0.0, 1.0)), liquidity).is_none()
        );
        // 100 hours: b pays 1e-5 an hour more than a for the first 90, then 3e-5 less.
        let mut last = (quote(1.0, 0.0, 8.0), quote(1.0, 0.0, 1.0));
        for t in 0..100i64 {
            let qa = quote(100.0, 0.0008, 8.0);
            let b_rate = if t < 90 { 1e-4 + 1e-5 } else { 1e-4 - 3e-5 };
            let qb = quote(100.0 + f64::from(t as i32 % 2) * 0.1, b_rate, 1.0);
            h.record(1000 + t, &qa, &qb);
            last = (qa, qb);
        }
        let o = h.opportunity(btc, (a, &last.0), (b, &last.1), liquidity).unwrap();
        // Now b's rate is lower: long b, short a; the current difference is 3e-5 x 8 per 8 h.
        assert_eq!((o.long.venue, o.short.venue), (b, a));
        assert!((o.profit_8h() - 2.4e-4).abs() < 1e-12);
        // Last 24 h: 10 hours at -(-2.4e-4) and 14 at -(8e-5), seen from the new direction.
        let expected_24h = (10.0 * 2.4e-4 - 14.0 * 8e-5) / 24.0;
        assert!((o.profit_8h_24h_avg - expected_24h).abs() < 1e-12, "{}", o.profit_8h_24h_avg);
        let expected_3d = (10.0 * 2.4e-4 - 62.0 * 8e-5) / 72.0;
        assert!((o.profit_8h_3d_avg - expected_3d).abs() < 1e-12);
        // Spreads alternate 0 and ~0.0999 %: averages near half of it, deviation near half too.
        let s = spread_pct(100.0, 100.1);
        assert!((o.spread_3d_avg_pct - s / 2.0).abs() < 1e-9);
        assert!((o.spread_30_avg_pct - s / 2.0).abs() < 1e-9);
        assert!((o.spread_std_pct - s / 2.0).abs() < 1e-9);
        assert_eq!(o.volume_24h_usd, 1e9);
    }

    #[test]
    fn hours_without_both_venues_are_not_samples() {
        let mut h = PairHistory::default();
        h.record(0, &quote(1.0, 0.0, 8.0), &quote(1.0, 8e-5, 8.0));
        // A gap of 30 hours: the 24 h window holds only the new sample.
        h.record(30, &quote(1.0, 0.0, 8.0), &quote(1.0, 8e-4, 8.0));
        let (c, a, b) = (name("ETH").unwrap(), name("okx").unwrap(), name("bybit").unwrap());
        let l = Liquidity { volume_24h_usd: 0.0, bid_ask_spread_pct: 0.0, orderbook_depth_usd: 0.0 };
        let o = h.opportunity(c, (a, &quote(1.0, 0.0, 8.0)), (b, &quote(1.0, 8e-4, 8.0)), l).unwrap();
        assert!((o.profit_8h_24h_avg - 8e-4).abs() < 1e-15);
        assert!((o.profit_8h_3d_avg - (8e-5 + 8e-4) / 2.0).abs() < 1e-15);
    }
}
