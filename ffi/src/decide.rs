//! Decisions through structs and through JSON.

use crate::model::arbp_session;
use crate::status::{Failure, arbp_status, guard, invalid_argument, reference, reference_mut, slice};
use crate::types::{
    Received, arbp_confidence, arbp_decision, arbp_override, arbp_position, arbp_request, arbp_risk_level,
    write_text,
};
use crate::{ARBP_MAX_OPPORTUNITIES, ARBP_MAX_POSITIONS};
use arbpolicy_core::action::NAMES;
use arbpolicy_core::host::{Input, check_size};
use arbpolicy_core::json::{JsonError, decide_json};
use arbpolicy_core::policy::choice::Confidence;
use arbpolicy_core::policy::decision::{Override, RiskLevel};
use arbpolicy_core::policy::{Decision, Selector, decide};
use arbpolicy_core::risk::ExitReason;
use std::ffi::c_char;

/// A request's lists as slices, mapped with its book and settings ([`Input::new`]), and how to
/// choose.
///
/// # Safety
/// The request's arrays must hold their counts of readable elements.
pub(crate) unsafe fn convert(request: &arbp_request) -> Result<(Input, Selector), Failure> {
    check_size::<arbp_request>(request.struct_size, "arbp_request")?;
    // SAFETY: the caller vouches for the arrays; `Received` is an `arbp_opportunity`.
    let opportunities: &[Received] = unsafe {
        slice(
            request.opportunities.cast::<Received>(),
            request.opportunity_count,
            ARBP_MAX_OPPORTUNITIES,
            "request.opportunities",
        )
    }?;
    // SAFETY: as above.
    let positions: &[arbp_position] =
        unsafe { slice(request.positions, request.position_count, ARBP_MAX_POSITIONS, "request.positions") }?;
    if request.sample > 1 {
        return Err(invalid_argument(format!("request.sample is {}, expected 0 or 1", request.sample)));
    }
    let selector = if request.sample == 1 { Selector::Sample(request.sample_seed) } else { Selector::Greedy };
    let input = Input::new(opportunities, positions, &request.portfolio, &request.config, request.now_ms)?;
    Ok((input, selector))
}

impl arbp_decision {
    fn from_decision(d: &Decision) -> Self {
        let index = |i: Option<usize>| i.map_or(-1, |i| i as i32);
        let r = &d.reasoning;
        let mut out = arbp_decision {
            struct_size: size_of::<arbp_decision>() as u32,
            action_index: u32::from(d.action_index),
            action_name: [0; crate::ARBP_LABEL_SIZE],
            opportunity_index: index(d.opportunity_index),
            position_index: index(d.position_index),
            size_usd: d.size_usd.unwrap_or(0.0),
            leverage: d.leverage.unwrap_or(0.0),
            probability: d.probability,
            confidence: match d.confidence {
                Confidence::High => arbp_confidence::ARBP_CONFIDENCE_HIGH,
                Confidence::Medium => arbp_confidence::ARBP_CONFIDENCE_MEDIUM,
                Confidence::Low => arbp_confidence::ARBP_CONFIDENCE_LOW,
            },
            value: d.value,
            probabilities: d.probabilities,
            mask: d.mask.to_bools().map(u8::from),
            coin: [0; crate::ARBP_NAME_SIZE],
            long_exchange: [0; crate::ARBP_NAME_SIZE],
            short_exchange: [0; crate::ARBP_NAME_SIZE],
            has_expected_apr: u8::from(r.expected_apr.is_some()),
            expected_apr: r.expected_apr.unwrap_or(0.0),
            risk_level: match r.risk {
                RiskLevel::Low => arbp_risk_level::ARBP_RISK_LOW,
                RiskLevel::Medium => arbp_risk_level::ARBP_RISK_MEDIUM,
                RiskLevel::High => arbp_risk_level::ARBP_RISK_HIGH,
            },
            override_reason: match r.override_reason {
                None | Some(Override::Risk(ExitReason::Policy)) => arbp_override::ARBP_OVERRIDE_NONE,
                Some(Override::Risk(ExitReason::StopLoss)) => arbp_override::ARBP_OVERRIDE_STOP_LOSS,
                Some(Override::Risk(ExitReason::LiquidationBuffer)) => {
                    arbp_override::ARBP_OVERRIDE_LIQUIDATION_BUFFER
                }
                Some(Override::Risk(ExitReason::Liquidated)) => arbp_override::ARBP_OVERRIDE_LIQUIDATED,
                Some(Override::PolicyFailed) => arbp_override::ARBP_OVERRIDE_POLICY_FAILED,
                Some(Override::NonFiniteOutput) => arbp_override::ARBP_OVERRIDE_NON_FINITE_OUTPUT,
            },
        };
        write_text(&mut out.action_name, NAMES[usize::from(d.action_index)]);
        for (field, name) in [
            (&mut out.coin, r.coin),
            (&mut out.long_exchange, r.long_venue),
            (&mut out.short_exchange, r.short_venue),
        ] {
            write_text(field, name.as_ref().map_or("", |n| n.as_str()));
        }
        out
    }
}

