//! The plan's modular PPO network, evaluated natively: no heap, no std, `libm` for math.
//!
//! ```text
//! config 5 ──Linear 16, ReLU──────────────────────────────┐
//! portfolio 10 ──Linear 32, ReLU──────────────────────────┤
//! 5 positions x 12 ──Linear 24, ReLU── max over slots ────┤ concat 136
//! 10 opportunities x 20 ──Linear 40, ReLU── 4-head        │
//!     self-attention ── mean over slots ── Linear 64, ReLU┘
//! 136 ──Linear 128, LayerNorm, ReLU── Linear 64, LayerNorm, ReLU ──┬─ Linear 32, ReLU, Linear 36 → logits
//!                                                                  └─ Linear 32, ReLU, Linear 1  → value
//! ```
//!
//! Weights are held transposed (`[in][out]`), so every layer is a sum of scaled rows that the
//! compiler vectorises; parameters are read and written in PyTorch's order (`weight[out][in]`, then
//! `bias`) through [`Network::parameters`] and [`Network::set_parameters`].

use crate::observation::{
    CONFIG_OFFSET, OPPORTUNITIES_OFFSET, OPPORTUNITY_NAMES, Observation, PORTFOLIO_OFFSET, POSITION_NAMES,
    POSITIONS_OFFSET,
};
use crate::{ACTION_COUNT, MAX_POSITIONS, OPPORTUNITY_SLOTS};

/// Number of parameters of the network.
pub const PARAMETER_COUNT: usize = 42_341;
/// Width of the opportunity embedding (attention model dimension).
pub const MODEL_DIM: usize = 40;
/// Attention heads.
pub const HEADS: usize = 4;
/// Width of one head.
pub const HEAD_DIM: usize = MODEL_DIM / HEADS;
/// Epsilon of both layer norms (PyTorch's default).
pub const LAYER_NORM_EPSILON: f32 = 1e-5;

const POSITION_WIDTH: usize = POSITION_NAMES.len();
const OPPORTUNITY_WIDTH: usize = OPPORTUNITY_NAMES.len();

/// The network's outputs for one observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// Raw (unmasked) action logits.
    pub logits: [f32; ACTION_COUNT],
    /// State value.
    pub value: f32,
}

/// A fully connected layer `y = W x + b` with `I` inputs and `O` outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear<const I: usize, const O: usize> {
    /// `weight_t[i][o]` is PyTorch's `weight[o][i]`.
    pub weight_t: [[f32; O]; I],
    /// The bias.
    pub bias: [f32; O],
}

impl<const I: usize, const O: usize> Linear<I, O> {
    /// A layer of zeros.
    pub const ZERO: Self = Linear { weight_t: [[0.0; O]; I], bias: [0.0; O] };

    /// `W x + b`.
    #[inline(always)]
    pub fn apply(&self, x: &[f32; I]) -> [f32; O] {
        let mut y = self.bias;
        // A block of outputs stays in registers while every input streams past it: 32 at a time
        // (four independent AVX accumulators), then narrower blocks for the remainder.
        let mut start = 0;
        while start + 32 <= O {
            self.accumulate::<32>(x, &mut y, start);
            start += 32;
        }
        if start + 16 <= O {
            self.accumulate::<16>(x, &mut y, start);
            start += 16;
        }
        if start + 8 <= O {
            self.accumulate::<8>(x, &mut y, start);
            start += 8;
        }
        if start + 4 <= O {
            self.accumulate::<4>(x, &mut y, start);
            start += 4;
        }
        while start < O {
            self.accumulate::<1>(x, &mut y, start);
            start += 1;
        }
        y
    }

