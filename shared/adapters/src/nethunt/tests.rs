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
