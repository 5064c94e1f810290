//! The host's input, as a host sends it, and its one mapping into the engine's types.
//!
//! These structs are the C ABI's (`include/arbpolicy.h` is generated from them) and, field for
//! field, the JSON request's (`docs/decision-json.md`; serde behind the `json` feature): one
//! vocabulary and one unit per field for C, C# and JSON. Each is mapped into the engine's types
//! here and nowhere else; a refused value names the host's field (`positions[2].long_leg.exchange`).
//!
//! Structs that may grow lead with `struct_size`, which a C host sets to `sizeof` the struct of
//! the header it compiled against (this version accepts exactly its own sizes; JSON has no such
//! field). Names are NUL-terminated UTF-8 in `char[ARBP_NAME_SIZE]` (at most 16 bytes). Times are
//! Unix milliseconds. Rates and thresholds are fractions (a stop-loss of -0.02 is -2 %).

#![allow(non_camel_case_types)]

use crate::config::TradingConfig;
use crate::error::Error;
use crate::opportunity::{Leg, Opportunity, score, spread_pct};
use crate::policy::decision::{Offer, Request};
use crate::portfolio::Portfolio;
use crate::position::{Position, PositionLeg};
use crate::selection::{Chosen, Record};
use crate::time::{HOUR_MS, hour_of_unix_ms};
use crate::{MAX_OPPORTUNITIES, MAX_POSITIONS, Name};
use core::ffi::c_char;
use core::fmt;

/// Size of every name field: up to 16 bytes of UTF-8 and a terminating NUL (`ARBP_NAME_SIZE`).
pub const NAME_SIZE: usize = Name::CAPACITY + 1;

/// The user's risk settings and the engine's parameters (`arbp_config_default` fills the balanced
/// preset). In JSON, the request's `config` is `settings` itself.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct arbp_config {
    /// `sizeof(arbp_config)`.
    pub struct_size: u32,
    /// The settings, each with its range.
    pub settings: TradingConfig,
}

/// One venue of an opportunity.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
pub struct arbp_leg {
    /// Exchange name.
    #[cfg_attr(feature = "json", serde(with = "text"))]
    pub exchange: [c_char; NAME_SIZE],
    /// Price of the perpetual, USD.
    pub price: f64,
    /// Latest funding rate, fraction per settlement interval.
    pub funding_rate: f64,
    /// Settlement interval, hours.
    pub funding_interval_hours: f64,
}

/// A detected opportunity.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
pub struct arbp_opportunity {
    /// `sizeof(arbp_opportunity)`.
    #[cfg_attr(feature = "json", serde(skip, default = "size_of_opportunity"))]
    pub struct_size: u32,
    /// Coin symbol, e.g. `BTC`.
    #[cfg_attr(feature = "json", serde(with = "text"))]
    pub symbol: [c_char; NAME_SIZE],
    /// The venue to buy on (lower funding).
    pub long_leg: arbp_leg,
    /// The venue to sell on (higher funding).
    pub short_leg: arbp_leg,
    /// Mean over 24 h of the funding difference, fraction per 8 h.
    pub fund_profit_8h_24h_proj: f64,
    /// Mean over 3 days of the funding difference, fraction per 8 h.
    pub fund_profit_8h_3d_proj: f64,
    /// Mean cross-venue price spread over the last 30 samples, percent.
    pub spread_30_sample_avg: f64,
    /// Mean cross-venue price spread over 24 h, percent.
    pub price_spread_24h_avg: f64,
    /// Mean cross-venue price spread over 3 days, percent.
    pub price_spread_3d_avg: f64,
    /// Standard deviation of the spread, percent.
    pub spread_volatility_stddev: f64,
    /// Traded volume over 24 h, USD.
    pub volume_24h: f64,
    /// Bid-ask spread, percent of mid.
    pub bid_ask_spread_percent: f64,
    /// Order-book depth near the mid, USD.
    pub orderbook_depth: f64,
}

/// One venue of an open position.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
pub struct arbp_position_leg {
    /// Exchange name.
    #[cfg_attr(feature = "json", serde(with = "text"))]
    pub exchange: [c_char; NAME_SIZE],
    /// Entry price, USD.
    pub entry_price: f64,
    /// Current price, USD.
    pub price: f64,
    /// Latest funding rate, fraction per settlement interval.
    pub funding_rate: f64,
    /// Settlement interval, hours.
    pub funding_interval_hours: f64,
}

