//! Policy benchmarks on the reference model, printed side by side: the forward pass at batch 1, a
//! whole decision (select 10 of 100 opportunities, encode, mask, forward, choose) and batch-64
//! throughput, natively and in tract, and the same model in ONNX Runtime (one thread, through
//! `onnxruntime_forward.py`) when Python has `onnxruntime`; then the pointer network's forward
//! pass (weights drawn at random: there is no reference pointer model) in the three.
//!
//! Every figure is a median over single calls timed one by one (p99 beside it); the targets are those
//! of the runtime issue on the 2-core reference machine.

use arbpolicy_benches::{busy_state, observations};
use arbpolicy_core::policy::onnx::{OnnxModel, OnnxSession};
use arbpolicy_core::policy::{Architecture, Native, Normalization, Offer, Output, Request, Selector, decide};
use arbpolicy_core::{ActionMask, Observation};
use arbpolicy_train::export::onnx_model;
use prost::Message;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/reference-torch/policy.onnx")
}

/// Median and 99th percentile of one call, microseconds.
#[derive(Debug, Clone, Copy)]
struct Timing {
    median: f64,
    p99: f64,
}

/// Time `f` call by call for about `budget` after a warm-up.
fn measure(budget: Duration, mut f: impl FnMut()) -> Timing {
    let warm = Instant::now();
    while warm.elapsed() < budget / 5 {
        f();
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 100 {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Timing { median: at(0.5), p99: at(0.99) }
}

/// ONNX Runtime's figures: batch-1 forward, the cost of a call from Python alone, batch-64 rate.
struct OnnxRuntime {
    version: String,
    forward_us: f64,
    call_us: f64,
    batch64_per_s: f64,
}

fn onnx_runtime(model: &std::path::Path, obs: &[Observation]) -> Result<OnnxRuntime, String> {
    let path = std::env::temp_dir().join(format!("arbpolicy-bench-obs-{}.f32", std::process::id()));
    let bytes: Vec<u8> = obs.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("onnxruntime_forward.py");
    let out = Command::new("python3").arg(script).arg(model).arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let out = out.map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let num = |k: &str| v[k].as_f64().ok_or_else(|| format!("no {k} in {v}"));
    Ok(OnnxRuntime {
        version: v["version"].as_str().unwrap_or("?").to_string(),
        forward_us: num("forward_us")?,
        call_us: num("call_us")?,
        batch64_per_s: num("batch64_obs_per_s")?,
    })
}

fn row(what: &str, native: String, tract: String, ort: String, target: &str) {
    println!("| {what:<44} | {native:>18} | {tract:>18} | {ort:>22} | {target:<28} |");
}

fn us(t: Timing) -> String {
    format!("{:.2} (p99 {:.2})", t.median, t.p99)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn main() {
    let budget = Duration::from_millis(1500);
    let model = OnnxModel::from_path(reference()).expect("reference model");
    let Native::Plan(native) = model.to_native().expect("native weights") else {
        panic!("the reference model is the plan's network")
    };
    let mut session = model.session().expect("session");
    let obs = observations(256);

    // Forward pass, batch 1, cycling through real observations.
    let (native_forward, tract_forward) = forwards(budget, &obs, |o| native.forward(o), &mut session);

    // A whole decision over 100 opportunities and 3 open positions.
    let (config, book, opportunities) = busy_state(100);
    let now = book.positions[0].expect("open position").entry_hour + 30;
    let request = Request { opportunities: Offer::List(&opportunities), portfolio: &book, config, now };
    let native_decision = measure(budget, || {
        black_box(decide(&*native, black_box(&request), Selector::Greedy).expect("decision"));
    });
    let tract_decision = measure(budget, || {
        black_box(decide(&mut session, black_box(&request), Selector::Greedy).expect("decision"));
    });

    // Batch 64.
    let batch = &obs[..64];
    let flat: Vec<f32> = batch.iter().flatten().copied().collect();
    let masks = vec![ActionMask::hold_only(); 64];
    let mut out = vec![Output { logits: [0.0; 36], value: 0.0 }; 64];
    let native_batch = measure(budget, || native.forward_batch(black_box(batch), &mut out));
    let native_singles = measure(budget, || {
        for (o, y) in batch.iter().zip(out.iter_mut()) {
            *y = native.forward(o);
        }
    });
    let tract_batch = measure(budget, || {
        black_box(model.forward_batch(black_box(&flat), &masks).expect("tract batch"));
    });
    let rate = |t: Timing| 64.0 / (t.median * 1e-6);

    let ort = onnx_runtime(&reference(), &obs);
    println!("\npolicy benchmarks, reference model ({} threads available, one used)\n", num_cpus());
    row("what (microseconds: median, p99)", "native".into(), "tract".into(), ort_header(&ort), "target");
    println!("|{:-<46}|{:-<20}|{:-<20}|{:-<24}|{:-<30}|", "", "", "", "", "");
    let ort_forward = ort.as_ref().ok().map(|o| o.forward_us);
    let ort_net = ort.as_ref().ok().map(|o| o.forward_us - o.call_us);
    row(
        "forward pass, batch 1",
        us(native_forward),
        us(tract_forward),
        ort.as_ref()
            .map_or("-".into(), |o| format!("{:.2} ({:.2} net)", o.forward_us, o.forward_us - o.call_us)),
        &format!("native <= 5: {}", verdict(native_forward.median <= 5.0)),
    );
    row(
        "whole decision (100 opportunities)",
        us(native_decision),
        us(tract_decision),
        "-".into(),
        &format!("native <= 8: {}", verdict(native_decision.median <= 8.0)),
    );
    row(
        "batch 64, observations per second",
        format!("{:.0}", rate(native_batch)),
        format!("{:.0}", rate(tract_batch)),
        ort.as_ref().map_or("-".into(), |o| format!("{:.0}", o.batch64_per_s)),
        &format!("native >= 500,000: {}", verdict(rate(native_batch) >= 500_000.0)),
    );
    row(
        "  native batch 64 as 64 single calls, per s",
        format!("{:.0}", rate(native_singles)),
        "".into(),
        "".into(),
        "",
    );
    pointer(budget, &obs);
    match (ort_forward, ort_net) {
        (Some(raw), Some(net)) => {
            let ratio = net / native_decision.median;
            row(
                "ONNX Runtime forward / native decision",
                format!("{:.1}x", raw / native_decision.median),
                "".into(),
                format!("{ratio:.1}x net of the call"),
                &format!(">= 4x: {}", verdict(ratio >= 4.0)),
            );
            row(
                "ONNX Runtime forward / native forward",
                format!("{:.1}x", raw / native_forward.median),
                "".into(),
                format!("{:.1}x net of the call", net / native_forward.median),
                "",
            );
        }
        _ => println!("\nONNX Runtime not measured: {}", ort.err().unwrap_or_default()),
    }
    println!(
        "\n'net' takes away the median cost of calling an Identity model of the same input from Python,\n\
         so that ONNX Runtime is not charged for the interpreter; the ratios against it are the\n\
         conservative ones."
    );
}

/// The batch-1 forward pass natively (`native`) and in tract (`session`), cycling through `obs`.
fn forwards(
    budget: Duration,
    obs: &[Observation],
    native: impl Fn(&Observation) -> Output,
    session: &mut OnnxSession,
) -> (Timing, Timing) {
    let mut i = 0;
    let native = measure(budget, || {
        i = (i + 1) % obs.len();
        black_box(native(black_box(&obs[i])));
    });
    let tract = measure(budget, || {
        i = (i + 1) % obs.len();
        black_box(session.forward(black_box(&obs[i]), ActionMask::hold_only()).expect("tract"));
    });
    (native, tract)
}

/// The pointer network's forward pass at batch 1: native, tract and ONNX Runtime on one export.
fn pointer(budget: Duration, obs: &[Observation]) {
    let mut k = 0u64;
    let parameters: Vec<f32> = (0..Architecture::Pointer.parameter_count())
        .map(|_| {
            k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((k >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.4
        })
        .collect();
    let proto =
        onnx_model(Architecture::Pointer, &parameters, &Normalization::IDENTITY, &[]).expect("export");
    let path = std::env::temp_dir().join(format!("arbpolicy-bench-pointer-{}.onnx", std::process::id()));
    std::fs::write(&path, proto.encode_to_vec()).expect("write the pointer model");
    let model = OnnxModel::from_path(&path).expect("pointer model");
    let native = model.to_native().expect("the pointer converts");
    let mut session = model.session().expect("session");
    let (native_forward, tract_forward) = forwards(budget, obs, |o| native.forward(o), &mut session);
    let ort = onnx_runtime(&path, obs);
    let _ = std::fs::remove_file(&path);
    row(
        "pointer network: forward pass, batch 1",
        us(native_forward),
        us(tract_forward),
        ort.as_ref()
            .map_or("-".into(), |o| format!("{:.2} ({:.2} net)", o.forward_us, o.forward_us - o.call_us)),
        "",
    );
    if let Ok(o) = &ort {
        row(
            "  ONNX Runtime forward / native forward",
            format!("{:.1}x", o.forward_us / native_forward.median),
            "".into(),
            format!("{:.1}x net of the call", (o.forward_us - o.call_us) / native_forward.median),
            "",
        );
    }
}

fn ort_header(ort: &Result<OnnxRuntime, String>) -> String {
    match ort {
        Ok(o) => format!("ONNX Runtime {}", o.version),
        Err(_) => "ONNX Runtime".into(),
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
