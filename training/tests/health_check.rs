//! The learner's health check in CI: a short training run on the `edge` market, whose right
//! policy is known, ends above HOLD and above the rule on a stretch of it the policy never saw,
//! earning funding rather than price noise (`job::health_check`; the full-length runs and their
//! share of the ceiling are printed by `cargo bench -p arbpolicy-train --bench health_check`).

use arbpolicy_train::job::health_check;

/// Updates of the short run (of 4,096 steps each, about 30 s).
const UPDATES: usize = 40;

#[test]
fn a_short_run_on_the_edge_market_ends_above_hold_and_the_rule() {
    let out = std::env::temp_dir().join(format!("arbpolicy-health-{}", std::process::id()));
    let evaluation = health_check(UPDATES, 0, &out).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    let pooled = |agent: &str| evaluation.pooled(agent).unwrap();
    let table = evaluation.overall_table();
    assert_eq!(pooled("HOLD").total_return, 0.0);
    let (policy, rule) = (pooled("policy"), pooled("rule"));
    assert!(policy.total_return > 0.0, "the policy does not beat HOLD:\n{table}");
    assert!(policy.total_return > rule.total_return, "the policy does not beat the rule:\n{table}");
    assert!(policy.funding > policy.price, "the policy earns price noise, not funding:\n{table}");
    assert_eq!(policy.liquidations, 0, "{table}");
}
