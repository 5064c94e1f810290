//! The `arbpolicy` command line's library: loading a policy from a file of either kind.

use anyhow::{Context, Result};
use arbpolicy_core::ActionMask;
use arbpolicy_core::observation::Observation;
use arbpolicy_core::policy::artifact::is_artifact;
use arbpolicy_core::policy::onnx::{OnnxModel, OnnxSession};
use arbpolicy_core::policy::{Network, Output, Policy, PolicyFailure};
use std::path::Path;

/// A policy file: an ONNX model or a native weights artifact, told apart by content.
pub enum PolicyFile {
    /// An ONNX model, run through tract.
    Onnx(Box<OnnxModel>),
    /// A native weights artifact.
    Native(Box<Network>),
}

impl PolicyFile {
    /// Load `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read the model {}", path.display()))?;
        if is_artifact(&bytes) {
            let mut network = Box::new(Network::ZERO);
            network.load_artifact(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
            Ok(PolicyFile::Native(network))
        } else {
            let model =
                OnnxModel::from_bytes(&bytes).with_context(|| format!("cannot load {}", path.display()))?;
            Ok(PolicyFile::Onnx(Box::new(model)))
        }
    }

    /// A policy to decide with on this thread.
    pub fn policy(&self) -> Result<Runner<'_>> {
        Ok(match self {
            PolicyFile::Onnx(model) => Runner::Onnx(model.session()?),
            PolicyFile::Native(network) => Runner::Native(network),
        })
    }
}

/// One thread's way of running a [`PolicyFile`].
pub enum Runner<'a> {
    /// Through tract.
    Onnx(OnnxSession<'a>),
    /// Natively.
    Native(&'a Network),
}

impl Policy for Runner<'_> {
    fn evaluate(&mut self, observation: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure> {
        match self {
            Runner::Onnx(session) => session.evaluate(observation, mask),
            Runner::Native(network) => network.evaluate(observation, mask),
        }
    }
}
