//! Decisions: a request (opportunities, book, configuration) in, one action out, within the risk
//! limits whatever the model says.
//!
//! 1. The configuration and the portfolio are validated; more than 100 opportunities is an error.
//! 2. Risk overrides come first: a position breaching the stop-loss or the liquidation buffer is
//!    exited ([`crate::risk::forced_exit`]) without asking the policy.
//! 3. The ten best valid opportunities are selected, the observation and the mask are built.
//! 4. The policy's logits are masked; the action is the most probable allowed one (or drawn with a
//!    seed). A policy that fails, or gives a non-finite value or allowed logit, never becomes an
//!    action: the decision is HOLD and says why.
//!
//! Risk level of a decision: from the liquidation distance it leaves (an entry's `0.9 / leverage`,
//! else the book's closest position): at least 0.45 `LOW`, at least 0.2 `MEDIUM`, else `HIGH`.

use super::choice::{self, Confidence};
use super::network::{Network, Output};
use crate::action::{ACTION_COUNT, Action, ActionMask, PositionSlot};
use crate::config::TradingConfig;
use crate::error::Error;
use crate::mask::{Allowed, EntryBlock, EntryPlan};
use crate::observation::{self, OBSERVATION_LEN, Observation};
use crate::opportunity::Opportunity;
use crate::portfolio::Portfolio;
use crate::risk::{self, ExitReason};
use crate::selection::{Chosen, Selection, Slots};
use crate::state::ValidState;
use crate::{MAX_OPPORTUNITIES, Name};
use core::fmt;
use rand::SeedableRng;

/// Liquidation distance at or above which a decision's risk is `LOW`.
pub const LOW_RISK_DISTANCE: f64 = 0.45;
/// Liquidation distance at or above which a decision's risk is `MEDIUM` (else `HIGH`).
pub const MEDIUM_RISK_DISTANCE: f64 = 0.2;

/// Something that maps an observation (and its mask) to logits and a value.
pub trait Policy {
    /// Evaluate the network on one observation.
    fn evaluate(&mut self, observation: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure>;
}

/// A policy that could not produce outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyFailure;

impl Policy for &Network {
    fn evaluate(&mut self, observation: &Observation, _mask: ActionMask) -> Result<Output, PolicyFailure> {
        Ok(self.forward(observation))
    }
}

impl<P: Policy + ?Sized> Policy for &mut P {
    fn evaluate(&mut self, observation: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure> {
        (**self).evaluate(observation, mask)
    }
}

/// What the engine is asked.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The detected opportunities.
    pub opportunities: Offer<'a>,
    /// Capital, its history and the open positions.
    pub portfolio: &'a Portfolio,
    /// The user's risk settings.
    pub config: TradingConfig,
    /// Now, hours since the Unix epoch (for holding times).
    pub now: i64,
}

/// A request's opportunities.
#[derive(Debug, Clone, Copy)]
pub enum Offer<'a> {
    /// At most 100 detected opportunities; the ten best valid ones are chosen, invalid ones never.
    List(&'a [Opportunity]),
    /// The ten a host chose from its own records.
    Chosen(&'a Chosen),
}

impl<'a> Offer<'a> {
    /// The chosen ten and their slots.
    fn pick(self) -> Result<(Selection, Slots<'a>), Error> {
        match self {
            Offer::List(opportunities) if opportunities.len() > MAX_OPPORTUNITIES => Err(Error::TooMany {
                what: "opportunities",
                given: opportunities.len(),
                max: MAX_OPPORTUNITIES,
            }),
            Offer::List(opportunities) => Ok(Selection::pick(opportunities)),
            Offer::Chosen(chosen) => Ok((chosen.selection(), chosen.slots())),
        }
    }
}

/// How the action is chosen from the probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// The most probable allowed action.
    Greedy,
    /// Drawn from the distribution with this seed.
    Sample(u64),
}

/// Why a decision did not come from the policy's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Override {
    /// A risk limit forced this exit.
    Risk(ExitReason),
    /// The policy failed to evaluate: HOLD.
    PolicyFailed,
    /// The policy's outputs were not finite: HOLD.
    NonFiniteOutput,
}

