//! The native weights artifact: a compact, versioned, checksummed binary file.
//!
//! Layout (all integers and floats little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `ARBPNET\0` |
//! | 8 | 4 | artifact format version, `1` |
//! | 12 | 4 | observation version ([`OBSERVATION_VERSION`]) |
//! | 16 | 4 | action-space version ([`ACTION_VERSION`]) |
//! | 20 | 4 | parameter count, `42341` |
//! | 24 | 4 x 42341 | parameters as `f32`, in PyTorch's order ([`Network::parameters`]) |
//! | end - 4 | 4 | CRC-32 (IEEE) of every byte before it |

use super::network::{Network, PARAMETER_COUNT};
use crate::action::ACTION_VERSION;
use crate::error::Error;
use crate::observation::OBSERVATION_VERSION;

/// The first eight bytes of an artifact.
pub const MAGIC: [u8; 8] = *b"ARBPNET\0";
/// Version of the artifact layout.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 24;
/// Length of an artifact in bytes.
pub const ARTIFACT_LEN: usize = HEADER_LEN + 4 * PARAMETER_COUNT + 4;

/// Whether `bytes` start like an artifact (as opposed to an ONNX file).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

impl Network {
    /// Load the parameters of an artifact into this network, checking magic, versions, length and
    /// checksum first; on error the network is unchanged.
    pub fn load_artifact(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let bad = |reason| Err(Error::BadModel { reason });
        if !is_artifact(bytes) {
            return bad("not a native weights artifact (wrong magic)");
        }
        if bytes.len() != ARTIFACT_LEN {
            return bad("native weights artifact has the wrong length (truncated or padded)");
        }
        let body = &bytes[..ARTIFACT_LEN - 4];
        if crc32fast::hash(body) != u32_at(bytes, ARTIFACT_LEN - 4) {
            return bad("native weights artifact checksum mismatch");
        }
        if u32_at(bytes, 8) != FORMAT_VERSION {
            return bad("unsupported native weights artifact format version");
        }
        if u32_at(bytes, 12) != OBSERVATION_VERSION {
            return bad("the model was trained on another observation version");
        }
        if u32_at(bytes, 16) != ACTION_VERSION {
            return bad("the model was trained on another action-space version");
        }
        if u32_at(bytes, 20) as usize != PARAMETER_COUNT {
            return bad("native weights artifact has the wrong parameter count");
        }
        let params = &body[HEADER_LEN..];
        let value = |k: usize| f32::from_le_bytes(params[4 * k..4 * k + 4].try_into().expect("4 bytes"));
        if (0..PARAMETER_COUNT).any(|k| !value(k).is_finite()) {
            return bad("native weights artifact holds a non-finite parameter");
        }
        // Checked in full above, so the network is written in place (no second copy on the stack).
        let mut k = 0;
        self.set_parameters(|| {
            k += 1;
            value(k - 1)
        });
        Ok(())
    }

    /// Write this network as an artifact into `out` (exactly [`ARTIFACT_LEN`] bytes).
    pub fn write_artifact(&self, out: &mut [u8; ARTIFACT_LEN]) {
        out[..8].copy_from_slice(&MAGIC);
        for (at, v) in [
            (8, FORMAT_VERSION),
            (12, OBSERVATION_VERSION),
            (16, ACTION_VERSION),
            (20, PARAMETER_COUNT as u32),
        ] {
            out[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut at = HEADER_LEN;
        self.parameters(|p| {
            out[at..at + 4].copy_from_slice(&p.to_le_bytes());
            at += 4;
        });
        let crc = crc32fast::hash(&out[..ARTIFACT_LEN - 4]);
        out[ARTIFACT_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::vec;

    fn sample() -> Box<Network> {
        let mut n = Box::new(Network::ZERO);
        let mut k = 0.0f32;
        n.set_parameters(|| {
            k += 0.25;
            k.sin()
        });
        n
    }

    #[test]
    fn round_trip_and_corruption() {
        let n = sample();
        let mut bytes = vec![0u8; ARTIFACT_LEN];
        n.write_artifact((&mut bytes[..]).try_into().unwrap());
        let mut back = Box::new(Network::ZERO);
        back.load_artifact(&bytes).unwrap();
        assert_eq!(back, n);

        let mut flipped = bytes.clone();
        flipped[1000] ^= 1;
        assert!(
            matches!(back.load_artifact(&flipped), Err(Error::BadModel { reason }) if reason.contains("checksum"))
        );
        assert!(
            matches!(back.load_artifact(&bytes[..bytes.len() - 1]), Err(Error::BadModel { reason }) if reason.contains("length"))
        );
        assert!(
            matches!(back.load_artifact(b"ONNX"), Err(Error::BadModel { reason }) if reason.contains("magic"))
        );
        assert_eq!(back, n, "a failed load leaves the network unchanged");
    }

    #[test]
    fn versions_and_non_finite_parameters_are_refused() {
        let n = sample();
        let mut bytes = vec![0u8; ARTIFACT_LEN];
        let reseal = |b: &mut [u8]| {
            let crc = crc32fast::hash(&b[..ARTIFACT_LEN - 4]);
            b[ARTIFACT_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
        };
        n.write_artifact((&mut bytes[..]).try_into().unwrap());
        let mut other = bytes.clone();
        other[12] = 9;
        reseal(&mut other);
        let mut back = Box::new(Network::ZERO);
        assert!(
            matches!(back.load_artifact(&other), Err(Error::BadModel { reason }) if reason.contains("observation version"))
        );
        let mut nan = bytes.clone();
        nan[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        reseal(&mut nan);
        assert!(
            matches!(back.load_artifact(&nan), Err(Error::BadModel { reason }) if reason.contains("non-finite"))
        );
    }
}
