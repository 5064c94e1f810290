//! The 275-feature observation: configuration (5), portfolio (10), five position slots (5 x 12) and
//! ten opportunity slots (10 x 20), in the implementation plan's order; empty slots are zero.
//!
//! Features are raw and documented one by one in `docs/observation.md`; any normalisation belongs to
//! the model. The vector is always finite: non-finite or out-of-range input is an error, never a NaN
//! in the vector.

use crate::action::ActionMask;
use crate::config::TradingConfig;
use crate::error::Error;
use crate::mask;
use crate::portfolio::Portfolio;
use crate::selection::Slots;
use crate::state::ValidState;
use crate::{MAX_POSITIONS, OPPORTUNITY_SLOTS};

/// Length of the observation.
pub const OBSERVATION_LEN: usize = 275;
/// Version of the observation layout; a model trained on another layout is refused.
pub const OBSERVATION_VERSION: u32 = 1;
/// First index of the configuration features.
pub const CONFIG_OFFSET: usize = 0;
/// First index of the portfolio features.
pub const PORTFOLIO_OFFSET: usize = CONFIG_OFFSET + CONFIG_NAMES.len();
/// First index of the position slots.
pub const POSITIONS_OFFSET: usize = PORTFOLIO_OFFSET + PORTFOLIO_NAMES.len();
/// First index of the opportunity slots.
pub const OPPORTUNITIES_OFFSET: usize = POSITIONS_OFFSET + MAX_POSITIONS * POSITION_NAMES.len();

/// The observation vector.
pub type Observation = [f32; OBSERVATION_LEN];

/// Names of the configuration features.
pub const CONFIG_NAMES: [&str; 5] =
    ["max_leverage", "target_utilization", "max_positions", "stop_loss_threshold", "liquidation_buffer"];

/// Names of the portfolio features.
pub const PORTFOLIO_NAMES: [&str; 10] = [
    "capital_ratio",
    "available_ratio",
    "used_margin_ratio",
    "num_positions_ratio",
    "avg_position_pnl_pct",
    "portfolio_total_pnl_pct",
    "max_drawdown_pct",
    "episode_progress",
    "min_liquidation_distance",
    "capital_utilization",
];

/// Names of the features of one position slot.
pub const POSITION_NAMES: [&str; 12] = [
    "is_active",
    "net_pnl_pct",
    "hours_held_norm",
    "net_funding_ratio",
    "net_funding_rate",
    "current_spread_pct",
    "entry_spread_pct",
    "value_to_capital_ratio",
    "funding_efficiency",
    "long_pnl_pct",
    "short_pnl_pct",
    "liquidation_distance",
];

/// Names of the features of one opportunity slot.
pub const OPPORTUNITY_NAMES: [&str; 20] = [
    "is_valid",
    "long_funding_rate",
    "short_funding_rate",
    "long_funding_interval_norm",
    "short_funding_interval_norm",
    "fund_profit_8h",
    "fund_profit_8h_24h_proj",
    "fund_profit_8h_3d_proj",
    "fund_apr",
    "fund_apr_24h_proj",
    "fund_apr_3d_proj",
    "spread_30_sample_avg",
    "price_spread_24h_avg",
    "price_spread_3d_avg",
    "spread_volatility_stddev",
    "volume_24h_log",
    "bid_ask_spread_pct",
    "orderbook_depth_log",
    "estimated_profit_pct",
    "position_cost_pct",
];

const _: () = assert!(OPPORTUNITIES_OFFSET + OPPORTUNITY_SLOTS * OPPORTUNITY_NAMES.len() == OBSERVATION_LEN);

/// Write the observation of this state into `out`. `now` is the current time in hours since the
/// epoch. Validates the configuration and the portfolio first (the slots hold only valid
/// opportunities); on error `out` is left zeroed.
pub fn encode(
    config: &TradingConfig,
    portfolio: &Portfolio,
    slots: &Slots<'_>,
    now: i64,
    out: &mut Observation,
) -> Result<(), Error> {
    let state = ValidState::new(config, portfolio).inspect_err(|_| out.fill(0.0))?;
    encode_valid(state, slots, now, out)
}

/// [`encode`] and [`mask::action_mask`] of one state, validating it once. On error `out` is left
/// zeroed.
pub fn encode_with_mask(
    config: &TradingConfig,
    portfolio: &Portfolio,
    slots: &Slots<'_>,
    now: i64,
    out: &mut Observation,
) -> Result<ActionMask, Error> {
    let state = ValidState::new(config, portfolio).inspect_err(|_| out.fill(0.0))?;
    Ok(encode_allowed(state, slots, now, out)?.mask)
}

/// What the policy is shown in a validated state: its features written into `out` (as
/// [`encode_valid`] writes them), and what the state allows (the mask and the entry plans).
pub fn encode_allowed(
    state: ValidState<'_>,
    slots: &Slots<'_>,
    now: i64,
    out: &mut Observation,
) -> Result<mask::Allowed, Error> {
    encode_valid(state, slots, now, out)?;
    Ok(mask::Allowed::of(state, slots))
}

