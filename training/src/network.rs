//! The plan's network in burn, for training: the observation's normalisation (fitted, not
//! trained) and the layers of the engine's native pass ([`Native`], `docs/model-contract.md`),
//! initialised as PPO wants them, and their conversion to the native pass.

use arbpolicy_core::observation::{
    OBSERVATION_LEN, OPPORTUNITIES_OFFSET, PORTFOLIO_OFFSET, POSITIONS_OFFSET,
};
use arbpolicy_core::policy::architecture::{
    self as plan, ACTOR1, ACTOR2, ATTENTION_OUT, CONFIG, CRITIC1, CRITIC2, ENTRY1, ENTRY2, EXIT1, EXIT2,
    FUSION1, FUSION2, HEADS, HOLD, MODEL_DIM, NORM1, NORM2, OPPORTUNITY, OPPORTUNITY_OUT, OPPORTUNITY_WIDTH,
    PORTFOLIO, POSITION, POSITION_WIDTH,
};
use arbpolicy_core::policy::{Architecture, Native, Normalization};
use arbpolicy_core::{ACTION_COUNT, MAX_POSITIONS, OPPORTUNITY_SLOTS};
use burn::module::Param;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// The trainable network: observations `[batch, 275]` to logits `[batch, 36]` and values
/// `[batch, 1]`.
#[derive(Module, Debug)]
pub struct PolicyNet {
    /// The normalisation's shift, `[275]`: fitted on the training window, never trained (the
    /// forward pass detaches it), kept in checkpoints with the weights.
    shift: Param<Tensor<1>>,
    /// The normalisation's scale, `[275]`.
    scale: Param<Tensor<1>>,
    config: Linear,
    portfolio: Linear,
    position: Linear,
    opportunity: Linear,
    attention: MultiHeadAttention,
    opportunity_out: Linear,
    fusion1: Linear,
    norm1: LayerNorm,
    fusion2: Linear,
    norm2: LayerNorm,
    actor: Actor,
    critic1: Linear,
    critic2: Linear,
}

/// The actor on top of the trunk.
// One per network, never in a collection: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
enum Actor {
    /// The plan's.
    Plan(PlanActor),
    /// The pointer network's.
    Pointer(PointerActor),
}

/// The plan's actor: two layers from the trunk's output to the 36 logits.
#[derive(Module, Debug)]
struct PlanActor {
    actor1: Linear,
    actor2: Linear,
}

/// The pointer network's actor: a hidden layer, the HOLD logit from it, and heads shared by the
/// slots.
#[derive(Module, Debug)]
struct PointerActor {
    actor1: Linear,
    hold: Linear,
    entry1: Linear,
    entry2: Linear,
    exit1: Linear,
    exit2: Linear,
}

