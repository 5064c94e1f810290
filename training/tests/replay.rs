//! The replay of the recorded funding history (`../shared/data/funding-history`): nothing stamped
//! after an hour reaches that hour, and the opportunities of one real hour are the recorded rows'
//! own, checked against the rows and against an independent reading of them
//! (`training/tests/support/pair_reference.py`).

use arbpolicy_core::market::MarketHour;
use arbpolicy_core::time::HOUR_MS;
use arbpolicy_core::{Name, Opportunity};
use arbpolicy_train::history::History;
use arbpolicy_train::replay::{bid_ask_stand_in, replay};
use std::path::PathBuf;
use std::sync::OnceLock;

/// 2025-06-01 12:00 UTC, hours since the epoch.
const NOON: i64 = 485_772;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/funding-history")
}

/// The recorded data before 2025-06-03, loaded once for the tests of this file.
fn history() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    HISTORY.get_or_init(|| {
        History::load(&data(), Some((NOON + 36) * HOUR_MS))
            .unwrap_or_else(|e| panic!("the recorded data at {} ({e:#})", data().display()))
    })
}

/// The history with every value stamped after hour `t` changed: later settlements and bars, and of
/// the bar opening at `t` everything but its open (its close and volume are known only at `t + 1`).
fn altered_after(history: &History, t: i64) -> History {
    let mut altered = history.clone();
    let cut = t * HOUR_MS;
    for series in altered.series.values_mut() {
        for s in series.settlements.iter_mut().filter(|s| s.ts_ms > cut) {
            s.rate = -3.0 * s.rate + 1e-4;
            s.mark_price = s.mark_price.map(|p| p * 2.0);
        }
        for b in series.bars.iter_mut().filter(|b| b.ts_ms >= cut) {
            if b.ts_ms > cut {
                b.open *= 1.1;
            }
            b.close *= 0.9;
            b.volume_quote = Some(b.volume_quote.unwrap_or(0.0) * 5.0 + 1e6);
        }
    }
    altered
}

#[test]
fn altering_the_data_after_an_hour_leaves_that_hour_and_all_before_it_unchanged() {
    let (from, to) = (NOON - 6, NOON + 12);
    let recorded = replay(history(), from, to).unwrap();
    assert!(recorded.snapshots().iter().all(|h| !h.opportunities.is_empty()));
    for t in [NOON - 3, NOON] {
        let altered = replay(&altered_after(history(), t), from, to).unwrap();
        let at_or_before =
            |m: &[MarketHour]| m.iter().take_while(|h| h.timestamp <= t).cloned().collect::<Vec<_>>();
        let before = at_or_before(recorded.snapshots());
        assert_eq!(before.len() as i64, t - from + 1);
        assert_eq!(before, at_or_before(altered.snapshots()), "hour {t} saw data stamped after it");
        // The alteration reaches every later hour, so the equality above is not vacuous.
        for (r, a) in recorded.snapshots().iter().zip(altered.snapshots()).filter(|(r, _)| r.timestamp > t) {
            assert_ne!(r.opportunities, a.opportunities, "hour {} ignored its own data", r.timestamp);
        }
    }
}

fn btc(hour: &MarketHour, long: &str, short: &str) -> Opportunity {
    let name = |s| Name::new(s).unwrap();
    *hour
        .opportunities
        .iter()
        .find(|o| o.coin == name("BTC") && o.long.venue == name(long) && o.short.venue == name(short))
        .unwrap_or_else(|| panic!("no BTC {long} / {short} opportunity"))
}

fn close(what: &str, got: f64, expected: f64) {
    assert!((got - expected).abs() <= 1e-12 * expected.abs().max(1e-3), "{what}: {got} != {expected}");
}

