//! The hindsight ceiling: the most a book could have made on a window knowing every future
//! funding settlement.
//!
//! The book has the evaluated configuration, capital and limits. It holds at most
//! `max_positions` positions at once, never the same trade (coin, long venue, short venue) twice,
//! and may enter a trade only at an hour the engine shows it (one of the ten opportunities) and
//! would allow it on an empty book. A position entered by the decision at hour `h` fills at `h + 1`
//! after that hour's settlement and takes every settlement until the one at the hour its exit
//! fills, as in the environment. Each costs four fills of fee and slippage on its size.
//!
//! Two simplifications, both of which can only raise the figure, so it is a ceiling:
//! - every position has the size of the largest tier on the window's starting capital (a real
//!   book's later positions are sized on less available capital);
//! - more than one entry or exit may happen in an hour (the engine takes one action an hour).
//!
//! Price moves of the legs are left out: a leg's funding is valued on its entry notional.
//!
//! Under those terms the optimum is exact: positions are units of flow through a time-expanded
//! graph (an idle lane of capacity `max_positions` and one lane of capacity 1 per trade, entered
//! at the entry cost and earning each settlement), and the most profitable flow is found by
//! successive shortest paths (Dijkstra with potentials), each of at most `max_positions` paths
//! one more position's worth of trades.

use anyhow::Result;
use arbpolicy_core::mask::EntryGate;
use arbpolicy_core::state::ValidState;
use arbpolicy_core::{Market, Name, Portfolio, SizeTier, TradingConfig};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// The ceiling of one book.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ceiling {
    /// Net funding of the best trades, USD.
    pub funding: f64,
    /// Their fees and slippage, USD.
    pub fees: f64,
    /// How many positions they are.
    pub trades: usize,
}

impl Ceiling {
    /// Funding less costs, USD.
    pub fn profit(&self) -> f64 {
        self.funding - self.fees
    }

    /// Several books' ceilings together.
    pub fn sum(all: &[Ceiling]) -> Ceiling {
        all.iter().fold(Ceiling::default(), |a, c| Ceiling {
            funding: a.funding + c.funding,
            fees: a.fees + c.fees,
            trades: a.trades + c.trades,
        })
    }
}

/// A trade: coin, long venue, short venue.
type Trade = (Name, Name, Name);

#[derive(Debug, Clone, Copy)]
struct Edge {
    to: usize,
    capacity: i32,
    cost: f64,
    /// Funding it earns (its cost is minus this, plus any entry cost).
    funding: f64,
    /// Whether it opens a position.
    entry: bool,
}

/// A min-cost flow graph.
struct Graph {
    edges: Vec<Edge>,
    /// Edge indices by node; an edge's reverse is at `index ^ 1`.
    out: Vec<Vec<usize>>,
}

impl Graph {
    fn new(nodes: usize) -> Self {
        Graph { edges: Vec::new(), out: vec![Vec::new(); nodes] }
    }

    fn add(&mut self, from: usize, to: usize, capacity: i32, cost: f64, funding: f64) {
        self.out[from].push(self.edges.len());
        self.edges.push(Edge { to, capacity, cost, funding, entry: false });
        self.out[to].push(self.edges.len());
        self.edges.push(Edge { to: from, capacity: 0, cost: -cost, funding: -funding, entry: false });
    }

    fn add_entry(&mut self, from: usize, to: usize, cost: f64) {
        self.add(from, to, 1, cost, 0.0);
        let n = self.edges.len();
        self.edges[n - 2].entry = true;
    }
}

