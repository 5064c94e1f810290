//! The plan's modular PPO network, evaluated natively: no heap, no std, `libm` for math.
//!
//! The observation is normalised first ([`Normalization`], the identity for a model without one),
//! then:
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

use super::normalization::Normalization;
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
///
/// Aligned to a cache line, so that where a network lands in memory does not decide how many of
/// its vector loads straddle two lines (at 4 bytes, a network's speed varied by a tenth from one
/// allocation to the next).
#[derive(Debug, Clone, PartialEq)]
#[repr(align(64))]
pub struct Linear<const I: usize, const O: usize> {
    /// `weight_t[i][o]` is PyTorch's `weight[o][i]`.
    pub weight_t: [[f32; O]; I],
    /// The bias.
    pub bias: [f32; O],
}

/// Rows computed together in one tile: each weight read serves them all. [`Linear::rows`] handles
/// the 1 to 4 rows left over; change both together.
const TILE_ROWS: usize = 5;

/// How the layers are computed on the instruction set at hand: tiles of [`TILE_ROWS`] rows by `W`
/// outputs, a lone row in blocks of `V` outputs (both sized to the vector registers), and
/// multiply-adds fused when `FUSED` (only where the instruction set has FMA; without the standard
/// library they are never fused).
#[derive(Debug, Clone, Copy)]
struct Kernel<const W: usize, const V: usize, const FUSED: bool>;

/// A multiply-add, fused or not.
trait MulAdd: Copy {
    /// `a x b + acc`.
    fn mul_add(self, a: f32, b: f32, acc: f32) -> f32;
}

impl<const W: usize, const V: usize, const FUSED: bool> MulAdd for Kernel<W, V, FUSED> {
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, acc: f32) -> f32 {
        #[cfg(feature = "std")]
        if FUSED {
            return a.mul_add(b, acc);
        }
        a * b + acc
    }
}

/// `v[at..at + B]`.
#[inline(always)]
fn block<const O: usize, const B: usize>(v: &[f32; O], at: usize) -> [f32; B] {
    v[at..at + B].try_into().expect("block inside the row")
}

/// The kernel of any instruction set: scalar-width tiles, no fused multiply-add.
const PORTABLE: Kernel<8, 32, false> = Kernel;

impl<const I: usize, const O: usize> Linear<I, O> {
    /// A layer of zeros.
    pub const ZERO: Self = Linear { weight_t: [[0.0; O]; I], bias: [0.0; O] };

    /// `W x + b`.
    pub fn apply(&self, x: &[f32; I]) -> [f32; O] {
        let [y] = self.rows(PORTABLE, core::array::from_ref(x), 0..O);
        y
    }

    /// `W x + b` for each of `N` rows, only the outputs in `columns` (the others stay 0).
    #[inline(always)]
    fn rows<const N: usize, const W: usize, const V: usize, const F: bool>(
        &self,
        k: Kernel<W, V, F>,
        x: &[[f32; I]; N],
        columns: core::ops::Range<usize>,
    ) -> [[f32; O]; N] {
        let mut y = [[0.0f32; O]; N];
        let mut row = 0;
        while row + TILE_ROWS <= N {
            self.columns::<N, TILE_ROWS, W>(k, x, &mut y, row, columns.clone());
            row += TILE_ROWS;
        }
        // The rows left over make one narrower tile; a lone row takes wider blocks instead.
        match N - row {
            0 => {}
            1 => self.columns::<N, 1, V>(k, x, &mut y, row, columns),
            2 => self.columns::<N, 2, W>(k, x, &mut y, row, columns),
            3 => self.columns::<N, 3, W>(k, x, &mut y, row, columns),
            _ => self.columns::<N, 4, W>(k, x, &mut y, row, columns),
        }
        y
    }

