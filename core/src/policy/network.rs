//! The plan's network ([`super::architecture`]), evaluated natively: no heap, no std, `libm` for
//! math, the layers computed by [`super::kernel`]. The observation is normalised first
//! ([`Normalization`], the identity for a model without one).
//!
//! Weights are held transposed (`[in][out]`), so every layer is a sum of scaled rows that the
//! compiler vectorises; parameters are read and written in the table's order (PyTorch's:
//! `weight[out][in]`, then `bias`) through [`Network::parameters`] and [`Network::set_parameters`].

pub use super::architecture::PARAMETER_COUNT;
use super::architecture::{
    ACTOR1, ACTOR2, ATTENTION_IN, ATTENTION_OUT, Architecture, CONFIG, CRITIC1, CRITIC2, FUSION1, FUSION2,
    HEAD_DIM, HEADS, MODEL_DIM, NORM1, NORM2, OPPORTUNITY, OPPORTUNITY_OUT, OPPORTUNITY_WIDTH, PORTFOLIO,
    POSITION, POSITION_WIDTH,
};
use super::kernel::{
    Kernel, LayerNorm, Linear, MulAdd, PORTABLE, TILE_ROWS, Weights, exp_nonpositive, relu, relu_rows,
};
use super::normalization::Normalization;
use crate::observation::{
    CONFIG_OFFSET, OPPORTUNITIES_OFFSET, Observation, PORTFOLIO_OFFSET, POSITIONS_OFFSET,
};
use crate::{ACTION_COUNT, MAX_POSITIONS, OPPORTUNITY_SLOTS};

/// How far apart two outputs of a network are: absolutely up to 1 in size, relatively beyond
/// (float32 holds about 7 digits, so a value of 100 cannot be pinned to 1e-5 absolutely); NaN
/// anywhere is infinitely far.
pub fn difference(a: f32, b: f32) -> f32 {
    let d = (a - b).abs() / a.abs().max(b.abs()).max(1.0);
    if d.is_nan() { f32::INFINITY } else { d }
}

/// The network's outputs for one observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Output {
    /// Raw (unmasked) action logits.
    pub logits: [f32; ACTION_COUNT],
    /// State value.
    pub value: f32,
}

/// The layers both native networks share ([`super::architecture`]'s trunk and critic), typed by
/// the table: the observation's normalisation, the four encoders, the fusion, the actor's hidden
/// layer and the critic.
#[derive(Debug, Clone, PartialEq)]
pub struct Trunk {
    /// The observation's normalisation, applied before every layer.
    pub input: Normalization,
    /// [`CONFIG`].
    pub config: Linear<{ CONFIG.input }, { CONFIG.output }>,
    /// [`PORTFOLIO`].
    pub portfolio: Linear<{ PORTFOLIO.input }, { PORTFOLIO.output }>,
    /// [`POSITION`].
    pub position: Linear<{ POSITION.input }, { POSITION.output }>,
    /// [`OPPORTUNITY`].
    pub opportunity: Linear<{ OPPORTUNITY.input }, { OPPORTUNITY.output }>,
    /// [`ATTENTION_IN`].
    pub attention_in: Linear<{ ATTENTION_IN.input }, { ATTENTION_IN.output }>,
    /// [`ATTENTION_OUT`].
    pub attention_out: Linear<{ ATTENTION_OUT.input }, { ATTENTION_OUT.output }>,
    /// [`OPPORTUNITY_OUT`].
    pub opportunity_out: Linear<{ OPPORTUNITY_OUT.input }, { OPPORTUNITY_OUT.output }>,
    /// [`FUSION1`].
    pub fusion1: Linear<{ FUSION1.input }, { FUSION1.output }>,
    /// [`NORM1`].
    pub norm1: LayerNorm<{ NORM1.output }>,
    /// [`FUSION2`].
    pub fusion2: Linear<{ FUSION2.input }, { FUSION2.output }>,
    /// [`NORM2`].
    pub norm2: LayerNorm<{ NORM2.output }>,
    /// [`ACTOR1`].
    pub actor1: Linear<{ ACTOR1.input }, { ACTOR1.output }>,
    /// [`CRITIC1`].
    pub critic1: Linear<{ CRITIC1.input }, { CRITIC1.output }>,
    /// [`CRITIC2`].
    pub critic2: Linear<{ CRITIC2.input }, { CRITIC2.output }>,
}

