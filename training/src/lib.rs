//! The `arbpolicy` command line's library: loading a policy from a file of either kind.

pub use arbpolicy_core::policy::file::{PolicyFile, PolicySession};
