//! Unit tests of the request bodies, the error detection, the calls/list query and windows,
//! and the reading and deduplication of exports.

use bridge_domain::phone::PhoneNumber;
use jiff::civil::DateTime;
use serde_json::{Value, json};

use super::calls::{call_id, calls_in, calls_query, dedupe_calls};
use super::dialer::outward_call_body;
use super::errors::rejection_in;
use super::sync::sync_body;
use super::*;

fn contact() -> SmartPhoneContact {
    SmartPhoneContact {
        external_id: "6650a1b20000000000000001".into(),
        full_name: "Іван Петренко".into(),
        phone: PhoneNumber::parse("+380671112233").expect("valid"),
        email: Some("ivan@example.com".into()),
        responsible: Some("olena@acme.ua".into()),
        contact_link: Some("https://nethunt.com/app/records/f/r".into()),
    }
}

#[test]
fn sync_body_has_the_documented_shape() {
    let body = sync_body(&contact(), "12345", "NetHunt CRM");
    assert_eq!(
        body,
        json!({"contacts": [{
            "projectId": 12345,
            "fullName": "Іван Петренко",
            "origin": "NetHunt CRM",
            "externalId": "6650a1b20000000000000001",
            "leadId": null,
            "responsible": "olena@acme.ua",
            "staffId": null,
            "contactLink": "https://nethunt.com/app/records/f/r",
            "leadLink": null,
            "dealLink": null,
            "googleClientId": null,
            "contactDirections": [
                {"type": "phone", "name": "personal", "value": "+380671112233"},
                {"type": "email", "name": "personal", "value": "ivan@example.com"}
            ],
            "organizations": []
        }]})
    );
}

#[test]
fn sync_body_fills_what_the_crm_leaves_out() {
    let bare = SmartPhoneContact {
        full_name: "  ".into(),
        email: Some(" ".into()),
        responsible: None,
        contact_link: None,
        ..contact()
    };
    let body = sync_body(&bare, "proj-x", "Smart CRM");
    let entry = &body["contacts"][0];
    assert_eq!(entry["projectId"], json!("proj-x"));
    assert_eq!(entry["fullName"], json!("+380671112233"));
    assert_eq!(entry["responsible"], json!("0"));
    assert_eq!(entry["contactLink"], Value::Null);
    assert_eq!(
        entry["contactDirections"],
        json!([{"type": "phone", "name": "personal", "value": "+380671112233"}])
    );
}

#[test]
fn outward_call_body_is_form_encoded() {
    assert_eq!(
        outward_call_body("380441112233", "380671112233"),
        "extension=380441112233&destination=380671112233"
    );
    assert_eq!(
        outward_call_body("380441112233", "acme_olena"),
        "extension=380441112233&destination=acme_olena"
    );
}

