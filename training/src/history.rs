//! Recorded funding settlements and hourly perpetual prices, in the format of a funding-history
//! directory (`funding.csv.gz` and `prices_1h.csv.gz`, see `docs/market-data.md`), loaded from any
//! directory a user names.
//!
//! Rows are kept exactly as recorded; only rows stamped before `until` are read, so a run told to
//! stop at a date holds nothing from it on.

use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// One realised funding settlement as the recorded data holds it (the market's own
/// [`arbpolicy_core::market::Settlement`] is what a snapshot pays).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettlementRecord {
    /// Settlement time, Unix milliseconds.
    pub ts_ms: i64,
    /// Rate, fraction of notional per interval (positive: longs pay).
    pub rate: f64,
    /// Hours since the contract's previous settlement (the observed spacing).
    pub interval_hours: f64,
    /// Mark price at the settlement, when recorded.
    pub mark_price: Option<f64>,
}

/// One hourly bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Open time, Unix milliseconds (the bar covers the hour from it).
    pub ts_ms: i64,
    /// First price of the hour.
    pub open: f64,
    /// Last price of the hour.
    pub close: f64,
    /// Traded volume in quote currency; `None` on bars without volume (mark-price bars).
    pub volume_quote: Option<f64>,
}

/// One contract: a coin on an exchange in one quote currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Contract {
    /// Lowercase venue.
    pub exchange: String,
    /// Coin, uppercase.
    pub symbol: String,
    /// Quote currency: USDT, USDC or USD.
    pub quote: String,
}

/// A contract's settlements and bars, each sorted by time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Funding settlements.
    pub settlements: Vec<SettlementRecord>,
    /// Hourly bars.
    pub bars: Vec<Bar>,
}

/// Every contract's series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// By contract.
    pub series: HashMap<Contract, Series>,
}

impl History {
    /// Load `dir/funding.csv.gz` and `dir/prices_1h.csv.gz`, keeping rows stamped before `until_ms`
    /// (all rows when `None`).
    pub fn load(dir: &Path, until_ms: Option<i64>) -> Result<Self> {
        let mut history = History::default();
        let before = |ts: i64| until_ms.is_none_or(|u| ts < u);
        read_rows(&dir.join("funding.csv.gz"), FUNDING_COLUMNS, |row| {
            let ts_ms = row.int(0)?;
            if before(ts_ms) {
                let settlement = SettlementRecord {
                    ts_ms,
                    rate: row.float(4)?,
                    interval_hours: row.float(5)?,
                    mark_price: row.optional_float(6)?,
                };
                history.entry(row).settlements.push(settlement);
            }
            Ok(())
        })?;
        read_rows(&dir.join("prices_1h.csv.gz"), PRICE_COLUMNS, |row| {
            let ts_ms = row.int(0)?;
            if before(ts_ms) {
                let bar = Bar {
                    ts_ms,
                    open: row.float(4)?,
                    close: row.float(7)?,
                    volume_quote: row.optional_float(8)?,
                };
                history.entry(row).bars.push(bar);
            }
            Ok(())
        })?;
        for (contract, s) in &mut history.series {
            s.settlements.sort_by_key(|r| r.ts_ms);
            s.bars.sort_by_key(|b| b.ts_ms);
            if s.settlements.windows(2).any(|w| w[0].ts_ms == w[1].ts_ms) {
                bail!("{contract:?} has two settlements at the same time");
            }
            if s.bars.windows(2).any(|w| w[0].ts_ms == w[1].ts_ms) {
                bail!("{contract:?} has two bars at the same hour");
            }
        }
        Ok(history)
    }

    fn entry(&mut self, row: &Row<'_>) -> &mut Series {
        let contract = Contract {
            exchange: row.fields[1].to_string(),
            symbol: row.fields[2].to_string(),
            quote: row.fields[3].to_string(),
        };
        self.series.entry(contract).or_default()
    }

    /// The span of the recorded data, Unix milliseconds: first and last timestamp of any row.
    pub fn span_ms(&self) -> Option<(i64, i64)> {
        let stamps = self
            .series
            .values()
            .flat_map(|s| s.settlements.iter().map(|r| r.ts_ms).chain(s.bars.iter().map(|b| b.ts_ms)));
        stamps.fold(None, |acc, ts| match acc {
            None => Some((ts, ts)),
            Some((a, b)) => Some((a.min(ts), b.max(ts))),
        })
    }
}

/// An hour since the epoch as its UTC date and hour, `YYYY-MM-DD HH:00` (`YYYY-MM-DD` at midnight).
pub fn day_of_hour(hour: i64) -> String {
    match chrono::DateTime::from_timestamp(hour * 3600, 0) {
        Some(d) if hour.rem_euclid(24) == 0 => d.format("%Y-%m-%d").to_string(),
        Some(d) => d.format("%Y-%m-%d %H:00").to_string(),
        None => format!("hour {hour}"),
    }
}

/// Midnight UTC of a `YYYY-MM-DD` date, Unix milliseconds.
pub fn date_ms(date: &str) -> Result<i64> {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|e| anyhow::anyhow!("{date:?} is not a date of the form YYYY-MM-DD ({e})"))?;
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis())
}

const FUNDING_COLUMNS: &[&str] =
    &["ts_ms", "exchange", "symbol", "quote", "funding_rate", "interval_hours", "mark_price"];
const PRICE_COLUMNS: &[&str] =
    &["ts_ms", "exchange", "symbol", "quote", "open", "high", "low", "close", "volume_quote"];

/// A data row with its fields in the expected column order.
struct Row<'a> {
    fields: [&'a str; 9],
    line: u64,
    file: &'a str,
}

