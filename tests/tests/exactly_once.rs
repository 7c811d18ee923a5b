//! Exactly once under forced interleavings: one contact per number whatever order the events'
//! searches, claims and creates happen in — for both CRMs, through the real handlers, against
//! the CRM sandbox and DynamoDB on moto. The orders are forced with a gate on the CRM's search
//! (`GatedCrm`), not hoped for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge_core::ports::CrmKind;
use bridge_tests::dynamo_proxy::{Action, DynamoProxy, Rule};
use bridge_tests::dynamodb_endpoint;
use bridge_tests::gated_crm::GatedCrm;
use bridge_tests::rig::{Answer, Rig, event, event_with};
use serde_json::json;
use tokio::task::JoinSet;

const NEW_NUMBER: &str = "380939990011";

fn before_call(call_id: &str) -> lambda_http::Request {
    event_with("before-call-new-client.json", |body| {
        body["uniqueid"] = json!(call_id);
        body["caller"] = json!(NEW_NUMBER);
    })
}

/// A rig whose CRM passes through a gate.
async fn gated_rig(kind: CrmKind, search_delay: Duration) -> (Arc<Rig>, Arc<GatedCrm>) {
    let (rig, gate) = Rig::gated(kind, &[], search_delay).await;
    (Arc::new(rig), gate)
}

/// B searches before A creates, and claims after A is done: B must not create a second
/// contact (the race that once split calls, deals and UTM tags between two contacts).
async fn a_search_that_predates_the_winners_create_finds_one_contact(kind: CrmKind) {
    let (rig, gate) = gated_rig(kind, Duration::ZERO).await;
    gate.hold_next_searches(1);
    let late = {
        let rig = Arc::clone(&rig);
        tokio::spawn(async move { rig.send(before_call("ua0_-1712316600.5001")).await })
    };
    // B's search answered "no contact" and waits at the gate.
    gate.search_held().await;
    let winner = rig.send(before_call("ua0_-1712316600.5002")).await;
    winner.assert_outcome("contact_ready");
    assert_eq!(winner.json["new_contact"], true, "{:?}", winner.json);
    // A created the contact and let go of the number; now B goes on with its stale answer.
    gate.release(1);
    let late = late.await.expect("B finished");
    late.assert_outcome("contact_ready");
    assert_eq!(
        late.field("contact_id"),
        winner.field("contact_id"),
        "one contact for both"
    );
    assert_ne!(late.json["new_contact"], true, "{:?}", late.json);
    assert_eq!(rig.crm().contact_count(), 1);
    assert_eq!(rig.crm().deals_of(winner.field("contact_id")).len(), 1);
}

/// The creator of a new client's contact is still creating its deal when a second event for
/// the number finds the contact: the second event must leave the deal to the creator (one
/// deal), not take the deal's due marker for a failed run's.
async fn an_event_during_the_creators_deal_leaves_the_deal_to_it(kind: CrmKind) {
    let (rig, gate) = gated_rig(kind, Duration::ZERO).await;
    gate.hold_next_deal_creates(1);
    let creator = {
        let rig = Arc::clone(&rig);
        tokio::spawn(async move { rig.send(before_call("ua0_-1712316600.5101")).await })
    };
    gate.search_held().await;
    let second = rig.send(before_call("ua0_-1712316600.5102")).await;
    second.assert_outcome("contact_ready");
    gate.release(1);
    let creator = creator.await.expect("the creator finished");
    creator.assert_outcome("contact_ready");
    assert_eq!(creator.json["new_contact"], true, "{:?}", creator.json);
    assert_eq!(second.field("contact_id"), creator.field("contact_id"));
    let contact = creator.field("contact_id");
    assert_eq!(rig.crm().contact_count(), 1);
    assert_eq!(rig.crm().deals_of(contact).len(), 1, "one deal");
    assert!(!creator.field("deal_id").is_empty(), "{:?}", creator.json);
}

/// A crowd of events for one new number, the CRM's search answering 300 ms late: one
/// contact, one deal, and every event gets that contact.
async fn crowd(kind: CrmKind, size: usize) {
    let (rig, _gate) = gated_rig(kind, Duration::from_millis(300)).await;
    let mut tasks = JoinSet::new();
    for i in 0..size {
        let rig = Arc::clone(&rig);
        tasks.spawn(async move {
            rig.send(before_call(&format!("ua0_-1712316600.{}", 6000 + i)))
                .await
        });
    }
    let answers: Vec<Answer> = tasks.join_all().await;
    bridge_tests::flows::assert_one_new_contact(&rig, &answers);
}

async fn twenty_events_for_one_new_number_with_a_slow_search(kind: CrmKind) {
    crowd(kind, 20).await;
}

async fn fifty_events_for_one_new_number_with_a_slow_search(kind: CrmKind) {
    crowd(kind, 50).await;
}

