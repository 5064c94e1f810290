//! The fuzz targets' saved corpus (`fuzz/corpus/<target>/`), replayed through the same checks on
//! the stable toolchain: every input that once reached new code still ends in a status or a sound
//! decision, never a panic.

#[path = "../../fuzz/fuzz_targets/checks.rs"]
mod checks;

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 4, "{target}: only {} saved inputs", inputs.len());
    for input in &inputs {
        let bytes = std::fs::read(input).expect("a corpus file");
        if std::panic::catch_unwind(|| check(&bytes)).is_err() {
            panic!("{target}: {} fails its check", input.display());
        }
    }
}

#[test]
fn json_request_corpus() {
    replay("json_request", checks::json_request);
}

#[test]
fn model_bytes_corpus() {
    replay("model_bytes", checks::model_bytes);
    // The saved inputs are cut to 16 KB; the whole reference model takes the loading path to the end.
    let model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/reference-torch/policy.onnx");
    checks::model_bytes(&std::fs::read(model).expect("the reference model"));
}

#[test]
fn struct_request_corpus() {
    replay("struct_request", checks::struct_request);
}
