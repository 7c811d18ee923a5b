//! One behavioural suite for the cache port, run against every adapter: the in-memory cache
//! and DynamoDB (a real DynamoDB API: moto on loopback, started by `scripts/test`).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use bridge_core::adapters::{DynamoDbCache, MemoryCache};
use bridge_core::clock::ManualClock;
use bridge_core::ports::{Cache, ContactSlot, Held, ManagerRoute, Owner};
use bridge_core::{ContactRef, PhoneNumber};

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const HOUR: Duration = Duration::from_secs(3600);

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).expect("test numbers are valid")
}

fn olena_contact() -> ContactRef {
    ContactRef {
        id: "rec-olena".into(),
        name: Some("Олена Коваль".into()),
        owner_id: Some("user-ivan".into()),
        card_url: Some("https://nethunt.com/app/records/rec-olena".into()),
    }
}

async fn contact_round_trip_under_every_notation(cache: &dyn Cache) {
    let contact = olena_contact();
    cache
        .put_contact(&phone("+380501234567"), &contact, HOUR)
        .await
        .unwrap();
    for notation in ["0501234567", "380501234567", "8 050 123 45 67"] {
        assert_eq!(
            cache.contact(&phone(notation)).await.unwrap(),
            Some(contact.clone()),
            "{notation}"
        );
    }
    assert_eq!(cache.contact(&phone("0671112233")).await.unwrap(), None);
}

async fn contact_without_optional_fields(cache: &dyn Cache) {
    let bare = ContactRef {
        id: "rec-new".into(),
        name: None,
        owner_id: None,
        card_url: None,
    };
    cache
        .put_contact(&phone("0931112233"), &bare, HOUR)
        .await
        .unwrap();
    assert_eq!(
        cache.contact(&phone("0931112233")).await.unwrap(),
        Some(bare)
    );
}

async fn newer_contact_replaces_older(cache: &dyn Cache) {
    let number = phone("0661112233");
    cache
        .put_contact(&number, &olena_contact(), HOUR)
        .await
        .unwrap();
    let reassigned = ContactRef {
        owner_id: Some("user-maria".into()),
        ..olena_contact()
    };
    cache.put_contact(&number, &reassigned, HOUR).await.unwrap();
    assert_eq!(cache.contact(&number).await.unwrap(), Some(reassigned));
}

async fn forgotten_contact_is_gone(cache: &dyn Cache) {
    let number = phone("0501234567");
    cache
        .put_contact(&number, &olena_contact(), HOUR)
        .await
        .unwrap();
    cache.forget_contact(&number).await.unwrap();
    assert_eq!(cache.contact(&number).await.unwrap(), None);
    // Forgetting what is not there is not an error.
    cache.forget_contact(&number).await.unwrap();
}

