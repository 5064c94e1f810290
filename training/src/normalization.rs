//! Fitting the observation's normalisation (the network's first layer, [`Normalization`]) on
//! observations of the training window.
//!
//! The method, feature by feature:
//! - the slot flags (`is_active` of a position slot, `is_valid` of an opportunity slot) are left
//!   as they are, 0 or 1;
//! - configuration and portfolio features, present in every observation: shift by the mean, scale
//!   by one over the standard deviation;
//! - position and opportunity features: pooled over the slots (one encoder reads every slot) and
//!   over the filled slots only; no shift, scale by one over the root mean square. A feature's
//!   zero and sign keep their meaning, and an empty slot stays all zeros;
//! - a feature that does not vary on the window (deviation or root mean square below 1e-9, or no
//!   filled slot) keeps the scale 1; the scale is at most 1e6.
//!
//! The observations come from the training market under random allowed actions, so positions
//! are open in many of them.

use arbpolicy_core::observation::{
    OBSERVATION_LEN, OPPORTUNITIES_OFFSET, OPPORTUNITY_NAMES, POSITION_NAMES, POSITIONS_OFFSET,
};
use arbpolicy_core::policy::Normalization;

/// The largest scale fitted.
pub const MAX_SCALE: f64 = 1e6;
/// Below this, a feature is taken not to vary.
const FLAT: f64 = 1e-9;

fn inverse(spread: f64) -> f64 {
    if spread > FLAT { (1.0 / spread).min(MAX_SCALE) } else { 1.0 }
}

/// The normalisation of `observations` (row after row) by the method of this module.
pub fn fit(observations: &[f32]) -> Normalization {
    let rows: Vec<&[f32]> = observations.chunks_exact(OBSERVATION_LEN).collect();
    let mut n = Normalization::IDENTITY;
    if rows.is_empty() {
        return n;
    }
    for k in 0..POSITIONS_OFFSET {
        let values: Vec<f64> = rows.iter().map(|r| f64::from(r[k])).collect();
        let (mean, std) = crate::statistics::mean_std(&values);
        n.shift[k] = mean as f32;
        n.scale[k] = inverse(std) as f32;
    }
    for (offset, width, end) in [
        (POSITIONS_OFFSET, POSITION_NAMES.len(), OPPORTUNITIES_OFFSET),
        (OPPORTUNITIES_OFFSET, OPPORTUNITY_NAMES.len(), OBSERVATION_LEN),
    ] {
        let slots = (end - offset) / width;
        for feature in 1..width {
            let (mut squares, mut count) = (0.0f64, 0usize);
            for r in &rows {
                for slot in 0..slots {
                    let at = offset + slot * width;
                    if r[at] == 1.0 {
                        squares += f64::from(r[at + feature]).powi(2);
                        count += 1;
                    }
                }
            }
            let rms = if count > 0 { (squares / count as f64).sqrt() } else { 0.0 };
            for slot in 0..slots {
                n.scale[offset + slot * width + feature] = inverse(rms) as f32;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_feature_by_hand() {
        // Two observations: the first config feature 2 and 4; position slot 0 open in the first
        // with a net P&L of 3, slot 1 open in the second with -4; no opportunity slot filled.
        let mut rows = vec![0.0f32; 2 * OBSERVATION_LEN];
        rows[0] = 2.0;
        rows[OBSERVATION_LEN] = 4.0;
        let slot1 = POSITIONS_OFFSET + POSITION_NAMES.len();
        rows[POSITIONS_OFFSET] = 1.0;
        rows[POSITIONS_OFFSET + 1] = 3.0;
        rows[OBSERVATION_LEN + slot1] = 1.0;
        rows[OBSERVATION_LEN + slot1 + 1] = -4.0;
        // An empty slot's leftover value is not counted.
        rows[slot1 + 1] = 100.0;
        let n = fit(&rows);
        assert_eq!((n.shift[0], n.scale[0]), (3.0, 1.0));
        // A constant feature: shifted to 0, scale 1.
        assert_eq!((n.shift[1], n.scale[1]), (0.0, 1.0));
        // RMS of 3 and -4 over the open slots: sqrt(12.5), for every slot, no shift.
        let rms = 12.5f64.sqrt();
        for at in [POSITIONS_OFFSET + 1, slot1 + 1, POSITIONS_OFFSET + 4 * POSITION_NAMES.len() + 1] {
            assert_eq!((n.shift[at], n.scale[at]), (0.0, (1.0 / rms) as f32));
        }
        // Flags and features of slots never filled are left alone.
        assert_eq!((n.shift[POSITIONS_OFFSET], n.scale[POSITIONS_OFFSET]), (0.0, 1.0));
        assert_eq!(n.scale[OPPORTUNITIES_OFFSET + 5], 1.0);
        // An empty slot stays zero.
        let normalised = n.apply(&[0.0; OBSERVATION_LEN]);
        assert!(normalised[POSITIONS_OFFSET..].iter().all(|&v| v == 0.0));
        assert!(fit(&[]).is_identity());
    }
}
