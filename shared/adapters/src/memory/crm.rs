//! A CRM in one process: the [`Crm`] port's reference behaviour, for fast unit tests of the
//! services (no sandbox, no network) and for the contract suite every adapter passes.
//!
//! It behaves as the contract (`tests/tests/crm_contract.rs`) says a CRM must: numbers compared
//! exactly on the normalised number, contacts carrying their card URL, `NotFound` for records
//! that do not exist. By default a call record is written at most once per Ringostat call id (a
//! second `log_call` answers `already_existed` with the first record's id), as Dataverse does;
//! [`MemoryCrm::without_call_dedup`] writes every `log_call`, as NetHunt does (its API has no
//! key to dedupe on, so only the ledger keeps a re-sent call from being logged twice). Faults
//! can be injected per operation to test the services' failure paths.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use bridge_domain::activity::{CallActivity, ContactRef, CrmUser};
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal, NewNote};
use bridge_domain::ringostat::Utm;

/// A contact as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContact {
    pub contact: ContactRef,
    pub phone: PhoneNumber,
    pub utm: Option<Utm>,
}

/// A deal as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeal {
    pub id: String,
    pub contact_id: String,
    pub deal: NewDeal,
}

/// A note as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNote {
    pub contact_id: String,
    pub call_id: String,
    pub title: String,
    pub text: String,
}

/// The operations a fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    FindContact,
    CreateContact,
    SetContactOwner,
    SetContactUtm,
    LogCall,
    AddNote,
    CreateDeal,
    SetDealOwner,
    ResponsibleManager,
}

#[derive(Debug, Default)]
struct State {
    contacts: Vec<StoredContact>,
    calls: Vec<CallActivity>,
    notes: Vec<StoredNote>,
    deals: Vec<StoredDeal>,
    next_id: u64,
    /// Failures still to answer, per operation, in order.
    faults: HashMap<Operation, Vec<CrmError>>,
    /// Failures answered after the write was made (a 502 or a reset after the fact).
    after_faults: HashMap<Operation, Vec<CrmError>>,
    requests: u64,
}

impl State {
    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    /// Counts the request and answers an injected fault, if one is queued.
    fn enter(&mut self, operation: Operation) -> Result<(), CrmError> {
        self.requests += 1;
        match self.faults.get_mut(&operation) {
            Some(queue) if !queue.is_empty() => Err(queue.remove(0)),
            _ => Ok(()),
        }
    }

    /// After a write: an injected "performed, then failed" answer, if one is queued.
    fn leave(&mut self, operation: Operation) -> Result<(), CrmError> {
        match self.after_faults.get_mut(&operation) {
            Some(queue) if !queue.is_empty() => Err(queue.remove(0)),
            _ => Ok(()),
        }
    }

    fn contact_mut(&mut self, id: &str) -> Result<&mut StoredContact, CrmError> {
        self.contacts
            .iter_mut()
            .find(|c| c.contact.id == id)
            .ok_or_else(|| CrmError::NotFound(format!("contact {id}")))
    }
}

/// The in-memory CRM. It reports itself as `kind` (tests of kind-specific wiring).
#[derive(Debug)]
pub struct MemoryCrm {
    kind: CrmKind,
    /// A second `log_call` of a call id answers the first record (Dataverse) instead of
    /// writing another (NetHunt).
    dedupes_calls: bool,
    state: Mutex<State>,
}

impl Default for MemoryCrm {
    fn default() -> Self {
        Self::new(CrmKind::NetHunt)
    }
}

impl MemoryCrm {
    pub fn new(kind: CrmKind) -> Self {
        Self {
            kind,
            dedupes_calls: true,
            state: Mutex::new(State::default()),
        }
    }

    /// Every `log_call` writes a record, whatever its call id, as NetHunt's call log does.
    pub fn without_call_dedup(mut self) -> Self {
        self.dedupes_calls = false;
        self
    }

    /// Whether a second `log_call` of a call id answers `already_existed`.
    pub fn dedupes_calls(&self) -> bool {
        self.dedupes_calls
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds an existing client (as a person would have in the CRM).
    pub fn seed_contact(&self, phone: &PhoneNumber, name: &str, owner_id: &str) -> ContactRef {
        let mut state = self.state();
        let id = state.new_id("contact");
        let contact = ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            id,
            name: Some(name.to_owned()),
            owner_id: Some(owner_id.to_owned()),
        };
        state.contacts.push(StoredContact {
            contact: contact.clone(),
            phone: phone.clone(),
            utm: None,
        });
        contact
    }

    /// Makes the next `times` calls of `operation` fail with what `error` makes.
    pub fn fail_next(&self, operation: Operation, times: usize, error: impl Fn() -> CrmError) {
        let mut state = self.state();
        let queue = state.faults.entry(operation).or_default();
        queue.extend((0..times).map(|_| error()));
    }