/// One of the table's layers in burn.
enum Part<'a> {
    /// A fully connected layer.
    Linear(&'a Linear),
    /// Fully connected layers whose outputs are stacked (the attention's query, key and value).
    Stacked([&'a Linear; 3]),
    /// A layer norm.
    Norm(&'a LayerNorm),
}

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 parameters")
}

impl Part<'_> {
    /// The layer as the table describes it.
    #[cfg(test)]
    fn kind(&self) -> (arbpolicy_core::policy::architecture::LayerKind, usize, usize) {
        use arbpolicy_core::policy::architecture::LayerKind;
        let shape = |l: &Linear| l.weight.val().dims();
        match self {
            Part::Linear(l) => {
                let [input, output] = shape(l);
                (LayerKind::Linear, input, output)
            }
            Part::Stacked(ls) => {
                let [input, output] = shape(ls[0]);
                (LayerKind::Linear, input, ls.len() * output)
            }
            Part::Norm(n) => {
                let [width] = n.gamma.val().dims();
                (LayerKind::LayerNorm, width, width)
            }
        }
    }

    /// Append the parameters in PyTorch's order: the weight `[out][in]`, then the bias; a layer
    /// norm's scale, then its shift.
    fn parameters(&self, out: &mut Vec<f32>) {
        let weight = |l: &Linear, out: &mut Vec<f32>| {
            let [input, output] = l.weight.val().dims();
            let w = values(l.weight.val().reshape([input * output]));
            out.extend(
                (0..output).flat_map(|o| (0..input).map(move |i| (o, i))).map(|(o, i)| w[i * output + o]),
            );
        };
        let bias =
            |l: &Linear, out: &mut Vec<f32>| out.extend(values(l.bias.as_ref().expect("a bias").val()));
        match self {
            Part::Linear(l) => {
                weight(l, out);
                bias(l, out);
            }
            Part::Stacked(ls) => {
                ls.iter().for_each(|l| weight(l, out));
                ls.iter().for_each(|l| bias(l, out));
            }
            Part::Norm(n) => {
                out.extend(values(n.gamma.val()));
                out.extend(values(n.beta.as_ref().expect("a shift").val()));
            }
        }
    }
}

/// The policy's initial action probabilities: HOLD most of the time, an entry now and then, an
/// exit rarely, so that a position opened while exploring stays open for days (an exit slot is
/// drawn about once in 250 hours) and a carry trade's payback can be seen at all. With CleanRL's
/// near-zero actor head every allowed action starts equally likely: 30 of the 36 are entries and 5
/// exits, so a random book churns positions hourly and learns only that trading costs fees.
pub const INITIAL_PROBABILITIES: [f64; 3] = [0.9, 0.08, 0.02];

/// The initial logit of an action of `kind` for [`INITIAL_PROBABILITIES`] (up to a constant).
fn prior(kind: usize) -> f32 {
    let share = [1.0, 30.0, 5.0][kind];
    (INITIAL_PROBABILITIES[kind] / share).ln() as f32
}

/// The actor output's initial biases for [`INITIAL_PROBABILITIES`].
fn action_prior() -> Vec<f32> {
    (0..ACTION_COUNT)
        .map(|i| prior(arbpolicy_core::Action::from_index(i).expect("an action index").kind()))
        .collect()
}

/// An output layer of the actor: weights orthogonal with gain 0.01, biases `bias`.
fn actor_output(l: plan::Layer, bias: Vec<f32>, device: &Device) -> Linear {
    let mut head = layer(l, 0.01, device);
    head.bias = Some(Param::from_tensor(Tensor::from_data(TensorData::new(bias, [l.output]), device)));
    head
}

/// One of the normalisation's vectors as a parameter that is not trained.
fn fitted(values: &[f32; OBSERVATION_LEN], device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values.to_vec(), [OBSERVATION_LEN]), device))
        .set_require_grad(false)
}

/// The table's layer `l`, initialised as CleanRL's PPO does: weights orthogonal with gain
/// `sqrt(2)` in the body, 0.01 on the actor's output and 1 on the critic's; biases zero.
fn layer(l: plan::Layer, gain: f64, device: &Device) -> Linear {
    let (input, output) = (l.input, l.output);
    let mut linear = LinearConfig::new(input, output).with_initializer(Initializer::Zeros).init(device);
    linear.weight =
        Initializer::Orthogonal { gain }.init_with([input, output], Some(input), Some(output), device);
    linear
}

