//! DynamoDB cache: one table shared by every function of a deployment.
//!
//! Key design (one table, on-demand, TTL on `expires_at`):
//!
//! | `pk` (partition key, S)        | `kind`    | other attributes                                  |
//! |--------------------------------|-----------|---------------------------------------------------|
//! | `contact#<E.164 digits>`       | `contact` | `crm_id`, `name`?, `owner_id`?, `card_url`?; or, while the contact is being created, the claim: `state` = `CREATING`, `owner`, `lease_until_ms` (N); `state` = `DOUBT` after a create that may have happened failed |
//! | `route#<CRM user id>`          | `route`   | `route_kind` (`sip_login` or `number`), `destination` |
//! | `deal#<E.164 digits>`          | `deal`    | `deal_id`: a new client's deal awaiting its manager |
//! | `idem#<kind>#<call id>`        | –         | `status` (`INPROGRESS`/`COMPLETED`), `in_progress_until` (N, epoch ms), `answer_status`?, `answer_body`? (see [`super::dynamodb_ledger`]) |
//!
//! - Only point reads and writes by `pk`: no sort key, no index, no scan, so each lookup is one
//!   `GetItem` (single-digit milliseconds, 0.5 RCU when eventually consistent).
//! - Phone keys are digits only: the `+` of E.164 has no business in a key.
//! - `expires_at` (N, epoch seconds) is the table's TTL attribute. DynamoDB deletes expired items
//!   up to days late, so every read (and every conditional write) also compares times itself.
//! - Parked events (failed webhooks kept for `replay`) live in a table of their own with the
//!   same key schema (`pk` = `<kind>#<call id>`), the only table that is ever scanned; see
//!   [`super::dynamodb_ledger`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification,
};

use bridge_domain::activity::ContactRef;
use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::cache::{Cache, CacheError, ContactSlot, ManagerRoute, expiry, keys};
use bridge_domain::ports::ledger::{Held, Owner};

/// Partition key attribute.
pub const KEY: &str = "pk";
/// TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expires_at";

// The cache is an optimisation: a dead or slow DynamoDB must cost a webhook at most ~1.5 s of
// its budget, never the SDK defaults (3 attempts, no operation timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(800);
const OPERATION_TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_ATTEMPTS: u32 = 2;

pub(crate) type Item = HashMap<String, AttributeValue>;

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// A short backoff: the SDK's default (up to 1 s before the retry) would spend a ringing
/// call's budget on an optional cache.
fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(200))
}

pub struct DynamoDbCache {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoDbCache {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_clock(client, table, Arc::new(SystemClock))
    }

