//! The policy runtime: the network (native, or ONNX through tract), and the masked choice of an
//! action from its outputs.

pub mod architecture;
pub mod artifact;
pub mod choice;
pub mod decision;
#[cfg(feature = "onnx")]
pub mod file;
mod kernel;
#[cfg(feature = "alloc")]
pub mod native;
pub mod network;
pub mod normalization;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod pointer;

pub use architecture::Architecture;
pub use decision::{Decision, Offer, Policy, PolicyFailure, Request, Selector, decide};
pub use kernel::{LayerNorm, Linear};
#[cfg(feature = "alloc")]
pub use native::Native;
pub use network::{Network, Output, Trunk};
pub use normalization::Normalization;
pub use pointer::PointerNetwork;
