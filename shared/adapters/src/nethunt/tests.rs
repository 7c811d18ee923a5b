//! Unit tests of reading person values, writing durations and times, encoding queries, the
//! phone searches' queries, reading every variable, and keeping the API key out of debug output.

use jiff::Timestamp;

use super::call_log::{duration_value, iso_utc};
use super::records::parse_person;
use super::*;

#[test]
fn person_values_in_every_shape() {
    let user = |id: &str, name: Option<&str>| CrmUser {
        id: id.into(),
        name: name.map(str::to_owned),
    };
    assert_eq!(
        parse_person(&json!(["Olena Koval <olena@acme.ua>"])),
        Some(user("olena@acme.ua", Some("Olena Koval")))
    );
    assert_eq!(
        parse_person(&json!("olena@acme.ua")),
        Some(user("olena@acme.ua", None))
    );
    assert_eq!(
        parse_person(&json!(["<olena@acme.ua>"])),
        Some(user("olena@acme.ua", None))
    );
    assert_eq!(
        parse_person(&json!([{"name": "Olena", "email": "olena@acme.ua"}])),
        Some(user("olena@acme.ua", Some("Olena")))
    );
    assert_eq!(parse_person(&json!(["Olena Koval"])), None);
    assert_eq!(parse_person(&json!([])), None);
}

#[test]
fn durations_in_minutes_have_two_decimals() {
    assert_eq!(duration_value(95, DurationUnit::Minutes), json!(1.58));
    assert_eq!(duration_value(120, DurationUnit::Minutes), json!(2.0));
    assert_eq!(duration_value(0, DurationUnit::Minutes), json!(0.0));
    assert_eq!(duration_value(95, DurationUnit::Seconds), json!(95));
}

#[test]
fn times_are_iso_utc_with_milliseconds() {
    let at: Timestamp = "2024-05-01T13:00:00+03:00".parse().expect("valid");
    assert_eq!(iso_utc(at), "2024-05-01T10:00:00.000Z");
}

#[test]
fn queries_keep_plus_quotes_and_cyrillic_intact() {
    assert_eq!(
        encode("\"Телефон\":\"+380501234567\""),
        "%22%D0%A2%D0%B5%D0%BB%D0%B5%D1%84%D0%BE%D0%BD%22%3A%22%2B380501234567%22"
    );
}

#[test]
fn config_debug_hides_the_api_key() {
    let config = NetHuntConfig::new("bridge@acme.ua", "secret-key-123", "folder");
    assert!(!format!("{config:?}").contains("secret-key-123"));
}

#[test]
fn the_call_marker_matches_the_whole_call_id_only() {
    use super::recheck::mentions_call;
    let text = "Вхідний дзвінок\nСтатус: прийнятий\nRingostat ID: ua0_-1712316600.12";
    assert!(mentions_call(text, "ua0_-1712316600.12"));
    // A shorter id is a prefix of the longer one, not the same call.
    assert!(!mentions_call(text, "ua0_-1712316600.1"));
    assert!(!mentions_call(text, "1712316600.12"));
    assert!(mentions_call("Ringostat ID: 42\nmore", "42"));
    assert!(mentions_call("x Ringostat ID: 42 (retry)", "42"));
    assert!(!mentions_call("Ringostat ID: 420", "42"));
}

#[test]
fn an_earlier_write_is_on_the_same_record_with_the_mark() {
    use super::recheck::{Mark, is_earlier_write};
    let own = "AI-аналіз дзвінка\nПідсумок: ok\nRingostat ID: 77";
    let mark = Mark::of("77", own);
    assert_eq!(mark, Mark::Call("77"));
    let item = |record: &str, text: &str| json!({"recordId": record, "text": text});
    assert!(is_earlier_write(
        &item("r1", "other wording\nRingostat ID: 77"),
        "r1",
        &mark
    ));
    assert!(!is_earlier_write(&item("r2", own), "r1", &mark));
    assert!(!is_earlier_write(
        &item("r1", "Ringostat ID: 78"),
        "r1",
        &mark
    ));
    assert!(!is_earlier_write(&json!({"recordId": "r1"}), "r1", &mark));
    // A text without the marker is recognised by the whole text.
    let plain = Mark::of("77", "Клієнт хоче знижку");
    assert_eq!(plain, Mark::Text("Клієнт хоче знижку"));
    assert!(is_earlier_write(
        &item("r1", "Клієнт хоче знижку "),
        "r1",
        &plain
    ));
    assert!(!is_earlier_write(&item("r1", "Клієнт"), "r1", &plain));
}