/// Decide what to do now. Risk overrides come first (a position past the stop-loss or inside the
/// liquidation buffer is exited without asking the policy); otherwise the policy's most probable
/// allowed action (or one drawn with `request->sample_seed`). The decision never names an action
/// the risk limits forbid; a policy that fails or gives non-finite outputs yields HOLD with
/// `override_reason` saying why.
///
/// The caller sets `out->struct_size = sizeof(arbp_decision)`; on success every other field is
/// written, on failure `*out` is left as it was.
///
/// # Safety
/// `session` must be a live session used by this thread only; `request` a valid request whose
/// arrays hold their counts; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_decide(
    session: *mut arbp_session,
    request: *const arbp_request,
    out: *mut arbp_decision,
) -> arbp_status {
    guard("arbp_decide", || {
        // SAFETY: per the function's contract.
        let (session, request, out) = unsafe {
            (reference_mut(session, "session")?, reference(request, "request")?, reference_mut(out, "out")?)
        };
        check_size::<arbp_decision>(out.struct_size, "arbp_decision")?;
        // SAFETY: per the function's contract.
        let (input, selector) = unsafe { convert(request) }?;
        let decision = decide(&mut session.policy, &input.request(), selector)?;
        *out = arbp_decision::from_decision(&decision);
        Ok(())
    })
}

/// Answer a JSON request (`docs/decision-json.md`) with a JSON decision: `len` bytes of UTF-8 at
/// `json` (no NUL needed) in, the decision NUL-terminated into `out` (`cap` bytes). A buffer of
/// `ARBP_DECISION_JSON_MAX` bytes always holds the answer, so one call with it suffices. `*needed`
/// is set to the size the answer needs with its NUL, on success and on `ARBP_BUFFER_TOO_SMALL`
/// (then `out` is untouched); `out` may be NULL with `cap` 0 to ask the size.
///
/// # Safety
/// `session` as for `arbp_decide`; `json` readable for `len` bytes; `out` writable for `cap` bytes;
/// `needed` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arbp_decide_json(
    session: *mut arbp_session,
    json: *const c_char,
    len: usize,
    out: *mut c_char,
    cap: usize,
    needed: *mut usize,
) -> arbp_status {
    guard("arbp_decide_json", || {
        // SAFETY: per the function's contract.
        let (session, needed) =
            unsafe { (reference_mut(session, "session")?, reference_mut(needed, "needed")?) };
        // SAFETY: `len` readable bytes at `json`.
        let bytes = unsafe { slice(json.cast::<u8>(), len, usize::MAX, "json") }?;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Failure::new(arbp_status::ARBP_INVALID_UTF8, format!("the request is not UTF-8: {e}"))
        })?;
        let answer = decide_json(&mut session.policy, text).map_err(|e| match e {
            JsonError::Malformed(m) => Failure::new(arbp_status::ARBP_MALFORMED_JSON, m),
            JsonError::Invalid(e) => Failure::from(e),
            other => Failure::new(arbp_status::ARBP_INVALID_INPUT, other),
        })?;
        *needed = answer.len() + 1;
        if cap < answer.len() + 1 {
            return Err(Failure::new(
                arbp_status::ARBP_BUFFER_TOO_SMALL,
                format!("the decision needs {} bytes, the buffer holds {cap}", answer.len() + 1),
            ));
        }
        if out.is_null() {
            return Err(Failure::new(arbp_status::ARBP_NULL_POINTER, "out is NULL"));
        }
        // SAFETY: `cap >= answer.len() + 1` writable bytes at `out`.
        unsafe {
            std::ptr::copy_nonoverlapping(answer.as_ptr(), out.cast::<u8>(), answer.len());
            *out.add(answer.len()) = 0;
        }
        Ok(())
    })
}
