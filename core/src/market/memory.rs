//! An owned in-memory market.

use super::{Market, Quote};
use crate::Name;
use crate::opportunity::Opportunity;
use crate::selection::{Selection, Slots};
use alloc::vec::Vec;

/// A venue's quote for a coin, keyed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VenueQuote {
    /// The coin.
    pub coin: Name,
    /// The venue.
    pub venue: Name,
    /// The quote.
    pub quote: Quote,
}

/// One hourly snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MarketHour {
    /// Hours since the Unix epoch.
    pub timestamp: i64,
    /// The opportunities detected at this hour.
    pub opportunities: Vec<Opportunity>,
    /// Every venue's quote for every coin it lists at this hour.
    pub quotes: Vec<VenueQuote>,
}

/// A market held in memory, one [`MarketHour`] per hour, with each hour's top-10 selection made
/// once when the market is built.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemoryMarket {
    hours: Vec<MarketHour>,
    selections: Vec<Selection>,
}

impl MemoryMarket {
    /// A market of these consecutive hourly snapshots.
    pub fn new(hours: Vec<MarketHour>) -> Self {
        let selections = hours.iter().map(|h| Selection::top(&h.opportunities)).collect();
        MemoryMarket { hours, selections }
    }

    /// The snapshots.
    pub fn snapshots(&self) -> &[MarketHour] {
        &self.hours
    }

    /// The snapshots, to change and build a new market from.
    pub fn into_snapshots(self) -> Vec<MarketHour> {
        self.hours
    }
}

impl Market for MemoryMarket {
    fn hours(&self) -> usize {
        self.hours.len()
    }

    fn timestamp(&self, t: usize) -> i64 {
        self.hours[t].timestamp
    }

    fn opportunities(&self, t: usize) -> &[Opportunity] {
        &self.hours[t].opportunities
    }

    fn quote(&self, t: usize, coin: &Name, venue: &Name) -> Option<Quote> {
        self.hours[t].quotes.iter().find(|q| q.coin == *coin && q.venue == *venue).map(|q| q.quote)
    }

    fn shown(&self, t: usize) -> (Selection, Slots<'_>) {
        let selection = self.selections[t];
        // The selection was picked from these very opportunities, which cannot change since.
        (selection, Slots::picked(&selection, &self.hours[t].opportunities))
    }
}