impl Trunk {
    /// A trunk of zeros, with the identity normalisation.
    pub const ZERO: Trunk = Trunk {
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
        critic1: Linear::ZERO,
        critic2: Linear::ZERO,
    };
}

/// The plan's network: the trunk, and its actor's output layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The layers it shares with the pointer network.
    pub trunk: Trunk,
    /// [`ACTOR2`].
    pub actor2: Linear<{ ACTOR2.input }, { ACTOR2.output }>,
}

/// A native network's layers in its architecture's table order, as the fields that hold them:
/// the trunk's up to the actor's hidden layer, the network's own actor `$field`s, the trunk's
/// critic (as [`super::architecture`] builds its tables). The one list that reading and writing
/// its parameters (and so its artifact) walk.
macro_rules! in_table_order {
    ($network:ident, $architecture:expr; $($field:ident),* $(,)?) => {
        impl $network {
            pub(super) fn layers(&self) -> [&dyn Weights; $architecture.layers().len()] {
                let t = &self.trunk;
                [
                    &t.config, &t.portfolio, &t.position, &t.opportunity, &t.attention_in,
                    &t.attention_out, &t.opportunity_out, &t.fusion1, &t.norm1, &t.fusion2,
                    &t.norm2, &t.actor1, $(&self.$field,)* &t.critic1, &t.critic2,
                ]
            }

            fn layers_mut(&mut self) -> [&mut dyn Weights; $architecture.layers().len()] {
                let t = &mut self.trunk;
                [
                    &mut t.config, &mut t.portfolio, &mut t.position, &mut t.opportunity,
                    &mut t.attention_in, &mut t.attention_out, &mut t.opportunity_out,
                    &mut t.fusion1, &mut t.norm1, &mut t.fusion2, &mut t.norm2, &mut t.actor1,
                    $(&mut self.$field,)* &mut t.critic1, &mut t.critic2,
                ]
            }

            /// Call `f` with every parameter, in the table's order.
            pub fn parameters(&self, mut f: impl FnMut(f32)) {
                for layer in self.layers() {
                    layer.visit(&mut f);
                }
            }

            /// Set every parameter, in the table's order, from `next`.
            pub fn set_parameters(&mut self, mut next: impl FnMut() -> f32) {
                for layer in self.layers_mut() {
                    layer.load(&mut next);
                }
            }

            /// Load the parameters (and, from version 2, the normalisation) of an artifact into
            /// this network, checking magic, versions, architecture, length and checksum first
            /// ([`artifact::load`](crate::policy::artifact::load)); on error the network is
            /// unchanged.
            pub fn load_artifact(&mut self, bytes: &[u8]) -> Result<(), crate::Error> {
                crate::policy::artifact::load(self, bytes)
            }

            /// Write this network as an artifact into `out`.
            pub fn write_artifact(
                &self,
                out: &mut [u8; crate::policy::artifact::artifact_len($architecture)],
            ) {
                crate::policy::artifact::write(self, out)
            }

            /// This network as an artifact on the heap.
            #[cfg(feature = "alloc")]
            pub fn to_artifact(&self) -> alloc::vec::Vec<u8> {
                crate::policy::artifact::to_vec(self)
            }
        }

        impl crate::policy::artifact::Stored for $network {
            const ARCHITECTURE: crate::policy::architecture::Architecture = $architecture;

            fn each_parameter(&self, f: &mut dyn FnMut(f32)) {
                self.parameters(f)
            }

            fn set_each_parameter(&mut self, next: &mut dyn FnMut() -> f32) {
                self.set_parameters(next)
            }

            fn normalization_mut(&mut self) -> &mut Normalization {
                &mut self.trunk.input
            }

            fn normalization(&self) -> &Normalization {
                &self.trunk.input
            }
        }
    };
}
pub(super) use in_table_order;

in_table_order!(Network, Architecture::Plan; actor2);

#[inline(always)]
pub(super) fn group<const N: usize>(obs: &Observation, offset: usize) -> &[f32; N] {
    obs[offset..offset + N].try_into().expect("group inside the observation")
}

