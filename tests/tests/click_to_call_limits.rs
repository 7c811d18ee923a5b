//! How often click-to-call dials: per manager and per deployment, counted in the cache table
//! on DynamoDB (moto: the real API, conditional writes included), in a sliding window.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use bridge_core::adapters::{DynamoDbCache, DynamoDbRateLimiter};
use bridge_core::clock::ManualClock;
use bridge_core::ports::rate_limit::keys;
use bridge_core::ports::{Admission, CrmKind, RateLimiter};
use bridge_core::webhook;
use bridge_tests::click_to_call::{MANAGER, call, confirm, form_of, post, ringostat_calls, set_up};
use bridge_tests::dynamo_proxy::{Action, DynamoProxy, Gate, Rule};
use bridge_tests::rig::{Rig, click_to_call_app};
use bridge_tests::{dynamodb_client, dynamodb_endpoint, unique_table_name};

const CLIENT: &str = "0501234567";
const IVAN: &str = "ivan.petrenko@smart-crm.example";

/// The local manager and Ivan, who calls from the same project number.
fn two_managers(kind: CrmKind) -> String {
    let olena_id = match kind {
        CrmKind::NetHunt => MANAGER,
        CrmKind::Dataverse => "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2",
    };
    serde_json::json!([
        {"crm_user_id": olena_id, "name": "Олена Коваленко", "email": MANAGER},
        {"crm_user_id": IVAN, "name": "Іван Петренко", "email": IVAN},
    ])
    .to_string()
}

/// 30 calls of a manager in 10 minutes go through; the 31st gets 429 with `Retry-After` and
/// never reaches Ringostat; another manager still calls. The counter is an item of the cache
/// table.
async fn the_31st_call_of_a_manager_in_10_minutes_is_refused(kind: CrmKind) {
    let staff = two_managers(kind);
    let rig = Rig::with(kind, &[("STAFF", &staff)]).await;
    let olena = set_up(&rig, MANAGER).await;
    for n in 1..=30 {
        call(&rig, &olena, CLIENT).await.assert_outcome("calling");
        assert_eq!(ringostat_calls(&rig), n);
    }
    let page = confirm(&rig, &olena, CLIENT).await;
    let refused = rig.send(post(&form_of(&page))).await;
    assert_eq!(refused.status, 429, "{:?}", refused.json);
    assert_eq!(refused.field("error"), "rate_limited");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (570..=600).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert!(refused.field("message").contains("30 calls in 10 minutes"));
    assert_eq!(
        ringostat_calls(&rig),
        30,
        "the 31st never reached Ringostat"
    );

    let ivan = set_up(&rig, IVAN).await;
    call(&rig, &ivan, CLIENT).await.assert_outcome("calling");

    let olena_id = rig.manager();
    let table = &rig.vars["CACHE_TABLE"];
    let stored = dynamodb_client(&dynamodb_endpoint())
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(keys::manager(&olena_id)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the manager's counter is in the cache table");
    match &stored["hits"] {
        AttributeValue::L(hits) => assert_eq!(hits.len(), 30),
        other => panic!("hits: {other:?}"),
    }
    assert!(
        stored.contains_key("expires_at"),
        "the counter expires by TTL"
    );
}

/// The deployment's limit counts every manager's calls together.
async fn the_deployment_limit_counts_every_manager(kind: CrmKind) {
    let staff = two_managers(kind);
    let rig = Rig::with(
        kind,
        &[("STAFF", &staff), ("CLICK_TO_CALL_DEPLOYMENT_LIMIT", "3")],
    )
    .await;
    let (olena, ivan) = (set_up(&rig, MANAGER).await, set_up(&rig, IVAN).await);
    call(&rig, &olena, CLIENT).await.assert_outcome("calling");
    call(&rig, &olena, CLIENT).await.assert_outcome("calling");
    call(&rig, &ivan, CLIENT).await.assert_outcome("calling");
    let refused = call(&rig, &ivan, CLIENT).await;
    assert_eq!(refused.status, 429, "{:?}", refused.json);
    assert!(
        refused.field("message").contains("for the whole company"),
        "{:?}",
        refused.json
    );
    assert_eq!(ringostat_calls(&rig), 3);
}

/// With the counters out of reach no call starts: a limit that fails open limits nothing.
async fn unreachable_counters_refuse_the_call(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let olena = set_up(&rig, MANAGER).await;
    let page = confirm(&rig, &olena, CLIENT).await;
    let mut vars = rig.vars.clone();
    vars.insert(
        "AWS_ENDPOINT_URL_DYNAMODB".into(),
        "http://127.0.0.1:9".into(),
    );
    let cut_off = click_to_call_app(&rig.sandbox, &vars).await.unwrap();
    let response = webhook::click_to_call(&cut_off, post(&form_of(&page))).await;
    assert_eq!(response.status(), 503);
    let json: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(json["error"], "limits_unavailable");
    assert_eq!(ringostat_calls(&rig), 0);
}

bridge_tests::for_both_crms!(
    the_31st_call_of_a_manager_in_10_minutes_is_refused,
    the_deployment_limit_counts_every_manager,
    unreachable_counters_refuse_the_call,
);

async fn limiter_at(clock: Arc<ManualClock>) -> DynamoDbRateLimiter {
    let table = unique_table_name("ctc-limits");
    let client = dynamodb_client(&dynamodb_endpoint());
    DynamoDbCache::create_table(&client, &table).await.unwrap();
    DynamoDbRateLimiter::with_clock(client, table, clock)
}

/// The window slides: an admission counts for exactly the window after it, whatever the
/// clock's tens.
#[tokio::test]
async fn the_window_slides_on_dynamodb() {
    let clock = Arc::new(ManualClock::starting_at(1_800_000_000));
    let limiter = limiter_at(clock.clone()).await;
    let window = Duration::from_secs(600);
    for _ in 0..3 {
        assert_eq!(
            limiter.admit("click-to-call#k", 3, window).await.unwrap(),
            Admission::Admitted
        );
        clock.advance(100);
    }
    assert_eq!(
        limiter.admit("click-to-call#k", 3, window).await.unwrap(),
        Admission::Refused {
            retry_after: Duration::from_secs(300)
        }
    );
    clock.advance(300);
    assert_eq!(
        limiter.admit("click-to-call#k", 3, window).await.unwrap(),
        Admission::Admitted
    );
    assert!(matches!(
        limiter.admit("click-to-call#k", 3, window).await.unwrap(),
        Admission::Refused { .. }
    ));
}

/// Concurrent clicks never pass the limit together, and none of the limit is lost to the
/// contention: after the burst exactly the limit was admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admissions_never_pass_the_limit() {
    let clock = Arc::new(ManualClock::starting_at(1_800_000_000));
    let limiter = Arc::new(limiter_at(clock).await);
    let window = Duration::from_secs(600);
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.admit("click-to-call#burst", 10, window).await })
        })
        .collect();
    let mut admitted = 0;
    for task in burst {
        if let Ok(Admission::Admitted) = task.await.unwrap() {
            admitted += 1;
        }
    }
    assert!(admitted <= 10, "{admitted} admitted at once");
    while let Admission::Admitted = limiter
        .admit("click-to-call#burst", 10, window)
        .await
        .unwrap()
    {
        admitted += 1;
    }
    assert_eq!(admitted, 10);
}

