//! The reference policy exported from PyTorch (`../shared/models/reference-torch`): tract and the
//! native forward pass reproduce PyTorch's outputs.

use arbpolicy_core::policy::Output;
use arbpolicy_core::policy::file::PolicyFile;
use arbpolicy_core::policy::onnx::{ModelError, OnnxModel, pb};
use arbpolicy_core::{ACTION_COUNT, ActionMask, Observation};
use prost::Message;
use std::path::PathBuf;

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/reference-torch")
}

struct Case {
    obs: Observation,
    logits: [f32; ACTION_COUNT],
    value: f32,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(reference_dir().join("vectors.json")).expect("vectors.json");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
    };
    json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            obs: floats(&c["obs"]).try_into().unwrap(),
            logits: floats(&c["logits"]).try_into().unwrap(),
            value: c["value"].as_f64().unwrap() as f32,
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn tract_and_native_reproduce_pytorch() {
    let model = OnnxModel::from_path(reference_dir().join("policy.onnx")).unwrap();
    let native = model.to_native().unwrap();
    let mut session = model.session().unwrap();
    let cases = cases();
    assert_eq!(cases.len(), 32);
    let (mut tract_err, mut native_err, mut native_tract) = (0.0f32, 0.0f32, 0.0f32);
    for c in &cases {
        let t = session.forward(&c.obs, ActionMask::hold_only()).unwrap();
        let n = native.forward(&c.obs);
        tract_err = tract_err.max(max_diff(&t.logits, &c.logits)).max((t.value - c.value).abs());
        native_err = native_err.max(max_diff(&n.logits, &c.logits)).max((n.value - c.value).abs());
        native_tract = native_tract.max(max_diff(&n.logits, &t.logits)).max((n.value - t.value).abs());
    }
    println!(
        "max |diff|: tract-torch {tract_err:e}, native-torch {native_err:e}, native-tract {native_tract:e}"
    );
    assert!(tract_err <= 1e-4, "tract vs PyTorch {tract_err}");
    assert!(native_err <= 1e-4, "native vs PyTorch {native_err}");
    assert!(native_tract <= 1e-5, "native vs tract {native_tract}");

    // The batched runnable gives the same outputs.
    let obs: Vec<f32> = cases.iter().flat_map(|c| c.obs).collect();
    let masks = vec![ActionMask::hold_only(); cases.len()];
    let batch = model.forward_batch(&obs, &masks).unwrap();
    for (b, c) in batch.iter().zip(&cases) {
        assert!(max_diff(&b.logits, &c.logits) <= 1e-4);
    }
}

#[test]
fn native_batches_equal_single_observations_exactly() {
    let model = OnnxModel::from_path(reference_dir().join("policy.onnx")).unwrap();
    let native = model.to_native().unwrap();
    let cases = cases();
    let obs: Vec<Observation> = cases.iter().map(|c| c.obs).collect();
    // Every remainder after the tiles of five, and more outputs than observations.
    for n in [0, 1, 2, 3, 4, 5, 6, 9, 13, 32] {
        let mut out = vec![Output { logits: [f32::NAN; ACTION_COUNT], value: f32::NAN }; n + 2];
        native.forward_batch(&obs[..n], &mut out);
        for (i, o) in out[..n].iter().enumerate() {
            // The same operations in the same order: bit for bit.
            assert_eq!(*o, native.forward(&obs[i]), "batch of {n}, observation {i}");
            assert!(max_diff(&o.logits, &cases[i].logits) <= 1e-4);
        }
        assert!(out[n..].iter().all(|o| o.value.is_nan()), "outputs past the observations stay untouched");
    }
    // Fewer outputs than observations: as many as fit.
    let mut two = [Output { logits: [0.0; ACTION_COUNT], value: 0.0 }; 2];
    native.forward_batch(&obs, &mut two);
    assert_eq!(two[1], native.forward(&obs[1]));
}

fn reference_proto() -> pb::ModelProto {
    let bytes = std::fs::read(reference_dir().join("policy.onnx")).unwrap();
    pb::ModelProto::decode(bytes.as_slice()).unwrap()
}

fn encode(proto: &pb::ModelProto) -> Vec<u8> {
    proto.encode_to_vec()
}

