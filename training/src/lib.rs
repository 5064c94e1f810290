//! The `arbpolicy` command line's library: recorded market data and its replay as the environment's
//! market, the trainable network and masked PPO with its training loop and checkpoints, the ONNX
//! export, evaluation against HOLD, random, the rule and the hindsight ceiling, reports and charts,
//! and loading a policy from a file of either kind.

pub mod ceiling;
pub mod evaluation;
pub mod export;
pub mod history;
pub mod job;
pub mod network;
pub mod normalization;
pub mod pbt;
pub mod population;
pub mod ppo;
pub mod replay;
pub mod report;
pub mod rollout;
pub mod statistics;
pub mod trainer;

pub use arbpolicy_core::policy::file::{PolicyFile, PolicySession};
