//! In-memory cache: the embedded default for local runs and a warm Lambda's own memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use bridge_domain::activity::ContactRef;
use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::cache::{Cache, CacheError, ManagerRoute, expiry, keys};

#[derive(Debug, Clone)]
enum Entry {
    Contact(ContactRef),
    Route(ManagerRoute),
    /// A deal id waiting for its manager.
    PendingDeal(String),
    /// A per-number lock, held until this epoch millisecond.
    Lock(i64),
}

pub struct MemoryCache {
    entries: Mutex<HashMap<String, (Entry, i64)>>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn get(&self, key: &str) -> Option<Entry> {
        let now = self.clock.now_epoch_secs();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some((entry, expires_at)) if *expires_at > now => Some(entry.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&self, key: String, entry: Entry, ttl: Duration) {
        let expires_at = expiry(self.clock.now_epoch_secs(), ttl);
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (entry, expires_at));
    }

    fn remove(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn contact(&self, phone: &PhoneNumber) -> Result<Option<ContactRef>, CacheError> {
        Ok(match self.get(&keys::contact(phone)) {
            Some(Entry::Contact(contact)) => Some(contact),
            _ => None,
        })
    }

    async fn put_contact(
        &self,
        phone: &PhoneNumber,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.put(keys::contact(phone), Entry::Contact(contact.clone()), ttl);
        Ok(())
    }

    async fn forget_contact(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        self.remove(&keys::contact(phone));
        Ok(())
    }

    async fn manager_route(&self, crm_user_id: &str) -> Result<Option<ManagerRoute>, CacheError> {
        Ok(match self.get(&keys::manager_route(crm_user_id)) {
            Some(Entry::Route(route)) => Some(route),
            _ => None,
        })
    }

    async fn put_manager_route(
        &self,
        crm_user_id: &str,
        route: &ManagerRoute,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.put(
            keys::manager_route(crm_user_id),
            Entry::Route(route.clone()),
            ttl,
        );
        Ok(())
    }

    async fn pending_deal(&self, phone: &PhoneNumber) -> Result<Option<String>, CacheError> {
        Ok(match self.get(&keys::pending_deal(phone)) {
            Some(Entry::PendingDeal(deal_id)) => Some(deal_id),
            _ => None,
        })
    }

    async fn put_pending_deal(
        &self,
        phone: &PhoneNumber,
        deal_id: &str,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        self.put(
            keys::pending_deal(phone),
            Entry::PendingDeal(deal_id.to_owned()),
            ttl,
        );
        Ok(())
    }

    async fn forget_pending_deal(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        self.remove(&keys::pending_deal(phone));
        Ok(())
    }

    async fn try_lock(&self, phone: &PhoneNumber, ttl: Duration) -> Result<bool, CacheError> {
        let now_ms = self.clock.now_epoch_secs().saturating_mul(1000);
        let held_until_ms =
            now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        // Check and take under one guard: two callers must never both see the lock free.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys::lock(phone);
        let held =
            matches!(entries.get(&key), Some((Entry::Lock(until_ms), _)) if *until_ms > now_ms);
        if held {
            return Ok(false);
        }
        // The entry's own expiry (seconds) rounds up, so `get` never drops a held lock early.
        let expires_at = held_until_ms.div_euclid(1000) + 1;
        entries.insert(key, (Entry::Lock(held_until_ms), expires_at));
        Ok(true)
    }

    async fn unlock(&self, phone: &PhoneNumber) -> Result<(), CacheError> {
        self.remove(&keys::lock(phone));
        Ok(())
    }
}