impl Override {
    /// A stable upper-case label.
    pub fn label(self) -> &'static str {
        match self {
            Override::Risk(r) => r.label(),
            Override::PolicyFailed => "POLICY_FAILED",
            Override::NonFiniteOutput => "NON_FINITE_OUTPUT",
        }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The risk a decision leaves the book with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskLevel {
    /// Liquidation at least [`LOW_RISK_DISTANCE`] away.
    Low,
    /// At least [`MEDIUM_RISK_DISTANCE`] away.
    Medium,
    /// Closer.
    High,
}

impl RiskLevel {
    /// The level for a liquidation distance (fraction of price).
    pub fn of(distance: f64) -> Self {
        if distance >= LOW_RISK_DISTANCE {
            RiskLevel::Low
        } else if distance >= MEDIUM_RISK_DISTANCE {
            RiskLevel::Medium
        } else {
            RiskLevel::High
        }
    }

    /// `LOW`, `MEDIUM` or `HIGH`.
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Low => "LOW",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::High => "HIGH",
        }
    }
}

/// Why, in words a desk reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reasoning {
    /// The coin entered or exited.
    pub coin: Option<Name>,
    /// Its long venue.
    pub long_venue: Option<Name>,
    /// Its short venue.
    pub short_venue: Option<Name>,
    /// The entered opportunity's 24 h average funding difference, APR (fraction per year).
    pub expected_apr: Option<f64>,
    /// The risk the decision leaves.
    pub risk: RiskLevel,
    /// Set when the decision is not the policy's own choice.
    pub override_reason: Option<Override>,
}

impl Reasoning {
    /// Reasoning naming no trade.
    fn new(risk: RiskLevel, override_reason: Option<Override>) -> Self {
        Reasoning {
            coin: None,
            long_venue: None,
            short_venue: None,
            expected_apr: None,
            risk,
            override_reason,
        }
    }

    /// The same, naming the trade's coin and venues.
    fn trade(self, coin: Name, long_venue: Name, short_venue: Name) -> Self {
        Reasoning { coin: Some(coin), long_venue: Some(long_venue), short_venue: Some(short_venue), ..self }
    }
}

/// The engine's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The action.
    pub action: Action,
    /// Its index, 0-35.
    pub action_index: u8,
    /// For an entry: the index of the opportunity in the request's list.
    pub opportunity_index: Option<usize>,
    /// For an exit: the position slot.
    pub position_index: Option<usize>,
    /// For an entry: the notional of each leg, USD.
    pub size_usd: Option<f64>,
    /// For an entry: the leverage of both legs.
    pub leverage: Option<f64>,
    /// The chosen action's probability.
    pub probability: f32,
    /// Its confidence label.
    pub confidence: Confidence,
    /// The policy's state value (0 when the policy was not asked).
    pub value: f32,
    /// Probabilities of all 36 actions (0 for invalid ones).
    pub probabilities: [f32; ACTION_COUNT],
    /// The mask the decision was taken under.
    pub mask: ActionMask,
    /// Why.
    pub reasoning: Reasoning,
}

/// What the policy is shown for a request: the ten selected opportunities, the observation, and
/// the actions the risk limits allow.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Which of the request's opportunities fill the slots.
    pub selection: Selection,
    /// The slots.
    pub slots: Slots<'a>,
    /// The 275 features.
    pub observation: Observation,
    /// The allowed actions.
    pub mask: ActionMask,
    /// The plan of an entry of each size tier ([`crate::SizeTier::ALL`]'s order), or why none is allowed:
    /// the plan a chosen entry takes, computed with the mask.
    pub plans: [Result<EntryPlan, EntryBlock>; 3],
}

/// Validate a request's configuration and book (once) and choose its ten opportunities.
fn open<'r, 'a>(request: &'r Request<'a>) -> Result<(ValidState<'r>, Selection, Slots<'a>), Error> {
    let state = ValidState::new(&request.config, request.portfolio)?;
    let (selection, slots) = request.opportunities.pick()?;
    Ok((state, selection, slots))
}

/// Validate a request and build what the policy is shown for it.
pub fn view<'a>(request: &Request<'a>) -> Result<View<'a>, Error> {
    let (state, selection, slots) = open(request)?;
    shown(state, request.now, selection, slots)
}

/// What the policy is shown in a validated state.
fn shown<'a>(
    state: ValidState<'_>,
    now: i64,
    selection: Selection,
    slots: Slots<'a>,
) -> Result<View<'a>, Error> {
    let mut observation = [0.0f32; OBSERVATION_LEN];
    let Allowed { mask, plans } = observation::encode_allowed(state, &slots, now, &mut observation)?;
    Ok(View { selection, slots, observation, mask, plans })
}