    pub fn with_clock(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    /// A client configured from the Lambda environment (region, credentials), with short
    /// timeouts. Local runs and tests point it at a loopback endpoint with
    /// `AWS_ENDPOINT_URL_DYNAMODB`.
    pub async fn client_from_env() -> Client {
        Self::client_for(None).await
    }

    /// Like [`Self::client_from_env`], but sending to `endpoint` when given (a loopback URL for
    /// local runs and tests); it wins over `AWS_ENDPOINT_URL_DYNAMODB`.
    ///
    /// With credentials in the environment (always so in Lambda), the client is built from
    /// the variables alone and sends through the shared HTTP client ([`crate::aws`]); without
    /// them, a build with the `credential-chain` feature (the operator's CLI) asks
    /// `aws-config`'s provider chain (profiles, SSO), and any other build gets a client whose
    /// requests fail for want of credentials.
    pub async fn client_for(endpoint: Option<&str>) -> Client {
        let lambda = crate::aws::LambdaAws::from_env();
        #[cfg(feature = "credential-chain")]
        if lambda.credentials.is_none() {
            return Self::client_from_chain(endpoint).await;
        }
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(lambda.region)
            .http_client(crate::aws::http_client())
            .timeout_config(timeouts())
            .retry_config(retries());
        if let Some(credentials) = lambda.credentials {
            config = config.credentials_provider(credentials);
        }
        let endpoint = endpoint
            .map(str::to_owned)
            .or_else(|| crate::aws::endpoint_from_env("DYNAMODB"));
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        Client::from_conf(config.build())
    }

    /// The operator's client: `aws-config`'s whole provider chain.
    #[cfg(feature = "credential-chain")]
    async fn client_from_chain(endpoint: Option<&str>) -> Client {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retries())
            .load()
            .await;
        let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
        // Set on the service config, not the loader: a loader endpoint would lose to
        // `AWS_ENDPOINT_URL_DYNAMODB`.
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        Client::from_conf(config.build())
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table as `template.yaml` declares it (for local runs and tests).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), CacheError> {
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(unavailable)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(KEY)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(EXPIRES_AT)
                    .enabled(true)
                    .build()
                    .map_err(unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The live item under `key`, or `None` when absent or expired.
    async fn get(&self, key: &str) -> Result<Option<Item>, CacheError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let expires_at = number(&item, EXPIRES_AT).ok_or_else(|| malformed(key, EXPIRES_AT))?;
        if expires_at <= self.clock.now_epoch_secs() {
            return Ok(None);
        }
        Ok(Some(item))
    }

    async fn put(&self, key: String, mut item: Item, ttl: Duration) -> Result<(), CacheError> {
        let expires_at = expiry(self.clock.now_epoch_secs(), ttl);
        item.insert(KEY.to_owned(), AttributeValue::S(key));
        item.insert(
            EXPIRES_AT.to_owned(),
            AttributeValue::N(expires_at.to_string()),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Deleting an absent item succeeds in DynamoDB, so forgetting twice is no error.
    async fn delete(&self, key: String) -> Result<(), CacheError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl Cache for DynamoDbCache {
    /// One `GetItem` of a key that never exists: the connection, the signing key and the
    /// SDK's endpoint resolution are ready for the first call (0.5 RCU per cold start).
    async fn prepare(&self, deadline: Deadline) {
        let time_left = deadline
            .instant()
            .saturating_duration_since(tokio::time::Instant::now());
        let read = tokio::time::timeout(time_left, self.get("prepare#")).await;
        if let Ok(Err(error)) = read {
            tracing::debug!(%error, "no early DynamoDB read");
        }
    }

    async fn contact(&self, phone: &PhoneNumber) -> Result<Option<ContactRef>, CacheError> {
        let key = keys::contact(phone);
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        // A claim is no contact (yet).
        if string(&item, STATE).is_some() {
            return Ok(None);
        }
        contact_of(&key, &item).map(Some)
    }

    async fn put_contact(
        &self,
        phone: &PhoneNumber,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.put(keys::contact(phone), contact_item(contact), ttl)
            .await
    }

    async fn forget_contact(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        self.delete(keys::contact(phone)).await
    }

    async fn manager_route(&self, crm_user_id: &str) -> Result<Option<ManagerRoute>, CacheError> {
        let key = keys::manager_route(crm_user_id);
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        let destination =
            string(&item, "destination").ok_or_else(|| malformed(&key, "destination"))?;
        let route = match string(&item, "route_kind").as_deref() {
            Some("sip_login") => ManagerRoute::SipLogin(destination),
            Some("number") => ManagerRoute::Number(
                PhoneNumber::parse(&destination).map_err(|_| malformed(&key, "destination"))?,
            ),
            _ => return Err(malformed(&key, "route_kind")),
        };
        Ok(Some(route))
    }

    async fn put_manager_route(
        &self,
        crm_user_id: &str,
        route: &ManagerRoute,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let (kind, destination) = match route {
            ManagerRoute::SipLogin(login) => ("sip_login", login.clone()),
            ManagerRoute::Number(number) => ("number", number.e164().to_owned()),
        };
        let mut item = Item::new();
        item.insert("kind".into(), AttributeValue::S("route".into()));
        item.insert("route_kind".into(), AttributeValue::S(kind.into()));
        item.insert("destination".into(), AttributeValue::S(destination));
        self.put(keys::manager_route(crm_user_id), item, ttl).await
    }

    async fn pending_deal(&self, phone: &PhoneNumber) -> Result<Option<String>, CacheError> {
        let key = keys::pending_deal(phone);
        let Some(item) = self.get(&key).await? else {
            return Ok(None);
        };
        string(&item, "deal_id")
            .map(Some)
            .ok_or_else(|| malformed(&key, "deal_id"))
    }

    async fn put_pending_deal(
        &self,
        phone: &PhoneNumber,
        deal_id: &str,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let mut item = Item::new();
        item.insert("kind".into(), AttributeValue::S("deal".into()));
        item.insert("deal_id".into(), AttributeValue::S(deal_id.to_owned()));
        self.put(keys::pending_deal(phone), item, ttl).await
    }

    async fn forget_pending_deal(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        self.delete(keys::pending_deal(phone)).await
    }

    async fn claim_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ContactSlot, CacheError> {
        let now_s = self.clock.now_epoch_secs();
        let now_ms = self.clock.now_epoch_ms();
        let lease_until_ms = lock_until_ms(now_ms, lease);
        let key = keys::contact(phone);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, AttributeValue::S(key.clone()))
            .item("kind", AttributeValue::S("contact".into()))
            .item(STATE, AttributeValue::S(CREATING.into()))
            .item(OWNER, AttributeValue::S(owner.as_str().to_owned()))
            .item(
                LEASE_UNTIL_MS,
                AttributeValue::N(lease_until_ms.to_string()),
            )
            // Rounded up, so DynamoDB's TTL never removes a live claim.
            .item(
                EXPIRES_AT,
                AttributeValue::N(ceil_secs(lease_until_ms).to_string()),
            )
            // Free: no entry, an expired one, a doubtful release, or a creator whose lease
            // (milliseconds decide) ran out.
            .condition_expression(
                "attribute_not_exists(#pk) OR #expires_at <= :now_s OR #state = :doubt \
                 OR (#state = :creating AND #lease_until_ms <= :now_ms)",
            )
            .expression_attribute_names("#pk", KEY)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#lease_until_ms", LEASE_UNTIL_MS)
            .expression_attribute_values(":now_s", AttributeValue::N(now_s.to_string()))
            .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":doubt", AttributeValue::S(DOUBT.into()))
            .expression_attribute_values(":creating", AttributeValue::S(CREATING.into()))
            // Success returns what it replaced (a dead creator: recheck); the refusal returns
            // what refused it (a contact, or a live creator): one round trip either way.
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                // A creator that died (it may have created), or a doubt still remembered.
                let recheck =
                    output
                        .attributes()
                        .is_some_and(|old| match string(old, STATE).as_deref() {
                            Some(CREATING) => true,
                            Some(DOUBT) => number(old, EXPIRES_AT).is_some_and(|e| e > now_s),
                            _ => false,
                        });
                Ok(ContactSlot::Free { recheck })
            }
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let old = failed.item.unwrap_or_default();
                    match string(&old, STATE).as_deref() {
                        // The SDK retried a claim whose write had landed (its answer was
                        // lost): the number is this run's. What that write replaced is
                        // unknown: check the CRM before creating.
                        Some(CREATING)
                            if string(&old, OWNER).as_deref() == Some(owner.as_str()) =>
                        {
                            Ok(ContactSlot::Free { recheck: true })
                        }
                        Some(_) => Ok(ContactSlot::Creating),
                        None => contact_of(&key, &old).map(ContactSlot::Ready),
                    }
                }
                other => Err(unavailable(other)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn contact_created(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        let expires_at = expiry(self.clock.now_epoch_secs(), ttl);
        let mut item = contact_item(contact);
        item.insert(KEY.to_owned(), AttributeValue::S(keys::contact(phone)));
        item.insert(
            EXPIRES_AT.to_owned(),
            AttributeValue::N(expires_at.to_string()),
        );
        // Replaces the claim with the contact, only while this run holds the claim.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#state = :creating AND #owner = :owner")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_values(":creating", AttributeValue::S(CREATING.into()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
            .send()
            .await;
        super::held(result)
    }

    async fn release_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        doubtful: bool,
    ) -> Result<Held, CacheError> {
        let key = AttributeValue::S(keys::contact(phone));
        if doubtful {
            let expires_at = self.clock.now_epoch_secs().saturating_add(DOUBT_SECS);
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(KEY, key)
                .update_expression(
                    "SET #state = :doubt, #expires_at = :expires_at REMOVE #owner, #lease_until_ms",
                )
                .condition_expression("#state = :creating AND #owner = :owner")
                .expression_attribute_names("#state", STATE)
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_names("#expires_at", EXPIRES_AT)
                .expression_attribute_names("#lease_until_ms", LEASE_UNTIL_MS)
                .expression_attribute_values(":doubt", AttributeValue::S(DOUBT.into()))
                .expression_attribute_values(
                    ":expires_at",
                    AttributeValue::N(expires_at.to_string()),
                )
                .expression_attribute_values(":creating", AttributeValue::S(CREATING.into()))
                .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
                .send()
                .await;
            super::held(result)
        } else {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(KEY, key)
                .condition_expression("#state = :creating AND #owner = :owner")
                .expression_attribute_names("#state", STATE)
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_values(":creating", AttributeValue::S(CREATING.into()))
                .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
                .send()
                .await;
            super::held(result)
        }
    }

    async fn contact_slot(&self, phone: &PhoneNumber) -> Result<ContactSlot, CacheError> {
        let key = keys::contact(phone);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.clone()))
            // Waiters must see the creator's READY write as soon as it is made.
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let now_s = self.clock.now_epoch_secs();
        let now_ms = self.clock.now_epoch_ms();
        let Some(item) = output
            .item
            .filter(|i| number(i, EXPIRES_AT).is_some_and(|e| e > now_s))
        else {
            return Ok(ContactSlot::Free { recheck: false });
        };
        Ok(match string(&item, STATE).as_deref() {
            Some(CREATING) if number(&item, LEASE_UNTIL_MS).is_some_and(|l| l > now_ms) => {
                ContactSlot::Creating
            }
            Some(_) => ContactSlot::Free { recheck: true },
            None => ContactSlot::Ready(contact_of(&key, &item)?),
        })
    }
}

