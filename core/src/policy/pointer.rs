//! The pointer network ([`super::architecture::POINTER_LAYERS`]), evaluated natively: the plan's
//! trunk and critic, and an actor that scores each slot from its own features. The HOLD logit
//! comes from the actor's hidden layer; each opportunity slot's three entry logits from that layer,
//! the slot's embedding and its attended context; each position slot's exit logit from that layer
//! and the position's encoding.
//!
//! Written plainly, one observation at a time.

use super::architecture::{
    ATTENTION_IN, Architecture, ENTRY1, ENTRY2, EXIT1, EXIT2, FUSION1, HEAD_DIM, HEADS, HOLD, MODEL_DIM,
    OPPORTUNITY_WIDTH, POSITION, POSITION_WIDTH,
};
use super::kernel::{Linear, Weights, relu};
use super::network::{Output, Trunk, group, in_table_order, slots};
use super::normalization::Normalization;
use crate::action::{ENTER_BASE, EXIT_BASE};
use crate::observation::{
    CONFIG_OFFSET, OPPORTUNITIES_OFFSET, Observation, PORTFOLIO_OFFSET, POSITIONS_OFFSET,
};
use crate::{ACTION_COUNT, MAX_POSITIONS, OPPORTUNITY_SLOTS};

pub use super::architecture::POINTER_PARAMETER_COUNT;

/// The pointer network: the plan's trunk, and heads that score each slot.
#[derive(Debug, Clone, PartialEq)]
pub struct PointerNetwork {
    /// The layers it shares with the plan's network.
    pub trunk: Trunk,
    /// [`HOLD`].
    pub hold: Linear<{ HOLD.input }, { HOLD.output }>,
    /// [`ENTRY1`].
    pub entry1: Linear<{ ENTRY1.input }, { ENTRY1.output }>,
    /// [`ENTRY2`].
    pub entry2: Linear<{ ENTRY2.input }, { ENTRY2.output }>,
    /// [`EXIT1`].
    pub exit1: Linear<{ EXIT1.input }, { EXIT1.output }>,
    /// [`EXIT2`].
    pub exit2: Linear<{ EXIT2.input }, { EXIT2.output }>,
}

in_table_order!(PointerNetwork, Architecture::Pointer; hold, entry1, entry2, exit1, exit2);

impl PointerNetwork {
    /// A network of zeros, with the identity normalisation.
    pub const ZERO: PointerNetwork = PointerNetwork {
        trunk: Trunk::ZERO,
        hold: Linear::ZERO,
        entry1: Linear::ZERO,
        entry2: Linear::ZERO,
        exit1: Linear::ZERO,
        exit2: Linear::ZERO,
    };

    /// Logits and value for one observation.
    pub fn forward(&self, obs: &Observation) -> Output {
        let x = self.trunk.input.apply(obs);
        let config = relu(self.trunk.config.apply(group(&x, CONFIG_OFFSET)));
        let portfolio = relu(self.trunk.portfolio.apply(group(&x, PORTFOLIO_OFFSET)));

        let mut positions = [[0.0f32; POSITION.output]; MAX_POSITIONS];
        let mut pooled_positions = [0.0f32; POSITION.output];
        for (p, slot) in
            positions.iter_mut().zip(&slots::<MAX_POSITIONS, POSITION_WIDTH>(&x, POSITIONS_OFFSET))
        {
            *p = relu(self.trunk.position.apply(slot));
            for (b, &v) in pooled_positions.iter_mut().zip(p.iter()) {
                *b = b.max(v);
            }
        }

        let tokens = slots::<OPPORTUNITY_SLOTS, OPPORTUNITY_WIDTH>(&x, OPPORTUNITIES_OFFSET);
        let mut embedded = [[0.0f32; MODEL_DIM]; OPPORTUNITY_SLOTS];
        let mut qkv = [[0.0f32; ATTENTION_IN.output]; OPPORTUNITY_SLOTS];
        for s in 0..OPPORTUNITY_SLOTS {
            embedded[s] = relu(self.trunk.opportunity.apply(&tokens[s]));
            qkv[s] = self.trunk.attention_in.apply(&embedded[s]);
        }
        let attended = self.attended(&qkv);
        let mut pooled = [0.0f32; MODEL_DIM];
        for a in &attended {
            for (p, &v) in pooled.iter_mut().zip(a) {
                *p += v / OPPORTUNITY_SLOTS as f32;
            }
        }
        let opportunities = relu(self.trunk.opportunity_out.apply(&pooled));

        let mut fused = [0.0f32; FUSION1.input];
        concat(&mut fused, &[&config, &portfolio, &pooled_positions, &opportunities]);
        let hidden = relu(self.trunk.norm1.apply(&self.trunk.fusion1.apply(&fused)));
        let hidden = relu(self.trunk.norm2.apply(&self.trunk.fusion2.apply(&hidden)));
        let actor = relu(self.trunk.actor1.apply(&hidden));

        let mut logits = [0.0f32; ACTION_COUNT];
        logits[0] = self.hold.apply(&actor)[0];
        for s in 0..OPPORTUNITY_SLOTS {
            let mut input = [0.0f32; ENTRY1.input];
            concat(&mut input, &[&actor, &embedded[s], &attended[s]]);
            let tiers = self.entry2.apply(&relu(self.entry1.apply(&input)));
            for (tier, &t) in tiers.iter().enumerate() {
                logits[usize::from(ENTER_BASE) + tier * OPPORTUNITY_SLOTS + s] = t;
            }
        }
        for (j, p) in positions.iter().enumerate() {
            let mut input = [0.0f32; EXIT1.input];
            concat(&mut input, &[&actor, p]);
            logits[usize::from(EXIT_BASE) + j] = self.exit2.apply(&relu(self.exit1.apply(&input)))[0];
        }
        let value = self.trunk.critic2.apply(&relu(self.trunk.critic1.apply(&hidden)))[0];
        Output { logits, value }
    }