#[test]
fn errors_answered_with_success_status_are_found() {
    for (body, expected) in [
        (r#"{"error":"Invalid destination"}"#, "Invalid destination"),
        (
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}}"#,
            "Invalid params (code -32602)",
        ),
        (
            r#"{"status":"error","message":"No such extension"}"#,
            "No such extension",
        ),
        (r#"{"status":"FAIL","msg":"quota"}"#, "quota"),
        (r#"{"success":false,"message":"denied"}"#, "denied"),
        (r#"{"result":false}"#, r#"{"result":false}"#),
        (
            r#"{"errors":[{"message":"fullName is required"}]}"#,
            "fullName is required",
        ),
    ] {
        assert_eq!(rejection_in(body).as_deref(), Some(expected), "{body}");
    }
    for body in [
        "",
        "OK",
        "{}",
        r#"{"status":"ok"}"#,
        r#"{"error":null,"result":true}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"id":5}}"#,
        r#"{"success":true}"#,
        r#"{"error":""}"#,
        "[]",
    ] {
        assert_eq!(rejection_in(body), None, "{body}");
    }
}

#[test]
fn long_digit_runs_are_masked_in_messages() {
    assert_eq!(
        bridge_domain::phone::mask_long_numbers("Invalid destination 380671112233 (code 422)"),
        "Invalid destination ********2233 (code 422)"
    );
    assert_eq!(
        bridge_domain::phone::mask_long_numbers("code -32602"),
        "code -32602"
    );
}

#[test]
fn debug_output_hides_the_key() {
    let config = RingostatApiConfig::new("super-secret-key", Some("12345".into()), "Smart CRM");
    assert!(!format!("{config:?}").contains("super-secret-key"));
    let api = RingostatApi::new(config, RetryPolicy::default()).expect("valid config");
    let shown = format!("{api:?}");
    assert!(!shown.contains("super-secret-key"), "{shown}");
    assert!(shown.contains("12345"), "{shown}");
}

fn at(text: &str) -> DateTime {
    text.parse().expect("a civil date-time")
}

fn window(from: &str, to: &str) -> CallWindow {
    CallWindow::new(at(from), at(to))
}

fn row(value: Value) -> CallRow {
    match value {
        Value::Object(row) => row,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn the_calls_query_is_percent_encoded() {
    let query = calls_query(&window("2025-01-10 00:00:00", "2025-01-10 23:59:59.75"));
    assert_eq!(
        query,
        format!(
            "export_type=json&from=2025-01-10%2000%3A00%3A00&to=2025-01-10%2023%3A59%3A59\
             &fields={}&order=calldate%20asc",
            EXPORT_FIELDS.join("%2C")
        )
    );
}

#[test]
fn windows_halve_with_a_shared_boundary_until_one_second() {
    let day = window("2025-01-10 00:00:00", "2025-01-11 00:00:00");
    assert_eq!(
        day.halves(),
        Some((
            window("2025-01-10 00:00:00", "2025-01-10 12:00:00"),
            window("2025-01-10 12:00:00", "2025-01-11 00:00:00"),
        ))
    );
    let odd = window("2025-01-10 00:00:00", "2025-01-10 00:00:03");
    assert_eq!(
        odd.halves(),
        Some((
            window("2025-01-10 00:00:00", "2025-01-10 00:00:01"),
            window("2025-01-10 00:00:01", "2025-01-10 00:00:03"),
        ))
    );
    let two_seconds = window("2025-01-10 00:00:00.5", "2025-01-10 00:00:01.9");
    assert_eq!(
        two_seconds.halves(),
        Some((
            window("2025-01-10 00:00:00", "2025-01-10 00:00:00"),
            window("2025-01-10 00:00:01", "2025-01-10 00:00:01"),
        ))
    );
    for unsplittable in [
        window("2025-01-10 00:00:00", "2025-01-10 00:00:00"),
        window("2025-01-10 00:00:00.1", "2025-01-10 00:00:00.9"),
        window("2025-01-10 00:00:05", "2025-01-10 00:00:00"),
    ] {
        assert_eq!(unsplittable.halves(), None, "{unsplittable}");
    }
    // Every split makes progress, so slicing ends.
    let mut pending = vec![day];
    let mut slices = 0;
    while let Some(slice) = pending.pop() {
        slices += 1;
        if let Some((first, second)) = slice.halves() {
            assert!(first.span_seconds() < slice.span_seconds());
            assert!(second.span_seconds() < slice.span_seconds());
            if slice.span_seconds() > 86_000 {
                pending.extend([first, second]);
            }
        }
    }
    assert!(slices > 1);
}

#[test]
fn exports_are_read_bare_or_wrapped() {
    let call = json!({"uniqueid": "ua0_-1.1", "calldate": "2025-01-10 10:00:00"});
    for body in [
        json!([call]).to_string(),
        json!({"data": [call]}).to_string(),
        json!({"status": "success", "calls": [call]}).to_string(),
        json!({"items": [call], "total": 1}).to_string(),
        json!({"result": [call]}).to_string(),
    ] {
        assert_eq!(calls_in(&body), Ok(vec![row(call.clone())]), "{body}");
    }
    assert_eq!(calls_in("[]"), Ok(vec![]));
    for (body, expected) in [
        ("", "empty body"),
        ("uniqueid;calldate\n", "not JSON"),
        ("null", "answered null"),
        ("\"ok\"", "answered a string"),
        (r#"{"total": 0}"#, "without a list of calls (keys: total)"),
        (r#"[{"uniqueid": "a"}, 5]"#, "row 1 is a number"),
    ] {
        let message = calls_in(body).expect_err(body);
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[test]
fn calls_are_deduplicated_and_ordered_by_calldate() {
    let rows = vec![
        row(
            json!({"uniqueid": "a", "calldate": "2025-01-10 10:00:00", "disposition": "IN PROGRESS"}),
        ),
        row(json!({"uniqueid": "b", "calldate": "2025-01-10 10:00:05"})),
        row(json!({"calldate": "2025-01-10 10:00:01"})),
        row(json!({"uniqueid": "c", "calldate": "2025-01-10T09:59:59+0200"})),
        row(json!({"uniqueid": "a", "calldate": "2025-01-10 10:00:00", "disposition": "ANSWERED"})),
        row(json!({"uniqueid": "d"})),
        row(json!({"calldate": "2025-01-10 10:00:01"})),
    ];
    let calls = dedupe_calls(rows);
    let ids: Vec<String> = calls
        .iter()
        .map(|r| call_id(r).unwrap_or_else(|| "-".into()))
        .collect();
    assert_eq!(ids, ["c", "a", "-", "-", "b", "d"]);
    assert_eq!(calls[1]["disposition"], json!("ANSWERED"));
}

#[test]
fn a_blank_key_or_bad_url_is_a_configuration_error() {
    let blank = RingostatApiConfig::new(" ", None, "Smart CRM");
    assert!(matches!(
        RingostatApi::new(blank, RetryPolicy::default()),
        Err(RingostatApiError::Config(_))
    ));
    let mut bad_url = RingostatApiConfig::new("key", None, "Smart CRM");
    bad_url.base_url = "api.ringostat.net".into();
    assert!(matches!(
        RingostatApi::new(bad_url, RetryPolicy::default()),
        Err(RingostatApiError::Config(_))
    ));
}
