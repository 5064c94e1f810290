//! A configuration and a book validated together: the proof that the observation, the mask and the
//! entry rule take, as [`Slots`](crate::selection::Slots) is for the selection, so that a decision
//! validates its state once.

use crate::config::TradingConfig;
use crate::error::Error;
use crate::portfolio::Portfolio;

/// A configuration and a portfolio that passed their validation.
#[derive(Debug, Clone, Copy)]
pub struct ValidState<'a> {
    config: &'a TradingConfig,
    portfolio: &'a Portfolio,
}

impl<'a> ValidState<'a> {
    /// Validate the configuration, then the portfolio and its positions.
    pub fn new(config: &'a TradingConfig, portfolio: &'a Portfolio) -> Result<Self, Error> {
        config.validate()?;
        portfolio.validate()?;
        Ok(ValidState { config, portfolio })
    }

    /// The configuration.
    pub fn config(self) -> &'a TradingConfig {
        self.config
    }

    /// The portfolio.
    pub fn portfolio(self) -> &'a Portfolio {
        self.portfolio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_valid_configuration_and_book_make_a_state() {
        let config = TradingConfig::default();
        assert!(ValidState::new(&config, &Portfolio::new(1_000.0)).is_ok());
        assert!(ValidState::new(&config, &Portfolio::new(f64::NAN)).is_err());
        let wild = TradingConfig { max_leverage: 11.0, ..config };
        assert!(matches!(
            ValidState::new(&wild, &Portfolio::new(1_000.0)),
            Err(Error::OutOfRange { field: "config.max_leverage", .. })
        ));
    }
}
