//! ONNX models: the model contract (`docs/model-contract.md`), running through tract, and
//! conversion of the network's weights into the native [`Network`].

use super::network::{Network, Output};
use super::normalization::Normalization;
use crate::action::{ACTION_COUNT, ACTION_VERSION, ActionMask};
use crate::observation::{OBSERVATION_LEN, OBSERVATION_VERSION, Observation};
pub use prost::Message;
use std::collections::HashMap;
use std::fmt;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};
use tract::prelude::*;
/// ONNX's protobuf types (from tract), for reading and writing model files.
pub use tract_onnx::pb;

/// Metadata key naming the observation version a model was trained on.
pub const OBSERVATION_VERSION_KEY: &str = "arbpolicy.observation_version";
/// Metadata key naming the action-space version a model was trained on.
pub const ACTION_VERSION_KEY: &str = "arbpolicy.action_version";

/// Why a model was refused or failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// The bytes are not an ONNX model.
    NotOnnx(String),
    /// The model's inputs or outputs do not follow the contract.
    Contract(String),
    /// The model declares an observation or action-space version the engine does not speak.
    Version {
        /// Which version.
        what: &'static str,
        /// The engine's.
        expected: u32,
        /// The model's.
        found: String,
    },
    /// The graph is not the plan's network, so it cannot be converted to native weights.
    Architecture(String),
    /// tract failed to load or run the model.
    Runtime(String),
    /// A native weights artifact was refused (truncated, bad checksum, other versions).
    Artifact(crate::Error),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::NotOnnx(e) => write!(f, "not an ONNX model: {e}"),
            ModelError::Contract(e) => write!(f, "the model does not follow the model contract: {e}"),
            ModelError::Version { what, expected, found } => {
                write!(f, "the model declares {what} {found}, this engine speaks {expected}")
            }
            ModelError::Architecture(e) => write!(f, "not the plan's network: {e}"),
            ModelError::Runtime(e) => write!(f, "tract: {e}"),
            ModelError::Artifact(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ModelError {}

fn runtime(e: impl fmt::Display) -> ModelError {
    ModelError::Runtime(format!("{e:#}"))
}

/// How the model takes the action mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskInput {
    /// The model has no mask input.
    None,
    /// `action_mask` as bool.
    Bool,
    /// `action_mask` as float32, 1.0 = valid.
    Float,
}

/// A loaded ONNX policy. Shared by all threads (`Send + Sync`); each thread runs it through its own
/// [`OnnxSession`].
#[derive(Debug)]
pub struct OnnxModel {
    single: Runnable,
    batched: Runnable,
    io: Io,
    proto: pb::ModelProto,
}

/// Where the model's inputs and outputs are.
#[derive(Debug, Clone, Copy)]
struct Io {
    mask: MaskInput,
    logits: usize,
    value: usize,
}

/// One thread's session over an [`OnnxModel`], reusing tract's state between calls. It owns what it
/// runs, so it may outlive the model it came from.
#[derive(Debug)]
pub struct OnnxSession {
    io: Io,
    state: State,
}

