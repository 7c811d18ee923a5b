//! A CRM decorator that forces interleavings: it holds chosen calls at a gate until the test
//! opens it, and can slow every search. Tests use it to create, on every run, the orders of
//! events that a race produces only by luck.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bridge_core::activity::{CallActivity, ContactRef, CrmUser};
use bridge_core::ports::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal, NewNote};
use bridge_core::ringostat::Utm;
use bridge_core::{Deadline, PhoneNumber};
use tokio::sync::{Notify, Semaphore};

/// The decorated CRM and its controls.
pub struct GatedCrm {
    inner: Arc<dyn Crm>,
    /// Searches that still wait at the gate after their answer, before returning it.
    hold_searches: AtomicUsize,
    /// Opened by the test: one permit per held search.
    gate: Semaphore,
    /// Signalled each time a search arrives at the gate.
    held: Notify,
    /// Added to every search (a slow CRM widens every race).
    search_delay: Duration,
    /// Deal creates that still wait at the gate before reaching the CRM.
    hold_deals: AtomicUsize,
}

impl GatedCrm {
    pub fn new(inner: Arc<dyn Crm>) -> Arc<Self> {
        Self::with_search_delay(inner, Duration::ZERO)
    }

    pub fn with_search_delay(inner: Arc<dyn Crm>, search_delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner,
            hold_searches: AtomicUsize::new(0),
            gate: Semaphore::new(0),
            held: Notify::new(),
            search_delay,
            hold_deals: AtomicUsize::new(0),
        })
    }

    /// The next `count` searches stop at the gate once the CRM has answered them.
    pub fn hold_next_searches(&self, count: usize) {
        self.hold_searches.store(count, Ordering::SeqCst);
    }

    /// The next `count` deal creates stop at the gate before they reach the CRM.
    pub fn hold_next_deal_creates(&self, count: usize) {
        self.hold_deals.store(count, Ordering::SeqCst);
    }

    /// Waits until a held call (search or deal create) stands at the gate.
    pub async fn search_held(&self) {
        self.held.notified().await;
    }

    /// Lets `count` held searches return their (by now stale) answers.
    pub fn release(&self, count: usize) {
        self.gate.add_permits(count);
    }

    fn take_hold(&self) -> bool {
        take(&self.hold_searches)
    }

    /// Stops at the gate until the test opens it.
    async fn wait_at_gate(&self) {
        self.held.notify_one();
        if let Ok(permit) = self.gate.acquire().await {
            permit.forget();
        }
    }
}

/// Takes one of `count` holds, if any is left.
fn take(count: &AtomicUsize) -> bool {
    count
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait::async_trait]
impl Crm for GatedCrm {
    fn kind(&self) -> CrmKind {
        self.inner.kind()
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        tokio::time::sleep(self.search_delay).await;
        let answer = self.inner.find_contact(phone, deadline).await;
        if self.take_hold() {
            self.wait_at_gate().await;
        }
        answer
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        self.inner.create_contact(phone, owner, deadline).await
    }

    async fn set_contact_owner(
        &self,
        contact_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.inner
            .set_contact_owner(contact_id, owner, deadline)
            .await
    }

    async fn set_contact_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.inner.set_contact_utm(contact_id, utm, deadline).await
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        self.inner.log_call(activity, deadline).await
    }

    async fn add_note(&self, note: &NewNote, deadline: Deadline) -> Result<(), CrmError> {
        self.inner.add_note(note, deadline).await
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        if take(&self.hold_deals) {
            self.wait_at_gate().await;
        }
        self.inner.create_deal(contact, deal, deadline).await
    }

    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.inner.set_deal_owner(deal_id, owner, deadline).await
    }

    async fn responsible_manager(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        self.inner.responsible_manager(contact_id, deadline).await
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        self.inner.contact_card_url(contact_id)
    }
}
