//! The committed header is what cbindgen generates from the source (set `ARBP_UPDATE_HEADER=1` to
//! rewrite it).

use std::path::PathBuf;

#[test]
fn committed_header_is_current() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("UTF-8 header");
    // The design card puts the header at the repository root, beside the crates.
    let path = crate_dir.join("../include/arbpolicy.h");
    if std::env::var_os("ARBP_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/arbpolicy.h is stale: run ARBP_UPDATE_HEADER=1 cargo test -p arbpolicy-ffi --test header"
    );
    // Every item the ABI promises is in it.
    for item in [
        "ARBP_ABI_VERSION",
        "arbp_status_str",
        "arbp_last_error",
        "arbp_model_load_file",
        "arbp_model_load_bytes",
        "arbp_session_new",
        "arbp_decide(",
        "arbp_decide_json",
        "arbp_session_forward",
        "arbp_config_validate",
        "arbp_action_mask",
        "arbp_position_size",
        "arbp_liquidation_prices",
        "arbp_action_name",
        "typedef int32_t arbp_status;",
    ] {
        assert!(generated.contains(item), "the header lacks {item}");
    }
}
