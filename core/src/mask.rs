//! Which actions the risk limits allow: the entry rule and the 36-action mask.
//!
//! An ENTER of slot `i` at size `s` is allowed only when all of these hold:
//! 1. the slot holds an opportunity whose inputs pass [`Opportunity::validate`] (a [`Slots`] holds
//!    nothing else; [`check_entry`] validates its opportunity);
//! 2. fewer than `max_positions` positions are open;
//! 3. no position on the same coin, long venue and short venue is open;
//! 4. entries are not halted by the daily-loss rule ([`risk::entries_halted`]);
//! 5. the size ([`sizing::position_size`] of the available capital) is at least `min_position_usd`;
//! 6. the margin of both legs at [`margin::entry_leverage`] is at most the available capital;
//! 7. margin used after the entry is at most `max_margin_usage x capital`;
//! 8. a position opened at the opportunity's prices and charged its entry fees would not be forced
//!    out at once by [`risk::forced_exit`]: its liquidation distance is at least
//!    `liquidation_buffer` and its net P&L (the entry fees, `2 x fee_rate` of its size) is at least
//!    `stop_loss_threshold`.
//!
//! EXIT `j` is allowed exactly when slot `j` holds a position. HOLD is always allowed. With an invalid
//! configuration or portfolio no ENTER is allowed.

use crate::action::{Action, ActionMask, OpportunitySlot, PositionSlot, SizeTier};
use crate::config::TradingConfig;
use crate::error::Error;
use crate::opportunity::Opportunity;
use crate::portfolio::Portfolio;
use crate::position::Position;
use crate::risk::{self, ExitReason};
use crate::selection::Slots;
use crate::state::ValidState;
use crate::{margin, sizing};
use core::fmt;

/// An entry the rules allow: its size, leverage and margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryPlan {
    /// Notional of each leg, USD.
    pub size_usd: f64,
    /// Leverage of both legs.
    pub leverage: f64,
    /// Margin of both legs, USD.
    pub margin: f64,
}

/// Why an entry is not allowed.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntryBlock {
    /// The opportunity's inputs are invalid.
    InvalidOpportunity(Error),
    /// The configuration or the portfolio is invalid.
    InvalidState(Error),
    /// `max_positions` positions are open.
    MaxPositions,
    /// The same coin, long venue and short venue is already held.
    AlreadyHeld,
    /// The daily-loss halt is in force.
    Halted,
    /// The size is below the minimum (or not a positive number).
    BelowMinimumSize,
    /// The margin exceeds the available capital.
    InsufficientCapital,
    /// Margin used would exceed `max_margin_usage` of capital.
    MarginCap,
    /// The position would be forced out at once.
    WouldBreach(ExitReason),
    /// A venue had no price for the coin when the order was to fill.
    NoQuote,
}

impl fmt::Display for EntryBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryBlock::InvalidOpportunity(e) => write!(f, "invalid opportunity: {e}"),
            EntryBlock::InvalidState(e) => write!(f, "invalid state: {e}"),
            EntryBlock::MaxPositions => f.write_str("the maximum number of positions is open"),
            EntryBlock::AlreadyHeld => f.write_str("this coin and venue pair is already held"),
            EntryBlock::Halted => f.write_str("entries are halted after the daily loss limit"),
            EntryBlock::BelowMinimumSize => f.write_str("the position would be below the minimum size"),
            EntryBlock::InsufficientCapital => f.write_str("the margin would exceed the available capital"),
            EntryBlock::MarginCap => f.write_str("margin used would exceed the maximum margin usage"),
            EntryBlock::WouldBreach(r) => write!(f, "the position would be closed at once ({r})"),
            EntryBlock::NoQuote => f.write_str("a venue had no price for the coin at the fill"),
        }
    }
}

/// The entry rule for one state: the state-level checks are made once, then each opportunity and
/// size is checked against the rest. [`check_entry`], [`plan_entry`] and [`action_mask`] all go
/// through it, so each rule is written once.
#[derive(Debug, Clone, Copy)]
pub struct EntryGate<'a> {
    config: &'a TradingConfig,
    portfolio: &'a Portfolio,
    available: f64,
    margin_used: f64,
    leverage: f64,
    blocked: Option<EntryBlock>,
}

impl<'a> EntryGate<'a> {
    /// The gate of a validated state.
    pub fn new(state: ValidState<'a>) -> Self {
        let (config, portfolio) = (state.config(), state.portfolio());
        let blocked = if portfolio.active_count() >= usize::from(config.max_positions)
            || portfolio.free_slot().is_none()
        {
            Some(EntryBlock::MaxPositions)
        } else if risk::entries_halted(config, portfolio) {
            Some(EntryBlock::Halted)
        } else {
            None
        };
        EntryGate {
            config,
            portfolio,
            available: portfolio.available_capital(),
            margin_used: portfolio.margin_used(),
            leverage: margin::entry_leverage(config),
            blocked,
        }
    }

