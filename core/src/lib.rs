//! The trading core of arbpolicy.
//!
//! Everything a funding-rate arbitrage policy needs to see, decide and be held to, as pure and
//! deterministic functions shared by training and inference:
//!
//! - [`config`]: the user's risk settings and the engine parameters, validated.
//! - [`opportunity`], [`position`], [`portfolio`]: the market and the book, with their observation
//!   features.
//! - [`margin`] and [`sizing`]: margin, leverage and liquidation math, position sizes.
//! - [`action`], [`mask`], [`risk`]: the 36-action space, which actions the risk limits allow, and the
//!   exits the limits force.
//! - [`selection`]: the ten opportunities the policy is shown; [`state`]: a configuration and a book
//!   validated once for a decision.
//! - [`observation`] and [`reward`]: the 275-feature observation and the training reward.
//! - [`market`] and [`environment`]: the hourly market environment used for training and evaluation.
//! - [`time`]: hours since the epoch, as the engine counts time, from hosts' Unix milliseconds.
//! - [`policy`]: the policy runtime, the main use of the crate at inference: the allocation-free
//!   native forward pass and its weights artifact, the network's layers described once
//!   (`policy::architecture`), the choice of an action from the network's outputs under the mask,
//!   the whole decision; ONNX models through tract with the `onnx` feature.
//! - [`host`]: the host's input as a host sends it, the C ABI's structs and the JSON request's
//!   objects alike, mapped into the engine's types in one place.
//! - `json` (feature `json`): the JSON request (the [`host`] structs in lists) and the decision's
//!   JSON answer.
//!
//! # Units
//! Core uses fractions everywhere a threshold or a rate is stored: a stop-loss of `-0.02` is a loss of
//! 2 % of the position's size, a funding rate of `0.0001` is 0.01 % of notional per settlement interval,
//! an APR of `0.1` is 10 % a year. Observation features that the implementation plan states in percent
//! are the only percent values; `docs/observation.md` lists every feature with its unit.
//!
//! # Example
//! ```
//! use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
//! use arbpolicy_core::{Action, EnvParams, Environment, TradingConfig};
//!
//! let market = SyntheticMarket::generate(1, &SyntheticParams { hours: 200, ..Default::default() });
//! let mut env = Environment::new(&market, EnvParams { episode_hours: 72, ..Default::default() })?;
//! let (observation, mask) = env.reset(7, TradingConfig::balanced())?;
//! assert_eq!(observation.len(), 275);
//! // Enter the best opportunity at the largest size if the risk limits allow it.
//! let action = Action::from_index(21)?;
//! let step = env.step(if mask.allows_action(action) { action } else { Action::Hold })?;
//! let info = step.info;
//! assert!((info.capital - 10_000.0 - (info.funding + info.price_pnl - info.fees)).abs() < 1e-9);
//! # Ok::<(), arbpolicy_core::Error>(())
//! ```
//!
//! # Features
//! The crate is `#![no_std]` always and needs no heap. `alloc` adds an owned in-memory market and the
//! seeded synthetic market; `std` adds `std::error::Error` implementations; `json` the JSON request
//! and decision; `onnx` loading ONNX models through tract (both imply `std`).
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod action;
pub mod config;
pub mod environment;
mod error;
pub mod host;
#[cfg(feature = "json")]
pub mod json;
pub mod margin;
pub mod market;
pub mod mask;
mod name;
pub mod observation;
pub mod opportunity;
pub mod policy;
pub mod portfolio;
pub mod position;
pub mod reward;
pub mod risk;
pub mod selection;
pub mod sizing;
pub mod state;
pub mod time;

pub use action::{ACTION_COUNT, Action, ActionMask, OpportunitySlot, PositionSlot, SizeTier};
pub use config::TradingConfig;
pub use environment::{EnvParams, Environment, Step, StepInfo};
pub use error::{Bounds, Error};
pub use market::{Market, Quote};
pub use observation::{OBSERVATION_LEN, Observation};
pub use opportunity::{Leg, Opportunity};
pub use portfolio::Portfolio;
pub use position::Position;

pub use name::Name;

/// Make a [`Name`] ([`Name::new`]).
pub fn name(s: &str) -> Result<Name, Error> {
    Name::new(s)
}

/// Maximum number of open positions (execution slots).
pub const MAX_POSITIONS: usize = 5;
/// Number of opportunity slots the policy sees.
pub const OPPORTUNITY_SLOTS: usize = 10;
/// Maximum number of opportunities a request may carry.
pub const MAX_OPPORTUNITIES: usize = 100;
