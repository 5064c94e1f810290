//! The observation's normalisation, the network's first layer: `(x - shift) x scale`, feature by
//! feature.
//!
//! A trained model carries the shift and scale fitted on its training window (`arbpolicy train`,
//! `docs/model-contract.md`); a model without them (a version-1 artifact, an ONNX graph that
//! starts with the network itself) has the identity, which leaves every feature exactly as it is.

use crate::observation::{OBSERVATION_LEN, Observation};

/// A per-feature shift and scale.
#[derive(Debug, Clone, PartialEq)]
#[repr(align(64))]
pub struct Normalization {
    /// Subtracted from each feature first.
    pub shift: [f32; OBSERVATION_LEN],
    /// Then each feature is multiplied by this.
    pub scale: [f32; OBSERVATION_LEN],
}

impl Normalization {
    /// Every feature as it is: `(x - 0) x 1 = x` exactly.
    pub const IDENTITY: Normalization =
        Normalization { shift: [0.0; OBSERVATION_LEN], scale: [1.0; OBSERVATION_LEN] };

    /// `(obs - shift) x scale`.
    #[inline(always)]
    pub fn apply(&self, obs: &Observation) -> Observation {
        let mut out = [0.0f32; OBSERVATION_LEN];
        for i in 0..OBSERVATION_LEN {
            out[i] = (obs[i] - self.shift[i]) * self.scale[i];
        }
        out
    }

    /// Whether this is the identity.
    pub fn is_identity(&self) -> bool {
        self == &Self::IDENTITY
    }

    /// Whether every shift and scale is finite.
    pub fn is_finite(&self) -> bool {
        self.shift.iter().chain(&self.scale).all(|v| v.is_finite())
    }

    /// Call `f` with the shifts, then the scales.
    pub fn values(&self, mut f: impl FnMut(f32)) {
        self.shift.iter().chain(&self.scale).for_each(|&v| f(v));
    }

    /// Set the shifts, then the scales, from `next`.
    pub fn set_values(&mut self, mut next: impl FnMut() -> f32) {
        self.shift.iter_mut().chain(self.scale.iter_mut()).for_each(|v| *v = next());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_leaves_every_value_and_the_rest_shift_then_scale() {
        let mut obs = [0.0f32; OBSERVATION_LEN];
        for (k, v) in obs.iter_mut().enumerate() {
            *v = (k as f32 - 100.0) * 1.37e-3;
        }
        assert_eq!(Normalization::IDENTITY.apply(&obs), obs);
        assert!(Normalization::IDENTITY.is_identity());
        let mut n = Normalization::IDENTITY;
        n.shift[3] = 0.5;
        n.scale[3] = 4.0;
        n.scale[7] = 0.0;
        let out = n.apply(&obs);
        assert_eq!(out[3], (obs[3] - 0.5) * 4.0);
        assert_eq!(out[7], 0.0);
        assert_eq!(out[8], obs[8]);
        assert!(!n.is_identity() && n.is_finite());
        n.scale[9] = f32::NAN;
        assert!(!n.is_finite());
    }
}