/// DynamoDB answering every request 1.2 s late (past the SDK's attempt timeout): no event may
/// create a contact without its claim, every webhook answers within its budget, and once
/// DynamoDB is back Ringostat's re-sends make exactly one contact. The webhook number still
/// answers within its budget.
async fn a_slow_dynamodb_never_costs_a_duplicate_or_a_deadline(kind: CrmKind) {
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let endpoint = proxy.endpoint();
    let budget = Duration::from_secs(8);
    let rig = Arc::new(
        Rig::with(
            kind,
            &[
                ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
                ("WEBHOOK_BUDGET_MS", "8000"),
                ("FORWARD_FALLBACK", "acmeua_reception"),
            ],
        )
        .await,
    );
    rig.seed_existing_client();
    proxy.delay_all(Duration::from_millis(1200));
    let after_call = |i: usize| {
        event_with("after-call-3-answered-new.json", |body| {
            body["uniqueid"] = json!(format!("ua0_-1712316600.{}", 8000 + i));
            body["caller"] = json!(NEW_NUMBER);
        })
    };
    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let rig = Arc::clone(&rig);
        tasks.spawn(async move {
            let started = Instant::now();
            let answer = rig.send(after_call(i)).await;
            (i, answer, started.elapsed())
        });
    }
    let answers = tasks.join_all().await;
    for (i, answer, elapsed) in &answers {
        assert!(
            *elapsed < budget,
            "event {i} answered after {elapsed:?}, past its {budget:?} budget"
        );
        assert!(
            answer.status == 200 || answer.status == 503,
            "event {i}: {answer:?}"
        );
    }
    assert!(
        rig.crm().contact_count() <= 2,
        "at most the seeded client and one new"
    );

    // The webhook number, meanwhile: an answer within its budget (1.5 s), whatever it is.
    let started = Instant::now();
    let forward = rig.send(event("smart-forward-known-client.json")).await;
    let elapsed = started.elapsed();
    assert_eq!(forward.status, 200);
    assert!(
        elapsed < Duration::from_millis(2000),
        "smart forward answered after {elapsed:?}"
    );

    // DynamoDB recovers; Ringostat re-sends whatever was refused.
    proxy.delay_all(Duration::ZERO);
    for (i, answer, _) in &answers {
        if answer.status != 200 {
            rig.send(after_call(*i)).await.assert_outcome("call_logged");
        }
    }
    assert_eq!(
        rig.crm().contact_count(),
        2,
        "the seeded client and one new contact"
    );
    assert_eq!(rig.crm().call_count(), 10, "every call once");
}

/// A claim whose write landed but whose answer was lost (DynamoDB wrote, then answered 500):
/// the SDK's retry meets the record this run wrote itself. The event is still this run's: it
/// is handled now, not refused as "in progress" until its own claim expires.
async fn an_event_claim_whose_answer_was_lost_is_still_ours(kind: CrmKind) {
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let endpoint = proxy.endpoint();
    let rig = Rig::with(kind, &[("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)]).await;
    rig.seed_existing_client();
    proxy.rule(
        Rule::op("PutItem")
            .body_contains("idem#")
            .action(Action::FailAfterForward { times: 1 }),
    );
    let answer = rig.send(event("after-call-1-answered-existing.json")).await;
    answer.assert_outcome("call_logged");
    assert_eq!(rig.crm().call_count(), 1, "the call, once");
    let again = rig.send(event("after-call-1-answered-existing.json")).await;
    assert_eq!(again.status, 200, "{:?}", again.json);
    assert_eq!(rig.crm().call_count(), 1, "a re-send writes nothing");
}

/// The same for the per-number claim of a new client's contact: the run that wrote the claim
/// creates the contact instead of waiting for itself.
async fn a_contact_claim_whose_answer_was_lost_is_still_ours(kind: CrmKind) {
    let proxy = DynamoProxy::start(&dynamodb_endpoint()).await;
    let endpoint = proxy.endpoint();
    let rig = Rig::with(kind, &[("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)]).await;
    proxy.rule(
        Rule::op("PutItem")
            .body_contains(NEW_NUMBER)
            .action(Action::FailAfterForward { times: 1 }),
    );
    let answer = rig.send(before_call("ua0_-1712316600.7001")).await;
    answer.assert_outcome("contact_ready");
    assert_eq!(answer.json["new_contact"], true, "{:?}", answer.json);
    assert_eq!(rig.crm().contact_count(), 1);
}

bridge_tests::for_both_crms!(
    multi_thread:
    an_event_claim_whose_answer_was_lost_is_still_ours,
    a_contact_claim_whose_answer_was_lost_is_still_ours,
    a_search_that_predates_the_winners_create_finds_one_contact,
    an_event_during_the_creators_deal_leaves_the_deal_to_it,
    twenty_events_for_one_new_number_with_a_slow_search,
    fifty_events_for_one_new_number_with_a_slow_search,
    a_slow_dynamodb_never_costs_a_duplicate_or_a_deadline,
);