    /// Makes the next call of `operation` perform its write and then fail with `error` (the
    /// CRM wrote, the answer was lost: the ambiguous case).
    pub fn fail_after_next(&self, operation: Operation, error: impl Fn() -> CrmError) {
        let mut state = self.state();
        state
            .after_faults
            .entry(operation)
            .or_default()
            .push(error());
    }

    pub fn contacts(&self) -> Vec<StoredContact> {
        self.state().contacts.clone()
    }

    pub fn calls(&self) -> Vec<CallActivity> {
        self.state().calls.clone()
    }

    pub fn notes(&self) -> Vec<StoredNote> {
        self.state().notes.clone()
    }

    pub fn deals(&self) -> Vec<StoredDeal> {
        self.state().deals.clone()
    }

    /// Requests answered so far (each port call is one).
    pub fn requests(&self) -> u64 {
        self.state().requests
    }
}

#[async_trait]
impl Crm for MemoryCrm {
    fn kind(&self) -> CrmKind {
        self.kind
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        _deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        let mut state = self.state();
        state.enter(Operation::FindContact)?;
        Ok(state
            .contacts
            .iter()
            .find(|c| c.phone == *phone)
            .map(|c| c.contact.clone()))
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        _deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        let mut state = self.state();
        state.enter(Operation::CreateContact)?;
        let id = state.new_id("contact");
        let contact = ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            id,
            name: None,
            owner_id: Some(owner.id.clone()),
        };
        state.contacts.push(StoredContact {
            contact: contact.clone(),
            phone: phone.clone(),
            utm: None,
        });
        Ok(contact)
    }

    async fn set_contact_owner(
        &self,
        contact_id: &str,
        owner: &CrmUser,
        _deadline: Deadline,
    ) -> Result<(), CrmError> {
        let mut state = self.state();
        state.enter(Operation::SetContactOwner)?;
        state.contact_mut(contact_id)?.contact.owner_id = Some(owner.id.clone());
        Ok(())
    }

    async fn set_contact_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        _deadline: Deadline,
    ) -> Result<(), CrmError> {
        let mut state = self.state();
        state.enter(Operation::SetContactUtm)?;
        state.contact_mut(contact_id)?.utm = Some(utm.clone());
        Ok(())
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        _deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        let mut state = self.state();
        state.enter(Operation::LogCall)?;
        state.contact_mut(&activity.regarding.id)?;
        let earlier = state
            .calls
            .iter()
            .position(|c| c.call_id == activity.call_id);
        // Without a fence of its own it finds the earlier record when asked to recheck, as
        // the NetHunt adapter does.
        if let (true, Some(index)) = (self.dedupes_calls || activity.recheck, earlier) {
            return Ok(LoggedCall {
                id: Some(format!("call-{index}")),
                already_existed: true,
            });
        }
        state.calls.push(activity.clone());
        state.leave(Operation::LogCall)?;
        Ok(LoggedCall {
            id: Some(format!("call-{}", state.calls.len() - 1)),
            already_existed: false,
        })
    }

    async fn add_note(&self, note: &NewNote, _deadline: Deadline) -> Result<(), CrmError> {
        let mut state = self.state();
        state.enter(Operation::AddNote)?;
        state.contact_mut(&note.contact_id)?;
        let written = state
            .notes
            .iter()
            .any(|n| n.contact_id == note.contact_id && n.call_id == note.call_id);
        if note.recheck && written {
            return Ok(());
        }
        state.notes.push(StoredNote {
            contact_id: note.contact_id.clone(),
            call_id: note.call_id.clone(),
            title: note.title.clone(),
            text: note.text.clone(),
        });
        state.leave(Operation::AddNote)?;
        Ok(())
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        _deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        let mut state = self.state();
        state.enter(Operation::CreateDeal)?;
        state.contact_mut(&contact.id)?;
        // Asked to recheck, it finds the contact's deal an earlier attempt made.
        if deal.recheck
            && let Some(earlier) = state.deals.iter().find(|d| d.contact_id == contact.id)
        {
            return Ok(DealRef {
                id: earlier.id.clone(),
            });
        }
        let id = state.new_id("deal");
        state.deals.push(StoredDeal {
            id: id.clone(),
            contact_id: contact.id.clone(),
            deal: deal.clone(),
        });
        state.leave(Operation::CreateDeal)?;
        Ok(DealRef { id })
    }

    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        _deadline: Deadline,
    ) -> Result<(), CrmError> {
        let mut state = self.state();
        state.enter(Operation::SetDealOwner)?;
        let deal = state
            .deals
            .iter_mut()
            .find(|d| d.id == deal_id)
            .ok_or_else(|| CrmError::NotFound(format!("deal {deal_id}")))?;
        deal.deal.owner = Some(owner.clone());
        Ok(())
    }

    async fn responsible_manager(
        &self,
        contact_id: &str,
        _deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        let mut state = self.state();
        state.enter(Operation::ResponsibleManager)?;
        let contact = state.contact_mut(contact_id)?;
        Ok(contact
            .contact
            .owner_id
            .clone()
            .map(|id| CrmUser { id, name: None }))
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        format!("memory://contacts/{contact_id}")
    }
}
