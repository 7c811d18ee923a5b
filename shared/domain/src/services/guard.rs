//! The store (DynamoDB) within one invocation: every cache and ledger call bounded by the
//! invocation's deadline, and skipped after the first failure.
//!
//! A slow or dead store must not eat a webhook's time: a first failure (an error, or no answer
//! before the deadline) trips the invocation's breaker, and the remaining calls fail at once.
//! What each caller then does is its own rule: the cache is skipped (the CRM answers), the
//! contact claim refuses (no creation without it: a retryable failure), parking is skipped
//! (the 5xx leaves the event with Ringostat's re-sends).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::activity::ContactRef;
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::cache::{Cache, CacheError, ContactSlot, ManagerRoute};
use crate::ports::ledger::{Claim, Held, Ledger, Owner, ParkedEvent, StoredAnswer};

/// One invocation's view of the store.
struct Invocation {
    deadline: Deadline,
    tripped: AtomicBool,
}

tokio::task_local! {
    static INVOCATION: Invocation;
}

/// Runs `work` as one invocation: its store calls end by `deadline` and stop after a failure.
pub async fn within<F: Future>(deadline: Deadline, work: F) -> F::Output {
    let invocation = Invocation {
        deadline,
        tripped: AtomicBool::new(false),
    };
    INVOCATION.scope(invocation, work).await
}

/// A store call under the invocation's deadline and breaker; as is outside any invocation.
async fn guarded<T>(call: impl Future<Output = Result<T, CacheError>>) -> Result<T, CacheError> {
    let Ok((deadline, tripped)) =
        INVOCATION.try_with(|i| (i.deadline, i.tripped.load(Ordering::Relaxed)))
    else {
        return call.await;
    };
    if tripped {
        return Err(CacheError::Unavailable(
            "skipped: the store failed earlier in this invocation".into(),
        ));
    }
    let result = match tokio::time::timeout_at(deadline.instant(), call).await {
        Ok(result) => result,
        Err(_) => Err(CacheError::Unavailable(
            "no answer before the invocation's deadline".into(),
        )),
    };
    if matches!(result, Err(CacheError::Unavailable(_))) {
        let _ = INVOCATION.try_with(|i| i.tripped.store(true, Ordering::Relaxed));
    }
    result
}

/// The cache under the invocation's guard.
pub struct GuardedCache(pub Arc<dyn Cache>);

#[async_trait]
impl Cache for GuardedCache {
    // Before any invocation: no guard to consult.
    async fn prepare(&self, deadline: Deadline) {
        self.0.prepare(deadline).await;
    }

    async fn contact(&self, phone: &PhoneNumber) -> Result<Option<ContactRef>, CacheError> {
        guarded(self.0.contact(phone)).await
    }

    async fn put_contact(
        &self,
        phone: &PhoneNumber,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        guarded(self.0.put_contact(phone, contact, ttl)).await
    }

    async fn forget_contact(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        guarded(self.0.forget_contact(phone)).await
    }

    async fn manager_route(&self, crm_user_id: &str) -> Result<Option<ManagerRoute>, CacheError> {
        guarded(self.0.manager_route(crm_user_id)).await
    }

    async fn put_manager_route(
        &self,
        crm_user_id: &str,
        route: &ManagerRoute,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        guarded(self.0.put_manager_route(crm_user_id, route, ttl)).await
    }

    async fn pending_deal(&self, phone: &PhoneNumber) -> Result<Option<String>, CacheError> {
        guarded(self.0.pending_deal(phone)).await
    }

    async fn put_pending_deal(
        &self,
        phone: &PhoneNumber,
        deal_id: &str,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        guarded(self.0.put_pending_deal(phone, deal_id, ttl)).await
    }

    async fn forget_pending_deal(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        guarded(self.0.forget_pending_deal(phone)).await
    }

    async fn claim_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ContactSlot, CacheError> {
        guarded(self.0.claim_contact(phone, owner, lease)).await
    }

    async fn contact_created(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        guarded(self.0.contact_created(phone, owner, contact, ttl)).await
    }

    async fn release_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        doubtful: bool,
    ) -> Result<Held, CacheError> {
        guarded(self.0.release_contact(phone, owner, doubtful)).await
    }

    async fn contact_slot(&self, phone: &PhoneNumber) -> Result<ContactSlot, CacheError> {
        guarded(self.0.contact_slot(phone)).await
    }
}

/// The ledger under the invocation's guard.
pub struct GuardedLedger(pub Arc<dyn Ledger>);

#[async_trait]
impl Ledger for GuardedLedger {
    async fn claim(&self, key: &str, owner: &Owner, until_ms: i64) -> Result<Claim, CacheError> {
        guarded(self.0.claim(key, owner, until_ms)).await
    }

    async fn complete(
        &self,
        key: &str,
        owner: &Owner,
        answer: &StoredAnswer,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        guarded(self.0.complete(key, owner, answer, ttl)).await
    }

    async fn release(&self, key: &str, owner: &Owner, ambiguous: bool) -> Result<Held, CacheError> {
        guarded(self.0.release(key, owner, ambiguous)).await
    }

    async fn park(&self, event: &ParkedEvent) -> Result<(), CacheError> {
        guarded(self.0.park(event)).await
    }

    async fn parked(&self, limit: usize) -> Result<Vec<ParkedEvent>, CacheError> {
        guarded(self.0.parked(limit)).await
    }

    async fn unpark(&self, key: &str) -> Result<(), CacheError> {
        guarded(self.0.unpark(key)).await
    }
}
