//! The JSON request and decision: the example request answers, bad requests name what is wrong.

use arbpolicy_core::Error;
use arbpolicy_core::host::HostError;
use arbpolicy_core::json::{
    DECISION_JSON_MAX, DecisionJson, JsonError, ReasoningJson, decide_json, parse_request,
};
use arbpolicy_core::policy::{Network, Output, Policy, PolicyFailure, decide};
use arbpolicy_core::{ACTION_COUNT, ActionMask, Observation};

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
    assert_eq!(owned.input.chosen.selection().indices().len(), 5);
    assert_eq!(owned.input.portfolio.active_count(), 1);
    assert_eq!(owned.input.now, 1_735_750_800_000 / 3_600_000);
    let net = network();
    let decision = decide(&*net, &owned.input.request(), owned.selector).unwrap();
    let json = DecisionJson::from_decision(&decision);
    assert_eq!(json.action_probabilities.len(), 36);
    assert!((json.action_probabilities.values().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(json.action, decision.action.name());
    let text = decide_json(&*net, &example()).unwrap();
    let back: DecisionJson = serde_json::from_str(&text).unwrap();
    assert_eq!(back, json);
    assert!(["HIGH", "MEDIUM", "LOW"].contains(&back.confidence.as_str()));
}

/// An entry's expected APR is a fraction per year in JSON, as in the decision and the ABI.
#[test]
fn an_entry_s_expected_apr_is_a_fraction_in_json() {
    struct Wants(usize);
    impl Policy for Wants {
        fn evaluate(&mut self, _: &Observation, mask: ActionMask) -> Result<Output, PolicyFailure> {
            let mut logits = [-30.0; ACTION_COUNT];
            logits[self.0] = 10.0;
            assert!(mask.allows(self.0), "the example allows ENTER_OPP_0_SMALL");
            Ok(Output { logits, value: 0.0 })
        }
    }
    let owned = parse_request(&example()).unwrap();
    let decision = decide(&mut Wants(1), &owned.input.request(), owned.selector).unwrap();
    assert_eq!(decision.action.name(), "ENTER_OPP_0_SMALL");
    let apr = decision.reasoning.expected_apr.unwrap();
    let selection = owned.input.chosen.selection();
    assert_eq!(selection.input_index(0), decision.opportunity_index);
    let chosen = owned.input.chosen.slots().get(0).unwrap();
    assert!((apr - chosen.apr_24h()).abs() < 1e-15 && apr > 0.0 && apr < 10.0, "{apr}");
    let text = decide_json(&mut Wants(1), &example()).unwrap();
    let json: DecisionJson = serde_json::from_str(&text).unwrap();
    // serde_json reads floats back to within an ulp or so; a percent would be a hundred times off.
    assert!((json.reasoning.expected_apr.unwrap() - apr).abs() < 1e-12, "{text}");
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
    // A name is read as the name field it fills, so one too long for it is malformed.
    let e = error_of(&edited(|v| v["opportunities"][1]["symbol"] = "A_VERY_LONG_SYMBOL_NAME".into()));
    assert!(matches!(&e, JsonError::Malformed(m) if m.contains("A_VERY_LONG_SYMBOL_NAME")), "{e}");
    let e = error_of(&edited(|v| {
        let p = v["positions"][0].clone();
        v["positions"] = serde_json::Value::Array(vec![p; 6]);
    }));
    let too_many = Error::TooMany { what: "positions", given: 6, max: 5 };
    assert!(matches!(e, JsonError::Invalid(HostError::Engine(e)) if e == too_many), "{e}");
    let e = error_of(&edited(|v| v["positions"][0]["long_leg"]["price"] = (-3.0).into()));
    assert!(e.to_string().contains("positions[0]: position.long.price"), "{e}");
    let e = error_of(&edited(|v| {
        let o = v["opportunities"][0].clone();
        v["opportunities"] = serde_json::Value::Array(vec![o; 101]);
    }));
    assert!(
        matches!(e, JsonError::Invalid(HostError::Engine(Error::TooMany { what: "opportunities", .. }))),
        "{e}"
    );
    // A configuration out of range is refused by the decision, naming the field.
    let net = network();
    let e = decide_json(&*net, &edited(|v| v["config"]["max_leverage"] = 12.into())).unwrap_err();
    assert!(e.to_string().contains("config.max_leverage"), "{e}");
    assert!(matches!(error_of("{"), JsonError::Malformed(_)));
    assert!(matches!(error_of(""), JsonError::Malformed(_)));
}

/// The longest decision: every string at its longest with every byte escaped, every number at its
/// longest printed form.
#[test]
fn the_longest_decision_fits_its_bound() {
    use arbpolicy_core::action::NAMES;
    let longest = |labels: &[&str]| labels.iter().max_by_key(|l| l.len()).unwrap().to_string();
    // Sixteen bytes a JSON string escapes as \u0001 each: a valid name (only NUL is refused).
    let name = "\u{1}".repeat(arbpolicy_core::Name::CAPACITY);
    assert!(arbpolicy_core::Name::new(&name).is_ok());
    let (f64_longest, f32_longest) = (-2.2250738585072014e-308, -1.1754944e-38f32);
    let worst = DecisionJson {
        action: longest(&NAMES),
        action_index: 35,
        opportunity_idx: Some(usize::MAX),
        position_idx: Some(usize::MAX),
        position_size_usd: Some(f64_longest),
        leverage: Some(f64_longest),
        confidence: longest(&["HIGH", "MEDIUM", "LOW"]),
        probability: f32_longest,
        state_value: f32_longest,
        action_probabilities: NAMES.iter().map(|n| (n.to_string(), f32_longest)).collect(),
        reasoning: ReasoningJson {
            top_opportunity: Some(format!("{name} ({name}/{name})")),
            coin: Some(name.clone()),
            long_exchange: Some(name.clone()),
            short_exchange: Some(name.clone()),
            expected_apr: Some(f64_longest),
            risk_level: longest(&["HIGH", "MEDIUM", "LOW"]),
            override_reason: Some(longest(&[
                "STOP_LOSS",
                "LIQUIDATION_BUFFER",
                "LIQUIDATED",
                "POLICY_FAILED",
                "NON_FINITE_OUTPUT",
            ])),
        },
    };
    let text = serde_json::to_string_pretty(&worst).unwrap();
    assert!(text.contains("\\u0001"), "names are escaped: {text}");
    println!("the longest decision: {} bytes", text.len());
    assert!(text.len() < DECISION_JSON_MAX, "{} bytes", text.len());
    // And a real answer is far below it.
    let answer = decide_json(&*network(), &example()).unwrap();
    assert!(answer.len() < DECISION_JSON_MAX / 2, "{} bytes", answer.len());
}
