//! The JSON request and decision, mirroring the implementation plan's `/api/predict-multi`.
//! The schema, with every field's unit, is in `docs/decision-json.md`.
//!
//! Unknown fields, missing required fields, numbers JSON cannot hold (NaN, infinities), values
//! out of range and too many items are errors that name the field; nothing is guessed.

use crate::action::NAMES;
use crate::config::TradingConfig;
use crate::error::Error;
use crate::opportunity::{Leg, Opportunity};
use crate::policy::decision::{Decision, Offer, Policy, Request, Selector, decide};
use crate::portfolio::Portfolio;
use crate::position::{Position, PositionLeg};
use crate::time::hour_of_unix_ms;
use crate::{MAX_OPPORTUNITIES, MAX_POSITIONS, name};
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
    Invalid(Error),
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

impl From<Error> for JsonError {
    fn from(e: Error) -> Self {
        JsonError::Invalid(e)
    }
}

/// One opportunity of a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpportunityJson {
    /// Coin symbol, e.g. `BTC`.
    pub symbol: String,
    /// Exchange to go long on.
    pub long_exchange: String,
    /// Exchange to go short on.
    pub short_exchange: String,
    /// Long venue's price, quote currency per coin.
    pub long_price: f64,
    /// Short venue's price.
    pub short_price: f64,
    /// Long venue's latest settled funding rate, fraction per interval.
    pub long_funding_rate: f64,
    /// Short venue's latest settled funding rate.
    pub short_funding_rate: f64,
    /// Long venue's settlement interval, hours.
    pub long_funding_interval_hours: f64,
    /// Short venue's settlement interval, hours.
    pub short_funding_interval_hours: f64,
    /// 24 h average funding difference, fraction per 8 h.
    pub fund_profit_8h_24h_proj: f64,
    /// 3-day average funding difference, fraction per 8 h.
    pub fund_profit_8h_3d_proj: f64,
    /// Mean price spread of the last 30 samples, percent.
    pub spread_30_sample_avg: f64,
    /// Mean price spread of the last 24 h, percent.
    pub price_spread_24h_avg: f64,
    /// Mean price spread of the last 3 days, percent.
    pub price_spread_3d_avg: f64,
    /// Standard deviation of the price spread, percent.
    pub spread_volatility_stddev: f64,
    /// 24 h volume, USD.
    pub volume_24h: f64,
    /// Bid-ask spread, percent.
    pub bid_ask_spread_percent: f64,
    /// Order-book depth, USD.
    pub orderbook_depth: f64,
}

/// One open position of a request; its place in the list is its slot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionJson {
    /// Coin symbol.
    pub symbol: String,
    /// Long exchange.
    pub long_exchange: String,
    /// Short exchange.
    pub short_exchange: String,
    /// Notional of each leg at entry, USD.
    pub position_size_usd: f64,
    /// Leverage of both legs.
    pub leverage: f64,
    /// Long leg's entry price.
    pub long_entry_price: f64,
    /// Short leg's entry price.
    pub short_entry_price: f64,
    /// Long leg's current price.
    pub long_price: f64,
    /// Short leg's current price.
    pub short_price: f64,
    /// Long venue's latest funding rate, fraction per interval.
    pub long_funding_rate: f64,
    /// Short venue's latest funding rate.
    pub short_funding_rate: f64,
    /// Long venue's settlement interval, hours.
    pub long_funding_interval_hours: f64,
    /// Short venue's settlement interval, hours.
    pub short_funding_interval_hours: f64,
    /// Funding received so far, USD.
    pub funding_received_usd: f64,
    /// Funding paid so far, USD.
    pub funding_paid_usd: f64,
    /// Fees paid so far, USD.
    pub fees_paid_usd: f64,
    /// Entry time, Unix milliseconds.
    pub entry_time_ms: i64,
}