impl OnnxModel {
    /// Load a model from a file.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path.as_ref())
            .map_err(|e| ModelError::NotOnnx(format!("cannot read {}: {e}", path.as_ref().display())))?;
        Self::from_bytes(&bytes)
    }

    /// Load a model from bytes, checking it against the model contract.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let proto = pb::ModelProto::decode(bytes).map_err(|e| ModelError::NotOnnx(e.to_string()))?;
        let graph = proto.graph.as_ref().ok_or_else(|| ModelError::NotOnnx("no graph".into()))?;
        if graph.node.is_empty() {
            return Err(ModelError::NotOnnx("the graph has no nodes".into()));
        }
        check_versions(&proto)?;
        let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<&pb::ValueInfoProto> =
            graph.input.iter().filter(|i| !initializers.contains(&i.name.as_str())).collect();
        let mask = match inputs.as_slice() {
            [_] => MaskInput::None,
            [_, m] => match elem_type(m) {
                Some(pb::tensor_proto::DataType::Bool) => MaskInput::Bool,
                Some(pb::tensor_proto::DataType::Float) => MaskInput::Float,
                other => {
                    return Err(ModelError::Contract(format!(
                        "input {} must be bool or float32 [batch, 36], found {other:?}",
                        m.name
                    )));
                }
            },
            other => {
                return Err(ModelError::Contract(format!(
                    "expected inputs obs [batch, 275] and optionally action_mask [batch, 36], found {} inputs",
                    other.len()
                )));
            }
        };
        check_declared(inputs[0], "input obs", OBSERVATION_LEN)?;
        if let Some(m) = inputs.get(1) {
            check_declared(m, "input action_mask", ACTION_COUNT)?;
        }
        let output_names: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        if output_names.len() < 2 {
            return Err(ModelError::Contract(format!(
                "expected outputs logits [batch, 36] and value [batch, 1], found {output_names:?}"
            )));
        }
        let find =
            |name: &str, fallback: usize| output_names.iter().position(|n| *n == name).unwrap_or(fallback);
        let (logits, value) = (find("logits", 0), find("value", 1));

        let model = tract::onnx().map_err(runtime)?.load_buffer(bytes).map_err(runtime)?;
        let model = model.into_model().map_err(runtime)?;
        check_io(&model, mask, logits, value, None)?;
        let batch = model.input_fact(0).map_err(runtime)?.dim(0).map_err(runtime)?;
        let mut single = model.clone();
        if batch.to_int64().is_err() {
            single.transform(SetSymbols::new().value(batch.to_string(), 1)).map_err(runtime)?;
        }
        check_io(&single, mask, logits, value, Some(1))?;
        Ok(OnnxModel {
            single: single.into_runnable().map_err(runtime)?,
            batched: model.into_runnable().map_err(runtime)?,
            io: Io { mask, logits, value },
            proto,
        })
    }

    /// How the model takes the action mask.
    pub fn mask_input(&self) -> MaskInput {
        self.io.mask
    }

    /// A session for the calling thread.
    pub fn session(&self) -> Result<OnnxSession, ModelError> {
        Ok(OnnxSession { io: self.io, state: self.single.spawn_state().map_err(runtime)? })
    }

    /// Run a batch of observations (`obs.len()` = 275 x n, `masks.len()` = n) in one call.
    pub fn forward_batch(&self, obs: &[f32], masks: &[ActionMask]) -> Result<Vec<Output>, ModelError> {
        let n = masks.len();
        if obs.len() != n * OBSERVATION_LEN {
            return Err(ModelError::Contract(format!(
                "{} observation values for {n} masks, expected {}",
                obs.len(),
                n * OBSERVATION_LEN
            )));
        }
        let inputs = self.io.inputs(obs, masks)?;
        let outputs = self.batched.run(inputs).map_err(runtime)?;
        self.io.outputs(&outputs, n)
    }
}

impl Io {
    fn inputs(&self, obs: &[f32], masks: &[ActionMask]) -> Result<Vec<Tensor>, ModelError> {
        let n = masks.len();
        let mut inputs = vec![Tensor::from_slice(&[n, OBSERVATION_LEN], obs).map_err(runtime)?];
        let bits = || masks.iter().flat_map(|m| m.to_bools());
        match self.mask {
            MaskInput::None => {}
            MaskInput::Bool => {
                let b: Vec<bool> = bits().collect();
                inputs.push(Tensor::from_slice(&[n, ACTION_COUNT], &b).map_err(runtime)?);
            }
            MaskInput::Float => {
                let f: Vec<f32> = bits().map(|b| if b { 1.0 } else { 0.0 }).collect();
                inputs.push(Tensor::from_slice(&[n, ACTION_COUNT], &f).map_err(runtime)?);
            }
        }
        Ok(inputs)
    }

