//! The native weights artifact: a compact, versioned, checksummed binary file of either
//! [`Architecture`].
//!
//! Layout (all integers and floats little-endian), `P` the architecture's parameter count
//! ([`Architecture::parameter_count`]: 42,341 for the plan's network, 46,758 for the pointer):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `ARBPNET\0` |
//! | 8 | 4 | artifact format version, `3` (`1` and `2` are still read) |
//! | 12 | 4 | observation version ([`OBSERVATION_VERSION`]) |
//! | 16 | 4 | action-space version ([`ACTION_VERSION`]) |
//! | 20 | 4 | parameter count `P` |
//! | 24 | 4 | architecture ([`Architecture::code`]: 0 the plan's, 1 the pointer) |
//! | 28 | 4 x `P` | parameters as `f32`, in the table's order ([`super::architecture`]) |
//! | 28 + 4 `P` | 4 x 275, 4 x 275 | the normalisation's shifts, then its scales, `f32` |
//! | end - 4 | 4 | CRC-32 (IEEE) of every byte before it |
//!
//! Versions 1 and 2 hold the plan's network and have no architecture field (their parameters
//! start at offset 24); version 1 has no normalisation either and loads with the identity.

use super::architecture::Architecture;
use super::normalization::Normalization;
use crate::action::ACTION_VERSION;
use crate::error::Error;
use crate::observation::{OBSERVATION_LEN, OBSERVATION_VERSION};

/// The first eight bytes of an artifact.
pub const MAGIC: [u8; 8] = *b"ARBPNET\0";
/// Version of the artifact layout written.
pub const FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 28;
const LEGACY_HEADER_LEN: usize = 24;
const NORMALIZATION_LEN: usize = 4 * 2 * OBSERVATION_LEN;

/// Length in bytes of an artifact of `architecture`.
pub const fn artifact_len(architecture: Architecture) -> usize {
    HEADER_LEN + 4 * architecture.parameter_count() + NORMALIZATION_LEN + 4
}

/// Length in bytes of an artifact of the plan's network.
pub const ARTIFACT_LEN: usize = artifact_len(Architecture::Plan);
/// Length in bytes of an artifact of the pointer network.
pub const POINTER_ARTIFACT_LEN: usize = artifact_len(Architecture::Pointer);

/// Whether `bytes` start like an artifact (as opposed to an ONNX file).
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// A network an artifact holds: its architecture, its parameters in the table's order and its
/// normalisation. Implemented by both native networks.
pub trait Stored {
    /// Its architecture.
    const ARCHITECTURE: Architecture;
    /// Call `f` with every parameter, in the table's order.
    fn each_parameter(&self, f: &mut dyn FnMut(f32));
    /// Set every parameter, in the table's order, from `next`.
    fn set_each_parameter(&mut self, next: &mut dyn FnMut() -> f32);
    /// The observation's normalisation.
    fn normalization_mut(&mut self) -> &mut Normalization;
    /// The observation's normalisation.
    fn normalization(&self) -> &Normalization;
}

/// An artifact checked in full, not yet read into a network.
pub(crate) struct Checked<'a> {
    /// The architecture it names.
    pub(crate) architecture: Architecture,
    /// The parameters, then (if `normalised`) the normalisation.
    values: &'a [u8],
    normalised: bool,
}

impl Checked<'_> {
    fn value(&self, k: usize) -> f32 {
        f32::from_le_bytes(self.values[4 * k..4 * k + 4].try_into().expect("4 bytes"))
    }
}

