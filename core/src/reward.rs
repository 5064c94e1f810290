//! The training reward, every component in one unit: percent of the episode's initial capital.
//!
//! `reward = pnl + entry + liquidation + stop_loss` where
//! - `pnl = (capital_after - capital_before) / initial_capital x 100 x pnl_scale`: funding, price
//!   P&L, fees and slippage, each counted once;
//! - `entry`, when the step opened a position (else 0), by [`EntryPenalty`]: `OfCapital(k)` is
//!   `-(entry fees / initial_capital x 100) x k` (a surcharge on the entry's own cost, already
//!   inside `pnl`), `OfSize(k)` the plan's `-(2 x fee_rate x 100) x k`;
//! - `liquidation = -(liquidation_threshold - d) x liquidation_scale` when the closest liquidation
//!   distance `d` after the step is below `liquidation_threshold`, else 0;
//! - `stop_loss = -stop_loss_penalty` when a stop-loss closed a position during the step, else 0.
//!
//! The default ([`RewardParams::default`]) is the P&L alone: the costs are in it once, in the unit
//! of everything else, and the risk rules (masks, forced exits) keep the book inside its limits
//! whatever the reward. A trainer rescales it (a running return normaliser), so its size is free.
//!
//! The implementation plan's reward is [`RewardParams::plan`]: P&L x 3, an entry penalty of
//! `-(2 x fee_rate x 100) x 3` (a percent of the *position*, about forty times the entry's real
//! cost in percent of capital, on top of it), the liquidation-proximity penalty and 2 per stop-loss.

/// How the entry penalty is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EntryPenalty {
    /// `-(entry fees / initial_capital x 100) x scale`: percent of capital, the unit of the P&L.
    OfCapital(f64),
    /// The plan's `-(2 x fee_rate x 100) x scale`: percent of the position's size.
    OfSize(f64),
}

/// The reward's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardParams {
    /// Multiplier of the hourly P&L in percent of initial capital. Default 1 (the plan's 3).
    pub pnl_scale: f64,
    /// The entry penalty. Default none (`OfCapital(0)`; the plan's `OfSize(3)`).
    pub entry: EntryPenalty,
    /// Liquidation distance below which the proximity penalty applies, fraction. 0.15.
    pub liquidation_threshold: f64,
    /// Multiplier of the shortfall below `liquidation_threshold`. Default 0 (the plan's 20).
    pub liquidation_scale: f64,
    /// Penalty when a stop-loss fires. Default 0 (the plan's 2).
    pub stop_loss_penalty: f64,
}

impl Default for RewardParams {
    /// The P&L alone, in percent of initial capital.
    fn default() -> Self {
        RewardParams {
            pnl_scale: 1.0,
            entry: EntryPenalty::OfCapital(0.0),
            liquidation_threshold: 0.15,
            liquidation_scale: 0.0,
            stop_loss_penalty: 0.0,
        }
    }
}

impl RewardParams {
    /// The implementation plan's reward, constant for constant.
    pub fn plan() -> Self {
        RewardParams {
            pnl_scale: 3.0,
            entry: EntryPenalty::OfSize(3.0),
            liquidation_threshold: 0.15,
            liquidation_scale: 20.0,
            stop_loss_penalty: 2.0,
        }
    }
}

/// What happened in a step, as the reward sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// Capital at the start of the episode, USD.
    pub initial_capital: f64,
    /// Capital before the step, USD.
    pub capital_before: f64,
    /// Capital after the step, USD.
    pub capital_after: f64,
    /// Whether the step opened a position.
    pub entered: bool,
    /// Fee rate per side of that entry.
    pub fee_rate: f64,
    /// What the entry cost (fees and slippage of both legs), USD; 0 without an entry.
    pub entry_fees: f64,
    /// Closest liquidation distance after the step (see
    /// [`crate::portfolio::Portfolio::min_liquidation_distance`]).
    pub min_liquidation_distance: f64,
    /// Whether a stop-loss closed a position during the step.
    pub stop_loss_hit: bool,
}

/// The reward and its components.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reward {
    /// P&L component.
    pub pnl: f64,
    /// Entry-fee component (<= 0).
    pub entry: f64,
    /// Liquidation-proximity component (<= 0).
    pub liquidation: f64,
    /// Stop-loss component (<= 0).
    pub stop_loss: f64,
}

impl Reward {
    /// The sum of the components.
    pub fn total(&self) -> f64 {
        self.pnl + self.entry + self.liquidation + self.stop_loss
    }
}

