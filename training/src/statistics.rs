//! Statistics of an hourly market, the same for the synthetic market and the replay of recorded
//! data, so the synthetic one can be calibrated against the real one (`docs/market-data.md`).

use arbpolicy_core::config::DEFAULT_FEE_RATE;
use arbpolicy_core::environment::DEFAULT_SLIPPAGE;
use arbpolicy_core::market::MemoryMarket;
use arbpolicy_core::{Name, Opportunity};
use std::collections::HashMap;
use std::fmt;

/// What a market looks like, hour by hour.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarketStatistics {
    /// Hours.
    pub hours: usize,
    /// Mean opportunities an hour.
    pub opportunities_per_hour: f64,
    /// Standard deviation of a venue's hourly log price return.
    pub price_volatility: f64,
    /// Median cross-venue price spread of an opportunity, percent.
    pub spread_median_pct: f64,
    /// 90th percentile of that spread, percent.
    pub spread_p90_pct: f64,
    /// Standard deviation of venues' funding rates, per hour.
    pub funding_std_per_hour: f64,
    /// Mean of venues' funding rates, per hour.
    pub funding_mean_per_hour: f64,
    /// Median current funding difference of an opportunity, per 8 h.
    pub difference_median_8h: f64,
    /// 90th percentile of that difference, per 8 h.
    pub difference_p90_8h: f64,
    /// Share of opportunities whose 24 h average difference is positive for their direction.
    pub persistent_share: f64,
    /// Share of hours in which a venue pair's direction (which venue is long) flips.
    pub flip_rate: f64,
    /// Premium regimes (see [`PREMIUM_FLOOR_8H`]) per coin and 30 days.
    pub premiums_per_coin_month: f64,
    /// Their mean length, hours (NaN without one).
    pub premium_mean_hours: f64,
    /// Their mean size: the 3-day average funding difference over their hours, per 8 h (NaN
    /// without one).
    pub premium_mean_8h: f64,
}

/// A premium regime is a stretch of at least [`PREMIUM_MIN_HOURS`] consecutive hours in which one
/// trade (coin, long venue, short venue) is offered with a 3-day average funding difference of at
/// least this, per 8 h: 0.04 % a day, which pays a round trip at 0.05 % a side and 2 bp of
/// slippage (0.28 % of a leg) within a week.
pub const PREMIUM_FLOOR_8H: f64 = 4.0 * (DEFAULT_FEE_RATE + DEFAULT_SLIPPAGE) / 7.0 / 3.0;
/// The shortest premium regime, hours.
pub const PREMIUM_MIN_HOURS: usize = 72;

fn quantile(mut xs: Vec<f64>, q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

/// Mean and (population) standard deviation.
pub(crate) fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt())
}