    fn outputs(&self, outputs: &[Tensor], n: usize) -> Result<Vec<Output>, ModelError> {
        let logits = outputs[self.logits].as_slice::<f32>().map_err(runtime)?;
        let value = outputs[self.value].as_slice::<f32>().map_err(runtime)?;
        if logits.len() != n * ACTION_COUNT || value.len() != n {
            return Err(ModelError::Contract(format!(
                "outputs hold {} logits and {} values for a batch of {n}",
                logits.len(),
                value.len()
            )));
        }
        Ok((0..n)
            .map(|i| Output {
                logits: logits[i * ACTION_COUNT..(i + 1) * ACTION_COUNT].try_into().expect("36 logits"),
                value: value[i],
            })
            .collect())
    }
}

impl OnnxModel {
    /// The network's weights as a native [`Network`], read from the graph's structure.
    pub fn to_native(&self) -> Result<std::boxed::Box<Network>, ModelError> {
        convert(&self.proto)
    }
}

impl super::decision::Policy for OnnxSession {
    fn evaluate(
        &mut self,
        observation: &Observation,
        mask: ActionMask,
    ) -> Result<Output, super::decision::PolicyFailure> {
        self.forward(observation, mask).map_err(|_| super::decision::PolicyFailure)
    }
}

impl OnnxSession {
    /// Logits and value for one observation (the mask is fed when the model takes it).
    pub fn forward(&mut self, obs: &Observation, mask: ActionMask) -> Result<Output, ModelError> {
        let inputs = self.io.inputs(obs, &[mask])?;
        let outputs = self.state.run(inputs).map_err(runtime)?;
        Ok(self.io.outputs(&outputs, 1)?.remove(0))
    }
}

fn elem_type(v: &pb::ValueInfoProto) -> Option<pb::tensor_proto::DataType> {
    let pb::type_proto::Value::TensorType(t) = v.r#type.as_ref()?.value.as_ref()?;
    pb::tensor_proto::DataType::try_from(t.elem_type).ok()
}

/// Check the shape a graph input declares, before tract analyses the graph: rank 2, the second
/// dimension `width` (the first is the batch).
fn check_declared(v: &pb::ValueInfoProto, what: &str, width: usize) -> Result<(), ModelError> {
    let pb::type_proto::Value::TensorType(t) = v
        .r#type
        .as_ref()
        .and_then(|t| t.value.as_ref())
        .ok_or_else(|| ModelError::Contract(format!("{what} ({}) declares no tensor type", v.name)))?;
    let Some(shape) = t.shape.as_ref() else { return Ok(()) };
    let dims: Vec<String> = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(n)) => n.to_string(),
            Some(pb::tensor_shape_proto::dimension::Value::DimParam(p)) => p.clone(),
            None => "?".to_string(),
        })
        .collect();
    if dims.len() != 2 || dims[1] != width.to_string() {
        return Err(ModelError::Contract(format!(
            "{what} ({}): expected [batch, {width}], found [{}]",
            v.name,
            dims.join(", ")
        )));
    }
    Ok(())
}

fn check_versions(proto: &pb::ModelProto) -> Result<(), ModelError> {
    for (key, what, expected) in [
        (OBSERVATION_VERSION_KEY, "observation version", OBSERVATION_VERSION),
        (ACTION_VERSION_KEY, "action-space version", ACTION_VERSION),
    ] {
        if let Some(entry) = proto.metadata_props.iter().find(|e| e.key == key)
            && entry.value.trim().parse::<u32>() != Ok(expected)
        {
            return Err(ModelError::Version { what, expected, found: entry.value.clone() });
        }
    }
    Ok(())
}

