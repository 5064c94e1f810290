//! The PPO training loop: collect a rollout with the current weights (through the engine's native
//! pass), then `epochs` passes of shuffled minibatches over it, reporting each update's metrics.
//!
//! A fresh run first fits the observation's normalisation on the training market
//! ([`crate::normalization`]); the rewards are scaled by the running deviation of the discounted
//! returns ([`ReturnScale`]). Each update's environments start afresh and run `n_steps / envs`
//! hours: an episode longer than that is cut at the rollout's end and bootstrapped from its value
//! there, so one rollout of four environments x 1,024 hours sees six-week carry trades whole.

use crate::evaluation::Costs;
use crate::network::PolicyNet;
use crate::ppo::{Batch, LossParts, PpoConfig, step};
use crate::rollout::{Collector, Configs, ReturnScale, Rollout};
use crate::statistics::mean_std;
use anyhow::{Context, Result};
use arbpolicy_core::policy::{Architecture, Native};
use arbpolicy_core::{ACTION_COUNT, EnvParams, Market, OBSERVATION_LEN};
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;
use std::path::Path;

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
    /// The environment's episode length, capital, reward and slippage.
    pub env: EnvParams,
    /// Fit the observation's normalisation on the market before training (else the identity).
    pub normalize_observations: bool,
    /// Scale rewards by the running deviation of the discounted returns.
    pub scale_rewards: bool,
    /// The trading fee per side every sampled configuration pays.
    pub fee_rate: f64,
    /// The network's actor.
    pub network: Architecture,
    /// Threads the rollouts step their environments on (0: one per core); no figure depends on it.
    pub threads: usize,
    /// The trading configurations the episodes run with (the observation's normalisation is
    /// fitted on the full ranges whatever they are).
    pub configs: Configs,
}

impl TrainConfig {
    /// The settings the project recommends (`docs/training.md`), the command line's defaults:
    /// a learning rate of 1e-3, four environments of 1,024 hours an update (six-week carry trades seen whole), a discount
    /// of 0.999 an hour (an entry's funding counts for about six weeks), GAE's lambda 0.99 (an
    /// entry's advantage sees about a hundred hours of its funding), minibatches of 256 over
    /// four epochs, an entropy bonus falling from 0.02 to 0.002, the P&L reward scaled by its
    /// returns' deviation, normalised observations, the default fee and slippage, the plan's
    /// network (the pointer network learns more on the `edge` market and churns more where no
    /// premium pays: `docs/training.md`).
    pub fn recommended(updates: usize, seed: u64) -> Self {
        let ppo = PpoConfig {
            learning_rate: 1e-3,
            n_steps: 4096,
            batch_size: 256,
            epochs: 4,
            gamma: 0.999,
            gae_lambda: 0.99,
            entropy_coef: 0.02,
            entropy_coef_final: 0.002,
            ..PpoConfig::default()
        };
        let env = EnvParams { episode_hours: 1024, ..EnvParams::default() };
        TrainConfig { envs: 4, ..Self::new(ppo, updates, seed, env) }
    }

    /// This configuration with every fill paying `costs`.
    pub fn paying(self, costs: Costs) -> Self {
        TrainConfig {
            fee_rate: costs.fee_rate,
            env: EnvParams { slippage: costs.slippage, ..self.env },
            ..self
        }
    }

