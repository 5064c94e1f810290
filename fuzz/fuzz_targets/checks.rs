//! The fuzz targets' checks, each a function of the raw input bytes: the targets call them, and
//! `ffi/tests/fuzz_corpus.rs` replays the saved corpus through them on the stable toolchain.

// Each target calls one of the checks.
#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};
use arbpolicy::*;
use std::ffi::c_char;

/// This thread's session over the reference model's native weights (converted from the ONNX file
/// on the thread's first call; it lives as long as the process).
pub fn session() -> *mut arbp_session {
    thread_local! {
        static SESSION: *mut arbp_session = open_session();
    }
    SESSION.with(|s| *s)
}

fn open_session() -> *mut arbp_session {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/reference-torch/policy.onnx");
    let network = arbpolicy_core::policy::onnx::OnnxModel::from_path(path)
        .and_then(|m| m.to_native())
        .expect("the reference model");
    let bytes = network.to_artifact();
    let mut model = std::ptr::null_mut();
    let mut session = std::ptr::null_mut();
    // SAFETY: valid buffers and out pointers; the session keeps the model alive.
    unsafe {
        assert_eq!(arbp_model_load_bytes(bytes.as_ptr(), bytes.len(), &mut model), arbp_status::ARBP_OK);
        assert_eq!(arbp_session_new(model, &mut session), arbp_status::ARBP_OK);
        arbp_model_free(model);
    }
    session
}

/// Every status this library defines.
pub fn known(status: arbp_status) -> bool {
    (0..=10).contains(&(status as i32))
}

/// Arbitrary bytes as a JSON request: a status and, on success, a whole decision, never a crash.
pub fn json_request(data: &[u8]) {
    let session = session();
    let mut out = vec![0u8; 16 * 1024];
    let mut needed = 0usize;
    // SAFETY: a live session, `data.len()` readable bytes, `out.len()` writable bytes.
    let status = unsafe {
        arbp_decide_json(
            session,
            data.as_ptr().cast(),
            data.len(),
            out.as_mut_ptr().cast(),
            out.len(),
            &mut needed,
        )
    };
    assert!(known(status));
    if status == arbp_status::ARBP_OK {
        assert!(needed <= out.len() && out[needed - 1] == 0);
        let text = std::str::from_utf8(&out[..needed - 1]).expect("UTF-8 decision");
        assert!(text.contains("\"action_probabilities\""));
    }
}

/// Arbitrary bytes as a model file: refused with a status, or loaded and runnable, never a crash.
pub fn model_bytes(data: &[u8]) {
    let mut model = std::ptr::null_mut();
    // SAFETY: `data.len()` readable bytes and an out pointer.
    let status = unsafe { arbp_model_load_bytes(data.as_ptr(), data.len(), &mut model) };
    assert!(known(status));
    if status != arbp_status::ARBP_OK {
        assert!(model.is_null());
        return;
    }
    let mut session = std::ptr::null_mut();
    // SAFETY: a live model; the session is used on this thread and freed.
    unsafe {
        if arbp_session_new(model, &mut session) == arbp_status::ARBP_OK {
            let obs = [0.1f32; ARBP_OBSERVATION_LEN];
            let (mut logits, mut value) = ([0f32; ARBP_ACTION_COUNT], 0f32);
            let s = arbp_session_forward(
                session,
                obs.as_ptr(),
                obs.len(),
                std::ptr::null(),
                logits.as_mut_ptr(),
                logits.len(),
                &mut value,
            );
            assert!(known(s));
            arbp_session_free(session);
        }
        arbp_model_free(model);
    }
}

#[derive(Debug, Arbitrary)]
struct Leg {
    exchange: u8,
    price: f64,
    rate: f64,
    interval: f64,
}

#[derive(Debug, Arbitrary)]
struct Opp {
    coin: u8,
    long: Leg,
    short: Leg,
    stats: [f64; 9],
}

#[derive(Debug, Arbitrary)]
struct Pos {
    coin: u8,
    long: Leg,
    short: Leg,
    entry: [f64; 2],
    money: [f64; 5],
    entry_hours_ago: i16,
}

#[derive(Debug, Arbitrary)]
struct Input {
    opportunities: Vec<Opp>,
    extra_count: u8,
    positions: Vec<Pos>,
    config: [f64; 9],
    max_positions: u8,
    capital: [f64; 5],
    halted: u8,
    progress: f64,
    sample: u8,
    seed: u64,
    raw_name: [u8; ARBP_NAME_SIZE],
}

const NAMES: [&str; 6] = ["BTC", "ETH", "binance", "bybit", "okx", "hyperliquid"];

fn name(pick: u8, raw: &[u8; ARBP_NAME_SIZE]) -> [c_char; ARBP_NAME_SIZE] {
    let mut out = [0 as c_char; ARBP_NAME_SIZE];
    if pick >= 250 {
        // Raw bytes: unterminated, empty or not UTF-8.
        return raw.map(|b| b as c_char);
    }
    for (o, b) in out.iter_mut().zip(NAMES[usize::from(pick) % NAMES.len()].bytes()) {
        *o = b as c_char;
    }
    out
}