/// Decide what to do now with `policy`: a network by reference (`decide(&network, ..)`), or a
/// session by mutable reference (`decide(&mut session, ..)`).
pub fn decide(mut policy: impl Policy, request: &Request<'_>, selector: Selector) -> Result<Decision, Error> {
    let Request { portfolio, config, .. } = *request;
    let (state, selection, slots) = open(request)?;
    let book_risk = RiskLevel::of(portfolio.min_liquidation_distance());

    if let Some((slot, reason)) = PositionSlot::ALL
        .into_iter()
        .zip(risk::forced_exits(&config, portfolio))
        .find_map(|(slot, r)| r.map(|r| (slot, r)))
    {
        let action = Action::Exit { slot };
        let p = portfolio.positions[slot.index()].as_ref().expect("a forced exit has a position");
        let mut mask = ActionMask::hold_only();
        mask.set(action.index(), true);
        return Ok(fixed(
            action,
            mask,
            Reasoning::new(book_risk, Some(Override::Risk(reason))).trade(
                p.coin,
                p.long.venue,
                p.short.venue,
            ),
            Some(slot.index()),
        ));
    }

    let View { selection, slots, observation: obs, mask, plans } =
        shown(state, request.now, selection, slots)?;
    let hold = |why| fixed(Action::Hold, mask, Reasoning::new(book_risk, Some(why)), None);
    let output = match policy.evaluate(&obs, mask) {
        Ok(o) => o,
        Err(PolicyFailure) => return Ok(hold(Override::PolicyFailed)),
    };
    let Some(probabilities) =
        choice::probabilities(&output.logits, mask).filter(|_| output.value.is_finite())
    else {
        return Ok(hold(Override::NonFiniteOutput));
    };
    let index = match selector {
        Selector::Greedy => choice::greedy(&probabilities, mask),
        Selector::Sample(seed) => {
            choice::sample(&probabilities, mask, &mut rand_pcg::Pcg64Mcg::seed_from_u64(seed))
        }
    };
    let action = Action::from_index(index)?;
    let mut decision = Decision {
        action,
        action_index: index as u8,
        opportunity_index: None,
        position_index: None,
        size_usd: None,
        leverage: None,
        probability: probabilities[index],
        confidence: Confidence::of(probabilities[index]),
        value: output.value,
        probabilities,
        mask,
        reasoning: Reasoning::new(book_risk, None),
    };
    match action {
        Action::Enter { slot, size } => {
            let o = slots.get(slot.index()).ok_or(Error::ActionNotAllowed { index })?;
            let plan = plans[size.index()].map_err(|_| Error::ActionNotAllowed { index })?;
            decision.opportunity_index = selection.input_index(slot.index());
            decision.size_usd = Some(plan.size_usd);
            decision.leverage = Some(plan.leverage);
            let entry_distance = crate::margin::MAINTENANCE_FRACTION / plan.leverage;
            let risk = RiskLevel::of(entry_distance.min(portfolio.min_liquidation_distance()));
            decision.reasoning = Reasoning {
                expected_apr: Some(o.apr_24h()),
                ..Reasoning::new(risk, None).trade(o.coin, o.long.venue, o.short.venue)
            };
        }
        Action::Exit { slot } => {
            let p = portfolio.positions[slot.index()].as_ref().ok_or(Error::ActionNotAllowed { index })?;
            decision.position_index = Some(slot.index());
            decision.reasoning = decision.reasoning.trade(p.coin, p.long.venue, p.short.venue);
        }
        Action::Hold => {}
    }
    Ok(decision)
}

/// A decision the engine takes without the policy: probability 1 on `action`.
fn fixed(action: Action, mask: ActionMask, reasoning: Reasoning, position_index: Option<usize>) -> Decision {
    let index = action.index();
    let mut probabilities = [0.0; ACTION_COUNT];
    probabilities[index] = 1.0;
    Decision {
        action,
        action_index: index as u8,
        opportunity_index: None,
        position_index,
        size_usd: None,
        leverage: None,
        probability: 1.0,
        confidence: Confidence::High,
        value: 0.0,
        probabilities,
        mask,
        reasoning,
    }
}