impl MarketStatistics {
    /// The statistics of `market`.
    pub fn of(market: &MemoryMarket) -> Self {
        let hours = market.snapshots();
        let opportunities: Vec<&Opportunity> = hours.iter().flat_map(|h| &h.opportunities).collect();
        let mut returns = Vec::new();
        let mut rates = Vec::new();
        let mut last_price: HashMap<(Name, Name), (i64, f64)> = HashMap::new();
        for h in hours {
            for q in &h.quotes {
                rates.push(q.quote.funding_rate / q.quote.interval_hours);
                let key = (q.coin, q.venue);
                if let Some(&(t, p)) = last_price.get(&key)
                    && t + 1 == h.timestamp
                {
                    returns.push((q.quote.price / p).ln());
                }
                last_price.insert(key, (h.timestamp, q.quote.price));
            }
        }
        // A pair's direction at each hour: its long venue, keyed by the pair in name order.
        let mut direction: HashMap<(Name, Name, Name), (i64, Name)> = HashMap::new();
        let (mut flips, mut pair_hours) = (0usize, 0usize);
        for h in hours {
            for o in &h.opportunities {
                let (a, b) = if o.long.venue < o.short.venue {
                    (o.long.venue, o.short.venue)
                } else {
                    (o.short.venue, o.long.venue)
                };
                if let Some(&(t, long)) = direction.get(&(o.coin, a, b))
                    && t + 1 == h.timestamp
                {
                    pair_hours += 1;
                    flips += usize::from(long != o.long.venue);
                }
                direction.insert((o.coin, a, b), (h.timestamp, o.long.venue));
            }
        }
        // Each trade's current stretch above the floor: (last hour, hours, sum of the averages).
        let mut stretch: HashMap<(Name, Name, Name), (i64, usize, f64)> = HashMap::new();
        let mut regimes: Vec<(usize, f64)> = Vec::new();
        let mut close = |(_, n, sum): (i64, usize, f64)| {
            if n >= PREMIUM_MIN_HOURS {
                regimes.push((n, sum / n as f64));
            }
        };
        for h in hours {
            for o in h.opportunities.iter().filter(|o| o.profit_8h_3d_avg >= PREMIUM_FLOOR_8H) {
                let key = (o.coin, o.long.venue, o.short.venue);
                let run = match stretch.get(&key) {
                    Some(&(t, n, sum)) if t + 1 == h.timestamp => {
                        (h.timestamp, n + 1, sum + o.profit_8h_3d_avg)
                    }
                    Some(&ended) => {
                        close(ended);
                        (h.timestamp, 1, o.profit_8h_3d_avg)
                    }
                    None => (h.timestamp, 1, o.profit_8h_3d_avg),
                };
                stretch.insert(key, run);
            }
        }
        stretch.into_values().for_each(&mut close);
        let coins: std::collections::HashSet<Name> = opportunities.iter().map(|o| o.coin).collect();
        let coin_months = coins.len() as f64 * hours.len() as f64 / 720.0;
        let regime_mean = |f: fn(&(usize, f64)) -> f64| {
            if regimes.is_empty() {
                f64::NAN
            } else {
                regimes.iter().map(f).sum::<f64>() / regimes.len() as f64
            }
        };
        let (funding_mean, funding_std) = mean_std(&rates);
        let spreads = || {
            opportunities.iter().map(|o| arbpolicy_core::opportunity::spread_pct(o.long.price, o.short.price))
        };
        let differences = || opportunities.iter().map(|o| o.profit_8h());
        MarketStatistics {
            hours: hours.len(),
            opportunities_per_hour: opportunities.len() as f64 / hours.len().max(1) as f64,
            price_volatility: mean_std(&returns).1,
            spread_median_pct: quantile(spreads().collect(), 0.5),
            spread_p90_pct: quantile(spreads().collect(), 0.9),
            funding_std_per_hour: funding_std,
            funding_mean_per_hour: funding_mean,
            difference_median_8h: quantile(differences().collect(), 0.5),
            difference_p90_8h: quantile(differences().collect(), 0.9),
            persistent_share: opportunities.iter().filter(|o| o.profit_8h_24h_avg > 0.0).count() as f64
                / opportunities.len().max(1) as f64,
            flip_rate: flips as f64 / pair_hours.max(1) as f64,
            premiums_per_coin_month: if coin_months > 0.0 { regimes.len() as f64 / coin_months } else { 0.0 },
            premium_mean_hours: regime_mean(|r| r.0 as f64),
            premium_mean_8h: regime_mean(|r| r.1),
        }
    }