/// Write the features of a validated state; refuses a result that is not finite (then `out` is
/// left zeroed).
pub fn encode_valid(
    state: ValidState<'_>,
    slots: &Slots<'_>,
    now: i64,
    out: &mut Observation,
) -> Result<(), Error> {
    let (config, portfolio) = (state.config(), state.portfolio());
    out[CONFIG_OFFSET..PORTFOLIO_OFFSET].copy_from_slice(&config.features());
    out[PORTFOLIO_OFFSET..POSITIONS_OFFSET].copy_from_slice(&portfolio.features(config));
    for (slot, chunk) in
        out[POSITIONS_OFFSET..OPPORTUNITIES_OFFSET].chunks_exact_mut(POSITION_NAMES.len()).enumerate()
    {
        match &portfolio.positions[slot] {
            Some(p) => chunk.copy_from_slice(&p.features(now, portfolio.capital)),
            None => chunk.fill(0.0),
        }
    }
    for (slot, chunk) in out[OPPORTUNITIES_OFFSET..].chunks_exact_mut(OPPORTUNITY_NAMES.len()).enumerate() {
        match slots.get(slot) {
            Some(o) => chunk.copy_from_slice(&o.features(config.fee_rate)),
            None => chunk.fill(0.0),
        }
    }
    if !out.iter().fold(true, |ok, x| ok & x.is_finite()) {
        let index = out.iter().position(|x| !x.is_finite()).unwrap_or(0);
        out.fill(0.0);
        return Err(Error::NonFiniteFeature { index });
    }
    Ok(())
}

/// The observation of this state ([`encode`] into a new array).
pub fn observe(
    config: &TradingConfig,
    portfolio: &Portfolio,
    slots: &Slots<'_>,
    now: i64,
) -> Result<Observation, Error> {
    let mut out = [0.0; OBSERVATION_LEN];
    encode(config, portfolio, slots, now, &mut out)?;
    Ok(out)
}

/// The name of feature `index`, e.g. `("position", 2, "net_pnl_pct")`: group, slot (0 for the
/// configuration and portfolio groups) and feature name.
pub fn feature_name(index: usize) -> Option<(&'static str, usize, &'static str)> {
    match index {
        i if i < PORTFOLIO_OFFSET => Some(("config", 0, CONFIG_NAMES[i - CONFIG_OFFSET])),
        i if i < POSITIONS_OFFSET => Some(("portfolio", 0, PORTFOLIO_NAMES[i - PORTFOLIO_OFFSET])),
        i if i < OPPORTUNITIES_OFFSET => {
            let k = i - POSITIONS_OFFSET;
            Some(("position", k / POSITION_NAMES.len(), POSITION_NAMES[k % POSITION_NAMES.len()]))
        }
        i if i < OBSERVATION_LEN => {
            let k = i - OPPORTUNITIES_OFFSET;
            Some(("opportunity", k / OPPORTUNITY_NAMES.len(), OPPORTUNITY_NAMES[k % OPPORTUNITY_NAMES.len()]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::tests::btc;
    use crate::position::tests::btc_position;

    #[test]
    fn layout_and_placement() {
        assert_eq!((PORTFOLIO_OFFSET, POSITIONS_OFFSET, OPPORTUNITIES_OFFSET), (5, 15, 75));
        let config = TradingConfig::balanced();
        let mut book = Portfolio::new(10_000.0);
        book.positions[1] = Some(btc_position());
        let o = btc();
        let mut slots = [None; OPPORTUNITY_SLOTS];
        slots[9] = Some(&o);
        let slots = Slots::new(slots).unwrap();
        let obs = observe(&config, &book, &slots, 130).unwrap();
        assert_eq!(&obs[..5], &config.features());
        assert_eq!(&obs[5..15], &book.features(&config));
        assert!(obs[15..27].iter().all(|&x| x == 0.0));
        assert_eq!(&obs[27..39], &btc_position().features(130, 10_000.0));
        assert!(obs[39..255].iter().all(|&x| x == 0.0));
        assert_eq!(&obs[255..], &o.features(config.fee_rate));
        assert_eq!(feature_name(27), Some(("position", 1, "is_active")));
        assert_eq!(feature_name(255), Some(("opportunity", 9, "is_valid")));
        assert_eq!(feature_name(274), Some(("opportunity", 9, "position_cost_pct")));
        assert_eq!(feature_name(275), None);
    }

    #[test]
    fn non_finite_input_is_an_error_not_a_nan() {
        let config = TradingConfig::default();
        let mut book = Portfolio::new(10_000.0);
        let mut o = btc();
        o.spread_std_pct = f64::NAN;
        let mut slots = [None; OPPORTUNITY_SLOTS];
        slots[0] = Some(&o);
        assert!(Slots::new(slots).is_err());
        let mut p = btc_position();
        p.long.price = f64::INFINITY;
        book.positions[0] = Some(p);
        let mut out = [1.0; OBSERVATION_LEN];
        assert!(encode(&config, &book, &Slots::default(), 0, &mut out).is_err());
        assert!(out.iter().all(|&x| x == 0.0));
        // Finite in f64 but too large for f32.
        let mut huge = Portfolio::new(1e11);
        huge.capital = 1e11;
        huge.initial_capital = 1e-300;
        assert_eq!(observe(&config, &huge, &Slots::default(), 0), Err(Error::NonFiniteFeature { index: 5 }));
    }

    #[test]
    fn docs_list_every_feature() {
        let doc = include_str!("../../docs/observation.md");
        for name in
            CONFIG_NAMES.iter().chain(&PORTFOLIO_NAMES).chain(&POSITION_NAMES).chain(&OPPORTUNITY_NAMES)
        {
            assert!(doc.contains(&std::format!("`{name}`")), "docs/observation.md misses {name}");
        }
    }
}
