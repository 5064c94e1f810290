//! Rollouts: many core environments stepped in parallel with the engine's own native pass, each
//! with its own seeded random stream, random episode starts and trading configurations drawn
//! from the plan's training ranges — reproducible from one seed whatever the thread count.
//!
//! Rewards are scaled as SB3's `VecNormalize` does: divided by the running standard deviation of
//! each environment's discounted return ([`ReturnScale`]) and clipped to `[-10, 10]`, so the
//! value function sees returns of about unit size whatever the reward's unit.

use crate::ppo::gae;
use anyhow::{Context, Result};
use arbpolicy_core::policy::Native;
use arbpolicy_core::policy::choice;
use arbpolicy_core::{
    ACTION_COUNT, Action, ActionMask, EnvParams, Environment, Market, OBSERVATION_LEN, Observation,
    TradingConfig,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// One environment with its random stream and where its episode stands.
struct Worker<M> {
    env: Environment<M>,
    rng: Pcg64Mcg,
    observation: Observation,
    mask: ActionMask,
    episode_return: f64,
    fee_rate: f64,
    configs: Configs,
}

/// The trading configurations a rollout's episodes run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Configs {
    /// Drawn from the implementation plan's training ranges ([`TradingConfig::sample`]).
    #[default]
    Sampled,
    /// The plan's first curriculum phase: leverage 1x, utilisation 50 %, 2 positions, the
    /// defaults' stop-loss and liquidation buffer.
    Simple,
}

impl Configs {
    /// The configuration of a new episode, paying `fee_rate`.
    pub fn draw(self, rng: &mut Pcg64Mcg, fee_rate: f64) -> TradingConfig {
        let config = match self {
            Configs::Sampled => TradingConfig::sample(rng),
            Configs::Simple => TradingConfig {
                max_leverage: 1.0,
                target_utilization: 0.5,
                max_positions: 2,
                ..TradingConfig::default()
            },
        };
        TradingConfig { fee_rate, ..config }
    }
}

/// Largest scaled reward, either way.
pub const REWARD_CLIP: f32 = 10.0;

/// The running mean and variance of discounted returns (Chan et al.'s parallel update, as SB3's
/// `RunningMeanStd`), which rewards are divided by the deviation of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReturnScale {
    /// Returns seen (SB3 starts from 1e-4, so the first update is not a division by one value).
    pub count: f64,
    /// Their mean.
    pub mean: f64,
    /// Their variance.
    pub var: f64,
}

impl Default for ReturnScale {
    fn default() -> Self {
        ReturnScale { count: 1e-4, mean: 0.0, var: 1.0 }
    }
}