    /// Rows `row..row + T` over `columns`: blocks of `B` outputs, then narrower blocks.
    #[inline(always)]
    fn columns<const N: usize, const T: usize, const B: usize>(
        &self,
        k: impl MulAdd,
        x: &[[f32; I]; N],
        y: &mut [[f32; O]; N],
        row: usize,
        columns: core::ops::Range<usize>,
    ) {
        let x: &[[f32; I]; T] = x[row..row + T].try_into().expect("rows inside the batch");
        let y: &mut [[f32; O]; T] = (&mut y[row..row + T]).try_into().expect("rows inside the batch");
        let (mut at, end) = (columns.start, columns.end);
        while at + B <= end {
            self.tile::<T, B>(k, x, y, at);
            at += B;
        }
        if B > 64 && at + 64 <= end {
            self.tile::<T, 64>(k, x, y, at);
            at += 64;
        }
        if B > 32 && at + 32 <= end {
            self.tile::<T, 32>(k, x, y, at);
            at += 32;
        }
        if B > 16 && at + 16 <= end {
            self.tile::<T, 16>(k, x, y, at);
            at += 16;
        }
        if B > 8 && at + 8 <= end {
            self.tile::<T, 8>(k, x, y, at);
            at += 8;
        }
        if B > 4 && at + 4 <= end {
            self.tile::<T, 4>(k, x, y, at);
            at += 4;
        }
        while at < end {
            self.tile::<T, 1>(k, x, y, at);
            at += 1;
        }
    }

