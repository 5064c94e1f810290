//! The one error type of the core.

use core::fmt;

/// Everything that can go wrong in the core. Each variant names what was wrong and why.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Error {
    /// A number is NaN, infinite or outside its allowed range.
    OutOfRange {
        /// The field, as `struct.field`.
        field: &'static str,
        /// The value given.
        value: f64,
        /// The smallest allowed value.
        min: f64,
        /// The largest allowed value.
        max: f64,
        /// Whether `min` itself is excluded.
        min_exclusive: bool,
    },
    /// A coin or exchange name is empty, longer than 16 bytes or holds a NUL byte.
    BadName {
        /// Its length in bytes.
        len: usize,
    },
    /// A name field of 17 bytes holds no NUL byte to end the name.
    NameNotTerminated,
    /// A name's bytes are not UTF-8.
    NameNotUtf8,
    /// An opportunity's two legs are on the same exchange.
    SameVenue,
    /// More items than the engine accepts.
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// How many were given.
        given: usize,
        /// The maximum.
        max: usize,
    },
    /// An index into the 36-action space that does not exist.
    UnknownAction {
        /// The index given.
        index: usize,
    },
    /// A string that is not the name of one of the 36 actions.
    UnknownActionName,
    /// The action is not allowed in the current state (the action mask forbids it).
    ActionNotAllowed {
        /// The action's index.
        index: usize,
    },
    /// A computed observation feature is not finite (an input overflowed `f32`).
    NonFiniteFeature {
        /// Its index in the 275-feature observation.
        index: usize,
    },
    /// The market has too few hours for the requested episode.
    MarketTooShort {
        /// Hours the market has.
        hours: usize,
        /// Hours needed (the episode length plus one).
        needed: usize,
    },
    /// `step` was called after the episode ended or before `reset`.
    EpisodeOver,
    /// A model file or weights artifact is malformed or does not fit the engine.
    BadModel {
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::OutOfRange { field, value, min, max, min_exclusive } => {
                let open = if min_exclusive { '(' } else { '[' };
                write!(f, "{field} = {value} is outside {open}{min}, {max}]")
            }
            Error::BadName { len } => {
                write!(f, "a name must be 1 to 16 bytes of UTF-8 without NUL, this one has {len} bytes")
            }
            Error::NameNotTerminated => f.write_str("a name field holds no NUL byte within its 17 bytes"),
            Error::NameNotUtf8 => f.write_str("a name is not UTF-8"),
            Error::SameVenue => f.write_str("an opportunity's long and short legs are on the same exchange"),
            Error::TooMany { what, given, max } => {
                write!(f, "{given} {what} given, at most {max} are accepted")
            }
            Error::UnknownActionName => f.write_str("unknown action name"),
            Error::UnknownAction { index } => {
                write!(f, "action index {index} does not exist (0 to 35)")
            }
            Error::ActionNotAllowed { index } => {
                write!(f, "action {} is not allowed by the action mask", crate::action::NAMES[index])
            }
            Error::NonFiniteFeature { index } => {
                write!(f, "observation feature {index} is not finite: an input is too large for f32")
            }
            Error::MarketTooShort { hours, needed } => {
                write!(f, "the market has {hours} hours, an episode needs {needed}")
            }
            Error::EpisodeOver => f.write_str("the episode is over: call reset first"),
            Error::BadModel { reason } => write!(f, "bad model: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// An allowed range: `(min, max, min_exclusive)`; `max` is always included.
pub type Bounds = (f64, f64, bool);

/// A price: positive, at most 1e12.
pub(crate) const PRICE: Bounds = (0.0, 1e12, true);
/// A funding rate or a funding difference: a fraction in `[-1, 1]`.
pub(crate) const RATE: Bounds = (-1.0, 1.0, false);
/// A settlement interval: hours in `(0, 24]`.
pub(crate) const INTERVAL: Bounds = (0.0, 24.0, true);
/// Any finite number.
pub(crate) const FINITE: Bounds = (f64::MIN, f64::MAX, false);
/// A finite number >= 0.
pub(crate) const NON_NEGATIVE: Bounds = (0.0, f64::MAX, false);

/// Whether `value` lies within `bounds` (NaN never does).
#[inline]
pub(crate) fn within(value: f64, (min, max, min_exclusive): Bounds) -> bool {
    let above_min = if min_exclusive { value > min } else { value >= min };
    above_min & (value <= max)
}

/// Check that `value` lies within `(min, max, min_exclusive)`, naming `field` when it does not.
#[inline]
pub(crate) fn check_range(
    field: &'static str,
    value: f64,
    min: f64,
    max: f64,
    min_exclusive: bool,
) -> Result<(), Error> {
    if within(value, (min, max, min_exclusive)) {
        Ok(())
    } else {
        Err(Error::OutOfRange { field, value, min, max, min_exclusive })
    }
}

/// Check `value` against `bounds`, naming `field` when it is outside.
#[inline]
pub(crate) fn check_bounds(field: &'static str, value: f64, (min, max, open): Bounds) -> Result<(), Error> {
    check_range(field, value, min, max, open)
}

/// Check every `(field, value, bounds)`; the error names the first field out of range. The common
/// all-valid case is a single branch-free test of every value.
macro_rules! check_all {
    ($(($field:expr, $value:expr, $bounds:expr)),+ $(,)?) => {{
        if true $(& $crate::error::within($value, $bounds))+ {
            Ok(())
        } else {
            (|| -> Result<(), $crate::Error> {
                $($crate::error::check_bounds($field, $value, $bounds)?;)+
                Ok(())
            })()
        }
    }};
}
pub(crate) use check_all;

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn range_checks_name_field_and_reject_nan() {
        assert!(check_range("a.b", 0.5, 0.0, 1.0, true).is_ok());
        assert!(check_range("a.b", 0.0, 0.0, 1.0, true).is_err());
        assert!(check_range("a.b", 0.0, 0.0, 1.0, false).is_ok());
        let e = check_range("a.b", f64::NAN, 0.0, 1.0, false).unwrap_err();
        assert_eq!(e.to_string(), "a.b = NaN is outside [0, 1]");
        let r = check_all!(("a", 1.0, PRICE), ("b", f64::INFINITY, FINITE), ("c", -1.0, NON_NEGATIVE));
        assert!(matches!(r, Err(Error::OutOfRange { field: "b", .. })));
        let r = check_all!(("a", 1.0, PRICE), ("c", -1.0, NON_NEGATIVE));
        assert!(matches!(r, Err(Error::OutOfRange { field: "c", .. })));
        assert_eq!(check_all!(("a", f64::MAX, FINITE), ("b", 24.0, INTERVAL), ("c", -1.0, RATE)), Ok(()));
        assert!(check_all!(("b", 0.0, INTERVAL)).is_err());
    }
}