/// Check input and output shapes: `obs` f32 [batch, 275], the mask [batch, 36], `logits` f32
/// [batch, 36], `value` f32 [batch, 1]; `batch` symbolic, or `Some(n)` once bound.
fn check_io(
    model: &Model,
    mask: MaskInput,
    logits: usize,
    value: usize,
    batch: Option<i64>,
) -> Result<(), ModelError> {
    let shape = |fact: Fact| -> Result<(DatumType, Vec<Option<i64>>), ModelError> {
        let dims = fact.dims().map_err(runtime)?.map(|d| d.to_int64().ok()).collect();
        Ok((fact.datum_type().map_err(runtime)?, dims))
    };
    let expect = |what: &str, fact: Fact, types: &[DatumType], width: i64| -> Result<(), ModelError> {
        let (dt, dims) = shape(fact)?;
        let batch_ok = dims.first().is_some_and(|b| batch.is_none() || *b == batch);
        if !types.contains(&dt) || dims.len() != 2 || !batch_ok || dims[1] != Some(width) {
            let fmt_dims: Vec<String> =
                dims.iter().map(|d| d.map_or("batch".to_string(), |v| v.to_string())).collect();
            return Err(ModelError::Contract(format!(
                "{what}: expected {types:?} [batch, {width}], found {dt:?} [{}]",
                fmt_dims.join(", ")
            )));
        }
        Ok(())
    };
    expect("input obs", model.input_fact(0).map_err(runtime)?, &[DatumType::F32], OBSERVATION_LEN as i64)?;
    if mask != MaskInput::None {
        expect(
            "input action_mask",
            model.input_fact(1).map_err(runtime)?,
            &[DatumType::Bool, DatumType::F32],
            ACTION_COUNT as i64,
        )?;
    }
    expect(
        "output logits",
        model.output_fact(logits).map_err(runtime)?,
        &[DatumType::F32],
        ACTION_COUNT as i64,
    )?;
    expect("output value", model.output_fact(value).map_err(runtime)?, &[DatumType::F32], 1)
}

/// A weight matrix `[out][in]` with its bias, read from one Gemm or MatMul(+Add) node.
struct Layer {
    out: usize,
    inp: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
    input: String,
    output: String,
}

fn tensor_f32(t: &pb::TensorProto) -> Option<(Vec<usize>, Vec<f32>)> {
    if t.data_type != pb::tensor_proto::DataType::Float as i32 {
        return None;
    }
    let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
    let data = if !t.raw_data.is_empty() {
        t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
    } else {
        t.float_data.clone()
    };
    (data.len() == dims.iter().product::<usize>()).then_some((dims, data))
}

fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| data[r * cols + c])).collect()
}