/// Check magic, versions, length, architecture, checksum and that every value is finite.
pub(crate) fn check(bytes: &[u8]) -> Result<Checked<'_>, Error> {
    let bad = |reason| Err(Error::BadModel { reason });
    if !is_artifact(bytes) {
        return bad("not a native weights artifact (wrong magic)");
    }
    let wrong_length = "native weights artifact has the wrong length (truncated or padded)";
    let (header, architecture, normalised) = match bytes.get(8..12).map(|_| u32_at(bytes, 8)) {
        Some(1) => (LEGACY_HEADER_LEN, Architecture::Plan, false),
        Some(2) => (LEGACY_HEADER_LEN, Architecture::Plan, true),
        Some(FORMAT_VERSION) => match bytes.get(24..28).map(|_| Architecture::from_code(u32_at(bytes, 24))) {
            Some(Some(a)) => (HEADER_LEN, a, true),
            Some(None) => return bad("native weights artifact of an unknown architecture"),
            None => return bad(wrong_length),
        },
        Some(_) => return bad("unsupported native weights artifact format version"),
        None => return bad(wrong_length),
    };
    let values_len = 4 * architecture.parameter_count() + if normalised { NORMALIZATION_LEN } else { 0 };
    let len = header + values_len + 4;
    if bytes.len() != len {
        return bad(wrong_length);
    }
    if crc32fast::hash(&bytes[..len - 4]) != u32_at(bytes, len - 4) {
        return bad("native weights artifact checksum mismatch");
    }
    if u32_at(bytes, 12) != OBSERVATION_VERSION {
        return bad("the model was trained on another observation version");
    }
    if u32_at(bytes, 16) != ACTION_VERSION {
        return bad("the model was trained on another action-space version");
    }
    if u32_at(bytes, 20) as usize != architecture.parameter_count() {
        return bad("native weights artifact has the wrong parameter count");
    }
    let checked = Checked { architecture, values: &bytes[header..len - 4], normalised };
    if (0..values_len / 4).any(|k| !checked.value(k).is_finite()) {
        return bad("native weights artifact holds a non-finite parameter");
    }
    Ok(checked)
}

/// The architecture of the network an artifact holds, the artifact checked in full.
pub fn architecture_of(bytes: &[u8]) -> Result<Architecture, Error> {
    check(bytes).map(|c| c.architecture)
}

/// Load an artifact into `network`, checking it in full first; on error the network is unchanged.
pub fn load<N: Stored + ?Sized>(network: &mut N, bytes: &[u8]) -> Result<(), Error> {
    fill(network, &check(bytes)?)
}

/// Read a checked artifact into `network`, refusing one of another architecture; on error the
/// network is unchanged.
pub(crate) fn fill<N: Stored + ?Sized>(network: &mut N, checked: &Checked<'_>) -> Result<(), Error> {
    if checked.architecture != N::ARCHITECTURE {
        return Err(Error::BadModel { reason: "native weights artifact of another architecture" });
    }
    // Checked in full above, so the network is written in place (no second copy on the stack).
    let mut k = 0;
    let mut next = || {
        k += 1;
        checked.value(k - 1)
    };
    network.set_each_parameter(&mut next);
    if checked.normalised {
        network.normalization_mut().set_values(next);
    } else {
        *network.normalization_mut() = Normalization::IDENTITY;
    }
    Ok(())
}

