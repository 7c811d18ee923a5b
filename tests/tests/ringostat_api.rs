//! The Ringostat API client and the secret store against the sandbox's fakes of Ringostat
//! (`/minicrm/contacts/sync`, `/callback/outward_call`) and of the AWS Parameters and Secrets
//! Lambda Extension, each test on its own sandbox.
//!
//! Every test asserts the exact requests it made, so retries are counted: contact sync is an
//! upsert and retried, click-to-call rings a phone and is never retried after a 5xx.

use std::collections::HashMap;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::PhoneNumber;
use bridge_core::ringostat::{RingostatApiError, SmartPhoneContact};
use bridge_core::secret::Secret;
use bridge_core::secret_store::{SecretStore, SecretStoreError};
use bridge_tests::ringostat_env::{ringostat_config_for, ringostat_for, ringostat_with};
use crm_sandbox::{Fault, Sandbox};
use serde_json::{Value, json};

const PROJECT_NUMBER: &str = "380441112233";
const CLIENT_NUMBER: &str = "380671112233";

async fn sandbox() -> Sandbox {
    Sandbox::start().await.expect("sandbox starts")
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(5))
}

fn ivan() -> SmartPhoneContact {
    SmartPhoneContact {
        external_id: "6650a1b20000000000000001".into(),
        full_name: "Іван Петренко".into(),
        phone: PhoneNumber::parse("0671112233").expect("valid number"),
        email: Some("ivan@example.com".into()),
        responsible: Some("olena.koval@acme.ua".into()),
        contact_link: Some(
            "https://nethunt.com/app/records/contacts-folder/6650a1b20000000000000001".into(),
        ),
    }
}

/// The requests so far as `METHOD path status`.
fn requests(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect()
}

// --- Contact sync --------------------------------------------------------------------------

#[tokio::test]
async fn sync_sends_the_documented_body_and_upserts_by_external_id() {
    let sandbox = sandbox().await;
    let api = ringostat_for(&sandbox);

    api.sync_contact(&ivan(), deadline())
        .await
        .expect("first sync");
    let renamed = SmartPhoneContact {
        full_name: "Іван Петренко-Коваль".into(),
        ..ivan()
    };
    api.sync_contact(&renamed, deadline())
        .await
        .expect("second sync");

    let synced = sandbox.state().ringostat.synced_contacts();
    assert_eq!(
        synced,
        vec![json!({
            "projectId": 12345,
            "fullName": "Іван Петренко-Коваль",
            "origin": "NetHunt CRM",
            "externalId": "6650a1b20000000000000001",
            "leadId": null,
            "responsible": "olena.koval@acme.ua",
            "staffId": null,
            "contactLink": "https://nethunt.com/app/records/contacts-folder/6650a1b20000000000000001",
            "leadLink": null,
            "dealLink": null,
            "googleClientId": null,
            "contactDirections": [
                {"type": "phone", "name": "personal", "value": "+380671112233"},
                {"type": "email", "name": "personal", "value": "ivan@example.com"}
            ],
            "organizations": []
        })]
    );
    assert_eq!(
        requests(&sandbox),
        [
            "POST /minicrm/contacts/sync 200",
            "POST /minicrm/contacts/sync 200"
        ]
    );
}