fn leg(l: &Leg, raw: &[u8; ARBP_NAME_SIZE]) -> arbp_leg {
    arbp_leg {
        exchange: name(l.exchange, raw),
        price: l.price,
        funding_rate: l.rate,
        funding_interval_hours: l.interval,
    }
}

fn position_leg(l: &Leg, entry: f64, raw: &[u8; ARBP_NAME_SIZE]) -> arbp_position_leg {
    arbp_position_leg {
        exchange: name(l.exchange, raw),
        entry_price: entry,
        price: l.price,
        funding_rate: l.rate,
        funding_interval_hours: l.interval,
    }
}

/// Requests through the struct path with arbitrary floats, names and counts (beyond the limits too):
/// a status, or a decision that names an allowed action with zero probability on forbidden ones.
pub fn struct_request(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let raw = &input.raw_name;
    let opportunities: Vec<arbp_opportunity> = input
        .opportunities
        .iter()
        .take(110)
        .map(|o| arbp_opportunity {
            struct_size: size_of::<arbp_opportunity>() as u32,
            symbol: name(o.coin, raw),
            long_leg: leg(&o.long, raw),
            short_leg: leg(&o.short, raw),
            fund_profit_8h_24h_proj: o.stats[0],
            fund_profit_8h_3d_proj: o.stats[1],
            spread_30_sample_avg: o.stats[2],
            price_spread_24h_avg: o.stats[3],
            price_spread_3d_avg: o.stats[4],
            spread_volatility_stddev: o.stats[5],
            volume_24h: o.stats[6],
            bid_ask_spread_percent: o.stats[7],
            orderbook_depth: o.stats[8],
        })
        .collect();
    let positions: Vec<arbp_position> = input
        .positions
        .iter()
        .take(7)
        .map(|p| arbp_position {
            struct_size: size_of::<arbp_position>() as u32,
            symbol: name(p.coin, raw),
            long_leg: position_leg(&p.long, p.entry[0], raw),
            short_leg: position_leg(&p.short, p.entry[1], raw),
            position_size_usd: p.money[0],
            leverage: p.money[1],
            funding_received_usd: p.money[2],
            funding_paid_usd: p.money[3],
            fees_paid_usd: p.money[4],
            entry_time_ms: 1_764_547_200_000 - i64::from(p.entry_hours_ago) * 3_600_000,
        })
        .collect();
    let c = &input.config;
    let request = arbp_request {
        struct_size: size_of::<arbp_request>() as u32,
        opportunities: opportunities.as_ptr(),
        // Sometimes more than the array holds is claimed only when above the limit (refused before
        // reading); otherwise the true count.
        opportunity_count: if input.extra_count > 200 {
            101 + usize::from(input.extra_count)
        } else {
            opportunities.len()
        },
        positions: positions.as_ptr(),
        position_count: positions.len(),
        portfolio: arbp_portfolio {
            struct_size: size_of::<arbp_portfolio>() as u32,
            total_capital: input.capital[0],
            initial_capital: input.capital[1],
            peak_capital: input.capital[2],
            max_drawdown: input.capital[3],
            day_start_capital: input.capital[4],
            entries_halted: input.halted % 3,
            episode_progress: input.progress,
        },
        config: arbp_config::of(arbp_settings {
            max_leverage: c[0],
            target_utilization: c[1],
            max_positions: input.max_positions,
            stop_loss_threshold: c[2],
            liquidation_buffer: c[3],
            fee_rate: c[4],
            min_position_usd: c[5],
            max_margin_usage: c[6],
            daily_loss_halt: c[7],
            episode_drawdown_stop: c[8],
        }),
        now_ms: 1_764_547_200_000,
        sample: input.sample % 3,
        sample_seed: input.seed,
    };
    // SAFETY: zero is a valid bit pattern for every field; struct_size is set.
    let mut decision: arbp_decision = unsafe { std::mem::zeroed() };
    decision.struct_size = size_of::<arbp_decision>() as u32;
    let before = decision;
    // SAFETY: a live session, a request whose arrays hold their counts (or a count above the limit,
    // refused before any read), a writable decision.
    let status = unsafe { arbp_decide(session(), &request, &mut decision) };
    assert!(known(status));
    if status != arbp_status::ARBP_OK {
        assert_eq!(decision, before, "no partial success");
        return;
    }
    let a = decision.action_index as usize;
    assert!(a < ARBP_ACTION_COUNT && decision.mask[a] == 1, "an allowed action");
    for i in 0..ARBP_ACTION_COUNT {
        if decision.mask[i] == 0 {
            assert_eq!(decision.probabilities[i], 0.0, "forbidden actions have probability 0");
        }
    }
    if (1..=30).contains(&a) {
        assert!(decision.size_usd > 0.0 && decision.size_usd.is_finite());
        assert!(decision.leverage >= 1.0 && decision.leverage <= 10.0);
        assert!((decision.opportunity_index as usize) < opportunities.len());
    }
}
