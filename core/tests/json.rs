//! The JSON request and decision: the example request answers, bad requests name what is wrong.

use arbpolicy_core::Error;
use arbpolicy_core::json::{DecisionJson, JsonError, decide_json, parse_request};
use arbpolicy_core::policy::{Network, decide};

fn example() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/request.json")).unwrap()
}

fn network() -> Box<Network> {
    let mut n = Box::new(Network::ZERO);
    let mut k = 0.0f32;
    n.set_parameters(|| {
        k += 0.71;
        k.sin() * 0.3
    });
    n
}

#[test]
fn the_example_request_is_answered() {
    let owned = parse_request(&example()).unwrap();
    assert_eq!(owned.opportunities.len(), 5);
    assert_eq!(owned.portfolio.active_count(), 1);
    assert_eq!(owned.now, 1_735_750_800_000 / 3_600_000);
    let net = network();
    let decision = decide(&mut &*net, &owned.request(), owned.selector).unwrap();
    let json = DecisionJson::from_decision(&decision);
    assert_eq!(json.action_probabilities.len(), 36);
    assert!((json.action_probabilities.values().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(json.action, decision.action.name().unwrap());
    let text = decide_json(&mut &*net, &example()).unwrap();
    let back: DecisionJson = serde_json::from_str(&text).unwrap();
    assert_eq!(back, json);
    assert!(["HIGH", "MEDIUM", "LOW"].contains(&back.confidence.as_str()));
}

fn edited(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&example()).unwrap();
    f(&mut v);
    v.to_string()
}

fn error_of(text: &str) -> JsonError {
    parse_request(text).unwrap_err()
}

#[test]
fn bad_requests_name_what_is_wrong() {
    let e = error_of(&edited(|v| v["config"]["max_levrage"] = 2.into()));
    assert!(matches!(&e, JsonError::Malformed(m) if m.contains("max_levrage")), "{e}");
    let e = error_of(&edited(|v| {
        v["portfolio"].as_object_mut().unwrap().remove("total_capital");
    }));
    assert!(matches!(&e, JsonError::Malformed(m) if m.contains("total_capital")), "{e}");
    let e = error_of(&example().replace("97250.5", "NaN"));
    assert!(matches!(e, JsonError::Malformed(_)), "{e}");
    let e = error_of(&example().replace("97250.5", "1e999"));
    assert!(matches!(e, JsonError::Malformed(_)), "{e}");
    let e = error_of(&edited(|v| v["opportunities"][1]["symbol"] = "A_VERY_LONG_SYMBOL_NAME".into()));
    assert!(matches!(e, JsonError::Invalid(Error::BadName { .. })), "{e}");
    let e = error_of(&edited(|v| {
        let p = v["active_positions"][0].clone();
        v["active_positions"] = serde_json::Value::Array(vec![p; 6]);
    }));
    assert!(
        matches!(e, JsonError::Invalid(Error::TooMany { what: "active_positions", given: 6, max: 5 })),
        "{e}"
    );
    let e = error_of(&edited(|v| v["active_positions"][0]["long_price"] = (-3.0).into()));
    assert!(e.to_string().contains("position.long.price"), "{e}");
    let e = error_of(&edited(|v| {
        let o = v["opportunities"][0].clone();
        v["opportunities"] = serde_json::Value::Array(vec![o; 101]);
    }));
    assert!(matches!(e, JsonError::Invalid(Error::TooMany { what: "opportunities", .. })), "{e}");
    // A configuration out of range is refused by the decision, naming the field.
    let net = network();
    let e = decide_json(&mut &*net, &edited(|v| v["config"]["max_leverage"] = 12.into())).unwrap_err();
    assert!(e.to_string().contains("config.max_leverage"), "{e}");
    assert!(matches!(error_of("{"), JsonError::Malformed(_)));
    assert!(matches!(error_of(""), JsonError::Malformed(_)));
}