/// Write `network` as an artifact into `out`, which holds exactly
/// [`artifact_len`]`(N::ARCHITECTURE)` bytes.
pub fn write<N: Stored + ?Sized>(network: &N, out: &mut [u8]) {
    let architecture = N::ARCHITECTURE;
    let len = artifact_len(architecture);
    assert_eq!(out.len(), len, "the artifact's length");
    out[..8].copy_from_slice(&MAGIC);
    for (at, v) in [
        (8, FORMAT_VERSION),
        (12, OBSERVATION_VERSION),
        (16, ACTION_VERSION),
        (20, architecture.parameter_count() as u32),
        (24, architecture.code()),
    ] {
        out[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    let mut at = HEADER_LEN;
    let mut put = |p: f32| {
        out[at..at + 4].copy_from_slice(&p.to_le_bytes());
        at += 4;
    };
    network.each_parameter(&mut put);
    network.normalization().values(put);
    let crc = crc32fast::hash(&out[..len - 4]);
    out[len - 4..].copy_from_slice(&crc.to_le_bytes());
}

/// `network` as an artifact on the heap.
#[cfg(feature = "alloc")]
pub fn to_vec<N: Stored + ?Sized>(network: &N) -> alloc::vec::Vec<u8> {
    let mut bytes = alloc::vec![0u8; artifact_len(N::ARCHITECTURE)];
    write(network, &mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Network, PointerNetwork};
    use std::boxed::Box;
    use std::vec::Vec;

    fn filled<N: Stored>(mut n: Box<N>) -> Box<N> {
        let mut k = 0.0f32;
        n.set_each_parameter(&mut || {
            k += 0.25;
            libm::sinf(k)
        });
        n.normalization_mut().set_values(|| {
            k += 0.5;
            libm::cosf(k)
        });
        n
    }

    fn sample() -> Box<Network> {
        filled(Box::new(Network::ZERO))
    }

    /// `n` as a version-1 or version-2 artifact: the plan's network without the architecture
    /// field, version 1 without the normalisation.
    fn legacy(n: &Network, version: u32) -> Vec<u8> {
        let full = to_vec(n);
        let mut bytes = full[..LEGACY_HEADER_LEN].to_vec();
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        let end = if version == 1 { full.len() - 4 - NORMALIZATION_LEN } else { full.len() - 4 };
        bytes.extend_from_slice(&full[HEADER_LEN..end]);
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    fn refused(network: &mut Network, bytes: &[u8], reason_has: &str) {
        match network.load_artifact(bytes) {
            Err(Error::BadModel { reason }) => assert!(reason.contains(reason_has), "{reason}"),
            other => panic!("{other:?}, expected a refusal naming {reason_has}"),
        }
    }

    #[test]
    fn version_1_and_2_artifacts_load_as_the_plan_s_network() {
        let n = sample();
        let mut back = Box::new(Network::ZERO);
        back.load_artifact(&legacy(&n, 1)).unwrap();
        assert!(back.trunk.input.is_identity());
        back.trunk.input = n.trunk.input.clone();
        assert_eq!(*back, *n);
        back.load_artifact(&legacy(&n, 2)).unwrap();
        assert_eq!(back, n);
        assert_eq!(architecture_of(&legacy(&n, 2)), Ok(Architecture::Plan));
        // A version-3 artifact relabelled as version 2 is refused, not read as version 2.
        let mut bytes = to_vec(&*n);
        bytes[8] = 2;
        refused(&mut back, &bytes, "length");
        bytes[8] = 4;
        refused(&mut back, &bytes, "format version");
        bytes[8] = 3;
        refused(&mut back, &bytes[..10], "length");
        refused(&mut back, &bytes[..26], "length");
        assert_eq!(back, n, "a failed load leaves the network unchanged");
    }

    #[test]
    fn both_architectures_round_trip_and_refuse_each_other() {
        let plan = sample();
        let bytes = to_vec(&*plan);
        assert_eq!(bytes.len(), ARTIFACT_LEN);
        let mut back = Box::new(Network::ZERO);
        back.load_artifact(&bytes).unwrap();
        assert_eq!(back, plan);
        assert!(!back.trunk.input.is_identity());

        let pointer = filled(Box::new(PointerNetwork::ZERO));
        let pointer_bytes = pointer.to_artifact();
        assert_eq!(pointer_bytes.len(), POINTER_ARTIFACT_LEN);
        assert_eq!(architecture_of(&pointer_bytes), Ok(Architecture::Pointer));
        let mut pointer_back = Box::new(PointerNetwork::ZERO);
        pointer_back.load_artifact(&pointer_bytes).unwrap();
        assert_eq!(pointer_back, pointer);

        refused(&mut back, &pointer_bytes, "another architecture");
        assert!(matches!(
            pointer_back.load_artifact(&bytes),
            Err(Error::BadModel { reason }) if reason.contains("another architecture")
        ));
        // An architecture code nobody knows (told before the checksum is).
        let mut unknown = pointer_bytes.clone();
        unknown[24] = 7;
        refused(&mut back, &unknown, "unknown architecture");
        assert_eq!(back, plan);
    }

    #[test]
    fn corruption_versions_and_non_finite_parameters_are_refused() {
        let n = sample();
        let bytes = to_vec(&*n);
        let mut back = Box::new(Network::ZERO);
        let mut flipped = bytes.clone();
        flipped[1000] ^= 1;
        refused(&mut back, &flipped, "checksum");
        refused(&mut back, &bytes[..bytes.len() - 1], "length");
        refused(&mut back, b"ONNX", "magic");

        let reseal = |b: &mut [u8]| {
            let crc = crc32fast::hash(&b[..ARTIFACT_LEN - 4]);
            b[ARTIFACT_LEN - 4..].copy_from_slice(&crc.to_le_bytes());
        };
        let mut other = bytes.clone();
        other[12] = 9;
        reseal(&mut other);
        refused(&mut back, &other, "observation version");
        let mut count = bytes.clone();
        count[20] ^= 1;
        reseal(&mut count);
        refused(&mut back, &count, "parameter count");
        for at in [HEADER_LEN, ARTIFACT_LEN - 8] {
            let mut nan = bytes.clone();
            nan[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            reseal(&mut nan);
            refused(&mut back, &nan, "non-finite");
        }
        assert_eq!(Box::new(Network::ZERO), back, "every load failed, the network is untouched");
    }
}
