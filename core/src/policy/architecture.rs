//! Both networks described once: every layer with its name and shape, in the order of its
//! parameters (PyTorch's: each fully connected layer's `weight[out][in]` then its `bias`, each
//! layer norm's scale then its shift).
//!
//! The native pass ([`super::Network`]) types its layers by these shapes and reads and writes
//! its parameters in this order, which is also the order of the weights artifact; the ONNX
//! converter looks for these layers in a graph; training's burn network is built from them and
//! the ONNX export writes them.
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
//! The pointer network ([`POINTER_LAYERS`]) keeps that trunk, the actor's hidden layer (`a`, 32)
//! and the critic, and replaces the plan's last actor layer by heads shared across slots:
//!
//! ```text
//! HOLD logit                 a ──Linear 1
//! opportunity slot s, tier t a ‖ embedding_s (40) ‖ attended_s (40) ──Linear 32, ReLU, Linear 3
//! position slot j            a ‖ encoding_j (24) ──Linear 32, ReLU, Linear 1
//! ```

use crate::ACTION_COUNT;
use crate::observation::{CONFIG_NAMES, OPPORTUNITY_NAMES, PORTFOLIO_NAMES, POSITION_NAMES};
#[cfg(test)]
use crate::{MAX_POSITIONS, OPPORTUNITY_SLOTS};

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// `y = W x + b`: `input x output` weights, then `output` biases.
    Linear,
    /// Layer normalisation over `output` (= `input`) features: a scale, then a shift.
    LayerNorm,
}

/// One layer of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// Its name: the native network's field, and the prefix of its tensors in an exported graph.
    pub name: &'static str,
    /// What it computes.
    pub kind: LayerKind,
    /// Input width.
    pub input: usize,
    /// Output width.
    pub output: usize,
}

impl Layer {
    const fn linear(name: &'static str, input: usize, output: usize) -> Layer {
        Layer { name, kind: LayerKind::Linear, input, output }
    }

    const fn norm(name: &'static str, width: usize) -> Layer {
        Layer { name, kind: LayerKind::LayerNorm, input: width, output: width }
    }

    /// How many parameters it has.
    pub const fn parameters(&self) -> usize {
        match self.kind {
            LayerKind::Linear => self.input * self.output + self.output,
            LayerKind::LayerNorm => 2 * self.output,
        }
    }
}

/// Width of an opportunity's embedding (the attention's model width).
pub const MODEL_DIM: usize = 40;
/// Attention heads.
pub const HEADS: usize = 4;
/// Width of one head.
pub const HEAD_DIM: usize = MODEL_DIM / HEADS;
/// Epsilon of both layer norms (PyTorch's default).
pub const LAYER_NORM_EPSILON: f32 = 1e-5;
/// Features of one position slot.
pub const POSITION_WIDTH: usize = POSITION_NAMES.len();
/// Features of one opportunity slot.
pub const OPPORTUNITY_WIDTH: usize = OPPORTUNITY_NAMES.len();

/// Configuration encoder.
pub const CONFIG: Layer = Layer::linear("config", CONFIG_NAMES.len(), 16);
/// Portfolio encoder.
pub const PORTFOLIO: Layer = Layer::linear("portfolio", PORTFOLIO_NAMES.len(), 32);
/// Position encoder, shared by the five slots; its outputs are max-pooled over them.
pub const POSITION: Layer = Layer::linear("position", POSITION_WIDTH, 24);
/// Opportunity embedding, shared by the ten slots.
pub const OPPORTUNITY: Layer = Layer::linear("opportunity", OPPORTUNITY_WIDTH, MODEL_DIM);
/// The attention's input projection: queries, keys and values stacked (PyTorch's `in_proj`).
pub const ATTENTION_IN: Layer = Layer::linear("attention_in", MODEL_DIM, 3 * MODEL_DIM);
/// The attention's output projection, after the mean over slots.
pub const ATTENTION_OUT: Layer = Layer::linear("attention_out", MODEL_DIM, MODEL_DIM);
/// Opportunity encoder output.
pub const OPPORTUNITY_OUT: Layer = Layer::linear("opportunity_out", MODEL_DIM, 64);
/// Width of the four encoders' outputs concatenated.
pub const FUSED: usize = CONFIG.output + PORTFOLIO.output + POSITION.output + OPPORTUNITY_OUT.output;
/// First fusion layer.
pub const FUSION1: Layer = Layer::linear("fusion1", FUSED, 128);
/// Its layer norm.
pub const NORM1: Layer = Layer::norm("norm1", FUSION1.output);
/// Second fusion layer.
pub const FUSION2: Layer = Layer::linear("fusion2", NORM1.output, 64);
/// Its layer norm.
pub const NORM2: Layer = Layer::norm("norm2", FUSION2.output);
/// Actor hidden layer.
pub const ACTOR1: Layer = Layer::linear("actor1", NORM2.output, 32);
/// Actor output: the 36 logits.
pub const ACTOR2: Layer = Layer::linear("actor2", ACTOR1.output, ACTION_COUNT);
/// Critic hidden layer.
pub const CRITIC1: Layer = Layer::linear("critic1", NORM2.output, 32);
/// Critic output: the value.
pub const CRITIC2: Layer = Layer::linear("critic2", CRITIC1.output, 1);

/// How many parameters `layers` have.
pub const fn parameter_count(layers: &[Layer]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < layers.len() {
        total += layers[i].parameters();
        i += 1;
    }
    total
}

/// Number of parameters of the network.
pub const PARAMETER_COUNT: usize = parameter_count(&LAYERS);