/// The portfolio of a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioJson {
    /// Current capital (equity), USD.
    pub total_capital: f64,
    /// Capital at the start of the account or episode, USD; default `total_capital`.
    #[serde(default)]
    pub initial_capital: Option<f64>,
    /// Highest capital seen, USD; default the larger of initial and total capital.
    #[serde(default)]
    pub peak_capital: Option<f64>,
    /// Largest drawdown seen, fraction; default the drawdown from the peak.
    #[serde(default)]
    pub max_drawdown: Option<f64>,
    /// Capital at the start of the UTC day, USD; default `total_capital`.
    #[serde(default)]
    pub day_start_capital: Option<f64>,
    /// Whether the daily-loss halt was triggered today; default false.
    #[serde(default)]
    pub entries_halted: bool,
    /// Share of the episode elapsed, `[0, 1]`; default 0.
    #[serde(default)]
    pub episode_progress: f64,
}

/// The configuration of a request; engine parameters default as in [`TradingConfig::default`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigJson {
    /// `[1, 10]`.
    pub max_leverage: f64,
    /// `(0, 1]`.
    pub target_utilization: f64,
    /// `1..=5`.
    pub max_positions: u32,
    /// `[-0.05, -0.01]`, fraction.
    pub stop_loss_threshold: f64,
    /// `[0.1, 0.3]`, fraction.
    pub liquidation_buffer: f64,
    /// Taker fee per side, fraction.
    #[serde(default)]
    pub fee_rate: Option<f64>,
    /// Minimum position size, USD.
    #[serde(default)]
    pub min_position_usd: Option<f64>,
    /// Margin cap, fraction of capital.
    #[serde(default)]
    pub max_margin_usage: Option<f64>,
    /// Daily loss that halts entries, fraction.
    #[serde(default)]
    pub daily_loss_halt: Option<f64>,
    /// Drawdown that ends an episode, fraction.
    #[serde(default)]
    pub episode_drawdown_stop: Option<f64>,
}

/// A request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestJson {
    /// Up to 100 opportunities.
    pub opportunities: Vec<OpportunityJson>,
    /// Up to 5 open positions.
    pub active_positions: Vec<PositionJson>,
    /// The book.
    pub portfolio: PortfolioJson,
    /// The risk settings.
    pub config: ConfigJson,
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

/// A request in the engine's types.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    /// Opportunities.
    pub opportunities: Vec<Opportunity>,
    /// The book, positions in their slots.
    pub portfolio: Portfolio,
    /// Risk settings.
    pub config: TradingConfig,
    /// Now, hours since the epoch.
    pub now: i64,
    /// How to choose.
    pub selector: Selector,
}

impl OwnedRequest {
    /// The request to pass to [`decide`].
    pub fn request(&self) -> Request<'_> {
        Request {
            opportunities: Offer::List(&self.opportunities),
            portfolio: &self.portfolio,
            config: self.config,
            now: self.now,
        }
    }
}

/// Parse and convert a JSON request.
pub fn parse_request(text: &str) -> Result<OwnedRequest, JsonError> {
    let json: RequestJson = serde_json::from_str(text).map_err(|e| JsonError::Malformed(e.to_string()))?;
    json.to_owned_request()
}

