//! End to end: every `events/` file goes through the real handlers of the Lambda functions
//! (`bridge_core::webhook`), wired from configuration exactly as the binaries wire them, against
//! the CRM sandbox and a DynamoDB cache on loopback moto, for NetHunt and for Dataverse.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use bridge_core::deadline::epoch_ms;
use bridge_core::ports::CrmKind;
use bridge_core::ringostat::EventKind;
use bridge_core::webhook;
use bridge_tests::flows::{self, MANAGER_SIP};
use bridge_tests::rig::{Rig, event, event_with, events_dir, received_at};
use crm_sandbox::Fault;
use serde_json::json;

const EXISTING_CLIENT: &str = "380501234567";
const PROJECT_NUMBER: &str = "380441112233";

/// The eight seed scenarios on the seeded workspace (`flows::eight_seed_scenarios`).
async fn eight_seed_scenarios(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    flows::eight_seed_scenarios(&rig, &existing).await;
}

/// A new client from ringing to answered (`flows::new_client_from_ringing_to_answered`).
async fn new_client_from_ringing_to_answered(kind: CrmKind) {
    flows::new_client_from_ringing_to_answered(&Rig::new(kind).await).await;
}

/// A UTM field missing in the workspace costs no contact: the call goes on, the log says
/// what to fix.
#[tokio::test]
async fn missing_utm_field_does_not_block_before_call() {
    let rig = Rig::with(
        CrmKind::NetHunt,
        &[("NETHUNT_FIELD_UTM_SOURCE", "Немає такого поля")],
    )
    .await;
    let answer = rig.invoke("before-call-new-client.json").await;
    answer.assert_outcome("contact_ready");
    assert_eq!(rig.crm().contact_count(), 1);
    assert_eq!(rig.crm().utm_source_of(answer.field("contact_id")), None);
}

/// A known caller rings (`flows::existing_client_rings`).
async fn existing_client_rings(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    flows::existing_client_rings(&rig, &existing).await;
}

/// The AI summary becomes one comment on the contact; an empty analysis writes nothing.
async fn ai_analysis_becomes_a_comment(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    rig.invoke("call-analysis-summary.json")
        .await
        .assert_outcome("analysis_added");
    let notes = rig.crm().notes_of(&existing);
    assert_eq!(notes.len(), 1);
    // The title ("AI-аналіз дзвінка") is NetHunt's first line and Dataverse's note subject.
    for part in [
        "Підсумок:",
        "Настрій клієнта: позитивний",
        "Рекомендації:",
        ".vtt",
    ] {
        assert!(notes[0].contains(part), "`{part}` in {:?}", notes[0]);
    }

    let answer = rig.invoke("call-analysis-new-client.json").await;
    answer.assert_outcome("analysis_added");
    assert_eq!(answer.json["new_contact"], true);
    assert_eq!(rig.crm().notes_of(answer.field("contact_id")).len(), 1);

    rig.crm().take_crm_requests();
    rig.invoke("call-analysis-empty.json")
        .await
        .assert_outcome("no_analysis");
    assert_eq!(
        rig.crm().take_crm_requests(),
        0,
        "nothing written, nothing read"
    );
    assert_eq!(rig.crm().notes_of(&existing).len(), 1);
}

/// Smart forwarding to the responsible manager
/// (`flows::smart_forward_routes_to_the_responsible_manager`).
async fn smart_forward_routes_to_the_responsible_manager(kind: CrmKind) {
    flows::smart_forward_routes_to_the_responsible_manager(&Rig::new(kind).await).await;
}

