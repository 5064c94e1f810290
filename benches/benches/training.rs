//! Training benchmarks: environment steps on the replayed recorded market (2025-Q4 of
//! `../shared/data/funding-history`, beside the synthetic market's), and PPO end to end — a
//! rollout of 2,048 steps from 8 environments on both cores, then 10 epochs of minibatches of
//! 64 — as samples per second (criterion prints both rates as `thrpt`), for one run and for a
//! population of two members side by side (one core each, scored on a short validation market
//! after every update).

use arbpolicy_benches::{market, stepper};
use arbpolicy_core::EnvParams;
use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
use arbpolicy_core::time::HOUR_MS;
use arbpolicy_train::history::{History, date_ms};
use arbpolicy_train::population::{Curriculum, PbtConfig, Population};
use arbpolicy_train::ppo::PpoConfig;
use arbpolicy_train::replay::replay;
use arbpolicy_train::trainer::{TrainConfig, Trainer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

fn replayed_environment_steps(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/funding-history");
    let (from, to) = (date_ms("2025-10-01").unwrap() / HOUR_MS, date_ms("2026-01-01").unwrap() / HOUR_MS);
    let recorded = match History::load(&dir, Some(to * HOUR_MS)) {
        Ok(history) => Some(replay(&history, from, to).expect("the replay of 2025-Q4")),
        Err(e) => {
            eprintln!(
                "the recorded data is not at {} ({e:#}): only the synthetic market runs",
                dir.display()
            );
            None
        }
    };
    let synthetic = market(24 * 92);
    let mut group = c.benchmark_group("environment step");
    group.throughput(Throughput::Elements(1));
    if let Some(recorded) = &recorded {
        let mut step = stepper(recorded);
        group.bench_function("recorded 2025-Q4 (replayed)", |b| b.iter(|| black_box(step())));
    }
    let mut step = stepper(&synthetic);
    group.bench_function("synthetic, same length", |b| b.iter(|| black_box(step())));
    group.finish();
}

fn ppo_samples(c: &mut Criterion) {
    let market =
        SyntheticMarket::generate(0, &SyntheticParams { hours: 24 * 180, ..SyntheticParams::default() });
    let config = TrainConfig::new(PpoConfig::default(), usize::MAX, 0, EnvParams::default());
    let mut trainer = Trainer::new(&market, config).expect("a trainer");
    let mut group = c.benchmark_group("ppo");
    group.sample_size(10).measurement_time(Duration::from_secs(40)).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(config.ppo.n_steps as u64));
    group.bench_function("update: 2048-step rollout + 10 epochs (samples)", |b| {
        b.iter(|| black_box(trainer.update().expect("an update").loss.total))
    });
    group.finish();
}

fn population_samples(c: &mut Criterion) {
    let market =
        SyntheticMarket::generate(0, &SyntheticParams { hours: 24 * 180, ..SyntheticParams::default() });
    let validation =
        SyntheticMarket::generate(2, &SyntheticParams { hours: 240, ..SyntheticParams::default() });
    let base = TrainConfig::new(PpoConfig::default(), usize::MAX, 0, EnvParams::default());
    let config = PbtConfig {
        population: 2,
        interval_steps: base.ppo.n_steps,
        steps: usize::MAX / 2,
        burn_in_steps: usize::MAX,
        threads: 2,
        curriculum: Curriculum::Off,
        ..PbtConfig::plan(base, 0)
    };
    let mut population = Population::new(&market, validation, config).expect("a population");
    let mut group = c.benchmark_group("ppo");
    group.sample_size(10).measurement_time(Duration::from_secs(40)).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements((config.population * base.ppo.n_steps) as u64));
    group.bench_function("population of 2: an update each, side by side, scored (samples)", |b| {
        b.iter(|| black_box(population.interval().expect("an interval")))
    });
    group.finish();
}

criterion_group!(benches, replayed_environment_steps, ppo_samples, population_samples);
criterion_main!(benches);