    /// The project's defaults on `env`: 8 environments, the normalisations on, the default fee.
    pub fn new(ppo: PpoConfig, updates: usize, seed: u64, env: EnvParams) -> Self {
        TrainConfig {
            ppo,
            envs: 8,
            updates,
            seed,
            env,
            normalize_observations: true,
            scale_rewards: true,
            fee_rate: arbpolicy_core::config::DEFAULT_FEE_RATE,
            network: Architecture::Plan,
            threads: 0,
            configs: Configs::Sampled,
        }
    }
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
    /// Mean reward per step as the environment gave it (percent of capital by default).
    pub reward_mean: f64,
    /// The entropy coefficient the update used.
    pub entropy_coef: f64,
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

/// A training run in progress: the network, Adam's state and how far it has come. Every update's
/// rollout starts its environments afresh from a stream seeded by the run's seed and the update's
/// number, so the state here is all a run is: a run resumed from a checkpoint continues exactly
/// as the uninterrupted run does.
pub struct Trainer<M> {
    market: M,
    config: TrainConfig,
    device: Device,
    net: Option<PolicyNet>,
    optimizer: ModuleOptimizer,
    update: usize,
    steps: usize,
    returns: ReturnScale,
}

/// What a checkpoint must have been written with to be resumed: the whole configuration but the
/// number of updates, which a resumed run may extend, and the thread count, which changes nothing.
fn identity(config: &TrainConfig) -> String {
    format!("{:?}", TrainConfig { updates: 0, threads: 0, ..*config })
}

/// Held while a run's epochs build and differentiate burn's autodiff graphs.
static AUTODIFF: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Observations the normalisation is fitted on.
const NORMALIZATION_SAMPLES: usize = 4096;

/// Where a checkpoint keeps its parts.
const NET_FILE: &str = "net.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bin";
const PROGRESS_FILE: &str = "progress.json";

impl<M: Market + Clone + Send> Trainer<M> {
    /// A run on `market` with freshly initialised weights, the identity normalisation and no
    /// update done.
    fn start(market: M, config: TrainConfig) -> Result<Self> {
        anyhow::ensure!(config.envs > 0, "at least one environment is needed");
        anyhow::ensure!(
            config.ppo.n_steps >= config.envs && config.ppo.batch_size > 1,
            "steps per update must cover every environment and minibatches hold at least 2 steps"
        );
        let device = Device::flex().autodiff();
        let net = PolicyNet::seeded(&device, config.seed, config.network);
        let optimizer = config.ppo.optimizer();
        let returns = ReturnScale::default();
        Ok(Trainer { market, config, device, net: Some(net), optimizer, update: 0, steps: 0, returns })
    }

    /// A fresh run on `market`.
    pub fn new(market: M, config: TrainConfig) -> Result<Self> {
        let mut t = Self::start(market, config)?;
        if config.normalize_observations {
            // Random allowed actions (a network of zeros gives every allowed action the same
            // probability), so that positions are open in many of the observations.
            let rows = crate::rollout::sample_observations(
                t.market.clone(),
                config.env,
                config.fee_rate,
                &Native::zero(Architecture::Plan),
                NORMALIZATION_SAMPLES,
                config.seed ^ 0x4E0F,
            )?;
            let net = t.net.take().expect("a network");
            t.net = Some(net.normalized(&crate::normalization::fit(&rows)));
        }
        Ok(t)
    }

    /// A run resumed from the checkpoint in `dir` (written by [`Trainer::save`] with the same
    /// configuration).
    pub fn resume(market: M, config: TrainConfig, dir: &Path) -> Result<Self> {
        Self::load(market, config, dir, true)
    }

    /// A run warm-started from the checkpoint in `dir` with other settings (a population's member
    /// driven from outside, `train --init-from`): the checkpoint's weights with their
    /// normalisation, Adam's state, reward scale and progress, then `config.updates` more updates
    /// of `config`. The network must be of the checkpoint's architecture.
    pub fn warm_start(market: M, config: TrainConfig, dir: &Path) -> Result<Self> {
        let mut t = Self::load(market, config, dir, false)?;
        t.config.updates += t.update;
        Ok(t)
    }

