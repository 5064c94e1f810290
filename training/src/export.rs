//! ONNX export: the network (either architecture) written as an ONNX graph (opset 17) with tract's protobuf
//! types, following `docs/model-contract.md` — input `obs [batch, 275]`, outputs `logits
//! [batch, 36]` and `value [batch, 1]`, the observation and action versions in the metadata —
//! checked against the trained network before it is written, beside the native weights artifact.

use crate::network::PolicyNet;
use anyhow::{Context, Result, ensure};
use arbpolicy_core::action::ACTION_VERSION;
use arbpolicy_core::observation::{
    OBSERVATION_LEN, OBSERVATION_VERSION, OPPORTUNITIES_OFFSET, PORTFOLIO_OFFSET, POSITIONS_OFFSET,
};
use arbpolicy_core::policy::architecture::{
    ACTOR1, ACTOR2, ATTENTION_IN, ATTENTION_OUT, CONFIG, CRITIC1, CRITIC2, ENTRY1, ENTRY2, EXIT1, EXIT2,
    FUSION1, FUSION2, HEAD_DIM, HEADS, HOLD, LAYER_NORM_EPSILON, Layer, MODEL_DIM, NORM1, NORM2, OPPORTUNITY,
    OPPORTUNITY_OUT, OPPORTUNITY_WIDTH, PORTFOLIO, POSITION, POSITION_WIDTH,
};
use arbpolicy_core::policy::onnx::{
    ACTION_VERSION_KEY, ARCHITECTURE_KEY, OBSERVATION_VERSION_KEY, OnnxModel, pb,
};
use arbpolicy_core::policy::{Architecture, Normalization};
use arbpolicy_core::{ACTION_COUNT, ActionMask, MAX_POSITIONS, OPPORTUNITY_SLOTS};
use pb::attribute_proto::AttributeType;
use pb::tensor_proto::DataType;
use prost::Message;
use std::path::{Path, PathBuf};

/// The ONNX operator set the export targets.
pub const OPSET: i64 = 17;
/// The largest [`difference`] allowed between the trained network and the exported file.
pub const PARITY_TOLERANCE: f32 = 1e-5;

/// A graph under construction: nodes, initialisers, and the network's parameters read in
/// PyTorch's order.
struct Graph<'p> {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    parameters: &'p [f32],
    /// The normalised observation, which every part of the network slices.
    input: String,
}

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: value,
        ..Default::default()
    }
}

fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: value,
        ..Default::default()
    }
}

