//! A native network of either [`Architecture`], as a host that loads whatever artifact it is given
//! holds it.

use super::architecture::Architecture;
use super::artifact::{self, Stored};
use super::decision::{Policy, PolicyFailure};
use super::network::{Network, Output};
use super::normalization::Normalization;
use super::pointer::PointerNetwork;
use crate::action::ActionMask;
use crate::error::Error;
use crate::observation::Observation;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A native network, either architecture, on the heap.
#[derive(Debug, Clone, PartialEq)]
pub enum Native {
    /// The plan's network.
    Plan(Box<Network>),
    /// The pointer network.
    Pointer(Box<PointerNetwork>),
}

impl Native {
    /// A network of zeros of `architecture`, with the identity normalisation.
    pub fn zero(architecture: Architecture) -> Native {
        match architecture {
            Architecture::Plan => Native::Plan(Box::new(Network::ZERO)),
            Architecture::Pointer => Native::Pointer(Box::new(PointerNetwork::ZERO)),
        }
    }

    /// The network an artifact holds, of the architecture the artifact names.
    pub fn from_artifact(bytes: &[u8]) -> Result<Native, Error> {
        let checked = artifact::check(bytes)?;
        let mut native = Native::zero(checked.architecture);
        native.stored_mut().fill(&checked)?;
        Ok(native)
    }

    /// A network of `architecture` with `parameters` (the table's order) after `input`; `None`
    /// when their count is not the architecture's.
    pub fn from_parameters(
        architecture: Architecture,
        parameters: &[f32],
        input: Normalization,
    ) -> Option<Native> {
        if parameters.len() != architecture.parameter_count() {
            return None;
        }
        let mut native = Native::zero(architecture);
        let mut next = parameters.iter().copied();
        native.stored_mut().set(&mut || next.next().expect("counted above"), input);
        Some(native)
    }

    /// Its architecture.
    pub fn architecture(&self) -> Architecture {
        match self {
            Native::Plan(_) => Architecture::Plan,
            Native::Pointer(_) => Architecture::Pointer,
        }
    }

    /// Logits and value for one observation.
    pub fn forward(&self, obs: &Observation) -> Output {
        match self {
            Native::Plan(n) => n.forward(obs),
            Native::Pointer(n) => n.forward(obs),
        }
    }

    /// Logits and values for many observations, `out[i]` for `obs[i]` (as many as the shorter of
    /// the two holds).
    pub fn forward_batch(&self, obs: &[Observation], out: &mut [Output]) {
        match self {
            Native::Plan(n) => n.forward_batch(obs, out),
            Native::Pointer(n) => obs.iter().zip(out).for_each(|(o, out)| *out = n.forward(o)),
        }
    }

    /// The observation's normalisation.
    pub fn input(&self) -> &Normalization {
        match self {
            Native::Plan(n) => &n.trunk.input,
            Native::Pointer(n) => &n.trunk.input,
        }
    }

    /// Every parameter, in its table's order.
    pub fn parameters(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.architecture().parameter_count());
        match self {
            Native::Plan(n) => n.parameters(|p| out.push(p)),
            Native::Pointer(n) => n.parameters(|p| out.push(p)),
        }
        out
    }

    /// This network as an artifact.
    pub fn to_artifact(&self) -> Vec<u8> {
        match self {
            Native::Plan(n) => n.to_artifact(),
            Native::Pointer(n) => n.to_artifact(),
        }
    }

    fn stored_mut(&mut self) -> StoredMut<'_> {
        match self {
            Native::Plan(n) => StoredMut::Plan(n),
            Native::Pointer(n) => StoredMut::Pointer(n),
        }
    }
}

/// Either network, borrowed to be written.
enum StoredMut<'a> {
    Plan(&'a mut Network),
    Pointer(&'a mut PointerNetwork),
}

impl StoredMut<'_> {
    fn fill(self, checked: &artifact::Checked<'_>) -> Result<(), Error> {
        match self {
            StoredMut::Plan(n) => artifact::fill(n, checked),
            StoredMut::Pointer(n) => artifact::fill(n, checked),
        }
    }

    fn set(self, next: &mut dyn FnMut() -> f32, input: Normalization) {
        fn set<N: Stored>(n: &mut N, next: &mut dyn FnMut() -> f32, input: Normalization) {
            n.set_each_parameter(next);
            *n.normalization_mut() = input;
        }
        match self {
            StoredMut::Plan(n) => set(n, next, input),
            StoredMut::Pointer(n) => set(n, next, input),
        }
    }
}

impl Policy for &Native {
    fn evaluate(&mut self, observation: &Observation, _mask: ActionMask) -> Result<Output, PolicyFailure> {
        Ok(self.forward(observation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_artifact_loads_as_its_architecture_and_forwards_as_its_network() {
        for architecture in Architecture::ALL {
            let parameters: Vec<f32> =
                (0..architecture.parameter_count()).map(|k| libm::sinf(k as f32 * 0.37) * 0.3).collect();
            let mut input = Normalization::IDENTITY;
            input.scale[3] = 2.0;
            let native = Native::from_parameters(architecture, &parameters, input.clone()).unwrap();
            assert_eq!(native.architecture(), architecture);
            assert_eq!(native.parameters(), parameters);
            assert_eq!(*native.input(), input);
            let back = Native::from_artifact(&native.to_artifact()).unwrap();
            assert_eq!(back, native);
            let obs: Observation = core::array::from_fn(|k| libm::cosf(k as f32));
            assert_eq!(back.forward(&obs), native.forward(&obs));
            assert!(Native::from_parameters(architecture, &parameters[1..], input).is_none());
            // Every field holds the table's layer of its place.
            let kinds: Vec<_> = match &native {
                Native::Plan(n) => n.layers().iter().map(|l| l.kind()).collect(),
                Native::Pointer(n) => n.layers().iter().map(|l| l.kind()).collect(),
            };
            let table: Vec<_> = architecture.layers().iter().map(|l| (l.kind, l.input, l.output)).collect();
            assert_eq!(kinds, table, "{architecture}");
        }
        assert!(matches!(Native::from_artifact(b"ARBPNET\0"), Err(Error::BadModel { .. })));
    }
}