    /// Whether every entry is blocked by the state alone (positions full or halted).
    pub fn blocked(&self) -> Option<EntryBlock> {
        self.blocked
    }

    /// The size of an entry of `tier` ([`sizing::position_size`] of the available capital).
    pub fn size(&self, tier: SizeTier) -> f64 {
        sizing::position_size(self.available, self.config, tier)
    }

    /// Rules 2-4 and 8 for a valid opportunity: a slot is free, the trade is not held, no halt, and
    /// a position on it would not be forced out at once. None of these depends on the size: rule 8
    /// is judged on a position of one USD a leg, whose entry fees are exactly `2 x fee_rate` of its
    /// size and whose liquidation distance is the same at any size.
    pub fn check_trade(&self, opportunity: &Opportunity) -> Result<(), EntryBlock> {
        if let Some(block) = self.blocked {
            return Err(block);
        }
        if self.portfolio.holds(opportunity) {
            return Err(EntryBlock::AlreadyHeld);
        }
        let unit = Position::open(opportunity, 1.0, self.leverage, self.config.fee_rate, 0);
        if let Some(reason) = risk::forced_exit(self.config, &unit) {
            return Err(EntryBlock::WouldBreach(reason));
        }
        Ok(())
    }

    /// Rules 5-7 for an opportunity that passed [`Self::check_trade`]: size, margin and margin cap.
    pub fn check_size(&self, size_usd: f64) -> Result<EntryPlan, EntryBlock> {
        if !(size_usd >= self.config.min_position_usd && size_usd > 0.0 && size_usd.is_finite()) {
            return Err(EntryBlock::BelowMinimumSize);
        }
        let margin = margin::position_margin(size_usd, self.leverage);
        if !(margin <= self.available) {
            return Err(EntryBlock::InsufficientCapital);
        }
        if !(self.margin_used + margin <= self.config.max_margin_usage * self.portfolio.capital) {
            return Err(EntryBlock::MarginCap);
        }
        Ok(EntryPlan { size_usd, leverage: self.leverage, margin })
    }

    /// Every rule for an entry of `size_usd` per leg on `opportunity`.
    pub fn check(&self, opportunity: &Opportunity, size_usd: f64) -> Result<EntryPlan, EntryBlock> {
        opportunity.validate().map_err(EntryBlock::InvalidOpportunity)?;
        self.check_trade(opportunity)?;
        self.check_size(size_usd)
    }
}

/// Check an entry of `size_usd` per leg on `opportunity` against every rule; an invalid
/// configuration or portfolio is [`EntryBlock::InvalidState`].
pub fn check_entry(
    config: &TradingConfig,
    portfolio: &Portfolio,
    opportunity: &Opportunity,
    size_usd: f64,
) -> Result<EntryPlan, EntryBlock> {
    let state = ValidState::new(config, portfolio).map_err(EntryBlock::InvalidState)?;
    EntryGate::new(state).check(opportunity, size_usd)
}

/// Size an entry of `tier` from the available capital and check it ([`check_entry`]).
pub fn plan_entry(
    config: &TradingConfig,
    portfolio: &Portfolio,
    opportunity: &Opportunity,
    tier: SizeTier,
) -> Result<EntryPlan, EntryBlock> {
    let state = ValidState::new(config, portfolio).map_err(EntryBlock::InvalidState)?;
    let gate = EntryGate::new(state);
    gate.check(opportunity, gate.size(tier))
}

/// The 36-action mask for this state; only HOLD and the exits when it is invalid.
pub fn action_mask(config: &TradingConfig, portfolio: &Portfolio, slots: &Slots<'_>) -> ActionMask {
    match ValidState::new(config, portfolio) {
        Ok(state) => Allowed::of(state, slots).mask,
        Err(_) => hold_and_exits(portfolio),
    }
}

/// What a validated state allows: the mask, and the plan of an entry at each size tier (the same
/// for every opportunity the trade rules let in), computed once for the decision that follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowed {
    /// The allowed actions.
    pub mask: ActionMask,
    /// The plan of an entry of each tier ([`SizeTier::ALL`]'s order), or why none is allowed.
    pub plans: [Result<EntryPlan, EntryBlock>; 3],
}

/// HOLD and the EXIT of every active slot.
fn hold_and_exits(portfolio: &Portfolio) -> ActionMask {
    let mut mask = ActionMask::hold_only();
    for (slot, p) in PositionSlot::ALL.into_iter().zip(&portfolio.positions) {
        if p.is_some() {
            mask.set(Action::Exit { slot }.index(), true);
        }
    }
    mask
}