    /// `T` rows, outputs `at..at + B`: `T x B` accumulators, one pass over the inputs.
    #[inline(always)]
    fn tile<const T: usize, const B: usize>(
        &self,
        k: impl MulAdd,
        x: &[[f32; I]; T],
        y: &mut [[f32; O]; T],
        at: usize,
    ) {
        let mut acc = [block::<O, B>(&self.bias, at); T];
        for (i, weights) in self.weight_t.iter().enumerate() {
            let w = block::<O, B>(weights, at);
            for (a, xs) in acc.iter_mut().zip(x) {
                let xi = xs[i];
                for l in 0..B {
                    a[l] = k.mul_add(xi, w[l], a[l]);
                }
            }
        }
        for (out, a) in y.iter_mut().zip(&acc) {
            out[at..at + B].copy_from_slice(a);
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
        let sum = |a: f32, b: f32| a + b;
        let mean = halving(x, sum) / N as f32;
        let mut y = [0.0f32; N];
        for i in 0..N {
            y[i] = (x[i] - mean) * (x[i] - mean);
        }
        let inv = 1.0 / libm::sqrtf(halving(&y, sum) / N as f32 + LAYER_NORM_EPSILON);
        for i in 0..N {
            y[i] = (x[i] - mean) * inv * self.gamma[i] + self.beta[i];
        }
        y
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
    /// The observation's normalisation, applied before every layer.
    pub input: Normalization,
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

/// `max(x, 0)`, NaN kept (as PyTorch's ReLU does).
#[inline(always)]
fn relu<const N: usize>(mut x: [f32; N]) -> [f32; N] {
    for v in x.iter_mut() {
        *v = if *v < 0.0 { 0.0 } else { *v };
    }
    x
}

/// [`relu`] of every row, over the rows laid end to end (a contiguous pass vectorises cleanly).
#[inline(always)]
fn relu_rows<const N: usize, const O: usize>(mut x: [[f32; O]; N]) -> [[f32; O]; N] {
    for v in x.as_flattened_mut() {
        *v = if *v < 0.0 { 0.0 } else { *v };
    }
    x
}

#[inline(always)]
fn group<const N: usize>(obs: &Observation, offset: usize) -> &[f32; N] {
    obs[offset..offset + N].try_into().expect("group inside the observation")
}

/// `N` consecutive slots of `W` features from `offset`.
#[inline(always)]
fn slots<const N: usize, const W: usize>(obs: &Observation, offset: usize) -> [[f32; W]; N] {
    let mut out = [[0.0f32; W]; N];
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = *group(obs, offset + k * W);
    }
    out
}

/// `exp(x)` for `x <= 0` (softmax arguments less their maximum), in plain arithmetic that
/// vectorises: `2^n exp(r)` with `x = n ln 2 + r`, `|r| <= ln 2 / 2`, and `exp(r)` by Cephes'
/// degree-7 polynomial. Within 2 units in the last place of `libm::expf` (tested).
///
/// Exactly 0 below [`EXP_CUTOFF`]: such terms are below 1.6e-28 of the softmax's largest (which is
/// 1), far under one rounding of it, and products of them would be subnormal numbers, which the
/// processor computes a hundred times slower.
#[inline(always)]
fn exp_nonpositive(k: impl MulAdd, x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
    const ROUND: f32 = 12_582_912.0;
    let cut = x < EXP_CUTOFF;
    let x = x.clamp(EXP_CUTOFF, 0.0);
    // Adding 1.5 x 2^23 rounds to the nearest integer n, which then stands in the low bits.
    let t = x * core::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = k.mul_add(-n, LN2_LO, k.mul_add(-n, LN2_HI, x));
    let mut poly = P[0];
    for c in &P[1..] {
        poly = k.mul_add(poly, r, *c);
    }
    let e = k.mul_add(r * r, poly, 1.0 + r);
    // 2^n: n + 127 in the exponent bits (integer arithmetic, which vectorises, unlike `as i32`).
    let scale = f32::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    if cut { 0.0 } else { e * scale }
}

/// `op` over the values by halving: its elementwise steps vectorise, where a running fold is a
/// chain of dependent scalar operations.
#[inline(always)]
fn halving<const N: usize>(v: &[f32; N], op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut w = *v;
    let mut n = N;
    while n > 1 {
        // The upper half folds onto the lower; an odd middle value waits for the next round.
        let half = n / 2;
        for i in 0..half {
            w[i] = op(w[i], w[n - half + i]);
        }
        n -= half;
    }
    w[0]
}

/// Below this, [`exp_nonpositive`] is 0.
const EXP_CUTOFF: f32 = -64.0;

/// Observations at once in [`Network::forward_batch`]: the fusion and head layers read each weight
/// once for all of them.
const BATCH_TILE: usize = TILE_ROWS;

/// The forward pass of `obs.len()` observations into `out`, compiled once per instruction set and
/// the best one picked at run time: fused multiply-adds where there are FMA units, tiles as wide as
/// the vector registers allow.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx2+fma",
    "x86_64+avx2+fma",
    "x86_64+avx",
    "aarch64+neon"
))]
fn forward_dispatch(network: &Network, obs: &[Observation], out: &mut [Output]) {
    multiversion::target::match_target! {
        "x86_64+avx512f+fma" => network.forward_all(Kernel::<64, 128, true>, obs, out),
        "x86_64+avx2+fma" => network.forward_all(Kernel::<16, 64, true>, obs, out),
        "aarch64+neon" => network.forward_all(Kernel::<16, 64, true>, obs, out),
        "x86_64+avx" => network.forward_all(Kernel::<16, 64, false>, obs, out),
        _ => network.forward_all(PORTABLE, obs, out),
    }
}