#[test]
fn rechecks_look_from_ten_minutes_before_the_call() {
    use super::recheck::since_for;
    let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
    let start: Timestamp = "2024-05-01T10:00:00Z".parse().expect("valid");
    assert_eq!(
        iso_utc(since_for(Some(start), now)),
        "2024-05-01T09:50:00.000Z"
    );
    // A start in the future (clock skew) counts as now.
    let later: Timestamp = "2024-05-01T13:00:00Z".parse().expect("valid");
    assert_eq!(
        iso_utc(since_for(Some(later), now)),
        "2024-05-01T11:50:00.000Z"
    );
    // No start: as far back as an ambiguous write is remembered (30 days), and 10 minutes.
    assert_eq!(iso_utc(since_for(None, now)), "2024-04-01T11:50:00.000Z");
}

#[test]
fn the_oldest_record_is_the_earliest_created_then_the_lowest_id() {
    use super::recheck::oldest;
    let record = |id: &str, created: Option<&str>| match created {
        Some(at) => json!({"recordId": id, "createdAt": at}),
        None => json!({"recordId": id}),
    };
    let records = [
        record("b", Some("2024-05-01T10:00:00.002Z")),
        record("c", Some("2024-05-01T10:00:00.001Z")),
        record("a", Some("2024-05-01T10:00:00.002Z")),
    ];
    assert_eq!(
        oldest(&records).map(|r| r["recordId"].clone()),
        Some(json!("c"))
    );
    let tie = [
        record("b", Some("2024-05-01T10:00:00.001Z")),
        record("a", Some("2024-05-01T10:00:00.001Z")),
    ];
    assert_eq!(
        oldest(&tie).map(|r| r["recordId"].clone()),
        Some(json!("a"))
    );
    // One without a date: the id order decides.
    let undated = [
        record("6650a1b20000000000000002", Some("2024-05-01T09:00:00.000Z")),
        record("6650a1b20000000000000001", None),
    ];
    assert_eq!(
        oldest(&undated).map(|r| r["recordId"].clone()),
        Some(json!("6650a1b20000000000000001"))
    );
    assert!(oldest(&[]).is_none());
}

#[test]
fn the_first_search_asks_for_the_e164_number_in_the_configured_field() {
    use super::contacts::field_query;
    assert_eq!(
        field_query("Номер телефону", "+380501234567"),
        r#""Номер телефону":"+380501234567""#
    );
}

#[test]
fn the_second_search_ors_every_other_notation_once() {
    use super::contacts::{any_of_query, other_notations};
    let phone = PhoneNumber::parse("050 123 45 67").expect("valid");
    let terms = other_notations(&phone);
    assert_eq!(
        terms,
        [
            "380501234567",
            "00380501234567",
            "0501234567",
            "80501234567",
            "1234567",
            "123 45 67",
            "123-45-67",
            "123.45.67",
            "123 4567",
            "123-4567",
        ]
    );
    assert!(!terms.iter().any(|t| t == phone.e164()), "asked already");
    assert_eq!(
        any_of_query("Телефон", &terms[..3]),
        r#""Телефон":("380501234567" OR "00380501234567" OR "0501234567")"#
    );
    // Sent fully percent-encoded: spaces, quotes and parentheses never reach the server raw.
    assert_eq!(
        encode(&any_of_query(
            "Tel",
            &["123 45 67".to_owned(), "0501".to_owned()]
        )),
        "%22Tel%22%3A%28%22123%2045%2067%22%20OR%20%220501%22%29"
    );
}

#[test]
fn every_notation_a_person_types_contains_a_term_of_one_of_the_searches() {
    use super::contacts::other_notations;
    let phone = PhoneNumber::parse("+380501234567").expect("valid");
    let mut terms = vec![phone.e164().to_owned()];
    terms.extend(other_notations(&phone));
    // NetHunt is not relied on to ignore separators: a plain substring must be there.
    let also = ["+38 050 123-4567"];
    for stored in bridge_domain::phone::STORED_NOTATIONS.iter().chain(&also) {
        assert!(
            terms.iter().any(|term| stored.contains(term.as_str())),
            "{stored}: no term of {terms:?}"
        );
    }
}