    /// The statistics as table rows: name, value.
    pub fn rows(&self) -> [(&'static str, f64); 14] {
        [
            ("hours", self.hours as f64),
            ("opportunities an hour", self.opportunities_per_hour),
            ("hourly price volatility (log return std)", self.price_volatility),
            ("cross-venue price spread, median (%)", self.spread_median_pct),
            ("cross-venue price spread, p90 (%)", self.spread_p90_pct),
            ("funding rate per hour, mean", self.funding_mean_per_hour),
            ("funding rate per hour, std", self.funding_std_per_hour),
            ("funding difference per 8 h, median", self.difference_median_8h),
            ("funding difference per 8 h, p90", self.difference_p90_8h),
            ("share with a positive 24 h average for their direction", self.persistent_share),
            ("direction flips per pair-hour", self.flip_rate),
            ("premium regimes per coin and 30 days", self.premiums_per_coin_month),
            ("premium regime length, mean (h)", self.premium_mean_hours),
            ("premium regime 3-day difference per 8 h, mean", self.premium_mean_8h),
        ]
    }
}

/// Two markets' statistics side by side, as a Markdown table.
pub struct SideBySide<'a>(pub [(&'a str, &'a MarketStatistics); 2]);

impl fmt::Display for SideBySide<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [(a, x), (b, y)] = self.0;
        writeln!(f, "| statistic | {a} | {b} |")?;
        writeln!(f, "|---|---|---|")?;
        for ((name, u), (_, v)) in x.rows().iter().zip(y.rows()) {
            writeln!(f, "| {name} | {u:.4e} | {v:.4e} |")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::market::{MarketHour, VenueQuote};
    use arbpolicy_core::{Leg, Quote};

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn leg(venue: &str, price: f64, rate: f64) -> Leg {
        Leg { venue: name(venue), price, funding_rate: rate, interval_hours: 1.0 }
    }

    /// BTC long `a` short `b` at these prices and hourly rates.
    fn opportunity(a: (&str, f64, f64), b: (&str, f64, f64), avg_24h: f64) -> Opportunity {
        premium(a, b, avg_24h, 0.0)
    }

    /// The same with a 3-day average.
    fn premium(a: (&str, f64, f64), b: (&str, f64, f64), avg_24h: f64, avg_3d: f64) -> Opportunity {
        Opportunity {
            coin: name("BTC"),
            long: leg(a.0, a.1, a.2),
            short: leg(b.0, b.1, b.2),
            profit_8h_24h_avg: avg_24h,
            profit_8h_3d_avg: avg_3d,
            spread_30_avg_pct: 0.0,
            spread_24h_avg_pct: 0.0,
            spread_3d_avg_pct: 0.0,
            spread_std_pct: 0.0,
            volume_24h_usd: 1e9,
            bid_ask_spread_pct: 0.01,
            orderbook_depth_usd: 1e7,
        }
    }

    fn hour(t: i64, o: Opportunity) -> MarketHour {
        let quote = |l: &Leg| VenueQuote {
            coin: o.coin,
            venue: l.venue,
            quote: Quote {
                price: l.price,
                funding_rate: l.funding_rate,
                interval_hours: 1.0,
                settlement: None,
            },
        };
        MarketHour { timestamp: t, quotes: vec![quote(&o.long), quote(&o.short)], opportunities: vec![o] }
    }

    #[test]
    fn statistics_of_three_hours_by_hand() {
        // Hour 1 keeps the direction, hour 2 flips it: one flip in two pair-hours.
        let market = MemoryMarket::new(vec![
            hour(10, opportunity(("a", 100.0, 1e-5), ("b", 100.0, 3e-5), 1e-4)),
            hour(11, opportunity(("a", 110.0, 1e-5), ("b", 110.0, 2e-5), -1e-4)),
            hour(12, opportunity(("b", 99.0, 1e-5), ("a", 101.0, 5e-5), 1e-4)),
        ]);
        let s = MarketStatistics::of(&market);
        assert_eq!((s.hours, s.opportunities_per_hour, s.flip_rate), (3, 1.0, 0.5));
        // Differences per 8 h: 1.6e-4, 0.8e-4, 3.2e-4.
        assert!((s.difference_median_8h - 1.6e-4).abs() < 1e-12, "{s:?}");
        assert!((s.difference_p90_8h - 3.2e-4).abs() < 1e-12, "{s:?}");
        // Spreads: 0, 0 and 2 / 100 = 2 %.
        assert_eq!(s.spread_median_pct, 0.0);
        assert!((s.spread_p90_pct - 2.0).abs() < 1e-12);
        assert!((s.persistent_share - 2.0 / 3.0).abs() < 1e-12);
        // Four returns: ln(1.1) twice, then ln(101 / 110) on a and ln(99 / 110) on b.
        let r = [1.1f64.ln(), 1.1f64.ln(), (101.0f64 / 110.0).ln(), (99.0f64 / 110.0).ln()];
        let m = r.iter().sum::<f64>() / 4.0;
        let std = (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 4.0).sqrt();
        assert!((s.price_volatility - std).abs() < 1e-12, "{s:?}");
        let rates = [1e-5, 3e-5, 1e-5, 2e-5, 1e-5, 5e-5];
        assert!((s.funding_mean_per_hour - rates.iter().sum::<f64>() / 6.0).abs() < 1e-15);
    }

    #[test]
    fn premium_regimes_by_hand() {
        let (a, b) = (("a", 100.0, 1e-5), ("b", 100.0, 3e-5));
        // Hours 0..100: above the floor for 80 hours (2e-4 for 40, then 4e-4), a gap of one hour,
        // 10 hours above (too short), then the rest below it.
        let avg = |t: i64| {
            if t < 40 {
                2e-4
            } else if t < 80 {
                4e-4
            } else if (81..91).contains(&t) {
                5e-4
            } else {
                1e-4
            }
        };
        let market = MemoryMarket::new((0..100).map(|t| hour(t, premium(a, b, 1e-4, avg(t)))).collect());
        let s = MarketStatistics::of(&market);
        assert_eq!(s.premium_mean_hours, 80.0);
        assert!((s.premium_mean_8h - 3e-4).abs() < 1e-15, "{s:?}");
        // One regime, one coin, 100 hours: 7.2 a coin-month.
        assert!((s.premiums_per_coin_month - 7.2).abs() < 1e-12);
        let flat = MemoryMarket::new((0..100).map(|t| hour(t, premium(a, b, 1e-4, 1e-4))).collect());
        let s = MarketStatistics::of(&flat);
        assert_eq!(s.premiums_per_coin_month, 0.0);
        assert!(s.premium_mean_hours.is_nan());
    }
}