/// The contact an entry holds.
fn contact_of(key: &str, item: &Item) -> Result<ContactRef, CacheError> {
    Ok(ContactRef {
        id: string(item, "crm_id").ok_or_else(|| malformed(key, "crm_id"))?,
        name: string(item, "name"),
        owner_id: string(item, "owner_id"),
        card_url: string(item, "card_url"),
    })
}

/// A contact's entry, without key and expiry.
fn contact_item(contact: &ContactRef) -> Item {
    let mut item = Item::new();
    item.insert("kind".into(), AttributeValue::S("contact".into()));
    item.insert("crm_id".into(), AttributeValue::S(contact.id.clone()));
    // DynamoDB rejects empty strings in keys only, but absent beats empty for readers.
    for (name, value) in [
        ("name", &contact.name),
        ("owner_id", &contact.owner_id),
        ("card_url", &contact.card_url),
    ] {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            item.insert(name.into(), AttributeValue::S(value.clone()));
        }
    }
    item
}

/// Contact-claim attributes.
const STATE: &str = "state";
const OWNER: &str = "owner";
const LEASE_UNTIL_MS: &str = "lease_until_ms";
const CREATING: &str = "CREATING";
const DOUBT: &str = "DOUBT";
/// How long a doubtful release is remembered (longer than any search index lag).
const DOUBT_SECS: i64 = 3600;

fn lock_until_ms(now_ms: i64, ttl: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// Epoch seconds at or after `epoch_ms`.
pub(crate) fn ceil_secs(epoch_ms: i64) -> i64 {
    epoch_ms.div_euclid(1000) + i64::from(epoch_ms.rem_euclid(1000) != 0)
}

pub(crate) fn string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

pub(crate) fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

fn malformed(key: &str, attribute: &str) -> CacheError {
    CacheError::Malformed {
        key: bridge_domain::phone::mask_phone(key),
        reason: format!("attribute `{attribute}` is missing or of the wrong type"),
    }
}

/// The error's chain in plain words (no `Debug` dump of the SDK's internals in the logs).
pub(crate) fn unavailable<E: std::error::Error + 'static>(error: E) -> CacheError {
    CacheError::Unavailable(super::inspect::plain_chain(&error))
}
