//! The struct path decides as the engine does: `arbp_decide` ranks the caller's structs in place
//! and converts only the ten it shows the policy, and its decisions over a market's hours, with
//! invalid opportunities among the valid ones, are the engine's decisions over the whole list.

mod common;

use arbpolicy::*;
use arbpolicy_core::policy::file::PolicyFile;
use arbpolicy_core::policy::{Offer, Request, Selector, decide};
use arbpolicy_core::{Opportunity, Portfolio, TradingConfig};
use common::{blank_decision, load, market, opportunity, reference, request};

/// Every 3rd opportunity broken in one of several ways, cycling through them.
fn spoil(k: usize, o: &mut Opportunity) {
    match (k / 3) % 4 {
        0 => o.short.price = f64::NAN,
        1 => o.long.interval_hours = 0.0,
        2 => o.volume_24h_usd = -1.0,
        _ => o.short.venue = o.long.venue,
    }
}

#[test]
fn struct_decisions_are_the_engines_over_the_whole_list() {
    let file = PolicyFile::from_path(reference()).unwrap();
    let mut engine = file.session().unwrap();
    let model = load(&reference());
    let mut session: *mut arbp_session = std::ptr::null_mut();
    // SAFETY: a live model and a writable out pointer.
    assert_eq!(unsafe { arbp_session_new(model, &mut session) }, arbp_status::ARBP_OK);
    let (mut entries, mut past_first_ten) = (0, 0);
    for (hour, snapshot) in market().snapshots().iter().enumerate() {
        let mut opportunities: Vec<Opportunity> = snapshot.opportunities.iter().take(100).copied().collect();
        for (k, o) in opportunities.iter_mut().enumerate() {
            if (k + hour) % 3 == 0 {
                spoil(k + hour, o);
            }
        }
        let structs: Vec<arbp_opportunity> = opportunities.iter().map(opportunity).collect();
        let capital = 2_000.0 + 500.0 * (hour % 37) as f64;
        let mut d = blank_decision();
        // SAFETY: a live session, a request over `structs`, a writable decision.
        assert_eq!(
            unsafe { arbp_decide(session, &request(&structs, capital), &mut d) },
            arbp_status::ARBP_OK
        );

        let book = Portfolio::new(capital);
        let engine_request = Request {
            opportunities: Offer::List(&opportunities),
            portfolio: &book,
            config: TradingConfig::balanced(),
            now: 0,
        };
        let expected = decide(&mut engine, &engine_request, Selector::Greedy).unwrap();
        assert_eq!(d.action_index, u32::from(expected.action_index), "hour {hour}");
        assert_eq!(d.probabilities, expected.probabilities, "hour {hour}");
        assert_eq!(d.opportunity_index, expected.opportunity_index.map_or(-1, |i| i as i32), "hour {hour}");
        assert_eq!(d.size_usd, expected.size_usd.unwrap_or(0.0), "hour {hour}");
        if let Some(i) = expected.opportunity_index {
            assert!(opportunities[i].validate().is_ok());
            entries += 1;
            past_first_ten += usize::from(i >= 10);
        }
    }
    assert!(entries > 20 && past_first_ten > 0, "{entries} entries, {past_first_ten} past index 10");
    // SAFETY: freed once each, the session first.
    unsafe {
        arbp_session_free(session);
        arbp_model_free(model);
    }
}