/// An open position; its place in the request's array is its slot (the `position_index` of an
/// exit).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
pub struct arbp_position {
    /// `sizeof(arbp_position)`.
    #[cfg_attr(feature = "json", serde(skip, default = "size_of_position"))]
    pub struct_size: u32,
    /// Coin symbol.
    #[cfg_attr(feature = "json", serde(with = "text"))]
    pub symbol: [c_char; NAME_SIZE],
    /// The long leg.
    pub long_leg: arbp_position_leg,
    /// The short leg.
    pub short_leg: arbp_position_leg,
    /// Notional of each leg at entry, USD.
    pub position_size_usd: f64,
    /// Leverage of both legs.
    pub leverage: f64,
    /// Funding received so far, USD.
    pub funding_received_usd: f64,
    /// Funding paid so far, USD.
    pub funding_paid_usd: f64,
    /// Fees paid so far, USD.
    pub fees_paid_usd: f64,
    /// Entry time, Unix milliseconds.
    pub entry_time_ms: i64,
}

/// Capital and its history.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
pub struct arbp_portfolio {
    /// `sizeof(arbp_portfolio)`.
    #[cfg_attr(feature = "json", serde(skip, default = "size_of_portfolio"))]
    pub struct_size: u32,
    /// Current capital (equity), USD.
    pub total_capital: f64,
    /// Capital at the start of the account or episode, USD.
    pub initial_capital: f64,
    /// Highest capital seen, USD.
    pub peak_capital: f64,
    /// Largest drawdown seen, fraction.
    pub max_drawdown: f64,
    /// Capital at the start of the UTC day, USD.
    pub day_start_capital: f64,
    /// 1 when the daily-loss halt was triggered today, else 0 (JSON: `true` or `false`, default
    /// `false`).
    #[cfg_attr(feature = "json", serde(default, with = "flag"))]
    pub entries_halted: u8,
    /// Share of the episode elapsed, `[0, 1]` (0 outside training; JSON's default).
    #[cfg_attr(feature = "json", serde(default))]
    pub episode_progress: f64,
}

/// Why a host's input is refused: the struct or field of the host's form, and the engine's reason.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HostError {
    /// A struct's `struct_size` is not this version's `sizeof`.
    WrongSize {
        /// The struct, e.g. `arbp_position`.
        what: &'static str,
        /// The size given.
        given: u32,
        /// This version's size.
        expected: usize,
    },
    /// A flag is neither 0 nor 1.
    NotAFlag {
        /// The field, e.g. `portfolio.entries_halted`.
        field: &'static str,
        /// The value given.
        value: u8,
    },
    /// A value of the `index`th element of a list is refused.
    Element {
        /// The list, `opportunities` or `positions`.
        list: &'static str,
        /// The element's index in it.
        index: usize,
        /// The element's field, when one is to blame (a name); else the error names it.
        field: Option<&'static str>,
        /// Why.
        error: Error,
    },
    /// The engine refuses a value outside the lists (the error names the field).
    Engine(Error),
}

impl HostError {
    /// The engine's reason, when there is one.
    pub fn engine_error(&self) -> Option<Error> {
        match *self {
            HostError::Element { error, .. } | HostError::Engine(error) => Some(error),
            _ => None,
        }
    }
}