/// Fallback, raw format and a CRM that fails: the call always gets an answer.
async fn smart_forward_falls_back(kind: CrmKind) {
    let rig = Rig::with(
        kind,
        &[
            ("FORWARD_FALLBACK", "acmeua_reception"),
            ("FORWARD_RESPONSE_FORMAT", "raw"),
        ],
    )
    .await;
    rig.sandbox.inject(Fault::ServerError { status: 503 }, 50);
    let response = webhook::smart_forward(
        &rig.apps.smart_forward,
        event("smart-forward-known-client.json"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: &[u8] = response.body().as_ref();
    assert_eq!(body, b"acmeua_reception");
    let reason = response
        .headers()
        .get("x-bridge-reason")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(matches!(reason, "crm_error" | "timeout"), "{reason}");
}

/// The webhook number's budget counts from API Gateway's receipt of the request: a caller who
/// already waited 1.2 s (a cold start) leaves the lookup the rest, 0.3 s of 1.5 s.
async fn smart_forward_budget_counts_from_arrival(kind: CrmKind) {
    let (rig, gate) = Rig::gated(
        kind,
        &[("FORWARD_FALLBACK", "acmeua_reception")],
        Duration::ZERO,
    )
    .await;
    rig.seed_existing_client();
    // The CRM answers the search, and the answer is held: only the budget ends the lookup.
    gate.hold_next_searches(1);
    let request = received_at(event("smart-forward-known-client.json"), epoch_ms() - 1200);
    let started = Instant::now();
    let answer = rig.send(request).await;
    let elapsed = started.elapsed();
    assert_eq!(answer.reason.as_deref(), Some("timeout"), "{answer:?}");
    assert_eq!(answer.json, json!({"destination": "acmeua_reception"}));
    assert!(
        rig.crm().take_crm_requests() > 0,
        "the lookup ran in the time left"
    );
    // The 0.3 s left, not the whole 1.5 s budget.
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_millis(1200),
        "answered after {elapsed:?}"
    );
    gate.release(1);
}

/// A caller who already waited longer than the budget gets the fallback at once: no CRM
/// request is sent (the sandbox logs none), counted as a timeout.
async fn smart_forward_spent_budget_asks_nothing(kind: CrmKind) {
    let rig = Rig::with(kind, &[("FORWARD_FALLBACK", "acmeua_reception")]).await;
    rig.seed_existing_client();
    rig.sandbox.clear_requests();
    let request = received_at(event("smart-forward-known-client.json"), epoch_ms() - 2000);
    let started = Instant::now();
    let answer = rig.send(request).await;
    let elapsed = started.elapsed();
    assert_eq!(answer.reason.as_deref(), Some("timeout"), "{answer:?}");
    assert_eq!(answer.json, json!({"destination": "acmeua_reception"}));
    assert_eq!(rig.sandbox.requests(), Vec::new(), "no request at all");
    assert!(
        elapsed < Duration::from_millis(300),
        "answered after {elapsed:?}"
    );
}

/// API Gateway's time is another machine's clock: one in the future is ignored, and the
/// budget counts from the function's own receipt of the request.
async fn smart_forward_ignores_a_receipt_time_in_the_future(kind: CrmKind) {
    let (rig, gate) = Rig::gated(
        kind,
        &[
            ("FORWARD_FALLBACK", "acmeua_reception"),
            ("FORWARD_BUDGET_MS", "600"),
        ],
        Duration::ZERO,
    )
    .await;
    rig.seed_existing_client();
    let ahead = epoch_ms() + 60_000;
    let answer = rig
        .send(received_at(event("smart-forward-known-client.json"), ahead))
        .await;
    assert_eq!(answer.json, json!({"destination": "acmeua_olena"}));

    // Held, the lookup ends with the budget counted from now: not 60 s later, not at once.
    gate.hold_next_searches(1);
    let other_caller = event_with("smart-forward-known-client.json", |body| {
        body["caller"] = json!("380671112233");
    });
    let started = Instant::now();
    let answer = rig.send(received_at(other_caller, ahead)).await;
    let elapsed = started.elapsed();
    assert_eq!(answer.reason.as_deref(), Some("timeout"), "{answer:?}");
    assert!(
        elapsed >= Duration::from_millis(550) && elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    gate.release(1);
}

/// The local run's click-to-call flow from the `events/` files: the set-up page, its button
/// (the browser credential), the CRM button's confirmation page, and its button: one call from
/// the project number. The spent confirmation, an altered one, a premium-rate number, an
/// unknown manager and the webhook token start nothing; Ringostat's refusal is a clear error.
async fn click_to_call_starts_a_call(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let decision = |answer: &bridge_tests::rig::Answer| {
        (
            answer.status,
            answer.header("x-bridge-decision").unwrap_or("").to_owned(),
        )
    };
    let set_up = rig.invoke("click-to-call-set-up.json").await;
    assert_eq!(
        decision(&set_up),
        (200, "enrol_page".into()),
        "{}",
        set_up.text
    );
    assert!(set_up.text.contains("Олена Коваленко"), "{}", set_up.text);
    let enrolled = rig.invoke("click-to-call-enrol.json").await;
    assert_eq!(decision(&enrolled), (200, "enrolled".into()));
    let cookie = enrolled.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(&format!("{}=", webhook::DEVICE_COOKIE)),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let page = rig.invoke("click-to-call-start.json").await;
    assert_eq!(decision(&page), (200, "confirm".into()), "{}", page.text);
    assert!(page.text.contains("+380 50 123 4567"), "{}", page.text);
    assert!(
        page.text.contains("+380 44 111 2233"),
        "the line: {}",
        page.text
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        rig.sandbox.state().ringostat.outward_calls().is_empty(),
        "a page never dials"
    );

    let calling = rig.invoke("click-to-call.json").await;
    assert_eq!(
        decision(&calling),
        (200, "calling".into()),
        "{}",
        calling.text
    );
    let expected = (PROJECT_NUMBER.to_owned(), EXISTING_CLIENT.to_owned());
    assert_eq!(
        rig.sandbox.state().ringostat.outward_calls(),
        vec![expected]
    );

    for (file, refused) in [
        ("click-to-call.json", (409, "already_used")),
        ("click-to-call-altered.json", (401, "invalid_link")),
        (
            "click-to-call-premium-rate.json",
            (403, "destination_refused"),
        ),
        (
            "click-to-call-unknown-manager.json",
            (403, "unknown_manager"),
        ),
        (
            "click-to-call-webhook-token.json",
            (401, "token_not_accepted"),
        ),
    ] {
        let answer = rig.invoke(file).await;
        assert_eq!(
            decision(&answer),
            (refused.0, refused.1.to_owned()),
            "{file}: {}",
            answer.text
        );
    }
    assert_eq!(rig.sandbox.state().ringostat.outward_calls().len(), 1);

    let refused = Rig::with(kind, &[("RINGOSTAT_AUTH_KEY", "not-the-project-key")]).await;
    let answer = refused.invoke("click-to-call.json").await;
    assert_eq!(decision(&answer), (502, "ringostat_auth_failed".into()));
}

/// Every shape Ringostat can send lands; bad requests get a clear 4xx and write nothing.
async fn payload_shapes_and_bad_requests(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    rig.invoke("after-call-form-urlencoded.json")
        .await
        .assert_outcome("call_logged");
    rig.invoke("after-call-token-header.json")
        .await
        .assert_outcome("call_logged");
    let answer = rig.invoke("after-call-get-query.json").await;
    answer.assert_outcome("call_logged");
    assert_eq!(answer.json["new_contact"], true);
    assert_eq!(rig.crm().call_texts(&existing).len(), 2);
    rig.crm().take_crm_requests();

    let answer = rig.invoke("after-call-missing-uniqueid.json").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.field("error"), "missing_field");
    assert_eq!(answer.field("field"), "uniqueid");
    for file in ["after-call-wrong-token.json", "after-call-no-token.json"] {
        let answer = rig.invoke(file).await;
        assert_eq!(answer.status, 401, "{file}");
        assert_eq!(
            answer.json,
            serde_json::json!({"error": "unauthorized", "message": "unauthorized"})
        );
    }
    assert_eq!(
        rig.crm().take_crm_requests(),
        0,
        "refused requests reach no CRM"
    );
    assert_eq!(rig.crm().call_count(), 3);
}

/// The per-event filter (NetHunt's "call status" option): missed calls left out.
async fn filters_leave_calls_out(kind: CrmKind) {
    let rig = Rig::with(kind, &[("AFTER_CALL_STATUSES", "answered")]).await;
    let existing = rig.seed_existing_client();
    rig.invoke("after-call-2-missed-existing.json")
        .await
        .assert_outcome("filtered");
    rig.invoke("after-call-1-answered-existing.json")
        .await
        .assert_outcome("call_logged");
    assert_eq!(rig.crm().call_texts(&existing).len(), 1);
}

/// A re-sent after-call gets the first answer and adds nothing to the CRM.
async fn resent_webhook_gets_the_first_answer(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    let first = rig.invoke("after-call-1-answered-existing.json").await;
    first.assert_outcome("call_logged");
    rig.crm().take_crm_requests();
    let again = rig.invoke("after-call-1-answered-existing.json").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json, first.json, "the stored answer");
    assert_eq!(
        rig.crm().take_crm_requests(),
        0,
        "the CRM is not asked again"
    );
    assert_eq!(rig.crm().call_texts(&existing).len(), 1);
}