fn tensor_info(name: &str, dims: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(d.map_or_else(|| Value::DimParam("batch".into()), Value::DimValue)),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl<'p> Graph<'p> {
    /// A node `op` of `inputs` whose one output is `output`.
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<pb::AttributeProto>,
    ) -> String {
        self.nodes.push(pb::NodeProto {
            name: format!("{op}_{}", self.nodes.len()),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute,
            ..Default::default()
        });
        output.into()
    }

    /// A float32 initialiser.
    fn floats(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len());
        self.initializers.push(pb::TensorProto {
            name: name.into(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.into()
    }

    /// An int64 initialiser (shapes, slice bounds).
    fn int64s(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(pb::TensorProto {
            name: name.into(),
            dims: vec![values.len() as i64],
            data_type: DataType::Int64 as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.into()
    }

    /// The next `n` parameters.
    fn take(&mut self, n: usize) -> &'p [f32] {
        let (head, rest) = self.parameters.split_at(n);
        self.parameters = rest;
        head
    }

    /// The next linear layer's `[out][in]` weight and bias.
    fn weights(&mut self, l: Layer) -> (&'p [f32], &'p [f32]) {
        (self.take(l.output * l.input), self.take(l.output))
    }

    /// The table's layer `l` on `[batch, in]`: Gemm with the weight as stored (`transB`).
    fn gemm(&mut self, l: Layer, x: &str) -> String {
        let (name, input, output) = (l.name, l.input, l.output);
        let (w, b) = self.weights(l);
        let w = self.floats(&format!("{name}.weight"), &[output, input], w);
        let b = self.floats(&format!("{name}.bias"), &[output], b);
        let attrs = vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)];
        self.node("Gemm", &[x, &w, &b], &format!("{name}.out"), attrs)
    }

    /// The table's layer `l` on `[batch, slots, in]`: MatMul by the transposed weight, then Add.
    fn matmul(&mut self, l: Layer, x: &str) -> String {
        let (name, input, output) = (l.name, l.input, l.output);
        let (w, b) = self.weights(l);
        let transposed: Vec<f32> =
            (0..input).flat_map(|i| (0..output).map(move |o| w[o * input + i])).collect();
        let w = self.floats(&format!("{name}.weight_t"), &[input, output], &transposed);
        let b = self.floats(&format!("{name}.bias"), &[output], b);
        let product = self.node("MatMul", &[x, &w], &format!("{name}.product"), vec![]);
        self.node("Add", &[&product, &b], &format!("{name}.out"), vec![])
    }

    fn relu(&mut self, x: &str) -> String {
        self.node("Relu", &[x], &format!("{x}.relu"), vec![])
    }

    /// Columns `from..to` of `obs`, reshaped to `shape` when given.
    fn part(&mut self, name: &str, from: usize, to: usize, shape: Option<&[i64]>) -> String {
        let starts = self.int64s(&format!("{name}.starts"), &[from as i64]);
        let ends = self.int64s(&format!("{name}.ends"), &[to as i64]);
        let axes = self.int64s(&format!("{name}.axes"), &[1]);
        let input = self.input.clone();
        let sliced =
            self.node("Slice", &[&input, &starts, &ends, &axes], &format!("{name}.features"), vec![]);
        match shape {
            Some(s) => self.reshape(&sliced, s, &format!("{name}.slots")),
            None => sliced,
        }
    }

    fn reshape(&mut self, x: &str, shape: &[i64], output: &str) -> String {
        let s = self.int64s(&format!("{output}.shape"), shape);
        self.node("Reshape", &[x, &s], output, vec![])
    }

    fn transpose(&mut self, x: &str, perm: &[i64], output: &str) -> String {
        self.node("Transpose", &[x], output, vec![ints("perm", perm)])
    }

    fn layer_norm(&mut self, l: Layer, x: &str) -> String {
        let (name, width) = (l.name, l.output);
        let (g, b) = (self.take(width), self.take(width));
        let g = self.floats(&format!("{name}.weight"), &[width], g);
        let b = self.floats(&format!("{name}.bias"), &[width], b);
        let attrs = vec![int("axis", -1), float("epsilon", LAYER_NORM_EPSILON)];
        self.node("LayerNormalization", &[x, &g, &b], &format!("{name}.out"), attrs)
    }

    /// `x` `[batch, in]` repeated for each of `slots`, `[batch, slots, in]`.
    fn beside(&mut self, x: &str, slots: usize) -> String {
        let axes = self.int64s(&format!("{x}.by_{slots}.axes"), &[1]);
        let unsqueezed = self.node("Unsqueeze", &[x, &axes], &format!("{x}.by_{slots}.unsqueezed"), vec![]);
        // Broadcast by adding zeros (tract's declutter mis-handles an Expand feeding Concat).
        let zeros = self.floats(&format!("{x}.by_{slots}.zeros"), &[1, slots, 1], &vec![0.0; slots]);
        self.node("Add", &[&unsqueezed, &zeros], &format!("{x}.by_{slots}"), vec![])
    }

    /// The pointer network's actor over the trunk's `hidden` output, each opportunity slot's
    /// `embedded` and `attended` features and each position slot's encoding: the 36 logits, HOLD,
    /// then the entries tier after tier and slot after slot, then the exits.
    fn pointer_actor(&mut self, hidden: &str, embedded: &str, attended: &str, positions: &str) -> String {
        let actor = self.gemm(ACTOR1, hidden);
        let actor = self.relu(&actor);
        let hold = self.gemm(HOLD, &actor);
        let actor_by_opportunity = self.beside(&actor, OPPORTUNITY_SLOTS);
        let entry = self.node(
            "Concat",
            &[&actor_by_opportunity, embedded, attended],
            "entry.input",
            vec![int("axis", 2)],
        );
        let entry = self.matmul(ENTRY1, &entry);
        let entry = self.relu(&entry);
        let tiers = self.matmul(ENTRY2, &entry);
        let tiers = self.transpose(&tiers, &[0, 2, 1], "entry.by_tier");
        let entries = self.reshape(&tiers, &[-1, (ENTRY2.output * OPPORTUNITY_SLOTS) as i64], "entries");
        let actor_by_position = self.beside(&actor, MAX_POSITIONS);
        let exit = self.node("Concat", &[&actor_by_position, positions], "exit.input", vec![int("axis", 2)]);
        let exit = self.matmul(EXIT1, &exit);
        let exit = self.relu(&exit);
        let exits = self.matmul(EXIT2, &exit);
        let exits = self.reshape(&exits, &[-1, MAX_POSITIONS as i64], "exits");
        self.node("Concat", &[&hold, &entries, &exits], "actor.logits", vec![int("axis", 1)])
    }

    /// PyTorch's `nn.MultiheadAttention` (batch first, self-attention, no mask) over
    /// `[batch, slots, 40]`: the stacked query/key/value projection, then per head
    /// softmax(q kᵀ / sqrt(10)) v, then the output projection.
    fn attention(&mut self, x: &str) -> String {
        let (slots, heads, head) = (OPPORTUNITY_SLOTS as i64, HEADS as i64, HEAD_DIM as i64);
        // The in_proj weight [120][40] and bias [120] follow each other in PyTorch's order.
        let qkv = self.matmul(ATTENTION_IN, x);
        let split = self.int64s("attn.split", &[MODEL_DIM as i64; 3]);
        let names = ["attn.q", "attn.k", "attn.v"].map(String::from);
        self.nodes.push(pb::NodeProto {
            name: format!("Split_{}", self.nodes.len()),
            op_type: "Split".into(),
            input: vec![qkv, split],
            output: names.to_vec(),
            attribute: vec![int("axis", 2)],
            ..Default::default()
        });
        let heads_of = |g: &mut Self, t: &str, perm: &[i64]| {
            let split = g.reshape(t, &[-1, slots, heads, head], &format!("{t}.heads"));
            g.transpose(&split, perm, &format!("{t}.by_head"))
        };
        let q = heads_of(self, &names[0], &[0, 2, 1, 3]);
        let k = heads_of(self, &names[1], &[0, 2, 3, 1]);
        let v = heads_of(self, &names[2], &[0, 2, 1, 3]);
        let scores = self.node("MatMul", &[&q, &k], "attn.scores", vec![]);
        let scale = self.floats("attn.scale", &[], &[1.0 / (HEAD_DIM as f32).sqrt()]);
        let scaled = self.node("Mul", &[&scores, &scale], "attn.scaled", vec![]);
        let weights = self.node("Softmax", &[&scaled], "attn.weights", vec![int("axis", -1)]);
        let context = self.node("MatMul", &[&weights, &v], "attn.context", vec![]);
        let context = self.transpose(&context, &[0, 2, 1, 3], "attn.context.by_slot");
        let context = self.reshape(&context, &[-1, slots, MODEL_DIM as i64], "attn.context.joined");
        self.matmul(ATTENTION_OUT, &context)
    }
}

/// The network of `architecture` with `parameters` (the table's order, as
/// [`PolicyNet::parameters`]) after the observation's `normalization` (`Sub` of the shift, then
/// `Mul` by the scale, as the engine's converter reads it) as an ONNX model carrying `metadata`
/// besides the contract's versions and the architecture's name.
pub fn onnx_model(
    architecture: Architecture,
    parameters: &[f32],
    normalization: &Normalization,
    metadata: &[(String, String)],
) -> Result<pb::ModelProto> {
    let count = architecture.parameter_count();
    ensure!(
        parameters.len() == count,
        "{} parameters, the {architecture} network has {count}",
        parameters.len()
    );
    let mut g = Graph { nodes: Vec::new(), initializers: Vec::new(), parameters, input: "obs".into() };
    let shift = g.floats("input.shift", &[OBSERVATION_LEN], &normalization.shift);
    let scale = g.floats("input.scale", &[OBSERVATION_LEN], &normalization.scale);
    let shifted = g.node("Sub", &["obs", &shift], "input.shifted", vec![]);
    g.input = g.node("Mul", &[&shifted, &scale], "input.normalized", vec![]);
    let config = g.part("config", 0, PORTFOLIO_OFFSET, None);
    let config = g.gemm(CONFIG, &config);
    let config = g.relu(&config);
    let portfolio = g.part("portfolio", PORTFOLIO_OFFSET, POSITIONS_OFFSET, None);
    let portfolio = g.gemm(PORTFOLIO, &portfolio);
    let portfolio = g.relu(&portfolio);
    let positions = g.part(
        "positions",
        POSITIONS_OFFSET,
        OPPORTUNITIES_OFFSET,
        Some(&[-1, MAX_POSITIONS as i64, POSITION_WIDTH as i64]),
    );
    let positions = g.matmul(POSITION, &positions);
    let each_position = g.relu(&positions);
    let positions =
        g.node("ReduceMax", &[&each_position], "pos.max", vec![ints("axes", &[1]), int("keepdims", 0)]);
    let slots = g.part(
        "opportunities",
        OPPORTUNITIES_OFFSET,
        OBSERVATION_LEN,
        Some(&[-1, OPPORTUNITY_SLOTS as i64, OPPORTUNITY_WIDTH as i64]),
    );
    let embedded = g.matmul(OPPORTUNITY, &slots);
    let embedded = g.relu(&embedded);
    let attended = g.attention(&embedded);
    let pooled = g.node("ReduceMean", &[&attended], "opp.mean", vec![ints("axes", &[1]), int("keepdims", 0)]);
    let opportunities = g.gemm(OPPORTUNITY_OUT, &pooled);
    let opportunities = g.relu(&opportunities);
    let fused =
        g.node("Concat", &[&config, &portfolio, &positions, &opportunities], "fused", vec![int("axis", 1)]);
    let hidden = g.gemm(FUSION1, &fused);
    let hidden = g.layer_norm(NORM1, &hidden);
    let hidden = g.relu(&hidden);
    let hidden = g.gemm(FUSION2, &hidden);
    let hidden = g.layer_norm(NORM2, &hidden);
    let hidden = g.relu(&hidden);
    let logits = match architecture {
        Architecture::Plan => {
            let h = g.gemm(ACTOR1, &hidden);
            let h = g.relu(&h);
            g.gemm(ACTOR2, &h)
        }
        Architecture::Pointer => g.pointer_actor(&hidden, &embedded, &attended, &each_position),
    };
    g.node("Identity", &[&logits], "logits", vec![]);
    let h = g.gemm(CRITIC1, &hidden);
    let h = g.relu(&h);
    let value = g.gemm(CRITIC2, &h);
    g.node("Identity", &[&value], "value", vec![]);
    ensure!(g.parameters.is_empty(), "{} parameters left over", g.parameters.len());

    let mut props = vec![
        (OBSERVATION_VERSION_KEY.to_string(), OBSERVATION_VERSION.to_string()),
        (ACTION_VERSION_KEY.to_string(), ACTION_VERSION.to_string()),
        (ARCHITECTURE_KEY.to_string(), architecture.name().to_string()),
        ("arbpolicy.engine_version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
    ];
    props.extend(metadata.iter().cloned());
    Ok(pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "arbpolicy".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(pb::GraphProto {
            name: "arbpolicy".into(),
            node: g.nodes,
            initializer: g.initializers,
            input: vec![tensor_info("obs", &[None, Some(OBSERVATION_LEN as i64)])],
            output: vec![
                tensor_info("logits", &[None, Some(ACTION_COUNT as i64)]),
                tensor_info("value", &[None, Some(1)]),
            ],
            ..Default::default()
        }),
        metadata_props: props
            .into_iter()
            .map(|(key, value)| pb::StringStringEntryProto { key, value })
            .collect(),
        ..Default::default()
    })
}

/// How far apart two outputs are (the engine's rule, which its conversion check applies too).
pub use arbpolicy_core::policy::network::difference;

/// The largest [`difference`] between `net`'s outputs and `model`'s on `observations` (row after
/// row).
pub fn parity(net: &PolicyNet, model: &OnnxModel, observations: &[f32]) -> Result<f32> {
    let n = observations.len() / OBSERVATION_LEN;
    let (logits, values) = net.outputs(observations);
    // The exported model takes no mask: what is fed beside the observations does not matter.
    let masks = vec![ActionMask::hold_only(); n];
    let outputs = model.forward_batch(observations, &masks)?;
    let mut worst = 0.0f32;
    for (i, out) in outputs.iter().enumerate() {
        for (&a, &b) in out.logits.iter().zip(&logits[i * ACTION_COUNT..(i + 1) * ACTION_COUNT]) {
            worst = worst.max(difference(a, b));
        }
        worst = worst.max(difference(out.value, values[i]));
    }
    Ok(worst)
}

/// What [`export`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// The ONNX file.
    pub onnx: PathBuf,
    /// The native weights artifact beside it.
    pub native: PathBuf,
    /// The largest difference between the network and the file, as tract runs it.
    pub parity: f32,
}

