//! One model shared by 8 threads, each with its own session, 10,000 decisions each: the same
//! decisions as one thread takes alone.

use arbpolicy::*;
use arbpolicy_core::Opportunity;
use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
use std::ffi::c_char;
use std::path::PathBuf;

const THREADS: usize = 8;
const DECISIONS: usize = 10_000;

fn name(s: &str) -> [c_char; ARBP_NAME_SIZE] {
    let mut out = [0 as c_char; ARBP_NAME_SIZE];
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = b as c_char;
    }
    out
}

fn opportunity(o: &Opportunity) -> arbp_opportunity {
    let leg = |l: &arbpolicy_core::Leg| arbp_leg {
        exchange: name(l.venue.as_str()),
        price: l.price,
        funding_rate: l.funding_rate,
        funding_interval_hours: l.interval_hours,
    };
    arbp_opportunity {
        struct_size: size_of::<arbp_opportunity>() as u32,
        symbol: name(o.coin.as_str()),
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

/// Requests over the hours of a synthetic market, with capital varying between them.
fn requests() -> (Vec<Vec<arbp_opportunity>>, Vec<f64>) {
    let market =
        SyntheticMarket::generate(5, &SyntheticParams { hours: 400, coins: 12, ..Default::default() });
    let hours: Vec<Vec<arbp_opportunity>> = market
        .snapshots()
        .iter()
        .map(|h| h.opportunities.iter().take(100).map(opportunity).collect())
        .collect();
    let capital = (0..hours.len()).map(|i| 2_000.0 + 500.0 * (i % 37) as f64).collect();
    (hours, capital)
}

fn request(opportunities: &[arbp_opportunity], capital: f64) -> arbp_request {
    let mut config = std::mem::MaybeUninit::<arbp_config>::zeroed();
    // SAFETY: a writable config.
    assert_eq!(unsafe { arbp_config_default(config.as_mut_ptr()) }, arbp_status::ARBP_OK);
    arbp_request {
        struct_size: size_of::<arbp_request>() as u32,
        opportunities: opportunities.as_ptr(),
        opportunity_count: opportunities.len(),
        positions: std::ptr::null(),
        position_count: 0,
        portfolio: arbp_portfolio {
            struct_size: size_of::<arbp_portfolio>() as u32,
            total_capital: capital,
            initial_capital: capital,
            peak_capital: capital,
            max_drawdown: 0.0,
            day_start_capital: capital,
            entries_halted: 0,
            episode_progress: 0.0,
        },
        // SAFETY: written by arbp_config_default.
        config: unsafe { config.assume_init() },
        now_ms: 1_764_547_200_000,
        sample: 0,
        sample_seed: 0,
    }
}

/// `count` decisions through one new session, request `k` being `(start + k) % hours`.
fn decide_many(
    model: &Model,
    start: usize,
    count: usize,
    hours: &[Vec<arbp_opportunity>],
    capital: &[f64],
) -> Vec<(u32, [f32; 36])> {
    let mut session: *mut arbp_session = std::ptr::null_mut();
    // SAFETY: a live model and a writable out pointer.
    assert_eq!(unsafe { arbp_session_new(model.0, &mut session) }, arbp_status::ARBP_OK);
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let i = (start + k) % hours.len();
        let r = request(&hours[i], capital[i]);
        // SAFETY: zeroed is a valid bit pattern for the decision's fields; struct_size is set below.
        let mut d: arbp_decision = unsafe { std::mem::zeroed() };
        d.struct_size = size_of::<arbp_decision>() as u32;
        // SAFETY: this thread's session, a valid request, a writable decision.
        assert_eq!(unsafe { arbp_decide(session, &r, &mut d) }, arbp_status::ARBP_OK);
        assert_eq!(d.mask[d.action_index as usize], 1);
        out.push((d.action_index, d.probabilities));
    }
    // SAFETY: freed once.
    unsafe { arbp_session_free(session) };
    out
}

/// A model handle shared by the threads (`const arbp_model *` is thread-safe by contract).
struct Model(*const arbp_model);
// SAFETY: the ABI promises functions taking a const model pointer are thread-safe.
unsafe impl Sync for Model {}

fn load(path: &std::path::Path) -> *mut arbp_model {
    let bytes = std::fs::read(path).expect("the reference model");
    let mut model: *mut arbp_model = std::ptr::null_mut();
    // SAFETY: readable bytes and a writable out pointer.
    assert_eq!(
        unsafe { arbp_model_load_bytes(bytes.as_ptr(), bytes.len(), &mut model) },
        arbp_status::ARBP_OK
    );
    model
}

fn shared_model_decides_alike_on_every_thread(path: &std::path::Path, decisions: usize) {
    let model = load(path);
    let shared = Model(model);
    let (hours, capital) = requests();
    let expected: Vec<Vec<(u32, [f32; 36])>> =
        (0..THREADS).map(|t| decide_many(&shared, t * 13, decisions, &hours, &capital)).collect();
    let got: Vec<Vec<(u32, [f32; 36])>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (shared, hours, capital) = (&shared, &hours, &capital);
                scope.spawn(move || decide_many(shared, t * 13, decisions, hours, capital))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no thread panics")).collect()
    });
    assert_eq!(got, expected, "threads decide as one thread does, bit for bit");
    let entries = expected.iter().flatten().filter(|(a, _)| (1..=30).contains(a)).count();
    assert!(entries > 0, "the requests lead to some entries, not only HOLD");
    // SAFETY: freed once, after every session.
    unsafe { arbp_model_free(model) };
}

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/reference-torch/policy.onnx")
}

#[test]
fn eight_threads_share_a_native_model() {
    // The native artifact of the reference model, through the core converter.
    let file = arbpolicy_core::policy::onnx::OnnxModel::from_path(reference()).unwrap();
    let network = file.to_native().unwrap();
    let mut bytes = vec![0u8; arbpolicy_core::policy::artifact::ARTIFACT_LEN];
    network.write_artifact(bytes.as_mut_slice().try_into().unwrap());
    let path = std::env::temp_dir().join(format!("arbpolicy-threads-{}.arbpnet", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    shared_model_decides_alike_on_every_thread(&path, DECISIONS);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn eight_threads_share_an_onnx_model() {
    shared_model_decides_alike_on_every_thread(&reference(), DECISIONS);
}
