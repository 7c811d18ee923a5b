//! One behavioural suite for the ledger port, run against every adapter: the in-memory ledger
//! and DynamoDB (a real DynamoDB API: moto on loopback, started by `scripts/test`).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use bridge_core::EventKind;
use bridge_core::adapters::{DynamoDbLedger, MemoryLedger};
use bridge_core::clock::ManualClock;
use bridge_core::ports::ledger::event_key;
use bridge_core::ports::{Claim, Held, Ledger, Owner, ParkedEvent, StoredAnswer};
use tokio::task::JoinSet;

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const START_MS: i64 = START * 1000;
const HOUR: Duration = Duration::from_secs(3600);

fn answer() -> StoredAnswer {
    StoredAnswer {
        body: r#"{"outcome":"logged","call_id":"1767225600.42"}"#.into(),
    }
}

fn key(call_id: &str) -> String {
    event_key(EventKind::AfterCall, call_id)
}

async fn first_claim_acquires_and_a_second_waits(ledger: &dyn Ledger) {
    let key = key("1767225600.1");
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::InProgress,
        "the first run is still within its deadline"
    );
}

async fn claim_is_free_again_once_the_deadline_passed(ledger: &dyn Ledger, clock: &ManualClock) {
    let key = key("1767225600.2");
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    clock.advance(29);
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 60_000)
            .await
            .unwrap(),
        Claim::InProgress
    );
    clock.advance(1);
    // The first run timed out without releasing (a killed Lambda): the re-send takes over.
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 60_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 60_000)
            .await
            .unwrap(),
        Claim::InProgress,
        "the new claim holds until its own deadline"
    );
}

async fn completed_answer_is_replayed_until_it_expires(ledger: &dyn Ledger, clock: &ManualClock) {
    let key = key("1767225600.3");
    let run = Owner::new();
    assert_eq!(
        ledger.claim(&key, &run, START_MS + 30_000).await.unwrap(),
        Claim::Acquired { recheck: false }
    );
    assert_eq!(
        ledger.complete(&key, &run, &answer(), HOUR).await.unwrap(),
        Held::Yes
    );
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Completed(answer())
    );
    // Past the run's deadline the answer still stands: completion ended the claim.
    clock.advance(3599);
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 3_700_000)
            .await
            .unwrap(),
        Claim::Completed(answer())
    );
    clock.advance(1);
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 3_700_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false },
        "the answer expired after an hour"
    );
}

async fn released_claim_can_be_taken_again(ledger: &dyn Ledger) {
    let key = key("1767225600.4");
    let run = Owner::new();
    assert_eq!(
        ledger.claim(&key, &run, START_MS + 30_000).await.unwrap(),
        Claim::Acquired { recheck: false }
    );
    assert_eq!(ledger.release(&key, &run, false).await.unwrap(), Held::Yes);
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    // Releasing what is not there is not an error, and changes nothing.
    assert_eq!(
        ledger
            .release(&self::key("never-claimed"), &run, false)
            .await
            .unwrap(),
        Held::No
    );
}

async fn release_keeps_a_completed_answer(ledger: &dyn Ledger) {
    let key = key("1767225600.5");
    let run = Owner::new();
    ledger.claim(&key, &run, START_MS + 30_000).await.unwrap();
    ledger.complete(&key, &run, &answer(), HOUR).await.unwrap();
    assert_eq!(
        ledger.release(&key, &run, false).await.unwrap(),
        Held::No,
        "a late release of a completed event changes nothing"
    );
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Completed(answer())
    );
}

