//! Deals for new clients, and the hand-over of a new client's contact and deal to the manager
//! who took the call.

use std::sync::Arc;
use std::time::Duration;

use crate::activity::{CrmUser, ResolvedContact};
use crate::deadline::{Deadline, duration_ms, epoch_ms};
use crate::phone::PhoneNumber;
use crate::ports::cache::Cache;
use crate::ports::crm::{Crm, CrmError, NewDeal};
use crate::services::contacts::ContactResolver;
use crate::services::owners::Owners;
use crate::settings::DealSettings;

pub struct DealDesk {
    crm: Arc<dyn Crm>,
    cache: Arc<dyn Cache>,
    /// `None`: no deals.
    deals: Option<DealSettings>,
    pending_ttl: Duration,
}

impl DealDesk {
    pub fn new(
        crm: Arc<dyn Crm>,
        cache: Arc<dyn Cache>,
        deals: Option<DealSettings>,
        pending_ttl: Duration,
    ) -> Self {
        Self {
            crm,
            cache,
            deals,
            pending_ttl,
        }
    }

    /// Makes sure the client whose contact the bridge created has its deal, owned by `owner`;
    /// `None` when deals are off or nothing is due.
    ///
    /// The postcondition is "this contact has its deal from the bridge", not "the contact is
    /// new": before the deal is created a due marker is stored with the number, leased to the
    /// creating run for [`DEAL_LEASE`], so a run that failed (or died) between the contact and
    /// the deal leaves the deal due, and a later event (which finds the contact existing)
    /// creates it, asking the CRM first whether it already did. While the creating run's lease
    /// lasts, other events leave the deal to it. `keep_for_hand_over`: the deal waits (as
    /// pending) for the manager who answers.
    pub async fn ensure_deal(
        &self,
        phone: &PhoneNumber,
        contact: &ResolvedContact,
        owner: &CrmUser,
        keep_for_hand_over: bool,
        recheck: bool,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let Some(deals) = &self.deals else {
            return Ok(None);
        };
        let recheck = if contact.is_new() {
            recheck
        } else {
            match self.cache.pending_deal(phone).await {
                // An earlier run created the contact and did not finish its deal.
                Ok(Some(marker)) if DueMarker::parse(&marker).is_some_and(DueMarker::lapsed) => {
                    true
                }
                Ok(_) => return Ok(None),
                Err(e) => {
                    tracing::warn!(error = %e, "cache: pending deal not read");
                    return Ok(None);
                }
            }
        };
        self.remember_pending(phone, &DueMarker::leased().to_string())
            .await;
        let deal = NewDeal {
            name: deals.name_for(phone.e164()),
            stage: deals.stage.clone(),
            owner: Some(owner.clone()),
            recheck,
        };
        let created = match self
            .crm
            .create_deal(contact.contact(), &deal, deadline)
            .await
        {
            Ok(created) => created,
            Err(error) => {
                // Due at once: the re-send need not wait for this run's lease.
                self.remember_pending(phone, &DueMarker::now().to_string())
                    .await;
                return Err(error);
            }
        };
        if keep_for_hand_over {
            self.remember_pending(phone, &created.id).await;
        } else if let Err(e) = self.cache.forget_pending_deal(phone).await {
            tracing::warn!(error = %e, "cache: deal marker not dropped");
        }
        Ok(Some(created.id))
    }

    async fn remember_pending(&self, phone: &PhoneNumber, value: &str) {
        if let Err(e) = self
            .cache
            .put_pending_deal(phone, value, self.pending_ttl)
            .await
        {
            tracing::warn!(error = %e, "cache: pending deal not stored");
        }
    }

    /// Gives a contact still owned by the system user (created before the call, or by an
    /// earlier missed call) to the manager who took this call, and the deal created with it.
    /// Each is checked and handed over on its own, so a re-send completes whichever a failed
    /// run left undone.
    pub async fn hand_over(
        &self,
        contacts: &ContactResolver,
        owners: &Owners,
        phone: &PhoneNumber,
        contact: ResolvedContact,
        manager: &CrmUser,
        deadline: Deadline,
    ) -> Result<ResolvedContact, CrmError> {
        let current = contact.contact();
        let unowned = current
            .owner_id
            .as_deref()
            .is_none_or(|owner| owners.is_system_user(owner));
        let contact = if unowned {
            self.crm
                .set_contact_owner(&current.id, manager, deadline)
                .await?;
            let mut updated = current.clone();
            updated.owner_id = Some(manager.id.clone());
            contacts.remember(phone, &updated).await;
            ResolvedContact::Existing(updated)
        } else {
            contact
        };
        match self.cache.pending_deal(phone).await {
            Ok(Some(deal_id)) if DueMarker::parse(&deal_id).is_none() => {
                self.crm.set_deal_owner(&deal_id, manager, deadline).await?;
                if let Err(e) = self.cache.forget_pending_deal(phone).await {
                    tracing::warn!(error = %e, "cache: pending deal not dropped");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cache: pending deal not read"),
        }
        Ok(contact)
    }
}

/// How long a run that creates a contact has to create its deal before another event may.
pub const DEAL_LEASE: std::time::Duration = std::time::Duration::from_secs(20);

/// The pending-deal entry of a contact whose deal is due but not (known to be) created:
/// `due:<epoch ms>`, the moment from which any event may create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DueMarker {
    from_ms: u64,
}

impl DueMarker {
    const PREFIX: &'static str = "due:";

    /// Leased to this run.
    fn leased() -> Self {
        Self {
            from_ms: epoch_ms().saturating_add(duration_ms(DEAL_LEASE)),
        }
    }

    fn now() -> Self {
        Self {
            from_ms: epoch_ms(),
        }
    }

    fn parse(value: &str) -> Option<Self> {
        let from_ms = value.strip_prefix(Self::PREFIX)?.parse().ok()?;
        Some(Self { from_ms })
    }

    fn lapsed(self) -> bool {
        epoch_ms() >= self.from_ms
    }
}

impl std::fmt::Display for DueMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.from_ms)
    }
}