#[derive(PartialEq)]
struct Visit(f64, usize);
impl Eq for Visit {}
impl PartialOrd for Visit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Visit {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// The ceiling of a book of `capital` with `config` (whose fee it pays, with `slippage` per
/// fill) over `market`'s whole span.
pub fn ceiling<M: Market>(
    market: &M,
    config: &TradingConfig,
    slippage: f64,
    capital: f64,
) -> Result<Ceiling> {
    let hours = market.hours();
    anyhow::ensure!(hours >= 2, "the window holds {hours} hours, at least 2 are needed");
    let book = Portfolio::new(capital);
    let gate = EntryGate::new(ValidState::new(config, &book)?);
    let size = gate.size(SizeTier::Large);
    let entry_cost = 4.0 * (config.fee_rate + slippage) * size;
    // Where each trade may be entered.
    let mut trades: HashMap<Trade, usize> = HashMap::new();
    let mut order: Vec<Trade> = Vec::new();
    let mut enterable: Vec<(usize, usize)> = Vec::new();
    for h in 0..hours - 1 {
        let (_, slots) = market.shown(h);
        for o in slots.iter().flatten() {
            if gate.check(o, size).is_err() {
                continue;
            }
            let key = (o.coin, o.long.venue, o.short.venue);
            let p = *trades.entry(key).or_insert_with(|| {
                order.push(key);
                order.len() - 1
            });
            enterable.push((h, p));
        }
    }
    let units = i32::from(config.max_positions);
    // Nodes: idle(h) = h; holding trade p after hour h = hours + p x hours + h.
    let hold = |p: usize, h: usize| hours + p * hours + h;
    let mut g = Graph::new(hours * (order.len() + 1));
    for h in 0..hours - 1 {
        g.add(h, h + 1, units, 0.0, 0.0);
    }
    for (p, &(coin, long, short)) in order.iter().enumerate() {
        for h in 0..hours - 1 {
            // Funding settled at h + 1, to a position open then; a long pays its venue's rate.
            let rate = |venue: &Name| {
                market
                    .quote(h + 1, &coin, venue)
                    .filter(|q| q.is_usable())
                    .and_then(|q| q.settlement_terms())
                    .map_or(0.0, |(rate, _)| rate)
            };
            let funding = size * (rate(&short) - rate(&long));
            g.add(hold(p, h), hold(p, h + 1), 1, -funding, funding);
        }
        for h in 0..hours {
            g.add(hold(p, h), h, 1, 0.0, 0.0);
        }
    }
    for &(h, p) in &enterable {
        g.add_entry(h, hold(p, h + 1), entry_cost);
    }

    // Potentials: shortest distances from idle(0) over the graph in time order (a DAG).
    let nodes = g.out.len();
    let mut potential = vec![f64::INFINITY; nodes];
    potential[0] = 0.0;
    for h in 0..hours {
        for node in (0..order.len()).map(|p| hold(p, h)).chain([h]) {
            if potential[node].is_finite() {
                for &e in &g.out[node] {
                    let edge = g.edges[e];
                    if edge.capacity > 0 && potential[node] + edge.cost < potential[edge.to] {
                        potential[edge.to] = potential[node] + edge.cost;
                    }
                }
            }
        }
    }
    for p in potential.iter_mut().filter(|p| !p.is_finite()) {
        *p = 0.0;
    }
    let (source, sink) = (0, hours - 1);
    let mut result = Ceiling::default();
    let mut dist = vec![f64::INFINITY; nodes];
    let mut via = vec![usize::MAX; nodes];
    for _ in 0..units {
        dist.fill(f64::INFINITY);
        via.fill(usize::MAX);
        dist[source] = 0.0;
        let mut heap = BinaryHeap::from([Visit(0.0, source)]);
        while let Some(Visit(d, node)) = heap.pop() {
            if d > dist[node] {
                continue;
            }
            for &e in &g.out[node] {
                let edge = g.edges[e];
                if edge.capacity <= 0 {
                    continue;
                }
                // Reduced costs are >= 0 up to rounding.
                let next = d + (edge.cost + potential[node] - potential[edge.to]).max(0.0);
                if next < dist[edge.to] {
                    dist[edge.to] = next;
                    via[edge.to] = e;
                    heap.push(Visit(next, edge.to));
                }
            }
        }
        if !dist[sink].is_finite() {
            break;
        }
        let path_cost = dist[sink] + potential[sink] - potential[source];
        if path_cost >= -1e-12 {
            // Another position would earn nothing more.
            break;
        }
        for (node, d) in dist.iter().enumerate() {
            if d.is_finite() {
                potential[node] += d;
            }
        }
        let mut node = sink;
        while node != source {
            let e = via[node];
            g.edges[e].capacity -= 1;
            g.edges[e ^ 1].capacity += 1;
            node = g.edges[e ^ 1].to;
        }
    }
    // What the flow holds: every used entry edge is a trade; the funding of the used lanes.
    for e in (0..g.edges.len()).step_by(2) {
        let flow = g.edges[e ^ 1].capacity;
        if flow > 0 {
            let edge = g.edges[e];
            result.funding += f64::from(flow) * edge.funding;
            if edge.entry {
                result.trades += flow as usize;
                result.fees += f64::from(flow) * edge.cost;
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::market::pair::{Liquidity, PairHistory};
    use arbpolicy_core::market::{MarketHour, MemoryMarket, Settlement, VenueQuote};
    use arbpolicy_core::{Quote, name};

    /// A market of one coin on two venues that settle every hour, venue `b` paying `rates[h]` an
    /// hour more than `a` (which pays 0) at hour `h`, prices flat.
    fn two_venues(rates: &[f64]) -> MemoryMarket {
        two_coins(&[rates])
    }

    /// The same for several coins, each with its own rates.
    fn two_coins(coins: &[&[f64]]) -> MemoryMarket {
        let coin_names = ["BTC", "ETH", "SOL"];
        let (a, b) = (name("alpha").unwrap(), name("beta").unwrap());
        let mut history = vec![PairHistory::default(); coins.len()];
        let hours = coins[0].len();
        let market_hours = (0..hours)
            .map(|h| {
                let mut hour = MarketHour { timestamp: 490_000 + h as i64, ..MarketHour::default() };
                for (c, rates) in coins.iter().enumerate() {
                    let coin = name(coin_names[c]).unwrap();
                    let quote = |rate: f64| Quote {
                        price: 100.0,
                        funding_rate: rate,
                        interval_hours: 1.0,
                        settlement: (h > 0).then_some(Settlement { rate, mark_price: None }),
                    };
                    let (qa, qb) = (quote(0.0), quote(rates[h]));
                    history[c].record(hour.timestamp, &qa, &qb);
                    let liquidity =
                        Liquidity { volume_24h_usd: 1e9, bid_ask_spread_pct: 0.01, orderbook_depth_usd: 1e7 };
                    hour.opportunities.extend(history[c].opportunity(coin, (a, &qa), (b, &qb), liquidity));
                    hour.quotes.push(VenueQuote { coin, venue: a, quote: qa });
                    hour.quotes.push(VenueQuote { coin, venue: b, quote: qb });
                }
                hour
            })
            .collect();
        MemoryMarket::new(market_hours)
    }

    fn config(positions: u8) -> TradingConfig {
        // Largest tier on 10,000: 10,000 x 0.6 / positions x 0.3.
        TradingConfig {
            max_positions: positions,
            target_utilization: 0.6,
            fee_rate: 0.0005,
            ..Default::default()
        }
    }

    #[test]
    fn one_premium_is_entered_once_and_held_to_its_end() {
        // b pays 0.1 % an hour more than a during hours 3..=12, nothing otherwise.
        let rates: Vec<f64> = (0..20).map(|h| if (3..=12).contains(&h) { 0.001 } else { 0.0 }).collect();
        let m = two_venues(&rates);
        let size = 10_000.0 * 0.6 / 1.0 * 0.3;
        let c = ceiling(&m, &config(1), 0.0002, 10_000.0).unwrap();
        // The trade shown at every hour is long a, short b (an equal rate keeps a long). Entered
        // by the decision at hour 1 or earlier, it fills before the settlement at 3 and takes all
        // ten of the premium's; one round trip is paid.
        let best = 10.0 * 0.001 * size - 4.0 * 0.0007 * size;
        assert_eq!(c.trades, 1);
        assert!((c.profit() - best).abs() < 1e-9, "{c:?} vs {best}");
        assert!((c.fees - 4.0 * 0.0007 * size).abs() < 1e-9);
    }

    #[test]
    fn a_premium_too_short_for_its_costs_is_left() {
        // Two hours at 0.01 % do not pay a round trip of 0.28 %.
        let rates: Vec<f64> = (0..20).map(|h| if (5..=6).contains(&h) { 0.0001 } else { 0.0 }).collect();
        let c = ceiling(&two_venues(&rates), &config(2), 0.0002, 10_000.0).unwrap();
        assert_eq!((c.trades, c.profit()), (0, 0.0));
    }

    #[test]
    fn positions_go_where_they_earn_most_and_the_limit_binds() {
        // Three coins, premiums of different sizes over the same hours; one position can only
        // take the largest, two the two largest.
        let premium =
            |r: f64| -> Vec<f64> { (0..30).map(|h| if (2..=25).contains(&h) { r } else { 0.0 }).collect() };
        let (x, y, z) = (premium(0.001), premium(0.0005), premium(0.0002));
        let m = two_coins(&[&x, &y, &z]);
        for (positions, expected) in
            [(1u8, vec![0.001]), (2, vec![0.001, 0.0005]), (3, vec![0.001, 0.0005, 0.0002])]
        {
            let size = 10_000.0 * 0.6 / f64::from(positions) * 0.3;
            let c = ceiling(&m, &config(positions), 0.0, 10_000.0).unwrap();
            // Entered at hour 0 (the trade is shown long a from the start), filled at 1: the
            // settlements 2..=25, 24 of them.
            let best: f64 = expected.iter().map(|r| 24.0 * r * size - 4.0 * 0.0005 * size).sum();
            assert_eq!(c.trades, expected.len());
            assert!((c.profit() - best).abs() < 1e-9, "{positions}: {c:?} vs {best}");
        }
    }

    #[test]
    fn the_flow_equals_a_search_of_every_schedule_on_a_small_market() {
        // One position, a rate path with ups and downs (so both directions are shown at times):
        // every schedule of up to two trades searched by brute force.
        let rates =
            [0.0, 0.0, 0.002, 0.0015, -0.003, -0.002, -0.0025, 0.002, 0.0025, 0.002, -0.001, 0.0, 0.0];
        let m = two_venues(&rates);
        let size = 10_000.0 * 0.6 * 0.3;
        let cost = 4.0 * 0.0005 * size;
        let n = rates.len();
        let alpha = name("alpha").unwrap();
        // Direction 1: long a, short b, earning the rate; -1: the reverse.
        let shown =
            |h: usize, d: f64| m.shown(h).1.iter().flatten().any(|o| (o.long.venue == alpha) == (d > 0.0));
        // Entered at decision e, exited at decision x > e: the settlements e + 2 ..= x + 1 (the
        // last one is n - 1, where a trade still open is closed).
        let earn = |d: f64, e: usize, x: usize| {
            (e + 2..=(x + 1).min(n - 1)).map(|h| d * rates[h] * size).sum::<f64>() - cost
        };
        let trades: Vec<(usize, usize, f64)> = [1.0, -1.0]
            .iter()
            .flat_map(|&d| {
                (0..n - 1)
                    .filter(move |&e| shown(e, d))
                    .flat_map(move |e| (e + 1..n - 1).map(move |x| (e, x, d)))
            })
            .collect();
        let mut best = 0.0f64;
        for &(e1, x1, d1) in &trades {
            best = best.max(earn(d1, e1, x1));
            for &(e2, x2, d2) in trades.iter().filter(|t| t.0 > x1) {
                best = best.max(earn(d1, e1, x1) + earn(d2, e2, x2));
            }
        }
        let c = ceiling(&m, &config(1), 0.0, 10_000.0).unwrap();
        assert!(best > 0.0);
        assert_eq!(c.trades, 2, "{c:?}");
        assert!((c.profit() - best).abs() < 1e-9, "{c:?} vs {best}");
    }
}
