//! A network read out of an ONNX graph into a native one ([`Native`]): its architecture from the
//! metadata ([`ARCHITECTURE_KEY`], the plan's when absent); the plan's network by its structure,
//! the layers of [`architecture`](crate::policy::architecture) looked for by their shapes (so a
//! PyTorch export of it converts whatever its tensors are called); the pointer network, which only
//! `arbpolicy train` writes, by its tensors' names.

use super::contract::ARCHITECTURE_KEY;
use super::{ModelError, pb};
use crate::observation::OBSERVATION_LEN;
use crate::policy::architecture::{Architecture, LAYER_NORM_EPSILON, LAYERS, LayerKind, PARAMETER_COUNT};
use crate::policy::native::Native;
use crate::policy::normalization::Normalization;
use std::collections::HashMap;
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

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

type Constants<'g> = HashMap<&'g str, (Vec<usize>, Vec<f32>)>;

/// The architecture an ONNX model declares in its metadata, the plan's when it declares none.
pub fn architecture(proto: &pb::ModelProto) -> Result<Architecture, ModelError> {
    match proto.metadata_props.iter().find(|e| e.key == ARCHITECTURE_KEY) {
        None => Ok(Architecture::Plan),
        Some(e) => Architecture::from_name(&e.value)
            .ok_or_else(|| ModelError::Architecture(format!("unknown architecture {:?}", e.value))),
    }
}

/// Read the network out of an ONNX graph, of the architecture it declares, with the
/// normalisation it starts with (the identity when it has none).
pub fn convert(proto: &pb::ModelProto) -> Result<Native, ModelError> {
    let arch = |m: String| ModelError::Architecture(m);
    let graph = proto.graph.as_ref().ok_or_else(|| arch("no graph".into()))?;
    let mut constants: Constants = HashMap::new();
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
    let architecture = architecture(proto)?;
    let order = match architecture {
        Architecture::Plan => plan_by_structure(graph, &constants)?,
        Architecture::Pointer => by_name(architecture, &constants)?,
    };
    if order.iter().any(|v| !v.is_finite()) {
        return Err(arch("a weight is not finite".into()));
    }
    let input = normalization(graph, &constants)?.unwrap_or(Normalization::IDENTITY);
    Native::from_parameters(architecture, &order, input).ok_or_else(|| {
        arch(format!("found {} parameters, expected {}", order.len(), architecture.parameter_count()))
    })
}

/// Every parameter of `architecture`, in its table's order, from the tensors `arbpolicy train`
/// names after the layers: a Gemm's `{layer}.weight` `[out, in]` or a MatMul's
/// `{layer}.weight_t` `[in, out]`, then `{layer}.bias`; a layer norm's `{layer}.weight` and
/// `{layer}.bias`.
fn by_name(architecture: Architecture, constants: &Constants) -> Result<Vec<f32>, ModelError> {
    let arch = |m: String| ModelError::Architecture(m);
    let mut order = Vec::with_capacity(architecture.parameter_count());
    for layer in architecture.layers() {
        let get = |suffix: &str| constants.get(format!("{}.{suffix}", layer.name).as_str());
        let shaped = |suffix: &str, dims: &[usize]| {
            get(suffix).filter(|(d, _)| d == dims).map(|(_, v)| v.as_slice()).ok_or_else(|| {
                arch(format!("no tensor {}.{suffix} of shape {dims:?} ({architecture} network)", layer.name))
            })
        };
        match layer.kind {
            LayerKind::Linear => {
                let (out, inp) = (layer.output, layer.input);
                match get("weight") {
                    Some(_) => order.extend_from_slice(shaped("weight", &[out, inp])?),
                    None => order.extend(transpose(shaped("weight_t", &[inp, out])?, inp, out)),
                }
                order.extend_from_slice(shaped("bias", &[out])?);
            }
            LayerKind::LayerNorm => {
                order.extend_from_slice(shaped("weight", &[layer.output])?);
                order.extend_from_slice(shaped("bias", &[layer.output])?);
            }
        }
    }
    Ok(order)
}

/// Every parameter of the plan's network, in the table's order, read by the graph's structure:
/// every fully connected layer (Gemm, or MatMul with a constant weight and an optional Add of a
/// constant bias) and both LayerNormalization nodes, matched to the table's layers by their
/// shapes; the two 64 -> 32 layers are told apart by which head (36 logits or 1 value) follows
/// them.
fn plan_by_structure(graph: &pb::GraphProto, constants: &Constants) -> Result<Vec<f32>, ModelError> {
    let arch = |m: String| ModelError::Architecture(m);
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
                if (eps - LAYER_NORM_EPSILON).abs() > 1e-9 {
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

    // The parameters in the table's order, then loaded into the network in that order. Layers of
    // one shape are told apart by the layer after them in the table, which their ReLU feeds.
    let mut order: Vec<f32> = Vec::with_capacity(PARAMETER_COUNT);
    for (i, layer) in LAYERS.iter().enumerate() {
        match layer.kind {
            LayerKind::Linear => {
                let alike = LAYERS
                    .iter()
                    .filter(|l| (l.kind, l.input, l.output) == (layer.kind, layer.input, layer.output));
                let head = if alike.count() > 1 { LAYERS.get(i + 1).map(|next| next.output) } else { None };
                let l = pick(layer.output, layer.input, head)?;
                order.extend_from_slice(&l.weight);
                order.extend_from_slice(&l.bias);
            }
            LayerKind::LayerNorm => {
                let (_, gamma, beta) = norm(layer.output)?;
                order.extend_from_slice(gamma);
                order.extend_from_slice(beta);
            }
        }
    }
    Ok(order)
}

/// The normalisation a graph starts with: the observation input feeding `Sub` of a constant shift
/// of 275 values, whose result feeds `Mul` by a constant scale of 275 values (the layout
/// `arbpolicy train` exports). `None` when the observation feeds the network directly.
fn normalization(graph: &pb::GraphProto, constants: &Constants) -> Result<Option<Normalization>, ModelError> {
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
