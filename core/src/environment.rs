//! The hourly market environment: Gym-style `reset` and `step` over a [`Market`].
//!
//! One step moves from snapshot `t` to `t + 1`. The action was chosen on the observation at `t`;
//! at `t + 1`, in this order:
//! 1. every open leg is marked to its venue's price (price P&L); a venue without a usable quote
//!    ([`Quote::is_usable`]) leaves the leg at its last price and pays no funding;
//! 2. a leg at or beyond its liquidation price is liquidated: its margin (`size / leverage`) is
//!    lost, the other leg is closed at market with its exit fee;
//! 3. funding settled at `t + 1` is paid to and by the positions open then, on each leg's notional at
//!    the settlement's mark price (a position exited by this step's action still takes it, a position
//!    entered by it does not);
//! 4. the action fills at `t + 1` prices, paying the fee and the slippage ([`EnvParams::slippage`])
//!    on both legs; an entry is checked again against every rule of [`crate::mask`] with the fill
//!    prices and is rejected if it now fails;
//! 5. positions breaching the stop-loss or the liquidation buffer are closed at market;
//! 6. the daily-loss halt, the peak and the drawdown are updated; at the first hour of a UTC day the
//!    day's starting capital is taken (before the fill) and any halt is lifted.
//!
//! The episode ends (`terminated`) when capital falls `episode_drawdown_stop` below its peak or to
//! zero, and is cut (`truncated`) after `episode_hours` steps. Capital changes by exactly funding +
//! price P&L - fees in every step ([`StepInfo`]; fees include the slippage).

use crate::action::{Action, ActionMask};
use crate::config::TradingConfig;
use crate::error::{Error, check_range};
use crate::market::{Market, Quote};
use crate::mask::{self, EntryBlock, EntryPlan};
use crate::observation::{self, OBSERVATION_LEN, Observation};
use crate::opportunity::{Leg, Opportunity};
use crate::portfolio::Portfolio;
use crate::position::{Position, PositionLeg};
use crate::reward::{Reward, RewardParams, StepOutcome};
use crate::risk::{self, ExitReason};
use crate::selection::Selection;
use crate::state::ValidState;
use crate::{MAX_POSITIONS, margin};
use rand::{Rng, SeedableRng};

/// Episode settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvParams {
    /// Steps per episode (the plan's curriculum uses 72, 120 and 168). Default 168.
    pub episode_hours: usize,
    /// Capital at the start of an episode, USD. Default 10,000.
    pub initial_capital: f64,
    /// Reward constants.
    pub reward: RewardParams,
    /// Slippage per leg at every fill (entries, exits, forced and liquidation closes), fraction of
    /// the leg's notional, charged with the fee, in `[0, 0.01]`. Default [`DEFAULT_SLIPPAGE`].
    pub slippage: f64,
}

/// The default slippage per leg and fill: 2 basis points, about half the bid-ask spread of a major
/// perpetual's book plus a little depth taken (`docs/training.md`), so that the bar-to-bar noise
/// between two venues' prices is not free to trade.
pub const DEFAULT_SLIPPAGE: f64 = 0.0002;

impl Default for EnvParams {
    fn default() -> Self {
        EnvParams {
            episode_hours: 168,
            initial_capital: 10_000.0,
            reward: RewardParams::default(),
            slippage: DEFAULT_SLIPPAGE,
        }
    }
}

/// A position closed during a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedTrade {
    /// Why it closed.
    pub reason: ExitReason,
    /// The position as it stood when closed (marked to the exit prices).
    pub position: Position,
    /// Fees paid to close it, USD.
    pub exit_fees: f64,
    /// Realised net P&L of the whole trade: price P&L (a liquidated leg counts its lost margin),
    /// net funding, entry and exit fees, USD.
    pub net_pnl: f64,
}

/// What happened in a step, with the hour's P&L split into its sources.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Time of the new snapshot, hours since the epoch.
    pub hour: i64,
    /// Funding received minus paid this hour, USD.
    pub funding: f64,
    /// Price P&L this hour (marks, liquidation losses), USD.
    pub price_pnl: f64,
    /// Fees and slippage paid this hour, USD (>= 0).
    pub fees: f64,
    /// Capital after the step, USD.
    pub capital: f64,
    /// The reward's components.
    pub reward: Reward,
    /// The slot the action's entry opened, if it did.
    pub entered: Option<usize>,
    /// Why the action's entry was rejected at the fill, if it was.
    pub entry_rejected: Option<EntryBlock>,
    /// Positions closed this step, by slot.
    pub closed: [Option<ClosedTrade>; MAX_POSITIONS],
}