    /// Every slot's attended context after the output projection (PyTorch's multi-head
    /// attention, each query's softmax shifted by its own maximum).
    fn attended(
        &self,
        qkv: &[[f32; ATTENTION_IN.output]; OPPORTUNITY_SLOTS],
    ) -> [[f32; MODEL_DIM]; OPPORTUNITY_SLOTS] {
        let scale = 1.0 / libm::sqrtf(HEAD_DIM as f32);
        let mut out = [[0.0f32; MODEL_DIM]; OPPORTUNITY_SLOTS];
        for (q, o) in qkv.iter().zip(out.iter_mut()) {
            let mut context = [0.0f32; MODEL_DIM];
            for h in 0..HEADS {
                let (q0, k0, v0) = (h * HEAD_DIM, MODEL_DIM + h * HEAD_DIM, 2 * MODEL_DIM + h * HEAD_DIM);
                let mut scores = [0.0f32; OPPORTUNITY_SLOTS];
                let mut top = f32::NEG_INFINITY;
                for (score, k) in scores.iter_mut().zip(qkv) {
                    *score = (0..HEAD_DIM).map(|d| q[q0 + d] * k[k0 + d]).sum::<f32>() * scale;
                    top = if *score > top { *score } else { top };
                }
                let mut total = 0.0f32;
                for score in scores.iter_mut() {
                    *score = libm::expf(*score - top);
                    total += *score;
                }
                for (&w, v) in scores.iter().zip(qkv) {
                    for d in 0..HEAD_DIM {
                        context[q0 + d] += w / total * v[v0 + d];
                    }
                }
            }
            *o = self.trunk.attention_out.apply(&context);
        }
        out
    }
}

/// `parts` laid end to end at the start of `out`.
fn concat(out: &mut [f32], parts: &[&[f32]]) {
    let mut at = 0;
    for part in parts {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::architecture::POINTER_LAYERS;

    /// A network whose parameters are drawn from a fixed stream in `[-scale/2, scale/2)`.
    fn drawn(scale: f32) -> std::boxed::Box<PointerNetwork> {
        let mut n = std::boxed::Box::new(PointerNetwork::ZERO);
        let mut k = 0u64;
        n.set_parameters(|| {
            k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((k >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
        });
        n
    }

    fn observation() -> Observation {
        let mut obs = [0.0f32; crate::observation::OBSERVATION_LEN];
        for (i, v) in obs.iter_mut().enumerate() {
            *v = ((i * 7919 % 613) as f32 / 613.0 - 0.5) * 4.0;
        }
        obs
    }

    #[test]
    fn its_trunk_and_critic_are_the_plan_s() {
        let pointer = drawn(0.6);
        let mut plan = std::boxed::Box::new(super::super::Network::ZERO);
        // The plan's parameters: the shared layers' from the pointer network, in the plan's order.
        let mut shared = std::vec::Vec::new();
        for (layer, field) in POINTER_LAYERS.iter().zip(pointer.layers()) {
            if super::super::architecture::LAYERS.contains(layer) {
                field.visit(&mut |p| shared.push(p));
            } else if layer.name == "hold" {
                // The plan's actor output stands where the pointer's heads do.
                shared.extend(core::iter::repeat_n(0.0, super::super::architecture::ACTOR2.parameters()));
            }
        }
        let mut next = shared.into_iter();
        plan.set_parameters(|| next.next().expect("the plan's parameter count"));
        assert!(next.next().is_none());
        let obs = observation();
        let (a, b) = (pointer.forward(&obs), plan.forward(&obs));
        assert!(
            (a.value - b.value).abs() <= 1e-5 * b.value.abs().max(1.0),
            "{} against {}",
            a.value,
            b.value
        );
        assert!(a.value.abs() > 1e-3, "a degenerate value {}", a.value);
    }

    #[test]
    fn each_slot_s_logits_follow_its_own_features() {
        let n = drawn(0.6);
        let obs = observation();
        let before = n.forward(&obs);
        // Change opportunity slot 3's features and position slot 1's.
        let mut changed = obs;
        for v in &mut changed[OPPORTUNITIES_OFFSET + 3 * OPPORTUNITY_WIDTH..][..OPPORTUNITY_WIDTH] {
            *v += 1.5;
        }
        for v in &mut changed[POSITIONS_OFFSET + POSITION_WIDTH..][..POSITION_WIDTH] {
            *v -= 1.5;
        }
        let after = n.forward(&changed);
        let moved = |i: usize| (before.logits[i] - after.logits[i]).abs();
        let entry = |slot: usize, tier: usize| usize::from(ENTER_BASE) + tier * OPPORTUNITY_SLOTS + slot;
        // Slot 3's own logits move by more than any other slot's (which see it through attention).
        for tier in 0..3 {
            let own = moved(entry(3, tier));
            let others = (0..OPPORTUNITY_SLOTS).filter(|&s| s != 3).map(|s| moved(entry(s, tier)));
            assert!(others.fold(0.0f32, f32::max) < own, "tier {tier}: {own}");
        }
        // Only position 1's exit logit moves beyond what the pooled trunk passes to every slot.
        let exit = |j: usize| usize::from(EXIT_BASE) + j;
        assert!((0..MAX_POSITIONS).filter(|&j| j != 1).all(|j| moved(exit(j)) < moved(exit(1))));
    }
}
