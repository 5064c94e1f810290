//! Random configurations, portfolios and opportunities, with hostile values now and then.

use arbpolicy_core::{
    Leg, MAX_POSITIONS, OPPORTUNITY_SLOTS, Opportunity, Portfolio, Position, TradingConfig, name,
};
use proptest::prelude::*;

/// A number from `range`, or now and then a hostile value: NaN, an infinity, zero, a negative or a
/// huge number.
pub fn wild(range: core::ops::Range<f64>) -> impl Strategy<Value = f64> {
    prop_oneof![
        20 => range,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => -1e6..0.0,
        1 => Just(1e300),
    ]
}

pub fn config() -> impl Strategy<Value = TradingConfig> {
    (
        (wild(1.0..10.0), wild(0.01..1.0), 0u8..7, wild(-0.05..-0.01), wild(0.1..0.3)),
        (wild(0.0..0.01), wild(0.0..50.0), wild(0.5..1.0), wild(0.01..0.2), wild(0.05..0.5)),
    )
        .prop_map(|((lev, util, max_pos, stop, buffer), (fee, min, margin, halt, dd))| TradingConfig {
            max_leverage: lev,
            target_utilization: util,
            max_positions: max_pos,
            stop_loss_threshold: stop,
            liquidation_buffer: buffer,
            fee_rate: fee,
            min_position_usd: min,
            max_margin_usage: margin,
            daily_loss_halt: halt,
            episode_drawdown_stop: dd,
        })
}

pub const COINS: [&str; 4] = ["BTC", "ETH", "SOL", "XRP"];
pub const VENUES: [&str; 3] = ["binance", "bybit", "hyperliquid"];

pub fn leg(venue: usize) -> impl Strategy<Value = Leg> {
    (wild(50.0..150.0), wild(-0.001..0.001), prop::sample::select(vec![1.0, 4.0, 8.0, 0.0, 30.0])).prop_map(
        move |(price, rate, interval)| Leg {
            venue: name(VENUES[venue]).unwrap(),
            price,
            funding_rate: rate,
            interval_hours: interval,
        },
    )
}

pub fn opportunity() -> impl Strategy<Value = Opportunity> {
    (0..COINS.len(), 0..VENUES.len(), 1..VENUES.len())
        .prop_flat_map(|(c, l, d)| {
            let s = (l + d) % VENUES.len();
            (Just(c), leg(l), leg(s), wild(-0.001..0.001), wild(0.0..1.0), wild(0.0..1e8), wild(0.0..0.5))
        })
        .prop_map(|(c, long, short, avg, spread, volume, bid_ask)| Opportunity {
            coin: name(COINS[c]).unwrap(),
            long,
            short,
            profit_8h_24h_avg: avg,
            profit_8h_3d_avg: avg * 0.5,
            spread_30_avg_pct: spread,
            spread_24h_avg_pct: spread,
            spread_3d_avg_pct: spread,
            spread_std_pct: spread * 0.1,
            volume_24h_usd: volume,
            bid_ask_spread_pct: bid_ask,
            orderbook_depth_usd: volume * 0.01,
        })
}

pub fn position() -> impl Strategy<Value = Position> {
    (opportunity(), wild(10.0..3000.0), wild(1.0..10.0), wild(0.9..1.1), wild(0.0..20.0), wild(0.0..20.0))
        .prop_map(|(o, size, leverage, move_, received, paid)| {
            let mut p = Position::open(&o, size, leverage, 0.001, 0);
            p.long.price *= move_;
            p.funding_received = received;
            p.funding_paid = paid;
            p
        })
}

pub fn portfolio() -> impl Strategy<Value = Portfolio> {
    (
        wild(100.0..100_000.0),
        wild(0.5..1.5),
        wild(0.9..1.1),
        any::<bool>(),
        prop::collection::vec(prop::option::weighted(0.5, position()), MAX_POSITIONS),
    )
        .prop_map(|(initial, growth, day, halted, positions)| {
            let mut p = Portfolio::new(initial);
            p.capital = initial * growth;
            p.peak_capital = initial.max(p.capital);
            p.day_start_capital = p.capital * day;
            p.entries_halted = halted;
            p.positions.copy_from_slice(&positions);
            p
        })
}

pub fn state() -> impl Strategy<Value = (TradingConfig, Portfolio, Vec<Option<Opportunity>>)> {
    (
        config(),
        portfolio(),
        prop::collection::vec(prop::option::weighted(0.7, opportunity()), OPPORTUNITY_SLOTS),
    )
}