/// In AWS every secret comes from Parameter Store through the extension, by name only.
async fn secrets_come_from_parameter_store(kind: CrmKind) {
    let (crm_secret, crm_value) = match kind {
        CrmKind::NetHunt => ("NETHUNT_API_KEY", "sandbox-nethunt-key"),
        CrmKind::Dataverse => ("DATAVERSE_CLIENT_SECRET", "sandbox-secret"),
    };
    let crm_parameter = format!("{crm_secret}_SSM_PARAMETER");
    let rig = Rig::with_parameters(
        kind,
        &[
            ("WEBHOOK_TOKEN", ""),
            (
                "WEBHOOK_TOKEN_SSM_PARAMETER",
                "/ringostat-bridge/webhook-token",
            ),
            (crm_secret, ""),
            (&crm_parameter, "/ringostat-bridge/crm-secret"),
        ],
        &[
            ("/ringostat-bridge/webhook-token", "local-dev-token"),
            ("/ringostat-bridge/crm-secret", crm_value),
        ],
    )
    .await;
    let existing = rig.seed_existing_client();
    rig.invoke("after-call-1-answered-existing.json")
        .await
        .assert_outcome("call_logged");
    assert_eq!(rig.crm().call_texts(&existing).len(), 1);
    assert_eq!(rig.invoke("after-call-wrong-token.json").await.status, 401);
}

