//! A policy file of either kind, told apart by its content: an ONNX model (run through tract) or a
//! native weights artifact (run by the native forward pass); and the one way to run it, a
//! [`PolicySession`] per thread.

use super::artifact::is_artifact;
use super::decision::{Policy, PolicyFailure};
use super::native::Native;
use super::network::Output;
use super::onnx::{ModelError, OnnxModel, OnnxSession};
use crate::action::ActionMask;
use crate::observation::Observation;
use std::boxed::Box;
use std::sync::Arc;

/// A loaded policy, shared by all threads (`Send + Sync`); each thread decides through its own
/// [`PolicySession`].
#[derive(Debug)]
pub enum PolicyFile {
    /// An ONNX model, run through tract.
    Onnx(Box<OnnxModel>),
    /// A native weights artifact, of either architecture.
    Native(Arc<Native>),
}

impl PolicyFile {
    /// Load a model from bytes: a native weights artifact when they start with its magic, else ONNX.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if is_artifact(bytes) {
            Ok(PolicyFile::Native(Arc::new(Native::from_artifact(bytes).map_err(ModelError::Artifact)?)))
        } else {
            Ok(PolicyFile::Onnx(Box::new(OnnxModel::from_bytes(bytes)?)))
        }
    }

    /// Load a model file; a file that cannot be read is [`ModelError::Io`].
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self, ModelError> {
        Self::from_bytes(&super::onnx::read(path.as_ref())?)
    }

    /// A session for the calling thread. It owns what it runs, so it may outlive this file.
    pub fn session(&self) -> Result<PolicySession, ModelError> {
        Ok(match self {
            PolicyFile::Onnx(model) => PolicySession::Onnx(model.session()?),
            PolicyFile::Native(network) => PolicySession::Native(Arc::clone(network)),
        })
    }
}

/// One thread's way of running a [`PolicyFile`]: the one place where native and ONNX models are
/// told apart when they run.
#[derive(Debug)]
pub enum PolicySession {
    /// Through tract, reusing its state between calls.
    Onnx(OnnxSession),
    /// Natively.
    Native(Arc<Native>),
}

impl PolicySession {
    /// The network on one observation (the mask is fed to models that take it).
    pub fn forward(&mut self, obs: &Observation, mask: ActionMask) -> Result<Output, ModelError> {
        match self {
            PolicySession::Onnx(s) => s.forward(obs, mask),
            PolicySession::Native(n) => Ok(n.forward(obs)),
        }
    }
}

impl Policy for PolicySession {
    fn evaluate(&mut self, observation: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure> {
        self.forward(observation, mask).map_err(|_| PolicyFailure)
    }
}
