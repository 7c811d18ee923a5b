//! DynamoDB ledger: idempotency records in the cache table, parked events in their own table.
//!
//! Idempotency (the AWS Lambda Powertools design, see [`bridge_domain::ports::ledger`]), in the cache
//! table under `pk = idem#<kind>#<call id>`:
//!
//! | attribute           | type | meaning                                                   |
//! |---------------------|------|-----------------------------------------------------------|
//! | `status`            | S    | `INPROGRESS`, `RELEASED` (after an ambiguous failure) or `COMPLETED` |
//! | `owner`             | S    | the claiming run's token (in progress only)               |
//! | `ambiguous`         | BOOL | an earlier run may have written part of the event         |
//! | `in_progress_until` | N    | epoch ms: the claiming run's deadline plus its completion margin |
//! | `expires_at`        | N    | epoch s: TTL; deadline + 1 h while in progress, then the answer's expiry |
//! | `answer_body`       | S    | body answered (completed only)                            |
//!
//! A claim is one conditional `PutItem` that returns the old item (on success, to learn whether
//! an earlier run was ambiguous; on refusal, to learn why). Completion and release are
//! conditional on the claim's `owner`: a run whose claim expired and was taken over cannot
//! overwrite or delete the newer claim. Expiry is decided by the condition and by code, never by
//! DynamoDB's TTL, which deletes days late.
//!
//! Parked events, in the parked table (`pk = <kind>#<call id>`): `kind`, `content_type`?,
//! `body` (B), `query`?, `error`, `parked_at` (N), `first_parked_at` (N: kept when the key is
//! parked again), `attempts` (N) and `expires_at` = `parked_at` + 30 days (the table's TTL
//! attribute). Parking is an `UpdateItem`, so `first_parked_at` survives a new parking. The
//! table is small and read by `replay` only, so listing is a `Scan`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::cache::{DynamoDbCache, EXPIRES_AT, Item, KEY, number, string, unavailable};
use super::held;
use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::ports::cache::{CacheError, expiry};
use bridge_domain::ports::ledger::{
    AMBIGUITY_MEMORY, Claim, Held, Ledger, Owner, ParkedEvent, StoredAnswer, oldest_first,
};
use bridge_domain::ringostat::EventKind;

const STATUS: &str = "status";
const IN_PROGRESS_UNTIL: &str = "in_progress_until";
const ANSWER_BODY: &str = "answer_body";
const OWNER: &str = "owner";
const AMBIGUOUS: &str = "ambiguous";
const IN_PROGRESS: &str = "INPROGRESS";
const RELEASED: &str = "RELEASED";
const COMPLETED: &str = "COMPLETED";

/// How long an abandoned claim outlives its deadline before DynamoDB's TTL may remove it.
const IN_PROGRESS_GRACE_SECS: i64 = 3600;
/// How long a parked event is meant to be kept (if the parked table enables TTL).
const PARKED_RETENTION_SECS: i64 = 30 * 24 * 3600;

/// The whole claim, in one condition: the key is free, its record expired, or the run that
/// holds it passed its deadline.
const CLAIM_CONDITION: &str = "attribute_not_exists(#pk) OR #expires_at <= :now_s \
     OR #status = :released \
     OR (#status = :in_progress AND #in_progress_until <= :now_ms)";

/// Completion and release: only by the run that holds the claim.
const OWNER_CONDITION: &str = "#status = :in_progress AND #owner = :owner";

pub struct DynamoDbLedger {
    client: Client,
    cache_table: String,
    parked_table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoDbLedger {
    pub fn new(
        client: Client,
        cache_table: impl Into<String>,
        parked_table: impl Into<String>,
    ) -> Self {
        Self::with_clock(client, cache_table, parked_table, Arc::new(SystemClock))
    }

    pub fn with_clock(
        client: Client,
        cache_table: impl Into<String>,
        parked_table: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client,
            cache_table: cache_table.into(),
            parked_table: parked_table.into(),
            clock,
        }
    }

    /// Creates both tables as `template.yaml` should declare them (for local runs and tests).
    pub async fn create_tables(
        client: &Client,
        cache_table: &str,
        parked_table: &str,
    ) -> Result<(), CacheError> {
        DynamoDbCache::create_table(client, cache_table).await?;
        Self::create_parked_table(client, parked_table).await
    }