/// The lost update, forced: two admissions read the same counter, then both try to write it
/// (held at a gate in front of DynamoDB until both arrived). The counter's version lets one
/// write win; the other reads again and is refused, so a limit of one admits exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admissions_that_read_the_same_counter_are_not_both_admitted() {
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let table = unique_table_name("ctc-race");
    let client = dynamodb_client(&proxy.endpoint());
    DynamoDbCache::create_table(&client, &table).await.unwrap();
    let clock = Arc::new(ManualClock::starting_at(1_800_000_000));
    let limiter = Arc::new(DynamoDbRateLimiter::with_clock(client, table, clock));
    let gate = Gate::new();
    proxy.rule(Rule {
        op: Some("PutItem"),
        body_contains: Some("click-to-call#race".into()),
        action: Action::Hold(gate.clone()),
        ..Rule::default()
    });
    let window = Duration::from_secs(600);
    let admissions: Vec<_> = (0..2)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.admit("click-to-call#race", 1, window).await })
        })
        .collect();
    // Both have read the empty counter and wait to write it.
    tokio::time::timeout(Duration::from_secs(10), gate.wait_for_arrivals(2))
        .await
        .unwrap();
    gate.release();
    let mut answers = Vec::new();
    for admission in admissions {
        answers.push(admission.await.unwrap().unwrap());
    }
    let admitted = answers
        .iter()
        .filter(|a| **a == Admission::Admitted)
        .count();
    assert_eq!(admitted, 1, "{answers:?}");
    assert_eq!(
        proxy.count("PutItem"),
        2,
        "the loser's write was refused, not retried blind"
    );
}
