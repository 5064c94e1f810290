//! Evaluation: a policy and three baselines (HOLD, random valid actions, the Hummingbot-style
//! rule of the field notes' section 2) run through the engine's environment over one window, one
//! episode from its first hour to its last, and the figures a desk reads off such a run.

use anyhow::{Context, Result};
use arbpolicy_core::opportunity::funding_difference_8h;
use arbpolicy_core::policy::{Policy, choice};
use arbpolicy_core::risk::ExitReason;
use arbpolicy_core::{
    Action, EnvParams, Environment, Market, Observation, OpportunitySlot, Position, PositionSlot, SizeTier,
    TradingConfig,
};
use rand::SeedableRng;
use rand::seq::IteratorRandom;
use rand_pcg::Pcg64Mcg;

pub use arbpolicy_core::opportunity::HOURS_PER_YEAR;

/// What every fill costs a book: the fee per side and the slippage, fractions of a leg's notional
/// (the environment refuses either outside `[0, 0.01]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    /// Taker fee per side and leg (the configurations' `fee_rate`).
    pub fee_rate: f64,
    /// Slippage per leg at every fill ([`EnvParams::slippage`]).
    pub slippage: f64,
}

impl Default for Costs {
    /// The default fee and slippage.
    fn default() -> Self {
        Costs {
            fee_rate: arbpolicy_core::config::DEFAULT_FEE_RATE,
            slippage: arbpolicy_core::environment::DEFAULT_SLIPPAGE,
        }
    }
}

/// Something that chooses an action at every hour of the environment.
pub trait Agent<M: Market> {
    /// Its name in reports.
    fn name(&self) -> &str;
    /// The action at the environment's current hour, whose observation is `observation`.
    fn act(&mut self, env: &Environment<M>, observation: &Observation) -> Result<Action>;
}

/// A policy (a model file's session, or a network) acting greedily: the most probable allowed
/// action.
pub struct Greedy<P> {
    /// The policy.
    pub policy: P,
    /// Its name in reports.
    pub name: String,
}

impl<M: Market, P: Policy> Agent<M> for Greedy<P> {
    fn name(&self) -> &str {
        &self.name
    }

    fn act(&mut self, env: &Environment<M>, observation: &Observation) -> Result<Action> {
        let mask = env.mask();
        let out =
            self.policy.evaluate(observation, mask).map_err(|_| anyhow::anyhow!("the policy failed"))?;
        let p = choice::probabilities(&out.logits, mask).context("the policy's outputs are not finite")?;
        Ok(Action::from_index(choice::greedy(&p, mask))?)
    }
}

/// Never trades.
pub struct Hold;

impl<M: Market> Agent<M> for Hold {
    fn name(&self) -> &str {
        "HOLD"
    }

    fn act(&mut self, _: &Environment<M>, _: &Observation) -> Result<Action> {
        Ok(Action::Hold)
    }
}

/// An allowed action drawn uniformly at every hour.
pub struct RandomValid(pub Pcg64Mcg);

impl RandomValid {
    /// Seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        RandomValid(Pcg64Mcg::seed_from_u64(seed))
    }
}

impl<M: Market> Agent<M> for RandomValid {
    fn name(&self) -> &str {
        "random"
    }

    fn act(&mut self, env: &Environment<M>, _: &Observation) -> Result<Action> {
        let index = env.mask().iter().choose(&mut self.0).unwrap_or(0);
        Ok(Action::from_index(index)?)
    }
}

/// The Hummingbot-style rule (`v2_funding_rate_arb`): enter the shown opportunity with the largest
/// daily funding difference when it is at least `entry`, one position per coin; exit a position
/// when its net P&L exceeds `take_profit` of its notional or its current daily difference falls
/// below `stop`. In the engine's action space it takes one action an hour (exits first) and
/// enters at the largest size tier the masks allow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Entry threshold, fraction per day (0.001 = 0.1 %/day).
    pub entry: f64,
    /// Take-profit, fraction of one leg's notional.
    pub take_profit: f64,
    /// Stop on the daily difference in the position's direction, fraction per day.
    pub stop: f64,
}