async fn entries_expire_on_read(cache: &dyn Cache, clock: &ManualClock) {
    let number = phone("0501234567");
    cache
        .put_contact(&number, &olena_contact(), HOUR)
        .await
        .unwrap();
    cache
        .put_manager_route(
            "user-ivan",
            &ManagerRoute::SipLogin("acme_ivan".into()),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    clock.advance(59);
    assert!(cache.manager_route("user-ivan").await.unwrap().is_some());
    clock.advance(1);
    assert_eq!(
        cache.manager_route("user-ivan").await.unwrap(),
        None,
        "route expired at 60 s"
    );
    assert!(
        cache.contact(&number).await.unwrap().is_some(),
        "contact lives for an hour"
    );
    clock.advance(3600);
    assert_eq!(
        cache.contact(&number).await.unwrap(),
        None,
        "contact expired after an hour"
    );
}

async fn manager_routes_keep_their_kind(cache: &dyn Cache) {
    let sip = ManagerRoute::SipLogin("acmecom_ivan".into());
    let number = ManagerRoute::Number(phone("0671112233"));
    cache
        .put_manager_route("user-ivan", &sip, HOUR)
        .await
        .unwrap();
    cache
        .put_manager_route("user-maria", &number, HOUR)
        .await
        .unwrap();
    assert_eq!(
        cache.manager_route("user-ivan").await.unwrap(),
        Some(sip.clone())
    );
    assert_eq!(
        cache.manager_route("user-maria").await.unwrap(),
        Some(number.clone())
    );
    assert_eq!(sip.destination(), "acmecom_ivan");
    assert_eq!(number.destination(), "380671112233");
    assert_eq!(cache.manager_route("user-unknown").await.unwrap(), None);
}

async fn contacts_and_routes_do_not_collide(cache: &dyn Cache) {
    // A CRM user id made of digits must not read a contact entry, and the other way round.
    cache
        .put_contact(&phone("+380501234567"), &olena_contact(), HOUR)
        .await
        .unwrap();
    assert_eq!(cache.manager_route("380501234567").await.unwrap(), None);
    cache
        .put_manager_route(
            "380671112233",
            &ManagerRoute::SipLogin("acme_x".into()),
            HOUR,
        )
        .await
        .unwrap();
    assert_eq!(cache.contact(&phone("+380671112233")).await.unwrap(), None);
}

async fn pending_deal_round_trip_under_every_notation(cache: &dyn Cache) {
    cache
        .put_pending_deal(&phone("+380501234567"), "deal-olena", HOUR)
        .await
        .unwrap();
    for notation in ["0501234567", "380501234567", "8 050 123 45 67"] {
        assert_eq!(
            cache
                .pending_deal(&phone(notation))
                .await
                .unwrap()
                .as_deref(),
            Some("deal-olena"),
            "{notation}"
        );
    }
    assert_eq!(
        cache.pending_deal(&phone("0671112233")).await.unwrap(),
        None
    );
}

async fn newer_pending_deal_replaces_older(cache: &dyn Cache) {
    let number = phone("0661112233");
    cache
        .put_pending_deal(&number, "deal-first", HOUR)
        .await
        .unwrap();
    cache
        .put_pending_deal(&number, "deal-second", HOUR)
        .await
        .unwrap();
    assert_eq!(
        cache.pending_deal(&number).await.unwrap().as_deref(),
        Some("deal-second")
    );
}

async fn forgotten_pending_deal_is_gone(cache: &dyn Cache) {
    let number = phone("0501234567");
    cache
        .put_contact(&number, &olena_contact(), HOUR)
        .await
        .unwrap();
    cache
        .put_pending_deal(&number, "deal-olena", HOUR)
        .await
        .unwrap();
    cache.forget_pending_deal(&number).await.unwrap();
    assert_eq!(cache.pending_deal(&number).await.unwrap(), None);
    assert_eq!(
        cache.contact(&number).await.unwrap(),
        Some(olena_contact()),
        "the number's contact entry stays"
    );
    // Forgetting what is not there is not an error.
    cache.forget_pending_deal(&number).await.unwrap();
}

async fn pending_deals_expire_on_read(cache: &dyn Cache, clock: &ManualClock) {
    let number = phone("0501234567");
    cache
        .put_pending_deal(&number, "deal-olena", Duration::from_secs(600))
        .await
        .unwrap();
    clock.advance(599);
    assert_eq!(
        cache.pending_deal(&number).await.unwrap().as_deref(),
        Some("deal-olena")
    );
    clock.advance(1);
    assert_eq!(
        cache.pending_deal(&number).await.unwrap(),
        None,
        "expired at 600 s"
    );
}

async fn pending_deals_contacts_and_routes_do_not_collide(cache: &dyn Cache) {
    // One number, three entries: each kind reads only its own.
    let number = phone("+380501234567");
    cache
        .put_contact(&number, &olena_contact(), HOUR)
        .await
        .unwrap();
    assert_eq!(cache.pending_deal(&number).await.unwrap(), None);
    cache
        .put_pending_deal(&number, "deal-olena", HOUR)
        .await
        .unwrap();
    assert_eq!(cache.manager_route("380501234567").await.unwrap(), None);
    assert_eq!(cache.contact(&number).await.unwrap(), Some(olena_contact()));
    cache.forget_contact(&number).await.unwrap();
    assert_eq!(
        cache.pending_deal(&number).await.unwrap().as_deref(),
        Some("deal-olena"),
        "forgetting the contact keeps the deal"
    );
    cache
        .put_manager_route(
            "380671112233",
            &ManagerRoute::SipLogin("acme_x".into()),
            HOUR,
        )
        .await
        .unwrap();
    assert_eq!(
        cache.pending_deal(&phone("+380671112233")).await.unwrap(),
        None
    );
}

const LEASE: Duration = Duration::from_secs(10);

fn free(recheck: bool) -> ContactSlot {
    ContactSlot::Free { recheck }
}

async fn contact_claim_is_exclusive_per_number(cache: &dyn Cache) {
    let number = phone("0501234567");
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        free(false)
    );
    assert_eq!(
        cache
            .claim_contact(&phone("+380501234567"), &Owner::new(), LEASE)
            .await
            .unwrap(),
        ContactSlot::Creating,
        "held, under any notation"
    );
    assert_eq!(
        cache
            .claim_contact(&phone("0671112233"), &Owner::new(), LEASE)
            .await
            .unwrap(),
        free(false),
        "another number has its own claim"
    );
    assert_eq!(
        cache.contact(&number).await.unwrap(),
        None,
        "a claim is no contact"
    );
}

