//! ONNX models run through tract: one model shared by all threads, a session per thread.

use super::contract::{MaskInput, check_declared, check_io, check_versions, elem_type};
use super::{ModelError, convert, pb, runtime};
use crate::action::{ACTION_COUNT, ActionMask};
use crate::observation::{OBSERVATION_LEN, Observation};
use crate::policy::native::Native;
use crate::policy::network::{Output, difference};
use crate::policy::normalization::Normalization;
use prost::Message;
use std::format;
use std::string::ToString;
use std::vec;
use std::vec::Vec;
use tract::prelude::*;

/// Made-up observations on which [`OnnxModel::to_native`] checks its conversion: uniform in
/// [-2, 2] once the model's own normalisation has applied (a feature the normalisation scales up
/// a thousandfold is probed a thousand times closer to its shift, as recorded values are).
pub const PROBES: usize = 8;
/// How far the converted network may be from tract on them.
pub const NATIVE_TOLERANCE: f32 = 1e-4;

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
        Self::from_bytes(&super::read(path.as_ref())?)
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
    /// The network's weights as a native network ([`convert`]), checked against tract: on
    /// [`PROBES`] made-up observations the two agree within [`NATIVE_TOLERANCE`] (absolutely up to
    /// 1 in size, relatively beyond), or the graph is refused as computing something else.
    pub fn to_native(&self) -> Result<Native, ModelError> {
        let native = convert(&self.proto)?;
        let obs = probes(native.input());
        let masks = vec![ActionMask::hold_only(); PROBES];
        let tract = self.forward_batch(&obs, &masks)?;
        for (row, t) in obs.chunks_exact(OBSERVATION_LEN).zip(&tract) {
            let n = native.forward(row.try_into().expect("one observation"));
            let worst = n
                .logits
                .iter()
                .zip(&t.logits)
                .map(|(&a, &b)| difference(a, b))
                .fold(difference(n.value, t.value), f32::max);
            if !(worst <= NATIVE_TOLERANCE) {
                return Err(ModelError::Architecture(format!(
                    "the {} network read from the graph differs from what tract computes by {worst:e}",
                    native.architecture()
                )));
            }
        }
        Ok(native)
    }
}

/// [`PROBES`] observations, laid end to end, that `input` maps to uniform values in [-2, 2] (a
/// feature it zeroes is drawn in [-2, 2] itself).
fn probes(input: &Normalization) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..PROBES * OBSERVATION_LEN)
        .map(|k| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let u = ((state >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0;
            let (shift, scale) = (input.shift[k % OBSERVATION_LEN], input.scale[k % OBSERVATION_LEN]);
            shift + if scale != 0.0 { u / scale } else { u }
        })
        .collect()
}

impl crate::policy::decision::Policy for OnnxSession {
    fn evaluate(
        &mut self,
        observation: &Observation,
        mask: ActionMask,
    ) -> Result<Output, crate::policy::decision::PolicyFailure> {
        self.forward(observation, mask).map_err(|_| crate::policy::decision::PolicyFailure)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_span_the_normalised_inputs_whatever_the_scales() {
        let mut input = Normalization::IDENTITY;
        (input.shift[3], input.scale[3]) = (2e-4, 1e4);
        (input.shift[4], input.scale[4]) = (9.0, -0.5);
        input.scale[5] = 0.0;
        let probes = probes(&input);
        let mut widest = [0.0f32; OBSERVATION_LEN];
        for row in probes.chunks_exact(OBSERVATION_LEN) {
            let normalised = input.apply(row.try_into().unwrap());
            for ((w, &n), &raw) in widest.iter_mut().zip(&normalised).zip(row) {
                assert!(n.abs() <= 2.0 + 1e-3, "{n}");
                *w = w.max(n.abs());
                assert!(raw.abs() <= 20.0, "{raw}");
            }
        }
        // Every feature the model reads is probed across the range, the scaled-up one too.
        assert_eq!(widest[5], 0.0);
        assert!(widest.iter().enumerate().all(|(i, &w)| i == 5 || w > 0.5), "{widest:?}");
        assert!(probes.chunks_exact(OBSERVATION_LEN).all(|r| (r[3] - 2e-4).abs() <= 2.0e-4 + 1e-9));
    }
}
