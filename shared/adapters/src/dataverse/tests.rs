//! Unit tests of the pure parts: ids, escaping, token timing, phone notations, configuration
//! checks, card links, truncation and Entra's error text.

use std::time::Duration;

use super::auth::{entra_message, token_reuse_period};
use super::contacts::phone_notations;
use super::odata::{encode_query_value, truncate};
use super::*;

fn config() -> DataverseConfig {
    DataverseConfig::new(
        "https://org.crm4.dynamics.com/",
        "contoso.onmicrosoft.com",
        "app",
        "s3cret",
    )
}

#[test]
fn activity_ids_are_uuid_v5_of_the_call_id() {
    let first = activity_id("1712316600.1234");
    assert_eq!(first, activity_id("1712316600.1234"));
    assert_ne!(first, activity_id("1712316600.1235"));
    assert_eq!(first.get_version_num(), 5);
    // Pinned: changing the namespace would break the idempotency of logged calls.
    assert_eq!(
        activity_id("1712316600.1234"),
        Uuid::new_v5(&CALL_ID_NAMESPACE, b"1712316600.1234")
    );
    assert_eq!(
        CALL_ID_NAMESPACE.hyphenated().to_string(),
        "3c6f2a4e-9b1d-4f70-8e25-6a7bc1d0e9f3"
    );
}

#[test]
fn filter_values_escape_plus_and_double_quotes() {
    assert_eq!(odata_string("o'brien@x.com"), "'o''brien@x.com'");
    assert_eq!(
        encode_query_value("telephone1 eq '+380501234567'"),
        "telephone1%20eq%20%27%2B380501234567%27"
    );
    assert_eq!(encode_query_value("a&b=c#d"), "a%26b%3Dc%23d");
}

#[test]
fn tokens_are_reused_until_five_minutes_before_expiry() {
    assert_eq!(
        token_reuse_period(Duration::from_secs(3599)),
        Duration::from_secs(3299)
    );
    // Short-lived tokens: half their life.
    assert_eq!(
        token_reuse_period(Duration::from_secs(120)),
        Duration::from_secs(60)
    );
    assert_eq!(token_reuse_period(Duration::ZERO), Duration::ZERO);
}

#[test]
fn ukrainian_numbers_are_searched_in_three_notations() {
    let phone = PhoneNumber::parse("0501234567").expect("valid");
    assert_eq!(
        phone_notations(&phone),
        ["+380501234567", "380501234567", "0501234567"]
    );
    let polish = PhoneNumber::parse("+48221234567").expect("valid");
    assert_eq!(phone_notations(&polish), ["+48221234567", "48221234567"]);
}

