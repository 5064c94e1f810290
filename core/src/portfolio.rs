//! The book: capital and up to five open positions.

use crate::MAX_POSITIONS;
use crate::config::TradingConfig;
use crate::error::{Bounds, Error, check_all};
use crate::opportunity::Opportunity;
use crate::position::{Position, ratio};

/// `min_liquidation_distance` of a book without positions: as far from liquidation as a price can
/// be (a long leg at 1x with a price of zero).
pub const NO_POSITION_LIQUIDATION_DISTANCE: f64 = 1.0;

/// Allowed initial and peak capital: positive, at most 1e12 USD.
pub const CAPITAL: Bounds = (0.0, 1e12, true);

/// Capital, its history within the episode and the five execution slots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Portfolio {
    /// Capital at the start of the episode (or of the account), USD, > 0.
    pub initial_capital: f64,
    /// Current capital (equity): cash plus the unrealised price P&L of open positions, USD.
    pub capital: f64,
    /// Highest capital seen, USD.
    pub peak_capital: f64,
    /// Largest drawdown from the peak seen so far, fraction in `[0, 1]`.
    pub max_drawdown: f64,
    /// Capital at the start of the current UTC day, USD (the daily-loss halt compares to it).
    pub day_start_capital: f64,
    /// Whether the daily-loss halt has been triggered today (it lasts until the next UTC day).
    pub entries_halted: bool,
    /// Share of the episode elapsed, in `[0, 1]` (0 outside episodes).
    pub episode_progress: f64,
    /// The execution slots.
    pub positions: [Option<Position>; MAX_POSITIONS],
}

impl Portfolio {
    /// A fresh book holding `capital` USD and no positions.
    pub fn new(capital: f64) -> Self {
        Portfolio {
            initial_capital: capital,
            capital,
            peak_capital: capital,
            max_drawdown: 0.0,
            day_start_capital: capital,
            entries_halted: false,
            episode_progress: 0.0,
            positions: [None; MAX_POSITIONS],
        }
    }

    /// The open positions with their slot indices.
    pub fn active(&self) -> impl Iterator<Item = (usize, &Position)> {
        self.positions.iter().enumerate().filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
    }

    /// Number of open positions.
    pub fn active_count(&self) -> usize {
        self.positions.iter().filter(|p| p.is_some()).count()
    }

    /// The first empty slot.
    pub fn free_slot(&self) -> Option<usize> {
        self.positions.iter().position(Option::is_none)
    }

    /// Whether a position on the same coin, long venue and short venue is open.
    pub fn holds(&self, opportunity: &Opportunity) -> bool {
        self.active().any(|(_, p)| p.is_trade_of(opportunity))
    }

    /// Margin posted by all positions, USD.
    pub fn margin_used(&self) -> f64 {
        self.active().map(|(_, p)| p.margin()).sum()
    }

    /// Capital not posted as margin, USD, never negative.
    pub fn available_capital(&self) -> f64 {
        (self.capital - self.margin_used()).max(0.0)
    }

    /// Sum of position sizes over capital.
    pub fn capital_utilization(&self) -> f64 {
        ratio(self.active().map(|(_, p)| p.size_usd).sum(), self.capital)
    }

    /// Current drawdown from the peak, fraction (0 at the peak).
    pub fn drawdown(&self) -> f64 {
        if self.peak_capital > 0.0 { (1.0 - self.capital / self.peak_capital).max(0.0) } else { 0.0 }
    }

    /// Fold the current capital into the peak and the maximum drawdown.
    pub fn record_peak(&mut self) {
        self.peak_capital = self.peak_capital.max(self.capital);
        self.max_drawdown = self.max_drawdown.max(self.drawdown());
    }

    /// Closest distance to liquidation over all positions, fraction;
    /// [`NO_POSITION_LIQUIDATION_DISTANCE`] without positions.
    pub fn min_liquidation_distance(&self) -> f64 {
        self.active().map(|(_, p)| p.liquidation_distance()).fold(NO_POSITION_LIQUIDATION_DISTANCE, f64::min)
    }