/// Write `net` as the ONNX file `path` (and the native artifact beside it, `.arbpnet`), after checking
/// that tract runs it within [`PARITY_TOLERANCE`] of `net` on `observations` (row after row) and
/// that the engine reads back the same weights.
pub fn export(
    net: &PolicyNet,
    path: &Path,
    metadata: &[(String, String)],
    observations: &[f32],
) -> Result<Exported> {
    let parameters = net.parameters();
    let normalization = net.normalization();
    let bytes = onnx_model(net.architecture(), &parameters, &normalization, metadata)?.encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes).context("the engine refuses the exported model")?;
    let parity = parity(net, &model, observations)?;
    ensure!(parity <= PARITY_TOLERANCE, "the exported model differs from the network by {parity}");
    let network = model.to_native()?;
    ensure!(
        network.parameters() == parameters,
        "the exported model's weights do not read back as the network's"
    );
    ensure!(*network.input() == normalization, "the exported model's normalisation does not read back");
    std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    let native = path.with_extension("arbpnet");
    // The weights read back from the graph are the network's (checked above): they are the artifact.
    std::fs::write(&native, network.to_artifact())
        .with_context(|| format!("cannot write {}", native.display()))?;
    Ok(Exported { onnx: path.to_path_buf(), native, parity })
}
