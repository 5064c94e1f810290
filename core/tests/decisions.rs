//! Decisions never name an action the risk limits forbid, whatever the model says.

mod common;

use arbpolicy_core::policy::choice::MASKED_LOGIT;
use arbpolicy_core::policy::decision::Override;
use arbpolicy_core::policy::{Network, Offer, Output, Policy, PolicyFailure, Request, Selector, decide};
use arbpolicy_core::selection::Selection;
use arbpolicy_core::{
    ACTION_COUNT, Action, ActionMask, Observation, Opportunity, PositionSlot, margin, mask, observation,
};
use common::strategies::*;
use proptest::prelude::*;
use std::sync::OnceLock;

/// A native network with seeded random weights, scaled so that logits differ strongly.
fn network() -> &'static Network {
    static NET: OnceLock<Box<Network>> = OnceLock::new();
    NET.get_or_init(|| {
        let mut n = Box::new(Network::ZERO);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        n.set_parameters(|| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6
        });
        n
    })
}

/// The policies a decision must survive.
#[derive(Debug, Clone, Copy)]
enum Model {
    /// The random network.
    Native,
    /// Puts its largest logits on the actions the mask forbids.
    Adversarial,
    /// Returns NaN logits.
    NanLogits,
    /// Returns an infinite value.
    InfiniteValue,
    /// Fails to evaluate.
    Failing,
}

impl Policy for Model {
    fn evaluate(&mut self, obs: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure> {
        match self {
            Model::Native => Ok(network().forward(obs)),
            Model::Adversarial => Ok(Output {
                logits: std::array::from_fn(|i| if mask.allows(i) { -50.0 } else { 1e30 }),
                value: 1.0,
            }),
            Model::NanLogits => Ok(Output { logits: [f32::NAN; ACTION_COUNT], value: 0.0 }),
            Model::InfiniteValue => Ok(Output { logits: [0.0; ACTION_COUNT], value: f32::INFINITY }),
            Model::Failing => Err(PolicyFailure),
        }
    }
}

fn model() -> impl Strategy<Value = Model> {
    prop_oneof![
        6 => Just(Model::Native),
        2 => Just(Model::Adversarial),
        1 => Just(Model::NanLogits),
        1 => Just(Model::InfiniteValue),
        1 => Just(Model::Failing),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100_000))]

    #[test]
    fn decisions_stay_within_the_risk_limits(
        (config, book, opps) in state(),
        extra in prop::collection::vec(opportunity(), 0..20),
        mut policy in model(),
        seed in prop::option::of(any::<u64>()),
    ) {
        let opportunities: Vec<Opportunity> = opps.into_iter().flatten().chain(extra).collect();
        let request = Request { opportunities: Offer::List(&opportunities), portfolio: &book, config, now: 100 };
        let selector = seed.map_or(Selector::Greedy, Selector::Sample);
        let d = match decide(&mut policy, &request, selector) {
            Ok(d) => d,
            Err(e) => {
                // Refused requests are invalid ones, or overflow f32 in the observation.
                let invalid = config.validate().is_err() || book.validate().is_err();
                prop_assert!(invalid || matches!(e, arbpolicy_core::Error::NonFiniteFeature { .. }), "{}", e);
                return Ok(());
            }
        };
        prop_assert!(config.validate().is_ok() && book.validate().is_ok());
        prop_assert!(d.mask.allows(usize::from(d.action_index)));
        prop_assert_eq!(Action::from_index(usize::from(d.action_index)).unwrap(), d.action);
        for i in 0..ACTION_COUNT {
            prop_assert!(d.mask.allows(i) || d.probabilities[i] == 0.0, "masked action {} has probability", i);
        }
        prop_assert!(d.probabilities.iter().all(|p| p.is_finite()) && d.value.is_finite());
        // The mask recomputed independently from the request allows the action.
        let (selection, slots) = Selection::pick(&opportunities);
        let independent = mask::action_mask(&config, &book, &slots);
        prop_assert!(independent.allows(usize::from(d.action_index)), "{} not allowed", d.action);
        match d.action {
            Action::Enter { slot, size } => {
                prop_assert!(d.reasoning.override_reason.is_none());
                let i = d.opportunity_index.unwrap();
                prop_assert_eq!(Some(i), selection.input_index(slot.index()));
                let o = &opportunities[i];
                prop_assert!(o.validate().is_ok());
                let plan = mask::plan_entry(&config, &book, o, size).unwrap();
                prop_assert_eq!(d.size_usd, Some(plan.size_usd));
                prop_assert!(plan.leverage <= config.max_leverage);
                prop_assert!(margin::position_margin(plan.size_usd, plan.leverage) <= book.available_capital());
                prop_assert!(margin::MAINTENANCE_FRACTION / plan.leverage >= config.liquidation_buffer);
            }
            Action::Exit { slot } => {
                prop_assert!(book.positions[slot.index()].is_some());
                prop_assert_eq!(d.position_index, Some(slot.index()));
            }
            Action::Hold => {}
        }
        match policy {
            Model::NanLogits | Model::InfiniteValue => prop_assert!(
                d.action == Action::Hold && d.reasoning.override_reason == Some(Override::NonFiniteOutput)
                    || matches!(d.reasoning.override_reason, Some(Override::Risk(_)))
            ),
            Model::Failing => prop_assert!(
                d.action == Action::Hold && d.reasoning.override_reason == Some(Override::PolicyFailed)
                    || matches!(d.reasoning.override_reason, Some(Override::Risk(_)))
            ),
            _ => {}
        }
    }
}

