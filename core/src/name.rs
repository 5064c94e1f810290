//! Coin and exchange names: at most 16 bytes of UTF-8, stored inline and zero-padded so that a
//! name is `Copy` and compares as one 16-byte value (names are compared on every quote lookup).
//! It behaves as `arrayvec::ArrayString<16>` restricted to non-empty strings without NUL bytes; a
//! property test checks it against that crate.

use crate::error::Error;
use core::fmt;

/// A short fixed-capacity name: a coin symbol or an exchange.
///
/// Aligned to 8 bytes so that it moves as two words (byte-aligned, it would sit one byte into the
/// results that carry it, and every move would stall on a split store).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(align(8))]
pub struct Name([u8; Name::CAPACITY]);

// The header generator reads the core for the ABI's structs; this is not one of them.
/// cbindgen:ignore
impl Name {
    /// Largest length in bytes.
    pub const CAPACITY: usize = 16;

    /// Make a name, refusing an empty string, one longer than 16 bytes and one holding a NUL byte.
    pub fn new(s: &str) -> Result<Self, Error> {
        if s.is_empty() || s.len() > Self::CAPACITY || s.bytes().any(|b| b == 0) {
            return Err(Error::BadName { len: s.len() });
        }
        let mut bytes = [0; Self::CAPACITY];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Name(bytes))
    }

    /// A name from a field of `CAPACITY + 1` bytes holding it NUL-terminated (as C hosts pass
    /// names): the bytes before the first NUL, whatever follows it. Refuses a field without NUL,
    /// an empty name and bytes that are not UTF-8.
    ///
    /// Hosts send hundreds of names a decision, so the NUL is found and the padding made in one
    /// 16-byte word, and only names with non-ASCII bytes go through the UTF-8 check.
    #[inline]
    pub fn from_nul_terminated(field: &[u8; Self::CAPACITY + 1]) -> Result<Self, Error> {
        const LOW: u128 = u128::from_le_bytes([0x01; 16]);
        const HIGH: u128 = u128::from_le_bytes([0x80; 16]);
        let mut head = [0u8; Self::CAPACITY];
        head.copy_from_slice(&field[..Self::CAPACITY]);
        let head = u128::from_le_bytes(head);
        // Flags the zero bytes; the lowest flag is exact (a borrow only spills into higher bytes).
        let zeros = head.wrapping_sub(LOW) & !head & HIGH;
        // The lowest flag alone, at bit 8 len + 7; below bit 8 len, the name's bytes. Without a
        // zero byte the mask is every bit, and the 17th byte must end the name.
        let first = zeros & zeros.wrapping_neg();
        if first == 0 && field[Self::CAPACITY] != 0 {
            return Err(Error::NameNotTerminated);
        }
        if first == 0x80 {
            return Err(Error::BadName { len: 0 });
        }
        let padded = head & (first >> 7).wrapping_sub(1);
        let bytes = padded.to_le_bytes();
        if padded & HIGH != 0 {
            let len = bytes.iter().position(|&b| b == 0).unwrap_or(Self::CAPACITY);
            core::str::from_utf8(&bytes[..len]).map_err(|_| Error::NameNotUtf8)?;
        }
        Ok(Name(bytes))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(Self::CAPACITY);
        // Built from a whole `&str`, so the bytes before the padding are valid UTF-8.
        core::str::from_utf8(&self.0[..len]).unwrap_or("")
    }

    /// The zero-padded bytes.
    pub fn as_bytes(&self) -> &[u8; Self::CAPACITY] {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl core::str::FromStr for Name {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Name::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrayvec::ArrayString;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn behaves_as_arrayvec_array_string(a in "\\PC{0,20}", b in "\\PC{0,20}") {
            let reference = |s: &str| ArrayString::<16>::from(s).ok().filter(|r| !r.is_empty() && !r.contains('\0'));
            let (na, ra) = (Name::new(&a).ok(), reference(&a));
            prop_assert_eq!(na.map(|n| std::string::String::from(n.as_str())), ra.map(|r| std::string::String::from(r.as_str())));
            if let (Some(na), Some(nb), Some(ra), Some(rb)) = (na, Name::new(&b).ok(), ra, reference(&b)) {
                prop_assert_eq!(na == nb, ra == rb);
                prop_assert_eq!(na.cmp(&nb), ra.cmp(&rb));
            }
        }
    }

    /// The plain reading of a NUL-terminated field.
    fn by_steps(field: &[u8; 17]) -> Result<Name, Error> {
        let len = field.iter().position(|&b| b == 0).ok_or(Error::NameNotTerminated)?;
        let text = core::str::from_utf8(&field[..len]).map_err(|_| Error::NameNotUtf8)?;
        Name::new(text)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn nul_terminated_fields_read_as_by_steps(
            // Mostly ASCII letters, some zeros and high bytes, so every path is taken.
            bytes in proptest::collection::vec(prop_oneof![4 => 0x41u8..0x5b, 2 => Just(0u8), 1 => any::<u8>()], 17),
        ) {
            let field: [u8; 17] = bytes.try_into().unwrap();
            prop_assert_eq!(Name::from_nul_terminated(&field), by_steps(&field));
        }
    }

    #[test]
    fn nul_terminated_fields_by_hand() {
        let field = |s: &[u8]| {
            let mut f = [0xAAu8; 17];
            f[..s.len()].copy_from_slice(s);
            f
        };
        assert_eq!(Name::from_nul_terminated(&field(b"BTC\0")).unwrap().as_str(), "BTC");
        assert_eq!(
            Name::from_nul_terminated(&field(b"0123456789abcdef\0")).unwrap().as_str(),
            "0123456789abcdef"
        );
        assert_eq!(Name::from_nul_terminated(&field("Ünï\0".as_bytes())).unwrap().as_str(), "Ünï");
        assert_eq!(Name::from_nul_terminated(&field(b"\0")), Err(Error::BadName { len: 0 }));
        assert_eq!(Name::from_nul_terminated(&[b'a'; 17]), Err(Error::NameNotTerminated));
        assert_eq!(Name::from_nul_terminated(&field(b"ok\xffx\0")), Err(Error::NameNotUtf8));
        // Equal to the name made from the string: the padding is zeros.
        assert_eq!(Name::from_nul_terminated(&field(b"okx\0")), Name::new("okx"));
    }

    #[test]
    fn refuses_empty_long_and_nul() {
        assert_eq!(Name::new("BTC").unwrap().as_str(), "BTC");
        assert_eq!(Name::new("0123456789abcdef").unwrap().as_str(), "0123456789abcdef");
        assert_eq!(Name::new(""), Err(Error::BadName { len: 0 }));
        assert_eq!(Name::new("0123456789abcdefg"), Err(Error::BadName { len: 17 }));
        assert!(Name::new("a\0b").is_err());
        assert_eq!(std::format!("{}", Name::new("okx").unwrap()), "okx");
    }
}
