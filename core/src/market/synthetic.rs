//! A seeded synthetic market: several coins on venues that settle funding every 8 h, 4 h and 1 h.
//!
//! - Each coin's price is a random walk with occasional jumps; each venue's price deviates from it
//!   by a mean-reverting noisy spread, so venue prices are correlated but not equal.
//! - Each venue's hourly funding rate reverts to a venue-and-coin mean that shifts at random regime
//!   changes (so the sign of the cross-venue difference flips), with occasional spikes.
//! - A coin may enter a premium regime ([`SyntheticParams::premium_probability`]): for a stretch of
//!   days to weeks one venue's funding runs a fixed rate above (or below) the others', the
//!   persistent difference that pays a carry trade; spikes, by contrast, revert within hours.
//! - A venue settles at hours divisible by its interval; the settled rate is the sum of its hourly
//!   rates over the interval. Opportunities use only settled rates and past prices.

use super::Settlement;
use super::memory::{MarketHour, MemoryMarket, VenueQuote};
use super::pair::{Liquidity, PairHistory};
use crate::{Name, Quote, name};
use alloc::vec;
use alloc::vec::Vec;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;

/// Coins the synthetic market can list.
pub const COINS: [&str; 8] = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "BNB", "LTC"];
/// Venues and their settlement intervals, hours.
pub const VENUES: [(&str, u32); 3] = [("binance", 8), ("bybit", 4), ("hyperliquid", 1)];

/// Shape and dynamics of a synthetic market. Rates are per hour, fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticParams {
    /// Number of hourly snapshots.
    pub hours: usize,
    /// Number of coins, 1 to 8.
    pub coins: usize,
    /// Time of the first snapshot, hours since the epoch (default 2025-01-01 00:00 UTC).
    pub start_timestamp: i64,
    /// Standard deviation of a coin's hourly log return.
    pub price_volatility: f64,
    /// Probability per hour of a price jump.
    pub jump_probability: f64,
    /// Standard deviation of a jump's log size.
    pub jump_size: f64,
    /// Stationary standard deviation of a venue's log deviation from the coin price.
    pub spread_noise: f64,
    /// Share of a venue's deviation that survives an hour, in `[0, 1)`.
    pub spread_persistence: f64,
    /// Long-run mean of hourly funding rates.
    pub funding_mean: f64,
    /// Standard deviation of the venue-and-coin funding means drawn at each regime.
    pub funding_regime_spread: f64,
    /// Probability per hour that a venue-and-coin funding regime changes.
    pub regime_probability: f64,
    /// Share of the gap to the regime mean closed each hour.
    pub funding_reversion: f64,
    /// Standard deviation of the hourly funding noise.
    pub funding_noise: f64,
    /// Probability per hour of a funding spike on a venue.
    pub spike_probability: f64,
    /// Standard deviation of a spike.
    pub spike_size: f64,
    /// Probability per hour that a coin without a premium regime starts one (0: never).
    pub premium_probability: f64,
    /// Mean length of a premium regime, hours (each hour it ends with probability one over this).
    pub premium_hours: f64,
    /// Hourly funding rate one venue runs above (or, with even odds, below) its own during a
    /// premium regime.
    pub premium_rate: f64,
}

impl Default for SyntheticParams {
    fn default() -> Self {
        SyntheticParams {
            hours: 24 * 60,
            coins: 6,
            start_timestamp: 482_136,
            price_volatility: 0.012,
            jump_probability: 0.002,
            jump_size: 0.04,
            spread_noise: 0.0005,
            spread_persistence: 0.8,
            funding_mean: 1.0e-5,
            funding_regime_spread: 9.0e-6,
            regime_probability: 0.02,
            funding_reversion: 0.1,
            funding_noise: 4.0e-6,
            spike_probability: 0.003,
            spike_size: 1.0e-4,
            premium_probability: 0.0,
            premium_hours: 240.0,
            premium_rate: 0.0,
        }
    }
}

impl SyntheticParams {
    /// The learner's health check (`--market edge`): three coins whose typical hours pay nothing
    /// after costs, with the default market's reverting spikes, and premium regimes of ten days on
    /// average, about two in five hours of each coin, in which one venue's funding runs 0.004 %
    /// an hour (0.096 % a day) off the others': a round trip at 0.05 % a side and 2 bp slippage
    /// (0.28 % of a leg) pays back in three days. Prices are quiet (0.05 % an hour, no jumps), so
    /// that no configuration's liquidation buffer forces a position out: the check is about
    /// funding. The right policy is known: enter a premium early, hold it to its end, ignore the
    /// spikes.
    pub fn edge() -> Self {
        SyntheticParams {
            coins: 3,
            premium_probability: 1.0 / 360.0,
            premium_hours: 240.0,
            premium_rate: 4.0e-5,
            price_volatility: 0.0005,
            jump_probability: 0.0,
            ..SyntheticParams::default()
        }
    }
}