#[test]
fn configuration_is_checked_and_the_secret_never_printed() {
    let adapter = Dataverse::new(config(), RetryPolicy::default()).expect("valid");
    assert_eq!(adapter.api, "https://org.crm4.dynamics.com/api/data/v9.2");
    assert_eq!(adapter.scope, "https://org.crm4.dynamics.com/.default");
    assert_eq!(
        adapter.token_url,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert!(!format!("{:?}", config()).contains("s3cret"));

    let mut bad = config();
    bad.utm_columns.source = Some("New UTM".into());
    assert!(matches!(
        Dataverse::new(bad, RetryPolicy::default()),
        Err(CrmError::Config(_))
    ));
    let mut bad = config();
    bad.environment_url = "org.crm4.dynamics.com".into();
    assert!(matches!(
        Dataverse::new(bad, RetryPolicy::default()),
        Err(CrmError::Config(_))
    ));
    let mut bad = config();
    bad.client_secret = " ".into();
    assert!(matches!(
        Dataverse::new(bad, RetryPolicy::default()),
        Err(CrmError::Config(_))
    ));
}

#[test]
fn card_links_open_the_contact_form() {
    let mut with_app = config();
    with_app.app_id = Some("7e1f0c7a-0000-4000-8000-000000000001".into());
    let id = "3f0e6c1a-1111-4222-8333-944455556666";
    assert_eq!(
        Dataverse::new(config(), RetryPolicy::default())
            .expect("valid")
            .contact_card_url(id),
        format!(
            "https://org.crm4.dynamics.com/main.aspx?etn=contact&id={id}&pagetype=entityrecord"
        )
    );
    assert_eq!(
        Dataverse::new(with_app, RetryPolicy::default())
            .expect("valid")
            .contact_card_url(id),
        format!(
            "https://org.crm4.dynamics.com/main.aspx?appid=7e1f0c7a-0000-4000-8000-000000000001&etn=contact&id={id}&pagetype=entityrecord"
        )
    );
}

#[test]
fn long_texts_are_cut_to_the_column_length() {
    assert_eq!(truncate("abc", 3), "abc");
    assert_eq!(truncate("abcd", 3), "ab…");
    assert_eq!(truncate("тривалість", 5).chars().count(), 5);
}

#[test]
fn entra_errors_keep_the_code_and_drop_the_trace() {
    let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2","error_codes":[7000215]}"#;
    assert_eq!(
        entra_message(body),
        "invalid_client: AADSTS7000215: Invalid client secret provided."
    );
}

#[test]
fn the_default_id_namespace_is_v5_of_the_environment_url() {
    let expected = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://org.crm4.dynamics.com");
    assert_eq!(
        default_id_namespace("https://org.crm4.dynamics.com"),
        expected
    );
    // Spellings of the same environment agree.
    assert_eq!(
        default_id_namespace(" https://ORG.crm4.Dynamics.com/ "),
        expected
    );
    assert_ne!(
        default_id_namespace("https://other.crm4.dynamics.com"),
        expected
    );
    let adapter = Dataverse::new(config(), RetryPolicy::default()).expect("valid");
    assert_eq!(adapter.id_namespace(), expected);
}

#[test]
fn record_ids_are_v5_in_the_configured_namespace() {
    let namespace = Uuid::from_u128(0x6f1e_0b3a_52c4_4d8e_9a71_0c2b_3d4e_5f60);
    let mut configured = config();
    configured.id_namespace = Some(namespace);
    let adapter = Dataverse::new(configured, RetryPolicy::default()).expect("valid");
    let phone = PhoneNumber::parse("050 123 45 67").expect("valid");

    assert_eq!(adapter.id_namespace(), namespace);
    assert_eq!(
        adapter.contact_id_for(&phone),
        Uuid::new_v5(&namespace, b"+380501234567").to_string()
    );
    assert_eq!(
        adapter.note_id_for("1712316600.1234"),
        Uuid::new_v5(&namespace, b"note:1712316600.1234").to_string()
    );
    let contact = "3F0E6C1A-1111-4222-8333-944455556666";
    assert_eq!(
        adapter.deal_id_for(contact),
        Some(Uuid::new_v5(&namespace, b"deal:3f0e6c1a-1111-4222-8333-944455556666").to_string())
    );
    assert_eq!(adapter.deal_id_for("not-a-guid"), None);
    // Another deployment's namespace gives other ids.
    let other = Dataverse::new(config(), RetryPolicy::default()).expect("valid");
    assert_ne!(other.contact_id_for(&phone), adapter.contact_id_for(&phone));
}

#[test]
fn a_duplicate_key_is_a_412_or_a_5xx_saying_so() {
    use super::keys::is_duplicate_key;
    use reqwest::StatusCode;
    let message = "A record with matching key values already exists.";
    assert!(is_duplicate_key(StatusCode::PRECONDITION_FAILED, message));
    assert!(is_duplicate_key(StatusCode::INTERNAL_SERVER_ERROR, message));
    assert!(is_duplicate_key(
        StatusCode::INTERNAL_SERVER_ERROR,
        "HTTP 500: 0x80040237"
    ));
    assert!(!is_duplicate_key(
        StatusCode::INTERNAL_SERVER_ERROR,
        "HTTP 500: Generic SQL error."
    ));
    assert!(!is_duplicate_key(StatusCode::BAD_REQUEST, message));
}

#[tokio::test]
async fn the_id_namespace_is_read_from_its_variable() {
    use crate::registry::ReadSection;
    use crate::secret_store::SecretStore;
    use bridge_domain::secret::Secret;

    let secrets = SecretStore::new("http://127.0.0.1:9", Secret::new(String::new()));
    let read = |namespace: Option<&'static str>| {
        let lookup = move |name: &str| match name {
            "DATAVERSE_URL" => Some("https://org.crm4.dynamics.com".to_owned()),
            "DATAVERSE_TENANT_ID" => Some("tenant".to_owned()),
            "DATAVERSE_CLIENT_ID" => Some("app".to_owned()),
            "DATAVERSE_CLIENT_SECRET" => Some("s3cret".to_owned()),
            "DATAVERSE_ID_NAMESPACE" => namespace.map(str::to_owned),
            _ => None,
        };
        let secrets = &secrets;
        async move { DataverseConfig::read(&lookup, secrets).await }
    };
    assert_eq!(read(None).await.expect("valid").id_namespace, None);
    assert_eq!(
        read(Some("6f1e0b3a-52c4-4d8e-9a71-0c2b3d4e5f60"))
            .await
            .expect("valid")
            .id_namespace,
        Some(Uuid::from_u128(0x6f1e_0b3a_52c4_4d8e_9a71_0c2b_3d4e_5f60))
    );
    let error = read(Some("not-a-uuid")).await.expect_err("refused");
    assert!(
        error.to_string().contains("DATAVERSE_ID_NAMESPACE"),
        "{error}"
    );
}
