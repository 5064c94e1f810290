//! Policy benchmarks: batch-1 forward pass, native and tract, on the reference model.

use arbpolicy_core::policy::onnx::OnnxModel;
use arbpolicy_core::{ActionMask, Observation};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn reference() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/models/reference-torch/policy.onnx")
}

fn forward(c: &mut Criterion) {
    let model = OnnxModel::from_path(reference()).unwrap();
    let native = model.to_native().unwrap();
    let obs: Observation = core::array::from_fn(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0);
    let mut session = model.session().unwrap();
    c.bench_function("forward batch 1: native", |b| b.iter(|| black_box(native.forward(black_box(&obs)))));
    c.bench_function("forward batch 1: tract", |b| {
        b.iter(|| black_box(session.forward(black_box(&obs), ActionMask::hold_only()).unwrap()))
    });
}

criterion_group!(benches, forward);
criterion_main!(benches);
