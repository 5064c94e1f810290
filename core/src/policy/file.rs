//! A policy file of either kind, told apart by its content: an ONNX model (run through tract) or a
//! native weights artifact (run by the native forward pass).

use super::artifact::is_artifact;
use super::decision::{Policy, PolicyFailure};
use super::network::{Network, Output};
use super::onnx::{ModelError, OnnxModel, OnnxSession};
use crate::action::ActionMask;
use crate::observation::Observation;
use std::boxed::Box;
use std::format;

/// A loaded policy, shared by all threads (`Send + Sync`); each thread decides through its own
/// [`PolicySession`].
#[derive(Debug)]
pub enum PolicyFile {
    /// An ONNX model, run through tract.
    Onnx(Box<OnnxModel>),
    /// A native weights artifact.
    Native(Box<Network>),
}

impl PolicyFile {
    /// Load a model from bytes: a native weights artifact when they start with its magic, else ONNX.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if is_artifact(bytes) {
            let mut network = Box::new(Network::ZERO);
            network.load_artifact(bytes).map_err(ModelError::Artifact)?;
            Ok(PolicyFile::Native(network))
        } else {
            Ok(PolicyFile::Onnx(Box::new(OnnxModel::from_bytes(bytes)?)))
        }
    }

    /// Load a model file.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| ModelError::NotOnnx(format!("cannot read {}: {e}", path.display())))?;
        Self::from_bytes(&bytes)
    }

    /// A session for the calling thread.
    pub fn session(&self) -> Result<PolicySession<'_>, ModelError> {
        Ok(match self {
            PolicyFile::Onnx(model) => PolicySession::Onnx(model.session()?),
            PolicyFile::Native(network) => PolicySession::Native(network),
        })
    }
}

/// One thread's way of running a [`PolicyFile`].
#[derive(Debug)]
pub enum PolicySession<'a> {
    /// Through tract.
    Onnx(OnnxSession),
    /// Natively.
    Native(&'a Network),
}

impl PolicySession<'_> {
    /// The network on one observation (the mask is fed to models that take it).
    pub fn forward(&mut self, obs: &Observation, mask: ActionMask) -> Result<Output, ModelError> {
        match self {
            PolicySession::Onnx(s) => s.forward(obs, mask),
            PolicySession::Native(n) => Ok(n.forward(obs)),
        }
    }
}

impl Policy for PolicySession<'_> {
    fn evaluate(&mut self, observation: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure> {
        self.forward(observation, mask).map_err(|_| PolicyFailure)
    }
}
