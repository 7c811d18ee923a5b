//! Input caps of the call webhooks: a phone value longer than any number is refused before
//! parsing, naming its field; free text copied into the CRM is cut to its cap with a marker;
//! an overlong link is left out.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_domain::ringostat::fields::{
    MAX_LINK_CHARS, MAX_LONG_TEXT_CHARS, MAX_PHONE_CHARS, MAX_SHORT_TEXT_CHARS, TRUNCATION_MARKER,
};
use bridge_domain::ringostat::{CallEvent, EventError, EventKind, ParseOptions};
use serde_json::{Value, json};

fn parse(kind: EventKind, body: &Value) -> Result<CallEvent, EventError> {
    CallEvent::from_request(
        kind,
        Some("application/json"),
        body.to_string().as_bytes(),
        None,
        &ParseOptions::default(),
    )
}

fn incoming(caller: &str) -> Value {
    json!({"uniqueid": "ua0_-1.1", "call_type": "in", "caller": caller, "dst": "380441112233",
           "disposition": "ANSWERED", "billsec": 10})
}

#[test]
fn a_phone_value_longer_than_any_number_is_refused_naming_its_field() {
    // A valid number drowned in separators: libphonenumber would read it, the cap does not let it.
    let long = format!("+380501234567{}", "-".repeat(MAX_PHONE_CHARS));
    let error = parse(EventKind::AfterCall, &incoming(&long)).unwrap_err();
    assert_eq!(error.field(), Some("caller"), "{error}");
    assert!(error.to_string().contains("longer than 64"), "{error}");

    let outgoing = json!({"uniqueid": "ua0_-1.2", "call_type": "out",
        "caller": "\"Олена\" <acmeua_olena>", "dst": long});
    let error = parse(EventKind::AfterOutgoingCall, &outgoing).unwrap_err();
    assert_eq!(error.field(), Some("dst"), "{error}");

    // At the cap it is still read.
    let at_cap = format!("+380501234567{}", " ".repeat(MAX_PHONE_CHARS - 13));
    assert_eq!(
        parse(EventKind::AfterCall, &incoming(&at_cap))
            .unwrap()
            .client_phone
            .e164(),
        "+380501234567"
    );
    // A long display name is free text, not a number.
    let named = format!("\"{}\" <380501234567>", "Ім'я ".repeat(30));
    assert!(parse(EventKind::AfterCall, &incoming(&named)).is_ok());
}

#[test]
fn free_text_is_cut_to_its_cap_with_the_marker() {
    let mut body = incoming("380501234567");
    body["summary"] = json!("Клієнт ".repeat(1000));
    body["recommendations"] = json!("ok");
    body["employee_fio"] = json!("Олена ".repeat(100));
    body["utm_campaign"] = json!("c".repeat(300));
    body["recording"] = json!(format!(
        "https://app.ringostat.com/{}",
        "r".repeat(MAX_LINK_CHARS)
    ));
    let event = parse(EventKind::CallAnalysis, &body).unwrap();

    let summary = event.analysis.summary.unwrap();
    assert_eq!(summary.chars().count(), MAX_LONG_TEXT_CHARS);
    assert!(summary.starts_with("Клієнт Клієнт"));
    assert!(summary.ends_with(TRUNCATION_MARKER));
    assert_eq!(event.analysis.recommendations.as_deref(), Some("ok"));
    let name = event.employee.name.unwrap();
    assert_eq!(name.chars().count(), MAX_SHORT_TEXT_CHARS);
    assert!(name.ends_with(TRUNCATION_MARKER));
    assert_eq!(
        event.utm.campaign.unwrap().chars().count(),
        MAX_SHORT_TEXT_CHARS
    );
    assert_eq!(event.recording_url, None, "a cut link leads nowhere");
    assert!(event.ignored_fields.contains(&"recording"));
}
