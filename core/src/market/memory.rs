//! An owned in-memory market.

use super::{Market, Quote};
use crate::Name;
use crate::opportunity::Opportunity;
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

/// A market held in memory, one [`MarketHour`] per hour.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemoryMarket {
    /// The snapshots, consecutive hours.
    pub hours: Vec<MarketHour>,
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
        self.hours[t]
            .quotes
            .iter()
            .find(|q| q.coin == *coin && q.venue == *venue)
            .map(|q| q.quote)
    }
}