/// The pointer network's HOLD logit, from the actor's hidden layer.
pub const HOLD: Layer = Layer::linear("hold", ACTOR1.output, 1);
/// The pointer network's entry head, shared by the ten slots: the actor's hidden layer, the
/// slot's embedding and its attended context.
pub const ENTRY1: Layer =
    Layer::linear("entry1", ACTOR1.output + OPPORTUNITY.output + ATTENTION_OUT.output, 32);
/// The entry head's output: a logit per size tier.
pub const ENTRY2: Layer = Layer::linear("entry2", ENTRY1.output, 3);
/// The pointer network's exit head, shared by the five slots: the actor's hidden layer and the
/// position's encoding.
pub const EXIT1: Layer = Layer::linear("exit1", ACTOR1.output + POSITION.output, 32);
/// The exit head's output: the slot's exit logit.
pub const EXIT2: Layer = Layer::linear("exit2", EXIT1.output, 1);

/// The layers both networks share before their actors part: the encoders, the fusion and the
/// actor's hidden layer.
const TRUNK: [Layer; 12] = [
    CONFIG,
    PORTFOLIO,
    POSITION,
    OPPORTUNITY,
    ATTENTION_IN,
    ATTENTION_OUT,
    OPPORTUNITY_OUT,
    FUSION1,
    NORM1,
    FUSION2,
    NORM2,
    ACTOR1,
];

/// The critic both networks end with.
const CRITIC: [Layer; 2] = [CRITIC1, CRITIC2];

/// A network's table: the trunk, its `actor` layers, the critic (checked at compile time to
/// fill `N`).
const fn table<const N: usize>(actor: &[Layer]) -> [Layer; N] {
    assert!(N == TRUNK.len() + actor.len() + CRITIC.len());
    let mut out = [CONFIG; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < TRUNK.len() {
            TRUNK[i]
        } else if i < TRUNK.len() + actor.len() {
            actor[i - TRUNK.len()]
        } else {
            CRITIC[i - TRUNK.len() - actor.len()]
        };
        i += 1;
    }
    out
}

/// Every layer of the plan's network, in the order of the parameters.
pub const LAYERS: [Layer; 15] = table(&[ACTOR2]);

/// The pointer network's layers, in the order of its parameters: the plan's trunk and critic,
/// and an actor that scores every opportunity and position slot from its own features (the
/// plan's actor sees the slots only pooled, so it can choose a slot only by its rank).
pub const POINTER_LAYERS: [Layer; 19] = table(&[HOLD, ENTRY1, ENTRY2, EXIT1, EXIT2]);

/// Number of parameters of the pointer network.
pub const POINTER_PARAMETER_COUNT: usize = parameter_count(&POINTER_LAYERS);

/// Which of the two networks a model is: they share the trunk and the critic, and differ in their
/// actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "lowercase"))]
pub enum Architecture {
    /// The plan's: the 36 logits from the pooled state ([`LAYERS`]).
    #[default]
    Plan,
    /// Each slot scored from its own features ([`POINTER_LAYERS`]).
    Pointer,
}

impl Architecture {
    /// Both, in the order of their codes.
    pub const ALL: [Architecture; 2] = [Architecture::Plan, Architecture::Pointer];

    /// Its layers, in the order of its parameters.
    pub const fn layers(self) -> &'static [Layer] {
        match self {
            Architecture::Plan => &LAYERS,
            Architecture::Pointer => &POINTER_LAYERS,
        }
    }

    /// How many parameters it has.
    pub const fn parameter_count(self) -> usize {
        match self {
            Architecture::Plan => PARAMETER_COUNT,
            Architecture::Pointer => POINTER_PARAMETER_COUNT,
        }
    }

    /// Its name: in the weights artifact's documentation, an ONNX model's metadata and the
    /// command line.
    pub const fn name(self) -> &'static str {
        match self {
            Architecture::Plan => "plan",
            Architecture::Pointer => "pointer",
        }
    }

    /// Its code in the weights artifact.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The architecture of a code, if any.
    pub fn from_code(code: u32) -> Option<Architecture> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The architecture of a name, if any.
    pub fn from_name(name: &str) -> Option<Architecture> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl core::fmt::Display for Architecture {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_s_network_has_its_parameter_count_and_unique_names() {
        assert_eq!(PARAMETER_COUNT, 42_341);
        for (i, a) in LAYERS.iter().enumerate() {
            assert!(LAYERS[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
        }
        assert_eq!(FUSED, 136);
        assert_eq!(HEAD_DIM * HEADS, MODEL_DIM);
    }

    #[test]
    fn architectures_are_found_by_code_and_name_and_the_pointer_shares_the_trunk() {
        for a in Architecture::ALL {
            assert_eq!(Architecture::from_code(a.code()), Some(a));
            assert_eq!(Architecture::from_name(a.name()), Some(a));
            assert_eq!(parameter_count(a.layers()), a.parameter_count());
            for (i, l) in a.layers().iter().enumerate() {
                assert!(a.layers()[i + 1..].iter().all(|m| m.name != l.name), "{} twice", l.name);
            }
        }
        assert_eq!(Architecture::from_code(2), None);
        assert_eq!(Architecture::from_name("Plan"), None);
        assert_eq!(LAYERS[..12], POINTER_LAYERS[..12]);
        assert_eq!(LAYERS[13..], POINTER_LAYERS[17..]);
        assert_eq!((LAYERS[12], POINTER_LAYERS[12]), (ACTOR2, HOLD));
        assert_eq!(POINTER_PARAMETER_COUNT, 46_758);
        assert_eq!(
            HOLD.output + OPPORTUNITY_SLOTS * ENTRY2.output + MAX_POSITIONS * EXIT2.output,
            ACTION_COUNT
        );
    }
}
