//! The webhook number: the responsible manager's route for a ringing caller, within a budget.

use std::sync::Arc;

use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::cache::Cache;
use crate::ports::crm::{Crm, CrmError};
use crate::services::contacts::ContactResolver;
use crate::services::guard::within;
use crate::services::owners::Owners;

/// Where the webhook number sends a call, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardDecision {
    /// The manager's SIP login or number; `None`: the fallback.
    pub destination: Option<String>,
    pub reason: ForwardReason,
}

impl ForwardDecision {
    pub fn fallback(reason: ForwardReason) -> Self {
        Self {
            destination: None,
            reason,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardReason {
    /// The responsible manager's route.
    Manager,
    UnknownCaller,
    /// The contact has no owner, or the system user owns it.
    NoManager,
    /// The owner has no route in the staff list.
    NoRoute,
    /// The CRM failed; the call goes on by the fallback.
    CrmError,
    /// The budget ran out.
    Timeout,
}

impl ForwardReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manager => "manager",
            Self::UnknownCaller => "unknown_caller",
            Self::NoManager => "no_manager",
            Self::NoRoute => "no_route",
            Self::CrmError => "crm_error",
            Self::Timeout => "timeout",
        }
    }
}

pub struct SmartForwarding {
    pub contacts: Arc<ContactResolver>,
    pub crm: Arc<dyn Crm>,
    pub cache: Arc<dyn Cache>,
    pub owners: Arc<Owners>,
}

impl SmartForwarding {
    /// Never fails: any problem is a decision for the fallback.
    pub async fn route(&self, caller: &PhoneNumber, deadline: Deadline) -> ForwardDecision {
        let lookup = within(deadline, self.route_for(caller, deadline));
        match tokio::time::timeout_at(deadline.instant(), lookup).await {
            Ok(Ok(decision)) => decision,
            Ok(Err(error)) => {
                tracing::warn!(%error, "smart forward: CRM lookup failed");
                ForwardDecision::fallback(ForwardReason::CrmError)
            }
            Err(_) => ForwardDecision::fallback(ForwardReason::Timeout),
        }
    }

    async fn route_for(
        &self,
        caller: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<ForwardDecision, CrmError> {
        let Some(contact) = self.contacts.find(caller, deadline).await? else {
            return Ok(ForwardDecision::fallback(ForwardReason::UnknownCaller));
        };
        let owner = match contact.owner_id.clone() {
            Some(owner) => Some(owner),
            None => self
                .crm
                .responsible_manager(&contact.id, deadline)
                .await?
                .map(|user| user.id),
        };
        let Some(owner) = owner.filter(|o| !self.owners.is_system_user(o)) else {
            return Ok(ForwardDecision::fallback(ForwardReason::NoManager));
        };
        let route = match self
            .owners
            .staff
            .member(&owner)
            .and_then(|m| m.route.clone())
        {
            Some(route) => Some(route),
            None => self.cache.manager_route(&owner).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cache: manager route not read");
                None
            }),
        };
        Ok(match route {
            Some(route) => ForwardDecision {
                destination: Some(route.destination().to_owned()),
                reason: ForwardReason::Manager,
            },
            None => ForwardDecision::fallback(ForwardReason::NoRoute),
        })
    }
}