#[test]
fn every_field_name_is_configured_with_its_variable_and_none_is_blank() {
    let mut config = NetHuntConfig::new("bridge@acme.ua", "key", "folder");
    config.fields.utm_content = Some("Оголошення".into());
    let configured = config.fields.configured();
    assert_eq!(configured.len(), 12, "every NetHuntFields field");
    let variables: std::collections::BTreeSet<&str> =
        configured.iter().map(|f| f.variable).collect();
    assert_eq!(variables.len(), 12, "one variable each");
    assert!(
        configured
            .iter()
            .all(|f| f.variable.starts_with("NETHUNT_FIELD_"))
    );
    config.fields.deal_contact = " ".into();
    match NetHunt::new(config, RetryPolicy::default()) {
        Err(CrmError::Config(message)) => {
            assert!(message.contains("NETHUNT_FIELD_DEAL_CONTACT"), "{message}");
        }
        other => panic!("a blank deal contact field is refused: {other:?}"),
    }
}

/// Every NetHunt variable a workspace may need, read from the environment.
#[tokio::test]
async fn every_name_and_setting_is_read_from_its_variable() {
    use crate::registry::ReadSection;
    use crate::secret_store::SecretStore;
    use bridge_domain::secret::Secret;
    let vars: std::collections::HashMap<&str, &str> = [
        ("NETHUNT_EMAIL", "bridge@acme.ua"),
        ("NETHUNT_API_KEY", "key"),
        ("NETHUNT_CONTACTS_FOLDER_ID", "klienty"),
        ("NETHUNT_DEALS_FOLDER_ID", "prodazhi"),
        ("NETHUNT_FIELD_CONTACT_NAME", "Ім'я"),
        ("NETHUNT_FIELD_PHONE", "Номер телефону"),
        ("NETHUNT_FIELD_OWNER", "Відповідальний"),
        ("NETHUNT_FIELD_UTM_SOURCE", "Джерело трафіку"),
        ("NETHUNT_FIELD_UTM_MEDIUM", "Тип трафіку"),
        ("NETHUNT_FIELD_UTM_CAMPAIGN", "Рекламна кампанія"),
        ("NETHUNT_FIELD_UTM_TERM", "Пошуковий запит"),
        ("NETHUNT_FIELD_UTM_CONTENT", "Оголошення"),
        ("NETHUNT_FIELD_DEAL_NAME", "Назва угоди"),
        ("NETHUNT_FIELD_DEAL_STAGE", "Стадія"),
        ("NETHUNT_FIELD_DEAL_OWNER", "Відповідальний менеджер"),
        ("NETHUNT_FIELD_DEAL_CONTACT", "Клієнт"),
        ("NETHUNT_TIME_ZONE", "Europe/Kiev"),
        (
            "NETHUNT_CARD_URL_TEMPLATE",
            "https://acme.nethunt.com/#/{folder_id}/{record_id}",
        ),
        ("NETHUNT_PERSON_FORMAT", "email"),
        ("NETHUNT_PHONE_SEARCH", "separate"),
    ]
    .into();
    let store = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
    let read = |changes: &[(&'static str, &'static str)]| {
        let mut vars = vars.clone();
        vars.extend(changes.iter().copied());
        let lookup = move |name: &str| vars.get(name).map(|v| (*v).to_owned());
        let store = &store;
        async move { NetHuntConfig::read(&lookup, store).await }
    };
    let config = read(&[]).await.expect("valid");
    let configured = config.fields.configured();
    for field in &configured {
        assert_eq!(
            Some(&field.name),
            vars.get(field.variable),
            "{} is read",
            field.variable
        );
    }
    assert_eq!(configured.len(), 12);
    assert_eq!(config.contacts_folder_id, "klienty");
    assert_eq!(config.deals_folder_id.as_deref(), Some("prodazhi"));
    assert_eq!(config.time_zone, "Europe/Kiev");
    assert_eq!(
        config.card_url_template,
        "https://acme.nethunt.com/#/{folder_id}/{record_id}"
    );
    assert_eq!(config.person_format, PersonFormat::Email);
    assert_eq!(config.phone_search, PhoneSearch::Separate);

    for (variable, value) in [
        ("NETHUNT_TIME_ZONE", "Europe/Atlantis"),
        ("NETHUNT_CARD_URL_TEMPLATE", "https://acme.nethunt.com/"),
        ("NETHUNT_PERSON_FORMAT", "name"),
        ("NETHUNT_PHONE_SEARCH", "together"),
    ] {
        let error = read(&[(variable, value)]).await.expect_err(variable);
        assert!(error.to_string().contains(variable), "{error}");
        assert!(error.to_string().contains(value), "{error}");
    }
}