impl Default for Rule {
    fn default() -> Self {
        Rule { entry: 0.001, take_profit: 0.01, stop: -0.001 }
    }
}

/// A long/short pair's funding difference per day, fraction of one leg's notional.
fn daily_difference(long: (f64, f64), short: (f64, f64)) -> f64 {
    funding_difference_8h(long, short) * 3.0
}

impl<M: Market> Agent<M> for Rule {
    fn name(&self) -> &str {
        "rule"
    }

    fn act(&mut self, env: &Environment<M>, _: &Observation) -> Result<Action> {
        let (portfolio, mask) = (env.portfolio(), env.mask());
        for (slot, p) in PositionSlot::ALL.into_iter().zip(&portfolio.positions) {
            let Some(p) = p else { continue };
            let now = daily_difference(
                (p.long.funding_rate, p.long.interval_hours),
                (p.short.funding_rate, p.short.interval_hours),
            );
            let exit = Action::Exit { slot };
            if (p.net_pnl() > self.take_profit * p.size_usd || now < self.stop) && mask.allows_action(exit) {
                return Ok(exit);
            }
        }
        let opportunities = env.market().opportunities(env.t());
        let slots = env.selection().slots(opportunities);
        let best = OpportunitySlot::ALL
            .into_iter()
            .zip(slots.iter())
            .filter_map(|(slot, o)| o.map(|o| (slot, o)))
            .filter(|(_, o)| !portfolio.active().any(|(_, p)| p.coin == o.coin))
            .map(|(slot, o)| {
                let d = daily_difference(
                    (o.long.funding_rate, o.long.interval_hours),
                    (o.short.funding_rate, o.short.interval_hours),
                );
                (slot, d)
            })
            .filter(|&(_, d)| d >= self.entry)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((slot, _)) = best {
            for size in SizeTier::ALL.iter().rev() {
                let enter = Action::Enter { slot, size: *size };
                if mask.allows_action(enter) {
                    return Ok(enter);
                }
            }
        }
        Ok(Action::Hold)
    }
}

/// A closed trade as the evaluation counts it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    /// The position as it stood when closed (marked to the exit prices, its funding and fees in).
    pub position: Position,
    /// The hour it closed (hours since the epoch).
    pub closed_at: i64,
    /// Fees paid on the way out, USD.
    pub exit_fees: f64,
    /// Net P&L (price, funding, both legs' fees in and out; a liquidated leg's lost margin), USD.
    pub net_pnl: f64,
    /// Why it closed (`None`: still open at the window's end, closed there with its fees).
    pub reason: Option<ExitReason>,
}

impl Trade {
    /// Hours between entry and exit.
    pub fn hours(&self) -> f64 {
        self.position.hours_held(self.closed_at)
    }
}

/// What happened over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The agent's name.
    pub agent: String,
    /// The configuration's name.
    pub config: String,
    /// Capital at the start and after every hour, USD, one value per hour of the window (the last
    /// step's includes the exit fees of the positions still open, as if closed at its prices; a
    /// book the environment stopped early stays flat from there).
    pub equity: Vec<f64>,
    /// Funding received minus paid, USD.
    pub funding: f64,
    /// Price P&L of both legs, USD.
    pub price: f64,
    /// Fees paid, USD.
    pub fees: f64,
    /// Entries filled.
    pub entries: usize,
    /// Closed trades.
    pub trades: Vec<Trade>,
    /// Positions liquidated.
    pub liquidations: usize,
    /// Mean share of capital posted as margin, over the hours.
    pub utilization: f64,
    /// HOLD, ENTER and EXIT decisions.
    pub actions: [usize; 3],
    /// The hour (from 0) at which the environment ended the episode early, if it did.
    pub stopped_at: Option<usize>,
}