impl StepInfo {
    fn new(hour: i64) -> Self {
        StepInfo {
            hour,
            funding: 0.0,
            price_pnl: 0.0,
            fees: 0.0,
            capital: 0.0,
            reward: Reward::default(),
            entered: None,
            entry_rejected: None,
            closed: [None; MAX_POSITIONS],
        }
    }

    /// Number of positions closed this step for `reason`.
    pub fn closed_for(&self, reason: ExitReason) -> usize {
        self.closed.iter().flatten().filter(|c| c.reason == reason).count()
    }
}

/// The result of a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Observation at the new snapshot.
    pub observation: Observation,
    /// Allowed actions at the new snapshot.
    pub mask: ActionMask,
    /// The reward ([`StepInfo::reward`] summed).
    pub reward: f64,
    /// The episode ended by drawdown or ruin.
    pub terminated: bool,
    /// The episode reached its length.
    pub truncated: bool,
    /// Details.
    pub info: StepInfo,
}

/// The market environment.
#[derive(Debug, Clone)]
pub struct Environment<M> {
    market: M,
    params: EnvParams,
    config: TradingConfig,
    portfolio: Portfolio,
    start: usize,
    t: usize,
    selection: Selection,
    /// The plan of an entry of each size tier at the latest snapshot, computed with its mask.
    plans: [Result<EntryPlan, EntryBlock>; 3],
    /// The latest step, written in place.
    last: Step,
    done: bool,
}

impl<M: Market> Environment<M> {
    /// An environment over `market`; call [`Environment::reset`] before stepping.
    pub fn new(market: M, params: EnvParams) -> Result<Self, Error> {
        check_range("env.initial_capital", params.initial_capital, 0.0, 1e12, true)?;
        check_range("env.episode_hours", params.episode_hours as f64, 1.0, 1e9, false)?;
        check_range("env.slippage", params.slippage, 0.0, 0.01, false)?;
        let needed = params.episode_hours + 1;
        if market.hours() < needed {
            return Err(Error::MarketTooShort { hours: market.hours(), needed });
        }
        Ok(Environment {
            market,
            params,
            config: TradingConfig::default(),
            portfolio: Portfolio::new(params.initial_capital),
            start: 0,
            t: 0,
            selection: Selection::default(),
            plans: [Err(EntryBlock::InvalidState(Error::EpisodeOver)); 3],
            last: Step {
                observation: [0.0; OBSERVATION_LEN],
                mask: ActionMask::hold_only(),
                reward: 0.0,
                terminated: false,
                truncated: false,
                info: StepInfo::new(0),
            },
            done: true,
        })
    }

    /// Start an episode at a start hour drawn from `seed`, with `config`.
    pub fn reset(&mut self, seed: u64, config: TradingConfig) -> Result<(Observation, ActionMask), Error> {
        let last_start = self.market.hours() - self.params.episode_hours - 1;
        let start = rand_pcg::Pcg64Mcg::seed_from_u64(seed).random_range(0..=last_start);
        self.reset_at(start, config)
    }

    /// Start an episode at snapshot `start` with `config`.
    pub fn reset_at(
        &mut self,
        start: usize,
        config: TradingConfig,
    ) -> Result<(Observation, ActionMask), Error> {
        config.validate()?;
        let needed = start + self.params.episode_hours + 1;
        if self.market.hours() < needed {
            return Err(Error::MarketTooShort { hours: self.market.hours(), needed });
        }
        self.config = config;
        self.portfolio = Portfolio::new(self.params.initial_capital);
        self.start = start;
        self.t = start;
        self.done = false;
        self.view()?;
        Ok((self.last.observation, self.last.mask))
    }

    /// The market.
    pub fn market(&self) -> &M {
        &self.market
    }

    /// The episode's configuration.
    pub fn config(&self) -> &TradingConfig {
        &self.config
    }

    /// The book.
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// Index of the current snapshot.
    pub fn t(&self) -> usize {
        self.t
    }

    /// The opportunities shown at the current snapshot, as indices into `market.opportunities(t)`.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// Allowed actions at the current snapshot.
    pub fn mask(&self) -> ActionMask {
        self.last.mask
    }

