//! Coin and exchange names: at most 16 bytes of UTF-8, stored inline and zero-padded so that a
//! name is `Copy` and compares as one 16-byte value (names are compared on every quote lookup).
//! It behaves as `arrayvec::ArrayString<16>` restricted to non-empty strings without NUL bytes; a
//! property test checks it against that crate.

use crate::error::Error;
use core::fmt;

/// A short fixed-capacity name: a coin symbol or an exchange.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name([u8; Name::CAPACITY]);

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