/// BTC at 2025-06-01 12:00 UTC. The rows it reads (funding.csv.gz, then prices_1h.csv.gz):
///
/// ```text
/// 1748764800000,binance,BTC,USDT,2.335e-05,8,104231      (08:00)
/// 1748764800000,bybit,BTC,USDT,9.391e-05,8,              (08:00)
/// 1748779200000,hyperliquid,BTC,USDC,1.25e-05,1,         (12:00)
/// 1748779200000,binance,BTC,USDT,104038,...              (bar opening 12:00)
/// 1748779200000,bybit,BTC,USDT,104040,...
/// 1748779200000,hyperliquid,BTC,USDC,104110,...
/// ```
///
/// Kraken and Gate settle BTC too but have no prices that hour, so they are not quoted. Hourly
/// rates: binance 2.335e-5 / 8 = 2.91875e-6, bybit 9.391e-5 / 8 = 1.173875e-5, hyperliquid 1.25e-5;
/// each pair is long its lower rate.
#[test]
fn one_real_hour_has_the_recorded_rows_features() {
    let market = replay(history(), NOON, NOON + 1).unwrap();
    let hour = &market.snapshots()[0];
    assert_eq!(hour.timestamp, NOON);

    let o = btc(hour, "binance", "bybit");
    assert_eq!((o.long.price, o.long.funding_rate, o.long.interval_hours), (104_038.0, 2.335e-5, 8.0));
    assert_eq!((o.short.price, o.short.funding_rate, o.short.interval_hours), (104_040.0, 9.391e-5, 8.0));
    close("binance/bybit profit per 8 h", o.profit_8h(), (1.173875e-5 - 2.91875e-6) * 8.0); // 7.056e-5
    let hl = btc(hour, "binance", "hyperliquid");
    assert_eq!((hl.short.price, hl.short.funding_rate, hl.short.interval_hours), (104_110.0, 1.25e-5, 1.0));
    close("binance/hyperliquid profit per 8 h", hl.profit_8h(), (1.25e-5 - 2.91875e-6) * 8.0); // 7.665e-5
    let thin = btc(hour, "bybit", "hyperliquid");
    close("bybit/hyperliquid profit per 8 h", thin.profit_8h(), (1.25e-5 - 1.173875e-5) * 8.0);

    // The windows' statistics and the 24 h volume, from `pair_reference.py 485772 BTC
    // binance:USDT,bybit:USDT,hyperliquid:USDC`: 72 hourly samples each, all three venues live.
    let expected = [
        (
            o,
            [
                7.074333333333332e-05,
                3.500416666666665e-05,
                0.013609476600938733,
                0.014952569922438652,
                0.013491296578416304,
                0.013260043977954192,
                4461858238.320001,
            ],
        ),
        (
            hl,
            [
                7.201208333333332e-05,
                4.706358333333333e-05,
                0.05411010931837753,
                0.05307109903534158,
                0.04522225442372051,
                0.024966204934305358,
                1098396196.1299999,
            ],
        ),
        (
            thin,
            [
                1.268750000000001e-06,
                1.2059416666666672e-05,
                0.04107081196723685,
                0.03871043360131526,
                0.04027407026956468,
                0.026194160339869627,
                1098396196.1299999,
            ],
        ),
    ];
    for (o, [avg_24h, avg_3d, spread_30, spread_24h, spread_3d, spread_std, volume]) in expected {
        let pair = format!("{}/{}", o.long.venue, o.short.venue);
        let fields = [
            ("24 h average", o.profit_8h_24h_avg, avg_24h),
            ("3 d average", o.profit_8h_3d_avg, avg_3d),
            ("30-sample spread", o.spread_30_avg_pct, spread_30),
            ("24 h spread", o.spread_24h_avg_pct, spread_24h),
            ("3 d spread", o.spread_3d_avg_pct, spread_3d),
            ("spread deviation", o.spread_std_pct, spread_std),
            ("24 h volume", o.volume_24h_usd, volume),
        ];
        for (what, got, want) in fields {
            close(&format!("{pair} {what}"), got, want);
        }
        // The stand-ins for what the data lacks.
        assert_eq!(o.bid_ask_spread_pct, bid_ask_stand_in(volume));
        assert_eq!(o.orderbook_depth_usd, o.volume_24h_usd / 100.0);
    }
}
