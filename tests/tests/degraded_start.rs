//! A function whose configuration is broken: no detail before authentication, no call lost,
//! and an invalid optional setting that turns off its feature only.
//!
//! The degraded answers go through `run::answer_unstarted`, the code `run::http` and
//! `run::call_webhook` run for every request while the app cannot be built, over the
//! `Unstarted` that `bootstrap::webhook_app_from` makes of the broken configuration: the
//! tokens read alone, the parked-events table on loopback moto. The fixed configuration is a
//! new rig over the same tables; its replay lands the parked call in the CRM sandbox.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::collections::HashMap;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::bootstrap::webhook_app_from;
use bridge_core::config::{Config, ConfigError, Feature, Tables, Tokens, local_defaults};
use bridge_core::ports::CrmKind;
use bridge_core::ringostat::EventKind;
use bridge_core::secret::Secret;
use bridge_core::secret_store::SecretStore;
use bridge_core::webhook::run::{self, Unstarted};
use bridge_tests::rig::{Answer, Rig, event};
use crm_sandbox::Sandbox;
use lambda_http::Request;
use serde_json::{Value, json};

/// The call of `after-call-3-answered-new.json`: a new number, answered by the manager.
const NEW_CALL: &str = "after-call-3-answered-new.json";
const NEW_CALL_ID: &str = "ua0_-1712316600.1003";
const NEW_NUMBER: &str = "380671110003";

/// The CRM's secret, which a broken configuration lacks.
fn crm_secret(kind: CrmKind) -> &'static str {
    match kind {
        CrmKind::NetHunt => "NETHUNT_API_KEY",
        CrmKind::Dataverse => "DATAVERSE_CLIENT_SECRET",
    }
}

/// What a call webhook over `vars` answers meanwhile: the build must fail.
async fn unstarted(sandbox: &Sandbox, vars: &HashMap<String, String>) -> Unstarted {
    let lookup = |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
    let secrets = SecretStore::new(
        sandbox.secrets_extension_url(),
        Secret::new("test-session-token"),
    );
    match webhook_app_from(&lookup, &secrets).await {
        Ok(_) => panic!("the broken configuration built an app"),
        Err(unstarted) => unstarted,
    }
}

/// `request` answered by the unstarted after-call function.
async fn answer(unstarted: &Unstarted, request: Request) -> Answer {
    let response = run::answer_unstarted(unstarted, Some(EventKind::AfterCall), request).await;
    let status = response.status().as_u16();
    let json = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    Answer {
        status,
        json,
        reason: None,
        text: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
        headers: response.headers().clone(),
    }
}

/// A wrong or missing token gets the plain 401 and not a word about the configuration.
fn assert_refused_without_detail(answer: &Answer, secrets: &[&str]) {
    assert_eq!(answer.status, 401, "{:?}", answer.json);
    assert_eq!(
        answer.json,
        json!({"error": "unauthorized", "message": "unauthorized"})
    );
    let body = answer.json.to_string();
    for detail in ["configuration", "required", "SSM", "PARKED"]
        .iter()
        .chain(secrets)
    {
        assert!(!body.contains(detail), "{detail} in {body}");
    }
}

