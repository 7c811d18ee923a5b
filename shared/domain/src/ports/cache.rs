//! The cache port: what the bridge remembers between calls so it can answer without the CRM.
//!
//! Three kinds of entry, each with an expiry:
//! - phone → contact: the contact a number belongs to (CRM id, name, owner, card URL);
//! - CRM user → manager route: where smart forwarding sends that user's clients;
//! - phone → pending deal: the deal created with a new client's contact at "before call",
//!   owned by the system user until "after call" names the manager who answered.
//!
//! A cache is only ever an optimisation: every caller must work when it misses or fails.

use std::time::Duration;

use async_trait::async_trait;

use crate::activity::ContactRef;
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::ledger::{Held, Owner};

/// Where Ringostat should ring a manager: the answer of the webhook number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ManagerRoute {
    /// A Ringostat SIP account login (`mycompanycom_ivan`); smart forwarding needs SIP.
    SipLogin(String),
    /// A phone number in E.164.
    Number(PhoneNumber),
}

impl ManagerRoute {
    /// The value Ringostat expects: the SIP login, or the number as digits (`380…`).
    pub fn destination(&self) -> &str {
        match self {
            Self::SipLogin(login) => login,
            Self::Number(number) => number.digits(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The store could not be reached or refused the request.
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    /// The store answered with an entry this version cannot read.
    #[error("cache entry `{key}` is malformed: {reason}")]
    Malformed { key: String, reason: String },
}

#[async_trait]
pub trait Cache: Send + Sync {
    /// Work done once while the function starts (the connection to the store). Best effort.
    async fn prepare(&self, deadline: Deadline) {
        let _ = deadline;
    }

    async fn contact(&self, phone: &PhoneNumber) -> Result<Option<ContactRef>, CacheError>;

    async fn put_contact(
        &self,
        phone: &PhoneNumber,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<(), CacheError>;

    /// Drops a phone → contact entry (the contact was merged, deleted or re-assigned).
    async fn forget_contact(&self, phone: &PhoneNumber) -> Result<(), CacheError>;

    async fn manager_route(&self, crm_user_id: &str) -> Result<Option<ManagerRoute>, CacheError>;

    async fn put_manager_route(
        &self,
        crm_user_id: &str,
        route: &ManagerRoute,
        ttl: Duration,
    ) -> Result<(), CacheError>;

    /// The deal the bridge created for a new client's number, still waiting for its manager.
    async fn pending_deal(&self, phone: &PhoneNumber) -> Result<Option<String>, CacheError>;

    async fn put_pending_deal(
        &self,
        phone: &PhoneNumber,
        deal_id: &str,
        ttl: Duration,
    ) -> Result<(), CacheError>;

    /// Drops the entry once the deal has its manager (or was given up on).
    async fn forget_pending_deal(&self, phone: &PhoneNumber) -> Result<(), CacheError>;

    /// Claims the creation of `phone`'s contact for `owner` for `lease`, on the number's own
    /// entry (`CREATING`): one conditional write, so exactly one of any number of claimants
    /// wins. A known contact (`Ready`) or another creator's live lease (`Creating`) refuses it.
    async fn claim_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        lease: Duration,
    ) -> Result<ContactSlot, CacheError>;

    /// The created (or found) contact, written into `owner`'s claim (`READY`), if `owner` still
    /// holds it.
    async fn contact_created(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        contact: &ContactRef,
        ttl: Duration,
    ) -> Result<Held, CacheError>;

    /// Gives up `owner`'s claim (the create failed); `doubtful`: the create may have happened,
    /// so the next winner searches the CRM before creating.
    async fn release_contact(
        &self,
        phone: &PhoneNumber,
        owner: &Owner,
        doubtful: bool,
    ) -> Result<Held, CacheError>;

    /// The number's entry, read consistently (claimants waiting for a creator poll it).
    async fn contact_slot(&self, phone: &PhoneNumber) -> Result<ContactSlot, CacheError>;
}

/// The state of a number's contact entry, as a claim or a consistent read sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactSlot {
    /// Nobody creates the contact and none is known. From `claim_contact`: this run now owns
    /// the creation; `recheck`: an earlier creator died or failed doubtfully, so search the CRM
    /// before creating.
    Free { recheck: bool },
    /// The number's contact.
    Ready(ContactRef),
    /// Another run is creating it.
    Creating,
}

/// Keys shared by every adapter, so an entry has one name wherever it is stored.
pub mod keys {
    use crate::phone::PhoneNumber;

    pub fn contact(phone: &PhoneNumber) -> String {
        format!("contact#{}", phone.digits())
    }

    pub fn manager_route(crm_user_id: &str) -> String {
        format!("route#{crm_user_id}")
    }

    pub fn pending_deal(phone: &PhoneNumber) -> String {
        format!("deal#{}", phone.digits())
    }
}

/// Epoch second at which an entry written `now` with `ttl` expires.
pub fn expiry(now_epoch_secs: i64, ttl: Duration) -> i64 {
    now_epoch_secs.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}
