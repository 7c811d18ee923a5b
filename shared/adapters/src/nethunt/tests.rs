//! Unit tests of reading person values, writing durations and times, encoding queries, and
//! keeping the API key out of debug output.

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
