use std::collections::BTreeMap;

use serde_json::json;

use super::datetime::{is_iso_utc, iso_from_unix_millis, now_iso};
use super::search::fuzzy_match;
use super::values::{add_value, display_name_of, remove_value};
use super::*;

#[test]
fn every_query_syntax_yields_its_value() {
    for (query, value) in [
        (r#""Телефон":"+380501234567""#, "+380501234567"),
        (r#""Телефон": "+380501234567""#, "+380501234567"),
        (r#"Email:"ivan@example.com""#, "ivan@example.com"),
        ("phone:380501234567", "380501234567"),
        ("380501234567", "380501234567"),
        (r#""Ivan Petrenko""#, "Ivan Petrenko"),
        ("Ivan Petrenko", "Ivan Petrenko"),
    ] {
        assert_eq!(search_value(query), value, "{query}");
    }
}

#[test]
fn search_is_a_substring_match_after_squashing() {
    let mut state = NetHuntState::default();
    let exact = state.seed_contact("+38 (050) 123-45-67", "", "");
    let longer = state.seed_contact("+3805012345678", "", "");
    let extension = state.seed_contact("+380501234567 доб. 12", "", "");
    let other = state.seed_contact("+380671112233", "", "");
    let needle = squash(&search_value(r#""Телефон":"+380501234567""#));
    let hits: Vec<&str> = state
        .records
        .iter()
        .filter(|r| fuzzy_match(r, &needle))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(hits, [exact.as_str(), longer.as_str(), extension.as_str()]);
    assert!(!hits.contains(&other.as_str()));
}

#[test]
fn person_values_give_their_email() {
    assert_eq!(
        person_email("Olena Koval <olena@example.com>").as_deref(),
        Some("olena@example.com")
    );
    assert_eq!(
        person_email(" olena@example.com ").as_deref(),
        Some("olena@example.com")
    );
    assert_eq!(person_email("Olena Koval"), None);
    assert_eq!(display_name_of("olena.koval@example.com"), "Olena Koval");
}

#[test]
fn single_value_fields_keep_their_value_unless_overwritten() {
    let state = NetHuntState::default();
    let current = Some(json!("google"));
    let kept = add_value(
        &state,
        FieldKind::Text,
        current.clone(),
        &json!("fb"),
        false,
    );
    assert_eq!(kept, Ok(Some(json!("google"))));
    let replaced = add_value(&state, FieldKind::Text, None, &json!("fb"), true);
    assert_eq!(replaced, Ok(Some(json!("fb"))));
    let appended = add_value(
        &state,
        FieldKind::Multi,
        Some(json!(["+380501234567"])),
        &json!("+380671112233"),
        false,
    );
    assert_eq!(
        appended,
        Ok(Some(json!(["+380501234567", "+380671112233"])))
    );
    let removed = remove_value(
        FieldKind::Multi,
        Some(json!(["+380501234567", "+380671112233"])),
        &json!("+380501234567"),
    );
    assert_eq!(removed, Ok(Some(json!(["+380671112233"]))));
}

#[test]
fn the_page_shows_contacts_calls_comments_and_deals_escaped() {
    let mut state = NetHuntState::default();
    let contact = state.seed_contact("+380501234567", "<b>Іван</b>", "olena@acme.ua");
    state.comments.push(Comment {
        id: "c1".into(),
        record_id: contact.clone(),
        created_at: now_iso(),
        text: "AI: клієнт задоволений".into(),
    });
    state.call_logs.push(CallLog {
        id: "l1".into(),
        record_id: contact.clone(),
        created_at: now_iso(),
        text: "Вхідний дзвінок".into(),
        time: Some("2024-05-01T10:00:00.000Z".into()),
        duration: Some(1.58),
    });
    let mut deal = BTreeMap::new();
    deal.insert(fields::NAME.to_owned(), json!("Угода Івана"));
    deal.insert(fields::CONTACT.to_owned(), json!([contact]));
    state.insert_record(DEALS_FOLDER_ID, deal);

    let html = html_section(&state);

    for expected in [
        "&lt;b&gt;Іван&lt;/b&gt;",
        "Olena &lt;olena@acme.ua&gt;",
        "AI: клієнт задоволений",
        "Вхідний дзвінок",
        "1.58",
        "Угода Івана",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    assert!(!html.contains("<b>Іван"));
    assert_eq!(state.deals_of(&contact), ["Угода Івана"]);
}

#[test]
fn deal_owners_are_read_from_deals_only() {
    let mut state = NetHuntState::default();
    let contact = state.seed_contact("+380501234567", "Іван", "bridge@acme.ua");
    let mut deal = BTreeMap::new();
    deal.insert(fields::NAME.to_owned(), json!("Угода Івана"));
    deal.insert(
        fields::MANAGER.to_owned(),
        json!(["Olena Koval <olena@acme.ua>"]),
    );
    deal.insert(fields::CONTACT.to_owned(), json!([contact]));
    let deal = state.insert_record(DEALS_FOLDER_ID, deal);

    assert_eq!(state.deal_owner_of(&deal).as_deref(), Some("olena@acme.ua"));
    assert_eq!(state.owner_of(&contact).as_deref(), Some("bridge@acme.ua"));
    assert_eq!(state.deal_owner_of(&contact), None, "a contact is no deal");
    assert_eq!(state.deal_owner_of("6650a1b2ffffffffffffffff"), None);
}

#[test]
fn timestamps_are_iso_utc_with_milliseconds() {
    assert_eq!(iso_from_unix_millis(0), "1970-01-01T00:00:00.000Z");
    // 2024-05-01T10:00:00.250Z (a leap year, after February).
    assert_eq!(
        iso_from_unix_millis(1_714_557_600_250),
        "2024-05-01T10:00:00.250Z"
    );
    assert_eq!(
        iso_from_unix_millis(1_709_164_800_000),
        "2024-02-29T00:00:00.000Z"
    );
    assert!(is_iso_utc("2024-05-01T10:00:00.000Z"));
    assert!(!is_iso_utc("2024-05-01 10:00:00"));
}

#[test]
fn iso_utc_parses_to_milliseconds_and_back() {
    use super::datetime::parse_iso_utc_millis;
    for millis in [0, 1_714_557_600_250, 1_709_164_800_000, 951_782_400_999] {
        assert_eq!(
            parse_iso_utc_millis(&iso_from_unix_millis(millis)),
            Some(millis),
            "{millis}"
        );
    }
    assert_eq!(
        parse_iso_utc_millis("2024-05-01T10:00:00Z"),
        Some(1_714_557_600_000)
    );
    assert_eq!(
        parse_iso_utc_millis("2024-05-01T10:00:00.250999+00:00"),
        Some(1_714_557_600_250)
    );
    assert_eq!(
        parse_iso_utc_millis("2024-05-01T10:00:00.5Z"),
        Some(1_714_557_600_500)
    );
    for bad in [
        "2024-05-01 10:00:00Z",
        "2024-05-01T10:00:00+03:00",
        "2024-13-01T10:00:00Z",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T1a:00:00Z",
        "yesterday",
    ] {
        assert_eq!(parse_iso_utc_millis(bad), None, "{bad}");
    }
}
