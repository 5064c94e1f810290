//! The environment must not look ahead: changing any market data after hour t leaves every
//! observation and mask up to t unchanged.

use arbpolicy_core::environment::{EnvParams, Environment};
use arbpolicy_core::market::{MemoryMarket, SyntheticMarket, SyntheticParams};
use arbpolicy_core::{Action, ActionMask, Observation, OpportunitySlot, SizeTier, TradingConfig};

/// A fixed policy: enter the best slot whenever allowed, exit every position after 12 hours.
fn policy(t: usize, mask: ActionMask) -> Action {
    if t % 12 == 11
        && let Some(i) = mask.iter().find(|&i| i >= 31)
    {
        return Action::from_index(i).unwrap();
    }
    let large = Action::Enter { slot: OpportunitySlot::ALL[0], size: SizeTier::Large };
    if mask.allows_action(large) { large } else { Action::Hold }
}

fn run(market: MemoryMarket, start: usize, steps: usize) -> Vec<(Observation, ActionMask)> {
    let mut e = Environment::new(market, EnvParams { episode_hours: steps, ..Default::default() }).unwrap();
    let (obs, mut mask) = e.reset_at(start, TradingConfig::balanced()).unwrap();
    let mut seen = vec![(obs, mask)];
    for t in 0..steps {
        let s = e.step(policy(t, mask)).unwrap();
        mask = s.mask;
        seen.push((s.observation, s.mask));
        if s.terminated || s.truncated {
            break;
        }
    }
    seen
}

/// Change everything the market holds at snapshots after `cut`.
fn perturb_after(market: MemoryMarket, cut: usize) -> MemoryMarket {
    let mut hours = market.into_snapshots();
    for hour in hours.iter_mut().skip(cut + 1) {
        for q in &mut hour.quotes {
            q.quote.price *= 1.07;
            q.quote.funding_rate = -q.quote.funding_rate - 0.0003;
            if let Some(s) = &mut q.quote.settlement {
                s.rate = -s.rate + 0.001;
            }
        }
        for o in &mut hour.opportunities {
            o.long.price *= 0.95;
            o.short.price *= 1.05;
            o.profit_8h_24h_avg *= -3.0;
            o.volume_24h_usd *= 0.1;
        }
        hour.opportunities.reverse();
    }
    MemoryMarket::new(hours)
}

#[test]
fn observations_up_to_t_ignore_data_after_t() {
    let params = SyntheticParams { hours: 400, coins: 5, ..Default::default() };
    let base = SyntheticMarket::generate(42, &params);
    let start = 50;
    let steps = 120;
    let reference = run(base.clone(), start, steps);
    assert!(reference.len() > 60, "the run must last long enough to test");
    for k in [0, 1, 5, 23, 24, 60] {
        let cut = start + k;
        let changed = perturb_after(base.clone(), cut);
        let perturbed = run(changed, start, steps);
        for (i, (a, b)) in reference.iter().zip(&perturbed).take(k + 1).enumerate() {
            assert_eq!(a, b, "observation {i} changed by data after hour {k}");
        }
        // The perturbation is real: the first observation after the cut differs.
        assert_ne!(reference[k + 1].0, perturbed[k + 1].0, "perturbing after {k} changed nothing");
    }
}