/// The parked events of a rig's table, by key.
async fn parked_keys(rig: &Rig) -> Vec<String> {
    rig.stack
        .adapters
        .ledger
        .parked(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect()
}

/// The CRM key missing: a wrong token learns nothing, the right one parks the call (503), a
/// payload without a call id is still 400; fixed, the replay lands the call exactly once.
async fn broken_required_variable_parks_the_call_until_fixed(kind: CrmKind) {
    let before = Rig::new(kind).await;
    let mut broken = before.vars.clone();
    broken.remove(crm_secret(kind));
    let unstarted = unstarted(&before.sandbox, &broken).await;
    assert!(
        unstarted.error.contains(crm_secret(kind)),
        "{}",
        unstarted.error
    );

    for file in ["after-call-wrong-token.json", "after-call-no-token.json"] {
        let refused = answer(&unstarted, event(file)).await;
        assert_refused_without_detail(&refused, &[crm_secret(kind)]);
    }
    assert!(
        parked_keys(&before).await.is_empty(),
        "nothing parked for them"
    );

    let parked = answer(&unstarted, event(NEW_CALL)).await;
    assert_eq!(parked.status, 503, "{:?}", parked.json);
    assert_eq!(parked.field("error"), "not_configured");
    assert_eq!(parked.json["parked"], true);
    assert_eq!(parked.field("call_id"), NEW_CALL_ID);
    assert!(parked.field("message").contains(crm_secret(kind)));
    let unreadable = answer(&unstarted, event("after-call-missing-uniqueid.json")).await;
    assert_eq!(unreadable.status, 400, "{:?}", unreadable.json);
    assert_eq!(unreadable.field("field"), "uniqueid");
    assert!(
        unreadable
            .field("not_configured")
            .contains(crm_secret(kind))
    );
    assert_eq!(
        parked_keys(&before).await,
        [format!("after_call#{NEW_CALL_ID}")]
    );
    assert_eq!(before.crm().take_crm_requests(), 0, "no CRM was asked");

    // The configuration fixed: a new deployment over the same tables, then the replay.
    let after = Rig::with(
        kind,
        &[
            ("CACHE_TABLE", before.vars["CACHE_TABLE"].as_str()),
            ("PARKED_TABLE", before.vars["PARKED_TABLE"].as_str()),
        ],
    )
    .await;
    let deadline = || Deadline::after(Duration::from_secs(60));
    let report = after.stack.delivery.replay(10, deadline()).await;
    assert_eq!(report.landed, 1, "{report:?}");
    let calls = after.crm().all_call_texts();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains(NEW_CALL_ID) && calls[0].contains(NEW_NUMBER));
    assert_eq!(after.crm().contact_count(), 1);
    assert!(parked_keys(&after).await.is_empty(), "unparked once landed");

    // Exactly once: a second replay finds nothing, Ringostat's re-send gets the stored answer.
    let again = after.stack.delivery.replay(10, deadline()).await;
    assert_eq!((again.landed, again.already_done), (0, 0), "{again:?}");
    after.invoke(NEW_CALL).await.assert_outcome("call_logged");
    assert_eq!(after.crm().call_count(), 1);
    assert_eq!(after.crm().contact_count(), 1);
}

/// Tokens from Parameter Store authenticate while the rest is broken; tokens that cannot be
/// read refuse everyone; without a parked-events table the event is answered 503 unparked.
async fn tokens_are_read_alone(kind: CrmKind) {
    let parameter = "/ringostat-bridge/webhook-token";
    let rig = Rig::with_parameters(
        kind,
        &[
            ("WEBHOOK_TOKEN", ""),
            ("WEBHOOK_TOKEN_SSM_PARAMETER", parameter),
        ],
        &[(parameter, "local-dev-token")],
    )
    .await;
    let mut broken = rig.vars.clone();
    broken.insert("SYSTEM_USER_ID".into(), String::new());
    let by_reference = unstarted(&rig.sandbox, &broken).await;
    assert!(by_reference.error.contains("SYSTEM_USER_ID"));
    let parked = answer(&by_reference, event(NEW_CALL)).await;
    assert_eq!((parked.status, &parked.json["parked"]), (503, &json!(true)));
    let refused = answer(&by_reference, event("after-call-wrong-token.json")).await;
    assert_refused_without_detail(&refused, &["SYSTEM_USER_ID"]);

    let mut no_tokens = rig.vars.clone();
    no_tokens.insert(
        "WEBHOOK_TOKEN_SSM_PARAMETER".into(),
        "/ringostat-bridge/no-such-parameter".into(),
    );
    let blind = unstarted(&rig.sandbox, &no_tokens).await;
    assert!(blind.token.is_err());
    for file in [NEW_CALL, "after-call-wrong-token.json"] {
        let refused = answer(&blind, event(file)).await;
        assert_refused_without_detail(&refused, &["no-such-parameter", "webhook-token"]);
    }

    let mut no_table = broken.clone();
    no_table.remove("PARKED_TABLE");
    let unparked = answer(&unstarted(&rig.sandbox, &no_table).await, event(NEW_CALL)).await;
    assert_eq!(unparked.status, 503);
    assert_eq!(
        (unparked.field("error"), &unparked.json["parked"]),
        ("not_configured", &json!(false))
    );
    assert_eq!(
        parked_keys(&rig).await,
        [format!("after_call#{NEW_CALL_ID}")],
        "one parked event: the authenticated one with a table"
    );
}

