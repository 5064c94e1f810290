//! What the engine requires of an ONNX model's graph before it runs it: the inputs, outputs and
//! versions of `docs/model-contract.md`.

use super::{ModelError, pb, runtime};
use crate::action::{ACTION_COUNT, ACTION_VERSION};
use crate::observation::{OBSERVATION_LEN, OBSERVATION_VERSION};
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;
use tract::prelude::*;

/// Metadata key naming the observation version a model was trained on.
pub const OBSERVATION_VERSION_KEY: &str = "arbpolicy.observation_version";
/// Metadata key naming the action-space version a model was trained on.
pub const ACTION_VERSION_KEY: &str = "arbpolicy.action_version";
/// Metadata key naming the network's architecture (`plan` or `pointer`,
/// [`Architecture::name`](crate::policy::Architecture::name)); a model without it is the plan's.
pub const ARCHITECTURE_KEY: &str = "arbpolicy.architecture";

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

pub(super) fn elem_type(v: &pb::ValueInfoProto) -> Option<pb::tensor_proto::DataType> {
    let pb::type_proto::Value::TensorType(t) = v.r#type.as_ref()?.value.as_ref()?;
    pb::tensor_proto::DataType::try_from(t.elem_type).ok()
}

/// Check the shape a graph input declares, before tract analyses the graph: rank 2, the second
/// dimension `width` (the first is the batch).
pub(super) fn check_declared(v: &pb::ValueInfoProto, what: &str, width: usize) -> Result<(), ModelError> {
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

pub(super) fn check_versions(proto: &pb::ModelProto) -> Result<(), ModelError> {
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
pub(super) fn check_io(
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