/// Run `agent` with `config` through `market`'s whole span, starting with `capital`, every fill
/// paying `costs` (its fee replaces the configuration's).
pub fn run<M: Market, A: Agent<M> + ?Sized>(
    market: M,
    agent: &mut A,
    config: (&str, TradingConfig),
    capital: f64,
    costs: Costs,
) -> Result<Run> {
    let hours = market.hours();
    anyhow::ensure!(hours >= 2, "the window holds {hours} hours, at least 2 are needed");
    let params = EnvParams {
        episode_hours: hours - 1,
        initial_capital: capital,
        slippage: costs.slippage,
        ..EnvParams::default()
    };
    let mut env = Environment::new(market, params)?;
    let (mut observation, _) = env.reset_at(0, TradingConfig { fee_rate: costs.fee_rate, ..config.1 })?;
    let mut r = Run {
        agent: agent.name().to_string(),
        config: config.0.to_string(),
        equity: vec![capital],
        funding: 0.0,
        price: 0.0,
        fees: 0.0,
        entries: 0,
        trades: Vec::new(),
        liquidations: 0,
        utilization: 0.0,
        actions: [0; 3],
        stopped_at: None,
    };
    let mut utilization = 0.0;
    while !env.is_done() {
        let action = agent.act(&env, &observation)?;
        r.actions[action.kind()] += 1;
        let step = env.step(action)?;
        let info = &step.info;
        r.funding += info.funding;
        r.price += info.price_pnl;
        r.fees += info.fees;
        r.entries += usize::from(info.entered.is_some());
        for closed in info.closed.iter().flatten() {
            r.liquidations += usize::from(closed.reason == ExitReason::Liquidated);
            r.trades.push(Trade {
                position: closed.position,
                closed_at: info.hour,
                exit_fees: closed.exit_fees,
                net_pnl: closed.net_pnl,
                reason: Some(closed.reason),
            });
        }
        if step.terminated {
            r.stopped_at = Some(r.equity.len() - 1);
        }
        r.equity.push(info.capital);
        observation = step.observation;
        utilization += env.portfolio().capital_utilization();
    }
    // Positions still open are closed at the last prices, paying their exit fees.
    let (cost_rate, now) = (env.cost_rate(), env.market().timestamp(env.t()));
    let mut closing = 0.0;
    for (_, p) in env.portfolio().active() {
        let exit_fees = p.exit_fees(cost_rate);
        closing += exit_fees;
        let net_pnl = p.net_pnl() - exit_fees;
        r.trades.push(Trade { position: *p, closed_at: now, exit_fees, net_pnl, reason: None });
    }
    r.fees += closing;
    let last = r.equity.last_mut().expect("the starting capital");
    *last -= closing;
    let last = *last;
    r.utilization = utilization / (r.equity.len() - 1) as f64;
    // A book the environment stopped stays flat to the window's end.
    r.equity.resize(hours, last);
    Ok(r)
}

/// The figures of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Total return, fraction.
    pub total_return: f64,
    /// Annualised return, fraction.
    pub annual_return: f64,
    /// Sharpe ratio of hourly returns, annualised by sqrt(8760); NaN when returns never vary.
    pub sharpe: f64,
    /// Sortino ratio (downside deviation), annualised by sqrt(8760); NaN without a losing hour.
    pub sortino: f64,
    /// Largest fall from a peak of equity, fraction of the peak.
    pub max_drawdown: f64,
    /// Annualised return over the maximum drawdown; NaN without a drawdown.
    pub calmar: f64,
    /// Entries per day.
    pub trades_per_day: f64,
    /// Share of closed trades with a positive net P&L; NaN without trades.
    pub win_rate: f64,
    /// Net P&L of the winning trades over that of the losing ones; NaN without a losing trade.
    pub profit_factor: f64,
    /// Mean hours a trade was held; NaN without trades.
    pub holding_hours: f64,
    /// Fees paid, USD.
    pub fees: f64,
    /// Funding, USD.
    pub funding: f64,
    /// Price P&L, USD.
    pub price: f64,
    /// Liquidations.
    pub liquidations: usize,
    /// Mean share of capital posted as margin.
    pub utilization: f64,
    /// Shares of HOLD, ENTER and EXIT decisions.
    pub action_mix: [f64; 3],
}

