//! The native weights artifact: a compact, versioned, checksummed binary file.
//!
//! Layout (all integers and floats little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `ARBPNET\0` |
//! | 8 | 4 | artifact format version, `2` (`1` is still read) |
//! | 12 | 4 | observation version ([`OBSERVATION_VERSION`]) |
//! | 16 | 4 | action-space version ([`ACTION_VERSION`]) |
//! | 20 | 4 | parameter count, `42341` |
//! | 24 | 4 x 42341 | parameters as `f32`, in PyTorch's order ([`Network::parameters`]) |
//! | 169388 | 4 x 275, 4 x 275 | version 2 only: the normalisation's shifts, then its scales, `f32` |
//! | end - 4 | 4 | CRC-32 (IEEE) of every byte before it |
//!
//! A version-1 artifact has no normalisation and loads with the identity.

use super::network::{Network, PARAMETER_COUNT};
use super::normalization::Normalization;
use crate::action::ACTION_VERSION;
use crate::error::Error;
use crate::observation::{OBSERVATION_LEN, OBSERVATION_VERSION};

/// The first eight bytes of an artifact.
pub const MAGIC: [u8; 8] = *b"ARBPNET\0";
/// Version of the artifact layout written.
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 24;
/// Length of a version-1 artifact (no normalisation) in bytes.
pub const ARTIFACT_V1_LEN: usize = HEADER_LEN + 4 * PARAMETER_COUNT + 4;
/// Length of an artifact in bytes.
pub const ARTIFACT_LEN: usize = ARTIFACT_V1_LEN + 4 * 2 * OBSERVATION_LEN;

/// Whether `bytes` start like an artifact (as opposed to an ONNX file).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

impl Network {
    /// Load the parameters (and, from version 2, the normalisation) of an artifact into this
    /// network, checking magic, versions, length and checksum first; on error the network is
    /// unchanged.
    pub fn load_artifact(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let bad = |reason| Err(Error::BadModel { reason });
        if !is_artifact(bytes) {
            return bad("not a native weights artifact (wrong magic)");
        }
        let len = match bytes.get(8..12).map(|_| u32_at(bytes, 8)) {
            Some(1) => ARTIFACT_V1_LEN,
            Some(FORMAT_VERSION) => ARTIFACT_LEN,
            Some(_) => return bad("unsupported native weights artifact format version"),
            None => return bad("native weights artifact has the wrong length (truncated or padded)"),
        };
        if bytes.len() != len {
            return bad("native weights artifact has the wrong length (truncated or padded)");
        }
        let body = &bytes[..len - 4];
        if crc32fast::hash(body) != u32_at(bytes, len - 4) {
            return bad("native weights artifact checksum mismatch");
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
        let values = &body[HEADER_LEN..];
        let value = |k: usize| f32::from_le_bytes(values[4 * k..4 * k + 4].try_into().expect("4 bytes"));
        if (0..values.len() / 4).any(|k| !value(k).is_finite()) {
            return bad("native weights artifact holds a non-finite parameter");
        }
        // Checked in full above, so the network is written in place (no second copy on the stack).
        let mut k = 0;
        let mut next = || {
            k += 1;
            value(k - 1)
        };
        self.set_parameters(&mut next);
        if len == ARTIFACT_LEN {
            self.input.set_values(next);
        } else {
            self.input = Normalization::IDENTITY;
        }
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
        let mut put = |p: f32| {
            out[at..at + 4].copy_from_slice(&p.to_le_bytes());
            at += 4;
        };
        self.parameters(&mut put);
        self.input.values(put);
        let crc = crc32fast::hash(&out[..ARTIFACT_LEN - 4]);
        out[ARTIFACT_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
    }

    /// This network as an artifact on the heap ([`Network::write_artifact`] into a new buffer).
    #[cfg(feature = "alloc")]
    pub fn to_artifact(&self) -> alloc::vec::Vec<u8> {
        let mut bytes = alloc::vec![0u8; ARTIFACT_LEN];
        self.write_artifact((&mut bytes[..]).try_into().expect("the artifact's length"));
        bytes
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
        n.input.set_values(|| {
            k += 0.5;
            k.cos()
        });
        n
    }

    /// `n` as a version-1 artifact: the parameters alone.
    fn version_1(n: &Network) -> std::vec::Vec<u8> {
        let mut bytes = vec![0u8; ARTIFACT_LEN];
        n.write_artifact((&mut bytes[..]).try_into().unwrap());
        bytes.truncate(ARTIFACT_V1_LEN - 4);
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn version_1_artifacts_load_with_the_identity_normalisation() {
        let n = sample();
        let mut back = Box::new(Network::ZERO);
        back.load_artifact(&version_1(&n)).unwrap();
        assert!(back.input.is_identity());
        assert_eq!(Network { input: n.input.clone(), ..(*back).clone() }, *n);
        // A version-2 artifact cut to version 1's length is refused, not read as version 1.
        let mut bytes = vec![0u8; ARTIFACT_LEN];
        n.write_artifact((&mut bytes[..]).try_into().unwrap());
        assert!(matches!(
            back.load_artifact(&bytes[..ARTIFACT_V1_LEN]),
            Err(Error::BadModel { reason }) if reason.contains("length")
        ));
        let mut other = bytes.clone();
        other[8] = 3;
        assert!(matches!(
            back.load_artifact(&other),
            Err(Error::BadModel { reason }) if reason.contains("format version")
        ));
        assert!(matches!(
            back.load_artifact(&bytes[..10]),
            Err(Error::BadModel { reason }) if reason.contains("length")
        ));
    }

    #[test]
    fn round_trip_and_corruption() {
        let n = sample();
        let mut bytes = vec![0u8; ARTIFACT_LEN];
        n.write_artifact((&mut bytes[..]).try_into().unwrap());
        let mut back = Box::new(Network::ZERO);
        back.load_artifact(&bytes).unwrap();
        assert_eq!(back, n);
        assert!(!back.input.is_identity());

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
        for at in [HEADER_LEN, ARTIFACT_LEN - 8] {
            let mut nan = bytes.clone();
            nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            reseal(&mut nan);
            assert!(
                matches!(back.load_artifact(&nan), Err(Error::BadModel { reason }) if reason.contains("non-finite"))
            );
        }
    }
}