impl From<Error> for HostError {
    fn from(e: Error) -> Self {
        HostError::Engine(e)
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HostError::WrongSize { what, given, expected } => write!(
                f,
                "{what}.struct_size is {given}, this library's sizeof({what}) is {expected} (set it to sizeof)"
            ),
            HostError::NotAFlag { field, value } => write!(f, "{field} is {value}, expected 0 or 1"),
            HostError::Element { list, index, field: Some(field), error } => match error {
                Error::NameNotTerminated => {
                    write!(f, "{list}[{index}].{field} is not NUL-terminated within {NAME_SIZE} bytes")
                }
                Error::NameNotUtf8 => write!(f, "{list}[{index}].{field} is not UTF-8"),
                e => write!(f, "{list}[{index}].{field}: {e}"),
            },
            HostError::Element { list, index, field: None, error } => write!(f, "{list}[{index}]: {error}"),
            HostError::Engine(e) => e.fmt(f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HostError {}

/// `struct_size` must equal this version's `sizeof::<T>()`; `what` names the struct.
#[inline(always)]
pub fn check_size<T>(given: u32, what: &'static str) -> Result<(), HostError> {
    if given as usize == size_of::<T>() {
        Ok(())
    } else {
        Err(HostError::WrongSize { what, given, expected: size_of::<T>() })
    }
}

/// A name field as the engine's name.
#[inline(always)]
fn name(field: &[c_char; NAME_SIZE]) -> Result<Name, Error> {
    Name::from_nul_terminated(&field.map(|c| c as u8))
}

/// A name as a NUL-padded field (a name always fits).
pub fn name_field(name: Name) -> [c_char; NAME_SIZE] {
    let mut field = [0; NAME_SIZE];
    for (f, &b) in field.iter_mut().zip(name.as_bytes()) {
        *f = b as c_char;
    }
    field
}

impl arbp_config {
    /// The settings for a host, `struct_size` set.
    pub fn of(settings: TradingConfig) -> Self {
        arbp_config { struct_size: size_of::<Self>() as u32, settings }
    }

    /// The engine's configuration, validated (the error names the field, its value and range).
    pub fn engine(&self) -> Result<TradingConfig, HostError> {
        check_size::<Self>(self.struct_size, "arbp_config")?;
        self.settings.validate()?;
        Ok(self.settings)
    }
}

impl arbp_leg {
    /// The engine's leg on `venue`.
    fn engine(&self, venue: Name) -> Leg {
        Leg {
            venue,
            price: self.price,
            funding_rate: self.funding_rate,
            interval_hours: self.funding_interval_hours,
        }
    }
}

impl arbp_opportunity {
    /// The coin and the two venues, checked with the struct's size; `index` is its place in the
    /// request's list.
    #[inline(always)]
    pub fn names(&self, index: usize) -> Result<[Name; 3], HostError> {
        check_size::<Self>(self.struct_size, "arbp_opportunity")?;
        let named = |field, value: &[c_char; NAME_SIZE]| {
            name(value).map_err(|error| HostError::Element {
                list: "opportunities",
                index,
                field: Some(field),
                error,
            })
        };
        Ok([
            named("symbol", &self.symbol)?,
            named("long_leg.exchange", &self.long_leg.exchange)?,
            named("short_leg.exchange", &self.short_leg.exchange)?,
        ])
    }
}

/// The engine's opportunity is built where it is chosen ([`Record::opportunity`]) and validated
/// there (an invalid opportunity is skipped, never chosen).
impl Record for arbp_opportunity {
    type Unreadable = HostError;

    /// The struct's size and its names, as [`names`](Self::names) checks them.
    #[inline(always)]
    fn readable(&self, index: usize) -> Result<(), HostError> {
        self.names(index).map(drop)
    }

    #[inline]
    fn score(&self) -> f64 {
        score(self.fund_profit_8h_24h_proj, self.volume_24h, self.bid_ask_spread_percent)
    }

    /// Its names were found readable first; a failure here counts as invalid all the same.
    #[inline(always)]
    fn opportunity(&self) -> Option<Opportunity> {
        let [coin, long_venue, short_venue] = self.names(0).ok()?;
        Some(Opportunity {
            coin,
            long: self.long_leg.engine(long_venue),
            short: self.short_leg.engine(short_venue),
            profit_8h_24h_avg: self.fund_profit_8h_24h_proj,
            profit_8h_3d_avg: self.fund_profit_8h_3d_proj,
            spread_30_avg_pct: self.spread_30_sample_avg,
            spread_24h_avg_pct: self.price_spread_24h_avg,
            spread_3d_avg_pct: self.price_spread_3d_avg,
            spread_std_pct: self.spread_volatility_stddev,
            volume_24h_usd: self.volume_24h,
            bid_ask_spread_pct: self.bid_ask_spread_percent,
            orderbook_depth_usd: self.orderbook_depth,
        })
    }
}

impl arbp_position_leg {
    /// The engine's leg on `venue`.
    fn engine(&self, venue: Name) -> PositionLeg {
        PositionLeg {
            venue,
            entry_price: self.entry_price,
            price: self.price,
            funding_rate: self.funding_rate,
            interval_hours: self.funding_interval_hours,
        }
    }
}

impl arbp_position {
    /// The engine's position, validated; `index` is its place (its slot) in the request's list.
    pub fn engine(&self, index: usize) -> Result<Position, HostError> {
        check_size::<Self>(self.struct_size, "arbp_position")?;
        let element = |field, error| HostError::Element { list: "positions", index, field, error };
        let named = |field, value: &[c_char; NAME_SIZE]| name(value).map_err(|e| element(Some(field), e));
        let position = Position {
            coin: named("symbol", &self.symbol)?,
            long: self.long_leg.engine(named("long_leg.exchange", &self.long_leg.exchange)?),
            short: self.short_leg.engine(named("short_leg.exchange", &self.short_leg.exchange)?),
            size_usd: self.position_size_usd,
            leverage: self.leverage,
            funding_received: self.funding_received_usd,
            funding_paid: self.funding_paid_usd,
            fees_paid: self.fees_paid_usd,
            entry_hour: hour_of_unix_ms(self.entry_time_ms),
            entry_spread_pct: spread_pct(self.long_leg.entry_price, self.short_leg.entry_price),
        };
        // A non-finite entry spread comes from bad entry prices, which validation names first.
        position.validate().map_err(|e| element(None, e))?;
        Ok(position)
    }
}

impl arbp_portfolio {
    /// The engine's book with these positions in their slots (the book's own values are validated
    /// with the configuration, where they are used).
    pub fn engine(&self, positions: &[arbp_position]) -> Result<Portfolio, HostError> {
        check_size::<Self>(self.struct_size, "arbp_portfolio")?;
        if self.entries_halted > 1 {
            return Err(HostError::NotAFlag {
                field: "portfolio.entries_halted",
                value: self.entries_halted,
            });
        }
        if positions.len() > MAX_POSITIONS {
            return Err(
                Error::TooMany { what: "positions", given: positions.len(), max: MAX_POSITIONS }.into()
            );
        }
        let mut book = Portfolio {
            initial_capital: self.initial_capital,
            capital: self.total_capital,
            peak_capital: self.peak_capital,
            max_drawdown: self.max_drawdown,
            day_start_capital: self.day_start_capital,
            entries_halted: self.entries_halted == 1,
            episode_progress: self.episode_progress,
            positions: [None; MAX_POSITIONS],
        };
        for (slot, p) in positions.iter().enumerate() {
            book.positions[slot] = Some(p.engine(slot)?);
        }
        Ok(book)
    }
}

/// The host's form of an engine opportunity, as a Rust host (or a test) builds a request.
impl From<&Opportunity> for arbp_opportunity {
    fn from(o: &Opportunity) -> Self {
        let leg = |l: &Leg| arbp_leg {
            exchange: name_field(l.venue),
            price: l.price,
            funding_rate: l.funding_rate,
            funding_interval_hours: l.interval_hours,
        };
        arbp_opportunity {
            struct_size: size_of::<Self>() as u32,
            symbol: name_field(o.coin),
            long_leg: leg(&o.long),
            short_leg: leg(&o.short),
            fund_profit_8h_24h_proj: o.profit_8h_24h_avg,
            fund_profit_8h_3d_proj: o.profit_8h_3d_avg,
            spread_30_sample_avg: o.spread_30_avg_pct,
            price_spread_24h_avg: o.spread_24h_avg_pct,
            price_spread_3d_avg: o.spread_3d_avg_pct,
            spread_volatility_stddev: o.spread_std_pct,
            volume_24h: o.volume_24h_usd,
            bid_ask_spread_percent: o.bid_ask_spread_pct,
            orderbook_depth: o.orderbook_depth_usd,
        }
    }
}

/// The host's form of an engine position (entered at the start of its hour; the entry spread
/// follows from the entry prices).
impl From<&Position> for arbp_position {
    fn from(p: &Position) -> Self {
        let leg = |l: &PositionLeg| arbp_position_leg {
            exchange: name_field(l.venue),
            entry_price: l.entry_price,
            price: l.price,
            funding_rate: l.funding_rate,
            funding_interval_hours: l.interval_hours,
        };
        arbp_position {
            struct_size: size_of::<Self>() as u32,
            symbol: name_field(p.coin),
            long_leg: leg(&p.long),
            short_leg: leg(&p.short),
            position_size_usd: p.size_usd,
            leverage: p.leverage,
            funding_received_usd: p.funding_received,
            funding_paid_usd: p.funding_paid,
            fees_paid_usd: p.fees_paid,
            entry_time_ms: p.entry_hour * HOUR_MS,
        }
    }
}

/// A host's request in the engine's types: its book and settings, and the (up to) ten
/// opportunities the policy will see, ranked from the host's records.
#[derive(Debug, Clone)]
pub struct Input {
    /// The book, positions in their slots.
    pub portfolio: Portfolio,
    /// The settings (validated with the book when the request is decided).
    pub config: TradingConfig,
    /// Now, hours since the epoch.
    pub now: i64,
    /// The chosen opportunities.
    pub chosen: Chosen,
}

impl Input {
    /// Map a host's request. Every opportunity's size and names are checked as the records are
    /// ranked in place (a bad one fails the request); only those that would enter the ten are
    /// converted. Each position is validated here, to name its index. The records are
    /// [`arbp_opportunity`]s, or a host's wrapper of them that reads them faster.
    pub fn new<R: Record<Unreadable = HostError>>(
        opportunities: &[R],
        positions: &[arbp_position],
        portfolio: &arbp_portfolio,
        config: &arbp_config,
        now_ms: i64,
    ) -> Result<Self, HostError> {
        if opportunities.len() > MAX_OPPORTUNITIES {
            let given = opportunities.len();
            return Err(Error::TooMany { what: "opportunities", given, max: MAX_OPPORTUNITIES }.into());
        }
        check_size::<arbp_config>(config.struct_size, "arbp_config")?;
        Ok(Input {
            portfolio: portfolio.engine(positions)?,
            config: config.settings,
            now: hour_of_unix_ms(now_ms),
            chosen: Chosen::rank(opportunities)?,
        })
    }

    /// The request to pass to [`decide`](crate::policy::decide).
    pub fn request(&self) -> Request<'_> {
        Request {
            opportunities: Offer::Chosen(&self.chosen),
            portfolio: &self.portfolio,
            config: self.config,
            now: self.now,
        }
    }
}

#[cfg(feature = "json")]
fn size_of_opportunity() -> u32 {
    size_of::<arbp_opportunity>() as u32
}

#[cfg(feature = "json")]
fn size_of_position() -> u32 {
    size_of::<arbp_position>() as u32
}

#[cfg(feature = "json")]
fn size_of_portfolio() -> u32 {
    size_of::<arbp_portfolio>() as u32
}

/// A name field as a JSON string.
#[cfg(feature = "json")]
mod text {
    use super::{NAME_SIZE, name, name_field};
    use crate::Name;
    use core::ffi::c_char;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(field: &[c_char; NAME_SIZE], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(name(field).map_err(serde::ser::Error::custom)?.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[c_char; NAME_SIZE], D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        let name = Name::new(&text).map_err(|e| D::Error::custom(std::format!("name {text:?}: {e}")))?;
        Ok(name_field(name))
    }
}

/// A 0-or-1 flag as a JSON boolean.
#[cfg(feature = "json")]
mod flag {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(flag: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(*flag != 0)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        bool::deserialize(d).map(u8::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opportunity::tests::btc;
    use core::mem::offset_of;
    use std::string::ToString;

    fn text(s: &str) -> [c_char; NAME_SIZE] {
        name_field(Name::new(s).unwrap())
    }

    fn record(o: &Opportunity) -> arbp_opportunity {
        arbp_opportunity::from(o)
    }

    fn position() -> arbp_position {
        let leg = |exchange, entry_price| arbp_position_leg {
            exchange: text(exchange),
            entry_price,
            price: 50_100.0,
            funding_rate: 0.0001,
            funding_interval_hours: 8.0,
        };
        arbp_position {
            struct_size: size_of::<arbp_position>() as u32,
            symbol: text("BTC"),
            long_leg: leg("binance", 50_000.0),
            short_leg: leg("bybit", 50_020.0),
            position_size_usd: 500.0,
            leverage: 2.0,
            funding_received_usd: 0.4,
            funding_paid_usd: 0.1,
            fees_paid_usd: 0.5,
            entry_time_ms: 7_200_000,
        }
    }

    /// A C host (and C#'s flat `Config`) lays the settings out right after `struct_size` and its
    /// padding, as if they were the config's own fields.
    #[test]
    fn the_config_is_its_size_then_the_settings() {
        assert_eq!(offset_of!(arbp_config, settings), 8);
        assert_eq!(size_of::<arbp_config>(), 8 + size_of::<TradingConfig>());
        assert_eq!(offset_of!(TradingConfig, max_positions), 16);
        assert_eq!(offset_of!(TradingConfig, stop_loss_threshold), 24);
    }

    #[test]
    fn an_opportunity_maps_field_for_field_and_round_trips() {
        let o = btc();
        assert_eq!(record(&o).opportunity(), Some(o));
        assert_eq!(record(&o).score(), o.score());
    }

    #[test]
    fn a_position_maps_with_its_hour_and_entry_spread() {
        let p = position().engine(0).unwrap();
        assert_eq!(arbp_position::from(&p), position());
        assert_eq!(arbp_position::from(&p).engine(0), Ok(p));
        assert_eq!(
            (p.coin.as_str(), p.long.venue.as_str(), p.short.venue.as_str()),
            ("BTC", "binance", "bybit")
        );
        assert_eq!(p.entry_hour, 2);
        assert_eq!((p.long.entry_price, p.short.entry_price, p.long.price), (50_000.0, 50_020.0, 50_100.0));
        assert!((p.entry_spread_pct - spread_pct(50_000.0, 50_020.0)).abs() < 1e-15);
        assert_eq!((p.funding_received, p.funding_paid, p.fees_paid), (0.4, 0.1, 0.5));
    }

    #[test]
    fn refusals_name_the_host_s_field() {
        let mut p = position();
        p.short_leg.exchange = [b'x' as c_char; NAME_SIZE];
        let e = p.engine(3).unwrap_err();
        assert_eq!(e.to_string(), "positions[3].short_leg.exchange is not NUL-terminated within 17 bytes");
        let mut p = position();
        p.long_leg.price = f64::NAN;
        let e = p.engine(1).unwrap_err();
        assert!(e.to_string().starts_with("positions[1]: position.long.price = NaN"), "{e}");
        let mut p = position();
        p.struct_size += 8;
        assert!(matches!(p.engine(0), Err(HostError::WrongSize { what: "arbp_position", .. })));

        let mut o = record(&btc());
        o.symbol[0] = 0;
        let e = o.readable(4).unwrap_err();
        assert_eq!(e.engine_error(), Some(Error::BadName { len: 0 }));
        assert!(e.to_string().starts_with("opportunities[4].symbol: "), "{e}");

        let mut book = arbp_portfolio {
            struct_size: size_of::<arbp_portfolio>() as u32,
            total_capital: 10_000.0,
            initial_capital: 10_000.0,
            peak_capital: 10_000.0,
            max_drawdown: 0.0,
            day_start_capital: 10_000.0,
            entries_halted: 2,
            episode_progress: 0.0,
        };
        let e = book.engine(&[]).unwrap_err();
        assert_eq!(e.to_string(), "portfolio.entries_halted is 2, expected 0 or 1");
        book.entries_halted = 1;
        let six = [position(); MAX_POSITIONS + 1];
        assert!(matches!(
            book.engine(&six),
            Err(HostError::Engine(Error::TooMany { what: "positions", .. }))
        ));
        let engine = book.engine(&six[..2]).unwrap();
        assert!(engine.entries_halted && engine.active_count() == 2);
    }

    #[test]
    fn an_input_ranks_its_records_and_takes_the_settings_unvalidated() {
        let records = [record(&btc()); MAX_OPPORTUNITIES + 1];
        let book = arbp_portfolio {
            struct_size: size_of::<arbp_portfolio>() as u32,
            total_capital: 10_000.0,
            initial_capital: 10_000.0,
            peak_capital: 10_000.0,
            max_drawdown: 0.0,
            day_start_capital: 10_000.0,
            entries_halted: 0,
            episode_progress: 0.0,
        };
        // Out of range: refused by the decision, which validates the settings with the book.
        let wild = arbp_config::of(TradingConfig { max_leverage: 12.0, ..TradingConfig::default() });
        let e = Input::new(&records, &[], &book, &wild, 0).unwrap_err();
        assert!(matches!(e, HostError::Engine(Error::TooMany { what: "opportunities", given: 101, .. })));
        let input = Input::new(&records[..12], &[position()], &book, &wild, 3_600_000 * 5).unwrap();
        assert_eq!(
            (input.now, input.config.max_leverage, input.chosen.selection().indices().len()),
            (5, 12.0, 10)
        );
        assert!(wild.engine().is_err());
    }
}