impl PolicyNet {
    /// A network on `device` initialised from `seed`. The backend's random stream is shared by
    /// the whole process and parameters are drawn lazily, so seeding and drawing every parameter
    /// hold a lock: concurrent initialisations (tests on other threads) cannot interleave.
    pub fn seeded(device: &Device, seed: u64, kind: Architecture) -> Self {
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _drawing = INIT.lock().unwrap_or_else(|e| e.into_inner());
        device.seed(seed);
        let net = Self::new(device, kind);
        // Parameters are drawn when first read: read them all while the lock is held.
        struct Draw;
        impl burn::module::ModuleVisitor for Draw {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                let _ = param.val();
            }
        }
        net.visit(&mut Draw);
        net
    }

    /// A freshly initialised network of `kind` on `device`, from the backend's random stream.
    pub fn new(device: &Device, kind: Architecture) -> Self {
        let body = std::f64::consts::SQRT_2;
        let mut attention = MultiHeadAttentionConfig::new(MODEL_DIM, HEADS).with_dropout(0.0).init(device);
        // The stacked input projection of the table, one third each.
        let third = plan::Layer { output: MODEL_DIM, ..plan::ATTENTION_IN };
        for projection in [&mut attention.query, &mut attention.key, &mut attention.value] {
            *projection = layer(third, 1.0, device);
        }
        attention.output = layer(ATTENTION_OUT, 1.0, device);
        // PyTorch's layer norm epsilon, which the engine's native pass uses.
        let norm = |l: plan::Layer| {
            LayerNormConfig::new(l.output).with_epsilon(plan::LAYER_NORM_EPSILON as f64).init(device)
        };
        let identity = Normalization::IDENTITY;
        PolicyNet {
            shift: fitted(&identity.shift, device),
            scale: fitted(&identity.scale, device),
            config: layer(CONFIG, body, device),
            portfolio: layer(PORTFOLIO, body, device),
            position: layer(POSITION, body, device),
            opportunity: layer(OPPORTUNITY, body, device),
            attention,
            opportunity_out: layer(OPPORTUNITY_OUT, body, device),
            fusion1: layer(FUSION1, body, device),
            norm1: norm(NORM1),
            fusion2: layer(FUSION2, body, device),
            norm2: norm(NORM2),
            actor: match kind {
                Architecture::Plan => Actor::Plan(PlanActor {
                    actor1: layer(ACTOR1, body, device),
                    actor2: actor_output(ACTOR2, action_prior(), device),
                }),
                Architecture::Pointer => Actor::Pointer(PointerActor {
                    actor1: layer(ACTOR1, body, device),
                    hold: actor_output(HOLD, vec![prior(0)], device),
                    entry1: layer(ENTRY1, body, device),
                    entry2: actor_output(ENTRY2, vec![prior(1); ENTRY2.output], device),
                    exit1: layer(EXIT1, body, device),
                    exit2: actor_output(EXIT2, vec![prior(2)], device),
                }),
            },
            critic1: layer(CRITIC1, body, device),
            critic2: layer(CRITIC2, 1.0, device),
        }
    }

    /// This network with the normalisation `n` (the weights unchanged).
    pub fn normalized(mut self, n: &Normalization) -> Self {
        let device = self.shift.val().device();
        (self.shift, self.scale) = (fitted(&n.shift, &device), fitted(&n.scale, &device));
        self
    }

    /// The normalisation.
    pub fn normalization(&self) -> Normalization {
        let read = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().expect("f32 values");
        let mut n = Normalization::IDENTITY;
        n.shift.copy_from_slice(&read(self.shift.val()));
        n.scale.copy_from_slice(&read(self.scale.val()));
        n
    }

    /// Logits `[batch, 36]` (unmasked) and values `[batch, 1]` of observations `[batch, 275]`.
    pub fn forward(&self, obs: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [batch, _] = obs.dims();
        let (shift, scale) = (self.shift.val().detach(), self.scale.val().detach());
        let obs = (obs - shift.unsqueeze_dim(0)) * scale.unsqueeze_dim(0);
        let part = |from: usize, to: usize| obs.clone().slice([0..batch, from..to]);
        let config = relu(self.config.forward(part(0, PORTFOLIO_OFFSET)));
        let portfolio = relu(self.portfolio.forward(part(PORTFOLIO_OFFSET, POSITIONS_OFFSET)));
        let positions =
            part(POSITIONS_OFFSET, OPPORTUNITIES_OFFSET).reshape([batch, MAX_POSITIONS, POSITION_WIDTH]);
        let each_position = relu(self.position.forward(positions));
        let positions = each_position.clone().max_dim(1).reshape([batch, POSITION.output]);
        let slots = part(OPPORTUNITIES_OFFSET, OBSERVATION_LEN).reshape([
            batch,
            OPPORTUNITY_SLOTS,
            OPPORTUNITY_WIDTH,
        ]);
        let embedded = relu(self.opportunity.forward(slots));
        let attended = self.attention.forward(MhaInput::self_attn(embedded.clone())).context;
        let pooled = attended.clone().mean_dim(1).reshape([batch, MODEL_DIM]);
        let opportunities = relu(self.opportunity_out.forward(pooled));
        let fused = Tensor::cat(vec![config, portfolio, positions, opportunities], 1);
        let hidden = relu(self.norm1.forward(self.fusion1.forward(fused)));
        let hidden = relu(self.norm2.forward(self.fusion2.forward(hidden)));
        let logits = match &self.actor {
            Actor::Plan(a) => a.actor2.forward(relu(a.actor1.forward(hidden.clone()))),
            Actor::Pointer(a) => {
                let actor = relu(a.actor1.forward(hidden.clone()));
                let hold = a.hold.forward(actor.clone());
                // Each slot's head sees the actor's hidden layer beside its own features.
                let beside = |slots: usize| actor.clone().unsqueeze_dim::<3>(1).repeat_dim(1, slots);
                let opportunities = Tensor::cat(vec![beside(OPPORTUNITY_SLOTS), embedded, attended], 2);
                // [batch, slot, tier] to the action order: tier after tier, slot after slot.
                let entries = a
                    .entry2
                    .forward(relu(a.entry1.forward(opportunities)))
                    .swap_dims(1, 2)
                    .reshape([batch, ENTRY2.output * OPPORTUNITY_SLOTS]);
                let positions = Tensor::cat(vec![beside(MAX_POSITIONS), each_position], 2);
                let exits = a.exit2.forward(relu(a.exit1.forward(positions))).reshape([batch, MAX_POSITIONS]);
                Tensor::cat(vec![hold, entries, exits], 1)
            }
        };
        let value = self.critic2.forward(relu(self.critic1.forward(hidden)));
        (logits, value)
    }

    /// Logits (36 per row) and values of `observations` (row after row), without gradients.
    pub fn outputs(&self, observations: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = observations.len() / OBSERVATION_LEN;
        let device = self.devices().into_iter().next().unwrap_or_else(Device::flex);
        let obs = Tensor::from_data(TensorData::new(observations.to_vec(), [n, OBSERVATION_LEN]), &device);
        let (logits, values) = self.forward(obs);
        let read = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().expect("f32 outputs");
        (read(logits), read(values))
    }

    /// Which actor it has.
    pub fn architecture(&self) -> Architecture {
        match self.actor {
            Actor::Plan(_) => Architecture::Plan,
            Actor::Pointer(_) => Architecture::Pointer,
        }
    }

    /// The layers of its architecture's table, in the table's order.
    fn layers(&self) -> Vec<Part<'_>> {
        let a = &self.attention;
        let mut parts = vec![
            Part::Linear(&self.config),
            Part::Linear(&self.portfolio),
            Part::Linear(&self.position),
            Part::Linear(&self.opportunity),
            Part::Stacked([&a.query, &a.key, &a.value]),
            Part::Linear(&a.output),
            Part::Linear(&self.opportunity_out),
            Part::Linear(&self.fusion1),
            Part::Norm(&self.norm1),
            Part::Linear(&self.fusion2),
            Part::Norm(&self.norm2),
        ];
        match &self.actor {
            Actor::Plan(a) => parts.extend([Part::Linear(&a.actor1), Part::Linear(&a.actor2)]),
            Actor::Pointer(a) => {
                parts.extend([&a.actor1, &a.hold, &a.entry1, &a.entry2, &a.exit1, &a.exit2].map(Part::Linear))
            }
        }
        parts.extend([Part::Linear(&self.critic1), Part::Linear(&self.critic2)]);
        parts
    }

    /// Every parameter in the table's order (PyTorch's: each linear layer's `[out][in]` weight
    /// then its bias; the attention's query, key and value projections stacked as `in_proj`),
    /// the order of the native pass and of its artifact.
    pub fn parameters(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.architecture().parameter_count());
        for part in self.layers() {
            part.parameters(&mut out);
        }
        out
    }

    /// The engine's native pass with these weights and this normalisation.
    pub fn native(&self) -> Native {
        Native::from_parameters(self.architecture(), &self.parameters(), self.normalization())
            .expect("the architecture's parameter count")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arbpolicy_core::Observation;
    use rand::{Rng, SeedableRng};

    /// The CPU device with gradients.
    pub(crate) fn device() -> Device {
        Device::flex().autodiff()
    }

    /// `n` observations of made-up features in `[-2, 2]`, row after row.
    pub(crate) fn observations(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        (0..n * OBSERVATION_LEN).map(|_| rng.random_range(-2.0..2.0)).collect()
    }

    /// A normalisation of every kind of feature: shifted, scaled, left alone.
    pub(crate) fn normalization() -> Normalization {
        let mut n = Normalization::IDENTITY;
        for k in 0..OBSERVATION_LEN {
            n.shift[k] = (k % 7) as f32 * 0.3 - 0.9;
            n.scale[k] = [1.0, 3.0, 0.05, 2.0][k % 4];
        }
        n
    }

    #[test]
    fn the_native_pass_with_its_weights_computes_what_it_does() {
        let d = device();
        for kind in Architecture::ALL {
            for net in
                [PolicyNet::seeded(&d, 7, kind), PolicyNet::seeded(&d, 7, kind).normalized(&normalization())]
            {
                agree(&net);
            }
        }
    }

    fn agree(net: &PolicyNet) {
        let table = net.architecture().layers();
        assert_eq!(net.parameters().len(), net.architecture().parameter_count());
        assert_eq!(net.layers().len(), table.len());
        for (part, layer) in net.layers().iter().zip(table) {
            assert_eq!(part.kind(), (layer.kind, layer.input, layer.output), "{}", layer.name);
        }
        let native = net.native();
        let n = 32;
        let obs = observations(n, 11);
        let (logits, values) = net.outputs(&obs);
        let mut worst = 0.0f32;
        for r in 0..n {
            let row: Observation = obs[r * OBSERVATION_LEN..(r + 1) * OBSERVATION_LEN].try_into().unwrap();
            let out = native.forward(&row);
            for (a, b) in out.logits.iter().zip(&logits[r * ACTION_COUNT..(r + 1) * ACTION_COUNT]) {
                worst = worst.max((a - b).abs());
            }
            worst = worst.max((out.value - values[r]).abs());
        }
        assert!(worst <= 1e-5, "largest difference {worst}");
        assert_eq!(*native.input(), net.normalization());
    }
}