    /// The run of `config` with the state of the checkpoint in `dir`, which must have been
    /// written by the same configuration if `same`.
    fn load(market: M, config: TrainConfig, dir: &Path, same: bool) -> Result<Self> {
        // The checkpoint's network carries its normalisation: none is fitted again.
        let mut t = Self::start(market, config)?;
        let progress: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(PROGRESS_FILE))
                .with_context(|| format!("cannot read the checkpoint in {}", dir.display()))?,
        )?;
        anyhow::ensure!(
            !same || progress["config"].as_str() == Some(identity(&config).as_str()),
            "the checkpoint in {} was written by another training configuration",
            dir.display()
        );
        let count = |k: &str| progress[k].as_u64().map(|v| v as usize).with_context(|| format!("no {k}"));
        (t.update, t.steps) = (count("update")?, count("steps")?);
        let moment = |k: &str| progress["returns"][k].as_f64().with_context(|| format!("no returns.{k}"));
        t.returns = ReturnScale { count: moment("count")?, mean: moment("mean")?, var: moment("var")? };
        let net = t.net.take().expect("a network");
        t.net = Some(net.try_load_file(dir.join(NET_FILE)).map_err(|e| {
            anyhow::anyhow!("cannot load the checkpoint's network (of another architecture?): {e:?}")
        })?);
        let optimizer = std::mem::replace(&mut t.optimizer, config.ppo.optimizer());
        t.optimizer = optimizer
            .load(dir.join(OPTIMIZER_FILE))
            .map_err(|e| anyhow::anyhow!("cannot load the checkpoint's optimiser: {e:?}"))?;
        Ok(t)
    }

    /// Write a checkpoint into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        self.net()
            .clone()
            .save_file(dir.join(NET_FILE))
            .map_err(|e| anyhow::anyhow!("cannot save the network: {e:?}"))?;
        self.optimizer
            .save(dir.join(OPTIMIZER_FILE))
            .map_err(|e| anyhow::anyhow!("cannot save the optimiser: {e:?}"))?;
        let progress = serde_json::json!({
            "update": self.update,
            "steps": self.steps,
            "config": identity(&self.config),
            "returns": { "count": self.returns.count, "mean": self.returns.mean, "var": self.returns.var },
        });
        std::fs::write(dir.join(PROGRESS_FILE), progress.to_string())?;
        Ok(())
    }

    /// The run's configuration as it stands.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Go on with another configuration of the same network (population-based training's
    /// explore step, a curriculum's next phase); the weights, Adam's state, the reward scale and
    /// the progress stay.
    pub fn reconfigure(&mut self, config: TrainConfig) {
        debug_assert_eq!(config.network, self.config.network);
        self.config = config;
    }

    /// Take over `other`'s weights, Adam's state, reward scale and progress (population-based
    /// training's exploit step); this run keeps its own configuration and seed.
    pub fn copy_state(&mut self, other: &Trainer<M>) {
        self.net = other.net.clone();
        self.optimizer = other.optimizer.clone();
        self.returns = other.returns;
        (self.update, self.steps) = (other.update, other.steps);
    }

    /// Environment steps collected so far.
    pub fn steps_done(&self) -> usize {
        self.steps
    }

    /// The network as it stands.
    pub fn net(&self) -> &PolicyNet {
        self.net.as_ref().expect("a network")
    }

    /// Updates done so far.
    pub fn updates_done(&self) -> usize {
        self.update
    }

    /// Whether every update of the configuration is done.
    pub fn is_done(&self) -> bool {
        self.update >= self.config.updates
    }

    /// The entropy coefficient of update `update` (from 1): from `entropy_coef` at the first to
    /// `entropy_coef_final` at the last, linearly.
    pub fn entropy_coef(&self, update: usize) -> f32 {
        let ppo = &self.config.ppo;
        let progress = if self.config.updates > 1 {
            (update.saturating_sub(1) as f32 / (self.config.updates - 1) as f32).min(1.0)
        } else {
            0.0
        };
        ppo.entropy_coef + (ppo.entropy_coef_final - ppo.entropy_coef) * progress
    }

    /// Run the next update: collect a rollout with the current weights, then PPO's epochs.
    pub fn update(&mut self) -> Result<UpdateMetrics> {
        let config = self.config;
        self.update += 1;
        let ppo = PpoConfig { entropy_coef: self.entropy_coef(self.update), ..config.ppo };
        let seed = config.seed ^ (self.update as u64).wrapping_mul(0xA24B_AED4_963E_E407);
        let mut collector = Collector::new(
            self.market.clone(),
            config.env,
            (config.configs, config.fee_rate),
            config.envs,
            seed,
        )?
        .on_threads(config.threads);
        let mut shuffle = Pcg64Mcg::seed_from_u64(seed.rotate_left(17) ^ 0x5EED);
        let per_env = ppo.n_steps.div_ceil(config.envs);
        let native = self.net().native();
        let scale = config.scale_rewards.then_some(&mut self.returns);
        let rollout = collector.collect(&native, per_env, ppo.gamma, ppo.gae_lambda, scale)?;
        self.steps += rollout.len();
        let mut rows: Vec<usize> = (0..rollout.len()).collect();
        let mut parts = Vec::new();
        let mut net = self.net.take().expect("a network");
        // One run's epochs at a time in the process: burn 0.22's autodiff is not safe with
        // backward passes on several threads at once (a deadlock seen in CI; tracel-ai/burn#5573:
        // a gradient silently lost). Rollouts and scoring still run side by side.
        let _autodiff = AUTODIFF.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..ppo.epochs {
            rows.shuffle(&mut shuffle);
            for chunk in rows.chunks(ppo.batch_size).filter(|c| c.len() > 1) {
                let (next, loss) =
                    step(net, &mut self.optimizer, &minibatch(&rollout, chunk, &self.device), &ppo);
                net = next;
                parts.push(loss);
            }
        }
        self.net = Some(net);
        let episodes = rollout.episode_returns.len();
        let total = rollout.len().max(1) as f64;
        Ok(UpdateMetrics {
            update: self.update,
            steps: self.steps,
            episode_return: rollout.episode_returns.iter().sum::<f64>() / episodes as f64,
            episodes,
            reward_mean: rollout.raw_rewards.iter().sum::<f64>() / total,
            entropy_coef: f64::from(ppo.entropy_coef),
            loss: LossParts::mean(&parts),
            explained_variance: explained_variance(&rollout.returns, &rollout.values),
            action_mix: rollout.action_mix.map(|k| k as f64 / total),
        })
    }
}