/// One invalid STAFF entry (an extra key) and one bad extension: both dropped, the valid
/// manager still mapped, the call logged and the new contact given to that manager.
async fn broken_staff_entry_still_logs_the_call(kind: CrmKind) {
    let mut staff: Value = serde_json::from_str(&local_defaults(kind.as_str())["STAFF"]).unwrap();
    let entries = staff.as_array_mut().unwrap();
    entries.push(json!({"crm_user_id": "ivan@acme.ua", "sip": "acmeua_ivan"}));
    entries.push(json!({"crm_user_id": "petro@acme.ua", "extension": "reception"}));
    let staff = staff.to_string();
    let rig = Rig::with(
        kind,
        &[
            ("STAFF", &staff),
            ("NEW_CONTACT_OWNER", "answering_manager"),
        ],
    )
    .await;
    assert_eq!(rig.stack.settings.staff.members().len(), 1);
    let answer = rig.invoke(NEW_CALL).await;
    answer.assert_outcome("call_logged");
    let contact = answer.field("contact_id");
    assert_eq!(rig.crm().call_texts(contact).len(), 1);
    assert_eq!(
        rig.crm().owner_of(contact).map(|o| o.to_ascii_lowercase()),
        Some(rig.manager().to_ascii_lowercase()),
        "the manager who answered is still mapped"
    );
}

bridge_tests::for_both_crms!(
    broken_required_variable_parks_the_call_until_fixed,
    tokens_are_read_alone,
    broken_staff_entry_still_logs_the_call,
);

/// Smart forwarding and click-to-call park nothing: the configuration error, to authenticated
/// callers only.
#[tokio::test]
async fn other_functions_answer_the_error_to_authenticated_callers_only() {
    let unstarted = Unstarted {
        error: "configuration: `NETHUNT_API_KEY` is required (Settings → Integrations)".into(),
        token: Ok(Secret::new("local-dev-token")),
        parking: None,
    };
    let request = event("smart-forward-known-client.json");
    let response = run::answer_unstarted(&unstarted, None, request).await;
    assert_eq!(response.status(), 500);
    let json: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(json["error"], "configuration");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("NETHUNT_API_KEY")
    );
    let request = event("after-call-wrong-token.json");
    let response = run::answer_unstarted(&unstarted, None, request).await;
    assert_eq!(response.status(), 401);
    let json: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(
        json,
        json!({"error": "unauthorized", "message": "unauthorized"})
    );
}

/// The local defaults of `crm` with `changes` (empty value = unset), every value direct.
async fn load(crm: &str, changes: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut vars = local_defaults(crm);
    for (name, value) in changes {
        vars.insert((*name).into(), (*value).into());
    }
    let lookup = move |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
    let store = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
    Config::load(&lookup, &store).await
}

/// Variables changed from the local defaults.
type Changes = &'static [(&'static str, &'static str)];

