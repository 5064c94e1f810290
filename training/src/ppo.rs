//! Masked PPO (clipped objective, clipped value loss, entropy over allowed actions only), with
//! the defaults of sb3-contrib's MaskablePPO and CleanRL: the loss of a minibatch, one optimiser
//! step with the gradient clipped by its global norm, and generalised advantage estimation.
//!
//! Masking follows the engine: a disallowed action's logit is replaced by the finite
//! [`MASKED_LOGIT`], never `-inf`, so its probability is exactly 0 and no term is NaN; the mask
//! stored with each step is applied again in every epoch.

use crate::network::PolicyNet;
use arbpolicy_core::policy::choice::MASKED_LOGIT;
use burn::module::{ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// PPO's hyper-parameters; the defaults are the plan's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PpoConfig {
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Adam's epsilon.
    pub adam_epsilon: f32,
    /// Steps collected per update, over all environments together.
    pub n_steps: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Passes over the rollout per update.
    pub epochs: usize,
    /// Discount.
    pub gamma: f32,
    /// GAE's lambda.
    pub gae_lambda: f32,
    /// Clip range of the probability ratio and of the value change.
    pub clip: f32,
    /// Weight of the entropy bonus (at the first update).
    pub entropy_coef: f32,
    /// Weight of the entropy bonus at the last update, reached linearly (equal to `entropy_coef`
    /// for none).
    pub entropy_coef_final: f32,
    /// Weight of the value loss.
    pub value_coef: f32,
    /// Largest global norm of the gradient.
    pub max_grad_norm: f32,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            learning_rate: 3e-4,
            adam_epsilon: 1e-5,
            n_steps: 2048,
            batch_size: 64,
            epochs: 10,
            gamma: 0.99,
            gae_lambda: 0.95,
            clip: 0.2,
            entropy_coef: 0.01,
            entropy_coef_final: 0.01,
            value_coef: 0.5,
            max_grad_norm: 0.5,
        }
    }
}

impl PpoConfig {
    /// Adam with this configuration's epsilon (the gradient is clipped by [`step`]).
    pub fn optimizer(&self) -> ModuleOptimizer {
        AdamConfig::new().with_epsilon(self.adam_epsilon).init()
    }
}

/// A minibatch of stored steps.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Observations `[n, 275]`.
    pub observations: Tensor<2>,
    /// The masks the actions were chosen under, `[n, 36]`, true where allowed.
    pub masks: Tensor<2, Bool>,
    /// The actions taken, `[n, 1]`.
    pub actions: Tensor<2, Int>,
    /// Their log-probabilities when taken, `[n]`.
    pub log_probs: Tensor<1>,
    /// Advantages, `[n]` (normalised here, per minibatch).
    pub advantages: Tensor<1>,
    /// Returns, `[n]`.
    pub returns: Tensor<1>,
    /// The values predicted when the steps were taken, `[n]`.
    pub values: Tensor<1>,
}

/// What a minibatch's loss is made of.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LossParts {
    /// The whole loss: policy + value coefficient x value - entropy coefficient x entropy.
    pub total: f32,
    /// The clipped policy objective, negated.
    pub policy: f32,
    /// The clipped value loss.
    pub value: f32,
    /// Mean entropy over the allowed actions.
    pub entropy: f32,
    /// Approximate KL divergence from the policy that took the steps.
    pub approx_kl: f32,
    /// Fraction of steps whose ratio was clipped.
    pub clip_fraction: f32,
}

impl LossParts {
    /// The mean of each part over minibatches.
    pub fn mean(parts: &[LossParts]) -> LossParts {
        let n = parts.len().max(1) as f32;
        let sum = |f: fn(&LossParts) -> f32| parts.iter().map(f).sum::<f32>() / n;
        LossParts {
            total: sum(|p| p.total),
            policy: sum(|p| p.policy),
            value: sum(|p| p.value),
            entropy: sum(|p| p.entropy),
            approx_kl: sum(|p| p.approx_kl),
            clip_fraction: sum(|p| p.clip_fraction),
        }
    }
}