impl RewardParams {
    /// The reward of a step.
    pub fn reward(&self, o: &StepOutcome) -> Reward {
        let pnl_pct = (o.capital_after - o.capital_before) / o.initial_capital * 100.0;
        let entry = match (o.entered, self.entry) {
            (false, _) => 0.0,
            (true, EntryPenalty::OfCapital(k)) => -(o.entry_fees / o.initial_capital * 100.0) * k,
            (true, EntryPenalty::OfSize(k)) => -(2.0 * o.fee_rate * 100.0) * k,
        };
        let shortfall = self.liquidation_threshold - o.min_liquidation_distance;
        let liquidation = if shortfall > 0.0 { -shortfall * self.liquidation_scale } else { 0.0 };
        let stop_loss = if o.stop_loss_hit { -self.stop_loss_penalty } else { 0.0 };
        Reward { pnl: pnl_pct * self.pnl_scale, entry, liquidation, stop_loss }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> StepOutcome {
        StepOutcome {
            initial_capital: 10_000.0,
            capital_before: 10_000.0,
            capital_after: 10_000.0,
            entered: false,
            fee_rate: 0.001,
            entry_fees: 0.0,
            min_liquidation_distance: 1.0,
            stop_loss_hit: false,
        }
    }

    #[test]
    fn the_plans_components_by_hand() {
        let p = RewardParams::plan();
        assert_eq!(p.reward(&outcome()).total(), 0.0);
        // +15 USD on 10,000 initial: 0.15 % x 3 = 0.45.
        let r = p.reward(&StepOutcome { capital_after: 10_015.0, ..outcome() });
        assert!((r.pnl - 0.45).abs() < 1e-12);
        // Entry at 0.1 % a side: 0.2 % x 3 = -0.6 (the plan's figure).
        let r = p.reward(&StepOutcome { entered: true, ..outcome() });
        assert!((r.entry + 0.6).abs() < 1e-12);
        // 10 % from liquidation: (0.15 - 0.10) x 20 = -1.
        let r = p.reward(&StepOutcome { min_liquidation_distance: 0.10, ..outcome() });
        assert!((r.liquidation + 1.0).abs() < 1e-12);
        let r = p.reward(&StepOutcome { min_liquidation_distance: 0.15, ..outcome() });
        assert_eq!(r.liquidation, 0.0);
        let r = p.reward(&StepOutcome { stop_loss_hit: true, capital_after: 9_990.0, ..outcome() });
        assert!((r.total() - (-0.3 - 2.0)).abs() < 1e-12);
    }

    #[test]
    fn reward_is_capital_independent() {
        let p = RewardParams::plan();
        let small = p.reward(&StepOutcome { capital_after: 10_010.0, ..outcome() });
        let big = p.reward(&StepOutcome {
            initial_capital: 1e6,
            capital_before: 1e6,
            capital_after: 1e6 + 1000.0,
            ..outcome()
        });
        assert!((small.total() - big.total()).abs() < 1e-12);
    }

    #[test]
    fn the_default_is_the_pnl_in_percent_of_capital_with_every_cost_in_it_once() {
        let p = RewardParams::default();
        // A 240 USD a leg entry at 0.05 % a side and 2 bp slippage: 2 x 240 x 0.0007 = 0.336 USD,
        // which the capital already lost: 0.336 / 10,000 x 100 = 0.00336 % of capital, nothing more.
        let cost = 2.0 * 240.0 * 0.0007;
        let entry = StepOutcome {
            entered: true,
            fee_rate: 0.0005,
            entry_fees: cost,
            capital_after: 10_000.0 - cost,
            ..outcome()
        };
        let r = p.reward(&entry);
        assert!((r.total() + 0.00336).abs() < 1e-12, "{r:?}");
        assert_eq!((r.entry, r.liquidation, r.stop_loss), (0.0, 0.0, 0.0));
        // The plan charges the same entry -(2 x 0.05 x 3) = -0.3 on top: ~90x the real cost.
        let plan = RewardParams::plan().reward(&entry);
        assert!((plan.entry + 0.3).abs() < 1e-12 && (plan.pnl + 3.0 * 0.00336).abs() < 1e-12);
        // A surcharge in the same unit: one more entry's cost.
        let surcharge = RewardParams { entry: EntryPenalty::OfCapital(1.0), ..p }.reward(&entry);
        assert!((surcharge.total() + 2.0 * 0.00336).abs() < 1e-12);
        // Close to liquidation and a stop-loss: no penalty beyond what the capital lost.
        let risky = StepOutcome {
            min_liquidation_distance: 0.05,
            stop_loss_hit: true,
            capital_after: 9_990.0,
            ..outcome()
        };
        assert!((p.reward(&risky).total() + 0.1).abs() < 1e-12);
    }
}