#[test]
fn wrong_models_are_refused_with_the_right_error() {
    let bytes = std::fs::read(reference_dir().join("policy.onnx")).unwrap();
    // Not ONNX at all, and truncated.
    assert!(matches!(OnnxModel::from_bytes(b"definitely not a model"), Err(ModelError::NotOnnx(_))));
    let truncated = OnnxModel::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(truncated, ModelError::NotOnnx(_)), "{truncated}");
    assert!(matches!(OnnxModel::from_bytes(&[]), Err(ModelError::NotOnnx(_))));
    // A file that cannot be read is an I/O error, not a wrong model.
    let missing = reference_dir().join("no-such-model.onnx");
    assert!(matches!(OnnxModel::from_path(&missing), Err(ModelError::Io(_))));
    let err = PolicyFile::from_path(&missing).unwrap_err();
    assert!(matches!(err, ModelError::Io(_)) && err.to_string().contains("no-such-model.onnx"), "{err}");

    // Another observation width.
    let mut proto = reference_proto();
    let input = proto.graph.as_mut().unwrap().input.first_mut().unwrap();
    let pb::type_proto::Value::TensorType(t) = input.r#type.as_mut().unwrap().value.as_mut().unwrap();
    t.shape.as_mut().unwrap().dim[1].value = Some(pb::tensor_shape_proto::dimension::Value::DimValue(274));
    let err = OnnxModel::from_bytes(&encode(&proto)).unwrap_err();
    assert!(err.to_string().contains("275"), "{err}");

    // Another declared observation version.
    let mut proto = reference_proto();
    proto
        .metadata_props
        .push(pb::StringStringEntryProto { key: "arbpolicy.observation_version".into(), value: "2".into() });
    assert!(matches!(
        OnnxModel::from_bytes(&encode(&proto)),
        Err(ModelError::Version { what: "observation version", expected: 1, .. })
    ));
    // The current version is accepted.
    let mut proto = reference_proto();
    proto
        .metadata_props
        .push(pb::StringStringEntryProto { key: "arbpolicy.action_version".into(), value: "1".into() });
    assert!(OnnxModel::from_bytes(&encode(&proto)).is_ok());

    // Only one output.
    let mut proto = reference_proto();
    proto.graph.as_mut().unwrap().output.truncate(1);
    assert!(matches!(OnnxModel::from_bytes(&encode(&proto)), Err(ModelError::Contract(_))));
}

#[test]
fn decisions_through_tract_and_native_agree() {
    use arbpolicy_core::policy::{Offer, Request, Selector, decide};
    use arbpolicy_core::{Portfolio, TradingConfig};
    let model = OnnxModel::from_path(reference_dir().join("policy.onnx")).unwrap();
    let native = model.to_native().unwrap();
    let mut session = model.session().unwrap();
    let market = arbpolicy_core::market::SyntheticMarket::generate(3, &Default::default());
    let book = Portfolio::new(10_000.0);
    for t in (0..400).step_by(40) {
        let hour = &market.snapshots()[t];
        let request = Request {
            opportunities: Offer::List(&hour.opportunities),
            portfolio: &book,
            config: TradingConfig::balanced(),
            now: hour.timestamp,
        };
        let a = decide(&mut session, &request, Selector::Greedy).unwrap();
        let b = decide(&native, &request, Selector::Greedy).unwrap();
        assert_eq!(a.action, b.action);
        assert!(max_diff(&a.probabilities, &b.probabilities) < 1e-5);
        assert!(a.reasoning.override_reason.is_none());
    }
}

/// The reference model laid out as `torch.onnx.export(dynamo=True)` lays out its models (opset 18,
/// axes as inputs, every intermediate shape declared over the symbolic batch `s0`), by
/// `tests/support/dynamo_style.py` with Python's `onnx` (CI installs it).
#[test]
fn dynamo_style_opset_18_models_load_and_reproduce_pytorch() {
    let dir = std::env::temp_dir().join(format!("arbpolicy-dynamo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy-opset18.onnx");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/dynamo_style.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(reference_dir().join("policy.onnx"))
        .arg(&path)
        .output()
        .expect("python3 (with the onnx package) runs this test");
    assert!(out.status.success(), "dynamo_style.py: {}", String::from_utf8_lossy(&out.stderr));

    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let proto = pb::ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(proto.opset_import[0].version, 18);
    assert!(!proto.graph.as_ref().unwrap().value_info.is_empty());

    let model = OnnxModel::from_bytes(&bytes).unwrap();
    let native = model.to_native().unwrap();
    let mut session = model.session().unwrap();
    let cases = cases();
    for c in &cases {
        let t = session.forward(&c.obs, ActionMask::hold_only()).unwrap();
        assert!(max_diff(&t.logits, &c.logits) <= 1e-4 && (t.value - c.value).abs() <= 1e-4);
        let n = native.forward(&c.obs);
        assert!(max_diff(&n.logits, &t.logits) <= 1e-5 && (n.value - t.value).abs() <= 1e-5);
    }
    let obs: Vec<f32> = cases.iter().flat_map(|c| c.obs).collect();
    let batch = model.forward_batch(&obs, &vec![ActionMask::hold_only(); cases.len()]).unwrap();
    for (b, c) in batch.iter().zip(&cases) {
        assert!(max_diff(&b.logits, &c.logits) <= 1e-4);
    }
}
