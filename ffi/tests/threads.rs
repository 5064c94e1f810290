//! One model shared by 8 threads, each with its own session, 10,000 decisions each: the same
//! decisions as one thread takes alone.

mod common;

use arbpolicy::*;
use common::{blank_decision, load, market, reference, request, requests};

const THREADS: usize = 8;
const DECISIONS: usize = 10_000;

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
        let mut d = blank_decision();
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

fn shared_model_decides_alike_on_every_thread(path: &std::path::Path, decisions: usize) {
    let model = load(path);
    let shared = Model(model);
    let (hours, capital) = requests(&market());
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

#[test]
fn eight_threads_share_a_native_model() {
    // The native artifact of the reference model, through the core converter.
    let file = arbpolicy_core::policy::onnx::OnnxModel::from_path(reference()).unwrap();
    let network = file.to_native().unwrap();
    let bytes = network.to_artifact();
    let path = std::env::temp_dir().join(format!("arbpolicy-threads-{}.arbpnet", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    shared_model_decides_alike_on_every_thread(&path, DECISIONS);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn eight_threads_share_an_onnx_model() {
    shared_model_decides_alike_on_every_thread(&reference(), DECISIONS);
}