#[tokio::test]
async fn a_contact_without_name_or_owner_is_still_accepted() {
    let sandbox = sandbox().await;
    let bare = SmartPhoneContact {
        full_name: String::new(),
        email: None,
        responsible: None,
        contact_link: None,
        ..ivan()
    };
    ringostat_for(&sandbox)
        .sync_contact(&bare, deadline())
        .await
        .expect("sync");
    let synced = sandbox
        .state()
        .ringostat
        .synced_contact("6650a1b20000000000000001")
        .expect("stored");
    assert_eq!(synced["fullName"], json!("+380671112233"));
    assert_eq!(
        synced["contactDirections"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn sync_without_a_project_id_is_a_configuration_error() {
    let sandbox = sandbox().await;
    let mut config = ringostat_config_for(&sandbox);
    config.project_id = None;
    let error = ringostat_with(config)
        .sync_contact(&ivan(), deadline())
        .await
        .expect_err("no project id");
    assert!(matches!(error, RingostatApiError::Config(_)), "{error:?}");
    assert!(requests(&sandbox).is_empty());
}

#[tokio::test]
async fn another_project_id_is_rejected_with_the_sandbox_message() {
    let sandbox = sandbox().await;
    let mut config = ringostat_config_for(&sandbox);
    config.project_id = Some("999".into());
    let error = ringostat_with(config)
        .sync_contact(&ivan(), deadline())
        .await
        .expect_err("wrong project");
    match error {
        RingostatApiError::Rejected { status, message } => {
            assert_eq!(status, 400);
            assert!(message.contains("x-project-id"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(requests(&sandbox), ["POST /minicrm/contacts/sync 400"]);
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_for_both_calls() {
    let sandbox = sandbox().await;
    let mut config = ringostat_config_for(&sandbox);
    config.auth_key = Secret::new("not-the-key");
    let api = ringostat_with(config);

    let sync = api.sync_contact(&ivan(), deadline()).await;
    assert!(matches!(sync, Err(RingostatApiError::Auth(_))), "{sync:?}");
    let call = api
        .outward_call(PROJECT_NUMBER, CLIENT_NUMBER, deadline())
        .await;
    assert!(matches!(call, Err(RingostatApiError::Auth(_))), "{call:?}");
    let error = call.expect_err("auth");
    assert!(!error.is_transient());
    assert!(!error.to_string().contains("not-the-key"), "{error}");
    assert_eq!(
        requests(&sandbox),
        [
            "POST /minicrm/contacts/sync 401",
            "POST /callback/outward_call 401"
        ]
    );
}

#[tokio::test]
async fn sync_is_retried_after_a_transient_503() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::ServerError { status: 503 }, 2);

    ringostat_for(&sandbox)
        .sync_contact(&ivan(), deadline())
        .await
        .expect("third attempt succeeds");

    assert_eq!(
        requests(&sandbox),
        [
            "POST /minicrm/contacts/sync 503",
            "POST /minicrm/contacts/sync 503",
            "POST /minicrm/contacts/sync 200"
        ]
    );
    assert_eq!(sandbox.state().ringostat.synced_contacts().len(), 1);
}

#[tokio::test]
async fn sync_gives_up_as_transient_when_503_lasts() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::ServerError { status: 503 }, 10);

    let error = ringostat_for(&sandbox)
        .sync_contact(&ivan(), deadline())
        .await
        .expect_err("always 503");

    assert!(error.is_transient(), "{error:?}");
    // fast_retry_policy allows 5 attempts in all.
    assert_eq!(requests(&sandbox).len(), 5);
}

// --- Click-to-call -------------------------------------------------------------------------

#[tokio::test]
async fn outward_call_sends_extension_and_destination() {
    let sandbox = sandbox().await;
    let api = ringostat_for(&sandbox);

    api.outward_call(PROJECT_NUMBER, CLIENT_NUMBER, deadline())
        .await
        .expect("call to a number");
    api.outward_call(PROJECT_NUMBER, "acmecom_olena", deadline())
        .await
        .expect("call to a SIP login");

    assert_eq!(
        sandbox.state().ringostat.outward_calls(),
        [
            (PROJECT_NUMBER.to_owned(), CLIENT_NUMBER.to_owned()),
            (PROJECT_NUMBER.to_owned(), "acmecom_olena".to_owned())
        ]
    );
    assert_eq!(
        requests(&sandbox),
        [
            "POST /callback/outward_call 200",
            "POST /callback/outward_call 200"
        ]
    );
}

#[tokio::test]
async fn an_error_answered_with_http_200_is_a_rejection_with_ringostats_message() {
    let sandbox = sandbox().await;

    // `+` is not Ringostat's number format: the sandbox refuses it the JSON-RPC way.
    let error = ringostat_for(&sandbox)
        .outward_call(PROJECT_NUMBER, "+380671112233", deadline())
        .await
        .expect_err("refused with HTTP 200");

    match &error {
        RingostatApiError::Rejected { status, message } => {
            assert_eq!(*status, 200);
            assert!(message.starts_with("Invalid destination"), "{message}");
            assert!(message.contains("invalid_destination"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!error.is_transient());
    assert!(sandbox.state().ringostat.outward_calls().is_empty());
    assert_eq!(requests(&sandbox), ["POST /callback/outward_call 200"]);
}

#[tokio::test]
async fn outward_call_is_never_retried_after_a_503() {
    let sandbox = sandbox().await;
    sandbox.inject(Fault::ServerError { status: 503 }, 3);

    let error = ringostat_for(&sandbox)
        .outward_call(PROJECT_NUMBER, CLIENT_NUMBER, deadline())
        .await
        .expect_err("503");

    assert!(error.is_transient(), "{error:?}");
    assert_eq!(requests(&sandbox), ["POST /callback/outward_call 503"]);
}

#[tokio::test]
async fn outward_call_is_retried_after_a_429_which_rings_nobody() {
    let sandbox = sandbox().await;
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        1,
    );

    ringostat_for(&sandbox)
        .outward_call(PROJECT_NUMBER, CLIENT_NUMBER, deadline())
        .await
        .expect("second attempt succeeds");

    assert_eq!(
        requests(&sandbox),
        [
            "POST /callback/outward_call 429",
            "POST /callback/outward_call 200"
        ]
    );
    assert_eq!(sandbox.state().ringostat.outward_calls().len(), 1);
}

// --- Secret store --------------------------------------------------------------------------

fn store_for(sandbox: &Sandbox) -> SecretStore {
    SecretStore::new(
        sandbox.secrets_extension_url(),
        Secret::new("test-session-token"),
    )
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

#[tokio::test]
async fn a_direct_value_wins_without_a_request() {
    let sandbox = sandbox().await;
    let lookup = env(&[
        ("RINGOSTAT_AUTH_KEY", "direct-key"),
        ("RINGOSTAT_AUTH_KEY_SSM_PARAMETER", "/bridge/ringostat-key"),
    ]);

    let value = store_for(&sandbox)
        .resolve("RINGOSTAT_AUTH_KEY", &lookup)
        .await
        .expect("resolves");

    assert_eq!(value.as_ref().map(Secret::expose), Some("direct-key"));
    assert!(requests(&sandbox).is_empty());
}

#[tokio::test]
async fn an_ssm_parameter_is_read_with_decryption() {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .seed_parameter("/bridge/prod/ringostat-key", "ssm-key");
    let lookup = env(&[
        ("RINGOSTAT_AUTH_KEY", "  "),
        (
            "RINGOSTAT_AUTH_KEY_SSM_PARAMETER",
            "/bridge/prod/ringostat-key",
        ),
        ("RINGOSTAT_AUTH_KEY_SECRET_ID", "bridge/other"),
    ]);

    let value = store_for(&sandbox)
        .resolve("RINGOSTAT_AUTH_KEY", &lookup)
        .await
        .expect("resolves");

    assert_eq!(value.as_ref().map(Secret::expose), Some("ssm-key"));
    let logged = sandbox.requests();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].path, "/systemsmanager/parameters/get");
    assert_eq!(
        logged[0].query.as_deref(),
        Some("name=%2Fbridge%2Fprod%2Fringostat-key&withDecryption=true")
    );
}

#[tokio::test]
async fn a_secrets_manager_secret_is_read_by_id() {
    let sandbox = sandbox().await;
    sandbox.state().seed_secret("bridge/nethunt-key", "sm-key");
    let lookup = env(&[("NETHUNT_API_KEY_SECRET_ID", "bridge/nethunt-key")]);

    let value = store_for(&sandbox)
        .resolve("NETHUNT_API_KEY", &lookup)
        .await
        .expect("resolves");

    assert_eq!(value.as_ref().map(Secret::expose), Some("sm-key"));
    assert_eq!(requests(&sandbox), ["GET /secretsmanager/get 200"]);
}

#[tokio::test]
async fn nothing_configured_is_none() {
    let sandbox = sandbox().await;
    let value = store_for(&sandbox)
        .resolve("RINGOSTAT_AUTH_KEY", &env(&[]))
        .await
        .expect("resolves");
    assert!(value.is_none());
    assert!(requests(&sandbox).is_empty());
}

#[tokio::test]
async fn an_unknown_reference_names_the_variable_but_no_value() {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .seed_parameter("/bridge/real-key", "do-not-leak-me");
    sandbox
        .state()
        .seed_secret("bridge/real-secret", "do-not-leak-me");

    for (name, variable, reference) in [
        (
            "RINGOSTAT_AUTH_KEY",
            "RINGOSTAT_AUTH_KEY_SSM_PARAMETER",
            "/bridge/typo-key",
        ),
        (
            "WEBHOOK_TOKEN",
            "WEBHOOK_TOKEN_SECRET_ID",
            "bridge/typo-secret",
        ),
    ] {
        let error = store_for(&sandbox)
            .resolve(name, &env(&[(variable, reference)]))
            .await
            .expect_err("unknown reference");
        assert!(
            matches!(error, SecretStoreError::NotFound { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains(variable), "{text}");
        assert!(text.contains(reference), "{text}");
        assert!(!text.contains("do-not-leak-me"), "{text}");
        assert!(!format!("{error:?}").contains("do-not-leak-me"));
    }
    assert_eq!(
        requests(&sandbox),
        [
            "GET /systemsmanager/parameters/get 400",
            "GET /secretsmanager/get 400"
        ]
    );
}

#[tokio::test]
async fn a_missing_session_token_is_denied() {
    let sandbox = sandbox().await;
    sandbox.state().seed_parameter("/bridge/key", "value");
    let store = SecretStore::new(sandbox.secrets_extension_url(), Secret::new(""));

    let error = store
        .resolve(
            "RINGOSTAT_AUTH_KEY",
            &env(&[("RINGOSTAT_AUTH_KEY_SSM_PARAMETER", "/bridge/key")]),
        )
        .await
        .expect_err("no token");

    assert!(
        matches!(error, SecretStoreError::Denied { .. }),
        "{error:?}"
    );
    assert_eq!(
        requests(&sandbox),
        ["GET /systemsmanager/parameters/get 401"]
    );
}

#[tokio::test]
async fn an_unreachable_extension_is_unavailable_after_one_retry() {
    // A port nothing listens on: bind one, note it, free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let store = SecretStore::new(format!("http://{addr}"), Secret::new("token"));

    let started = std::time::Instant::now();
    let error = store
        .resolve(
            "RINGOSTAT_AUTH_KEY",
            &env(&[("RINGOSTAT_AUTH_KEY_SSM_PARAMETER", "/bridge/key")]),
        )
        .await
        .expect_err("nothing listens");

    assert!(error.is_transient(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("RINGOSTAT_AUTH_KEY_SSM_PARAMETER"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_secret_json_body_is_returned_whole() {
    let sandbox = sandbox().await;
    let staff = json!({"acmecom_olena": "olena.koval@acme.ua"}).to_string();
    sandbox.state().seed_secret("bridge/staff", &staff);

    let value = store_for(&sandbox)
        .resolve("STAFF", &env(&[("STAFF_SECRET_ID", "bridge/staff")]))
        .await
        .expect("resolves")
        .expect("set");

    let parsed: Value = serde_json::from_str(value.expose()).expect("JSON kept intact");
    assert_eq!(parsed["acmecom_olena"], json!("olena.koval@acme.ua"));
}