impl Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        self.fields[i].parse().with_context(|| self.bad(i, "an integer"))
    }

    fn float(&self, i: usize) -> Result<f64> {
        let v: f64 = self.fields[i].parse().with_context(|| self.bad(i, "a number"))?;
        if !v.is_finite() {
            bail!("{}", self.bad(i, "a finite number"));
        }
        Ok(v)
    }

    fn optional_float(&self, i: usize) -> Result<Option<f64>> {
        if self.fields[i].is_empty() { Ok(None) } else { self.float(i).map(Some) }
    }

    fn bad(&self, i: usize, what: &str) -> String {
        format!("{} line {}: field {} is {:?}, expected {what}", self.file, self.line, i + 1, self.fields[i])
    }
}

/// Read a gzipped CSV whose header holds `columns` (in any order; others are refused), calling `f`
/// on every row with its fields in the order of `columns`.
fn read_rows(path: &Path, columns: &[&str], mut f: impl FnMut(&Row<'_>) -> Result<()>) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader =
        csv::ReaderBuilder::new().from_reader(GzDecoder::new(BufReader::with_capacity(1 << 20, file)));
    let name = path.display().to_string();
    let header = reader.headers().with_context(|| format!("cannot read the header of {name}"))?.clone();
    let order: Vec<usize> = columns
        .iter()
        .map(|c| header.iter().position(|h| h == *c).with_context(|| format!("{name} has no column {c:?}")))
        .collect::<Result<_>>()?;
    if let Some(extra) = header.iter().find(|h| !columns.contains(h)) {
        bail!("{name} has an unknown column {extra:?}");
    }
    let mut record = csv::StringRecord::new();
    let mut line = 1;
    while reader.read_record(&mut record).with_context(|| format!("{name} after line {line}"))? {
        line += 1;
        let mut fields = [""; 9];
        for (slot, &i) in fields.iter_mut().zip(&order) {
            *slot = record.get(i).unwrap_or("");
        }
        f(&Row { fields, line, file: &name })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_gz(path: &Path, text: &str) {
        let mut e = flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
    }

    fn dir(name: &str, funding: &str, prices: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("arbpolicy-history-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        write_gz(&d.join("funding.csv.gz"), funding);
        write_gz(&d.join("prices_1h.csv.gz"), prices);
        d
    }

    const FUNDING: &str = "ts_ms,exchange,symbol,quote,funding_rate,interval_hours,mark_price\n\
        28800000,binance,BTC,USDT,0.0001,8,\n\
        3600000,hyperliquid,BTC,USDC,0.0000125,1,\n\
        57600000,binance,BTC,USDT,-0.0002,8,60000.5\n";
    const PRICES: &str = "exchange,ts_ms,symbol,quote,open,high,low,close,volume_quote\n\
        binance,0,BTC,USDT,100,101,99,100.5,2000\n\
        binance,3600000,BTC,USDT,100.5,102,100,101,\n";

    #[test]
    fn reads_rows_by_column_name_and_stops_at_until() {
        let d = dir("ok", FUNDING, PRICES);
        let h = History::load(&d, None).unwrap();
        let btc = |ex: &str, q: &str| Contract { exchange: ex.into(), symbol: "BTC".into(), quote: q.into() };
        let b = &h.series[&btc("binance", "USDT")];
        assert_eq!(b.settlements.len(), 2);
        assert_eq!(
            b.settlements[1],
            SettlementRecord {
                ts_ms: 57_600_000,
                rate: -0.0002,
                interval_hours: 8.0,
                mark_price: Some(60000.5)
            }
        );
        assert_eq!(b.bars[1], Bar { ts_ms: 3_600_000, open: 100.5, close: 101.0, volume_quote: None });
        assert_eq!(h.series[&btc("hyperliquid", "USDC")].settlements[0].interval_hours, 1.0);
        assert_eq!(h.span_ms(), Some((0, 57_600_000)));
        let early = History::load(&d, Some(28_800_000)).unwrap();
        assert!(early.series[&btc("binance", "USDT")].settlements.is_empty());
        assert_eq!(early.series[&btc("binance", "USDT")].bars.len(), 2);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn bad_files_are_errors_with_their_place() {
        let cases = [
            (FUNDING.replace("-0.0002", "abc"), PRICES.to_string(), "line 4: field 5 is \"abc\""),
            (FUNDING.replace("0.0001,8", "NaN,8"), PRICES.to_string(), "expected a finite number"),
            (FUNDING.replace("mark_price", "mark"), PRICES.to_string(), "no column \"mark_price\""),
            (FUNDING.to_string(), PRICES.replace("volume_quote", "volume_quote,extra"), "unknown column"),
            (
                FUNDING.to_string() + "28800000,binance,BTC,USDT,0.0001,8,\n",
                PRICES.to_string(),
                "two settlements",
            ),
        ];
        for (k, (funding, prices, message)) in cases.iter().enumerate() {
            let d = dir(&format!("bad{k}"), funding, prices);
            let err = format!("{:#}", History::load(&d, None).unwrap_err());
            assert!(err.contains(message), "{err}");
            let _ = std::fs::remove_dir_all(d);
        }
        let err = format!("{:#}", History::load(Path::new("/nonexistent"), None).unwrap_err());
        assert!(err.contains("cannot open /nonexistent/funding.csv.gz"), "{err}");
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(date_ms("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(date_ms("2025-10-01").unwrap(), 1_759_276_800_000);
        for bad in ["2025-13-01", "2025-10-01T00:00", "yesterday", ""] {
            assert!(format!("{:#}", date_ms(bad).unwrap_err()).contains("YYYY-MM-DD"), "{bad}");
        }
    }
}
