//! The hourly market the environment steps through.
//!
//! A market is a sequence of hourly snapshots `t = 0, 1, ...`. Snapshot `t` is the market as known at
//! instant `t`: the detected opportunities (whose statistics use only data stamped at or before `t`),
//! each venue's price at `t`, the latest settled funding rate, and the settlements paid at `t`.
//! The environment reads snapshot `t` only once it has reached `t`, so nothing after `t` can reach an
//! observation at `t`.

#[cfg(feature = "alloc")]
mod memory;
#[cfg(feature = "alloc")]
pub mod pair;
#[cfg(feature = "alloc")]
mod synthetic;

#[cfg(feature = "alloc")]
pub use memory::{MarketHour, MemoryMarket, VenueQuote};
#[cfg(feature = "alloc")]
pub use synthetic::{SyntheticMarket, SyntheticParams};

use crate::Name;
use crate::error::{INTERVAL, PRICE, RATE, within};
use crate::opportunity::Opportunity;
use crate::selection::{Selection, Slots};

/// A funding settlement paid at a snapshot's instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settlement {
    /// The settled rate, fraction of notional (positive: longs pay shorts).
    pub rate: f64,
    /// Mark price the notional is valued at; `None` to use the snapshot's price.
    pub mark_price: Option<f64>,
}

/// One venue's market for one coin at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    /// Price at the instant (the open of the hour's bar), quote currency per coin.
    pub price: f64,
    /// Latest settled funding rate at or before the instant, fraction per interval.
    pub funding_rate: f64,
    /// Settlement interval, hours (the observed spacing of settlements).
    pub interval_hours: f64,
    /// The settlement paid at this instant, if there is one.
    pub settlement: Option<Settlement>,
}

impl Quote {
    /// Whether the quote can be used: a positive price up to 1e12, a rate in `[-1, 1]` and an
    /// interval in `(0, 24]`. The environment treats any other quote as missing, so a broken market
    /// feed leaves a leg at its last price instead of corrupting the book.
    pub fn is_usable(&self) -> bool {
        within(self.price, PRICE) & within(self.funding_rate, RATE) & within(self.interval_hours, INTERVAL)
    }

    /// The settlement's rate and the price its notional is valued at (the settlement's mark price
    /// when finite and positive, else the quote's price); `None` without a usable settlement.
    pub fn settlement_terms(&self) -> Option<(f64, f64)> {
        let s = self.settlement?;
        if !within(s.rate, RATE) {
            return None;
        }
        let mark = s.mark_price.filter(|m| m.is_finite() && *m > 0.0).unwrap_or(self.price);
        Some((s.rate, mark))
    }
}

/// An hourly market.
pub trait Market {
    /// Number of hourly snapshots.
    fn hours(&self) -> usize;
    /// Time of snapshot `t`, hours since the Unix epoch (consecutive snapshots are one hour apart).
    fn timestamp(&self, t: usize) -> i64;
    /// The opportunities detected at snapshot `t`.
    fn opportunities(&self, t: usize) -> &[Opportunity];
    /// The quote of `coin` on `venue` at snapshot `t`, if the venue lists it then.
    fn quote(&self, t: usize, coin: &Name, venue: &Name) -> Option<Quote>;
    /// The opportunities shown at snapshot `t`: [`Selection::pick`] of its opportunities. A market
    /// that holds its snapshots may pick once and keep the result.
    fn shown(&self, t: usize) -> (Selection, Slots<'_>) {
        Selection::pick(self.opportunities(t))
    }
}

impl<M: Market + ?Sized> Market for &M {
    fn hours(&self) -> usize {
        (**self).hours()
    }
    fn timestamp(&self, t: usize) -> i64 {
        (**self).timestamp(t)
    }
    fn opportunities(&self, t: usize) -> &[Opportunity] {
        (**self).opportunities(t)
    }
    fn quote(&self, t: usize, coin: &Name, venue: &Name) -> Option<Quote> {
        (**self).quote(t, coin, venue)
    }
    fn shown(&self, t: usize) -> (Selection, Slots<'_>) {
        (**self).shown(t)
    }
}
