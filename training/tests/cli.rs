//! The `arbpolicy decide` command on the reference model.

use std::process::Command;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn decide(model: &std::path::Path, request: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arbpolicy"))
        .args(["decide", "--model"])
        .arg(model)
        .args(["--request", request])
        .output()
        .unwrap()
}

#[test]
fn decide_prints_the_decision_of_the_example_request() {
    let model = root().join("../shared/models/reference-torch/policy.onnx");
    let request = root().join("examples/request.json");
    let out = decide(&model, request.to_str().unwrap());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(d["action_probabilities"].as_object().unwrap().len(), 36);
    let action = d["action"].as_str().unwrap();
    assert!(d["action_probabilities"][action].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_inputs_fail_with_a_message_not_a_panic() {
    let request = root().join("examples/request.json");
    let out = decide(&root().join("README.md"), request.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an ONNX model"), "{err}");
    let model = root().join("../shared/models/reference-torch/policy.onnx");
    let out = decide(&model, "/nonexistent/request.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the request"));
}

#[test]
fn convert_writes_an_artifact_that_decides_as_the_onnx_model_does() {
    let model = root().join("../shared/models/reference-torch/policy.onnx");
    let out_path = std::env::temp_dir().join(format!("arbpolicy-cli-{}.arbpnet", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_arbpolicy"))
        .args(["convert", "--model"])
        .arg(&model)
        .arg("--out")
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let request = root().join("examples/request.json");
    let onnx: serde_json::Value =
        serde_json::from_slice(&decide(&model, request.to_str().unwrap()).stdout).unwrap();
    let native: serde_json::Value =
        serde_json::from_slice(&decide(&out_path, request.to_str().unwrap()).stdout).unwrap();
    let _ = std::fs::remove_file(&out_path);
    assert_eq!(onnx["action"], native["action"]);
    let p = |d: &serde_json::Value| d["probability"].as_f64().unwrap();
    assert!((p(&onnx) - p(&native)).abs() < 1e-5);
}
