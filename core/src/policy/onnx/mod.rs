//! ONNX models: the model contract (`docs/model-contract.md`, [`contract`]), running through
//! tract ([`runtime`]), and conversion of the network's weights into a native network
//! ([`converter`], [`Native`](super::Native)).

pub mod contract;
pub mod converter;
pub mod runtime;

pub use contract::{ACTION_VERSION_KEY, ARCHITECTURE_KEY, MaskInput, OBSERVATION_VERSION_KEY};
pub use converter::convert;
pub use runtime::{OnnxModel, OnnxSession};
/// ONNX's protobuf types (from tract), for reading and writing model files.
pub use tract_onnx::pb;

use std::fmt;
use std::format;
use std::string::String;

/// Why a model was refused or failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// The model file cannot be read.
    Io(String),
    /// The bytes are not an ONNX model.
    NotOnnx(String),
    /// The model's inputs or outputs do not follow the contract.
    Contract(String),
    /// The model declares an observation or action-space version the engine does not speak.
    Version {
        /// Which version.
        what: &'static str,
        /// The engine's.
        expected: u32,
        /// The model's.
        found: String,
    },
    /// The graph is not a network the native pass computes (neither architecture, or not what it
    /// declares), so it cannot be converted to native weights.
    Architecture(String),
    /// tract failed to load or run the model.
    Runtime(String),
    /// A native weights artifact was refused (truncated, bad checksum, other versions).
    Artifact(crate::Error),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Io(e) => write!(f, "{e}"),
            ModelError::NotOnnx(e) => write!(f, "not an ONNX model: {e}"),
            ModelError::Contract(e) => write!(f, "the model does not follow the model contract: {e}"),
            ModelError::Version { what, expected, found } => {
                write!(f, "the model declares {what} {found}, this engine speaks {expected}")
            }
            ModelError::Architecture(e) => write!(f, "not a network the native pass computes: {e}"),
            ModelError::Runtime(e) => write!(f, "tract: {e}"),
            ModelError::Artifact(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModelError {}

pub(super) fn runtime(e: impl fmt::Display) -> ModelError {
    ModelError::Runtime(format!("{e:#}"))
}

/// Read a model file, an I/O error naming the path when it cannot be.
pub(super) fn read(path: &std::path::Path) -> Result<std::vec::Vec<u8>, ModelError> {
    std::fs::read(path).map_err(|e| ModelError::Io(format!("cannot read {}: {e}", path.display())))
}