#[test]
fn risk_overrides_come_before_the_policy() {
    let mut book = arbpolicy_core::Portfolio::new(10_000.0);
    let config = arbpolicy_core::TradingConfig { stop_loss_threshold: -0.02, ..Default::default() };
    let o = common::market(&common::flat(2, 100.0, 0.0, 0.0)).snapshots()[0].opportunities[0];
    let mut losing = arbpolicy_core::Position::open(&o, 1000.0, 1.0, 0.001, 0);
    losing.funding_paid = 50.0;
    book.positions[2] = Some(losing);
    let request = Request { opportunities: Offer::List(&[o]), portfolio: &book, config, now: 5 };
    let d = decide(&mut Model::Adversarial, &request, Selector::Greedy).unwrap();
    assert_eq!(d.action, Action::Exit { slot: PositionSlot::ALL[2] });
    assert_eq!(d.reasoning.override_reason, Some(Override::Risk(arbpolicy_core::risk::ExitReason::StopLoss)));
    assert_eq!(d.probability, 1.0);
}

#[test]
fn an_entry_names_the_callers_opportunity_with_size_and_leverage() {
    // Three opportunities; the policy prefers ENTER slot 0 LARGE, which is the best-scored one.
    let base = common::market(&common::flat(2, 100.0, 0.0, 0.0)).snapshots()[0].opportunities[0];
    let mut opportunities = vec![base; 3];
    opportunities[0].profit_8h_24h_avg = 0.0001;
    opportunities[1].profit_8h_24h_avg = 0.0009;
    opportunities[1].coin = arbpolicy_core::name("ETH").unwrap();
    opportunities[2].coin = arbpolicy_core::name("SOL").unwrap();
    opportunities[2].long.price = f64::NAN; // invalid: never chosen
    struct Wants(usize);
    impl Policy for Wants {
        fn evaluate(&mut self, _: &Observation, _: ActionMask) -> Result<Output, PolicyFailure> {
            let mut logits = [MASKED_LOGIT / 2.0; ACTION_COUNT];
            logits[self.0] = 10.0;
            Ok(Output { logits, value: 0.5 })
        }
    }
    let book = arbpolicy_core::Portfolio::new(10_000.0);
    let config = arbpolicy_core::TradingConfig::balanced();
    let request = Request { opportunities: Offer::List(&opportunities), portfolio: &book, config, now: 0 };
    let d = decide(&mut Wants(21), &request, Selector::Greedy).unwrap();
    assert_eq!(d.action.name(), "ENTER_OPP_0_LARGE");
    assert_eq!(d.opportunity_index, Some(1));
    assert!((d.size_usd.unwrap() - 10_000.0 * 0.5 / 3.0 * 0.3).abs() < 1e-9);
    assert_eq!(d.leverage, Some(3.0));
    assert_eq!(d.reasoning.coin.unwrap().as_str(), "ETH");
    assert!((d.reasoning.expected_apr.unwrap() - 0.0009 * 1095.0).abs() < 1e-12);
    assert_eq!(d.value, 0.5);
    assert_eq!(d.confidence.label(), "HIGH");
    // Slot 2 (the invalid SOL) does not exist, so the mask has two slots of entries at most.
    assert!(!d.mask.allows(3));
    let mut obs = [0.0; observation::OBSERVATION_LEN];
    let (_, slots) = Selection::pick(&opportunities);
    assert_eq!(observation::encode_with_mask(&config, &book, &slots, 0, &mut obs).unwrap(), d.mask);
}
