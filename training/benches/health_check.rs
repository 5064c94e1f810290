//! The learner's health check at full length: the recommended settings trained on the `edge`
//! market (150 updates unless told), evaluated on a stretch it never saw, with the share
//! of the hindsight ceiling the policy captures (target: 70 %). Prints, asserts nothing.
//!
//! `cargo bench -p arbpolicy-train --bench health_check [-- UPDATES SEED...]`

use arbpolicy_core::policy::Architecture;
use arbpolicy_train::job::health_check_of;
use arbpolicy_train::trainer::TrainConfig;

fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let updates = args.first().map_or(150, |&u| u as usize);
    let seeds: Vec<u64> = if args.len() > 1 { args[1..].to_vec() } else { vec![0, 1, 2] };
    // `ARBP_NETWORK=pointer` for the pointer network.
    let network = match std::env::var("ARBP_NETWORK").as_deref() {
        Ok("pointer") => Architecture::Pointer,
        _ => Architecture::Plan,
    };
    for seed in seeds {
        let out = std::env::temp_dir().join(format!("arbpolicy-health-bench-{seed}"));
        let started = std::time::Instant::now();
        let e = health_check_of(TrainConfig { network, ..TrainConfig::recommended(updates, seed) }, &out)?;
        println!(
            "\n## seed {seed}: {updates} updates, {:.0} s; policy {:.0} % of the ceiling\n\n{}",
            started.elapsed().as_secs_f64(),
            100.0 * e.share_of_ceiling("policy"),
            e.overall_table()
        );
    }
    Ok(())
}