    #[inline(always)]
    fn accumulate<const W: usize>(&self, x: &[f32; I], y: &mut [f32; O], start: usize) {
        // Two sets of accumulators, fed by alternate inputs, keep twice as many additions in flight.
        let mut even = [0.0f32; W];
        let mut odd = [0.0f32; W];
        let block =
            |row: &[f32; O]| -> [f32; W] { row[start..start + W].try_into().expect("block inside the row") };
        let pairs = x.chunks_exact(2).zip(self.weight_t.chunks_exact(2));
        for (xs, rows) in pairs {
            let (w0, w1) = (block(&rows[0]), block(&rows[1]));
            for l in 0..W {
                even[l] += xs[0] * w0[l];
                odd[l] += xs[1] * w1[l];
            }
        }
        if I % 2 == 1 {
            let w = block(&self.weight_t[I - 1]);
            for l in 0..W {
                even[l] += x[I - 1] * w[l];
            }
        }
        for l in 0..W {
            y[start + l] += even[l] + odd[l];
        }
    }

    fn visit(&self, f: &mut impl FnMut(f32)) {
        for o in 0..O {
            for row in &self.weight_t {
                f(row[o]);
            }
        }
        self.bias.iter().for_each(|&b| f(b));
    }

    fn load(&mut self, next: &mut impl FnMut() -> f32) {
        for o in 0..O {
            for row in self.weight_t.iter_mut() {
                row[o] = next();
            }
        }
        self.bias.iter_mut().for_each(|b| *b = next());
    }
}

/// Layer normalisation over `N` features with a learned scale and shift.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm<const N: usize> {
    /// Scale.
    pub gamma: [f32; N],
    /// Shift.
    pub beta: [f32; N],
}

impl<const N: usize> LayerNorm<N> {
    /// A layer norm of zeros.
    pub const ZERO: Self = LayerNorm { gamma: [0.0; N], beta: [0.0; N] };

    /// `(x - mean) / sqrt(var + eps) x gamma + beta`.
    #[inline(always)]
    pub fn apply(&self, x: &[f32; N]) -> [f32; N] {
        let mean = x.iter().sum::<f32>() / N as f32;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / N as f32;
        let inv = 1.0 / libm::sqrtf(var + LAYER_NORM_EPSILON);
        core::array::from_fn(|i| (x[i] - mean) * inv * self.gamma[i] + self.beta[i])
    }

    fn visit(&self, f: &mut impl FnMut(f32)) {
        self.gamma.iter().chain(&self.beta).for_each(|&v| f(v));
    }

    fn load(&mut self, next: &mut impl FnMut() -> f32) {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).for_each(|v| *v = next());
    }
}

/// The modular PPO network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Configuration encoder, 5 -> 16.
    pub config: Linear<5, 16>,
    /// Portfolio encoder, 10 -> 32.
    pub portfolio: Linear<10, 32>,
    /// Position encoder, 12 -> 24, shared by the five slots.
    pub position: Linear<12, 24>,
    /// Opportunity embedding, 20 -> 40, shared by the ten slots.
    pub opportunity: Linear<20, 40>,
    /// Attention input projection: queries, keys and values, 40 -> 3 x 40.
    pub attention_in: Linear<40, 120>,
    /// Attention output projection, 40 -> 40.
    pub attention_out: Linear<40, 40>,
    /// Opportunity encoder output, 40 -> 64.
    pub opportunity_out: Linear<40, 64>,
    /// Fusion, 136 -> 128.
    pub fusion1: Linear<136, 128>,
    /// Fusion layer norm over 128.
    pub norm1: LayerNorm<128>,
    /// Fusion, 128 -> 64.
    pub fusion2: Linear<128, 64>,
    /// Fusion layer norm over 64.
    pub norm2: LayerNorm<64>,
    /// Actor hidden layer, 64 -> 32.
    pub actor1: Linear<64, 32>,
    /// Actor output, 32 -> 36 logits.
    pub actor2: Linear<32, 36>,
    /// Critic hidden layer, 64 -> 32.
    pub critic1: Linear<64, 32>,
    /// Critic output, 32 -> 1 value.
    pub critic2: Linear<32, 1>,
}

#[inline(always)]
fn relu<const N: usize>(mut x: [f32; N]) -> [f32; N] {
    x.iter_mut().for_each(|v| *v = v.max(0.0));
    x
}

#[inline(always)]
fn group<const N: usize>(obs: &Observation, offset: usize) -> &[f32; N] {
    obs[offset..offset + N].try_into().expect("group inside the observation")
}

