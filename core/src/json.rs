//! The JSON request and decision, mirroring the implementation plan's `/api/predict-multi`.
//! The schema, with every field's unit, is in `docs/decision-json.md`.
//!
//! Unknown fields, missing required fields, numbers JSON cannot hold (NaN, infinities), values
//! out of range and too many items are errors that name the field; nothing is guessed.

use crate::action::NAMES;
use crate::config::TradingConfig;
use crate::error::Error;
use crate::host::{HostError, Input, arbp_config, arbp_opportunity, arbp_portfolio, arbp_position};
use crate::policy::decision::{Decision, Policy, Selector, decide};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::string::{String, ToString};
use std::vec::Vec;

/// Why a JSON request could not be answered.
#[non_exhaustive]
#[derive(Debug)]
pub enum JsonError {
    /// The text is not a well-formed request (syntax, unknown or missing field, wrong type).
    Malformed(String),
    /// The request is well formed but a value is refused.
    Invalid(HostError),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Malformed(e) => write!(f, "malformed request: {e}"),
            JsonError::Invalid(e) => write!(f, "invalid request: {e}"),
        }
    }
}

impl std::error::Error for JsonError {}

impl From<HostError> for JsonError {
    fn from(e: HostError) -> Self {
        JsonError::Invalid(e)
    }
}

impl From<Error> for JsonError {
    fn from(e: Error) -> Self {
        JsonError::Invalid(HostError::Engine(e))
    }
}

/// A request: the host's structs of [`crate::host`], field for field, in lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestJson {
    /// Up to 100 opportunities.
    pub opportunities: Vec<arbp_opportunity>,
    /// Up to 5 open positions, each in its slot (the implementation plan's `active_positions` is
    /// read as this).
    #[serde(alias = "active_positions")]
    pub positions: Vec<arbp_position>,
    /// The book.
    pub portfolio: arbp_portfolio,
    /// The risk settings and the engine's parameters (those left out take their defaults).
    pub config: TradingConfig,
    /// Now, Unix milliseconds.
    pub now_ms: i64,
    /// Draw the action with this seed instead of taking the most probable one.
    #[serde(default)]
    pub sample_seed: Option<u64>,
}

/// The reasoning of a decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReasoningJson {
    /// `BTCUSDT (binance/bybit)`-style summary of the coin and venues, if any.
    pub top_opportunity: Option<String>,
    /// Coin.
    pub coin: Option<String>,
    /// Long exchange.
    pub long_exchange: Option<String>,
    /// Short exchange.
    pub short_exchange: Option<String>,
    /// 24 h average funding difference of the entered opportunity, APR as a fraction per year (as
    /// the ABI's `expected_apr` and C#'s `ExpectedApr`).
    pub expected_apr: Option<f64>,
    /// `LOW`, `MEDIUM` or `HIGH`.
    pub risk_level: String,
    /// Why the decision is not the policy's own choice, if it is not.
    pub override_reason: Option<String>,
}

/// A decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DecisionJson {
    /// Action name, e.g. `ENTER_OPP_3_MEDIUM`.
    pub action: String,
    /// Action index, 0-35.
    pub action_index: u8,
    /// For an entry: index into the request's `opportunities`.
    pub opportunity_idx: Option<usize>,
    /// For an exit: index into the request's `active_positions`.
    pub position_idx: Option<usize>,
    /// For an entry: notional of each leg, USD.
    pub position_size_usd: Option<f64>,
    /// For an entry: leverage of both legs.
    pub leverage: Option<f64>,
    /// `HIGH`, `MEDIUM` or `LOW`.
    pub confidence: String,
    /// Probability of the chosen action.
    pub probability: f32,
    /// The policy's state value.
    pub state_value: f32,
    /// Probability of every action by name (0 for actions the risk limits forbid).
    pub action_probabilities: BTreeMap<String, f32>,
    /// Why.
    pub reasoning: ReasoningJson,
}

/// A request in the engine's types, and how to choose.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    /// The request.
    pub input: Input,
    /// How to choose.
    pub selector: Selector,
}

/// Parse and map a JSON request.
pub fn parse_request(text: &str) -> Result<OwnedRequest, JsonError> {
    let json: RequestJson = serde_json::from_str(text).map_err(|e| JsonError::Malformed(e.to_string()))?;
    json.to_owned_request()
}

impl RequestJson {
    /// Map into the engine's types as the ABI's structs are ([`Input::new`]).
    pub fn to_owned_request(&self) -> Result<OwnedRequest, JsonError> {
        let config = arbp_config::of(self.config);
        Ok(OwnedRequest {
            input: Input::new(&self.opportunities, &self.positions, &self.portfolio, &config, self.now_ms)?,
            selector: self.sample_seed.map_or(Selector::Greedy, Selector::Sample),
        })
    }
}

impl DecisionJson {
    /// The JSON form of a decision.
    pub fn from_decision(d: &Decision) -> Self {
        let r = &d.reasoning;
        let text = |n: Option<crate::Name>| n.map(|n| n.as_str().to_string());
        DecisionJson {
            action: NAMES[usize::from(d.action_index)].to_string(),
            action_index: d.action_index,
            opportunity_idx: d.opportunity_index,
            position_idx: d.position_index,
            position_size_usd: d.size_usd,
            leverage: d.leverage,
            confidence: d.confidence.label().to_string(),
            probability: d.probability,
            state_value: d.value,
            action_probabilities: NAMES
                .iter()
                .zip(d.probabilities)
                .map(|(n, p)| (n.to_string(), p))
                .collect(),
            reasoning: ReasoningJson {
                top_opportunity: match (r.coin, r.long_venue, r.short_venue) {
                    (Some(c), Some(l), Some(s)) => Some(std::format!("{c} ({l}/{s})")),
                    _ => None,
                },
                coin: text(r.coin),
                long_exchange: text(r.long_venue),
                short_exchange: text(r.short_venue),
                expected_apr: r.expected_apr,
                risk_level: r.risk.label().to_string(),
                override_reason: r.override_reason.map(|o| o.label().to_string()),
            },
        }
    }
}

/// The longest answer [`decide_json`] gives, in bytes, with room for a terminating NUL: every
/// name at its 16 bytes, each a control character JSON escapes in 6, every number at its longest
/// (`tests/json.rs` builds that answer). A buffer of this size always holds the decision.
pub const DECISION_JSON_MAX: usize = 4096;

/// Answer a JSON request with a JSON decision, at most [`DECISION_JSON_MAX`] - 1 bytes.
pub fn decide_json(policy: impl Policy, request: &str) -> Result<String, JsonError> {
    let owned = parse_request(request)?;
    let decision = decide(policy, &owned.input.request(), owned.selector)?;
    serde_json::to_string_pretty(&DecisionJson::from_decision(&decision))
        .map_err(|e| JsonError::Malformed(e.to_string()))
}
