//! ONNX export of a trained network of either architecture: tract and ONNX Runtime run the file
//! as burn runs the network, on observations the environment shows it, and the engine reads back
//! its weights.

use arbpolicy_core::market::{SyntheticMarket, SyntheticParams};
use arbpolicy_core::policy::onnx::{ARCHITECTURE_KEY, ModelError, OnnxModel, pb};
use arbpolicy_core::policy::{Architecture, Native};
use arbpolicy_core::{EnvParams, OBSERVATION_LEN, Observation};
use arbpolicy_train::export::{OPSET, PARITY_TOLERANCE, difference, export, onnx_model, parity};
use arbpolicy_train::network::PolicyNet;
use arbpolicy_train::ppo::PpoConfig;
use arbpolicy_train::rollout::sample_observations;
use arbpolicy_train::trainer::{TrainConfig, train_network};
use prost::Message;
use std::path::PathBuf;

fn trained(network: Architecture) -> (PolicyNet, Vec<f32>) {
    let market =
        SyntheticMarket::generate(2, &SyntheticParams { hours: 24 * 20, ..SyntheticParams::default() });
    let env = EnvParams { episode_hours: 48, ..EnvParams::default() };
    let ppo = PpoConfig { n_steps: 256, epochs: 2, ..PpoConfig::default() };
    let config = TrainConfig { envs: 4, network, ..TrainConfig::new(ppo, 2, 9, env) };
    let net = train_network(&market, &config, |_| {}).unwrap();
    assert!(!net.normalization().is_identity(), "a trained network normalises its inputs");
    let observations = sample_observations(&market, env, config.fee_rate, &net.native(), 256, 4).unwrap();
    (net, observations)
}

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_exported_model_runs_in_tract_and_onnx_runtime_as_the_network_does() {
    for architecture in Architecture::ALL {
        exported_as_trained(architecture);
    }
}

fn exported_as_trained(architecture: Architecture) {
    let (net, observations) = trained(architecture);
    assert_eq!(observations.len(), 256 * OBSERVATION_LEN);
    let d = dir(&format!("export-{architecture}"));
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
    assert_eq!(meta(ARCHITECTURE_KEY).as_deref(), Some(architecture.name()));

    // The native artifact beside it is of the network's architecture and computes what it does.
    let native = Native::from_artifact(&std::fs::read(&exported.native).unwrap()).unwrap();
    assert_eq!(native.architecture(), architecture);
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
    assert!(report["max_diff"].as_f64().unwrap() <= 1e-5, "{architecture}: {report}");
}

#[test]
fn parity_catches_a_graph_that_is_not_the_network() {
    let (net, observations) = trained(Architecture::Plan);
    let mut parameters = net.parameters();
    // One weight of the critic's output layer (the last 33 parameters) is changed.
    let k = parameters.len() - 10;
    parameters[k] += 0.5;
    let normalization = net.normalization();
    let bytes = onnx_model(Architecture::Plan, &parameters, &normalization, &[]).unwrap().encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes).unwrap();
    assert!(parity(&net, &model, &observations).unwrap() > PARITY_TOLERANCE);
    assert!(onnx_model(Architecture::Plan, &parameters[1..], &normalization, &[]).is_err());
    // So is a graph that normalises otherwise: the shift of one opportunity feature moved.
    let mut other = normalization.clone();
    other.shift[OBSERVATION_LEN - 15] += 1.0;
    let bytes = onnx_model(Architecture::Plan, &net.parameters(), &other, &[]).unwrap().encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes).unwrap();
    assert!(parity(&net, &model, &observations).unwrap() > PARITY_TOLERANCE);
    assert_eq!(*model.to_native().unwrap().input(), other);
}

/// A pointer network's graph, seeded (not trained).
fn pointer_graph() -> pb::ModelProto {
    let device = burn::prelude::Device::flex();
    let net = PolicyNet::seeded(&device, 3, Architecture::Pointer);
    onnx_model(Architecture::Pointer, &net.parameters(), &net.normalization(), &[]).unwrap()
}

fn conversion_refused(proto: &pb::ModelProto, reason_has: &str) {
    let model = OnnxModel::from_bytes(&proto.encode_to_vec()).expect("tract runs the graph");
    match model.to_native() {
        Err(ModelError::Architecture(reason)) => assert!(reason.contains(reason_has), "{reason}"),
        other => panic!("{other:?}, expected a refusal naming {reason_has}"),
    }
}

#[test]
fn a_graph_is_converted_as_the_architecture_it_declares_and_only_if_it_computes_it() {
    let proto = pointer_graph();
    let model = OnnxModel::from_bytes(&proto.encode_to_vec()).unwrap();
    assert_eq!(model.to_native().unwrap().architecture(), Architecture::Pointer);
    let declared = |proto: &mut pb::ModelProto, name: &str| {
        proto.metadata_props.iter_mut().find(|e| e.key == ARCHITECTURE_KEY).unwrap().value = name.into();
    };
    // Said to be the plan's, read by its structure: no 64 -> 32 layer feeds a 32 -> 36 one.
    let mut plan = proto.clone();
    declared(&mut plan, "plan");
    conversion_refused(&plan, "64 -> 32");
    let mut unknown = proto.clone();
    declared(&mut unknown, "transformer");
    conversion_refused(&unknown, "unknown architecture");
    // Its weights where the pointer's belong, but the entries wired slot-major: tract computes
    // another network than the native pass would, and the conversion says so.
    let mut rewired = proto.clone();
    let graph = rewired.graph.as_mut().unwrap();
    let transpose = graph.node.iter_mut().find(|n| n.output[0] == "entry.by_tier").unwrap();
    transpose.attribute[0].ints = vec![0, 1, 2];
    conversion_refused(&rewired, "differs from what tract computes");
}