/// The forward pass compiled once per instruction set, the best one picked at run time.
#[multiversion::multiversion(targets("x86_64+avx2+fma", "x86_64+avx", "aarch64+neon"))]
fn forward_dispatch(network: &Network, obs: &Observation) -> Output {
    network.forward_portable(obs)
}

impl Network {
    /// A network of zeros.
    pub const ZERO: Network = Network {
        config: Linear::ZERO,
        portfolio: Linear::ZERO,
        position: Linear::ZERO,
        opportunity: Linear::ZERO,
        attention_in: Linear::ZERO,
        attention_out: Linear::ZERO,
        opportunity_out: Linear::ZERO,
        fusion1: Linear::ZERO,
        norm1: LayerNorm::ZERO,
        fusion2: Linear::ZERO,
        norm2: LayerNorm::ZERO,
        actor1: Linear::ZERO,
        actor2: Linear::ZERO,
        critic1: Linear::ZERO,
        critic2: Linear::ZERO,
    };

    /// Logits and value for one observation. With `std`, the widest SIMD instructions the CPU has
    /// (AVX2 and FMA on x86-64) are chosen at run time; without, those the build targets.
    pub fn forward(&self, obs: &Observation) -> Output {
        forward_dispatch(self, obs)
    }

    #[inline(always)]
    fn forward_portable(&self, obs: &Observation) -> Output {
        let config = relu(self.config.apply(group(obs, CONFIG_OFFSET)));
        let portfolio = relu(self.portfolio.apply(group(obs, PORTFOLIO_OFFSET)));
        let positions = self.positions(obs);
        let opportunities = self.opportunities(obs);

        let mut fused = [0.0f32; 136];
        let parts: [&[f32]; 4] = [&config, &portfolio, &positions, &opportunities];
        let mut at = 0;
        for part in parts {
            fused[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let hidden = relu(self.norm1.apply(&self.fusion1.apply(&fused)));
        let hidden = relu(self.norm2.apply(&self.fusion2.apply(&hidden)));
        let logits = self.actor2.apply(&relu(self.actor1.apply(&hidden)));
        let value = self.critic2.apply(&relu(self.critic1.apply(&hidden)))[0];
        Output { logits, value }
    }

    /// Encode each position slot and keep the largest value of each feature over the slots.
    #[inline(always)]
    fn positions(&self, obs: &Observation) -> [f32; 24] {
        let mut best = [0.0f32; 24];
        for k in 0..MAX_POSITIONS {
            let slot = relu(self.position.apply(group(obs, POSITIONS_OFFSET + k * POSITION_WIDTH)));
            for (b, s) in best.iter_mut().zip(slot) {
                // ReLU outputs are >= 0, so starting from 0 gives the maximum over the slots.
                *b = b.max(s);
            }
        }
        best
    }

    /// Embed the opportunity slots, let them attend to each other (4 heads), average, project.
    #[inline(always)]
    fn opportunities(&self, obs: &Observation) -> [f32; 64] {
        // Plain loops (not closures) so that all of it is compiled for the chosen instruction set.
        let mut qkv = [[0.0f32; 3 * MODEL_DIM]; OPPORTUNITY_SLOTS];
        for (i, row) in qkv.iter_mut().enumerate() {
            let token =
                relu(self.opportunity.apply(group(obs, OPPORTUNITIES_OFFSET + i * OPPORTUNITY_WIDTH)));
            *row = self.attention_in.apply(&token);
        }
        let scale = 1.0 / libm::sqrtf(HEAD_DIM as f32);
        // The mean over querying slots of the attended values is the values weighted by the mean
        // attention each slot receives; the output projection is affine, so it is applied once to
        // that mean instead of to every slot.
        let mut context = [0.0f32; MODEL_DIM];
        for head in 0..HEADS {
            let base = head * HEAD_DIM;
            let mut keys = [[0.0f32; OPPORTUNITY_SLOTS]; HEAD_DIM];
            for (j, row) in qkv.iter().enumerate() {
                for (d, key) in keys.iter_mut().enumerate() {
                    key[j] = row[MODEL_DIM + base + d];
                }
            }
            let mut received = [0.0f32; OPPORTUNITY_SLOTS];
            for query in &qkv {
                let mut scores = [0.0f32; OPPORTUNITY_SLOTS];
                for (d, key) in keys.iter().enumerate() {
                    let q = query[base + d] * scale;
                    for (s, k) in scores.iter_mut().zip(key) {
                        *s += q * k;
                    }
                }
                let top = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
                let mut total = 0.0;
                for s in scores.iter_mut() {
                    *s = libm::expf(*s - top);
                    total += *s;
                }
                let norm = 1.0 / (total * OPPORTUNITY_SLOTS as f32);
                for (r, s) in received.iter_mut().zip(scores) {
                    *r += s * norm;
                }
            }
            for (row, r) in qkv.iter().zip(received) {
                let value = &row[2 * MODEL_DIM + base..2 * MODEL_DIM + base + HEAD_DIM];
                for (c, v) in context[base..base + HEAD_DIM].iter_mut().zip(value) {
                    *c += r * v;
                }
            }
        }
        relu(self.opportunity_out.apply(&self.attention_out.apply(&context)))
    }

    /// Call `f` with every parameter in PyTorch's order.
    pub fn parameters(&self, mut f: impl FnMut(f32)) {
        let f = &mut f;
        self.config.visit(f);
        self.portfolio.visit(f);
        self.position.visit(f);
        self.opportunity.visit(f);
        self.attention_in.visit(f);
        self.attention_out.visit(f);
        self.opportunity_out.visit(f);
        self.fusion1.visit(f);
        self.norm1.visit(f);
        self.fusion2.visit(f);
        self.norm2.visit(f);
        self.actor1.visit(f);
        self.actor2.visit(f);
        self.critic1.visit(f);
        self.critic2.visit(f);
    }

    /// Set every parameter, in PyTorch's order, from `next`.
    pub fn set_parameters(&mut self, mut next: impl FnMut() -> f32) {
        let next = &mut next;
        self.config.load(next);
        self.portfolio.load(next);
        self.position.load(next);
        self.opportunity.load(next);
        self.attention_in.load(next);
        self.attention_out.load(next);
        self.opportunity_out.load(next);
        self.fusion1.load(next);
        self.norm1.load(next);
        self.fusion2.load(next);
        self.norm2.load(next);
        self.actor1.load(next);
        self.actor2.load(next);
        self.critic1.load(next);
        self.critic2.load(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_and_order_round_trip() {
        let mut n = std::boxed::Box::new(Network::ZERO);
        let mut k = 0u32;
        n.set_parameters(|| {
            k += 1;
            k as f32
        });
        assert_eq!(k as usize, PARAMETER_COUNT);
        let mut seen = std::vec::Vec::new();
        n.parameters(|p| seen.push(p));
        assert_eq!(seen.len(), PARAMETER_COUNT);
        assert!(seen.iter().enumerate().all(|(i, &p)| p == (i + 1) as f32));
        // PyTorch order: config.weight[0][1] is the second parameter, i.e. weight_t[1][0].
        assert_eq!(n.config.weight_t[1][0], 2.0);
        assert_eq!(n.config.bias[0], 81.0);
    }

    #[test]
    fn linear_and_layer_norm_by_hand() {
        let l = Linear::<2, 2> { weight_t: [[1.0, 2.0], [3.0, 4.0]], bias: [0.5, -0.5] };
        // W = [[1, 3], [2, 4]]: y = [1*1 + 3*2 + 0.5, 2*1 + 4*2 - 0.5].
        assert_eq!(l.apply(&[1.0, 2.0]), [7.5, 9.5]);
        let n = LayerNorm::<2> { gamma: [1.0, 2.0], beta: [0.0, 1.0] };
        let y = n.apply(&[1.0, 3.0]); // mean 2, var 1
        let inv = 1.0 / (1.0f32 + 1e-5).sqrt();
        assert!((y[0] + inv).abs() < 1e-6 && (y[1] - (2.0 * inv + 1.0)).abs() < 1e-6);
    }
}