impl Allowed {
    /// What `state` allows with these slots.
    pub fn of(state: ValidState<'_>, slots: &Slots<'_>) -> Self {
        let mut mask = hold_and_exits(state.portfolio());
        let gate = EntryGate::new(state);
        if let Some(block) = gate.blocked() {
            return Allowed { mask, plans: [Err(block); 3] };
        }
        let plans = SizeTier::ALL.map(|tier| gate.check_size(gate.size(tier)));
        for (slot, opportunity) in OpportunitySlot::ALL.into_iter().zip(slots.iter()) {
            let Some(opportunity) = opportunity else {
                continue;
            };
            if gate.check_trade(opportunity).is_err() {
                continue;
            }
            for (tier, plan) in SizeTier::ALL.into_iter().zip(&plans) {
                if plan.is_ok() {
                    mask.set(Action::Enter { slot, size: tier }.index(), true);
                }
            }
        }
        Allowed { mask, plans }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::tests::btc;
    use crate::position::tests::btc_position;

    fn slots(o: &Opportunity) -> Slots<'_> {
        let mut s = [None; crate::OPPORTUNITY_SLOTS];
        s[3] = Some(o);
        Slots::new(s).unwrap()
    }

    fn enter(slot: usize, size: SizeTier) -> usize {
        Action::Enter { slot: crate::OpportunitySlot::new(slot).unwrap(), size }.index()
    }

    #[test]
    fn empty_book_allows_all_sizes_of_a_filled_slot() {
        let config = TradingConfig::default();
        let o = btc();
        let m = action_mask(&config, &Portfolio::new(10_000.0), &slots(&o));
        assert_eq!(
            m.iter().collect::<std::vec::Vec<_>>(),
            [0, enter(3, SizeTier::Small), enter(3, SizeTier::Medium), enter(3, SizeTier::Large)]
        );
    }

    #[test]
    fn plan_by_hand() {
        // 10,000 available, 50 %, 3 positions: 1,666.67 max; LARGE = 500; 1x: 1,000 margin.
        let config = TradingConfig::default();
        let plan = plan_entry(&config, &Portfolio::new(10_000.0), &btc(), SizeTier::Large).unwrap();
        assert!((plan.size_usd - 500.0).abs() < 1e-9);
        assert_eq!(plan.leverage, 1.0);
        assert!((plan.margin - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn each_rule_blocks() {
        let config = TradingConfig::default();
        let o = btc();
        let book = Portfolio::new(10_000.0);

        let mut bad = o;
        bad.long.price = f64::NAN;
        assert!(matches!(check_entry(&config, &book, &bad, 100.0), Err(EntryBlock::InvalidOpportunity(_))));

        let mut full = book;
        let mut other = btc_position();
        for slot in 0..3 {
            other.coin = crate::name(["ETH", "SOL", "XRP"][slot]).unwrap();
            full.positions[slot] = Some(other);
        }
        assert_eq!(check_entry(&config, &full, &o, 100.0), Err(EntryBlock::MaxPositions));

        let mut held = book;
        held.positions[0] = Some(btc_position());
        assert_eq!(check_entry(&config, &held, &o, 100.0), Err(EntryBlock::AlreadyHeld));

        let mut halted = book;
        halted.capital = 9_400.0;
        assert_eq!(check_entry(&config, &halted, &o, 100.0), Err(EntryBlock::Halted));

        assert_eq!(check_entry(&config, &book, &o, 9.99), Err(EntryBlock::BelowMinimumSize));
        assert_eq!(check_entry(&config, &book, &o, f64::NAN), Err(EntryBlock::BelowMinimumSize));
        // 1x: 5,001 a leg needs 10,002 margin.
        assert_eq!(check_entry(&config, &book, &o, 5_001.0), Err(EntryBlock::InsufficientCapital));
        // 4,800 a leg needs 9,600 margin > 95 % of 10,000.
        assert_eq!(check_entry(&config, &book, &o, 4_800.0), Err(EntryBlock::MarginCap));
        assert!(check_entry(&config, &book, &o, 4_700.0).is_ok());

        // A fee so high that entry fees alone breach a -1 % stop.
        let pricey = TradingConfig { fee_rate: 0.006, stop_loss_threshold: -0.01, ..config };
        assert_eq!(
            check_entry(&pricey, &book, &o, 100.0),
            Err(EntryBlock::WouldBreach(ExitReason::StopLoss))
        );
    }

    #[test]
    fn exits_follow_active_slots_and_bad_state_blocks_entries() {
        let config = TradingConfig::default();
        let o = btc();
        let mut book = Portfolio::new(10_000.0);
        book.positions[4] = Some(btc_position());
        let m = action_mask(&config, &book, &slots(&o));
        assert!(m.allows(35) && !m.allows(31));
        assert!(!m.allows(enter(3, SizeTier::Small))); // already held
        book.capital = f64::NAN;
        let m = action_mask(&config, &book, &slots(&o));
        assert_eq!(m.iter().collect::<std::vec::Vec<_>>(), [0, 35]);
        let bad = TradingConfig { max_leverage: 0.0, ..config };
        let m = action_mask(&bad, &Portfolio::new(1000.0), &slots(&o));
        assert_eq!(m, ActionMask::hold_only());
    }
}
