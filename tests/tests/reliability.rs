//! Exactly once, nothing lost: re-sent and concurrent webhooks, a crowd of events for one new
//! number, a CRM outage followed by replay, and DynamoDB down — for both CRMs, through the real
//! handlers, against the CRM sandbox and moto.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_core::Deadline;
use bridge_core::ports::CrmKind;
use bridge_core::webhook;
use bridge_tests::rig::{Answer, Rig, event, event_with};
use crm_sandbox::Fault;
use serde_json::json;
use tokio::task::JoinSet;

const AFTER_CALL: &str = "after-call-1-answered-existing.json";

/// Sends every request at once and collects the answers.
async fn all_at_once(rig: &Arc<Rig>, requests: Vec<lambda_http::Request>) -> Vec<Answer> {
    let mut tasks = JoinSet::new();
    for request in requests {
        let rig = Arc::clone(rig);
        tasks.spawn(async move { rig.send(request).await });
    }
    tasks.join_all().await
}

/// Ringostat re-sends a webhook up to 3 more times; the same call may also arrive on several
/// deliveries at once. Either way the CRM gets one call record.
async fn same_after_call_four_times(kind: CrmKind) {
    let rig = Arc::new(Rig::new(kind).await);
    let existing = rig.seed_existing_client();

    let first = rig.invoke(AFTER_CALL).await;
    first.assert_outcome("call_logged");
    for _ in 0..3 {
        let again = rig.invoke(AFTER_CALL).await;
        assert_eq!((again.status, &again.json), (200, &first.json));
    }
    assert_eq!(rig.crm().call_texts(&existing).len(), 1, "four in a row");

    let same_call = || {
        event_with(AFTER_CALL, |body| {
            body["uniqueid"] = json!("ua0_-1712316600.9001");
        })
    };
    let answers = all_at_once(&rig, (0..4).map(|_| same_call()).collect()).await;
    let logged = answers
        .iter()
        .filter(|a| a.field("outcome") == "call_logged")
        .count();
    assert!(logged >= 1, "{answers:?}");
    for answer in &answers {
        // A delivery that met the first one running is refused retryably (409), so Ringostat
        // re-sends it; every other one gets the same answer.
        assert!(
            answer.status == 200
                || (answer.status == 409 && answer.field("error") == "in_progress"),
            "{answer:?}"
        );
    }
    // Ringostat's re-sends of the refused ones.
    let refused = answers.iter().filter(|a| a.status == 409).count();
    for _ in 0..refused {
        let again = rig.send(same_call()).await;
        again.assert_outcome("call_logged");
    }
    assert_eq!(
        rig.crm().call_texts(&existing).len(),
        2,
        "four at once: one more record"
    );
}

/// Twenty calls from one new number ring at once: one contact, one deal, every event sees it.
async fn twenty_before_calls_from_one_new_number(kind: CrmKind) {
    let rig = Arc::new(Rig::new(kind).await);
    let requests = (0..20)
        .map(|i| {
            event_with("before-call-new-client.json", |body| {
                body["uniqueid"] = json!(format!("ua0_-1712316600.{}", 7000 + i));
            })
        })
        .collect();
    let answers = all_at_once(&rig, requests).await;
    bridge_tests::flows::assert_one_new_contact(&rig, &answers);
}

