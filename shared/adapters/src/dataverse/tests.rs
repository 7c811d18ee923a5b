//! Unit tests of the pure parts: ids, escaping, token timing, phone notations, configuration
//! checks, card links, truncation and Entra's error text.

use std::time::Duration;

use super::auth::{entra_message, token_reuse_period};
use super::contacts::{FRAGMENT_PAGE, SearchStep, step_filter};
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
fn a_number_is_searched_whole_then_by_its_last_seven_digits() {
    let terms = PhoneNumber::parse("0501234567")
        .expect("valid")
        .search_terms();
    let (whole, top) = step_filter(&["telephone1", "cr1a2_mobile"], &terms, SearchStep::Whole);
    assert_eq!(top, 10);
    assert_eq!(
        whole,
        "telephone1 eq '+380501234567' or telephone1 eq '380501234567' or \
         telephone1 eq '00380501234567' or telephone1 eq '0501234567' or \
         telephone1 eq '80501234567' or cr1a2_mobile eq '+380501234567' or \
         cr1a2_mobile eq '380501234567' or cr1a2_mobile eq '00380501234567' or \
         cr1a2_mobile eq '0501234567' or cr1a2_mobile eq '80501234567'"
    );
    let (fragments, top) = step_filter(&["telephone1"], &terms, SearchStep::Fragments);
    assert_eq!(top, FRAGMENT_PAGE);
    assert_eq!(
        fragments,
        "contains(telephone1,'1234567') or contains(telephone1,'123 45 67') or \
         contains(telephone1,'123-45-67') or contains(telephone1,'123.45.67') or \
         contains(telephone1,'123 4567') or contains(telephone1,'123-4567')"
    );
    // Sent as the server must read it: `+` escaped, spaces and quotes too.
    assert!(encode_query_value(&whole).contains("%27%2B380501234567%27"));
    assert!(!encode_query_value(&fragments).contains(' '));
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

#[test]
fn a_write_about_a_deleted_contact_is_not_found() {
    use super::odata::contact_gone;
    let contact = "3f0e6c1a-1111-4222-8333-944455556666";
    let refused = |message: String| CrmError::Rejected {
        status: 400,
        message,
    };
    let gone = contact_gone(
        refused(format!("contact With Id = {contact} Does Not Exist")),
        contact,
    );
    assert!(matches!(gone, CrmError::NotFound(_)), "{gone:?}");
    // Another missing record (a user from the staff list) stays what it is.
    let user = contact_gone(
        refused("systemuser With Id = 5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2ff Does Not Exist".into()),
        contact,
    );
    assert!(
        matches!(user, CrmError::Rejected { status: 400, .. }),
        "{user:?}"
    );
    let other = contact_gone(refused("Invalid property 'x'".into()), contact);
    assert!(matches!(other, CrmError::Rejected { .. }), "{other:?}");
    let transient = contact_gone(CrmError::Transient("HTTP 503".into()), contact);
    assert!(matches!(transient, CrmError::Transient(_)));
}

/// Reads the Dataverse section from `vars` plus the required variables.
async fn read_with(vars: &[(&'static str, &'static str)]) -> Result<DataverseConfig, String> {
    use crate::registry::ReadSection;
    use crate::secret_store::SecretStore;
    use bridge_domain::secret::Secret;

    let secrets = SecretStore::new("http://127.0.0.1:9", Secret::new(String::new()));
    let vars: Vec<(&str, &str)> = [
        ("DATAVERSE_URL", "https://org.crm4.dynamics.com"),
        ("DATAVERSE_TENANT_ID", "tenant"),
        ("DATAVERSE_CLIENT_ID", "app"),
        ("DATAVERSE_CLIENT_SECRET", "s3cret"),
    ]
    .into_iter()
    .chain(vars.iter().copied())
    .collect();
    let lookup = move |name: &str| {
        vars.iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    DataverseConfig::read(&lookup, &secrets)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn every_column_name_has_a_variable_and_the_seed_default() {
    let defaults = read_with(&[]).await.expect("valid");
    assert_eq!(defaults.contact_phone_column, "mobilephone");
    assert_eq!(
        defaults.search_columns,
        ["telephone1", "mobilephone", "telephone2"]
    );
    assert_eq!(defaults.digits_column, None);
    assert!(defaults.fragment_search);
    assert_eq!(defaults.contact_name_column.as_deref(), Some("lastname"));
    assert_eq!(defaults.utm_columns, UtmColumns::default());
    assert_eq!(defaults.deal_stage_column.as_deref(), Some("stepname"));
    assert_eq!(defaults.app_url, None);
    assert_eq!(defaults.card_url_template, None);

    let custom = read_with(&[
        ("DATAVERSE_PHONE_COLUMN", "cr1a2_Mobile"),
        ("DATAVERSE_SEARCH_COLUMNS", " cr1a2_work , telephone3,"),
        ("DATAVERSE_DIGITS_COLUMN", "cr1a2_digits"),
        ("DATAVERSE_FRAGMENT_SEARCH", "false"),
        ("DATAVERSE_CONTACT_NAME_COLUMN", "firstname"),
        ("DATAVERSE_UTM_SOURCE_COLUMN", "cr1a2_source"),
        ("DATAVERSE_UTM_MEDIUM_COLUMN", "cr1a2_medium"),
        ("DATAVERSE_UTM_CAMPAIGN_COLUMN", "cr1a2_campaign"),
        ("DATAVERSE_UTM_TERM_COLUMN", "-"),
        ("DATAVERSE_UTM_CONTENT_COLUMN", "-"),
        ("DATAVERSE_UTM_MAX_CHARS", "250"),
        ("DATAVERSE_DEAL_STAGE_COLUMN", "cr1a2_stage"),
        ("DATAVERSE_APP_URL", "https://smart.example.com/"),
        (
            "DATAVERSE_CARD_URL_TEMPLATE",
            "https://smart.example.com/contacts/{id}",
        ),
    ])
    .await
    .expect("valid");
    assert_eq!(custom.contact_phone_column, "cr1a2_mobile");
    assert_eq!(custom.search_columns, ["cr1a2_work", "telephone3"]);
    assert_eq!(custom.digits_column.as_deref(), Some("cr1a2_digits"));
    assert!(!custom.fragment_search);
    assert_eq!(custom.contact_name_column.as_deref(), Some("firstname"));
    assert_eq!(
        custom.utm_columns,
        UtmColumns {
            source: Some("cr1a2_source".into()),
            medium: Some("cr1a2_medium".into()),
            campaign: Some("cr1a2_campaign".into()),
            term: None,
            content: None,
            max_chars: 250,
        }
    );
    assert_eq!(custom.deal_stage_column.as_deref(), Some("cr1a2_stage"));
    let adapter = Dataverse::new(custom, RetryPolicy::default()).expect("valid");
    assert_eq!(
        adapter.phone_columns(),
        ["cr1a2_work", "telephone3", "cr1a2_mobile", "cr1a2_digits"]
    );
    assert_eq!(
        adapter.contact_card_url("3f0e6c1a-1111-4222-8333-944455556666"),
        "https://smart.example.com/contacts/3f0e6c1a-1111-4222-8333-944455556666"
    );

    let left_out = read_with(&[
        ("DATAVERSE_CONTACT_NAME_COLUMN", "-"),
        ("DATAVERSE_DEAL_STAGE_COLUMN", "-"),
        ("DATAVERSE_SEARCH_COLUMNS", "-"),
    ])
    .await
    .expect("valid");
    assert_eq!(left_out.contact_name_column, None);
    assert_eq!(left_out.deal_stage_column, None);
    assert!(left_out.search_columns.is_empty());
}

#[tokio::test]
async fn a_bad_column_or_link_names_its_variable() {
    for (variable, value) in [
        ("DATAVERSE_PHONE_COLUMN", "Mobile Phone"),
        ("DATAVERSE_PHONE_COLUMN", "-"),
        ("DATAVERSE_SEARCH_COLUMNS", "telephone1,telephone 2"),
        ("DATAVERSE_DIGITS_COLUMN", "cr1a2-digits"),
        ("DATAVERSE_CONTACT_NAME_COLUMN", "last name"),
        ("DATAVERSE_UTM_SOURCE_COLUMN", "utm.source"),
        ("DATAVERSE_UTM_CONTENT_COLUMN", "Джерело"),
        ("DATAVERSE_UTM_MAX_CHARS", "0"),
        ("DATAVERSE_UTM_MAX_CHARS", "5000"),
        ("DATAVERSE_DEAL_STAGE_COLUMN", "stage!"),
        ("DATAVERSE_FRAGMENT_SEARCH", "maybe"),
        ("DATAVERSE_APP_URL", "smart.example.com"),
        (
            "DATAVERSE_CARD_URL_TEMPLATE",
            "https://smart.example.com/contacts",
        ),
        ("DATAVERSE_CARD_URL_TEMPLATE", "{id}"),
    ] {
        let error = read_with(&[(variable, value)]).await.expect_err("refused");
        assert!(error.contains(variable), "{variable}={value}: {error}");
    }
}
