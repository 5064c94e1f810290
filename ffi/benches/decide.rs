//! The cost of the C ABI, side by side in one run: the engine's whole decision on a request of 100
//! opportunities and 3 open positions, and `arbp_decide` on the same request as the host's structs
//! (checking them, ranking them in place, converting the ten shown and the positions), timed call
//! by call in pairs so that both see the same machine.
//! Usage: `cargo bench -p arbpolicy-ffi --bench decide`.

#[path = "../tests/common/mod.rs"]
mod common;

use arbpolicy::*;
use arbpolicy_core::policy::onnx::OnnxModel;
use arbpolicy_core::policy::{Offer, Request, Selector, decide};
use arbpolicy_core::time::hour_of_unix_ms;
use arbpolicy_core::{Opportunity, Portfolio, Position, TradingConfig};
use common::{blank_decision, load, market, opportunity, position, reference, request};
use std::hint::black_box;
use std::time::Instant;

const CALLS: usize = 100_000;

fn main() {
    // The native artifact of the reference model, for both sides.
    let network = OnnxModel::from_path(reference()).unwrap().to_native().unwrap();
    let bytes = network.to_artifact();
    let path = std::env::temp_dir().join(format!("arbpolicy-bench-{}.arbpnet", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let model = load(&path);
    let _ = std::fs::remove_file(&path);
    let mut session: *mut arbp_session = std::ptr::null_mut();
    // SAFETY: a live model and a writable out pointer.
    assert_eq!(unsafe { arbp_session_new(model, &mut session) }, arbp_status::ARBP_OK);

    // 100 opportunities from the last hours of a synthetic market, and three positions open on
    // the trades of some of them for 10 to 12 hours: the request of the C benchmark's shape.
    let m = market();
    let opportunities: Vec<Opportunity> =
        m.snapshots().iter().rev().flat_map(|h| h.opportunities.iter().copied()).take(100).collect();
    let structs: Vec<arbp_opportunity> = opportunities.iter().map(opportunity).collect();
    let capital = 10_000.0;
    let mut host = request(&structs, capital);
    let config = TradingConfig::balanced();
    let now = hour_of_unix_ms(host.now_ms);
    let mut book = Portfolio::new(capital);
    for (slot, k) in [7, 31, 64].into_iter().enumerate() {
        let hour = now - 10 - slot as i64;
        book.positions[slot] = Some(Position::open(&opportunities[k], 400.0, 2.0, config.fee_rate, hour));
    }
    let positions: Vec<arbp_position> = book.active().map(|(_, p)| position(p)).collect();
    host.positions = positions.as_ptr();
    host.position_count = positions.len();
    let engine = Request { opportunities: Offer::List(&opportunities), portfolio: &book, config, now };

    // Call by call, in pairs whose order alternates: both sides see the same state of the
    // machine (caches, clock frequency, neighbours), whatever it drifts through.
    let (mut rust, mut abi) = (Vec::with_capacity(CALLS), Vec::with_capacity(CALLS));
    let mut d = blank_decision();
    let engine_call = || {
        let t = Instant::now();
        black_box(decide(&network, black_box(&engine), Selector::Greedy).unwrap());
        t.elapsed().as_secs_f64() * 1e6
    };
    let mut abi_call = || {
        let t = Instant::now();
        // SAFETY: a live session, a request over `structs`, a writable decision.
        let status = unsafe { arbp_decide(session, black_box(&host), &mut d) };
        let elapsed = t.elapsed().as_secs_f64() * 1e6;
        assert_eq!(status, arbp_status::ARBP_OK);
        elapsed
    };
    for call in 0..CALLS {
        if call % 2 == 0 {
            rust.push(engine_call());
            abi.push(abi_call());
        } else {
            abi.push(abi_call());
            rust.push(engine_call());
        }
    }
    let expected = decide(&network, &engine, Selector::Greedy).unwrap();
    assert_eq!(d.action_index, u32::from(expected.action_index), "both sides decide alike");
    assert_eq!(d.probabilities, expected.probabilities, "both sides see the same request");

    // What the ABI adds to the same moment's decision.
    let mut added: Vec<f64> = abi.iter().zip(&rust).map(|(a, r)| a - r).collect();
    let at = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    let (rm, rp) = (at(&mut rust, 0.5), at(&mut rust, 0.99));
    let (am, ap) = (at(&mut abi, 0.5), at(&mut abi, 0.99));
    println!(
        "\nwhole decision, 100 opportunities and 3 positions, native model, {CALLS} calls each (microseconds)\n"
    );
    println!("| {:<40} | {:>8} | {:>8} |", "what", "median", "p99");
    println!("|{:-<42}|{:-<10}|{:-<10}|", "", "", "");
    println!("| {:<40} | {rm:>8.2} | {rp:>8.2} |", "engine (Rust types)");
    println!("| {:<40} | {am:>8.2} | {ap:>8.2} |", "arbp_decide (C structs)");
    println!("| {:<40} | {:>8.2} | {:>8} |", "added by the ABI, pair by pair", at(&mut added, 0.5), "");
    let over = (am / rm - 1.0) * 100.0;
    println!(
        "\narbp_decide costs {over:+.1} % over the engine (target within 20 %: {})",
        if over <= 20.0 { "met" } else { "MISSED" }
    );
    // SAFETY: freed once each, the session first.
    unsafe {
        arbp_session_free(session);
        arbp_model_free(model);
    }
}
