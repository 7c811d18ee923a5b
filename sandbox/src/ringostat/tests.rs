use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::calls::{CallQuery, QueryProblem, call_query, select_calls};
use super::click_to_call::{is_number, is_sip_login};
use super::sync::validate_contact;
use super::*;

fn documented_contact() -> Value {
    json!({
        "projectId": 12345, "fullName": "Іван Петренко", "origin": "NetHunt CRM",
        "externalId": "42", "leadId": null, "responsible": "0", "staffId": null,
        "contactLink": null, "leadLink": null, "dealLink": null, "googleClientId": null,
        "contactDirections": [
            {"name": "personal", "type": "phone", "value": "+380671112233"},
            {"name": "personal", "type": "email", "value": "a@b.c"}
        ],
        "organizations": []
    })
}

#[test]
fn the_documented_contact_is_accepted_and_keyed_by_external_id() {
    assert_eq!(
        validate_contact(&documented_contact(), "12345"),
        Ok("42".to_owned())
    );
    let mut lead_only = documented_contact();
    lead_only["externalId"] = Value::Null;
    lead_only["leadId"] = json!("7");
    assert_eq!(
        validate_contact(&lead_only, "12345"),
        Ok("lead:7".to_owned())
    );
}

#[test]
fn shape_problems_are_named() {
    let cases: [(&str, Value, &str); 6] = [
        ("staffId", Value::Null, "drop"),
        ("projectId", json!("12345"), "projectId must be an integer"),
        (
            "projectId",
            json!(999),
            "projectId 999 is not the project of the auth-key",
        ),
        ("fullName", json!(""), "fullName is empty"),
        (
            "contactDirections",
            json!([{"name": "personal", "type": "phone", "value": "+38067"}]),
            "contactDirections[0].value is not a phone number in international format",
        ),
        (
            "externalId",
            Value::Null,
            "externalId may be null only when leadId is filled",
        ),
    ];
    for (key, value, expected) in cases {
        let mut contact = documented_contact();
        let expected = if expected == "drop" {
            contact.as_object_mut().map(|c| c.remove(key));
            format!("{key} is required")
        } else {
            contact[key] = value;
            expected.to_owned()
        };
        assert_eq!(validate_contact(&contact, "12345"), Err(expected), "{key}");
    }
}

#[test]
fn destinations_are_numbers_or_sip_logins() {
    for ok in ["380671112233", "acmecom_olena", "a1"] {
        assert!(is_number(ok) || is_sip_login(ok), "{ok}");
    }
    for bad in [
        "+380671112233",
        "0671",
        "Acme_Olena",
        "_acme",
        "067 111 22 33",
        "",
    ] {
        assert!(!(is_number(bad) || is_sip_login(bad)), "{bad}");
    }
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn day_query(fields: Option<&str>) -> BTreeMap<String, String> {
    let mut query = params(&[
        ("export_type", "json"),
        ("from", "2025-01-10 00:00:00"),
        ("to", "2025-01-10 23:59:59"),
        ("order", "calldate asc"),
    ]);
    if let Some(fields) = fields {
        query.insert("fields".into(), fields.into());
    }
    query
}

#[test]
fn call_queries_are_checked() {
    let query = call_query(&day_query(Some("uniqueid, calldate"))).expect("valid");
    assert_eq!(
        query,
        CallQuery {
            from: "2025-01-10 00:00:00".into(),
            to: "2025-01-10 23:59:59".into(),
            fields: Some(vec!["uniqueid".into(), "calldate".into()]),
            descending: false,
        }
    );
    let bad = |pairs: &[(&str, &str)]| match call_query(&params(pairs)) {
        Err(QueryProblem::BadRequest(message)) => message,
        other => panic!("{pairs:?}: {other:?}"),
    };
    assert!(bad(&[("to", "2025-01-10 00:00:00")]).contains("from is required"));
    assert!(bad(&[("from", "2025-01-10 00:00:00")]).contains("to is required"));
    for wrong in [
        "2025-01-10T00:00:00",
        "2025-13-10 00:00:00",
        "2025-01-10 24:00:00",
        "10.01.2025 00:00:00",
        "2025-01-10",
    ] {
        let message = bad(&[("from", wrong), ("to", "2025-01-11 00:00:00")]);
        assert!(message.contains("is not a date-time"), "{wrong}: {message}");
    }
    assert!(
        bad(&[
            ("from", "2025-01-11 00:00:00"),
            ("to", "2025-01-10 00:00:00")
        ])
        .contains("after")
    );
    let mut csv = day_query(None);
    csv.insert("export_type".into(), "csv".into());
    assert!(matches!(call_query(&csv), Err(QueryProblem::BadRequest(_))));
    assert_eq!(
        call_query(&day_query(Some("uniqueid,callerid"))),
        Err(QueryProblem::Refused(
            "invalid_fields",
            "Unknown field: callerid".into()
        ))
    );
}

#[test]
fn calls_are_selected_by_window_ordered_and_cut() {
    let log = vec![
        json!({"uniqueid": "late", "calldate": "2025-01-10 23:59:59", "caller": "1"}),
        json!({"uniqueid": "before", "calldate": "2025-01-09 23:59:59"}),
        json!({"uniqueid": "first", "calldate": "2025-01-10 00:00:00", "remote_ip": "10.0.0.1"}),
        json!({"uniqueid": "iso", "calldate": "2025-01-10T12:00:00+0200"}),
        json!({"uniqueid": "after", "calldate": "2025-01-11 00:00:00"}),
        json!({"uniqueid": "undated"}),
    ];
    let ids = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["uniqueid"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let query = call_query(&day_query(Some("uniqueid,calldate,caller"))).expect("valid");
    let rows = select_calls(&log, &query, CALLS_LIST_LIMIT);
    assert_eq!(ids(&rows), ["first", "iso", "late"]);
    assert_eq!(
        rows[0],
        json!({"uniqueid": "first", "calldate": "2025-01-10 00:00:00"})
    );
    assert_eq!(ids(&select_calls(&log, &query, 2)), ["first", "iso"]);
    let mut desc = day_query(None);
    desc.insert("order".into(), "calldate  DESC".into());
    let desc = call_query(&desc).expect("valid");
    let rows = select_calls(&log, &desc, CALLS_LIST_LIMIT);
    assert_eq!(ids(&rows), ["late", "iso", "first"]);
    assert_eq!(rows[2]["remote_ip"], json!("10.0.0.1"));
}

#[test]
fn contacts_are_upserted() {
    let mut state = RingostatState::default();
    state.upsert("42".into(), json!({"fullName": "Old"}));
    state.upsert("43".into(), json!({"fullName": "Other"}));
    state.upsert("42".into(), json!({"fullName": "New"}));
    assert_eq!(
        state.synced_contacts(),
        vec![json!({"fullName": "New"}), json!({"fullName": "Other"})]
    );
    assert_eq!(state.synced_contact("42"), Some(json!({"fullName": "New"})));
}
