//! The reference policy exported from PyTorch (`../shared/models/reference-torch`): tract and the
//! native forward pass reproduce PyTorch's outputs.

use arbpolicy_core::policy::onnx::OnnxModel;
use arbpolicy_core::{ACTION_COUNT, ActionMask, Observation};
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