    /// Whether the episode has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Apply `action` (chosen on the current observation) and move one hour on. The step is kept
    /// in the environment (no copy of the observation) until the next call.
    pub fn step(&mut self, action: Action) -> Result<&Step, Error> {
        if self.done {
            return Err(Error::EpisodeOver);
        }
        let index = action.index();
        if !self.last.mask.allows(index) {
            return Err(Error::ActionNotAllowed { index });
        }
        // The order, decided at t.
        let entry = match action {
            Action::Enter { slot, size } => {
                let i = self.selection.input_index(slot.index()).ok_or(Error::ActionNotAllowed { index })?;
                let opportunity = self.market.opportunities(self.t)[i];
                let plan = self.plans[size.index()].map_err(|_| Error::ActionNotAllowed { index })?;
                Some((opportunity, plan.size_usd))
            }
            _ => None,
        };
        let capital_before = self.portfolio.capital;
        let previous_day = self.market.timestamp(self.t).div_euclid(24);
        self.t += 1;
        let now = self.market.timestamp(self.t);
        let mut info = StepInfo::new(now);

        let quotes = self.mark(&mut info);
        self.liquidate(&mut info);
        self.settle(&quotes, &mut info);
        if now.div_euclid(24) != previous_day {
            self.portfolio.day_start_capital = self.portfolio.capital;
            self.portfolio.entries_halted = false;
        }
        match (action, entry) {
            (Action::Exit { slot }, _) => self.close(slot.index(), ExitReason::Policy, &mut info),
            (_, Some((opportunity, size))) => self.enter(&opportunity, size, &mut info),
            _ => {}
        }
        let forced = risk::forced_exits(&self.config, &self.portfolio);
        for (slot, reason) in forced.iter().enumerate() {
            if let Some(reason) = *reason {
                self.close(slot, reason, &mut info);
            }
        }
        if risk::entries_halted(&self.config, &self.portfolio) {
            self.portfolio.entries_halted = true;
        }
        self.portfolio.record_peak();

        let terminated =
            !(self.portfolio.capital > 0.0) || self.portfolio.drawdown() >= self.config.episode_drawdown_stop;
        let truncated = !terminated && self.t - self.start >= self.params.episode_hours;
        self.done = terminated || truncated;
        info.capital = self.portfolio.capital;
        info.reward = self.params.reward.reward(&StepOutcome {
            initial_capital: self.portfolio.initial_capital,
            capital_before,
            capital_after: self.portfolio.capital,
            entered: info.entered.is_some(),
            fee_rate: self.config.fee_rate,
            entry_fees: info.entered.and_then(|k| self.portfolio.positions[k]).map_or(0.0, |p| p.fees_paid),
            min_liquidation_distance: self.portfolio.min_liquidation_distance(),
            stop_loss_hit: info.closed_for(ExitReason::StopLoss) > 0,
        });
        if let Err(e) = self.view() {
            self.done = true;
            return Err(e);
        }
        self.last.reward = info.reward.total();
        self.last.terminated = terminated;
        self.last.truncated = truncated;
        self.last.info = info;
        Ok(&self.last)
    }

