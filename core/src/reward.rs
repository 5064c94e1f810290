//! The training reward: the implementation plan's four components, each constant a parameter.
//!
//! `reward = pnl + entry + liquidation + stop_loss` where
//! - `pnl = (capital_after - capital_before) / initial_capital x 100 x pnl_scale`;
//! - `entry = -(2 x fee_rate x 100) x entry_fee_scale` when the step opened a position (the entry
//!   fees of both legs as a percent of its size), else 0;
//! - `liquidation = -(liquidation_threshold - d) x liquidation_scale` when the closest liquidation
//!   distance `d` after the step is below `liquidation_threshold`, else 0;
//! - `stop_loss = -stop_loss_penalty` when a stop-loss closed a position during the step, else 0.

/// The reward's constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardParams {
    /// Multiplier of the hourly P&L in percent of initial capital. Default 3.
    pub pnl_scale: f64,
    /// Multiplier of the entry-fee percent. Default 3.
    pub entry_fee_scale: f64,
    /// Liquidation distance below which the proximity penalty applies, fraction. Default 0.15.
    pub liquidation_threshold: f64,
    /// Multiplier of the shortfall below `liquidation_threshold`. Default 20.
    pub liquidation_scale: f64,
    /// Penalty when a stop-loss fires. Default 2.
    pub stop_loss_penalty: f64,
}

impl Default for RewardParams {
    fn default() -> Self {
        RewardParams {
            pnl_scale: 3.0,
            entry_fee_scale: 3.0,
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
        let entry = if o.entered { -(2.0 * o.fee_rate * 100.0) * self.entry_fee_scale } else { 0.0 };
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
            min_liquidation_distance: 1.0,
            stop_loss_hit: false,
        }
    }

    #[test]
    fn components_by_hand() {
        let p = RewardParams::default();
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
        let p = RewardParams::default();
        let small = p.reward(&StepOutcome { capital_after: 10_010.0, ..outcome() });
        let big = p.reward(&StepOutcome {
            initial_capital: 1e6,
            capital_before: 1e6,
            capital_after: 1e6 + 1000.0,
            ..outcome()
        });
        assert!((small.total() - big.total()).abs() < 1e-12);
    }
}
