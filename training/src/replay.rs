//! The environment's hourly market, replayed from a [`History`].
//!
//! Every hour `h` of the window, each contract with a price at `h` is quoted: its price is the open
//! of the bar starting at `h` (else the close of the bar ending at `h`), its funding rate the latest
//! settlement at or before `h` with that settlement's observed interval, and a settlement stamped
//! in the hour before `h` is paid at `h` (a late one at 10:15 is paid at 11:00). A contract is *live*
//! when it is quoted and its latest settlement is no older than twice its interval. For every coin
//! with two or more live venues, every pair of them is an opportunity, long the venue with the lower
//! hourly rate: its statistics come from [`PairHistory`] over the hours both venues were live, so
//! nothing stamped after `h` reaches hour `h`.
//!
//! One contract per venue and coin is used: USDT, else USDC, else USD. Recorded data carry no order
//! book, so two features get stand-ins ([`bid_ask_stand_in`], and a depth of 1 % of the 24 h volume);
//! the 24 h volume is the thinner venue's quote volume over the 24 bars that closed by `h`.

use crate::history::{self, Contract, History, Series};
use anyhow::{Result, bail};
use arbpolicy_core::market::pair::{LONG_WINDOW_HOURS, Liquidity, PairHistory, SHORT_WINDOW_HOURS};
use arbpolicy_core::market::{MarketHour, MemoryMarket, Settlement, VenueQuote};
use arbpolicy_core::time::HOUR_MS;
use arbpolicy_core::{Name, Quote};
use std::collections::BTreeMap;

/// Quote currencies in order of preference for a venue's contract.
pub const QUOTE_PREFERENCE: [&str; 3] = ["USDT", "USDC", "USD"];

/// Bid-ask spread stand-in, percent of mid, from the 24 h volume: 0.01 % at 1 bn USD a day or
/// more, growing as `1 / sqrt(volume)` below it, at most 0.5 %.
pub fn bid_ask_stand_in(volume_24h_usd: f64) -> f64 {
    (0.01 * (1e9 / volume_24h_usd.max(1.0)).sqrt()).clamp(0.01, 0.5)
}

/// One venue's contract for one coin, laid out by hour over the replayed span.
struct Venue<'a> {
    coin: Name,
    venue: Name,
    /// Price at each hour, if known then.
    price: Vec<Option<f64>>,
    /// Quote volume of the bar opening at each hour (0 when absent).
    volume: Vec<f64>,
    /// The contract's settlements, by time.
    settlements: &'a [history::SettlementRecord],
}

/// The market of hours `[from_hour, to_hour)` (hours since the epoch). Statistics are warmed up
/// over the 72 hours before `from_hour`.
pub fn replay(history: &History, from_hour: i64, to_hour: i64) -> Result<MemoryMarket> {
    if to_hour <= from_hour {
        bail!(
            "the window {} .. {} is empty: its start is not before its end",
            crate::history::day_of_hour(from_hour),
            crate::history::day_of_hour(to_hour)
        );
    }
    let start = from_hour - LONG_WINDOW_HOURS;
    let span = (to_hour - start) as usize;
    let mut venues = chosen_contracts(history)
        .into_iter()
        .map(|(contract, series)| venue(contract, series, start, span))
        .collect::<Result<Vec<_>>>()?;
    venues.sort_by_key(|v| (v.coin, v.venue));
    let mut pairs: BTreeMap<(usize, usize), PairHistory> = BTreeMap::new();
    let mut cursors = vec![0usize; venues.len()];
    let mut hours = Vec::with_capacity((to_hour - from_hour) as usize);
    for h in start..to_hour {
        let k = (h - start) as usize;
        let mut hour = MarketHour { timestamp: h, ..MarketHour::default() };
        let mut live: Vec<(usize, Quote)> = Vec::new();
        for (i, v) in venues.iter().enumerate() {
            let Some((quote, fresh)) = quote_at(v, &mut cursors[i], h, k) else { continue };
            hour.quotes.push(VenueQuote { coin: v.coin, venue: v.venue, quote });
            if fresh {
                live.push((i, quote));
            }
        }
        for (x, &(i, qi)) in live.iter().enumerate() {
            for &(j, qj) in live[x + 1..].iter().take_while(|(j, _)| venues[*j].coin == venues[i].coin) {
                let pair = pairs.entry((i, j)).or_default();
                pair.record(h, &qi, &qj);
                if h >= from_hour {
                    let volume = volume_24h(&venues[i], k).min(volume_24h(&venues[j], k));
                    let liquidity = Liquidity {
                        volume_24h_usd: volume,
                        bid_ask_spread_pct: bid_ask_stand_in(volume),
                        orderbook_depth_usd: volume / 100.0,
                    };
                    let (a, b) = ((venues[i].venue, &qi), (venues[j].venue, &qj));
                    hour.opportunities.extend(pair.opportunity(venues[i].coin, a, b, liquidity));
                }
            }
        }
        if h >= from_hour {
            hours.push(hour);
        }
    }
    Ok(MemoryMarket::new(hours))
}

