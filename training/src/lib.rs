//! The `arbpolicy` command line's library: recorded market data and its replay as the environment's
//! market, and loading a policy from a file of either kind.

pub mod history;
pub mod replay;

pub use arbpolicy_core::policy::file::{PolicyFile, PolicySession};