/// The CRM throttles and fails for a while: what the adapters' retries cannot save is parked;
/// Ringostat's re-send and the replay then land every call once, and a second replay and more
/// re-sends add nothing.
async fn outage_then_replay(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let existing = rig.seed_existing_client();
    // A short 429 burst: the adapters wait it out within the same delivery.
    rig.sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        2,
    );
    rig.invoke("after-call-2-missed-existing.json")
        .await
        .assert_outcome("call_logged");

    // A long outage: every request fails until it ends.
    rig.sandbox
        .inject(Fault::ServerError { status: 503 }, 10_000);
    let files = [
        AFTER_CALL,
        "after-call-3-answered-new.json",
        "after-outgoing-call-5-answered-existing.json",
    ];
    for file in files {
        let answer = rig.invoke(file).await;
        assert_eq!(answer.status, 503, "{file}: {answer:?}");
        assert_eq!(answer.json["parked"], true, "{file}");
    }
    rig.sandbox.state().faults.clear();
    let parked = rig
        .stack
        .adapters
        .ledger
        .parked(10)
        .await
        .expect("parked events readable");
    assert_eq!(parked.len(), files.len());
    for event in &parked {
        let query = event.query.as_deref().unwrap_or_default();
        assert!(
            !query.contains("local-dev-token"),
            "the token is not stored: {query}"
        );
    }

    // Ringostat re-sends one of them before the replay runs.
    rig.invoke(AFTER_CALL).await.assert_outcome("call_logged");
    let report = rig
        .stack
        .delivery
        .replay(100, Deadline::after(Duration::from_secs(60)))
        .await;
    assert_eq!(
        (report.landed, report.already_done, report.still_failing),
        (2, 1, 0),
        "{report:?}"
    );

    let again = rig
        .stack
        .delivery
        .replay(100, Deadline::after(Duration::from_secs(60)))
        .await;
    assert_eq!(again, Default::default(), "nothing left parked");
    for file in files {
        assert_eq!(rig.invoke(file).await.status, 200, "{file}: stored answer");
    }
    let crm = rig.crm();
    assert_eq!(
        crm.call_texts(&existing).len(),
        3,
        "scenarios 2, 1 and 5, once each"
    );
    assert_eq!(crm.call_count(), 4, "and scenario 3 on its new contact");
    assert_eq!(crm.contact_count(), 2);
}

/// A port nothing answers on: DynamoDB stopped.
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    let port = listener.local_addr().expect("bound").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// DynamoDB stopped: an existing client's call still lands in the CRM (no cache, no
/// idempotency) and smart forwarding still answers, from the CRM. A new number's contact is
/// never created without its claim: that call answers a retryable 503, unparked (parking
/// needs DynamoDB too), and Ringostat sends it again.
async fn dynamodb_stopped(kind: CrmKind) {
    let endpoint = dead_endpoint();
    let rig = Rig::with(kind, &[("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)]).await;
    let existing = rig.seed_existing_client();
    rig.invoke(AFTER_CALL).await.assert_outcome("call_logged");
    let new_number = rig.invoke("after-call-3-answered-new.json").await;
    assert_eq!(new_number.status, 503, "{new_number:?}");
    assert_eq!(new_number.json["parked"], false, "{new_number:?}");
    assert_eq!(rig.crm().call_texts(&existing).len(), 1);
    assert_eq!(rig.crm().call_count(), 1);
    assert_eq!(rig.crm().contact_count(), 1, "no contact without its claim");

    let answer = rig.invoke("smart-forward-known-client.json").await;
    assert_eq!(answer.json, json!({"destination": "acmeua_olena"}));
}

/// DynamoDB hangs (accepts connections, never answers): smart forwarding answers its fallback
/// within its budget instead of holding the ringing call.
async fn dynamodb_hanging_smart_forward_falls_back(kind: CrmKind) {
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("free port");
    let endpoint = format!("http://{}", hanging.local_addr().expect("bound"));
    let rig = Rig::with(
        kind,
        &[
            ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
            ("FORWARD_FALLBACK", "acmeua_reception"),
            ("FORWARD_BUDGET_MS", "700"),
        ],
    )
    .await;
    rig.seed_existing_client();
    let started = Instant::now();
    let response = webhook::smart_forward(
        &rig.apps.smart_forward,
        event("smart-forward-known-client.json"),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    let body: &[u8] = response.body().as_ref();
    assert_eq!(body, br#"{"destination":"acmeua_reception"}"#);
    // The function's own timeout is 3 s: the answer must come well before it.
    assert!(
        elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    drop(hanging);
}

bridge_tests::for_both_crms!(
    multi_thread:
    same_after_call_four_times,
    twenty_before_calls_from_one_new_number,
    outage_then_replay,
    dynamodb_stopped,
    dynamodb_hanging_smart_forward_falls_back,
);
