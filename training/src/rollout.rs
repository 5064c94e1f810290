//! Rollouts: many core environments stepped in parallel with the engine's own native pass, each
//! with its own seeded random stream, random episode starts and trading configurations drawn
//! from the plan's training ranges — reproducible from one seed whatever the thread count.

use crate::ppo::gae;
use anyhow::{Context, Result};
use arbpolicy_core::policy::Network;
use arbpolicy_core::policy::choice;
use arbpolicy_core::{
    ACTION_COUNT, Action, ActionMask, EnvParams, Environment, Market, OBSERVATION_LEN, Observation,
    TradingConfig,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Where `action` counts in an action mix: 0 HOLD, 1 ENTER, 2 EXIT.
pub fn kind(action: Action) -> usize {
    match action {
        Action::Hold => 0,
        Action::Enter { .. } => 1,
        Action::Exit { .. } => 2,
    }
}

/// One environment with its random stream and where its episode stands.
struct Worker<M> {
    env: Environment<M>,
    rng: Pcg64Mcg,
    observation: Observation,
    mask: ActionMask,
    episode_return: f64,
}

/// Steps of all environments, environment after environment, with their advantages and returns.
#[derive(Debug, Clone, Default)]
pub struct Rollout {
    /// Observations, `OBSERVATION_LEN` per step.
    pub observations: Vec<f32>,
    /// Masks, `ACTION_COUNT` per step.
    pub masks: Vec<bool>,
    /// Actions taken.
    pub actions: Vec<i64>,
    /// Their log-probabilities.
    pub log_probs: Vec<f32>,
    /// Values predicted.
    pub values: Vec<f32>,
    /// Rewards (a truncated episode's last reward includes the discounted value it was cut at).
    pub rewards: Vec<f32>,
    /// Advantages (GAE).
    pub advantages: Vec<f32>,
    /// Returns (advantages + values).
    pub returns: Vec<f32>,
    /// Returns of the episodes that ended in this rollout.
    pub episode_returns: Vec<f64>,
    /// Steps per action kind: HOLD, ENTER, EXIT.
    pub action_mix: [usize; 3],
}

impl Rollout {
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Environments over one market, stepped in parallel.
pub struct Collector<M> {
    workers: Vec<Worker<M>>,
}

impl<M: Market + Clone + Send> Collector<M> {
    /// `count` environments over `market`, seeded from `seed`.
    pub fn new(market: M, params: EnvParams, count: usize, seed: u64) -> Result<Self> {
        anyhow::ensure!(count > 0, "at least one environment is needed");
        let workers = (0..count)
            .map(|k| {
                let mut rng =
                    Pcg64Mcg::seed_from_u64(seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let mut env = Environment::new(market.clone(), params).context("the environment")?;
                let (observation, mask) = env.reset(rng.random(), TradingConfig::sample(&mut rng))?;
                Ok(Worker { env, rng, observation, mask, episode_return: 0.0 })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Collector { workers })
    }

    /// Step every environment `steps` times with `network`, sampling actions, and compute the
    /// advantages with `gamma` and `lambda`.
    pub fn collect(&mut self, network: &Network, steps: usize, gamma: f32, lambda: f32) -> Result<Rollout> {
        let threads =
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(self.workers.len()).max(1);
        let chunk = self.workers.len().div_ceil(threads);
        let parts: Vec<Result<Vec<Rollout>>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .workers
                .chunks_mut(chunk)
                .map(|workers| {
                    s.spawn(move || {
                        workers
                            .iter_mut()
                            .map(|w| w.run(network, steps, gamma, lambda))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a rollout thread")).collect()
        });
        let mut all = Rollout::default();
        for part in parts {
            for r in part? {
                all.observations.extend(r.observations);
                all.masks.extend(r.masks);
                all.actions.extend(r.actions);
                all.log_probs.extend(r.log_probs);
                all.values.extend(r.values);
                all.rewards.extend(r.rewards);
                all.advantages.extend(r.advantages);
                all.returns.extend(r.returns);
                all.episode_returns.extend(r.episode_returns);
                for (a, b) in all.action_mix.iter_mut().zip(r.action_mix) {
                    *a += b;
                }
            }
        }
        Ok(all)
    }
}

impl<M: Market> Worker<M> {
    fn run(&mut self, network: &Network, steps: usize, gamma: f32, lambda: f32) -> Result<Rollout> {
        let mut r = Rollout::default();
        let mut ends = Vec::with_capacity(steps);
        for _ in 0..steps {
            let out = network.forward(&self.observation);
            // A policy whose outputs are not finite is a training failure, not a HOLD.
            let p = choice::probabilities(&out.logits, self.mask)
                .filter(|_| out.value.is_finite())
                .context("the network's outputs are not finite")?;
            let index = choice::sample(&p, self.mask, &mut self.rng);
            r.observations.extend_from_slice(&self.observation);
            r.masks.extend(self.mask.to_bools());
            r.actions.push(index as i64);
            r.log_probs.push(p[index].ln());
            r.values.push(out.value);
            let action = Action::from_index(index)?;
            r.action_mix[kind(action)] += 1;
            let step = self.env.step(action)?;
            let (terminated, truncated, next) =
                (step.terminated, step.truncated, (step.observation, step.mask));
            let mut reward = step.reward as f32;
            self.episode_return += step.reward;
            let end = terminated || truncated;
            if truncated && !terminated {
                // Cut by the episode's length, not ended by the market: bootstrap from where it stood.
                reward += gamma * network.forward(&next.0).value;
            }
            r.rewards.push(reward);
            ends.push(end);
            if end {
                r.episode_returns.push(self.episode_return);
                self.episode_return = 0.0;
                let seed = self.rng.random();
                let config = TradingConfig::sample(&mut self.rng);
                (self.observation, self.mask) = self.env.reset(seed, config)?;
            } else {
                (self.observation, self.mask) = next;
            }
        }
        let last_value = network.forward(&self.observation).value;
        (r.advantages, r.returns) = gae(&r.rewards, &r.values, &ends, last_value, gamma, lambda);
        debug_assert_eq!(r.observations.len(), steps * OBSERVATION_LEN);
        debug_assert_eq!(r.masks.len(), steps * ACTION_COUNT);
        Ok(r)
    }
}

/// `count` observations (row after row) that environments over `market` show `network` as it
/// acts: the inputs an exported model is checked on.
pub fn sample_observations<M: Market + Clone + Send>(
    market: M,
    params: EnvParams,
    network: &Network,
    count: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    let envs = count.clamp(1, 4);
    let mut collector = Collector::new(market, params, envs, seed)?;
    let mut rows = collector.collect(network, count.div_ceil(envs), 0.99, 0.95)?.observations;
    rows.truncate(count * OBSERVATION_LEN);
    Ok(rows)
}
