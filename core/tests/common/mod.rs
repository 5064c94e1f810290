//! A hand-built market for scenario tests: one coin, long Binance (8 h settlements), short Hyperliquid
//! (1 h settlements), with prices and settled rates given hour by hour.
#![allow(dead_code)]

pub mod strategies;

use arbpolicy_core::market::{MarketHour, MemoryMarket, Settlement, VenueQuote};
use arbpolicy_core::{Leg, Opportunity, Quote, name};

/// 2025-01-01 00:00 UTC in hours since the epoch: a multiple of 8 and of 24.
pub const T0: i64 = 482_136;

/// One hour of the scenario.
#[derive(Clone, Copy)]
pub struct Hour {
    pub long_price: f64,
    pub short_price: f64,
    /// Binance's rate settled at this hour (only used at multiples of 8 h).
    pub long_rate: f64,
    /// Hyperliquid's rate settled at this hour.
    pub short_rate: f64,
}

pub fn flat(hours: usize, price: f64, long_rate: f64, short_rate: f64) -> Vec<Hour> {
    vec![Hour { long_price: price, short_price: price, long_rate, short_rate }; hours]
}

/// Build the market. Binance settles at hours divisible by 8, Hyperliquid every hour after the first.
pub fn market(hours: &[Hour]) -> MemoryMarket {
    let coin = name("BTC").unwrap();
    let (binance, hyper) = (name("binance").unwrap(), name("hyperliquid").unwrap());
    let mut long_known = hours[0].long_rate;
    let mut short_known = hours[0].short_rate;
    let mut out = Vec::new();
    for (t, h) in hours.iter().enumerate() {
        let ts = T0 + t as i64;
        let long_settles = t > 0 && ts % 8 == 0;
        let short_settles = t > 0;
        if long_settles {
            long_known = h.long_rate;
        }
        if short_settles {
            short_known = h.short_rate;
        }
        let long = Quote {
            price: h.long_price,
            funding_rate: long_known,
            interval_hours: 8.0,
            settlement: long_settles.then_some(Settlement { rate: h.long_rate, mark_price: None }),
        };
        let short = Quote {
            price: h.short_price,
            funding_rate: short_known,
            interval_hours: 1.0,
            settlement: short_settles.then_some(Settlement { rate: h.short_rate, mark_price: None }),
        };
        let opportunity = Opportunity {
            coin,
            long: Leg { venue: binance, price: h.long_price, funding_rate: long_known, interval_hours: 8.0 },
            short: Leg { venue: hyper, price: h.short_price, funding_rate: short_known, interval_hours: 1.0 },
            profit_8h_24h_avg: 0.0002,
            profit_8h_3d_avg: 0.0002,
            spread_30_avg_pct: 0.0,
            spread_24h_avg_pct: 0.0,
            spread_3d_avg_pct: 0.0,
            spread_std_pct: 0.0,
            volume_24h_usd: 1e9,
            bid_ask_spread_pct: 0.01,
            orderbook_depth_usd: 1e7,
        };
        out.push(MarketHour {
            timestamp: ts,
            opportunities: vec![opportunity],
            quotes: vec![
                VenueQuote { coin, venue: binance, quote: long },
                VenueQuote { coin, venue: hyper, quote: short },
            ],
        });
    }
    MemoryMarket::new(out)
}