impl RequestJson {
    /// Convert into the engine's types, checking counts and names.
    pub fn to_owned_request(&self) -> Result<OwnedRequest, JsonError> {
        if self.opportunities.len() > MAX_OPPORTUNITIES {
            return Err(Error::TooMany {
                what: "opportunities",
                given: self.opportunities.len(),
                max: MAX_OPPORTUNITIES,
            }
            .into());
        }
        if self.active_positions.len() > MAX_POSITIONS {
            return Err(Error::TooMany {
                what: "active_positions",
                given: self.active_positions.len(),
                max: MAX_POSITIONS,
            }
            .into());
        }
        let opportunities =
            self.opportunities.iter().map(OpportunityJson::to_opportunity).collect::<Result<Vec<_>, _>>()?;
        let c = &self.config;
        let d = TradingConfig::default();
        let config = TradingConfig {
            max_leverage: c.max_leverage,
            target_utilization: c.target_utilization,
            max_positions: u8::try_from(c.max_positions).unwrap_or(u8::MAX),
            stop_loss_threshold: c.stop_loss_threshold,
            liquidation_buffer: c.liquidation_buffer,
            fee_rate: c.fee_rate.unwrap_or(d.fee_rate),
            min_position_usd: c.min_position_usd.unwrap_or(d.min_position_usd),
            max_margin_usage: c.max_margin_usage.unwrap_or(d.max_margin_usage),
            daily_loss_halt: c.daily_loss_halt.unwrap_or(d.daily_loss_halt),
            episode_drawdown_stop: c.episode_drawdown_stop.unwrap_or(d.episode_drawdown_stop),
        };
        let p = &self.portfolio;
        let initial = p.initial_capital.unwrap_or(p.total_capital);
        let peak = p.peak_capital.unwrap_or(initial.max(p.total_capital));
        let mut portfolio = Portfolio {
            initial_capital: initial,
            capital: p.total_capital,
            peak_capital: peak,
            max_drawdown: 0.0,
            day_start_capital: p.day_start_capital.unwrap_or(p.total_capital),
            entries_halted: p.entries_halted,
            episode_progress: p.episode_progress,
            positions: [None; MAX_POSITIONS],
        };
        portfolio.max_drawdown = p.max_drawdown.unwrap_or(portfolio.drawdown());
        for (slot, position) in self.active_positions.iter().enumerate() {
            portfolio.positions[slot] = Some(position.to_position()?);
        }
        Ok(OwnedRequest {
            opportunities,
            portfolio,
            config,
            now: hour_of_unix_ms(self.now_ms),
            selector: self.sample_seed.map_or(Selector::Greedy, Selector::Sample),
        })
    }
}

impl OpportunityJson {
    fn to_opportunity(&self) -> Result<Opportunity, Error> {
        Ok(Opportunity {
            coin: name(&self.symbol)?,
            long: Leg {
                venue: name(&self.long_exchange)?,
                price: self.long_price,
                funding_rate: self.long_funding_rate,
                interval_hours: self.long_funding_interval_hours,
            },
            short: Leg {
                venue: name(&self.short_exchange)?,
                price: self.short_price,
                funding_rate: self.short_funding_rate,
                interval_hours: self.short_funding_interval_hours,
            },
            profit_8h_24h_avg: self.fund_profit_8h_24h_proj,
            profit_8h_3d_avg: self.fund_profit_8h_3d_proj,
            spread_30_avg_pct: self.spread_30_sample_avg,
            spread_24h_avg_pct: self.price_spread_24h_avg,
            spread_3d_avg_pct: self.price_spread_3d_avg,
            spread_std_pct: self.spread_volatility_stddev,
            volume_24h_usd: self.volume_24h,
            bid_ask_spread_pct: self.bid_ask_spread_percent,
            orderbook_depth_usd: self.orderbook_depth,
        })
    }
}

impl PositionJson {
    fn to_position(&self) -> Result<Position, Error> {
        let leg = |venue: &str, entry, price, rate, interval| -> Result<PositionLeg, Error> {
            Ok(PositionLeg {
                venue: name(venue)?,
                entry_price: entry,
                price,
                funding_rate: rate,
                interval_hours: interval,
            })
        };
        let long = leg(
            &self.long_exchange,
            self.long_entry_price,
            self.long_price,
            self.long_funding_rate,
            self.long_funding_interval_hours,
        )?;
        let short = leg(
            &self.short_exchange,
            self.short_entry_price,
            self.short_price,
            self.short_funding_rate,
            self.short_funding_interval_hours,
        )?;
        let position = Position {
            coin: name(&self.symbol)?,
            long,
            short,
            size_usd: self.position_size_usd,
            leverage: self.leverage,
            funding_received: self.funding_received_usd,
            funding_paid: self.funding_paid_usd,
            fees_paid: self.fees_paid_usd,
            entry_hour: hour_of_unix_ms(self.entry_time_ms),
            entry_spread_pct: crate::opportunity::spread_pct(self.long_entry_price, self.short_entry_price),
        };
        // A non-finite entry spread comes from bad entry prices, which validation names.
        position.validate().map(|()| position)
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
    let decision = decide(policy, &owned.request(), owned.selector)?;
    serde_json::to_string_pretty(&DecisionJson::from_decision(&decision))
        .map_err(|e| JsonError::Malformed(e.to_string()))
}
