//! Click-to-call's counters in the cache table: a sliding window per key, so every execution
//! environment of the deployment counts against the same limit.
//!
//! | `pk` (S)                                   | attributes |
//! |--------------------------------------------|------------|
//! | `click-to-call#manager#<CRM user id>`      | `kind` = `rate`, `hits` (L of N: admission times, epoch ms, oldest first), `version` (N), `expires_at` (N) |
//! | `click-to-call#deployment`                 | the same |
//! | `click-to-call#confirmation#<signature>`   | the same, with at most one hit: a spent confirmation |
//!
//! One admission is a consistent `GetItem` and a `PutItem` conditioned on the `version` read
//! (or on the item's absence): of concurrent admissions exactly one writes each version, the
//! others read again, so the count never passes the limit. `expires_at` (the TTL attribute) is
//! the newest hit plus the window: an idle key disappears by itself. The keys share the prefix
//! [`keys::PREFIX`], the only one the click-to-call function's IAM policy lets it touch.
//!
//! [`keys::PREFIX`]: bridge_domain::ports::rate_limit::keys::PREFIX

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::ports::rate_limit::{Admission, RateLimitError, RateLimiter, slide};

use super::cache::{EXPIRES_AT, Item, KEY, ceil_secs, number};
use super::inspect::plain_chain;

const HITS: &str = "hits";
const VERSION: &str = "version";
/// Reads and conditional writes tried before giving up on a contended key. Concurrent clicks
/// of people are few; a burst that outlasts this is refused (503), never let through.
const MAX_ATTEMPTS: u32 = 12;

pub struct DynamoDbRateLimiter {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoDbRateLimiter {
    /// Counters in `table` (the cache table), through `client`
    /// ([`super::DynamoDbCache::client_for`]).
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

    /// The key's admission times and version (0: no item).
    async fn read(&self, key: &str) -> Result<(Vec<i64>, i64), RateLimitError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| RateLimitError::Unavailable(plain_chain(&e)))?;
        let Some(item) = output.item else {
            return Ok((Vec::new(), 0));
        };
        let malformed = |attribute: &str| RateLimitError::Malformed {
            key: key.to_owned(),
            reason: format!("attribute `{attribute}` is missing or of the wrong type"),
        };
        let version = number(&item, VERSION).ok_or_else(|| malformed(VERSION))?;
        let hits = match item.get(HITS) {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::N(n) => n.parse::<i64>().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed(HITS))?,
            _ => return Err(malformed(HITS)),
        };
        Ok((hits, version))
    }

    /// Writes `hits` as version `version + 1`, if the item is still at `version`; `false`
    /// when another admission wrote first.
    async fn write(
        &self,
        key: &str,
        hits: &[i64],
        version: i64,
        expires_at: i64,
    ) -> Result<bool, RateLimitError> {
        let mut item = Item::new();
        item.insert(KEY.into(), AttributeValue::S(key.to_owned()));
        item.insert("kind".into(), AttributeValue::S("rate".into()));
        item.insert(
            HITS.into(),
            AttributeValue::L(
                hits.iter()
                    .map(|at| AttributeValue::N(at.to_string()))
                    .collect(),
            ),
        );
        item.insert(
            VERSION.into(),
            AttributeValue::N(version.saturating_add(1).to_string()),
        );
        item.insert(EXPIRES_AT.into(), AttributeValue::N(expires_at.to_string()));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = if version == 0 {
            request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", KEY)
        } else {
            request
                .condition_expression("#version = :version")
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if e.err().code() == Some("ConditionalCheckFailedException") =>
            {
                Ok(false)
            }
            Err(e) => Err(RateLimitError::Unavailable(plain_chain(&e))),
        }
    }
}

#[async_trait]
impl RateLimiter for DynamoDbRateLimiter {
    async fn admit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Admission, RateLimitError> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        for attempt in 0..MAX_ATTEMPTS {
            let (mut live, version) = self.read(key).await?;
            let now = self.clock.now_epoch_ms();
            if let refused @ Admission::Refused { .. } = slide(&mut live, now, limit, window) {
                return Ok(refused);
            }
            let expires_at = ceil_secs(now.saturating_add(window_ms));
            if self.write(key, &live, version, expires_at).await? {
                return Ok(Admission::Admitted);
            }
            // Another admission wrote first: read again after a short, spread-out pause.
            let spread = u64::from(attempt) * 7 + u64::try_from(now.rem_euclid(11)).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(5 + spread)).await;
        }
        Err(RateLimitError::Unavailable(format!(
            "`{key}` stayed contended for {MAX_ATTEMPTS} attempts"
        )))
    }
}
