//! Property tests of the risk constraints and the accounting (10,000 cases each).

use arbpolicy_core::environment::{EnvParams, Environment};
use arbpolicy_core::market::{Market, MemoryMarket, SyntheticMarket, SyntheticParams};
use arbpolicy_core::mask;
use arbpolicy_core::selection::{Selection, Slots};
use arbpolicy_core::{
    Action, ActionMask, Leg, MAX_POSITIONS, OPPORTUNITY_SLOTS, Opportunity, Portfolio, Position,
    TradingConfig, margin, name, risk,
};
use proptest::prelude::*;

mod common;
use common::strategies::*;
use rand::{Rng, SeedableRng};

const CASES: u32 = 10_000;

/// Every invariant the mask promises, for any state.
fn check_mask(
    config: &TradingConfig,
    book: &Portfolio,
    slots: &Slots<'_>,
    m: ActionMask,
) -> Result<(), TestCaseError> {
    prop_assert!(m.allows(0), "HOLD must always be allowed");
    for j in 0..MAX_POSITIONS {
        prop_assert_eq!(m.allows(31 + j), book.positions[j].is_some(), "EXIT {} iff active", j);
    }
    let entries: Vec<usize> = m.iter().filter(|&i| (1..=30).contains(&i)).collect();
    if entries.is_empty() {
        return Ok(());
    }
    prop_assert!(config.validate().is_ok() && book.validate().is_ok());
    prop_assert!(book.active_count() < usize::from(config.max_positions), "ENTER at max positions");
    prop_assert!(!risk::entries_halted(config, book), "ENTER during a halt");
    for i in entries {
        let Action::Enter { slot, size } = Action::from_index(i).unwrap() else { unreachable!() };
        let o = slots.get(slot.index()).expect("ENTER of an empty slot");
        prop_assert!(o.validate().is_ok());
        let plan = mask::plan_entry(config, book, o, size).expect("an allowed ENTER has a plan");
        prop_assert!(plan.size_usd >= config.min_position_usd);
        prop_assert!(plan.leverage <= config.max_leverage);
        let margin = margin::position_margin(plan.size_usd, plan.leverage);
        prop_assert!(margin <= book.available_capital(), "margin above available capital");
        prop_assert!(
            book.margin_used() + margin <= config.max_margin_usage * book.capital,
            "margin above the cap"
        );
        let opened = Position::open(o, plan.size_usd, plan.leverage, config.fee_rate, 0);
        prop_assert!(opened.liquidation_distance() >= config.liquidation_buffer, "entry inside the buffer");
        prop_assert!(!book.holds(o));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn mask_respects_every_risk_limit((config, book, opps) in state()) {
        let slots = Slots::valid_only(core::array::from_fn(|i| opps[i].as_ref()));
        for (i, o) in opps.iter().enumerate() {
            prop_assert_eq!(slots.get(i).is_some(), o.is_some_and(|o| o.validate().is_ok()));
        }
        let m = mask::action_mask(&config, &book, &slots);
        check_mask(&config, &book, &slots, m)?;
    }

    #[test]
    fn episodes_keep_capital_finite_and_accounted(
        seed in any::<u64>(),
        action_seed in any::<u64>(),
        episode_hours in 24usize..169,
        coins in 1usize..5,
        volatility in 0.001f64..0.08,
        jump in 0.0f64..0.5,
        spread in 0.0001f64..0.05,
        spike in 0.0f64..0.02,
        broken in 0.0f64..0.05,
        config in (1.0f64..10.0, 0.05f64..1.0, 1u8..6, -0.05f64..-0.01, 0.1f64..0.3, 0.0f64..0.005, 0.0f64..0.3),
    ) {
        let params = SyntheticParams {
            hours: episode_hours + 1,
            coins,
            price_volatility: volatility,
            jump_probability: 0.02,
            jump_size: jump,
            spread_noise: spread,
            spike_probability: 0.02,
            spike_size: spike,
            ..Default::default()
        };
        let mut hours = SyntheticMarket::generate(seed, &params).into_snapshots();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(action_seed);
        // Break some quotes: NaN, zero and negative prices, absurd rates.
        for hour in &mut hours {
            for q in &mut hour.quotes {
                if rng.random::<f64>() < broken {
                    match rng.random_range(0..4) {
                        0 => q.quote.price = f64::NAN,
                        1 => q.quote.price = 0.0,
                        2 => q.quote.price = -q.quote.price,
                        _ => q.quote.funding_rate = f64::INFINITY,
                    }
                }
            }
        }
        let market = MemoryMarket::new(hours);
        let config = TradingConfig {
            max_leverage: config.0,
            target_utilization: config.1,
            max_positions: config.2,
            stop_loss_threshold: config.3,
            liquidation_buffer: config.4,
            fee_rate: config.5,
            episode_drawdown_stop: 0.2 + config.6,
            ..Default::default()
        };
        let mut env = Environment::new(&market, EnvParams { episode_hours, ..Default::default() }).unwrap();
        let (_, mut mask_now) = env.reset(seed, config).unwrap();
        let mut closed_pnl = 0.0;
        loop {
            let allowed: Vec<usize> = mask_now.iter().collect();
            let enters: Vec<usize> = allowed.iter().copied().filter(|&i| (1..=30).contains(&i)).collect();
            let exits: Vec<usize> = allowed.iter().copied().filter(|&i| i >= 31).collect();
            let roll = rng.random::<f64>();
            let index = if roll < 0.4 && !enters.is_empty() {
                enters[rng.random_range(0..enters.len())]
            } else if roll < 0.45 && !exits.is_empty() {
                exits[rng.random_range(0..exits.len())]
            } else {
                0
            };
            let before = env.portfolio().capital;
            let step = *env.step(Action::from_index(index).unwrap()).unwrap();
            let after = env.portfolio().capital;
            prop_assert!(after.is_finite(), "capital became {}", after);
            let explained = step.info.funding + step.info.price_pnl - step.info.fees;
            prop_assert!(
                ((after - before) - explained).abs() <= 1e-9 * before.abs().max(after.abs()),
                "capital moved {} but funding + price - fees = {}", after - before, explained
            );
            prop_assert!(step.info.fees >= 0.0);
            prop_assert!(step.observation.iter().all(|x| x.is_finite()));
            prop_assert!(step.reward.is_finite());
            closed_pnl += step.info.closed.iter().flatten().map(|c| c.net_pnl).sum::<f64>();
            for (_, p) in env.portfolio().active() {
                prop_assert!(risk::forced_exit(&config, p).is_none(), "a position outside the limits stayed open");
            }
            let opportunities = env.market().opportunities(env.t());
            let slots = Selection::top(opportunities).slots(opportunities);
            prop_assert_eq!(slots, env.selection().slots(opportunities));
            check_mask(&config, env.portfolio(), &slots, step.mask)?;
            mask_now = step.mask;
            if step.terminated || step.truncated {
                break;
            }
        }
        // The book reconciles trade by trade: initial capital + closed trades + open positions.
        let open: f64 = env.portfolio().active().map(|(_, p)| p.net_pnl()).sum();
        let capital = env.portfolio().capital;
        prop_assert!(
            (10_000.0 + closed_pnl + open - capital).abs() <= 1e-9 * capital.abs().max(10_000.0),
            "ledger {} vs capital {}", 10_000.0 + closed_pnl + open, capital
        );
    }
}

#[test]
fn the_mask_property_could_fail() {
    // A mask that allows an entry at max positions is caught by the checker.
    let config = TradingConfig { max_positions: 1, ..Default::default() };
    let o = Opportunity {
        coin: name("BTC").unwrap(),
        long: Leg { venue: name("binance").unwrap(), price: 100.0, funding_rate: 0.0, interval_hours: 8.0 },
        short: Leg { venue: name("bybit").unwrap(), price: 100.0, funding_rate: 0.0001, interval_hours: 8.0 },
        profit_8h_24h_avg: 0.0001,
        profit_8h_3d_avg: 0.0001,
        spread_30_avg_pct: 0.0,
        spread_24h_avg_pct: 0.0,
        spread_3d_avg_pct: 0.0,
        spread_std_pct: 0.0,
        volume_24h_usd: 1e7,
        bid_ask_spread_pct: 0.01,
        orderbook_depth_usd: 1e5,
    };
    let mut book = Portfolio::new(10_000.0);
    let mut held = Position::open(&o, 100.0, 1.0, 0.001, 0);
    held.coin = name("ETH").unwrap();
    book.positions[0] = Some(held);
    let mut slots = [None; OPPORTUNITY_SLOTS];
    slots[0] = Some(&o);
    let slots = Slots::new(slots).unwrap();
    let honest = mask::action_mask(&config, &book, &slots);
    assert!(check_mask(&config, &book, &slots, honest).is_ok());
    let mut forged = honest;
    forged.set(1, true);
    assert!(check_mask(&config, &book, &slots, forged).is_err());
}

/// The random episodes above reach every kind of exit, so their invariants are exercised.
#[test]
fn random_episodes_reach_liquidations_stops_and_buffer_exits() {
    use arbpolicy_core::risk::ExitReason;
    let mut counts = [0usize; 4];
    let mut entries = 0;
    for seed in 0..200u64 {
        let params = SyntheticParams {
            hours: 169,
            coins: 3,
            price_volatility: 0.02,
            jump_probability: 0.02,
            jump_size: 0.3,
            spread_noise: 0.01,
            spike_probability: 0.02,
            spike_size: 0.01,
            ..Default::default()
        };
        let market = SyntheticMarket::generate(seed, &params);
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let config = TradingConfig::sample(&mut rng);
        let mut env = Environment::new(&market, EnvParams::default()).unwrap();
        let (_, mut m) = env.reset(seed, config).unwrap();
        loop {
            let enters: Vec<usize> = m.iter().filter(|&i| (1..=30).contains(&i)).collect();
            let index = if !enters.is_empty() && rng.random::<f64>() < 0.5 { enters[0] } else { 0 };
            let s = env.step(Action::from_index(index).unwrap()).unwrap();
            entries += usize::from(s.info.entered.is_some());
            for (k, r) in [
                ExitReason::Policy,
                ExitReason::StopLoss,
                ExitReason::LiquidationBuffer,
                ExitReason::Liquidated,
            ]
            .into_iter()
            .enumerate()
            {
                counts[k] += s.info.closed_for(r);
            }
            m = s.mask;
            if s.terminated || s.truncated {
                break;
            }
        }
    }
    assert!(entries > 100, "{entries} entries");
    assert!(counts[1] > 10 && counts[2] > 10 && counts[3] > 10, "stop / buffer / liquidated: {counts:?}");
}
