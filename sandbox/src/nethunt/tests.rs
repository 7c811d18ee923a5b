use std::collections::BTreeMap;

use serde_json::json;

use super::datetime::{is_iso_utc, iso_from_unix_millis, now_iso};
use super::search::{Matching, fuzzy_match};
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
        // Parentheses without a field are text, not a group.
        ("(050) 123", "(050) 123"),
    ] {
        assert_eq!(search_terms(query), Ok(vec![value.to_owned()]), "{query}");
    }
}

#[test]
fn a_group_after_a_field_gives_each_alternative() {
    for (query, terms) in [
        (
            r#""Номер телефону":("0501234567" OR "123 45 67" OR "123-45-67")"#,
            &["0501234567", "123 45 67", "123-45-67"][..],
        ),
        (
            "stage:(Negotiating OR New OR Presentation)",
            &["Negotiating", "New", "Presentation"],
        ),
        // Bare words between two ORs are one alternative; a quoted OR is text.
        (r#"Етап:( Нова угода OR "OR" )"#, &["Нова угода", "OR"]),
        (r#""Телефон":("+380501234567")"#, &["+380501234567"]),
    ] {
        assert_eq!(
            search_terms(query),
            Ok(terms.iter().map(|t| (*t).to_owned()).collect()),
            "{query}"
        );
    }
    for malformed in [
        r#""Телефон":("0501234567" OR "123 45 67""#,
        r#""Телефон":("0501234567" OR )"#,
        r#""Телефон":(OR "0501234567")"#,
        r#""Телефон":()"#,
        r#""Телефон":("0501234567)"#,
    ] {
        assert!(search_terms(malformed).is_err(), "{malformed}");
    }
}

/// Which of the records find-record returns for `query`, by id.
fn hits(state: &NetHuntState, query: &str, matching: Matching) -> Vec<String> {
    let needles = matching.needles(&search_terms(query).expect("a valid query"));
    state
        .records
        .iter()
        .filter(|r| fuzzy_match(r, &needles, matching))
        .map(|r| r.id.clone())
        .collect()
}

#[test]
fn search_is_a_case_insensitive_substring_match_as_typed() {
    let mut state = NetHuntState::default();
    let exact = state.seed_contact("+380501234567", "", "");
    let longer = state.seed_contact("+3805012345678", "", "");
    let extension = state.seed_contact("+380501234567 доб. 12", "", "");
    let formatted = state.seed_contact("+38 (050) 123-45-67", "", "");
    let national = state.seed_contact("050 123 45 67", "", "");
    let other = state.seed_contact("+380671112233", "Іван ПЕТРЕНКО", "");

    let e164 = hits(&state, r#""Телефон":"+380501234567""#, Matching::AsTyped);
    assert_eq!(e164, [exact.clone(), longer.clone(), extension.clone()]);
    // Separators are not normalised: each notation is found by a term written like it.
    let grouped = hits(
        &state,
        r#""Телефон":("0501234567" OR "123-45-67" OR "123 45 67")"#,
        Matching::AsTyped,
    );
    assert_eq!(
        grouped,
        [
            exact,
            longer,
            extension,
            formatted.clone(),
            national.clone()
        ]
    );
    assert_eq!(
        hits(&state, "петренко", Matching::AsTyped),
        std::slice::from_ref(&other),
        "case-insensitive"
    );
    // The lenient reading finds the formatted numbers with the E.164 query alone.
    let lenient = hits(
        &state,
        r#""Телефон":"380501234567""#,
        Matching::IgnoringSeparators,
    );
    assert!(lenient.contains(&formatted), "{lenient:?}");
    assert!(!lenient.contains(&national) && !lenient.contains(&other));
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

#[test]
fn a_renamed_workspace_names_its_folders_and_fields_its_own_way() {
    let layout = Layout::renamed();
    let mut state = NetHuntState::with_layout(layout.clone());
    let contact = state.seed_contact("050 123 45 67", "Марія", "olena@acme.ua");
    let names = &layout.fields;

    assert_eq!(state.contact_count(), 1);
    assert_eq!(state.folder(CONTACTS_FOLDER_ID).map(|f| f.id.clone()), None);
    let contacts = state
        .folder(&layout.contacts_folder_id)
        .expect("renamed folder");
    assert_eq!(contacts.name, "Клієнти");
    assert!(contacts.kind_of(fields::NAME).is_none());
    assert!(contacts.kind_of(fields::PHONE).is_none());
    assert_eq!(
        state.field_of(&contact, &names.contact_name),
        Some(json!("Марія"))
    );
    assert_eq!(
        state.field_of(&contact, &names.phone),
        Some(json!(["050 123 45 67"]))
    );
    assert_eq!(state.owner_of(&contact).as_deref(), Some("olena@acme.ua"));

    let mut deal = BTreeMap::new();
    deal.insert(names.deal_name.clone(), json!("Дзвінок з +380501234567"));
    deal.insert(names.deal_contact.clone(), json!([contact]));
    let deals_folder = layout.deals_folder_id.clone();
    state.insert_record(&deals_folder, deal);
    assert_eq!(state.deals_of(&contact), ["Дзвінок з +380501234567"]);
    assert_eq!(state.deal_count(), 1);
    // Every seeded name differs from its renamed counterpart, so nothing passes by accident.
    let seeded = FieldNames::default();
    for (renamed, default) in [
        (&names.contact_name, &seeded.contact_name),
        (&names.phone, &seeded.phone),
        (&names.manager, &seeded.manager),
        (&names.source, &seeded.source),
        (&names.medium, &seeded.medium),
        (&names.campaign, &seeded.campaign),
        (&names.keyword, &seeded.keyword),
        (&names.deal_name, &seeded.deal_name),
        (&names.deal_stage, &seeded.deal_stage),
        (&names.deal_manager, &seeded.deal_manager),
        (&names.deal_contact, &seeded.deal_contact),
    ] {
        assert_ne!(renamed, default);
        let in_folder = |folder: &str| state.folder(folder).and_then(|f| f.kind_of(default));
        assert!(in_folder(&layout.contacts_folder_id).is_none(), "{default}");
        assert!(in_folder(&layout.deals_folder_id).is_none(), "{default}");
    }
}

/// What the bridge writes for an answered incoming call (subject, description; `time` in UTC,
/// `duration` in decimal minutes).
fn answered_call_log(record_id: &str, text: &str, duration: f64) -> CallLog {
    CallLog {
        id: format!("log-{record_id}"),
        record_id: record_id.to_owned(),
        created_at: "2026-01-10T09:00:00.000Z".into(),
        text: text.to_owned(),
        time: Some("2024-04-05T11:30:00.000Z".into()),
        duration: Some(duration),
    }
}

#[test]
fn a_card_reads_the_call_as_a_person_would() {
    let mut state = NetHuntState::default();
    let client = state.seed_contact(
        "+380501234567",
        "Марія Шевченко",
        "olena.kovalenko@smart-crm.example",
    );
    state.set_field(&client, fields::SOURCE, json!("google"));
    state.call_logs.push(answered_call_log(
        &client,
        "Вхідний дзвінок від +380501234567 (прийнятий)\nСтатус: прийнятий (ANSWERED)\n\
         Тривалість: 1:35 (розмова 1:23, очікування 0:12)\nМенеджер: Олена Коваленко\n\
         Запис: https://app.ringostat.com/recordings/1.mp3\nRingostat ID: ua0_-1.1001",
        1.58,
    ));
    state.comments.push(Comment {
        id: "c1".into(),
        record_id: client.clone(),
        created_at: "2026-01-10T09:05:00.000Z".into(),
        text: "AI-аналіз дзвінка\nПідсумок: замовлення вікон".into(),
    });
    let mut deal = BTreeMap::new();
    deal.insert(fields::NAME.to_owned(), json!("Дзвінок з +380501234567"));
    deal.insert(fields::STAGE.to_owned(), json!("Новий"));
    deal.insert(fields::MANAGER.to_owned(), json!(["bridge@example.com"]));
    deal.insert(fields::CONTACT.to_owned(), json!([client]));
    state.insert_record(DEALS_FOLDER_ID, deal);

    let cards = cards(&state);
    assert_eq!(cards.len(), 1);
    let card = &cards[0];
    assert_eq!(card.name, "Марія Шевченко");
    assert_eq!(card.phones, ["+380501234567"]);
    assert_eq!(
        card.facts,
        [("Owner".to_owned(), "Олена Коваленко".to_owned())],
        "the workspace user's name, as the events give it"
    );
    assert_eq!(card.tags, ["Джерело: google"]);
    assert_eq!(card.deals.len(), 1);
    assert_eq!(card.deals[0].stage.as_deref(), Some("Новий"));
    assert_eq!(
        card.deals[0].owner.as_deref(),
        Some("Ringostat Bridge"),
        "a bare e-mail is named from the workspace's users"
    );
    let calls = card.calls();
    let (at, call) = calls[0];
    assert_eq!(
        at.map(|t| t.to_string()).as_deref(),
        Some("2024-04-05T11:30:00Z"),
        "the call's own time, not the record's creation"
    );
    assert_eq!(call.incoming, Some(true));
    assert_eq!(call.answered, Some(true));
    assert_eq!(
        call.duration.as_deref(),
        Some("1:35"),
        "exact, from the text"
    );
    assert_eq!(call.manager.as_deref(), Some("Олена Коваленко"));
    assert_eq!(
        call.recording.as_deref(),
        Some("https://app.ringostat.com/recordings/1.mp3")
    );
    assert!(card.timeline.iter().any(|entry| matches!(
        &entry.what,
        crate::page::What::Note { title, text }
            if title == "AI-аналіз дзвінка" && text == "Підсумок: замовлення вікон"
    )));
}

#[test]
fn a_call_whose_text_has_no_length_shows_the_decimal_minutes_as_m_ss() {
    let mut state = NetHuntState::default();
    let client = state.seed_contact("+380501234567", "Іван", "");
    state
        .call_logs
        .push(answered_call_log(&client, "Дзвінок", 1.58));
    state
        .call_logs
        .push(answered_call_log(&client, "Дзвінок", 62.5));
    let durations: Vec<Option<String>> = cards(&state)[0]
        .timeline
        .iter()
        .map(|entry| match &entry.what {
            crate::page::What::Call(call) => call.duration.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        durations,
        [Some("1:35".to_owned()), Some("1:02:30".to_owned())]
    );
    assert!(cards(&state)[0].facts.is_empty(), "no owner, no e-mail");
}

#[test]
fn seeded_contacts_show_the_workspace_users_names() {
    let mut state = NetHuntState::default();
    let known = state.seed_contact("+380501234567", "Марія", crate::DEMO_MANAGER_EMAIL);
    assert_eq!(
        state.field_of(&known, fields::MANAGER),
        Some(json!([format!(
            "{} <{}>",
            crate::DEMO_MANAGER_NAME,
            crate::DEMO_MANAGER_EMAIL
        )]))
    );
    state.seed_user("Ірина Бондар", "iryna@acme.ua");
    let other = state.seed_contact("+380671112233", "Петро", "iryna@acme.ua");
    assert_eq!(
        state.field_of(&other, fields::MANAGER),
        Some(json!(["Ірина Бондар <iryna@acme.ua>"]))
    );
    assert_eq!(state.user_name("IRYNA@acme.ua"), Some("Ірина Бондар"));
    assert_eq!(state.user_name("nobody@acme.ua"), None);
}
