//! From logits to an action: masking, softmax, greedy choice, seeded sampling, confidence.
//!
//! Invalid actions get the finite logit [`MASKED_LOGIT`] (never `-inf`, whose `p x log p` is NaN),
//! and their probabilities are then set to exactly 0. HOLD is always allowed, so no row is fully
//! masked. Logits of valid actions must be finite: otherwise the caller falls back to HOLD.

use crate::action::{ACTION_COUNT, ActionMask};
use core::fmt;
use rand::Rng;

/// The logit given to invalid actions.
pub const MASKED_LOGIT: f32 = -1e8;
/// Chosen-action probability at or above which a decision is `HIGH` confidence.
pub const HIGH_CONFIDENCE: f32 = 0.6;
/// Chosen-action probability at or above which a decision is `MEDIUM` confidence (else `LOW`).
pub const MEDIUM_CONFIDENCE: f32 = 0.3;

/// The logits with every invalid action set to [`MASKED_LOGIT`].
pub fn masked_logits(logits: &[f32; ACTION_COUNT], mask: ActionMask) -> [f32; ACTION_COUNT] {
    core::array::from_fn(|i| if mask.allows(i) { logits[i] } else { MASKED_LOGIT })
}

/// Softmax over the allowed actions; invalid actions get exactly 0. `None` when an allowed logit is
/// not finite, or when `mask` allows nothing.
pub fn probabilities(logits: &[f32; ACTION_COUNT], mask: ActionMask) -> Option<[f32; ACTION_COUNT]> {
    if mask.count() == 0 || mask.iter().any(|i| !logits[i].is_finite()) {
        return None;
    }
    let masked = masked_logits(logits, mask);
    let top = masked.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l));
    let mut p = masked.map(|l| libm::expf(l - top));
    for (i, v) in p.iter_mut().enumerate() {
        if !mask.allows(i) {
            *v = 0.0;
        }
    }
    let total: f32 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= total);
    Some(p)
}

/// The most probable allowed action (the lowest index among equals).
pub fn greedy(probabilities: &[f32; ACTION_COUNT], mask: ActionMask) -> usize {
    mask.iter().fold(0, |best, i| if probabilities[i] > probabilities[best] { i } else { best })
}

/// An allowed action drawn from `probabilities` with `rng`.
pub fn sample<R: Rng + ?Sized>(probabilities: &[f32; ACTION_COUNT], mask: ActionMask, rng: &mut R) -> usize {
    let mut u: f32 = rng.random::<f32>();
    let mut last = 0;
    for i in mask.iter() {
        last = i;
        u -= probabilities[i];
        if u < 0.0 {
            return i;
        }
    }
    // Rounding left a sliver above the total: the last allowed action takes it.
    last
}

/// Entropy of the distribution, nats; invalid actions (probability 0) contribute 0.
pub fn entropy(probabilities: &[f32; ACTION_COUNT]) -> f32 {
    probabilities.iter().filter(|&&p| p > 0.0).map(|&p| -p * libm::logf(p)).sum()
}

/// How sure the policy is of its choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Confidence {
    /// The chosen action has probability >= [`HIGH_CONFIDENCE`].
    High,
    /// The chosen action has probability >= [`MEDIUM_CONFIDENCE`].
    Medium,
    /// Anything less.
    Low,
}

impl Confidence {
    /// The label of a chosen action of probability `p`.
    pub fn of(p: f32) -> Self {
        if p >= HIGH_CONFIDENCE {
            Confidence::High
        } else if p >= MEDIUM_CONFIDENCE {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    }

    /// `HIGH`, `MEDIUM` or `LOW`.
    pub fn label(self) -> &'static str {
        match self {
            Confidence::High => "HIGH",
            Confidence::Medium => "MEDIUM",
            Confidence::Low => "LOW",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn mask_of(allowed: &[usize]) -> ActionMask {
        let mut m = ActionMask::NONE;
        allowed.iter().for_each(|&i| m.set(i, true));
        m
    }

    #[test]
    fn masked_probabilities_are_exactly_zero() {
        let logits: [f32; 36] = core::array::from_fn(|i| i as f32 * 0.1);
        let m = mask_of(&[0, 3, 35]);
        let p = probabilities(&logits, m).unwrap();
        for (i, &v) in p.iter().enumerate() {
            assert_eq!(v == 0.0, !m.allows(i), "action {i}");
        }
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // Huge logits on masked actions change nothing.
        let mut loud = logits;
        loud[7] = 1e30;
        assert_eq!(probabilities(&loud, m).unwrap(), p);
    }

    #[test]
    fn masked_entropy_is_the_entropy_of_the_renormalised_distribution() {
        let logits: [f32; 36] = core::array::from_fn(|i| (i % 5) as f32);
        let m = mask_of(&[0, 1, 2]);
        let p = probabilities(&logits, m).unwrap();
        // Logits 0, 1, 2 -> softmax by hand.
        let z = 1.0 + 1f32.exp() + 2f32.exp();
        let q = [1.0 / z, 1f32.exp() / z, 2f32.exp() / z];
        let h: f32 = q.iter().map(|&v| -v * v.ln()).sum();
        assert!((entropy(&p) - h).abs() < 1e-6);
    }

    #[test]
    fn a_single_valid_action_has_probability_one_and_no_nan() {
        let logits = [f32::MAX; 36];
        let p = probabilities(&logits, ActionMask::hold_only()).unwrap();
        assert_eq!(p[0], 1.0);
        assert_eq!(entropy(&p), 0.0);
        assert_eq!(greedy(&p, ActionMask::hold_only()), 0);
    }

    #[test]
    fn non_finite_allowed_logits_refuse() {
        let mut logits = [0.0f32; 36];
        logits[5] = f32::NAN;
        assert!(probabilities(&logits, mask_of(&[0, 5])).is_none());
        assert!(probabilities(&logits, mask_of(&[0, 6])).is_some(), "a NaN on a masked action is ignored");
        assert!(probabilities(&[0.0; 36], ActionMask::NONE).is_none());
    }

    #[test]
    fn sampler_never_returns_an_invalid_action() {
        let logits: [f32; 36] = core::array::from_fn(|i| ((i * 7) % 11) as f32 - 5.0);
        let m = mask_of(&[0, 2, 13, 30, 34]);
        let p = probabilities(&logits, m).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        let mut counts = [0u32; 36];
        for _ in 0..1_000_000 {
            counts[sample(&p, m, &mut rng)] += 1;
        }
        for (i, &c) in counts.iter().enumerate() {
            if m.allows(i) {
                let expected = p[i] * 1e6;
                assert!(
                    (c as f32 - expected).abs() < 5.0 * expected.sqrt() + 5.0,
                    "action {i}: {c} vs {expected}"
                );
            } else {
                assert_eq!(c, 0, "invalid action {i} drawn");
            }
        }
        assert_eq!(
            greedy(&p, m),
            (0..36).filter(|&i| m.allows(i)).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
        );
    }

    #[test]
    fn confidence_thresholds() {
        assert_eq!(Confidence::of(0.6), Confidence::High);
        assert_eq!(Confidence::of(0.59), Confidence::Medium);
        assert_eq!(Confidence::of(0.3), Confidence::Medium);
        assert_eq!(Confidence::of(0.29), Confidence::Low);
    }
}
