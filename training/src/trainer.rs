//! The PPO training loop: collect a rollout with the current weights (through the engine's native
//! pass), then `epochs` passes of shuffled minibatches over it, reporting each update's metrics.

use crate::network::PolicyNet;
use crate::ppo::{Batch, LossParts, PpoConfig, step};
use crate::rollout::{Collector, Rollout};
use crate::statistics::mean_std;
use anyhow::Result;
use arbpolicy_core::{ACTION_COUNT, EnvParams, Market, OBSERVATION_LEN};
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;

/// What a training run does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// PPO's hyper-parameters.
    pub ppo: PpoConfig,
    /// Environments stepped in parallel (`ppo.n_steps` is shared among them).
    pub envs: usize,
    /// Updates (rollouts) to run.
    pub updates: usize,
    /// The seed of the weights, the environments and the minibatches.
    pub seed: u64,
    /// The environment's episode length, capital and reward.
    pub env: EnvParams,
}

/// One update's figures.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UpdateMetrics {
    /// Update number, from 1.
    pub update: usize,
    /// Environment steps so far.
    pub steps: usize,
    /// Mean return of the episodes that ended in this rollout (NaN when none did).
    pub episode_return: f64,
    /// Episodes that ended.
    pub episodes: usize,
    /// Mean loss parts over the update's minibatches.
    pub loss: LossParts,
    /// Explained variance of the returns by the values.
    pub explained_variance: f64,
    /// Shares of HOLD, ENTER and EXIT in the rollout.
    pub action_mix: [f64; 3],
}

/// 1 - Var(returns - values) / Var(returns).
fn explained_variance(returns: &[f32], values: &[f32]) -> f64 {
    let var = |xs: Vec<f64>| mean_std(&xs).1.powi(2);
    let total = var(returns.iter().map(|&r| f64::from(r)).collect());
    let left = var(returns.iter().zip(values).map(|(&r, &v)| f64::from(r - v)).collect());
    if total == 0.0 { f64::NAN } else { 1.0 - left / total }
}

/// The rows `rows` of a rollout as a minibatch on `device`.
fn minibatch(r: &Rollout, rows: &[usize], device: &Device) -> Batch {
    let n = rows.len();
    let gather = |xs: &[f32]| rows.iter().map(|&i| xs[i]).collect::<Vec<f32>>();
    let vector = |xs: &[f32]| Tensor::<1>::from_data(TensorData::new(gather(xs), [n]), device);
    let observations: Vec<f32> = rows
        .iter()
        .flat_map(|&i| r.observations[i * OBSERVATION_LEN..(i + 1) * OBSERVATION_LEN].iter().copied())
        .collect();
    let masks: Vec<bool> = rows
        .iter()
        .flat_map(|&i| r.masks[i * ACTION_COUNT..(i + 1) * ACTION_COUNT].iter().copied())
        .collect();
    let actions: Vec<i64> = rows.iter().map(|&i| r.actions[i]).collect();
    Batch {
        observations: Tensor::from_data(TensorData::new(observations, [n, OBSERVATION_LEN]), device),
        masks: Tensor::from_data(TensorData::new(masks, [n, ACTION_COUNT]), device),
        actions: Tensor::from_data(TensorData::new(actions, [n, 1]), device),
        log_probs: vector(&r.log_probs),
        advantages: vector(&r.advantages),
        returns: vector(&r.returns),
        values: vector(&r.values),
    }
}

/// Train a network on `market`, calling `report` after every update.
pub fn train<M: Market + Clone + Send>(
    market: M,
    config: &TrainConfig,
    mut report: impl FnMut(&UpdateMetrics),
) -> Result<PolicyNet> {
    let device = Device::flex().autodiff();
    let ppo = config.ppo;
    let mut net = PolicyNet::seeded(&device, config.seed);
    let mut optimizer = ppo.optimizer();
    let mut collector = Collector::new(market, config.env, config.envs, config.seed)?;
    let mut shuffle = Pcg64Mcg::seed_from_u64(config.seed.rotate_left(17) ^ 0x5EED);
    let per_env = ppo.n_steps.div_ceil(config.envs);
    let mut steps = 0;
    for update in 1..=config.updates {
        let rollout = collector.collect(&net.to_native(), per_env, ppo.gamma, ppo.gae_lambda)?;
        steps += rollout.len();
        let mut rows: Vec<usize> = (0..rollout.len()).collect();
        let mut parts = Vec::new();
        for _ in 0..ppo.epochs {
            rows.shuffle(&mut shuffle);
            for chunk in rows.chunks(ppo.batch_size).filter(|c| c.len() > 1) {
                let (next, loss) = step(net, &mut optimizer, &minibatch(&rollout, chunk, &device), &ppo);
                net = next;
                parts.push(loss);
            }
        }
        let episodes = rollout.episode_returns.len();
        let total = rollout.len().max(1) as f64;
        report(&UpdateMetrics {
            update,
            steps,
            episode_return: rollout.episode_returns.iter().sum::<f64>() / episodes as f64,
            episodes,
            loss: LossParts::mean(&parts),
            explained_variance: explained_variance(&rollout.returns, &rollout.values),
            action_mix: rollout.action_mix.map(|k| k as f64 / total),
        });
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};

    fn tiny(seed: u64) -> (Vec<UpdateMetrics>, Vec<f32>) {
        let market =
            SyntheticMarket::generate(3, &SyntheticParams { hours: 24 * 20, ..SyntheticParams::default() });
        let config = TrainConfig {
            ppo: PpoConfig { n_steps: 256, epochs: 2, ..PpoConfig::default() },
            envs: 4,
            updates: 2,
            seed,
            env: EnvParams { episode_hours: 48, ..EnvParams::default() },
        };
        let mut metrics = Vec::new();
        let net = train(&market, &config, |m| metrics.push(*m)).unwrap();
        (metrics, net.parameters())
    }

    #[test]
    fn training_is_reproducible_from_its_seed() {
        let (a, pa) = tiny(5);
        let (b, pb) = tiny(5);
        assert_eq!(a, b);
        assert_eq!(pa, pb);
        let (_, pc) = tiny(6);
        assert_ne!(pa, pc);
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].steps, 512);
        assert!(a.iter().all(|m| m.loss.total.is_finite() && m.loss.entropy > 0.0), "{a:?}");
        assert!((a[0].action_mix.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