    /// Check the capital figures (finite, initial capital and peak positive) and every position.
    pub fn validate(&self) -> Result<(), Error> {
        check_all!(
            ("portfolio.initial_capital", self.initial_capital, CAPITAL),
            ("portfolio.capital", self.capital, (-1e12, 1e12, false)),
            ("portfolio.peak_capital", self.peak_capital, CAPITAL),
            ("portfolio.max_drawdown", self.max_drawdown, (0.0, 1.0, false)),
            ("portfolio.day_start_capital", self.day_start_capital, (-1e12, 1e12, false)),
            ("portfolio.episode_progress", self.episode_progress, (0.0, 1.0, false)),
        )?;
        self.active().try_for_each(|(_, p)| p.validate())
    }

    /// The 10 portfolio features of the observation, in the plan's order (see
    /// `docs/observation.md`).
    pub fn features(&self, config: &TradingConfig) -> [f32; 10] {
        let active = self.active_count();
        let avg_pnl_pct = if active > 0 {
            self.active().map(|(_, p)| p.net_pnl_fraction() * 100.0).sum::<f64>() / active as f64
        } else {
            0.0
        };
        [
            (self.capital / self.initial_capital) as f32,
            ratio(self.available_capital(), self.capital) as f32,
            ratio(self.margin_used(), self.capital) as f32,
            (active as f64 / f64::from(config.max_positions)) as f32,
            avg_pnl_pct as f32,
            ((self.capital - self.initial_capital) / self.initial_capital * 100.0) as f32,
            (-self.max_drawdown * 100.0) as f32,
            self.episode_progress as f32,
            self.min_liquidation_distance() as f32,
            self.capital_utilization() as f32,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::tests::btc_position;

    #[test]
    fn margin_and_available_by_hand() {
        let mut book = Portfolio::new(10_000.0);
        book.positions[2] = Some(btc_position()); // 1,000 a leg at 2x: 1,000 margin
        assert_eq!(book.active_count(), 1);
        assert_eq!(book.free_slot(), Some(0));
        assert_eq!(book.margin_used(), 1000.0);
        assert_eq!(book.available_capital(), 9000.0);
        assert_eq!(book.capital_utilization(), 0.1);
        book.capital = 500.0;
        assert_eq!(book.available_capital(), 0.0);
    }

    #[test]
    fn drawdown_tracks_the_peak() {
        let mut book = Portfolio::new(1000.0);
        book.capital = 1200.0;
        book.record_peak();
        book.capital = 900.0;
        book.record_peak();
        assert!((book.drawdown() - 0.25).abs() < 1e-12);
        book.capital = 1100.0;
        book.record_peak();
        assert!((book.max_drawdown - 0.25).abs() < 1e-12);
        assert!((book.drawdown() - 1.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn features_by_hand() {
        let config = TradingConfig { max_positions: 4, ..Default::default() };
        let mut book = Portfolio::new(10_000.0);
        let empty = book.features(&config);
        assert_eq!(empty, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let mut p = btc_position();
        p.funding_received = 12.0; // net pnl 10 -> 1 %
        book.positions[0] = Some(p);
        book.capital = 11_000.0;
        book.max_drawdown = 0.03;
        book.episode_progress = 0.5;
        let f = book.features(&config);
        assert!((f[0] - 1.1).abs() < 1e-6);
        assert!((f[1] - 10_000.0 / 11_000.0).abs() < 1e-6);
        assert!((f[2] - 1000.0 / 11_000.0).abs() < 1e-6);
        assert_eq!(f[3], 0.25);
        assert!((f[4] - 1.0).abs() < 1e-6);
        assert!((f[5] - 10.0).abs() < 1e-5);
        assert!((f[6] + 3.0).abs() < 1e-6);
        assert_eq!(f[7], 0.5);
        assert!((f[8] - 0.45).abs() < 1e-6);
        assert!((f[9] - 1000.0 / 11_000.0).abs() < 1e-6);
    }

    #[test]
    fn validation() {
        assert_eq!(Portfolio::new(1000.0).validate(), Ok(()));
        assert!(Portfolio::new(0.0).validate().is_err());
        assert!(Portfolio::new(f64::NAN).validate().is_err());
        let mut book = Portfolio::new(1000.0);
        let mut p = btc_position();
        p.size_usd = -5.0;
        book.positions[4] = Some(p);
        assert!(book.validate().is_err());
    }
}