/// Read the plan's network out of an ONNX graph by its structure: every fully connected layer
/// (Gemm, or MatMul with a constant weight and an optional Add of a constant bias) and both
/// LayerNormalization nodes, matched to the network's layers by their shapes; the two 64 -> 32
/// layers are told apart by which head (36 logits or 1 value) follows them.
pub fn convert(proto: &pb::ModelProto) -> Result<std::boxed::Box<Network>, ModelError> {
    let arch = |m: String| ModelError::Architecture(m);
    let graph = proto.graph.as_ref().ok_or_else(|| arch("no graph".into()))?;
    let mut constants: HashMap<&str, (Vec<usize>, Vec<f32>)> = HashMap::new();
    for t in &graph.initializer {
        if let Some(v) = tensor_f32(t) {
            constants.insert(t.name.as_str(), v);
        }
    }
    for n in graph.node.iter().filter(|n| n.op_type == "Constant") {
        if let (Some(out), Some(t)) = (n.output.first(), attr(n, "value").and_then(|a| a.t.as_ref()))
            && let Some(v) = tensor_f32(t)
        {
            constants.insert(out.as_str(), v);
        }
    }
    fn consumers<'g>(graph: &'g pb::GraphProto, tensor: &'g str) -> impl Iterator<Item = &'g pb::NodeProto> {
        graph.node.iter().filter(move |n| n.input.iter().any(|i| i == tensor))
    }

    let mut layers: Vec<Layer> = Vec::new();
    let mut norms: Vec<(usize, Vec<f32>, Vec<f32>)> = Vec::new();
    for n in &graph.node {
        match n.op_type.as_str() {
            "Gemm" => {
                let Some((dims, w)) = n.input.get(1).and_then(|b| constants.get(b.as_str())) else {
                    continue;
                };
                let trans = |k| attr(n, k).map_or(0, |a| a.i);
                let scale = |k| attr(n, k).map_or(1.0, |a| a.f);
                if dims.len() != 2 || trans("transA") != 0 || scale("alpha") != 1.0 || scale("beta") != 1.0 {
                    return Err(arch(format!("unsupported Gemm {}", n.name)));
                }
                let (out, inp, weight) = if trans("transB") == 1 {
                    (dims[0], dims[1], w.clone())
                } else {
                    (dims[1], dims[0], transpose(w, dims[0], dims[1]))
                };
                let bias = match n.input.get(2).filter(|c| !c.is_empty()) {
                    Some(c) => constants
                        .get(c.as_str())
                        .map(|(_, b)| b.clone())
                        .ok_or_else(|| arch(format!("Gemm {} bias is not constant", n.name)))?,
                    None => vec![0.0; out],
                };
                layers.push(Layer {
                    out,
                    inp,
                    weight,
                    bias,
                    input: n.input[0].clone(),
                    output: n.output[0].clone(),
                });
            }
            "MatMul" => {
                let Some((dims, w)) = n.input.get(1).and_then(|b| constants.get(b.as_str())) else {
                    continue;
                };
                if dims.len() != 2 {
                    continue;
                }
                let (inp, out) = (dims[0], dims[1]);
                let mut output = n.output[0].clone();
                let mut bias = vec![0.0; out];
                let add = consumers(graph, &n.output[0]).find(|c| c.op_type == "Add");
                if let Some(add) = add
                    && let Some(b) =
                        add.input.iter().find(|i| **i != n.output[0]).and_then(|i| constants.get(i.as_str()))
                    && b.1.len() == out
                {
                    bias = b.1.clone();
                    output = add.output[0].clone();
                }
                layers.push(Layer {
                    out,
                    inp,
                    weight: transpose(w, inp, out),
                    bias,
                    input: n.input[0].clone(),
                    output,
                });
            }
            "LayerNormalization" => {
                let eps = attr(n, "epsilon").map_or(1e-5, |a| a.f);
                if (eps - super::network::LAYER_NORM_EPSILON).abs() > 1e-9 {
                    return Err(arch(format!(
                        "LayerNormalization {} has epsilon {eps}, expected 1e-5",
                        n.name
                    )));
                }
                let get =
                    |k: usize| n.input.get(k).and_then(|s| constants.get(s.as_str())).map(|(_, v)| v.clone());
                let gamma = get(1)
                    .ok_or_else(|| arch(format!("LayerNormalization {} scale is not constant", n.name)))?;
                let beta = get(2).unwrap_or_else(|| vec![0.0; gamma.len()]);
                norms.push((gamma.len(), gamma, beta));
            }
            _ => {}
        }
    }

    // The tensor a layer's ReLU feeds: the consumer layer's input.
    let after_relu = |layer: &Layer| -> Option<String> {
        consumers(graph, &layer.output).find(|c| c.op_type == "Relu").map(|r| r.output[0].clone())
    };
    let pick = |out: usize, inp: usize, head: Option<usize>| -> Result<&Layer, ModelError> {
        let mut found = layers.iter().filter(|l| l.out == out && l.inp == inp).filter(|l| match head {
            None => true,
            Some(h) => after_relu(l)
                .is_some_and(|t| layers.iter().any(|n| n.out == h && n.inp == out && n.input == t)),
        });
        let first = found.next().ok_or_else(|| arch(format!("no {inp} -> {out} layer")))?;
        if found.next().is_some() {
            return Err(arch(format!("more than one {inp} -> {out} layer")));
        }
        Ok(first)
    };
    let norm = |size: usize| -> Result<&(usize, Vec<f32>, Vec<f32>), ModelError> {
        let mut found = norms.iter().filter(|n| n.0 == size);
        let first = found.next().ok_or_else(|| arch(format!("no LayerNormalization over {size}")))?;
        if found.next().is_some() {
            return Err(arch(format!("more than one LayerNormalization over {size}")));
        }
        Ok(first)
    };

    // The parameters in PyTorch's order, then loaded into the network in that order.
    let mut order: Vec<f32> = Vec::with_capacity(super::network::PARAMETER_COUNT);
    fn linear(order: &mut Vec<f32>, l: &Layer) {
        order.extend_from_slice(&l.weight);
        order.extend_from_slice(&l.bias);
    }
    let encoders = [(16, 5), (32, 10), (24, 12), (40, 20), (120, 40), (40, 40), (64, 40), (128, 136)];
    for (out, inp) in encoders {
        let head = None;
        linear(&mut order, pick(out, inp, head)?);
    }
    let (_, g1, b1) = norm(128)?;
    order.extend_from_slice(g1);
    order.extend_from_slice(b1);
    linear(&mut order, pick(64, 128, None)?);
    let (_, g2, b2) = norm(64)?;
    order.extend_from_slice(g2);
    order.extend_from_slice(b2);
    for (out, inp, head) in [(32, 64, Some(36)), (36, 32, None), (32, 64, Some(1)), (1, 32, None)] {
        linear(&mut order, pick(out, inp, head)?);
    }
    if order.len() != super::network::PARAMETER_COUNT {
        return Err(arch(format!(
            "found {} parameters, expected {}",
            order.len(),
            super::network::PARAMETER_COUNT
        )));
    }
    if order.iter().any(|v| !v.is_finite()) {
        return Err(arch("a weight is not finite".into()));
    }
    let mut network = std::boxed::Box::new(Network::ZERO);
    let mut it = order.into_iter();
    network.set_parameters(|| it.next().expect("counted above"));
    if let Some(input) = normalization(graph, &constants)? {
        network.input = input;
    }
    Ok(network)
}