/// Each venue and coin's preferred contract that has prices.
fn chosen_contracts(history: &History) -> Vec<(&Contract, &Series)> {
    let rank = |q: &str| QUOTE_PREFERENCE.iter().position(|p| *p == q);
    let mut best: BTreeMap<(&str, &str), (&Contract, &Series)> = BTreeMap::new();
    for (c, s) in &history.series {
        if s.bars.is_empty() || rank(&c.quote).is_none() {
            continue;
        }
        let slot = best.entry((&c.exchange, &c.symbol)).or_insert((c, s));
        if rank(&c.quote) < rank(&slot.0.quote) {
            *slot = (c, s);
        }
    }
    best.into_values().collect()
}

fn venue<'a>(contract: &Contract, series: &'a Series, start: i64, span: usize) -> Result<Venue<'a>> {
    let name = |s: &str| {
        Name::new(s).map_err(|e| anyhow::anyhow!("{contract:?}: the name {s:?} cannot be used ({e})"))
    };
    let mut price = vec![None; span];
    let mut volume = vec![0.0; span];
    for bar in &series.bars {
        let k = bar.ts_ms.div_euclid(HOUR_MS) - start;
        if let Ok(k) = usize::try_from(k) {
            if k < span {
                price[k] = Some(bar.open);
                volume[k] = bar.volume_quote.unwrap_or(0.0);
            }
            // The bar's close is the price at the hour it ends, unless that hour has its own open.
            if k + 1 < span && price[k + 1].is_none() {
                price[k + 1] = Some(bar.close);
            }
        }
    }
    Ok(Venue {
        coin: name(&contract.symbol)?,
        venue: name(&contract.exchange)?,
        price,
        volume,
        settlements: &series.settlements,
    })
}

/// Hour (since the epoch) at which a settlement stamped `ts_ms` is known: its own hour when on the
/// hour, else the next.
fn known_hour(ts_ms: i64) -> i64 {
    (ts_ms + HOUR_MS - 1).div_euclid(HOUR_MS)
}

/// The venue's quote at hour `h` (index `k`), and whether its funding is fresh; `cursor` walks the
/// settlements (hours increase from call to call).
fn quote_at(v: &Venue, cursor: &mut usize, h: i64, k: usize) -> Option<(Quote, bool)> {
    let s = v.settlements;
    let mut paid = None;
    while *cursor < s.len() && known_hour(s[*cursor].ts_ms) <= h {
        if known_hour(s[*cursor].ts_ms) == h {
            paid = Some(s[*cursor]);
        }
        *cursor += 1;
    }
    let price = v.price[k]?;
    let latest = s[..*cursor].last()?;
    let quote = Quote {
        price,
        funding_rate: latest.rate,
        interval_hours: latest.interval_hours,
        settlement: paid.map(|p| Settlement { rate: p.rate, mark_price: p.mark_price }),
    };
    if !quote.is_usable() {
        return None;
    }
    let age_hours = (h * HOUR_MS - latest.ts_ms) as f64 / HOUR_MS as f64;
    Some((quote, age_hours <= 2.0 * latest.interval_hours))
}

/// Quote volume of the 24 bars before index `k`.
fn volume_24h(v: &Venue, k: usize) -> f64 {
    v.volume[k.saturating_sub(SHORT_WINDOW_HOURS as usize)..k].iter().sum()
}
