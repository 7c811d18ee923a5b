//! Contact resolution: the contact a number belongs to, from the cache or the CRM, created
//! (phone only) when there is none, by one creator per number.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::activity::{ContactRef, CrmUser, ResolvedContact};
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::cache::Cache;
use crate::ports::crm::{Crm, CrmError};

/// How long the per-number lock is held at most (a contact creation with its retries).
const LOCK_TTL: Duration = Duration::from_secs(10);
/// How long an event waits for another event's contact before giving up (and being re-sent).
const LOCK_WAIT: Duration = Duration::from_secs(4);
const LOCK_POLL: Duration = Duration::from_millis(100);

pub struct ContactResolver {
    crm: Arc<dyn Crm>,
    cache: Arc<dyn Cache>,
    contact_ttl: Duration,
}

impl ContactResolver {
    pub fn new(crm: Arc<dyn Crm>, cache: Arc<dyn Cache>, contact_ttl: Duration) -> Self {
        Self {
            crm,
            cache,
            contact_ttl,
        }
    }

    /// The contact of `phone`: cache, then CRM. Cache failures are logged and skipped.
    pub async fn find(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        match self.cache.contact(phone).await {
            Ok(Some(contact)) => return Ok(Some(contact)),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache: contact not read"),
        }
        let found = self.crm.find_contact(phone, deadline).await?;
        if let Some(contact) = &found {
            self.remember(phone, contact).await;
        }
        Ok(found)
    }

    /// The contact of `phone`, created (phone only, owned by `owner`) when there is none.
    pub async fn find_or_create(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ResolvedContact, CrmError> {
        if let Some(contact) = self.find(phone, deadline).await? {
            return Ok(ResolvedContact::Existing(contact));
        }
        // One creator per number: events arriving together for a new number (before-call,
        // AI, a second line) would otherwise each create a contact. The others wait for the
        // winner's contact, which it caches before it lets go of the lock.
        let give_up = deadline.instant().min(Instant::now() + LOCK_WAIT);
        let mut contended = false;
        loop {
            match self.cache.try_lock(phone, LOCK_TTL).await {
                Ok(true) => break,
                Ok(false) => contended = true,
                Err(e) => {
                    tracing::warn!(error = %e, "cache: no per-number lock, creating without it");
                    return self.create(phone, owner, deadline).await;
                }
            }
            tokio::time::sleep(LOCK_POLL).await;
            if let Ok(Some(contact)) = self.cache.contact(phone).await {
                return Ok(ResolvedContact::Existing(contact));
            }
            if Instant::now() >= give_up {
                return Err(CrmError::Transient(
                    "another event is creating this number's contact".into(),
                ));
            }
        }
        // Re-read after winning the lock, contended or not: a winner that created the contact
        // after this event's negative search may already have released the lock (it caches
        // the contact first). Busy lock: its holder may also have created it and gone, so ask
        // the CRM too.
        let existing = if contended {
            self.find(phone, deadline).await
        } else {
            Ok(self.cache.contact(phone).await.ok().flatten())
        };
        let result = match existing {
            Ok(Some(contact)) => Ok(ResolvedContact::Existing(contact)),
            Ok(None) => self.create(phone, owner, deadline).await,
            Err(e) => Err(e),
        };
        if let Err(e) = self.cache.unlock(phone).await {
            tracing::warn!(error = %e, "cache: per-number lock not released (it expires)");
        }
        result
    }

    async fn create(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ResolvedContact, CrmError> {
        let created = self.crm.create_contact(phone, owner, deadline).await?;
        tracing::info!(contact_id = %created.id, "contact created");
        self.remember(phone, &created).await;
        Ok(ResolvedContact::Created(created))
    }

    /// Caches `contact` as the one of `phone` (best effort).
    pub async fn remember(&self, phone: &PhoneNumber, contact: &ContactRef) {
        if let Err(e) = self
            .cache
            .put_contact(phone, contact, self.contact_ttl)
            .await
        {
            tracing::warn!(error = %e, "cache: contact not stored");
        }
    }

    /// Drops the cached contact of `phone` (deleted or merged in the CRM since).
    pub async fn forget(&self, phone: &PhoneNumber) {
        if let Err(e) = self.cache.forget_contact(phone).await {
            tracing::warn!(error = %e, "cache: contact not dropped");
        }
    }
}