/// The normalisation a graph starts with: the observation input feeding `Sub` of a constant shift
/// of 275 values, whose result feeds `Mul` by a constant scale of 275 values (the layout
/// `arbpolicy train` exports). `None` when the observation feeds the network directly.
fn normalization(
    graph: &pb::GraphProto,
    constants: &HashMap<&str, (Vec<usize>, Vec<f32>)>,
) -> Result<Option<Normalization>, ModelError> {
    let arch = |m: &str| ModelError::Architecture(m.into());
    let Some(obs) = graph.input.first().map(|i| i.name.as_str()) else {
        return Ok(None);
    };
    let constant_of = |n: &pb::NodeProto, other: &str| {
        n.input.iter().find(|i| i.as_str() != other).and_then(|i| constants.get(i.as_str()))
    };
    let Some(sub) =
        graph.node.iter().find(|n| n.op_type == "Sub" && n.input.first().is_some_and(|i| i == obs))
    else {
        return Ok(None);
    };
    let shift = constant_of(sub, obs).ok_or_else(|| arch("the input's Sub has no constant shift"))?;
    let out = sub.output.first().ok_or_else(|| arch("the input's Sub has no output"))?;
    let mul = graph
        .node
        .iter()
        .find(|n| n.op_type == "Mul" && n.input.iter().any(|i| i == out))
        .ok_or_else(|| arch("the input's Sub is not followed by Mul"))?;
    let scale = constant_of(mul, out).ok_or_else(|| arch("the input's Mul has no constant scale"))?;
    if shift.1.len() != OBSERVATION_LEN || scale.1.len() != OBSERVATION_LEN {
        return Err(arch("the input's shift and scale must have 275 values each"));
    }
    let mut n = Normalization::IDENTITY;
    n.shift.copy_from_slice(&shift.1);
    n.scale.copy_from_slice(&scale.1);
    if !n.is_finite() {
        return Err(arch("the input's normalisation is not finite"));
    }
    Ok(Some(n))
}
