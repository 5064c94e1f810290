//! Scenario tests of the environment's accounting, with hand-computed figures.

mod common;

use arbpolicy_core::environment::{EnvParams, Environment};
use arbpolicy_core::reward::RewardParams;
use arbpolicy_core::risk::ExitReason;
use arbpolicy_core::{Action, Error, OpportunitySlot, PositionSlot, SizeTier, TradingConfig};
use common::{Hour, flat, market};

const ENTER_LARGE: Action = Action::Enter { slot: OpportunitySlot::ALL[0], size: SizeTier::Large };

/// The figures below are worked at the plan's 0.1 % fee, without slippage, with the plan's reward.
fn env(hours: &[Hour], episode_hours: usize) -> Environment<arbpolicy_core::market::MemoryMarket> {
    let params =
        EnvParams { episode_hours, slippage: 0.0, reward: RewardParams::plan(), ..Default::default() };
    Environment::new(market(hours), params).unwrap()
}

fn plan() -> TradingConfig {
    TradingConfig { fee_rate: arbpolicy_core::config::PLAN_FEE_RATE, ..Default::default() }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

#[test]
fn funding_accrues_at_each_venues_own_settlements() {
    // Binance (long) settles 0.01 % every 8 h, Hyperliquid (short) 0.002 % every hour, prices flat.
    let hours = flat(12, 50_000.0, 0.0001, 0.00002);
    let mut e = env(&hours, 11);
    let config = plan(); // 1x, 50 %, 3 positions, 0.1 % fee
    e.reset_at(0, config).unwrap();
    // LARGE: 10,000 x 0.5 / 3 x 0.3 = 500 a leg. Fills at t = 1: fees 2 x 0.001 x 500 = 1.
    let s = *e.step(ENTER_LARGE).unwrap();
    assert_eq!(s.info.entered, Some(0));
    assert!(close(s.info.fees, 1.0));
    // Entered at the settlement hour t = 1: that settlement is not received.
    assert_eq!(s.info.funding, 0.0);
    let mut funding = 0.0;
    for t in 1..8 {
        let s = *e.step(Action::Hold).unwrap();
        funding += s.info.funding;
        if t < 7 {
            // Hours 2..7: Hyperliquid only, the short receives 0.002 % of 500 = 0.01.
            assert!(close(s.info.funding, 0.01), "hour {}", t + 1);
        } else {
            // Hour 8: Binance settles too, the long pays 0.01 % of 500 = 0.05.
            assert!(close(s.info.funding, 0.01 - 0.05));
        }
    }
    assert!(close(funding, 7.0 * 0.01 - 0.05));
    let p = e.portfolio().positions[0].unwrap();
    assert!(close(p.funding_received, 0.07) && close(p.funding_paid, 0.05));
    // Exit decided at t = 8 fills at t = 9, a settlement hour: the settlement is still received.
    let s = *e.step(Action::Exit { slot: PositionSlot::ALL[0] }).unwrap();
    assert!(close(s.info.funding, 0.01));
    assert!(close(s.info.fees, 1.0));
    let trade = s.info.closed[0].unwrap();
    assert_eq!(trade.reason, ExitReason::Policy);
    assert!(close(trade.net_pnl, 0.08 - 0.05 - 2.0));
    assert!(close(e.portfolio().capital, 10_000.0 + 0.08 - 0.05 - 2.0));
    assert!(e.portfolio().positions.iter().all(Option::is_none));
}

#[test]
fn orders_fill_at_the_next_hours_prices() {
    let mut hours = flat(6, 50_000.0, 0.0, 0.0);
    hours[1] = Hour { long_price: 50_100.0, short_price: 50_200.0, ..hours[1] };
    hours[2] = Hour { long_price: 51_000.0, short_price: 51_000.0, ..hours[2] };
    hours[3] = Hour { long_price: 49_000.0, short_price: 49_500.0, ..hours[3] };
    let mut e = env(&hours, 5);
    e.reset_at(0, plan()).unwrap();
    let s = *e.step(ENTER_LARGE).unwrap();
    let p = e.portfolio().positions[0].unwrap();
    assert_eq!((p.long.entry_price, p.short.entry_price), (50_100.0, 50_200.0));
    assert!(close(p.entry_spread_pct, 100.0 / 50_150.0 * 100.0));
    assert!(close(s.info.fees, 1.0));
    assert_eq!(s.info.price_pnl, 0.0);
    // Marked at t = 2: long +900 x 500/50,100, short -800 x 500/50,200.
    let s = *e.step(Action::Hold).unwrap();
    let expected = 900.0 * 500.0 / 50_100.0 - 800.0 * 500.0 / 50_200.0;
    assert!(close(s.info.price_pnl, expected));
    // The exit decided at t = 2 (prices 51,000) fills at t = 3 (49,000 / 49,500).
    let s = *e.step(Action::Exit { slot: PositionSlot::ALL[0] }).unwrap();
    let exit_fees = 0.001 * (500.0 / 50_100.0 * 49_000.0 + 500.0 / 50_200.0 * 49_500.0);
    assert!(close(s.info.fees, exit_fees));
    let price_total = -1100.0 * 500.0 / 50_100.0 + 700.0 * 500.0 / 50_200.0;
    assert!(close(e.portfolio().capital, 10_000.0 + price_total - 1.0 - exit_fees));
}

#[test]
fn a_leg_beyond_its_liquidation_price_loses_its_margin() {
    // 5x, 10 % buffer: leverage 5, liquidation 18 % away. The short venue jumps 25 % in one hour.
    let mut hours = flat(6, 50_000.0, 0.0, 0.0);
    for h in hours.iter_mut().skip(2) {
        h.long_price = 62_500.0;
        h.short_price = 62_500.0;
    }
    let config = TradingConfig { max_leverage: 5.0, liquidation_buffer: 0.1, ..plan() };
    let mut e = env(&hours, 5);
    e.reset_at(0, config).unwrap();
    e.step(ENTER_LARGE).unwrap();
    let p = e.portfolio().positions[0].unwrap();
    assert_eq!(p.leverage, 5.0);
    assert!(close(p.margin(), 200.0));
    let s = *e.step(Action::Hold).unwrap();
    let trade = s.info.closed[0].unwrap();
    assert_eq!(trade.reason, ExitReason::Liquidated);
    // Short loses its margin 100; long gains 0.01 coin x 12,500 = 125 and is sold with a fee.
    assert!(close(s.info.price_pnl, 125.0 - 100.0));
    assert!(close(s.info.fees, 0.001 * 625.0));
    assert!(close(trade.net_pnl, 125.0 - 100.0 - 1.0 - 0.625));
    assert!(close(e.portfolio().capital, 10_000.0 + 25.0 - 1.625));
    // The proximity penalty does not fire without positions; the P&L reward does.
    assert_eq!(s.info.reward.liquidation, 0.0);
    assert!(close(s.info.reward.pnl, (25.0 - 0.625) / 10_000.0 * 100.0 * 3.0));
}

#[test]
fn stop_loss_closes_and_is_penalised() {
    let mut hours = flat(6, 50_000.0, 0.0, 0.0);
    for h in hours.iter_mut().skip(2) {
        h.long_price = 48_500.0; // long -3 %, short flat: net -3.2 % < -2 %
    }
    let mut e = env(&hours, 5);
    e.reset_at(0, plan()).unwrap();
    let s = *e.step(ENTER_LARGE).unwrap();
    assert!(close(s.reward, -(0.0 + 1.0) / 10_000.0 * 100.0 * 3.0 - 0.6));
    let s = *e.step(Action::Hold).unwrap();
    let trade = s.info.closed[0].unwrap();
    assert_eq!(trade.reason, ExitReason::StopLoss);
    assert_eq!(s.info.reward.stop_loss, -2.0);
    assert!(!s.mask.allows(31));
    assert!(close(trade.net_pnl, -15.0 - 1.0 - 0.001 * (485.0 + 500.0)));
}

/// One big position (3,000 a leg at 9x) in a market where, at hour 3, the short pays a 20 % funding
/// shock: a 6 % loss of capital in one hour.
fn funding_shock(config: TradingConfig) -> Environment<arbpolicy_core::market::MemoryMarket> {
    let mut hours = flat(30, 50_000.0, 0.0, 0.0);
    hours[3].short_rate = -0.2;
    let config = TradingConfig {
        max_leverage: 10.0,
        target_utilization: 1.0,
        max_positions: 1,
        stop_loss_threshold: -0.05,
        liquidation_buffer: 0.1,
        ..config
    };
    let mut e = env(&hours, 29);
    e.reset_at(0, config).unwrap();
    e
}

#[test]
fn a_daily_loss_halts_entries_until_the_next_utc_day() {
    let mut e = funding_shock(plan());
    e.step(ENTER_LARGE).unwrap(); // 3,000 a leg
    e.step(Action::Hold).unwrap();
    let s = *e.step(Action::Hold).unwrap();
    assert!(close(s.info.funding, -600.0));
    assert_eq!(s.info.closed[0].unwrap().reason, ExitReason::StopLoss);
    assert!(e.portfolio().entries_halted);
    assert_eq!(s.mask.count(), 1, "only HOLD while halted");
    assert!(matches!(e.step(ENTER_LARGE), Err(Error::ActionNotAllowed { .. })));
    for _ in 3..23 {
        assert_eq!(e.step(Action::Hold).unwrap().mask.count(), 1);
    }
    // Hour 24 starts a new UTC day: the halt lifts.
    let s = *e.step(Action::Hold).unwrap();
    assert_eq!(s.info.hour % 24, 0);
    assert!(!e.portfolio().entries_halted);
    assert!(s.mask.count() > 1);
    assert!(close(e.portfolio().day_start_capital, e.portfolio().capital));
}

#[test]
fn drawdown_stop_terminates_and_length_truncates() {
    let mut e = funding_shock(TradingConfig { episode_drawdown_stop: 0.05, ..plan() });
    e.step(ENTER_LARGE).unwrap();
    assert!(!e.step(Action::Hold).unwrap().terminated);
    let s = *e.step(Action::Hold).unwrap();
    assert!(s.terminated && !s.truncated);
    assert_eq!(e.step(Action::Hold), Err(Error::EpisodeOver));

    let mut e = env(&flat(10, 100.0, 0.0, 0.0), 4);
    e.reset_at(2, plan()).unwrap();
    for i in 0..4 {
        let s = *e.step(Action::Hold).unwrap();
        assert_eq!(s.truncated, i == 3);
        assert!(!s.terminated);
    }
    assert!(e.is_done());
}

#[test]
fn masked_actions_and_bad_setups_are_errors() {
    let hours = flat(10, 100.0, 0.0, 0.0);
    assert!(matches!(
        Environment::new(market(&hours), EnvParams { episode_hours: 10, ..Default::default() }),
        Err(Error::MarketTooShort { hours: 10, needed: 11 })
    ));
    assert!(
        Environment::new(market(&hours), EnvParams { initial_capital: f64::NAN, ..Default::default() })
            .is_err()
    );
    let mut e = env(&hours, 5);
    assert_eq!(e.step(Action::Hold), Err(Error::EpisodeOver));
    assert!(e.reset_at(0, TradingConfig { max_positions: 9, ..plan() }).is_err());
    let (_, mask) = e.reset_at(0, plan()).unwrap();
    assert!(!mask.allows(31));
    assert_eq!(
        e.step(Action::Exit { slot: PositionSlot::ALL[0] }),
        Err(Error::ActionNotAllowed { index: 31 })
    );
    // Slot 1 is empty (one opportunity per hour).
    assert!(e.step(Action::Enter { slot: OpportunitySlot::ALL[1], size: SizeTier::Small }).is_err());
    assert!(e.step(Action::Enter { slot: OpportunitySlot::ALL[0], size: SizeTier::Small }).is_ok());
}

#[test]
fn a_broken_quote_leaves_the_leg_at_its_last_price() {
    let mut hours = flat(6, 50_000.0, 0.0, 0.0);
    hours[2].short_price = f64::NAN;
    hours[3].short_price = -5.0;
    let mut e = env(&hours, 5);
    e.reset_at(0, plan()).unwrap();
    e.step(ENTER_LARGE).unwrap();
    for _ in 0..3 {
        let s = *e.step(Action::Hold).unwrap();
        assert!(s.info.capital.is_finite());
        assert_eq!(e.portfolio().positions[0].unwrap().short.price, 50_000.0);
    }
}

#[test]
fn slippage_is_paid_with_the_fee_at_every_fill() {
    let hours = flat(12, 50_000.0, 0.0001, 0.00002);
    let params = EnvParams { episode_hours: 11, slippage: 0.0002, ..Default::default() };
    let mut e = Environment::new(market(&hours), params).unwrap();
    e.reset_at(0, plan()).unwrap();
    assert!(close(e.cost_rate(), 0.0012));
    // LARGE is 500 a leg: 2 x (0.001 + 0.0002) x 500 = 1.2 in, the same out at flat prices.
    let s = *e.step(ENTER_LARGE).unwrap();
    assert!(close(s.info.fees, 1.2));
    assert!(close(e.portfolio().positions[0].unwrap().fees_paid, 1.2));
    let s = *e.step(Action::Exit { slot: PositionSlot::ALL[0] }).unwrap();
    assert!(close(s.info.fees, 1.2));
    assert!(close(s.info.closed[0].unwrap().net_pnl, s.info.funding - 2.4));
    assert!(Environment::new(market(&hours), EnvParams { slippage: -1e-4, ..params }).is_err());
}