async fn kinds_of_one_call_are_separate_events(ledger: &dyn Ledger) {
    let before = event_key(EventKind::BeforeCall, "1767225600.6");
    let after = event_key(EventKind::AfterCall, "1767225600.6");
    let run = Owner::new();
    assert_eq!(
        ledger
            .claim(&before, &run, START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    assert_eq!(
        ledger
            .claim(&after, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    ledger
        .complete(&before, &run, &answer(), HOUR)
        .await
        .unwrap();
    assert_eq!(
        ledger
            .claim(&after, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::InProgress
    );
}

async fn a_late_release_or_completion_of_an_expired_claim_changes_nothing(
    ledger: &dyn Ledger,
    clock: &ManualClock,
) {
    let key = key("1767225600.8");
    let (late, current) = (Owner::new(), Owner::new());
    ledger.claim(&key, &late, START_MS + 30_000).await.unwrap();
    // The first run overran its deadline: a re-send took the event over.
    clock.advance(31);
    assert_eq!(
        ledger
            .claim(&key, &current, START_MS + 90_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: false }
    );
    assert_eq!(
        ledger.release(&key, &late, false).await.unwrap(),
        Held::No,
        "the late run cannot free the newer claim"
    );
    assert_eq!(
        ledger.complete(&key, &late, &answer(), HOUR).await.unwrap(),
        Held::No,
        "nor complete it"
    );
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 90_000)
            .await
            .unwrap(),
        Claim::InProgress,
        "the current run still holds the event"
    );
    let answer = StoredAnswer {
        body: r#"{"outcome":"call_logged"}"#.into(),
    };
    assert_eq!(
        ledger
            .complete(&key, &current, &answer, HOUR)
            .await
            .unwrap(),
        Held::Yes
    );
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 90_000)
            .await
            .unwrap(),
        Claim::Completed(answer)
    );
}

async fn an_ambiguous_failure_makes_every_next_run_recheck_until_one_completes(
    ledger: &dyn Ledger,
) {
    let key = key("1767225600.9");
    let first = Owner::new();
    ledger.claim(&key, &first, START_MS + 30_000).await.unwrap();
    assert_eq!(ledger.release(&key, &first, true).await.unwrap(), Held::Yes);
    let second = Owner::new();
    assert_eq!(
        ledger
            .claim(&key, &second, START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Acquired { recheck: true },
        "the write may have happened: check before writing"
    );
    // The rechecking run fails too, plainly this time: the doubt stays.
    ledger.release(&key, &second, false).await.unwrap();
    let third = Owner::new();
    assert_eq!(
        ledger.claim(&key, &third, START_MS + 30_000).await.unwrap(),
        Claim::Acquired { recheck: true }
    );
    ledger
        .complete(&key, &third, &answer(), HOUR)
        .await
        .unwrap();
    assert_eq!(
        ledger
            .claim(&key, &Owner::new(), START_MS + 30_000)
            .await
            .unwrap(),
        Claim::Completed(answer())
    );
}

async fn concurrent_claims_acquire_once(ledger: Arc<dyn Ledger>) {
    let key = key("1767225600.7");
    let mut runs = JoinSet::new();
    for _ in 0..10 {
        let ledger = ledger.clone();
        let key = key.clone();
        runs.spawn(async move { ledger.claim(&key, &Owner::new(), START_MS + 30_000).await });
    }
    let claims: Vec<Claim> = runs
        .join_all()
        .await
        .into_iter()
        .map(|claim| claim.unwrap())
        .collect();
    let acquired = claims
        .iter()
        .filter(|c| **c == Claim::Acquired { recheck: false })
        .count();
    let waiting = claims.iter().filter(|c| **c == Claim::InProgress).count();
    assert_eq!((acquired, waiting), (1, 9), "{claims:?}");
}

fn parked(call_id: &str, parked_at: i64) -> ParkedEvent {
    ParkedEvent {
        key: event_key(EventKind::AfterCall, call_id),
        kind: EventKind::AfterCall,
        content_type: Some("application/x-www-form-urlencoded".into()),
        // Raw bytes as received: not UTF-8, with NUL and CR/LF.
        body: vec![
            0x00, 0xff, 0xfe, b'c', b'a', b'l', b'l', b'=', 0x80, b'\r', b'\n', 0x00,
        ],
        query: Some("token=***&source=ringostat".into()),
        error: "CRM unavailable: 503 from NetHunt for ********4567".into(),
        parked_at,
        first_parked_at: parked_at,
        attempts: 1,
    }
}

async fn parked_event_round_trip(ledger: &dyn Ledger) {
    assert_eq!(ledger.parked(10).await.unwrap(), vec![]);
    let full = parked("1767225600.8", START);
    let bare = ParkedEvent {
        key: event_key(EventKind::CallAnalysis, "1767225600.9"),
        kind: EventKind::CallAnalysis,
        content_type: None,
        body: Vec::new(),
        query: None,
        error: "timeout".into(),
        parked_at: START + 5,
        first_parked_at: START + 5,
        attempts: 3,
    };
    ledger.park(&full).await.unwrap();
    ledger.park(&bare).await.unwrap();
    assert_eq!(
        ledger.parked(10).await.unwrap(),
        vec![full.clone(), bare.clone()]
    );
    ledger.unpark(&full.key).await.unwrap();
    assert_eq!(ledger.parked(10).await.unwrap(), vec![bare.clone()]);
    // Unparking what is not there is not an error.
    ledger.unpark(&full.key).await.unwrap();
    ledger.unpark(&bare.key).await.unwrap();
    assert_eq!(ledger.parked(10).await.unwrap(), vec![]);
}

async fn parking_again_replaces(ledger: &dyn Ledger) {
    let first = parked("1767225600.10", START);
    ledger.park(&first).await.unwrap();
    // A replay that failed again parks the event as new (its time, no query): the ledger
    // keeps when it first failed, the age an operator's alarm reads.
    let again = ParkedEvent {
        error: "CRM unavailable: timeout".into(),
        query: None,
        parked_at: START + 900,
        first_parked_at: START + 900,
        attempts: 2,
        ..first.clone()
    };
    ledger.park(&again).await.unwrap();
    assert_eq!(
        ledger.parked(10).await.unwrap(),
        vec![ParkedEvent {
            first_parked_at: START,
            ..again
        }]
    );
}

async fn parked_events_come_oldest_first_within_the_limit(ledger: &dyn Ledger) {
    let newest = parked("c", START + 120);
    let oldest = parked("a", START);
    let middle = parked("b", START + 60);
    for event in [&newest, &oldest, &middle] {
        ledger.park(event).await.unwrap();
    }
    assert_eq!(
        ledger.parked(10).await.unwrap(),
        vec![oldest.clone(), middle.clone(), newest.clone()]
    );
    assert_eq!(
        ledger.parked(2).await.unwrap(),
        vec![oldest.clone(), middle.clone()]
    );
    assert_eq!(ledger.parked(0).await.unwrap(), vec![]);
}

async fn memory_ledger(clock: Arc<ManualClock>) -> MemoryLedger {
    MemoryLedger::with_clock(clock)
}

async fn dynamodb_ledger(clock: Arc<ManualClock>) -> DynamoDbLedger {
    let client = bridge_tests::dynamodb_client(&bridge_tests::dynamodb_endpoint());
    let cache_table = bridge_tests::unique_table_name("ledger-cache");
    let parked_table = bridge_tests::unique_table_name("ledger-parked");
    DynamoDbLedger::create_tables(&client, &cache_table, &parked_table)
        .await
        .expect("moto creates the tables");
    DynamoDbLedger::with_clock(client, cache_table, parked_table, clock)
}

macro_rules! suite {
    ($adapter:ident) => {
        mod $adapter {
            use super::*;

            async fn fresh() -> (Arc<dyn Ledger>, Arc<ManualClock>) {
                let clock = Arc::new(ManualClock::starting_at(START));
                (Arc::new(super::$adapter(clock.clone()).await), clock)
            }

            #[tokio::test]
            async fn first_claim_acquires_and_a_second_waits() {
                super::first_claim_acquires_and_a_second_waits(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn claim_is_free_again_once_the_deadline_passed() {
                let (ledger, clock) = fresh().await;
                super::claim_is_free_again_once_the_deadline_passed(&*ledger, &clock).await;
            }
            #[tokio::test]
            async fn completed_answer_is_replayed_until_it_expires() {
                let (ledger, clock) = fresh().await;
                super::completed_answer_is_replayed_until_it_expires(&*ledger, &clock).await;
            }
            #[tokio::test]
            async fn released_claim_can_be_taken_again() {
                super::released_claim_can_be_taken_again(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn release_keeps_a_completed_answer() {
                super::release_keeps_a_completed_answer(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn kinds_of_one_call_are_separate_events() {
                super::kinds_of_one_call_are_separate_events(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn a_late_release_or_completion_of_an_expired_claim_changes_nothing() {
                let (ledger, clock) = fresh().await;
                super::a_late_release_or_completion_of_an_expired_claim_changes_nothing(
                    &*ledger, &clock,
                )
                .await;
            }
            #[tokio::test]
            async fn an_ambiguous_failure_makes_every_next_run_recheck_until_one_completes() {
                super::an_ambiguous_failure_makes_every_next_run_recheck_until_one_completes(
                    &*fresh().await.0,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_claims_acquire_once() {
                super::concurrent_claims_acquire_once(fresh().await.0).await;
            }
            #[tokio::test]
            async fn parked_event_round_trip() {
                super::parked_event_round_trip(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn parking_again_replaces() {
                super::parking_again_replaces(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn parked_events_come_oldest_first_within_the_limit() {
                super::parked_events_come_oldest_first_within_the_limit(&*fresh().await.0).await;
            }
        }
    };
}

suite!(memory_ledger);
suite!(dynamodb_ledger);

mod dynamodb_items {
    //! The stored shape, which `template.yaml`'s TTL and people reading the table rely on.

    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use bridge_core::adapters::DynamoDbCache;
    use bridge_core::adapters::dynamodb::cache::{EXPIRES_AT, KEY};
    use bridge_core::ports::CacheError;

    async fn setup() -> (aws_sdk_dynamodb::Client, String, DynamoDbLedger) {
        let client = bridge_tests::dynamodb_client(&bridge_tests::dynamodb_endpoint());
        let cache_table = bridge_tests::unique_table_name("idem");
        let parked_table = bridge_tests::unique_table_name("parked");
        DynamoDbLedger::create_tables(&client, &cache_table, &parked_table)
            .await
            .unwrap();
        let ledger = DynamoDbLedger::with_clock(
            client.clone(),
            cache_table.clone(),
            parked_table,
            Arc::new(ManualClock::starting_at(START)),
        );
        (client, cache_table, ledger)
    }

    async fn item(
        client: &aws_sdk_dynamodb::Client,
        table: &str,
        pk: &str,
    ) -> std::collections::HashMap<String, AttributeValue> {
        client
            .get_item()
            .table_name(table)
            .key(KEY, AttributeValue::S(pk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the item exists")
    }

    fn n(value: i64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.into())
    }

    #[tokio::test]
    async fn records_live_in_the_cache_table_under_idem_keys() {
        let (client, table, ledger) = setup().await;
        let key = key("1767225600.11");
        let until_ms = START_MS + 29_500;
        let run = Owner::new();
        ledger.claim(&key, &run, until_ms).await.unwrap();
        let claimed = item(&client, &table, &format!("idem#{key}")).await;
        assert_eq!(claimed.get("status"), Some(&s("INPROGRESS")));
        assert_eq!(claimed.get("in_progress_until"), Some(&n(until_ms)));
        assert_eq!(claimed.get("owner"), Some(&s(run.as_str())));
        // TTL cleans an abandoned claim an hour after its deadline.
        assert_eq!(claimed.get(EXPIRES_AT), Some(&n(START + 29 + 3600)));

        ledger.complete(&key, &run, &answer(), HOUR).await.unwrap();
        let completed = item(&client, &table, &format!("idem#{key}")).await;
        assert_eq!(completed.get("status"), Some(&s("COMPLETED")));
        assert_eq!(completed.get("answer_body"), Some(&s(&answer().body)));
        assert_eq!(completed.get(EXPIRES_AT), Some(&n(START + 3600)));
        assert_eq!(completed.get("in_progress_until"), None);
    }

    #[tokio::test]
    async fn a_record_this_version_cannot_read_is_malformed() {
        let (client, table, ledger) = setup().await;
        let key = key("1767225600.12");
        client
            .put_item()
            .table_name(&table)
            .item(KEY, s(&format!("idem#{key}")))
            .item("status", s("COMPLETED"))
            .item(EXPIRES_AT, n(START + 3600))
            .send()
            .await
            .unwrap();
        match ledger.claim(&key, &Owner::new(), START_MS + 30_000).await {
            Err(CacheError::Malformed { key: k, reason }) => {
                assert_eq!(k, key);
                assert!(reason.contains("answer_body"), "{reason}");
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_expired_record_not_yet_removed_by_ttl_is_claimable() {
        let (client, table, ledger) = setup().await;
        let key = key("1767225600.13");
        client
            .put_item()
            .table_name(&table)
            .item(KEY, s(&format!("idem#{key}")))
            .item("status", s("COMPLETED"))
            .item("answer_body", s("{}"))
            .item(EXPIRES_AT, n(START - 1))
            .send()
            .await
            .unwrap();
        assert_eq!(
            ledger
                .claim(&key, &Owner::new(), START_MS + 30_000)
                .await
                .unwrap(),
            Claim::Acquired { recheck: false }
        );
    }

    #[tokio::test]
    async fn parked_items_keep_the_raw_body_as_binary() {
        let (client, _, _) = setup().await;
        let cache_table = bridge_tests::unique_table_name("cache");
        let parked_table = bridge_tests::unique_table_name("parked");
        DynamoDbCache::create_table(&client, &cache_table)
            .await
            .unwrap();
        DynamoDbLedger::create_parked_table(&client, &parked_table)
            .await
            .unwrap();
        let ledger = DynamoDbLedger::new(client.clone(), cache_table, parked_table.clone());
        let event = parked("1767225600.14", START);
        ledger.park(&event).await.unwrap();
        let stored = item(&client, &parked_table, &event.key).await;
        assert_eq!(stored.get("kind"), Some(&s("after_call")));
        assert_eq!(
            stored.get("body"),
            Some(&AttributeValue::B(event.body.clone().into()))
        );
        assert_eq!(stored.get("parked_at"), Some(&n(START)));
        assert_eq!(stored.get("first_parked_at"), Some(&n(START)));
        assert_eq!(stored.get("attempts"), Some(&n(1)));
        assert_eq!(stored.get(EXPIRES_AT), Some(&n(START + 30 * 24 * 3600)));
    }
}