async fn released_claim_can_be_taken_again_by_its_owner_only(cache: &dyn Cache) {
    let number = phone("0501234567");
    let (creator, stranger) = (Owner::new(), Owner::new());
    cache.claim_contact(&number, &creator, LEASE).await.unwrap();
    assert_eq!(
        cache
            .release_contact(&number, &stranger, false)
            .await
            .unwrap(),
        Held::No,
        "only the creator lets go"
    );
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        ContactSlot::Creating
    );
    assert_eq!(
        cache
            .release_contact(&number, &creator, false)
            .await
            .unwrap(),
        Held::Yes
    );
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        free(false)
    );
    // Releasing what is not claimed is not an error, and changes nothing.
    assert_eq!(
        cache
            .release_contact(&phone("0671112233"), &creator, false)
            .await
            .unwrap(),
        Held::No
    );
}

async fn contact_claim_expires_after_its_lease(cache: &dyn Cache, clock: &ManualClock) {
    let number = phone("0501234567");
    let dead = Owner::new();
    cache.claim_contact(&number, &dead, LEASE).await.unwrap();
    clock.advance(9);
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        ContactSlot::Creating
    );
    clock.advance(1);
    // The creator died without finishing: the claim frees itself after exactly 10 s, and the
    // next winner is told to search the CRM first (the dead one may have created it).
    let next = Owner::new();
    assert_eq!(
        cache.claim_contact(&number, &next, LEASE).await.unwrap(),
        free(true)
    );
    assert_eq!(
        cache
            .contact_created(&number, &dead, &olena_contact(), HOUR)
            .await
            .unwrap(),
        Held::No,
        "the dead creator's late write changes nothing"
    );
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        ContactSlot::Creating,
        "the new creator has it"
    );
}

async fn the_created_contact_answers_every_later_claim(cache: &dyn Cache) {
    let number = phone("0501234567");
    let creator = Owner::new();
    cache.claim_contact(&number, &creator, LEASE).await.unwrap();
    assert_eq!(
        cache.contact_slot(&number).await.unwrap(),
        ContactSlot::Creating
    );
    assert_eq!(
        cache
            .contact_created(&number, &creator, &olena_contact(), HOUR)
            .await
            .unwrap(),
        Held::Yes
    );
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        ContactSlot::Ready(olena_contact())
    );
    assert_eq!(
        cache.contact_slot(&number).await.unwrap(),
        ContactSlot::Ready(olena_contact())
    );
    assert_eq!(cache.contact(&number).await.unwrap(), Some(olena_contact()));
    assert_eq!(
        cache
            .release_contact(&number, &creator, false)
            .await
            .unwrap(),
        Held::No,
        "a late release keeps the contact"
    );
    assert_eq!(cache.contact(&number).await.unwrap(), Some(olena_contact()));
}