/// The loss of a minibatch (differentiable) and its parts.
pub fn loss(net: &PolicyNet, batch: &Batch, config: &PpoConfig) -> (Tensor<1>, LossParts) {
    let n = batch.log_probs.dims()[0];
    let (logits, values) = net.forward(batch.observations.clone());
    let logits = logits.mask_fill(batch.masks.clone().bool_not(), MASKED_LOGIT);
    let log_p = log_softmax(logits, 1);
    let taken = log_p.clone().gather(1, batch.actions.clone()).reshape([n]);
    let allowed = batch.masks.clone().float();
    let entropy = (log_p.clone().exp() * log_p * allowed).sum_dim(1).reshape([n]).neg();

    let advantages = batch.advantages.clone();
    let mean = advantages.clone().mean();
    let std = advantages.clone().var(0).sqrt();
    let advantages = (advantages - mean) / (std + 1e-8);

    let log_ratio = taken - batch.log_probs.clone();
    let ratio = log_ratio.clone().exp();
    let unclipped = ratio.clone() * advantages.clone();
    let clipped = ratio.clone().clamp(1.0 - config.clip, 1.0 + config.clip) * advantages;
    let policy = unclipped.min_pair(clipped).mean().neg();

    let values = values.reshape([n]);
    let moved = (values.clone() - batch.values.clone()).clamp(-config.clip, config.clip);
    let clipped_values = batch.values.clone() + moved;
    let value = (values - batch.returns.clone())
        .square()
        .max_pair((clipped_values - batch.returns.clone()).square())
        .mean()
        * 0.5;
    let entropy = entropy.mean();
    let total = policy.clone() + value.clone() * config.value_coef - entropy.clone() * config.entropy_coef;

    let scalar = |t: Tensor<1>| t.into_scalar::<f32>();
    let approx_kl = ((ratio.clone() - 1.0) - log_ratio).mean();
    let clip_fraction = (ratio - 1.0).abs().greater_elem(config.clip).float().mean();
    let parts = LossParts {
        total: scalar(total.clone().detach()),
        policy: scalar(policy.detach()),
        value: scalar(value.detach()),
        entropy: scalar(entropy.detach()),
        approx_kl: scalar(approx_kl.detach()),
        clip_fraction: scalar(clip_fraction.detach()),
    };
    (total, parts)
}

/// One optimiser step on a minibatch: the loss, its gradient scaled down to a global norm of at
/// most `max_grad_norm` (as PyTorch's `clip_grad_norm_`), then Adam.
pub fn step(
    net: PolicyNet,
    optimizer: &mut ModuleOptimizer,
    batch: &Batch,
    config: &PpoConfig,
) -> (PolicyNet, LossParts) {
    let (total, parts) = loss(&net, batch, config);
    let mut grads = GradientsParams::from_grads(total.backward(), &net);
    let norm = global_norm(&net, &grads);
    if norm > config.max_grad_norm {
        scale(&net, &mut grads, config.max_grad_norm / (norm + 1e-6));
    }
    (optimizer.step(config.learning_rate, net, grads), parts)
}

/// The norm of all gradients together.
pub fn global_norm(net: &PolicyNet, grads: &GradientsParams) -> f32 {
    struct SquaredSum<'a>(&'a GradientsParams, f32);
    impl ModuleVisitor for SquaredSum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(param.id) {
                self.1 += g.square().sum().into_scalar::<f32>();
            }
        }
    }
    let mut sum = SquaredSum(grads, 0.0);
    net.visit(&mut sum);
    sum.1.sqrt()
}

