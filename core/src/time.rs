//! Time as the engine counts it: whole hours since the Unix epoch, from the Unix milliseconds that
//! hosts and recorded data give.

/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 3_600_000;

/// The hour (since the Unix epoch) holding a Unix time in milliseconds.
pub fn hour_of_unix_ms(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_holds_its_milliseconds_before_and_after_the_epoch() {
        assert_eq!(hour_of_unix_ms(0), 0);
        assert_eq!(hour_of_unix_ms(HOUR_MS - 1), 0);
        assert_eq!(hour_of_unix_ms(HOUR_MS), 1);
        assert_eq!(hour_of_unix_ms(-1), -1);
    }
}