/// A coin's premium regime: which venue, at what hourly rate.
#[derive(Debug, Clone, Copy)]
struct Premium {
    venue: usize,
    rate: f64,
}

/// The synthetic market generator.
pub struct SyntheticMarket;

struct VenueState {
    deviation: f64,
    hourly_rate: f64,
    regime_mean: f64,
    accrued: f64,
    settled: f64,
}

fn normal(rng: &mut Pcg64Mcg) -> f64 {
    rng.sample(StandardNormal)
}

impl SyntheticMarket {
    /// Generate a market from `seed`.
    pub fn generate(seed: u64, params: &SyntheticParams) -> MemoryMarket {
        let p = params;
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let coins = p.coins.clamp(1, COINS.len());
        let venues: Vec<(Name, u32)> = VENUES.iter().map(|&(v, h)| (name(v).expect("short"), h)).collect();
        let nv = venues.len();

        let mut prices: Vec<f64> =
            (0..coins).map(|c| [60_000.0, 3_000.0, 150.0, 0.6, 0.15, 0.5, 600.0, 90.0][c]).collect();
        let volumes: Vec<f64> = (0..coins).map(|c| 5e8 / (1.0 + c as f64 * 2.0)).collect();
        let bid_ask: Vec<f64> = (0..coins).map(|c| 0.01 + 0.02 * c as f64).collect();
        let mut state: Vec<VenueState> = (0..coins * nv)
            .map(|_| {
                let regime_mean = p.funding_mean + p.funding_regime_spread * normal(&mut rng);
                VenueState {
                    deviation: 0.0,
                    hourly_rate: regime_mean,
                    regime_mean,
                    accrued: 0.0,
                    settled: 0.0,
                }
            })
            .collect();
        for (k, s) in state.iter_mut().enumerate() {
            s.settled = s.hourly_rate * f64::from(venues[k % nv].1);
        }
        let mut premiums: Vec<Option<Premium>> = vec![None; coins];
        let pairs: Vec<(usize, usize)> = (0..nv).flat_map(|i| (i + 1..nv).map(move |j| (i, j))).collect();
        let mut history: Vec<PairHistory> = vec![PairHistory::default(); coins * pairs.len()];
        let spread_shock = p.spread_noise * libm::sqrt(1.0 - p.spread_persistence * p.spread_persistence);

        let mut hours = Vec::with_capacity(p.hours);
        for t in 0..p.hours {
            let timestamp = p.start_timestamp + t as i64;
            let mut hour = MarketHour { timestamp, ..MarketHour::default() };
            for c in 0..coins {
                if t > 0 {
                    let mut r = p.price_volatility * normal(&mut rng);
                    if rng.random::<f64>() < p.jump_probability {
                        r += p.jump_size * normal(&mut rng);
                    }
                    prices[c] *= libm::exp(r);
                    // Drawn only in markets with premiums, so the others stay as they were.
                    if p.premium_probability > 0.0 {
                        premiums[c] = match premiums[c] {
                            Some(_) if rng.random::<f64>() < 1.0 / p.premium_hours.max(1.0) => None,
                            None if rng.random::<f64>() < p.premium_probability => {
                                let venue = rng.random_range(0..nv);
                                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                                Some(Premium { venue, rate: sign * p.premium_rate })
                            }
                            kept => kept,
                        };
                    }
                }
                for (v, &(venue, interval)) in venues.iter().enumerate() {
                    let s = &mut state[c * nv + v];
                    if t > 0 {
                        s.deviation = p.spread_persistence * s.deviation + spread_shock * normal(&mut rng);
                        if rng.random::<f64>() < p.regime_probability {
                            s.regime_mean = p.funding_mean + p.funding_regime_spread * normal(&mut rng);
                        }
                        s.hourly_rate += p.funding_reversion * (s.regime_mean - s.hourly_rate)
                            + p.funding_noise * normal(&mut rng);
                        if rng.random::<f64>() < p.spike_probability {
                            s.hourly_rate += p.spike_size * normal(&mut rng);
                        }
                        s.accrued += s.hourly_rate;
                        if let Some(premium) = premiums[c].filter(|q| q.venue == v) {
                            s.accrued += premium.rate;
                        }
                    }
                    let settles = t > 0 && timestamp.rem_euclid(i64::from(interval)) == 0;
                    let price = prices[c] * libm::exp(s.deviation);
                    let settlement = if settles {
                        s.settled = s.accrued.clamp(-0.03, 0.03);
                        s.accrued = 0.0;
                        Some(Settlement { rate: s.settled, mark_price: None })
                    } else {
                        None
                    };
                    hour.quotes.push(VenueQuote {
                        coin: name(COINS[c]).expect("short"),
                        venue,
                        quote: Quote {
                            price,
                            funding_rate: s.settled,
                            interval_hours: f64::from(interval),
                            settlement,
                        },
                    });
                }
                for (k, &(i, j)) in pairs.iter().enumerate() {
                    let qi = hour.quotes[hour.quotes.len() - nv + i].quote;
                    let qj = hour.quotes[hour.quotes.len() - nv + j].quote;
                    let h = &mut history[c * pairs.len() + k];
                    h.record(timestamp, &qi, &qj);
                    let volume = volumes[c] * libm::exp(0.3 * normal(&mut rng));
                    let liquidity = Liquidity {
                        volume_24h_usd: volume,
                        bid_ask_spread_pct: bid_ask[c],
                        orderbook_depth_usd: volume / 100.0,
                    };
                    let coin = name(COINS[c]).expect("short");
                    hour.opportunities.extend(h.opportunity(
                        coin,
                        (venues[i].0, &qi),
                        (venues[j].0, &qj),
                        liquidity,
                    ));
                }
            }
            hours.push(hour);
        }
        MemoryMarket::new(hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Market;

    #[test]
    fn same_seed_same_market_and_every_opportunity_valid() {
        let params = SyntheticParams { hours: 200, coins: 3, ..Default::default() };
        let a = SyntheticMarket::generate(5, &params);
        assert_eq!(a, SyntheticMarket::generate(5, &params));
        assert_ne!(a, SyntheticMarket::generate(6, &params));
        assert_eq!(a.hours(), 200);
        for t in 0..a.hours() {
            assert_eq!(a.timestamp(t), params.start_timestamp + t as i64);
            assert_eq!(a.opportunities(t).len(), 3 * 3);
            for o in a.opportunities(t) {
                assert_eq!(o.validate(), Ok(()));
                assert!(o.profit_8h() >= 0.0, "long the lower rate");
            }
        }
    }

    #[test]
    fn venues_settle_on_their_own_intervals() {
        let params = SyntheticParams { hours: 48, coins: 1, ..Default::default() };
        let m = SyntheticMarket::generate(1, &params);
        let btc = name("BTC").unwrap();
        for (venue, interval) in VENUES {
            let v = name(venue).unwrap();
            let settled: Vec<i64> = (0..m.hours())
                .filter(|&t| m.quote(t, &btc, &v).unwrap().settlement.is_some())
                .map(|t| m.timestamp(t))
                .collect();
            assert_eq!(settled.len(), 47 / interval as usize);
            assert!(settled.iter().all(|ts| ts % i64::from(interval) == 0));
        }
    }

    /// Share of hours at which some coin's opportunity has averaged at least `floor` per 8 h over
    /// the last three days.
    fn persistent_share(m: &MemoryMarket, floor: f64) -> f64 {
        let hours =
            (72..m.hours()).filter(|&t| m.opportunities(t).iter().any(|o| o.profit_8h_3d_avg >= floor));
        hours.count() as f64 / (m.hours() - 72) as f64
    }

    #[test]
    fn the_edge_market_has_persistent_premiums_and_the_default_one_has_none() {
        let hours = 24 * 240;
        // Most of a premium of 4e-5 an hour, 3.2e-4 per 8 h, held for three days.
        let floor = 2.5e-4;
        let edge = SyntheticMarket::generate(3, &SyntheticParams { hours, ..SyntheticParams::edge() });
        let share = persistent_share(&edge, floor);
        let typical =
            SyntheticMarket::generate(3, &SyntheticParams { hours, coins: 3, ..Default::default() });
        // The typical market's regimes of a few days reach it too, much less often.
        let base = persistent_share(&typical, floor);
        assert!((0.3..0.9).contains(&share) && share > base + 0.15, "{share} vs {base}");
        // Markets without premiums draw no premium: the default market is what it was before.
        let params = SyntheticParams { hours: 300, coins: 2, ..Default::default() };
        let with_knobs = SyntheticParams { premium_hours: 5.0, premium_rate: 1.0, ..params };
        assert_eq!(SyntheticMarket::generate(4, &params), SyntheticMarket::generate(4, &with_knobs));
    }
}