impl Metrics {
    /// The figures of `run`.
    pub fn of(run: &Run) -> Self {
        let e = &run.equity;
        let hours = (e.len() - 1) as f64;
        let returns = hourly_returns(e);
        let (mean, std) = crate::statistics::mean_std(&returns);
        let downside =
            (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / returns.len() as f64).sqrt();
        let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
        let total_return = e[e.len() - 1] / e[0] - 1.0;
        let annual_return = (1.0 + total_return).powf(HOURS_PER_YEAR / hours) - 1.0;
        let mut peak = e[0];
        let mut max_drawdown = 0.0f64;
        for &v in e {
            peak = peak.max(v);
            max_drawdown = max_drawdown.max(1.0 - v / peak);
        }
        let trades = run.trades.len() as f64;
        let per_trade = |f: &dyn Fn(&Trade) -> f64| {
            if trades > 0.0 { run.trades.iter().map(f).sum::<f64>() / trades } else { f64::NAN }
        };
        let decisions = run.actions.iter().sum::<usize>().max(1) as f64;
        let won: f64 = run.trades.iter().map(|t| t.net_pnl.max(0.0)).sum();
        let lost: f64 = run.trades.iter().map(|t| (-t.net_pnl).max(0.0)).sum();
        Metrics {
            total_return,
            annual_return,
            sharpe: ratio(mean, std) * HOURS_PER_YEAR.sqrt(),
            sortino: ratio(mean, downside) * HOURS_PER_YEAR.sqrt(),
            max_drawdown,
            calmar: ratio(annual_return, max_drawdown),
            trades_per_day: run.entries as f64 / (hours / 24.0),
            win_rate: per_trade(&|t| f64::from(u8::from(t.net_pnl > 0.0))),
            profit_factor: ratio(won, lost),
            holding_hours: per_trade(&|t| t.hours()),
            fees: run.fees,
            funding: run.funding,
            price: run.price,
            liquidations: run.liquidations,
            utilization: run.utilization,
            action_mix: run.actions.map(|k| k as f64 / decisions),
        }
    }
}