    /// Select, observe and mask the current snapshot.
    fn view(&mut self) -> Result<(), Error> {
        let (selection, slots) = self.market.shown(self.t);
        self.selection = selection;
        self.portfolio.episode_progress = (self.t - self.start) as f64 / self.params.episode_hours as f64;
        let now = self.market.timestamp(self.t);
        let state = ValidState::new(&self.config, &self.portfolio);
        let shown = state
            .and_then(|state| observation::encode_allowed(state, &slots, now, &mut self.last.observation));
        match shown {
            Ok(allowed) => (self.last.mask, self.plans) = (allowed.mask, allowed.plans),
            Err(e) => {
                self.last.observation.fill(0.0);
                (self.last.mask, self.plans) =
                    (ActionMask::hold_only(), [Err(EntryBlock::InvalidState(e)); 3]);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Mark every leg to its venue's quote at `t`; returns the quotes for the settlements.
    fn mark(&mut self, info: &mut StepInfo) -> [[Option<Quote>; 2]; MAX_POSITIONS] {
        let mut quotes = [[None; 2]; MAX_POSITIONS];
        let (market, t) = (&self.market, self.t);
        for (slot, position) in self.portfolio.positions.iter_mut().enumerate() {
            let Some(p) = position else { continue };
            let before = p.price_pnl();
            let long = usable_quote(market, t, &p.coin, &p.long.venue);
            let short = usable_quote(market, t, &p.coin, &p.short.venue);
            if let Some(q) = long {
                update_leg(&mut p.long, &q);
            }
            if let Some(q) = short {
                update_leg(&mut p.short, &q);
            }
            quotes[slot] = [long, short];
            let moved = p.price_pnl() - before;
            info.price_pnl += moved;
            self.portfolio.capital += moved;
        }
        quotes
    }

    /// Liquidate every position with a leg at or beyond its liquidation price.
    fn liquidate(&mut self, info: &mut StepInfo) {
        for slot in 0..MAX_POSITIONS {
            let Some(p) = self.portfolio.positions[slot] else {
                continue;
            };
            let (long_liq, short_liq) = p.liquidation_prices();
            let long_gone = p.long.price <= long_liq;
            let short_gone = p.short.price >= short_liq;
            if !(long_gone || short_gone) {
                continue;
            }
            let lost = -margin::leg_margin(p.size_usd, p.leverage);
            let long_pnl = if long_gone { lost } else { p.long_pnl() };
            let short_pnl = if short_gone { lost } else { p.short_pnl() };
            let price_adjustment = long_pnl + short_pnl - p.price_pnl();
            let exit_fees = self.cost_rate()
                * (if long_gone { 0.0 } else { p.long.notional(p.size_usd) }
                    + if short_gone { 0.0 } else { p.short.notional(p.size_usd) });
            info.price_pnl += price_adjustment;
            self.portfolio.capital += price_adjustment;
            self.pay_fees(exit_fees, info);
            let net_pnl = long_pnl + short_pnl + p.net_funding() - p.fees_paid - exit_fees;
            info.closed[slot] =
                Some(ClosedTrade { reason: ExitReason::Liquidated, position: p, exit_fees, net_pnl });
            self.portfolio.positions[slot] = None;
        }
    }

    /// Pay the settlements at `t` to and from the open positions.
    fn settle(&mut self, quotes: &[[Option<Quote>; 2]; MAX_POSITIONS], info: &mut StepInfo) {
        for (slot, position) in self.portfolio.positions.iter_mut().enumerate() {
            let Some(p) = position else { continue };
            let [long, short] = quotes[slot];
            let size = p.size_usd;
            // A long pays the rate on its notional, a short receives it.
            let flows = [(long, &p.long, -1.0), (short, &p.short, 1.0)].map(|(q, leg, sign)| {
                q.and_then(|q| q.settlement_terms())
                    .map_or(0.0, |(rate, mark)| sign * rate * leg.quantity(size) * mark)
            });
            for flow in flows {
                if flow >= 0.0 {
                    p.funding_received += flow;
                } else {
                    p.funding_paid -= flow;
                }
                info.funding += flow;
                self.portfolio.capital += flow;
            }
        }
    }

    /// Fill an entry decided at the previous snapshot, at this snapshot's prices.
    fn enter(&mut self, decided: &Opportunity, size: f64, info: &mut StepInfo) {
        let (market, t) = (&self.market, self.t);
        let fill_leg = |leg: &Leg| {
            usable_quote(market, t, &decided.coin, &leg.venue).map(|q| Leg::quoted(leg.venue, &q))
        };
        let (Some(long), Some(short)) = (fill_leg(&decided.long), fill_leg(&decided.short)) else {
            info.entry_rejected = Some(EntryBlock::NoQuote);
            return;
        };
        let fill = Opportunity { long, short, ..*decided };
        match mask::check_entry(&self.config, &self.portfolio, &fill, size) {
            Ok(plan) => {
                let position =
                    Position::open(&fill, plan.size_usd, plan.leverage, self.cost_rate(), info.hour);
                let slot = self.portfolio.free_slot().expect("check_entry found a free slot");
                self.pay_fees(position.fees_paid, info);
                self.portfolio.positions[slot] = Some(position);
                info.entered = Some(slot);
            }
            Err(block) => info.entry_rejected = Some(block),
        }
    }

    /// Close the position in `slot` at its current marks.
    fn close(&mut self, slot: usize, reason: ExitReason, info: &mut StepInfo) {
        let Some(p) = self.portfolio.positions[slot].take() else {
            return;
        };
        let exit_fees = p.exit_fees(self.cost_rate());
        self.pay_fees(exit_fees, info);
        info.closed[slot] =
            Some(ClosedTrade { reason, position: p, exit_fees, net_pnl: p.net_pnl() - exit_fees });
    }

    /// What a fill costs per leg, fraction of its notional: the fee and the slippage.
    pub fn cost_rate(&self) -> f64 {
        self.config.fee_rate + self.params.slippage
    }

    fn pay_fees(&mut self, fees: f64, info: &mut StepInfo) {
        info.fees += fees;
        self.portfolio.capital -= fees;
    }
}

fn usable_quote<M: Market>(market: &M, t: usize, coin: &crate::Name, venue: &crate::Name) -> Option<Quote> {
    market.quote(t, coin, venue).filter(Quote::is_usable)
}

fn update_leg(leg: &mut PositionLeg, q: &Quote) {
    leg.price = q.price;
    leg.funding_rate = q.funding_rate;
    leg.interval_hours = q.interval_hours;
}
