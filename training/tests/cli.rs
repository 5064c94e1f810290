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

fn arbpolicy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arbpolicy")).args(args).output().unwrap()
}

#[test]
fn train_resume_and_evaluate_on_the_built_in_market() {
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let dir = out.to_str().unwrap();
    let train = |updates: &str, extra: &[&str]| {
        let mut args =
            vec!["train", "--updates", updates, "--envs", "2", "--n-steps", "128", "--episode-hours", "48"];
        args.extend_from_slice(&["--synthetic-hours", "480", "--checkpoint-every", "1", "--out", dir]);
        args.extend_from_slice(extra);
        arbpolicy(&args)
    };
    let first = train("2", &[]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.starts_with(
            "update,steps,episodes,episode_return,reward_mean,entropy_coef,loss,policy_loss,value_loss,entropy,approx_kl"
        )
    );
    // Two more updates from the checkpoint: the CSV continues.
    let resumed = train("4", &["--resume"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let updates: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(updates, ["1", "2", "3", "4"]);
    assert_eq!(&std::fs::read(out.join("learning-curves.png")).unwrap()[1..4], b"PNG");
    // One more update warm-started from the checkpoint with another learning rate, scored on a
    // validation market (what the Ray driver runs for each interval of a member).
    let member = out.join("member");
    let checkpoint = out.join("checkpoint");
    let warm = arbpolicy(&[
        "train",
        "--updates",
        "1",
        "--envs",
        "2",
        "--n-steps",
        "128",
        "--episode-hours",
        "48",
        "--synthetic-hours",
        "480",
        "--lr",
        "0.002",
        "--threads",
        "1",
        "--init-from",
        checkpoint.to_str().unwrap(),
        "--validation-seed",
        "7",
        "--out",
        member.to_str().unwrap(),
    ]);
    assert!(warm.status.success(), "{}", String::from_utf8_lossy(&warm.stderr));
    let scored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(member.join("fitness.json")).unwrap()).unwrap();
    assert_eq!((scored["updates"].as_u64(), scored["steps"].as_u64()), (Some(5), Some(640)), "{scored}");
    assert!(scored["fitness"].as_f64().unwrap().is_finite());
    assert!(String::from_utf8_lossy(&warm.stdout).contains("on the validation window"));
    // The training market is not a validation window.
    let same =
        arbpolicy(&["train", "--updates", "1", "--validation-seed", "0", "--out", member.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&same.stderr).contains("same built-in market (seed 0)"));

    let report = out.join("report.md");
    let model = out.join("policy.onnx");
    let eval = arbpolicy(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--synthetic-seed",
        "5",
        "--synthetic-hours",
        "240",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let table = String::from_utf8_lossy(&eval.stdout);
    for agent in [
        "| policy | overall |",
        "| HOLD | overall |",
        "| random | overall |",
        "| rule | overall |",
        "| ceiling | overall |",
    ] {
        assert!(table.contains(agent), "{table}");
    }
    assert!(
        table.contains("p-value that the policy earns no more an hour") && table.contains("against the rule")
    );
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.contains("## conservative")
            && md.contains("## aggressive")
            && md.contains("![equity](equity.png)")
    );
    assert_eq!(&std::fs::read(out.join("equity.png")).unwrap()[1..4], b"PNG");
    // The native artifact decides as the ONNX file does.
    let request = root().join("examples/request.json");
    let onnx: serde_json::Value =
        serde_json::from_slice(&decide(&model, request.to_str().unwrap()).stdout).unwrap();
    let native: serde_json::Value =
        serde_json::from_slice(&decide(&out.join("policy.arbpnet"), request.to_str().unwrap()).stdout)
            .unwrap();
    assert_eq!(onnx["action"], native["action"]);

    // Recorded data without the window's end, and a model that is not one, are refused.
    let refused = arbpolicy(&["train", "--data", "/nonexistent", "--out", dir]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--until"));
    let refused = arbpolicy(&["train", "--until", "2025-10-01", "--out", dir]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("needs recorded data"));
    let readme = root().join("README.md");
    let refused =
        arbpolicy(&["evaluate", "--model", readme.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not an ONNX model"));
    assert_eq!(refused.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn windows_without_a_tradable_hour_are_refused_by_their_dates() {
    let data = root().join("../shared/data/funding-history");
    let data = data.to_str().unwrap();
    let out = std::env::temp_dir().join(format!("arbpolicy-bad-window-{}", std::process::id()));
    let out = out.to_str().unwrap();
    // Before the recorded data begins.
    let refused =
        arbpolicy(&["train", "--data", data, "--until", "2019-01-01", "--updates", "1", "--out", out]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("2018-01-01 .. 2019-01-01 holds no tradable hour"), "{err}");
    // Inverted.
    let refused = arbpolicy(&[
        "evaluate",
        "--model",
        "x.onnx",
        "--data",
        data,
        "--from",
        "2025-10-01",
        "--to",
        "2025-07-01",
    ]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("the window 2025-10-01 .. 2025-07-01 is empty"), "{err}");
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn pbt_runs_a_small_population_resumes_it_and_exports_its_best() {
    let out =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-pbt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let dir = out.to_str().unwrap();
    let pbt = |steps: &str, extra: &[&str]| {
        let mut args = vec!["pbt", "--market", "edge", "--synthetic-hours", "480", "--population", "3"];
        args.extend_from_slice(&["--interval-steps", "128", "--steps", steps, "--n-steps", "128"]);
        args.extend_from_slice(&["--envs", "2", "--episode-hours", "48", "--threads", "2", "--out", dir]);
        args.extend_from_slice(extra);
        arbpolicy(&args)
    };
    let first = pbt("256", &[]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    // Resumed with a larger budget: the fitness file goes on from the third interval.
    let resumed = pbt("384", &["--resume"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(stdout.contains("best member") && stdout.contains("samples/s"), "{stdout}");
    let fitness = std::fs::read_to_string(out.join("fitness.csv")).unwrap();
    let rows: Vec<&str> = fitness.lines().collect();
    assert_eq!(rows[0], "interval,member_0,member_1,member_2");
    assert_eq!(rows.len(), 4, "{fitness}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| 2 |") && report.contains("seed 2") && report.contains("seed 1"), "{report}");
    assert_eq!(&std::fs::read(out.join("fitness.png")).unwrap()[1..4], b"PNG");
    for line in std::fs::read_to_string(out.join("lineage.jsonl")).unwrap().lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(e["new"]["learning_rate"].as_f64().unwrap() > 0.0, "{line}");
    }
    let request = root().join("examples/request.json");
    let decided = decide(&out.join("policy.arbpnet"), request.to_str().unwrap());
    assert!(decided.status.success(), "{}", String::from_utf8_lossy(&decided.stderr));
    // A validation window that is the test window, or overlaps the training window, is refused.
    let same = pbt("128", &["--validation-seed", "1"]);
    assert_eq!(same.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&same.stderr).contains("same built-in market (seed 1)"));
    let data = root().join("../shared/data/funding-history");
    let overlap = arbpolicy(&[
        "pbt",
        "--data",
        data.to_str().unwrap(),
        "--until",
        "2025-07-01",
        "--validate-until",
        "2025-10-01",
        "--test-from",
        "2025-09-01",
        "--out",
        dir,
    ]);
    assert_eq!(overlap.status.code(), Some(1));
    let err = String::from_utf8_lossy(&overlap.stderr);
    assert!(err.contains("validation and test windows overlap") && err.contains("2025-09-01"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}