impl Network {
    /// A network of zeros, with the identity normalisation.
    pub const ZERO: Network = Network {
        input: Normalization::IDENTITY,
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
    /// (AVX-512 or AVX2 with FMA on x86-64) are chosen at run time; without, those the build
    /// targets.
    pub fn forward(&self, obs: &Observation) -> Output {
        let mut out = [Output { logits: [0.0; ACTION_COUNT], value: 0.0 }];
        forward_dispatch(self, core::array::from_ref(obs), &mut out);
        out[0]
    }

    /// Logits and values for many observations, `out[i]` for `obs[i]` (as many as the shorter of
    /// the two holds), faster per observation than [`Network::forward`] one by one.
    pub fn forward_batch(&self, obs: &[Observation], out: &mut [Output]) {
        forward_dispatch(self, obs, out)
    }

    #[inline(always)]
    fn forward_all<const W: usize, const V: usize, const F: bool>(
        &self,
        k: Kernel<W, V, F>,
        obs: &[Observation],
        out: &mut [Output],
    ) {
        let n = obs.len().min(out.len());
        let mut at = 0;
        while at + BATCH_TILE <= n {
            let tile: &[Observation; BATCH_TILE] = obs[at..at + BATCH_TILE].try_into().expect("a tile");
            out[at..at + BATCH_TILE].copy_from_slice(&self.forward_rows(k, &tile.each_ref()));
            at += BATCH_TILE;
        }
        let rest = &obs[at..n];
        let out = &mut out[at..n];
        match rest {
            [] => {}
            [a] => out.copy_from_slice(&self.forward_rows(k, &[a])),
            [a, b] => out.copy_from_slice(&self.forward_rows(k, &[a, b])),
            [a, b, c] => out.copy_from_slice(&self.forward_rows(k, &[a, b, c])),
            [a, b, c, d, ..] => out.copy_from_slice(&self.forward_rows(k, &[a, b, c, d])),
        }
    }

    /// The network on `N` observations: the per-slot encoders one observation at a time, the layers
    /// after them for all `N` together.
    #[inline(always)]
    fn forward_rows<const N: usize, const W: usize, const V: usize, const F: bool>(
        &self,
        k: Kernel<W, V, F>,
        obs: &[&Observation; N],
    ) -> [Output; N] {
        // Plain loops, no closures: closures handed to library functions are compiled without the
        // chosen instruction set.
        let mut normalized = [[0.0f32; crate::OBSERVATION_LEN]; N];
        for n in 0..N {
            normalized[n] = self.input.apply(obs[n]);
        }
        let obs = &normalized;
        let mut config = [[0.0f32; 5]; N];
        let mut portfolio = [[0.0f32; 10]; N];
        let mut context = [[0.0f32; MODEL_DIM]; N];
        for n in 0..N {
            config[n] = *group(&obs[n], CONFIG_OFFSET);
            portfolio[n] = *group(&obs[n], PORTFOLIO_OFFSET);
            context[n] = self.attention(k, &obs[n]);
        }
        let config = relu_rows(self.config.rows(k, &config, 0..16));
        let portfolio = relu_rows(self.portfolio.rows(k, &portfolio, 0..32));
        let attended = self.attention_out.rows(k, &context, 0..MODEL_DIM);
        let opportunities = relu_rows(self.opportunity_out.rows(k, &attended, 0..64));

        let mut fused = [[0.0f32; 136]; N];
        for n in 0..N {
            let positions = self.positions(k, &obs[n]);
            let parts: [&[f32]; 4] = [&config[n], &portfolio[n], &positions, &opportunities[n]];
            let mut at = 0;
            for part in parts {
                fused[n][at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        }
        let mut hidden1 = self.fusion1.rows(k, &fused, 0..128);
        for h in hidden1.iter_mut() {
            *h = relu(self.norm1.apply(h));
        }
        let mut hidden = self.fusion2.rows(k, &hidden1, 0..64);
        for h in hidden.iter_mut() {
            *h = relu(self.norm2.apply(h));
        }
        let actor = relu_rows(self.actor1.rows(k, &hidden, 0..32));
        let logits = self.actor2.rows(k, &actor, 0..ACTION_COUNT);
        let critic = relu_rows(self.critic1.rows(k, &hidden, 0..32));
        let value = self.critic2.rows(k, &critic, 0..1);
        let mut out = [Output { logits: [0.0; ACTION_COUNT], value: 0.0 }; N];
        for n in 0..N {
            out[n] = Output { logits: logits[n], value: value[n][0] };
        }
        out
    }

    /// Encode each position slot and keep the largest value of each feature over the slots.
    #[inline(always)]
    fn positions<const W: usize, const V: usize, const F: bool>(
        &self,
        k: Kernel<W, V, F>,
        obs: &Observation,
    ) -> [f32; 24] {
        let slots = slots::<MAX_POSITIONS, POSITION_WIDTH>(obs, POSITIONS_OFFSET);
        let encoded = self.position.rows(k, &slots, 0..24);
        // ReLU outputs are >= 0, so starting from 0 gives the maximum of the ReLUs over the slots.
        let mut best = [0.0f32; 24];
        for slot in &encoded {
            for (b, &s) in best.iter_mut().zip(slot) {
                *b = b.max(s);
            }
        }
        best
    }

    /// Embed the opportunity slots, let them attend to each other (4 heads) and average: the
    /// context, before the attention's output projection.
    ///
    /// The mean over querying slots of the attended values is the values weighted by the mean
    /// attention each slot receives, and the value projection is affine (each query's attention
    /// sums to 1): so each head's value projection is applied once, to the embeddings weighted by
    /// that attention.
    #[inline(always)]
    fn attention<const W: usize, const V: usize, const F: bool>(
        &self,
        k: Kernel<W, V, F>,
        obs: &Observation,
    ) -> [f32; MODEL_DIM] {
        const SLOTS: usize = OPPORTUNITY_SLOTS;
        let tokens = slots::<SLOTS, OPPORTUNITY_WIDTH>(obs, OPPORTUNITIES_OFFSET);
        let embedded = relu_rows(self.opportunity.rows(k, &tokens, 0..MODEL_DIM));
        // Queries and keys only; the values come from the weighted embeddings below.
        let qk = self.attention_in.rows(k, &embedded, 0..2 * MODEL_DIM);

        let scale = 1.0 / libm::sqrtf(HEAD_DIM as f32);
        let mut pooled = [[0.0f32; MODEL_DIM]; HEADS];
        for (head, pool) in pooled.iter_mut().enumerate() {
            let received = Self::attention_received(k, &qk, head, scale);
            // The embeddings weighted by the attention each slot receives.
            for (e, &r) in embedded.iter().zip(&received) {
                for (p, &v) in pool.iter_mut().zip(e) {
                    *p = k.mul_add(r, v, *p);
                }
            }
        }
        // Each head's slice of the value projection of its own pooled embedding.
        let values = self.attention_in.rows(k, &pooled, 2 * MODEL_DIM..3 * MODEL_DIM);
        let mut context = [0.0f32; MODEL_DIM];
        for (head, v) in values.iter().enumerate() {
            let at = head * HEAD_DIM;
            context[at..at + HEAD_DIM].copy_from_slice(&v[2 * MODEL_DIM + at..][..HEAD_DIM]);
        }
        context
    }

    /// The attention each slot receives from one head, averaged over the querying slots: the mean
    /// over queries `i` of `softmax_j(q_i . k_j x scale)`.
    ///
    /// The scores are computed twice, laid out by key (`[key][query]`) and by query
    /// (`[query][key]`), each row padded to a full vector of KEYS: by key, each query's maximum and
    /// sum of exponentials run down the rows, vector by vector; by query, so do the attentions each
    /// key receives. Both are the same multiply-adds in the same order, so they agree bit for bit,
    /// and no step reduces across a vector.
    #[inline(always)]
    fn attention_received<const W: usize, const V: usize, const F: bool>(
        k: Kernel<W, V, F>,
        qk: &[[f32; 3 * MODEL_DIM]; OPPORTUNITY_SLOTS],
        head: usize,
        scale: f32,
    ) -> [f32; OPPORTUNITY_SLOTS] {
        const SLOTS: usize = OPPORTUNITY_SLOTS;
        // Slots padded to a whole number of vectors.
        const KEYS: usize = 16;
        let (q0, k0) = (head * HEAD_DIM, MODEL_DIM + head * HEAD_DIM);
        // Queries and keys as rows, and each as a layer (`weight_t[d][slot]`) for the other's rows.
        let mut queries = [[0.0f32; HEAD_DIM]; SLOTS];
        let mut keys = [[0.0f32; HEAD_DIM]; SLOTS];
        let mut by_query = Linear::<HEAD_DIM, KEYS> { weight_t: [[0.0; KEYS]; HEAD_DIM], bias: [0.0; KEYS] };
        let mut by_key = Linear::<HEAD_DIM, KEYS> { weight_t: [[0.0; KEYS]; HEAD_DIM], bias: [0.0; KEYS] };
        for slot in 0..SLOTS {
            for d in 0..HEAD_DIM {
                let (q, key) = (qk[slot][q0 + d] * scale, qk[slot][k0 + d]);
                queries[slot][d] = q;
                keys[slot][d] = key;
                by_key.weight_t[d][slot] = q;
                by_query.weight_t[d][slot] = key;
            }
        }
        // Padding keys get -inf, so their exponentials are 0; padding queries score 0 and are unused.
        for b in &mut by_query.bias[SLOTS..] {
            *b = f32::NEG_INFINITY;
        }
        let scores_by_key = by_key.rows(k, &keys, 0..KEYS);
        let scores_by_query = by_query.rows(k, &queries, 0..KEYS);

        // A comparison, not `f32::max`: built for AVX-512 at opt-level 2, the vectorised `max` here
        // returned other values than the largest (the reference vectors caught it).
        let mut top = [f32::NEG_INFINITY; KEYS];
        for row in &scores_by_key {
            for (t, &s) in top.iter_mut().zip(row) {
                *t = if s > *t { s } else { *t };
            }
        }
        let mut sum = [0.0f32; KEYS];
        for row in &scores_by_key {
            for ((total, &s), &t) in sum.iter_mut().zip(row).zip(&top) {
                *total += exp_nonpositive(k, s - t);
            }
        }
        let mut received = [0.0f32; KEYS];
        for (row, (&t, &total)) in scores_by_query.iter().zip(top.iter().zip(&sum)) {
            let weight = 1.0 / (total * SLOTS as f32);
            for (r, &s) in received.iter_mut().zip(row) {
                *r = k.mul_add(exp_nonpositive(k, s - t), weight, *r);
            }
        }
        let mut out = [0.0f32; SLOTS];
        out.copy_from_slice(&received[..SLOTS]);
        out
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
    fn exp_matches_libm() {
        let mut worst = 0.0f32;
        for k in 0..=640_000 {
            let x = -(k as f32) * 1e-4;
            let reference = libm::expf(x);
            for ours in [exp_nonpositive(PORTABLE, x), exp_nonpositive(Kernel::<8, 32, true>, x)] {
                worst = worst.max((ours - reference).abs() / reference);
            }
        }
        // Two units in the last place of an f32 in [1, 2).
        assert!(worst <= 2.0 * f32::EPSILON, "relative error {worst:e}");
        assert_eq!(exp_nonpositive(PORTABLE, 0.0), 1.0);
        assert_eq!(exp_nonpositive(PORTABLE, EXP_CUTOFF - 1e-3), 0.0);
        assert_eq!(exp_nonpositive(PORTABLE, f32::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(PORTABLE, f32::NAN).is_nan());
    }

    #[test]
    fn tiled_rows_equal_one_row_at_a_time() {
        let mut l = std::boxed::Box::new(Linear::<20, 40>::ZERO);
        let mut k = 0u32;
        l.load(&mut || {
            k += 1;
            ((k * 7919 % 1000) as f32 - 500.0) / 500.0
        });
        let x: [[f32; 20]; 10] =
            core::array::from_fn(|t| core::array::from_fn(|i| (t * 20 + i) as f32 / 100.0));
        let tiled = l.rows(Kernel::<16, 64, true>, &x, 0..40);
        for (t, row) in x.iter().enumerate() {
            let one = l.apply(row);
            let by_hand: [f32; 40] =
                core::array::from_fn(|o| l.bias[o] + (0..20).map(|i| l.weight_t[i][o] * row[i]).sum::<f32>());
            for o in 0..40 {
                assert!((tiled[t][o] - one[o]).abs() <= 1e-5 && (one[o] - by_hand[o]).abs() <= 1e-5);
            }
        }
        // Outside the columns asked for, the outputs stay 0.
        let part = l.rows(Kernel::<16, 64, true>, &x, 0..24);
        assert!(
            part.iter().zip(&tiled).all(|(p, t)| p[..24] == t[..24] && p[24..].iter().all(|&v| v == 0.0))
        );
    }

    /// Multi-head attention written out directly: every query's softmax over the keys (shifted by
    /// its own maximum), the values attended, the mean over the queries; and how far apart the
    /// queries' maximum scores lie.
    fn attention_by_hand(n: &Network, obs: &Observation) -> ([f32; MODEL_DIM], f32) {
        let tokens = slots::<OPPORTUNITY_SLOTS, OPPORTUNITY_WIDTH>(obs, OPPORTUNITIES_OFFSET);
        let qkv: std::vec::Vec<[f32; 3 * MODEL_DIM]> =
            tokens.iter().map(|t| n.attention_in.apply(&relu(n.opportunity.apply(t)))).collect();
        let mut context = [0.0f32; MODEL_DIM];
        let (mut lowest_top, mut highest_top) = (f32::INFINITY, f32::NEG_INFINITY);
        for h in 0..HEADS {
            let (q0, k0, v0) = (h * HEAD_DIM, MODEL_DIM + h * HEAD_DIM, 2 * MODEL_DIM + h * HEAD_DIM);
            for q in &qkv {
                let scores: std::vec::Vec<f32> = qkv
                    .iter()
                    .map(|k| {
                        (0..HEAD_DIM).map(|d| q[q0 + d] * k[k0 + d]).sum::<f32>() / (HEAD_DIM as f32).sqrt()
                    })
                    .collect();
                let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (lowest_top, highest_top) = (lowest_top.min(top), highest_top.max(top));
                let e: std::vec::Vec<f32> = scores.iter().map(|s| libm::expf(s - top)).collect();
                let total: f32 = e.iter().sum();
                for (k, w) in qkv.iter().zip(&e) {
                    for d in 0..HEAD_DIM {
                        context[h * HEAD_DIM + d] += w / total * k[v0 + d] / OPPORTUNITY_SLOTS as f32;
                    }
                }
            }
        }
        (context, highest_top - lowest_top)
    }

    #[test]
    fn attention_equals_the_direct_form_even_when_scores_span_hundreds() {
        let mut n = std::boxed::Box::new(Network::ZERO);
        // Large weights: scores reach the hundreds and each query's maximum differs from the
        // others' by far more than the exponential's range, so a shared shift would lose rows.
        let mut k = 0u64;
        n.set_parameters(|| {
            k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((k >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 3.0
        });
        let mut obs = [0.0f32; crate::observation::OBSERVATION_LEN];
        for (i, v) in obs.iter_mut().enumerate() {
            *v = ((i * 7919 % 613) as f32 / 613.0 - 0.5) * 4.0;
        }
        let (expected, gap) = attention_by_hand(&n, &obs);
        assert!(gap > 100.0, "the queries' maxima lie only {gap} apart");
        let spread = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(spread > 1.0, "a degenerate case: {expected:?}");
        for got in [
            n.attention(PORTABLE, &obs),
            n.attention(Kernel::<16, 64, true>, &obs),
            n.attention(Kernel::<64, 128, true>, &obs),
        ] {
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() <= 1e-4 * spread, "{got:?} against {expected:?}");
            }
        }
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