#[tokio::test]
async fn an_invalid_optional_setting_disables_its_feature_only() {
    let cases: [(Changes, Feature, &str); 6] = [
        (
            &[("RINGOSTAT_PROJECT_ID", ""), ("SMART_PHONE_SYNC", "true")],
            Feature::SmartPhoneSync,
            "`SMART_PHONE_SYNC` needs",
        ),
        (
            &[("SMART_PHONE_SYNC", "maybe")],
            Feature::SmartPhoneSync,
            "`SMART_PHONE_SYNC` is `maybe`",
        ),
        (
            &[("FORWARD_BUDGET_MS", "soon")],
            Feature::SmartForwarding,
            "`FORWARD_BUDGET_MS` is `soon`",
        ),
        (
            &[("FORWARD_RESPONSE_FORMAT", "xml")],
            Feature::SmartForwarding,
            "`FORWARD_RESPONSE_FORMAT` is `xml`",
        ),
        (
            &[("CLICK_TO_CALL_EXTENSION", "reception")],
            Feature::ClickToCall,
            "`CLICK_TO_CALL_EXTENSION` `reception`",
        ),
        (
            &[("STAFF", r#"[{"crm_user_id": "a@acme.ua", "sip": "x"}]"#)],
            Feature::Staff,
            "staff entry 0 (`a@acme.ua`): unknown field `sip`",
        ),
    ];
    for (changes, feature, expected) in cases {
        let config = load("nethunt", changes).await.unwrap();
        let error = config.disabled(feature).unwrap().to_string();
        assert!(error.contains(expected), "{changes:?}: {error}");
        assert!(!error.contains("not valid JSON"), "{error}");
        assert_eq!(config.disabled.len(), 1, "{changes:?}");
    }
    // Unset, Smart Phone sync follows the template's `auto`: on with the key and the project
    // id, quietly off without either.
    assert!(
        load("nethunt", &[])
            .await
            .unwrap()
            .settings
            .smart_phone_sync
    );
    for missing in ["RINGOSTAT_PROJECT_ID", "RINGOSTAT_AUTH_KEY"] {
        let off = load("nethunt", &[(missing, "")]).await.unwrap();
        assert!(!off.settings.smart_phone_sync, "without {missing}");
        assert!(
            off.disabled.is_empty(),
            "without {missing}: {:?}",
            off.disabled
        );
    }
    let defaults = load("nethunt", &[("FORWARD_RESPONSE_FORMAT", "xml")]).await;
    assert_eq!(
        defaults.unwrap().settings.forward.budget,
        Duration::from_millis(1500)
    );
    assert!(load("nethunt", &[]).await.unwrap().disabled.is_empty());
    // What calls are written from stays required.
    for (variable, value) in [
        ("AFTER_CALL_STATUSES", "answered,lost"),
        ("CREATE_DEAL", "sometimes"),
        ("TIME_ZONE", "Kyiv"),
    ] {
        let error = load("nethunt", &[(variable, value)]).await.unwrap_err();
        assert!(error.to_string().contains(variable), "{error}");
    }
}

#[tokio::test]
async fn staff_that_is_not_a_list_maps_nobody_and_says_so() {
    let staff = r#"[{"crm_user_id": "olena@acme.ua", "sip_login": "acmeua_olena"},
        {"crm_user_id": "ivan@acme.ua", "extension": "none"}, "petro@acme.ua"]"#;
    let config = load("nethunt", &[("STAFF", staff)]).await.unwrap();
    let ids: Vec<_> = config
        .settings
        .staff
        .members()
        .iter()
        .map(|m| m.crm_user.id.as_str())
        .collect();
    assert_eq!(ids, ["olena@acme.ua"]);
    assert_eq!(config.disabled.len(), 2);
    let not_json = load("nethunt", &[("STAFF", "olena@acme.ua")])
        .await
        .unwrap();
    assert!(not_json.settings.staff.members().is_empty());
    let error = not_json.disabled(Feature::Staff).unwrap().to_string();
    assert!(error.contains("not valid JSON"), "{error}");
    let object = load("nethunt", &[("STAFF", r#"{"crm_user_id": "a"}"#)]).await;
    let error = object
        .unwrap()
        .disabled(Feature::Staff)
        .unwrap()
        .to_string();
    assert!(error.contains("must be a JSON list"), "{error}");
}

#[tokio::test]
async fn the_tokens_section_reads_alone() {
    let vars: HashMap<&str, &str> = [
        ("WEBHOOK_TOKEN", "a-long-enough-token"),
        ("PARKED_TABLE", "parked"),
    ]
    .into();
    let lookup = move |name: &str| vars.get(name).map(|v| (*v).to_owned());
    let store = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
    let tokens = Tokens::load(&lookup, &store).await.unwrap();
    assert_eq!(tokens.webhook.expose(), "a-long-enough-token");
    assert!(Config::load(&lookup, &store).await.is_err());
    let tables = Tables::as_named(&lookup);
    assert_eq!(
        (tables.cache, tables.parked.as_deref()),
        (None, Some("parked"))
    );
}
