//! ONNX export of a trained network: tract and ONNX Runtime run the file as burn runs the
//! network, on observations the environment shows it, and the engine reads back its weights.

use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
use arbpolicy_core::policy::Network;
use arbpolicy_core::policy::onnx::{OnnxModel, pb};
use arbpolicy_core::{EnvParams, OBSERVATION_LEN, Observation};
use arbpolicy_train::export::{OPSET, PARITY_TOLERANCE, difference, export, onnx_model, parity};
use arbpolicy_train::network::PolicyNet;
use arbpolicy_train::ppo::PpoConfig;
use arbpolicy_train::rollout::sample_observations;
use arbpolicy_train::trainer::{TrainConfig, train_network};
use prost::Message;
use std::path::PathBuf;

fn trained() -> (PolicyNet, Vec<f32>) {
    let market =
        SyntheticMarket::generate(2, &SyntheticParams { hours: 24 * 20, ..SyntheticParams::default() });
    let env = EnvParams { episode_hours: 48, ..EnvParams::default() };
    let ppo = PpoConfig { n_steps: 256, epochs: 2, ..PpoConfig::default() };
    let config = TrainConfig { envs: 4, ..TrainConfig::new(ppo, 2, 9, env) };
    let net = train_network(&market, &config, |_| {}).unwrap();
    assert!(!net.normalization().is_identity(), "a trained network normalises its inputs");
    let observations = sample_observations(&market, env, config.fee_rate, &net.to_native(), 256, 4).unwrap();
    (net, observations)
}

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_exported_model_runs_in_tract_and_onnx_runtime_as_the_network_does() {
    let (net, observations) = trained();
    assert_eq!(observations.len(), 256 * OBSERVATION_LEN);
    let d = dir("export");
    let metadata = vec![("arbpolicy.seed".to_string(), "9".to_string())];
    let exported = export(&net, &d.join("policy.onnx"), &metadata, &observations).unwrap();
    assert!(exported.parity <= PARITY_TOLERANCE, "{}", exported.parity);

    // The file: opset 17, the contract's versions and the given metadata.
    let bytes = std::fs::read(&exported.onnx).unwrap();
    let proto = pb::ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(proto.opset_import[0].version, OPSET);
    let meta = |k: &str| proto.metadata_props.iter().find(|p| p.key == k).map(|p| p.value.clone());
    assert_eq!(meta("arbpolicy.observation_version").as_deref(), Some("1"));
    assert_eq!(meta("arbpolicy.seed").as_deref(), Some("9"));

    // The native artifact beside it computes what the network does.
    let mut native = Network::ZERO;
    native.load_artifact(&std::fs::read(&exported.native).unwrap()).unwrap();
    let (logits, values) = net.outputs(&observations);
    for (i, row) in observations.chunks(OBSERVATION_LEN).enumerate() {
        let obs: Observation = row.try_into().unwrap();
        let out = native.forward(&obs);
        assert!(difference(out.value, values[i]) <= PARITY_TOLERANCE);
        for (a, b) in out.logits.iter().zip(&logits[i * 36..(i + 1) * 36]) {
            assert!(difference(*a, *b) <= PARITY_TOLERANCE, "row {i}: {a} vs {b}");
        }
    }

    // ONNX Runtime (Python, CI installs it) on the same observations.
    let rows: Vec<&[f32]> = observations.chunks(OBSERVATION_LEN).collect();
    let vectors = serde_json::json!({
        "observations": rows,
        "logits": logits.chunks(36).collect::<Vec<_>>(),
        "values": values,
    });
    let vectors_path = d.join("vectors.json");
    std::fs::write(&vectors_path, vectors.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/onnxruntime_check.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(&exported.onnx)
        .arg(&vectors_path)
        .output()
        .expect("python3 (with onnx and onnxruntime) runs this test");
    let _ = std::fs::remove_dir_all(&d);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report} {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(report["opset"], 17);
    assert_eq!(report["rows"], 256);
    assert!(report["max_diff"].as_f64().unwrap() <= 1e-5, "{report}");
}

#[test]
fn parity_catches_a_graph_that_is_not_the_network() {
    let (net, observations) = trained();
    let mut parameters = net.parameters();
    // One weight of the critic's output layer (the last 33 parameters) is changed.
    let k = parameters.len() - 10;
    parameters[k] += 0.5;
    let normalization = net.normalization();
    let bytes = onnx_model(&parameters, &normalization, &[]).unwrap().encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes).unwrap();
    assert!(parity(&net, &model, &observations).unwrap() > PARITY_TOLERANCE);
    assert!(onnx_model(&parameters[1..], &normalization, &[]).is_err());
    // So is a graph that normalises otherwise: the shift of one opportunity feature moved.
    let mut other = normalization.clone();
    other.shift[OBSERVATION_LEN - 15] += 1.0;
    let bytes = onnx_model(&net.parameters(), &other, &[]).unwrap().encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes).unwrap();
    assert!(parity(&net, &model, &observations).unwrap() > PARITY_TOLERANCE);
    assert_eq!(model.to_native().unwrap().input, other);
}