/// The webhook number in JSON-RPC mode, and a body over the cap.
async fn json_rpc_answer_and_body_cap(kind: CrmKind) {
    let rig = Rig::with(kind, &[("FORWARD_RESPONSE_FORMAT", "jsonrpc")]).await;
    rig.seed_existing_client();
    let answer = rig.invoke("smart-forward-known-client.json").await;
    assert_eq!(
        answer.json,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": MANAGER_SIP})
    );

    let mut request = event("after-call-1-answered-existing.json");
    *request.body_mut() = lambda_http::Body::from(vec![b' '; webhook::MAX_BODY_BYTES + 1]);
    let response = webhook::call_event(&rig.apps.webhook, EventKind::AfterCall, request).await;
    assert_eq!(response.status(), 413);
    assert_eq!(rig.crm().call_count(), 0);
}

/// The body is read by what it holds: an XML body (Ringostat's XML data format) lands like its
/// JSON twin, and so does a JSON body labelled as a form (what `curl -d '{…}'` sends).
async fn xml_and_mislabelled_bodies_land(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    let answer = rig.invoke("after-call-xml.json").await;
    answer.assert_outcome("call_logged");
    assert_eq!(answer.field("contact_id"), existing);
    assert_eq!(answer.field("call_id"), "ua0_-1712316600.3004");
    let calls = rig.crm().call_texts(&existing);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].starts_with("Вхідний дзвінок від +380501234567 (прийнятий)"),
        "{calls:?}"
    );
    assert!(
        calls[0].contains("https://app.ringostat.com/recordings/ua0_-1712316600.3004.mp3"),
        "{calls:?}"
    );

    let mut json_as_form = event("after-call-1-answered-existing.json");
    json_as_form.headers_mut().insert(
        "content-type",
        "application/x-www-form-urlencoded"
            .parse()
            .expect("header value"),
    );
    let answer = rig.send(json_as_form).await;
    answer.assert_outcome("call_logged");
    assert_eq!(answer.field("call_id"), "ua0_-1712316600.1001");
    assert_eq!(rig.crm().call_texts(&existing).len(), 2);
}

bridge_tests::for_both_crms!(
    eight_seed_scenarios,
    new_client_from_ringing_to_answered,
    existing_client_rings,
    ai_analysis_becomes_a_comment,
    smart_forward_routes_to_the_responsible_manager,
    smart_forward_falls_back,
    smart_forward_budget_counts_from_arrival,
    smart_forward_spent_budget_asks_nothing,
    smart_forward_ignores_a_receipt_time_in_the_future,
    click_to_call_starts_a_call,
    payload_shapes_and_bad_requests,
    filters_leave_calls_out,
    resent_webhook_gets_the_first_answer,
    secrets_come_from_parameter_store,
    json_rpc_answer_and_body_cap,
    xml_and_mislabelled_bodies_land,
);

/// Every file in `events/` is fed by a test above (or a flow it runs), so a new event cannot
/// go untested.
#[test]
fn every_event_file_is_exercised() {
    // The flows shared with other suites live in `bridge_tests::flows`.
    let source = [
        include_str!("functions_e2e.rs"),
        include_str!("../src/flows.rs"),
    ]
    .concat();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(events_dir()).expect("events/ exists") {
        let name = entry.expect("readable entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".json") && !source.contains(&format!("\"{name}\"")) {
            missing.push(name.into_owned());
        }
    }
    assert!(missing.is_empty(), "events without a test: {missing:?}");
}
