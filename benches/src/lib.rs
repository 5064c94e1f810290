//! Shared fixtures of the benchmarks.

use arbpolicy_core::market::{MemoryMarket, SyntheticMarket, SyntheticParams};
use arbpolicy_core::{Action, ActionMask, Opportunity, Portfolio, Position, TradingConfig};

/// A synthetic market of `hours` hours and 6 coins on 3 venues (18 opportunities and 18 quotes an
/// hour).
pub fn market(hours: usize) -> MemoryMarket {
    SyntheticMarket::generate(7, &SyntheticParams { hours, coins: 6, ..Default::default() })
}

/// A busy decision state: the balanced preset with three open positions, and `n` opportunities.
pub fn busy_state(n: usize) -> (TradingConfig, Portfolio, Vec<Opportunity>) {
    let m = market(100);
    let mut opportunities: Vec<Opportunity> = Vec::new();
    let mut t = 99;
    while opportunities.len() < n {
        opportunities.extend_from_slice(&m.snapshots()[t].opportunities);
        t -= 1;
    }
    opportunities.truncate(n);
    let config = TradingConfig::balanced();
    let mut book = Portfolio::new(10_000.0);
    let hour = &m.snapshots()[50];
    for (slot, o) in hour.opportunities.iter().step_by(4).take(3).enumerate() {
        book.positions[slot] = Some(Position::open(o, 400.0, 2.0, config.fee_rate, hour.timestamp));
    }
    (config, book, opportunities)
}

/// A cheap deterministic policy for stepping: enter the best slot every 7th hour when allowed, exit
/// the first position every 11th hour, hold otherwise.
pub fn scripted(step: u64, mask: ActionMask) -> Action {
    if step % 11 == 10
        && let Some(i) = mask.iter().find(|&i| i >= 31)
    {
        return Action::from_index(i).expect("mask index");
    }
    if step.is_multiple_of(7)
        && let Some(i) = mask.iter().find(|&i| (1..=30).contains(&i))
    {
        return Action::from_index(i).expect("mask index");
    }
    Action::Hold
}

/// `n` observations an agent meets, from scripted episodes of the synthetic market.
pub fn observations(n: usize) -> Vec<arbpolicy_core::Observation> {
    use arbpolicy_core::environment::{EnvParams, Environment};
    let market = market(24 * 30);
    let mut env = Environment::new(&market, EnvParams::default()).expect("environment");
    let (first, mut mask) = env.reset(0, TradingConfig::balanced()).expect("reset");
    let mut out = vec![first];
    let (mut step, mut seed) = (0u64, 0u64);
    while out.len() < n {
        let s = env.step(scripted(step, mask)).expect("step");
        out.push(s.observation);
        mask = s.mask;
        step += 1;
        if s.terminated || s.truncated {
            seed += 1;
            mask = env.reset(seed, TradingConfig::balanced()).expect("reset").1;
        }
    }
    out
}

/// A scripted agent stepping episodes of `market` (balanced preset, a new random start whenever
/// one ends): each call is one environment step, returning its reward.
pub fn stepper<M: arbpolicy_core::Market>(market: M) -> impl FnMut() -> f64 {
    use arbpolicy_core::environment::{EnvParams, Environment};
    let mut env = Environment::new(market, EnvParams::default()).expect("environment");
    let (mut seed, mut step) = (0u64, 0u64);
    let mut mask = env.reset(seed, TradingConfig::balanced()).expect("reset").1;
    move || {
        let s = env.step(scripted(step, mask)).expect("step");
        let (reward, done) = (s.reward, s.terminated || s.truncated);
        mask = s.mask;
        step += 1;
        if done {
            seed += 1;
            mask = env.reset(seed, TradingConfig::balanced()).expect("reset").1;
        }
        reward
    }
}