async fn a_doubtful_release_makes_the_next_winner_search_first(cache: &dyn Cache) {
    let number = phone("0501234567");
    let creator = Owner::new();
    cache.claim_contact(&number, &creator, LEASE).await.unwrap();
    cache
        .release_contact(&number, &creator, true)
        .await
        .unwrap();
    assert_eq!(cache.contact_slot(&number).await.unwrap(), free(true));
    assert_eq!(
        cache
            .claim_contact(&number, &Owner::new(), LEASE)
            .await
            .unwrap(),
        free(true)
    );
}

async fn concurrent_claims_have_one_winner(cache: Arc<dyn Cache>) {
    let mut tries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let cache = cache.clone();
        tries.spawn(async move {
            cache
                .claim_contact(&phone("0501234567"), &Owner::new(), LEASE)
                .await
        });
    }
    let slots: Vec<ContactSlot> = tries
        .join_all()
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let won = slots
        .iter()
        .filter(|s| matches!(s, ContactSlot::Free { .. }))
        .count();
    assert_eq!(won, 1, "{slots:?}");
}

async fn memory_cache(clock: Arc<ManualClock>) -> MemoryCache {
    MemoryCache::with_clock(clock)
}

async fn dynamodb_cache(clock: Arc<ManualClock>) -> DynamoDbCache {
    let client = bridge_tests::dynamodb_client(&bridge_tests::dynamodb_endpoint());
    let table = bridge_tests::unique_table_name("cache");
    DynamoDbCache::create_table(&client, &table)
        .await
        .expect("moto creates the table");
    DynamoDbCache::with_clock(client, table, clock)
}

