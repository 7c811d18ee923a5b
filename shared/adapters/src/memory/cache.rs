//! In-memory cache: the embedded default for local runs and a warm Lambda's own memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use bridge_domain::activity::ContactRef;
use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::cache::{Cache, CacheError, ContactSlot, ManagerRoute, expiry, keys};
use bridge_domain::ports::ledger::{Held, Owner};

#[derive(Debug, Clone)]
enum Entry {
    Contact(ContactRef),
    Route(ManagerRoute),
    /// A deal id waiting for its manager.
    PendingDeal(String),
    /// A contact being created under `owner`'s claim until `lease_until_ms`.
    Creating {
        owner: Owner,
        lease_until_ms: i64,
    },
    /// A creator gave up doubtfully: free, but the next winner searches the CRM first.
    Doubtful,
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

    async fn claim_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ContactSlot, CacheError> {
        let now_s = self.clock.now_epoch_secs();
        let now_ms = self.clock.now_epoch_ms();
        let lease_until_ms =
            now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        // Check and take under one guard: two callers must never both see the entry free.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys::contact(phone);
        let recheck = match entries.get(&key) {
            // A creator that died may have created: search first, however long ago.
            Some((Entry::Creating { lease_until_ms, .. }, _)) if *lease_until_ms <= now_ms => true,
            Some((_, expires_at)) if *expires_at <= now_s => false,
            Some((Entry::Contact(contact), _)) => return Ok(ContactSlot::Ready(contact.clone())),
            Some((Entry::Creating { lease_until_ms, .. }, _)) if *lease_until_ms > now_ms => {
                return Ok(ContactSlot::Creating);
            }
            // An expired creator (it may have created and died) or a doubtful release.
            Some(_) => true,
            None => false,
        };
        // The entry's own expiry (seconds) rounds up, so `get` never drops a live claim early.
        let expires_at = lease_until_ms.div_euclid(1000) + 1;
        entries.insert(
            key,
            (
                Entry::Creating {
                    owner: owner.clone(),
                    lease_until_ms,
                },
                expires_at,
            ),
        );
        Ok(ContactSlot::Free { recheck })
    }

    async fn contact_created(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<Held, CacheError> {
        let expires_at = expiry(self.clock.now_epoch_secs(), ttl);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys::contact(phone);
        if !matches!(entries.get(&key), Some((Entry::Creating { owner: held, .. }, _)) if held == owner)
        {
            return Ok(Held::No);
        }
        entries.insert(key, (Entry::Contact(contact.clone()), expires_at));
        Ok(Held::Yes)
    }

    async fn release_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        doubtful: bool,
    ) -> Result<Held, CacheError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let key = keys::contact(phone);
        let Some((
            Entry::Creating {
                owner: held,
                lease_until_ms,
            },
            expires_at,
        )) = entries.get(&key).cloned()
        else {
            return Ok(Held::No);
        };
        if held != *owner {
            return Ok(Held::No);
        }
        if doubtful {
            let _ = lease_until_ms;
            entries.insert(
                key,
                (
                    Entry::Doubtful,
                    expires_at.max(self.clock.now_epoch_secs() + DOUBT_SECS),
                ),
            );
        } else {
            entries.remove(&key);
        }
        Ok(Held::Yes)
    }

    async fn contact_slot(&self, phone: &PhoneNumber) -> Result<ContactSlot, CacheError> {
        let now_ms = self.clock.now_epoch_ms();
        Ok(match self.get(&keys::contact(phone)) {
            Some(Entry::Contact(contact)) => ContactSlot::Ready(contact),
            Some(Entry::Creating { lease_until_ms, .. }) if lease_until_ms > now_ms => {
                ContactSlot::Creating
            }
            Some(Entry::Creating { .. } | Entry::Doubtful) => ContactSlot::Free { recheck: true },
            _ => ContactSlot::Free { recheck: false },
        })
    }
}

/// How long a doubtful release is remembered (longer than any search index lag).
const DOUBT_SECS: i64 = 3600;