/// Train a network on `market`, calling `report` after every update.
pub fn train_network<M: Market + Clone + Send>(
    market: M,
    config: &TrainConfig,
    mut report: impl FnMut(&UpdateMetrics),
) -> Result<PolicyNet> {
    let mut trainer = Trainer::new(market, *config)?;
    while !trainer.is_done() {
        report(&trainer.update()?);
    }
    Ok(trainer.net.take().expect("a network"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbpolicy_core::market::{MemoryMarket, SyntheticMarket, SyntheticParams};

    /// A 20-day market and a two-update run of `n_steps` over `envs` environments.
    fn tiny_run(n_steps: usize, envs: usize, seed: u64) -> (MemoryMarket, TrainConfig) {
        let market =
            SyntheticMarket::generate(3, &SyntheticParams { hours: 24 * 20, ..SyntheticParams::default() });
        let ppo = PpoConfig { n_steps, epochs: 2, ..PpoConfig::default() };
        let env = EnvParams { episode_hours: 48, ..EnvParams::default() };
        let config = TrainConfig { envs, ..TrainConfig::new(ppo, 2, seed, env) };
        (market, config)
    }

    fn tiny(seed: u64) -> (Vec<UpdateMetrics>, Vec<f32>) {
        let (market, config) = tiny_run(256, 4, seed);
        let mut metrics = Vec::new();
        let net = train_network(&market, &config, |m| metrics.push(*m)).unwrap();
        (metrics, net.parameters())
    }

    #[test]
    fn a_resumed_run_continues_as_the_uninterrupted_run() {
        let (market, config) = tiny_run(128, 2, 4);
        let mut straight = Trainer::new(&market, config).unwrap();
        let m1 = straight.update().unwrap();
        let dir = std::env::temp_dir().join(format!("arbpolicy-checkpoint-{}", std::process::id()));
        straight.save(&dir).unwrap();
        let m2 = straight.update().unwrap();
        let mut resumed = Trainer::resume(&market, config, &dir).unwrap();
        assert_eq!(resumed.updates_done(), 1);
        let r2 = resumed.update().unwrap();
        assert!(resumed.is_done());
        assert_eq!(r2, m2);
        assert_eq!(resumed.net().parameters(), straight.net().parameters());
        assert_ne!(m1.loss, m2.loss);
        let other = TrainConfig { seed: 5, ..config };
        let refused = Trainer::resume(&market, other, &dir).err().unwrap().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(refused.contains("another training configuration"), "{refused}");
    }

    #[test]
    fn a_warm_start_takes_the_checkpoints_state_and_the_new_settings() {
        let (market, config) = tiny_run(128, 2, 4);
        let mut straight = Trainer::new(&market, config).unwrap();
        straight.update().unwrap();
        let dir = std::env::temp_dir().join(format!("arbpolicy-warm-{}", std::process::id()));
        straight.save(&dir).unwrap();
        let m2 = straight.update().unwrap();
        // The same settings: the uninterrupted run's next update, and `updates` more after the
        // checkpoint's.
        let mut same = Trainer::warm_start(&market, TrainConfig { updates: 1, ..config }, &dir).unwrap();
        assert_eq!((same.updates_done(), same.config().updates), (1, 2));
        assert_eq!(same.update().unwrap(), m2);
        assert!(same.is_done());
        // Another learning rate, seed and entropy: the same start, another step.
        let ppo = PpoConfig { learning_rate: 1e-2, entropy_coef: 0.05, ..config.ppo };
        let other = TrainConfig { ppo, seed: 9, updates: 3, ..config };
        let mut warm = Trainer::warm_start(&market, other, &dir).unwrap();
        let resumed = Trainer::resume(&market, config, &dir).unwrap();
        assert_eq!(warm.net().parameters(), resumed.net().parameters());
        assert_eq!((warm.steps_done(), warm.config().updates), (128, 4));
        warm.update().unwrap();
        assert_ne!(warm.net().parameters(), straight.net().parameters());
        // A checkpoint of the other architecture is refused.
        let pointer = TrainConfig { network: Architecture::Pointer, ..config };
        let refused = Trainer::warm_start(&market, pointer, &dir).err().unwrap().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(refused.contains("cannot load the checkpoint's network"), "{refused}");
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
