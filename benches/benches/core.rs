//! Core benchmarks: observation + mask of one decision, top-10 selection, environment steps.
//!
//! Targets on the 2-core reference machine: observation + mask under 1 microsecond; at least
//! 1,000,000 environment steps per second on one core (criterion prints the rate as `thrpt`).

use arbpolicy_benches::{busy_state, market, stepper};
use arbpolicy_core::observation::{OBSERVATION_LEN, encode_with_mask};
use arbpolicy_core::selection::Selection;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn observation_and_mask(c: &mut Criterion) {
    let (config, book, opportunities) = busy_state(10);
    let selection = Selection::top(&opportunities);
    let slots = selection.slots(&opportunities);
    let now = book.positions[0].unwrap().entry_hour + 30;
    let mut out = [0.0f32; OBSERVATION_LEN];
    c.bench_function("observation + mask (10 slots, 3 positions)", |b| {
        b.iter(|| {
            let m = encode_with_mask(black_box(&config), black_box(&book), black_box(&slots), now, &mut out);
            black_box((m.unwrap(), &out));
        })
    });
    let (_, _, many) = busy_state(100);
    c.bench_function("top-10 selection of 100 opportunities", |b| {
        b.iter(|| black_box(Selection::top(black_box(&many))))
    });
}

fn environment_steps(c: &mut Criterion) {
    let market = market(24 * 60);
    let mut step = stepper(&market);
    let mut group = c.benchmark_group("environment");
    group.throughput(Throughput::Elements(1));
    group.bench_function("step (6 coins, 3 venues, in memory)", |b| b.iter(|| black_box(step())));
    group.finish();
}

criterion_group!(benches, observation_and_mask, environment_steps);
criterion_main!(benches);