    /// Creates the parked-events table as `template.yaml` declares it: `pk` (S), TTL on
    /// `expires_at` (parked events are dropped 30 days after they were parked).
    pub async fn create_parked_table(client: &Client, table: &str) -> Result<(), CacheError> {
        // The same key schema and TTL attribute as the cache table.
        DynamoDbCache::create_table(client, table).await
    }

    fn now(&self) -> (i64, i64) {
        (self.clock.now_epoch_secs(), self.clock.now_epoch_ms())
    }
}

fn idem_key(key: &str) -> String {
    format!("idem#{key}")
}

#[async_trait]
impl Ledger for DynamoDbLedger {
    async fn claim(&self, key: &str, owner: &Owner, until_ms: i64) -> Result<Claim, CacheError> {
        let (now_s, now_ms) = self.now();
        let expires_at = until_ms
            .div_euclid(1000)
            .saturating_add(IN_PROGRESS_GRACE_SECS);
        let result = self
            .client
            .put_item()
            .table_name(&self.cache_table)
            .item(KEY, AttributeValue::S(idem_key(key)))
            .item(STATUS, AttributeValue::S(IN_PROGRESS.into()))
            .item(OWNER, AttributeValue::S(owner.as_str().to_owned()))
            .item(IN_PROGRESS_UNTIL, AttributeValue::N(until_ms.to_string()))
            .item(EXPIRES_AT, AttributeValue::N(expires_at.to_string()))
            .condition_expression(CLAIM_CONDITION)
            .expression_attribute_names("#pk", KEY)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#in_progress_until", IN_PROGRESS_UNTIL)
            .expression_attribute_values(":now_s", AttributeValue::N(now_s.to_string()))
            .expression_attribute_values(":now_ms", AttributeValue::N(now_ms.to_string()))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .expression_attribute_values(":released", AttributeValue::S(RELEASED.into()))
            // Success returns the record it replaced (was an earlier run ambiguous?); the
            // refusal carries the record that caused it: no second round trip either way.
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let recheck = output
                    .attributes()
                    .is_some_and(|old| was_ambiguous(old, now_s));
                if recheck {
                    // Carry the flag until the event completes: a failing recheck run must
                    // leave the next one rechecking too.
                    self.mark_ambiguous(key, owner).await?;
                }
                Ok(Claim::Acquired { recheck })
            }
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => {
                    let old = failed.item.ok_or_else(|| {
                        CacheError::Unavailable(format!(
                            "claim of `{key}` was refused without the record that holds it"
                        ))
                    })?;
                    if holds_own_claim(&old, owner) {
                        // The SDK retried a claim whose write had landed (its answer was
                        // lost): the record is this run's. What that write replaced is
                        // unknown, so the run checks the CRM first.
                        tracing::info!(key = %key, "claim: a retried write found its own record");
                        self.mark_ambiguous(key, owner).await?;
                        return Ok(Claim::Acquired { recheck: true });
                    }
                    refused_claim(key, &old, now_s)
                }
                other => Err(unavailable(other)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        answer: &StoredAnswer,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        let expires_at = expiry(self.clock.now_epoch_secs(), ttl);
        let result = self
            .client
            .update_item()
            .table_name(&self.cache_table)
            .key(KEY, AttributeValue::S(idem_key(key)))
            .update_expression(
                "SET #status = :completed, \
                 #answer_body = :answer_body, #expires_at = :expires_at \
                 REMOVE #in_progress_until, #owner, #ambiguous",
            )
            .condition_expression(OWNER_CONDITION)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#ambiguous", AMBIGUOUS)
            .expression_attribute_names("#answer_body", ANSWER_BODY)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_names("#in_progress_until", IN_PROGRESS_UNTIL)
            .expression_attribute_values(":completed", AttributeValue::S(COMPLETED.into()))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
            .expression_attribute_values(":answer_body", AttributeValue::S(answer.body.clone()))
            .expression_attribute_values(":expires_at", AttributeValue::N(expires_at.to_string()))
            .send()
            .await;
        held(result)
    }

