//! The event ledger: each Ringostat event takes effect once, and none is lost.
//!
//! - **Idempotency** after the AWS Lambda Powertools design: a conditional write claims the event
//!   (`INPROGRESS` until the Lambda's deadline), completion stores the answer (`COMPLETED`, with
//!   an expiry). A re-sent event gets the stored answer; one arriving while the first is still
//!   running gets a retryable refusal. A failed run releases its claim so a re-send can run.
//! - **Parking**: an event that still fails after the retries is kept with its raw request, so
//!   `replay` can run it again through the same idempotent path.
//!
//! Keys are `<event kind>#<Ringostat call id>` ([`event_key`]): one call has a before-call, an
//! after-call and an AI analysis.

use std::time::Duration;

use async_trait::async_trait;

use crate::ports::cache::CacheError;
use crate::ringostat::EventKind;

/// What the event's first run did (its outcome as JSON), kept to answer a re-sent event the
/// same way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredAnswer {
    pub body: String,
}

/// The outcome of claiming an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This run owns the event: it must complete or release it. `recheck`: an earlier run
    /// failed after a write that may have happened (a timeout, a reset, a 5xx after sending),
    /// so this run checks the CRM before writing again.
    Acquired { recheck: bool },
    /// Done before: answer what was answered then.
    Completed(StoredAnswer),
    /// Another run holds it and has not finished (nor passed its deadline).
    InProgress,
}

/// An event that failed, with everything needed to run it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    /// Same as its idempotency key: `<kind>#<call id>`.
    pub key: String,
    pub kind: EventKind,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub query: Option<String>,
    /// The last failure, for people (no secrets, numbers masked).
    pub error: String,
    /// Epoch seconds of the latest failure.
    pub parked_at: i64,
    /// Epoch seconds of the first failure of this parking: a ledger keeps the earliest when
    /// the same key is parked again (a replay or a re-send that failed again), so the age of
    /// the event says how long the call has been waiting for the CRM.
    pub first_parked_at: i64,
    /// Runs that failed so far.
    pub attempts: u32,
}

/// Sorts parked events oldest first (ties by key, so the order is stable) and keeps `limit`:
/// the order every [`Ledger::parked`] answers in.
pub fn oldest_first(mut events: Vec<ParkedEvent>, limit: usize) -> Vec<ParkedEvent> {
    events.sort_by(|a, b| {
        a.parked_at
            .cmp(&b.parked_at)
            .then_with(|| a.key.cmp(&b.key))
    });
    events.truncate(limit);
    events
}

/// The idempotency key of an event. Both after-call webhooks share one key per call: a
/// cabinet may send outgoing calls to the "after call" webhook too, and reconciliation cannot
/// tell which webhook would have carried a call.
pub fn event_key(kind: EventKind, call_id: &str) -> String {
    let kind = match kind {
        EventKind::AfterCall | EventKind::AfterOutgoingCall => EventKind::AfterCall,
        other => other,
    };
    format!("{}#{call_id}", kind.as_str())
}

/// How long a release after an ambiguous failure is remembered (the next claim rechecks):
/// as long as a completed answer, since Ringostat's manual re-send can come days later.
pub const AMBIGUITY_MEMORY: Duration = Duration::from_secs(30 * 24 * 3600);

/// Whether a claim's owner still held it when it completed or released it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The change was made.
    Yes,
    /// Another run owns the key now (this run's claim had expired), or it is done: nothing
    /// was changed.
    No,
}

/// A token naming one run's claim; every change to the claim is conditional on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner(pub String);

impl Owner {
    /// A token no other run has: time, process and a counter, hashed with a per-process
    /// random key (no randomness crate needed for uniqueness).
    pub fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let state = std::collections::hash_map::RandomState::new();
        let mut hasher = state.build_hasher();
        hasher.write_u64(crate::deadline::epoch_ms());
        hasher.write_u32(std::process::id());
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let high = hasher.finish();
        hasher.write_u64(high);
        Self(format!("{high:016x}{:016x}", hasher.finish()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Owner {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
pub trait Ledger: Send + Sync {
    /// Claims `key` for `owner`, a run that ends at `until_ms` (epoch milliseconds).
    async fn claim(&self, key: &str, owner: &Owner, until_ms: i64) -> Result<Claim, CacheError>;

    /// Marks the event done and keeps `answer` for `ttl`, if `owner` still holds the claim.
    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        answer: &StoredAnswer,
        ttl: Duration,
    ) -> Result<Held, CacheError>;

    /// Drops `owner`'s unfinished claim so the event can run again; `ambiguous`: the run may
    /// have written part of it, and the next claim says so (`recheck`).
    async fn release(&self, key: &str, owner: &Owner, ambiguous: bool) -> Result<Held, CacheError>;

    /// Keeps a failed event (replacing an earlier parking of the same key, whose
    /// `first_parked_at` it keeps).
    async fn park(&self, event: &ParkedEvent) -> Result<(), CacheError>;

    /// Parked events, oldest first, at most `limit`.
    async fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>, CacheError>;

    /// Removes a parked event (it ran, or someone gave up on it).
    async fn unpark(&self, key: &str) -> Result<(), CacheError>;
}
