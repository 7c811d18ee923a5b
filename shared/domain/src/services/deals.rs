//! Deals for new clients, and the hand-over of a new client's contact and deal to the manager
//! who took the call.

use std::sync::Arc;
use std::time::Duration;

use crate::activity::{ContactRef, CrmUser, ResolvedContact};
use crate::deadline::Deadline;
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

    /// Creates the new client's deal, owned by `owner`; `None` when deals are off.
    pub async fn create_for(
        &self,
        phone: &PhoneNumber,
        contact: &ContactRef,
        owner: &CrmUser,
        recheck: bool,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let Some(deals) = &self.deals else {
            return Ok(None);
        };
        let deal = NewDeal {
            name: deals.name_for(phone.e164()),
            stage: deals.stage.clone(),
            owner: Some(owner.clone()),
            recheck,
        };
        let created = self.crm.create_deal(contact, &deal, deadline).await?;
        Ok(Some(created.id))
    }

    /// Remembers a deal created before the call, to hand it over once the manager is known.
    pub async fn keep_pending(&self, phone: &PhoneNumber, deal_id: &str) {
        if let Err(e) = self
            .cache
            .put_pending_deal(phone, deal_id, self.pending_ttl)
            .await
        {
            tracing::warn!(error = %e, "cache: pending deal not stored");
        }
    }

    /// Gives a contact still owned by the system user (created before the call, or by an
    /// earlier missed call) to the manager who took this call, with its pending deal.
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
        if !unowned {
            return Ok(contact);
        }
        self.crm
            .set_contact_owner(&current.id, manager, deadline)
            .await?;
        let mut updated = current.clone();
        updated.owner_id = Some(manager.id.clone());
        contacts.remember(phone, &updated).await;
        match self.cache.pending_deal(phone).await {
            Ok(Some(deal_id)) => {
                self.crm.set_deal_owner(&deal_id, manager, deadline).await?;
                if let Err(e) = self.cache.forget_pending_deal(phone).await {
                    tracing::warn!(error = %e, "cache: pending deal not dropped");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache: pending deal not read"),
        }
        Ok(ResolvedContact::Existing(updated))
    }
}