/// Hourly returns of an equity curve.
pub fn hourly_returns(equity: &[f64]) -> Vec<f64> {
    equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// The p-value of "`a` earns no more than `b` an hour" from a circular block bootstrap of the
/// hourly differences `a - b` (blocks of `block` hours, `resamples` draws from `seed`): the share
/// of resampled mean differences, centred on zero, at least as large as the observed one (with the
/// observed counted once, so never 0). 1 when the two never differ.
pub fn block_bootstrap_p(a: &[f64], b: &[f64], block: usize, resamples: usize, seed: u64) -> f64 {
    use rand::Rng;
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    if n == 0 || d.iter().all(|&x| x == 0.0) {
        return 1.0;
    }
    let mean = d.iter().sum::<f64>() / n as f64;
    let centred: Vec<f64> = d.iter().map(|x| x - mean).collect();
    let block = block.clamp(1, n);
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut above = 0usize;
    for _ in 0..resamples {
        let (mut sum, mut taken) = (0.0, 0);
        while taken < n {
            let start = rng.random_range(0..n);
            for k in 0..block.min(n - taken) {
                sum += centred[(start + k) % n];
            }
            taken += block.min(n - taken);
        }
        above += usize::from(sum / n as f64 >= mean);
    }
    (1 + above) as f64 / (1 + resamples) as f64
}

/// Several runs of one agent (one per configuration, each on its own capital) as one book:
/// equity summed hour by hour, counts and P&L added.
pub fn pooled(runs: &[Run]) -> Run {
    let mut all = runs[0].clone();
    all.config = "overall".into();
    let n = runs.len() as f64;
    all.utilization = runs.iter().map(|r| r.utilization).sum::<f64>() / n;
    for r in &runs[1..] {
        for (a, b) in all.equity.iter_mut().zip(&r.equity) {
            *a += b;
        }
        all.funding += r.funding;
        all.price += r.price;
        all.fees += r.fees;
        all.entries += r.entries;
        all.trades.extend_from_slice(&r.trades);
        all.liquidations += r.liquidations;
        for (a, b) in all.actions.iter_mut().zip(r.actions) {
            *a += b;
        }
        all.stopped_at = all.stopped_at.or(r.stopped_at);
    }
    all
}

/// The configurations an evaluation runs: the engine's three presets.
pub fn representative_configs() -> [(&'static str, TradingConfig); 3] {
    [
        ("conservative", TradingConfig::conservative()),
        ("balanced", TradingConfig::balanced()),
        ("aggressive", TradingConfig::aggressive()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::market::{MemoryMarket, SyntheticMarket, SyntheticParams};

    fn market() -> MemoryMarket {
        SyntheticMarket::generate(11, &SyntheticParams { hours: 24 * 30, ..SyntheticParams::default() })
    }

    #[test]
    fn hold_earns_nothing_and_pays_nothing() {
        let r = run(market(), &mut Hold, ("balanced", TradingConfig::balanced()), 10_000.0, Costs::default())
            .unwrap();
        let m = Metrics::of(&r);
        assert_eq!(r.equity.len(), 24 * 30);
        assert!(r.equity.iter().all(|&e| e == 10_000.0));
        assert_eq!((m.total_return, m.fees, m.max_drawdown, r.entries), (0.0, 0.0, 0.0, 0));
        assert!(m.sharpe.is_nan() && m.win_rate.is_nan());
        assert_eq!(m.action_mix, [1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_run_accounts_for_every_dollar() {
        let m = market();
        for agent in [&mut RandomValid::new(3) as &mut dyn Agent<&MemoryMarket>, &mut Rule::default()] {
            for config in representative_configs() {
                let r = run(&m, agent, config, 10_000.0, Costs::default()).unwrap();
                let change = r.equity.last().unwrap() - r.equity[0];
                assert!((change - (r.funding + r.price - r.fees)).abs() < 1e-6, "{}: {change}", r.agent);
                let traded: f64 = r.trades.iter().map(|t| t.net_pnl).sum();
                assert!((change - traded).abs() < 1e-6, "{}: every dollar is some trade's", r.agent);
                assert!(r.entries > 0, "{} never traded", r.agent);
            }
        }
    }

    #[test]
    fn a_book_stopped_early_stays_flat_to_the_windows_end() {
        let m = market();
        let config = TradingConfig { episode_drawdown_stop: 0.005, ..TradingConfig::aggressive() };
        let r = run(&m, &mut RandomValid::new(1), ("tight", config), 10_000.0, Costs::default()).unwrap();
        let stop = r.stopped_at.expect("random trading loses 0.5 % within the window");
        assert_eq!(r.equity.len(), m.hours());
        assert!(r.equity[stop + 1..].iter().all(|&e| e == r.equity[stop + 1]));
        let change = r.equity.last().unwrap() - r.equity[0];
        assert!((change - (r.funding + r.price - r.fees)).abs() < 1e-6);
    }

    #[test]
    fn the_rule_enters_only_above_its_threshold_and_one_position_per_coin() {
        let m = market();
        let mut env =
            Environment::new(&m, EnvParams { episode_hours: 24 * 30 - 1, ..EnvParams::default() }).unwrap();
        let (mut obs, _) = env.reset_at(0, TradingConfig::aggressive()).unwrap();
        let mut rule = Rule::default();
        let mut entered = 0;
        while !env.is_done() {
            let action = rule.act(&env, &obs).unwrap();
            if let Action::Enter { slot, .. } = action {
                let o = env.selection().slots(m.opportunities(env.t())).get(slot.index()).unwrap();
                let d = daily_difference(
                    (o.long.funding_rate, o.long.interval_hours),
                    (o.short.funding_rate, o.short.interval_hours),
                );
                assert!(d >= rule.entry);
                assert!(!env.portfolio().active().any(|(_, p)| p.coin == o.coin));
                entered += 1;
            }
            obs = env.step(action).unwrap().observation;
        }
        assert!(entered > 0);
    }

    #[test]
    fn metrics_by_hand() {
        let o = market().opportunities(0)[0];
        let trade = |hours: i64, net_pnl: f64| Trade {
            position: Position::open(&o, 100.0, 1.0, 0.001, 10),
            closed_at: 10 + hours,
            exit_fees: 0.0,
            net_pnl,
            reason: None,
        };
        let r = Run {
            agent: "x".into(),
            config: "c".into(),
            equity: vec![100.0, 110.0, 99.0, 108.9],
            funding: 0.0,
            price: 8.9,
            fees: 0.0,
            entries: 2,
            trades: vec![trade(2, 1.0), trade(4, -1.0)],
            liquidations: 0,
            utilization: 0.5,
            actions: [1, 1, 1],
            stopped_at: None,
        };
        let m = Metrics::of(&r);
        assert!((m.total_return - 0.089).abs() < 1e-12);
        assert!((m.max_drawdown - 0.1).abs() < 1e-12);
        // Hourly returns +10 %, -10 %, +10 %.
        let (mean, std) = (0.1 / 3.0, (((0.2f64 / 3.0).powi(2) * 2.0 + (0.4f64 / 3.0).powi(2)) / 3.0).sqrt());
        assert!((m.sharpe - mean / std * HOURS_PER_YEAR.sqrt()).abs() < 1e-9);
        assert!((m.sortino - mean / (0.01f64 / 3.0).sqrt() * HOURS_PER_YEAR.sqrt()).abs() < 1e-9);
        assert_eq!((m.win_rate, m.holding_hours, m.trades_per_day), (0.5, 3.0, 16.0));
        assert_eq!(m.profit_factor, 1.0);
    }

    #[test]
    fn the_block_bootstrap_finds_an_edge_and_no_edge() {
        let noise =
            |k: usize, seed: u64| ((k as f64 * 12.9898 + seed as f64).sin() * 43_758.545).fract() - 0.5;
        let n = 24 * 60;
        let base: Vec<f64> = (0..n).map(|k| 1e-4 * noise(k, 1)).collect();
        // An hourly edge of a fifth of the noise's deviation: clearly significant over 60 days.
        let better: Vec<f64> = base.iter().enumerate().map(|(k, x)| x + 6e-6 + 1e-5 * noise(k, 2)).collect();
        assert!(block_bootstrap_p(&better, &base, 24, 2000, 7) < 0.01);
        // The reverse: nowhere near significant.
        assert!(block_bootstrap_p(&base, &better, 24, 2000, 7) > 0.99);
        // No edge, only noise: somewhere in the middle.
        let other: Vec<f64> = (0..n).map(|k| 1e-4 * noise(k, 3)).collect();
        let p = block_bootstrap_p(&other, &base, 24, 2000, 7);
        assert!((0.05..0.95).contains(&p), "{p}");
        // Never different: 1; the smallest p of 2,000 draws is 1 / 2,001.
        assert_eq!(block_bootstrap_p(&base, &base, 24, 2000, 7), 1.0);
        assert!(block_bootstrap_p(&better, &base, 24, 2000, 7) >= 1.0 / 2001.0);
    }
}
