//! The learner's health check at full length: the recommended settings trained on the `edge`
//! market (150 updates unless told), evaluated on a stretch it never saw, with the share
//! of the hindsight ceiling the policy captures (target: 70 %). Prints, asserts nothing.
//!
//! `cargo bench -p arbpolicy-train --bench health_check [-- UPDATES SEED...]`; `ARBP_NETWORK=pointer`
//! (or `plan`) names the network, the recommended one by default, `ARBP_TRAIN_HOURS` sets the length of
//! the training market (default 4,320 hours).

use arbpolicy_core::policy::Architecture;
use arbpolicy_train::job::{TRAIN_HOURS, health_check_of};
use arbpolicy_train::trainer::TrainConfig;

fn main() -> anyhow::Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let updates = args.first().map_or(150, |&u| u as usize);
    let seeds: Vec<u64> = if args.len() > 1 { args[1..].to_vec() } else { vec![0, 1, 2] };
    let recommended = TrainConfig::recommended(updates, 0);
    let network = std::env::var("ARBP_NETWORK")
        .ok()
        .map(|n| Architecture::from_name(&n).ok_or_else(|| anyhow::anyhow!("unknown network {n}")))
        .transpose()?
        .unwrap_or(recommended.network);
    let hours = std::env::var("ARBP_TRAIN_HOURS").ok().map(|h| h.parse()).transpose()?.unwrap_or(TRAIN_HOURS);
    for seed in seeds {
        let out = std::env::temp_dir().join(format!("arbpolicy-health-bench-{seed}"));
        let started = std::time::Instant::now();
        let e =
            health_check_of(TrainConfig { network, ..TrainConfig::recommended(updates, seed) }, hours, &out)?;
        println!(
            "\n## seed {seed}: {network} network, {updates} updates on {hours} hours, {:.0} s; policy {:.0} % of the ceiling\n\n{}",
            started.elapsed().as_secs_f64(),
            100.0 * e.share_of_ceiling("policy"),
            e.overall_table()
        );
    }
    Ok(())
}