fn scale(net: &PolicyNet, grads: &mut GradientsParams, factor: f32) {
    struct Scale<'a>(&'a mut GradientsParams, f32);
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.remove::<D>(param.id) {
                self.0.register(param.id, g * self.1);
            }
        }
    }
    net.visit(&mut Scale(grads, factor));
}

/// Generalised advantage estimation over one environment's steps in order: `values[t]` the
/// critic's value of step `t`'s observation, `ends[t]` whether the episode ended with step `t`,
/// `last_value` the value of the observation after the last step. Returns advantages and returns.
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    ends: &[bool],
    last_value: f32,
    gamma: f32,
    lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = rewards.len();
    let mut advantages = vec![0.0f32; n];
    let mut running = 0.0f32;
    for t in (0..n).rev() {
        let next_value = if t + 1 < n { values[t + 1] } else { last_value };
        let go_on = if ends[t] { 0.0 } else { 1.0 };
        let delta = rewards[t] + gamma * next_value * go_on - values[t];
        running = delta + gamma * lambda * go_on * running;
        advantages[t] = running;
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::{device, observations};
    use burn::module::ModuleVisitor;

    #[test]
    fn gae_matches_the_recursion_by_hand() {
        // Three steps, the episode ending with the second: the third starts a new one.
        let (gamma, lambda) = (0.9f32, 0.8f32);
        let (adv, ret) = gae(&[1.0, 2.0, 3.0], &[0.5, 0.25, 1.0], &[false, true, false], 2.0, gamma, lambda);
        let d2 = 3.0 + gamma * 2.0 - 1.0;
        let d1 = 2.0 - 0.25;
        let d0 = 1.0 + gamma * 0.25 - 0.5;
        let expected = [d0 + gamma * lambda * d1, d1, d2];
        for (a, e) in adv.iter().zip(expected) {
            assert!((a - e).abs() < 1e-6, "{adv:?} {expected:?}");
        }
        assert_eq!(ret, vec![adv[0] + 0.5, adv[1] + 0.25, adv[2] + 1.0]);
    }

    /// A batch of 64 random observations, each allowing HOLD and a few other actions, with
    /// actions drawn among the allowed ones and made-up advantages and returns.
    fn batch(net: &PolicyNet, seed: u64) -> Batch {
        let d = device();
        let n = 64;
        let obs = observations(n, seed);
        let mut masks = vec![false; n * 36];
        let mut actions = vec![0i64; n];
        for r in 0..n {
            masks[r * 36] = true;
            for k in [1 + r % 30, 31 + r % 5, 2 + (r * 7) % 29] {
                masks[r * 36 + k] = true;
            }
            actions[r] = [0, 1 + r % 30, 31 + r % 5][r % 3] as i64;
        }
        let masks = Tensor::<2, Bool>::from_data(TensorData::new(masks, [n, 36]), &d);
        let actions = Tensor::<2, Int>::from_data(TensorData::new(actions, [n, 1]), &d);
        let observations = Tensor::<2>::from_data(TensorData::new(obs, [n, 275]), &d);
        let (logits, values) = net.forward(observations.clone());
        let log_p = log_softmax(logits.mask_fill(masks.clone().bool_not(), MASKED_LOGIT), 1);
        let log_probs = log_p.gather(1, actions.clone()).reshape([n]).detach();
        let values = values.reshape([n]).detach();
        let advantages: Vec<f32> = (0..n).map(|r| ((r * 37 % 11) as f32 - 4.0) / 3.0).collect();
        let advantages = Tensor::<1>::from_data(TensorData::new(advantages, [n]), &d);
        let returns = values.clone() + advantages.clone();
        Batch { observations, masks, actions, log_probs, advantages, returns, values }
    }

    #[test]
    fn updates_on_a_fixed_batch_reduce_its_clipped_loss() {
        let net = PolicyNet::seeded(&device(), 7, arbpolicy_core::policy::Architecture::Plan);
        let b = batch(&net, 1);
        let config = PpoConfig::default();
        let (_, before) = loss(&net, &b, &config);
        // Taken by the same policy: ratios are 1, nothing is clipped yet.
        assert!(before.approx_kl.abs() < 1e-6 && before.clip_fraction == 0.0, "{before:?}");
        let mut optimizer = config.optimizer();
        let mut net = net;
        for _ in 0..10 {
            net = step(net, &mut optimizer, &b, &config).0;
        }
        let (_, after) = loss(&net, &b, &config);
        assert!(after.total < before.total, "{before:?} -> {after:?}");
        assert!(after.policy < before.policy && after.value < before.value, "{before:?} -> {after:?}");
        assert!(after.approx_kl > 0.0, "the policy moved: {after:?}");
    }

    #[test]
    fn gradients_reach_every_parameter() {
        let net = PolicyNet::seeded(&device(), 7, arbpolicy_core::policy::Architecture::Plan);
        let (total, _) = loss(&net, &batch(&net, 2), &PpoConfig::default());
        let grads = GradientsParams::from_grads(total.backward(), &net);
        struct Check<'a>(&'a GradientsParams, Vec<String>, usize);
        impl ModuleVisitor for Check<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.2 += 1;
                let dims = param.val().dims();
                match self.0.get::<D>(param.id) {
                    None => self.1.push(format!("{dims:?}: no gradient")),
                    Some(g) if g.clone().abs().sum().into_scalar::<f32>() == 0.0 => {
                        self.1.push(format!("{dims:?}: a zero gradient"))
                    }
                    Some(g) if !g.clone().is_nan().any().into_scalar::<bool>() => {}
                    Some(_) => self.1.push(format!("{dims:?}: NaN")),
                }
            }
        }
        let mut check = Check(&grads, Vec::new(), 0);
        net.visit(&mut check);
        // 11 linear layers and the 4 attention projections, weight and bias; 2 norms, scale and
        // shift; the observation's normalisation, shift and scale, which is fitted, not trained.
        assert_eq!(check.2, 2 * 15 + 2 * 2 + 2);
        assert_eq!(check.1, ["[275]: no gradient", "[275]: no gradient"]);
        assert!(global_norm(&net, &grads) > 0.0);
    }

    #[test]
    fn masked_actions_have_no_probability_and_the_entropy_is_the_allowed_ones() {
        let net = PolicyNet::seeded(&device(), 7, arbpolicy_core::policy::Architecture::Plan);
        let b = batch(&net, 3);
        let (logits, _) = net.forward(b.observations.clone());
        let log_p = log_softmax(logits.clone().mask_fill(b.masks.clone().bool_not(), MASKED_LOGIT), 1);
        let p = log_p.clone().exp().into_data().try_to_vec::<f32>().unwrap();
        let masks = b.masks.clone().into_data().try_to_vec::<bool>().unwrap();
        let logits = logits.into_data().try_to_vec::<f32>().unwrap();
        let mut expected_entropy = 0.0f64;
        for r in 0..64 {
            let row = r * 36..(r + 1) * 36;
            assert!(p[row.clone()].iter().zip(&masks[row.clone()]).all(|(&p, &m)| m || p == 0.0));
            // The entropy of the softmax over the allowed logits alone.
            let allowed: Vec<f64> = row.clone().filter(|&k| masks[k]).map(|k| f64::from(logits[k])).collect();
            let top = allowed.iter().copied().fold(f64::MIN, f64::max);
            let z: f64 = allowed.iter().map(|l| (l - top).exp()).sum();
            expected_entropy -=
                allowed.iter().map(|l| ((l - top).exp() / z) * ((l - top) - z.ln())).sum::<f64>();
        }
        let (_, parts) = loss(&net, &b, &PpoConfig::default());
        let expected = (expected_entropy / 64.0) as f32;
        assert!((parts.entropy - expected).abs() < 1e-5, "{} {expected}", parts.entropy);
    }
}