/// `N` consecutive slots of `W` features from `offset`.
#[inline(always)]
pub(super) fn slots<const N: usize, const W: usize>(obs: &Observation, offset: usize) -> [[f32; W]; N] {
    let mut out = [[0.0f32; W]; N];
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = *group(obs, offset + k * W);
    }
    out
}

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
    pub const ZERO: Network = Network { trunk: Trunk::ZERO, actor2: Linear::ZERO };

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
            normalized[n] = self.trunk.input.apply(obs[n]);
        }
        let obs = &normalized;
        let mut config = [[0.0f32; CONFIG.input]; N];
        let mut portfolio = [[0.0f32; PORTFOLIO.input]; N];
        let mut context = [[0.0f32; MODEL_DIM]; N];
        for n in 0..N {
            config[n] = *group(&obs[n], CONFIG_OFFSET);
            portfolio[n] = *group(&obs[n], PORTFOLIO_OFFSET);
            context[n] = self.attention(k, &obs[n]);
        }
        let config = relu_rows(self.trunk.config.rows(k, &config, 0..CONFIG.output));
        let portfolio = relu_rows(self.trunk.portfolio.rows(k, &portfolio, 0..PORTFOLIO.output));
        let attended = self.trunk.attention_out.rows(k, &context, 0..MODEL_DIM);
        let opportunities =
            relu_rows(self.trunk.opportunity_out.rows(k, &attended, 0..OPPORTUNITY_OUT.output));

        let mut fused = [[0.0f32; FUSION1.input]; N];
        for n in 0..N {
            let positions = self.positions(k, &obs[n]);
            let parts: [&[f32]; 4] = [&config[n], &portfolio[n], &positions, &opportunities[n]];
            let mut at = 0;
            for part in parts {
                fused[n][at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        }
        let mut hidden1 = self.trunk.fusion1.rows(k, &fused, 0..FUSION1.output);
        for h in hidden1.iter_mut() {
            *h = relu(self.trunk.norm1.apply(h));
        }
        let mut hidden = self.trunk.fusion2.rows(k, &hidden1, 0..FUSION2.output);
        for h in hidden.iter_mut() {
            *h = relu(self.trunk.norm2.apply(h));
        }
        let actor = relu_rows(self.trunk.actor1.rows(k, &hidden, 0..ACTOR1.output));
        let logits = self.actor2.rows(k, &actor, 0..ACTOR2.output);
        let critic = relu_rows(self.trunk.critic1.rows(k, &hidden, 0..CRITIC1.output));
        let value = self.trunk.critic2.rows(k, &critic, 0..CRITIC2.output);
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
    ) -> [f32; POSITION.output] {
        let slots = slots::<MAX_POSITIONS, POSITION_WIDTH>(obs, POSITIONS_OFFSET);
        let encoded = self.trunk.position.rows(k, &slots, 0..POSITION.output);
        // ReLU outputs are >= 0, so starting from 0 gives the maximum of the ReLUs over the slots.
        let mut best = [0.0f32; POSITION.output];
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
        let embedded = relu_rows(self.trunk.opportunity.rows(k, &tokens, 0..OPPORTUNITY.output));
        // Queries and keys only; the values come from the weighted embeddings below.
        let qk = self.trunk.attention_in.rows(k, &embedded, 0..2 * MODEL_DIM);

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
        let values = self.trunk.attention_in.rows(k, &pooled, 2 * MODEL_DIM..3 * MODEL_DIM);
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
        assert_eq!(n.trunk.config.weight_t[1][0], 2.0);
        assert_eq!(n.trunk.config.bias[0], 81.0);
    }

    /// Multi-head attention written out directly: every query's softmax over the keys (shifted by
    /// its own maximum), the values attended, the mean over the queries; and how far apart the
    /// queries' maximum scores lie.
    fn attention_by_hand(n: &Network, obs: &Observation) -> ([f32; MODEL_DIM], f32) {
        let tokens = slots::<OPPORTUNITY_SLOTS, OPPORTUNITY_WIDTH>(obs, OPPORTUNITIES_OFFSET);
        let qkv: std::vec::Vec<[f32; 3 * MODEL_DIM]> =
            tokens.iter().map(|t| n.trunk.attention_in.apply(&relu(n.trunk.opportunity.apply(t)))).collect();
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
}
