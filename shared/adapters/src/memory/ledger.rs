//! In-memory ledger: for local runs and tests. It dedupes only within one process, so a
//! deployment with more than one Lambda instance needs [`super::DynamoDbLedger`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::ports::cache::{CacheError, expiry};
use bridge_domain::ports::ledger::{
    AMBIGUITY_MEMORY, Claim, Held, Ledger, Owner, ParkedEvent, StoredAnswer, oldest_first,
};

/// How long an abandoned claim is kept after its deadline (the DynamoDB adapter's TTL margin).
const IN_PROGRESS_GRACE_SECS: i64 = 3600;

#[derive(Debug, Clone)]
enum Record {
    InProgress {
        owner: Owner,
        until_ms: i64,
        expires_at: i64,
        /// An earlier run may have written part of the event.
        ambiguous: bool,
    },
    /// Released after an ambiguous failure: free to claim, remembered for `recheck`.
    Released { expires_at: i64 },
    Completed {
        answer: StoredAnswer,
        expires_at: i64,
    },
}

impl Record {
    /// Whether the record still decides a claim at this instant (same rules as DynamoDB's).
    fn is_live(&self, now_s: i64, now_ms: i64) -> bool {
        match self {
            Self::InProgress {
                until_ms,
                expires_at,
                ..
            } => *until_ms > now_ms && *expires_at > now_s,
            Self::Released { .. } => false,
            Self::Completed { expires_at, .. } => *expires_at > now_s,
        }
    }

    /// Whether a run may have written part of the event before.
    fn ambiguous(&self, now_s: i64) -> bool {
        match self {
            Self::InProgress { ambiguous, .. } => *ambiguous,
            Self::Released { expires_at } => *expires_at > now_s,
            Self::Completed { .. } => false,
        }
    }

    fn held_by(&self, owner: &Owner) -> bool {
        matches!(self, Self::InProgress { owner: held, .. } if held == owner)
    }
}

#[derive(Default)]
struct State {
    records: HashMap<String, Record>,
    parked: HashMap<String, ParkedEvent>,
}

pub struct MemoryLedger {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryLedger {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            clock,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere leaves the maps consistent (each change is one insert or remove).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn claim(&self, key: &str, owner: &Owner, until_ms: i64) -> Result<Claim, CacheError> {
        let now_s = self.clock.now_epoch_secs();
        let now_ms = self.clock.now_epoch_ms();
        // Check and claim under one guard, as DynamoDB's conditional write does.
        let mut state = self.state();
        let mut recheck = false;
        if let Some(record) = state.records.get(key) {
            if record.is_live(now_s, now_ms) {
                return Ok(match record {
                    Record::Completed { answer, .. } => Claim::Completed(answer.clone()),
                    Record::InProgress { .. } | Record::Released { .. } => Claim::InProgress,
                });
            }
            recheck = record.ambiguous(now_s);
        }
        state.records.insert(
            key.to_owned(),
            Record::InProgress {
                owner: owner.clone(),
                until_ms,
                expires_at: until_ms
                    .div_euclid(1000)
                    .saturating_add(IN_PROGRESS_GRACE_SECS),
                ambiguous: recheck,
            },
        );
        Ok(Claim::Acquired { recheck })
    }

    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        answer: &StoredAnswer,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        let expires_at = expiry(self.clock.now_epoch_secs(), ttl);
        let mut state = self.state();
        if !state.records.get(key).is_some_and(|r| r.held_by(owner)) {
            return Ok(Held::No);
        }
        state.records.insert(
            key.to_owned(),
            Record::Completed {
                answer: answer.clone(),
                expires_at,
            },
        );
        Ok(Held::Yes)
    }

    async fn release(&self, key: &str, owner: &Owner, ambiguous: bool) -> Result<Held, CacheError> {
        let mut state = self.state();
        // Only this run's unfinished claim: a completed answer, or a newer run's claim, must
        // survive a late release.
        let Some(record) = state.records.get(key).filter(|r| r.held_by(owner)) else {
            return Ok(Held::No);
        };
        if ambiguous || record.ambiguous(self.clock.now_epoch_secs()) {
            let expires_at = expiry(self.clock.now_epoch_secs(), AMBIGUITY_MEMORY);
            state
                .records
                .insert(key.to_owned(), Record::Released { expires_at });
        } else {
            state.records.remove(key);
        }
        Ok(Held::Yes)
    }

    async fn park(&self, event: &ParkedEvent) -> Result<(), CacheError> {
        let mut state = self.state();
        let mut event = event.clone();
        if let Some(earlier) = state.parked.get(&event.key) {
            event.first_parked_at = earlier.first_parked_at.min(event.first_parked_at);
        }
        state.parked.insert(event.key.clone(), event);
        Ok(())
    }

    async fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>, CacheError> {
        let events: Vec<ParkedEvent> = self.state().parked.values().cloned().collect();
        Ok(oldest_first(events, limit))
    }

    async fn unpark(&self, key: &str) -> Result<(), CacheError> {
        self.state().parked.remove(key);
        Ok(())
    }
}