impl ReturnScale {
    /// Take in a batch of returns.
    pub fn update(&mut self, xs: &[f64]) {
        if xs.is_empty() {
            return;
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let total = self.count + n;
        let delta = mean - self.mean;
        let m2 = self.var * self.count + var * n + delta * delta * self.count * n / total;
        (self.mean, self.var, self.count) = (self.mean + delta * n / total, m2 / total, total);
    }

    /// `reward` divided by the returns' deviation, clipped to [`REWARD_CLIP`].
    pub fn scale(&self, reward: f64) -> f32 {
        ((reward / (self.var + 1e-8).sqrt()) as f32).clamp(-REWARD_CLIP, REWARD_CLIP)
    }
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
    /// Rewards as the environment gave them (percent of capital by default).
    pub raw_rewards: Vec<f64>,
    /// Rewards as learned from: scaled (when the run scales them), and a truncated episode's last
    /// reward with the discounted value it was cut at added.
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
    threads: usize,
}

impl<M: Market + Clone + Send> Collector<M> {
    /// `count` environments over `market`, seeded from `seed`, each episode with a configuration
    /// of `configs` that pays `fee_rate`.
    pub fn new(
        market: M,
        params: EnvParams,
        (configs, fee_rate): (Configs, f64),
        count: usize,
        seed: u64,
    ) -> Result<Self> {
        anyhow::ensure!(count > 0, "at least one environment is needed");
        let workers = (0..count)
            .map(|k| {
                let mut rng =
                    Pcg64Mcg::seed_from_u64(seed ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let mut env = Environment::new(market.clone(), params).context("the environment")?;
                let (observation, mask) = env.reset(rng.random(), configs.draw(&mut rng, fee_rate))?;
                Ok(Worker { env, rng, observation, mask, episode_return: 0.0, fee_rate, configs })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Collector { workers, threads: 0 })
    }

    /// Step the environments on at most `threads` threads (0, the default: one per core).
    pub fn on_threads(self, threads: usize) -> Self {
        Collector { threads, ..self }
    }

    /// Step every environment `steps` times with `network`, sampling actions; scale the rewards
    /// with `scale` (updated with this rollout's discounted returns first), if given; compute the
    /// advantages with `gamma` and `lambda`.
    pub fn collect(
        &mut self,
        network: &Native,
        steps: usize,
        gamma: f32,
        lambda: f32,
        scale: Option<&mut ReturnScale>,
    ) -> Result<Rollout> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = if self.threads == 0 { cores } else { self.threads };
        let threads = threads.min(self.workers.len()).max(1);
        let chunk = self.workers.len().div_ceil(threads);
        let parts: Vec<Result<Vec<Steps>>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .workers
                .chunks_mut(chunk)
                .map(|workers| {
                    s.spawn(move || {
                        workers.iter_mut().map(|w| w.run(network, steps, gamma)).collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a rollout thread")).collect()
        });
        let parts: Vec<Steps> =
            parts.into_iter().collect::<Result<Vec<_>>>()?.into_iter().flatten().collect();
        // The returns' scale is updated with every environment's returns, in environment order.
        let scale = scale.map(|s| {
            for part in &parts {
                s.update(&part.discounted_returns(f64::from(gamma)));
            }
            *s
        });
        let mut all = Rollout::default();
        for mut r in parts {
            let rewards: Vec<f32> = r
                .rollout
                .raw_rewards
                .iter()
                .zip(&r.bootstraps)
                .map(|(&raw, &b)| scale.map_or(raw as f32, |s| s.scale(raw)) + b)
                .collect();
            let (advantages, returns) =
                gae(&rewards, &r.rollout.values, &r.ends, r.last_value, gamma, lambda);
            (r.rollout.rewards, r.rollout.advantages, r.rollout.returns) = (rewards, advantages, returns);
            let r = r.rollout;
            all.observations.extend(r.observations);
            all.masks.extend(r.masks);
            all.actions.extend(r.actions);
            all.log_probs.extend(r.log_probs);
            all.values.extend(r.values);
            all.raw_rewards.extend(r.raw_rewards);
            all.rewards.extend(r.rewards);
            all.advantages.extend(r.advantages);
            all.returns.extend(r.returns);
            all.episode_returns.extend(r.episode_returns);
            for (a, b) in all.action_mix.iter_mut().zip(r.action_mix) {
                *a += b;
            }
        }
        Ok(all)
    }
}

/// One environment's steps before their rewards are scaled.
struct Steps {
    rollout: Rollout,
    /// Whether the episode ended with each step.
    ends: Vec<bool>,
    /// `gamma x` the value a truncated episode was cut at, else 0, per step.
    bootstraps: Vec<f32>,
    /// The value of the observation after the last step.
    last_value: f32,
}

impl Steps {
    /// The discounted return after each step, restarting with each episode.
    fn discounted_returns(&self, gamma: f64) -> Vec<f64> {
        let mut running = 0.0;
        let mut out = Vec::with_capacity(self.ends.len());
        for (r, &end) in self.rollout.raw_rewards.iter().zip(&self.ends) {
            running = running * gamma + r;
            out.push(running);
            if end {
                running = 0.0;
            }
        }
        out
    }
}

impl<M: Market> Worker<M> {
    fn run(&mut self, network: &Native, steps: usize, gamma: f32) -> Result<Steps> {
        let mut r = Rollout::default();
        let mut ends = Vec::with_capacity(steps);
        let mut bootstraps = Vec::with_capacity(steps);
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
            r.action_mix[action.kind()] += 1;
            let step = self.env.step(action)?;
            let (terminated, truncated, next) =
                (step.terminated, step.truncated, (step.observation, step.mask));
            r.raw_rewards.push(step.reward);
            self.episode_return += step.reward;
            let end = terminated || truncated;
            // Cut by the episode's length, not ended by the market: bootstrap from where it stood.
            bootstraps.push(if truncated && !terminated {
                gamma * network.forward(&next.0).value
            } else {
                0.0
            });
            ends.push(end);
            if end {
                r.episode_returns.push(self.episode_return);
                self.episode_return = 0.0;
                let seed = self.rng.random();
                let config = self.configs.draw(&mut self.rng, self.fee_rate);
                (self.observation, self.mask) = self.env.reset(seed, config)?;
            } else {
                (self.observation, self.mask) = next;
            }
        }
        let last_value = network.forward(&self.observation).value;
        debug_assert_eq!(r.observations.len(), steps * OBSERVATION_LEN);
        debug_assert_eq!(r.masks.len(), steps * ACTION_COUNT);
        Ok(Steps { rollout: r, ends, bootstraps, last_value })
    }
}

/// `count` observations (row after row) that environments over `market` show `network` as it
/// acts: the inputs an exported model is checked on.
pub fn sample_observations<M: Market + Clone + Send>(
    market: M,
    params: EnvParams,
    fee_rate: f64,
    network: &Native,
    count: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    let envs = count.clamp(1, 4);
    let mut collector = Collector::new(market, params, (Configs::Sampled, fee_rate), envs, seed)?;
    let mut rows = collector.collect(network, count.div_ceil(envs), 0.99, 0.95, None)?.observations;
    rows.truncate(count * OBSERVATION_LEN);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_scale_is_the_variance_of_everything_seen_and_clips() {
        let xs: Vec<f64> = (0..50).map(|k| (k as f64 * 0.37).sin() * 3.0 + 0.5).collect();
        let mut whole = ReturnScale { count: 0.0, mean: 0.0, var: 0.0 };
        whole.update(&xs);
        let mut parts = ReturnScale { count: 0.0, mean: 0.0, var: 0.0 };
        parts.update(&xs[..17]);
        parts.update(&xs[17..]);
        parts.update(&[]);
        let (mean, std) = crate::statistics::mean_std(&xs);
        for s in [whole, parts] {
            assert_eq!(s.count, 50.0);
            assert!((s.mean - mean).abs() < 1e-12 && (s.var - std * std).abs() < 1e-12, "{s:?}");
        }
        let s = ReturnScale { count: 10.0, mean: 0.0, var: 4.0 };
        assert!((s.scale(1.0) - 0.5).abs() < 1e-6);
        assert_eq!((s.scale(100.0), s.scale(-100.0)), (REWARD_CLIP, -REWARD_CLIP));
        // The default starts as SB3's: a count of 1e-4 at variance 1, which the first batch outweighs.
        let mut first = ReturnScale::default();
        first.update(&xs);
        assert!((first.var - std * std).abs() < 1e-3);
    }
}