macro_rules! suite {
    ($adapter:ident) => {
        mod $adapter {
            use super::*;

            async fn fresh() -> (Arc<dyn Cache>, Arc<ManualClock>) {
                let clock = Arc::new(ManualClock::starting_at(START));
                (Arc::new(super::$adapter(clock.clone()).await), clock)
            }

            #[tokio::test]
            async fn contact_round_trip_under_every_notation() {
                super::contact_round_trip_under_every_notation(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn contact_without_optional_fields() {
                super::contact_without_optional_fields(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn newer_contact_replaces_older() {
                super::newer_contact_replaces_older(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn forgotten_contact_is_gone() {
                super::forgotten_contact_is_gone(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn entries_expire_on_read() {
                let (cache, clock) = fresh().await;
                super::entries_expire_on_read(&*cache, &clock).await;
            }
            #[tokio::test]
            async fn manager_routes_keep_their_kind() {
                super::manager_routes_keep_their_kind(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn contacts_and_routes_do_not_collide() {
                super::contacts_and_routes_do_not_collide(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn pending_deal_round_trip_under_every_notation() {
                super::pending_deal_round_trip_under_every_notation(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn newer_pending_deal_replaces_older() {
                super::newer_pending_deal_replaces_older(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn forgotten_pending_deal_is_gone() {
                super::forgotten_pending_deal_is_gone(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn pending_deals_expire_on_read() {
                let (cache, clock) = fresh().await;
                super::pending_deals_expire_on_read(&*cache, &clock).await;
            }
            #[tokio::test]
            async fn pending_deals_contacts_and_routes_do_not_collide() {
                super::pending_deals_contacts_and_routes_do_not_collide(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn contact_claim_is_exclusive_per_number() {
                super::contact_claim_is_exclusive_per_number(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn released_claim_can_be_taken_again_by_its_owner_only() {
                super::released_claim_can_be_taken_again_by_its_owner_only(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn contact_claim_expires_after_its_lease() {
                let (cache, clock) = fresh().await;
                super::contact_claim_expires_after_its_lease(&*cache, &clock).await;
            }
            #[tokio::test]
            async fn the_created_contact_answers_every_later_claim() {
                super::the_created_contact_answers_every_later_claim(&*fresh().await.0).await;
            }
            #[tokio::test]
            async fn a_doubtful_release_makes_the_next_winner_search_first() {
                super::a_doubtful_release_makes_the_next_winner_search_first(&*fresh().await.0)
                    .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_claims_have_one_winner() {
                super::concurrent_claims_have_one_winner(fresh().await.0).await;
            }
        }
    };
}

suite!(memory_cache);
suite!(dynamodb_cache);

/// The Lambda functions build their client from the environment; with the loopback endpoint
/// and dummy credentials that `scripts/test` exports, it must reach moto and nothing else.
#[tokio::test]
async fn client_from_the_environment_reaches_the_configured_endpoint() {
    let endpoint = bridge_tests::dynamodb_endpoint();
    assert_eq!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok().as_deref(),
        Some(endpoint.as_str()),
        "scripts/test exports AWS_ENDPOINT_URL_DYNAMODB"
    );
    let client = DynamoDbCache::client_from_env().await;
    let table = bridge_tests::unique_table_name("env");
    DynamoDbCache::create_table(&client, &table).await.unwrap();
    let cache = DynamoDbCache::new(client, table);
    cache
        .put_contact(&phone("0501234567"), &olena_contact(), HOUR)
        .await
        .unwrap();
    assert_eq!(
        cache.contact(&phone("0501234567")).await.unwrap(),
        Some(olena_contact())
    );
}

/// A dead DynamoDB costs a webhook about a second and a half, not the SDK's default retries:
/// `client_for` with a closed port fails fast, and the endpoint it is given wins over
/// `AWS_ENDPOINT_URL_DYNAMODB` (which points at a live moto here).
#[tokio::test]
async fn a_dead_endpoint_fails_fast_and_wins_over_the_environment() {
    use bridge_core::ports::CacheError;

    // A table that exists on moto: reaching moto instead would answer Ok(None).
    let table = bridge_tests::unique_table_name("dead");
    DynamoDbCache::create_table(
        &bridge_tests::dynamodb_client(&bridge_tests::dynamodb_endpoint()),
        &table,
    )
    .await
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let client = DynamoDbCache::client_for(Some(&format!("http://127.0.0.1:{port}"))).await;
    let cache = DynamoDbCache::new(client, table);

    let started = std::time::Instant::now();
    let result = cache.contact(&phone("0501234567")).await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(CacheError::Unavailable(_))),
        "{result:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// A pending-deal item this version cannot read (no `deal_id`) is an error that names the
/// entry with the number masked, never a deal id made up.
#[tokio::test]
async fn a_pending_deal_without_its_id_is_malformed() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use bridge_core::adapters::dynamodb::cache::{EXPIRES_AT, KEY};
    use bridge_core::ports::CacheError;

    let client = bridge_tests::dynamodb_client(&bridge_tests::dynamodb_endpoint());
    let table = bridge_tests::unique_table_name("deal");
    DynamoDbCache::create_table(&client, &table).await.unwrap();
    client
        .put_item()
        .table_name(&table)
        .item(KEY, AttributeValue::S("deal#380501234567".into()))
        .item("kind", AttributeValue::S("deal".into()))
        .item(EXPIRES_AT, AttributeValue::N((START + 3600).to_string()))
        .send()
        .await
        .unwrap();
    let cache = DynamoDbCache::with_clock(client, table, Arc::new(ManualClock::starting_at(START)));

    match cache.pending_deal(&phone("0501234567")).await {
        Err(CacheError::Malformed { key, reason }) => {
            assert_eq!(key, "deal#********4567");
            assert!(reason.contains("deal_id"), "{reason}");
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}
