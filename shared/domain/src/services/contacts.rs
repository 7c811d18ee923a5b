//! Contact resolution: the contact a number belongs to, from the cache or the CRM, created
//! (phone only) when there is none, by one creator per number.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::activity::{ContactRef, CrmUser, ResolvedContact};
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::cache::{Cache, CacheError, ContactSlot};
use crate::ports::crm::{Crm, CrmError};
use crate::ports::ledger::{Held, Owner};

/// How long a contact claim is held at most: the create it guards is bounded by it.
const CLAIM_LEASE: Duration = Duration::from_secs(10);
/// Kept free at the end of the lease: the create's answer and the `READY` write.
const LEASE_MARGIN: Duration = Duration::from_secs(1);
/// How long an event waits for another event's contact before giving up (and being re-sent).
const CLAIM_WAIT: Duration = Duration::from_secs(4);
const CLAIM_POLL: Duration = Duration::from_millis(100);

/// A claim that could not be read or written: retry later rather than create without it.
fn no_claim(error: CacheError) -> CrmError {
    CrmError::Transient(format!(
        "the number's contact claim is unavailable ({error}); not creating without it"
    ))
}

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
    ///
    /// One creator per number: the number's cache entry is the claim (`CREATING`, an owner
    /// token, a lease in milliseconds). The winner creates the contact within its lease and
    /// writes it into the entry (`READY`, conditional on its token); everybody else waits for
    /// that entry with consistent reads. Without the claim (DynamoDB down) nobody creates: the
    /// event fails as retryable and Ringostat sends it again.
    pub async fn find_or_create(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ResolvedContact, CrmError> {
        if let Some(contact) = self.find(phone, deadline).await? {
            return Ok(ResolvedContact::Existing(contact));
        }
        let me = Owner::new();
        let give_up = deadline.instant().min(Instant::now() + CLAIM_WAIT);
        let mut claim = self.cache.claim_contact(phone, &me, CLAIM_LEASE).await;
        let recheck = loop {
            match claim.map_err(no_claim)? {
                ContactSlot::Free { recheck } => break recheck,
                ContactSlot::Ready(contact) => return Ok(ResolvedContact::Existing(contact)),
                ContactSlot::Creating => {}
            }
            if Instant::now() + CLAIM_POLL >= give_up {
                return Err(CrmError::Transient(
                    "another event is creating this number's contact".into(),
                ));
            }
            tokio::time::sleep(CLAIM_POLL).await;
            claim = match self.cache.contact_slot(phone).await {
                // The creator gave up or died: take over.
                Ok(ContactSlot::Free { .. }) => {
                    self.cache.claim_contact(phone, &me, CLAIM_LEASE).await
                }
                other => other,
            };
        };
        // Won. An earlier creator that died, or failed after a create that may have
        // happened, may have left a contact: search before creating.
        let found = if recheck {
            self.crm.find_contact(phone, deadline).await
        } else {
            Ok(None)
        };
        let created = match found {
            Ok(Some(contact)) => Ok(ResolvedContact::Existing(contact)),
            Ok(None) => self.create_within_lease(phone, owner, deadline).await,
            Err(e) => Err(e),
        };
        match &created {
            Ok(contact) => {
                let ttl = self.contact_ttl;
                match self
                    .cache
                    .contact_created(phone, &me, contact.contact(), ttl)
                    .await
                {
                    Ok(Held::Yes) => {}
                    Ok(Held::No) => tracing::warn!(
                        "the contact claim was taken over before the contact was stored"
                    ),
                    Err(e) => tracing::warn!(error = %e, "cache: created contact not stored"),
                }
            }
            Err(error) => {
                let doubtful = error.is_ambiguous();
                if let Err(e) = self.cache.release_contact(phone, &me, doubtful).await {
                    tracing::warn!(error = %e, "cache: contact claim not released (its lease ends)");
                }
            }
        }
        created
    }

    /// Creates the contact, bounded by the claim's lease: a create still running when the
    /// lease ends could race the next claimant's.
    async fn create_within_lease(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ResolvedContact, CrmError> {
        let bound = deadline.min(Deadline::after(CLAIM_LEASE.saturating_sub(LEASE_MARGIN)));
        let created = self.crm.create_contact(phone, owner, bound).await?;
        tracing::info!(contact_id = %created.id, "contact created");
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