    async fn release(&self, key: &str, owner: &Owner, ambiguous: bool) -> Result<Held, CacheError> {
        if !ambiguous {
            let result = self
                .client
                .delete_item()
                .table_name(&self.cache_table)
                .key(KEY, AttributeValue::S(idem_key(key)))
                // Only this run's unfinished claim (a completed answer, or a newer run's
                // claim, must survive a late release), and only when no earlier run was
                // ambiguous: that doubt must outlive this run.
                .condition_expression(format!(
                    "{OWNER_CONDITION} AND attribute_not_exists(#ambiguous)"
                ))
                .expression_attribute_names("#status", STATUS)
                .expression_attribute_names("#owner", OWNER)
                .expression_attribute_names("#ambiguous", AMBIGUOUS)
                .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
                .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
                .send()
                .await;
            // Not ours, done, or doubtful (`No`): the update below decides which.
            if held(result)? == Held::Yes {
                return Ok(Held::Yes);
            }
        }
        // Free to claim, and the next claim rechecks the CRM first.
        let expires_at = expiry(self.clock.now_epoch_secs(), AMBIGUITY_MEMORY);
        let result = self
            .client
            .update_item()
            .table_name(&self.cache_table)
            .key(KEY, AttributeValue::S(idem_key(key)))
            .update_expression(
                "SET #status = :released, #ambiguous = :true, #expires_at = :expires_at \
                 REMOVE #owner, #in_progress_until",
            )
            .condition_expression(OWNER_CONDITION)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#ambiguous", AMBIGUOUS)
            .expression_attribute_names("#expires_at", EXPIRES_AT)
            .expression_attribute_names("#in_progress_until", IN_PROGRESS_UNTIL)
            .expression_attribute_values(":released", AttributeValue::S(RELEASED.into()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":expires_at", AttributeValue::N(expires_at.to_string()))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
            .send()
            .await;
        held(result)
    }

    async fn park(&self, event: &ParkedEvent) -> Result<(), CacheError> {
        // An update, not a put: a key parked again keeps its `first_parked_at`, so the replay
        // can tell how long the call has waited.
        let mut values = vec![
            (":kind", AttributeValue::S(kind_name(event.kind)?)),
            (":body", AttributeValue::B(Blob::new(event.body.clone()))),
            (":error", AttributeValue::S(event.error.clone())),
            (":parked_at", AttributeValue::N(event.parked_at.to_string())),
            (
                ":first_parked_at",
                AttributeValue::N(event.first_parked_at.to_string()),
            ),
            (":attempts", AttributeValue::N(event.attempts.to_string())),
            (
                ":expires_at",
                AttributeValue::N(
                    event
                        .parked_at
                        .saturating_add(PARKED_RETENTION_SECS)
                        .to_string(),
                ),
            ),
        ];
        let mut set = vec![
            "#kind = :kind",
            "#body = :body",
            "#error = :error",
            "#parked_at = :parked_at",
            "#first_parked_at = if_not_exists(#first_parked_at, :first_parked_at)",
            "#attempts = :attempts",
            "#expires_at = :expires_at",
        ];
        let mut remove = Vec::new();
        // Optional attributes: set when present, removed when this parking has none.
        for (value, assign, name, placeholder) in [
            (
                &event.content_type,
                "#content_type = :content_type",
                "#content_type",
                ":content_type",
            ),
            (&event.query, "#query = :query", "#query", ":query"),
        ] {
            match value.as_ref().filter(|v| !v.is_empty()) {
                Some(value) => {
                    values.push((placeholder, AttributeValue::S(value.clone())));
                    set.push(assign);
                }
                None => remove.push(name),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.parked_table)
            .key(KEY, AttributeValue::S(event.key.clone()))
            .update_expression(expression);
        for name in [
            "kind",
            "body",
            "error",
            "parked_at",
            "first_parked_at",
            "attempts",
            "content_type",
            "query",
        ] {
            request = request.expression_attribute_names(format!("#{name}"), name);
        }
        request = request.expression_attribute_names("#expires_at", EXPIRES_AT);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        request.send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>, CacheError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // "Oldest first" needs every item: a Scan has no order. The table holds only failures,
        // so reading all of it is cheap.
        let mut events = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.parked_table)
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                events.push(parked_event(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        Ok(oldest_first(events, limit))
    }

    async fn unpark(&self, key: &str) -> Result<(), CacheError> {
        self.client
            .delete_item()
            .table_name(&self.parked_table)
            .key(KEY, AttributeValue::S(key.to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

impl DynamoDbLedger {
    /// Marks `owner`'s fresh claim as following an ambiguous run.
    async fn mark_ambiguous(&self, key: &str, owner: &Owner) -> Result<(), CacheError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.cache_table)
            .key(KEY, AttributeValue::S(idem_key(key)))
            .update_expression("SET #ambiguous = :true")
            .condition_expression(OWNER_CONDITION)
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#ambiguous", AMBIGUOUS)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .expression_attribute_values(":owner", AttributeValue::S(owner.as_str().to_owned()))
            .send()
            .await;
        held(result).map(|_| ())
    }
}

/// Whether the record a claim replaced says an earlier run may have written part of the event
/// (a completed record never does; an expired record's flag is stale but still true).
fn was_ambiguous(old: &Item, now_s: i64) -> bool {
    let flagged = matches!(old.get(AMBIGUOUS), Some(AttributeValue::Bool(true)));
    let completed_live = string(old, STATUS).as_deref() == Some(COMPLETED)
        && number(old, EXPIRES_AT).is_some_and(|e| e > now_s);
    flagged && !completed_live
}

/// What a refused claim means, read from the record DynamoDB returned. The times are the ones
/// the condition used, so code and condition agree.
/// Whether a refusing record is an in-progress claim by `owner` itself.
fn holds_own_claim(old: &Item, owner: &Owner) -> bool {
    string(old, STATUS).as_deref() == Some(IN_PROGRESS)
        && string(old, OWNER).as_deref() == Some(owner.as_str())
}

fn refused_claim(key: &str, old: &Item, now_s: i64) -> Result<Claim, CacheError> {
    let expires_at = number(old, EXPIRES_AT).ok_or_else(|| malformed(key, EXPIRES_AT))?;
    match string(old, STATUS).as_deref() {
        Some(COMPLETED) if expires_at > now_s => {
            let body = string(old, ANSWER_BODY).ok_or_else(|| malformed(key, ANSWER_BODY))?;
            Ok(Claim::Completed(StoredAnswer { body }))
        }
        // Held by a run before its deadline. (The condition used these same times, so a
        // refused record is live; should it read otherwise, refusing is the safe answer: the
        // sender retries.)
        Some(IN_PROGRESS | COMPLETED | RELEASED) => Ok(Claim::InProgress),
        _ => Err(malformed(key, STATUS)),
    }
}

fn parked_event(item: &Item) -> Result<ParkedEvent, CacheError> {
    let key = string(item, KEY).ok_or_else(|| malformed("parked event", KEY))?;
    let kind = string(item, "kind")
        .and_then(|name| serde_json::from_value(serde_json::Value::String(name)).ok())
        .ok_or_else(|| malformed(&key, "kind"))?;
    let body = match item.get("body") {
        Some(AttributeValue::B(blob)) => blob.clone().into_inner(),
        _ => return Err(malformed(&key, "body")),
    };
    let parked_at = number(item, "parked_at").ok_or_else(|| malformed(&key, "parked_at"))?;
    Ok(ParkedEvent {
        kind,
        content_type: string(item, "content_type"),
        body,
        query: string(item, "query"),
        error: string(item, "error").ok_or_else(|| malformed(&key, "error"))?,
        parked_at,
        // Parked before the attribute existed: the latest failure is all that is known.
        first_parked_at: number(item, "first_parked_at").unwrap_or(parked_at),
        attempts: number(item, "attempts")
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| malformed(&key, "attempts"))?,
        key,
    })
}

/// `EventKind`'s serde name (`before_call`, …), so stored kinds read back with serde.
fn kind_name(kind: EventKind) -> Result<String, CacheError> {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(CacheError::Malformed {
            key: kind.as_str().to_owned(),
            reason: "event kind has no string name".into(),
        }),
    }
}

/// Ledger keys hold event kinds and Ringostat call ids, never phone numbers: no masking needed.
fn malformed(key: &str, attribute: &str) -> CacheError {
    CacheError::Malformed {
        key: key.to_owned(),
        reason: format!("attribute `{attribute}` is missing or of the wrong type"),
    }
}
