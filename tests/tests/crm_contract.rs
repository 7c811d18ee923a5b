//! The `Crm` contract: what every implementation of the CRM port guarantees, written once and
//! run against each of them — the in-memory `MemoryCrm` (the services' unit tests stand on it),
//! NetHunt over the CRM sandbox and Dataverse over the CRM sandbox.
//!
//! Where the CRMs differ the contract says so explicitly and asserts what *is* guaranteed:
//!
//! - **A call logged twice.** Dataverse derives the phone call's `activityid` from the Ringostat
//!   call id, so a second `log_call` answers `already_existed` with the first record's id and
//!   writes nothing (`MemoryCrm` does the same by default). NetHunt's call log has no key to
//!   dedupe on: every `log_call` writes a record and answers `already_existed: false`. Only the
//!   ledger (`Delivery`) keeps a re-sent event from being logged twice there.
//! - **A write on a missing contact** (call, note) fails for good, never transiently, and
//!   writes nothing: NetHunt answers 404 (`NotFound`), Dataverse refuses the bind to a missing
//!   record with 400 (`Rejected`).
//! - **The responsible manager of a missing contact** is "no manager": NetHunt finds no record
//!   (`None`), Dataverse and `MemoryCrm` answer `NotFound`.
//!
//! Owner changes on a missing contact or deal are `NotFound` everywhere, never an upsert.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::Arc;

use bridge_core::Deadline;
use bridge_core::activity::{Language, ResolvedContact, call_activity};
use bridge_core::adapters::MemoryCrm;
use bridge_core::ports::{Crm, CrmError, CrmKind, NewDeal};
use bridge_core::ringostat::{CallEvent, EventKind, ParseOptions, Utm};
use bridge_core::{CallActivity, ContactRef, CrmUser, PhoneNumber};
use bridge_tests::crm_view::CrmView;
use bridge_tests::dataverse_env::dataverse_for;
use bridge_tests::nethunt_env::nethunt_for;
use crm_sandbox::Sandbox;
use tokio::time::Duration;

/// What a test can look at besides the port: the fake's own records, or the sandbox's.
enum Backend {
    Memory(Arc<MemoryCrm>),
    Sandbox(Sandbox, CrmKind),
}

/// One implementation under the contract, with the users and ids it understands.
struct Subject {
    name: &'static str,
    crm: Arc<dyn Crm>,
    backend: Backend,
    system_user: CrmUser,
    manager: CrmUser,
    /// A well-formed id of a contact the CRM does not hold.
    missing_contact: &'static str,
    /// A well-formed id of a deal the CRM does not hold.
    missing_deal: &'static str,
    /// A second `log_call` of a call id answers `already_existed` (see the module docs).
    dedupes_calls: bool,
}

fn email_users() -> (CrmUser, CrmUser) {
    (
        CrmUser {
            id: "bridge@example.com".into(),
            name: Some("Ringostat Bridge".into()),
        },
        CrmUser {
            id: "olena@acme.ua".into(),
            name: Some("Олена Коваленко".into()),
        },
    )
}

impl Subject {
    async fn memory() -> Self {
        let memory = Arc::new(MemoryCrm::default());
        let (system_user, manager) = email_users();
        Self {
            name: "memory",
            crm: memory.clone(),
            // The default, as Dataverse: the services' unit tests rely on it.
            dedupes_calls: true,
            backend: Backend::Memory(memory),
            system_user,
            manager,
            missing_contact: "contact-404",
            missing_deal: "deal-404",
        }
    }

    async fn nethunt() -> Self {
        let sandbox = Sandbox::start().await.expect("sandbox starts");
        let (system_user, manager) = email_users();
        Self {
            name: "nethunt",
            crm: Arc::new(nethunt_for(&sandbox)),
            backend: Backend::Sandbox(sandbox, CrmKind::NetHunt),
            system_user,
            manager,
            missing_contact: "6650a1b2ffffffffffffffff",
            missing_deal: "6650a1b2fffffffffffffffe",
            dedupes_calls: false,
        }
    }

    async fn dataverse() -> Self {
        use crm_sandbox::dataverse::{
            MANAGER_NAME, MANAGER_USER_ID, SYSTEM_USER_ID, SYSTEM_USER_NAME,
        };
        let sandbox = Sandbox::start().await.expect("sandbox starts");
        Self {
            name: "dataverse",
            crm: Arc::new(dataverse_for(&sandbox)),
            backend: Backend::Sandbox(sandbox, CrmKind::Dataverse),
            system_user: CrmUser {
                id: SYSTEM_USER_ID.into(),
                name: Some(SYSTEM_USER_NAME.into()),
            },
            manager: CrmUser {
                id: MANAGER_USER_ID.into(),
                name: Some(MANAGER_NAME.into()),
            },
            missing_contact: "3f0e6c1a-1111-4222-8333-944455556666",
            missing_deal: "3f0e6c1a-1111-4222-8333-944455556667",
            dedupes_calls: true,
        }
    }

    fn view(&self) -> Option<CrmView<'_>> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Sandbox(sandbox, kind) => Some(CrmView::new(*kind, sandbox)),
        }
    }

    fn fake(&self) -> Option<&MemoryCrm> {
        match &self.backend {
            Backend::Memory(memory) => Some(memory),
            Backend::Sandbox(..) => None,
        }
    }

    fn contact_count(&self) -> usize {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory.contacts().len(),
            (_, Some(view)) => view.contact_count(),
            _ => unreachable!(),
        }
    }

    /// Call records on the contact, as the CRM stores them.
    fn calls_on(&self, contact_id: &str) -> usize {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory
                .calls()
                .iter()
                .filter(|c| c.regarding.id == contact_id)
                .count(),
            (_, Some(view)) => view.call_texts(contact_id).len(),
            _ => unreachable!(),
        }
    }

    /// Every call record in the CRM.
    fn all_calls(&self) -> usize {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory.calls().len(),
            (_, Some(view)) => view.call_count(),
            _ => unreachable!(),
        }
    }

    /// The notes on the contact: their texts (NetHunt and memory: with the title).
    fn notes_on(&self, contact_id: &str) -> Vec<String> {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory
                .notes()
                .into_iter()
                .filter(|n| n.contact_id == contact_id)
                .map(|n| format!("{}\n{}", n.title, n.text))
                .collect(),
            (_, Some(view)) => view.notes_of(contact_id),
            _ => unreachable!(),
        }
    }

    /// The names of the contact's deals.
    fn deals_on(&self, contact_id: &str) -> Vec<String> {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory
                .deals()
                .into_iter()
                .filter(|d| d.contact_id == contact_id)
                .map(|d| d.deal.name)
                .collect(),
            (_, Some(view)) => view.deals_of(contact_id),
            _ => unreachable!(),
        }
    }

    fn deal_owner(&self, deal_id: &str) -> Option<String> {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory
                .deals()
                .into_iter()
                .find(|d| d.id == deal_id)
                .and_then(|d| d.deal.owner)
                .map(|owner| owner.id),
            (_, Some(view)) => view.deal_owner_of(deal_id),
            _ => unreachable!(),
        }
    }

    fn utm_source_of(&self, contact_id: &str) -> Option<String> {
        match (self.fake(), self.view()) {
            (Some(memory), _) => memory
                .contacts()
                .into_iter()
                .find(|c| c.contact.id == contact_id)
                .and_then(|c| c.utm)
                .and_then(|utm| utm.source),
            (_, Some(view)) => view.utm_source_of(contact_id),
            _ => unreachable!(),
        }
    }

    async fn new_contact(&self, raw: &str) -> ContactRef {
        self.crm
            .create_contact(&phone(raw), &self.system_user, deadline())
            .await
            .unwrap_or_else(|e| panic!("{}: create_contact: {e}", self.name))
    }

    /// The call record of an answered incoming call from the contact, taken by the manager.
    fn answered_call(&self, contact: &ContactRef, call_id: &str) -> CallActivity {
        let event = after_call(call_id, "+380931234567");
        call_activity(
            &event,
            &ResolvedContact::Existing(contact.clone()),
            Some(&self.manager),
            &self.system_user,
            Language::Uk,
        )
    }

    /// A contact the CRM does not hold, as a service would still have it cached.
    fn missing_contact_ref(&self) -> ContactRef {
        ContactRef {
            id: self.missing_contact.into(),
            name: None,
            owner_id: Some(self.manager.id.clone()),
            card_url: None,
        }
    }
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).expect("valid test number")
}

/// A Ringostat after-call webhook: an answered incoming call from `client`.
fn after_call(call_id: &str, client: &str) -> CallEvent {
    let body = serde_json::json!({
        "uniqueid": call_id,
        "calldate": "2026-03-02 10:15:00",
        "call_type": "in",
        "caller": client,
        "dst": "380441112233",
        "disposition": "ANSWERED",
        "duration": 95,
        "billsec": 83,
        "waittime": "12",
        "employee_number": 111,
        "employee_fio": "Олена Коваленко",
    });
    CallEvent::from_request(
        EventKind::AfterCall,
        Some("application/json"),
        body.to_string().as_bytes(),
        None,
        &ParseOptions::default(),
    )
    .expect("webhook parses")
}

/// A failure no retry would fix: the record is missing (404) or the CRM refused the request.
fn is_permanent_refusal(error: &CrmError) -> bool {
    matches!(error, CrmError::NotFound(_) | CrmError::Rejected { .. }) && !error.is_transient()
}

// --- Contacts ------------------------------------------------------------------------------

/// A number nobody has is no contact, not an error.
async fn an_unknown_number_has_no_contact(s: Subject) {
    let found = s
        .crm
        .find_contact(&phone("0931234567"), deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    assert_eq!(found, None, "{}", s.name);
    assert_eq!(s.contact_count(), 0, "{}: a search creates nothing", s.name);
}

/// A created contact is found again under its number (in any notation), with the same id and
/// owner, and only under its own number.
async fn a_created_contact_is_found_again_by_its_number(s: Subject) {
    let created = s.new_contact("+38 (093) 123-45-67").await;
    assert!(!created.id.is_empty(), "{}", s.name);
    assert_eq!(
        created.owner_id.as_deref(),
        Some(s.system_user.id.as_str()),
        "{}: owned by whom it was created for",
        s.name
    );
    for notation in ["0931234567", "+380931234567", "380931234567"] {
        let found = s
            .crm
            .find_contact(&phone(notation), deadline())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let found = found.unwrap_or_else(|| panic!("{}: {notation} not found", s.name));
        assert_eq!(found.id, created.id, "{}: {notation}", s.name);
        assert_eq!(found.owner_id, created.owner_id, "{}: {notation}", s.name);
    }
    let other = s
        .crm
        .find_contact(&phone("0931234568"), deadline())
        .await
        .unwrap();
    assert_eq!(other, None, "{}: numbers compare exactly", s.name);
    assert_eq!(s.contact_count(), 1, "{}", s.name);
}

/// The card URL of a contact names it, and a created or found contact carries that URL.
async fn a_contact_card_url_names_the_contact(s: Subject) {
    let created = s.new_contact("0931234567").await;
    let url = s.crm.contact_card_url(&created.id);
    assert!(url.contains(&created.id), "{}: {url}", s.name);
    assert!(
        url.starts_with("http") || url.starts_with("memory://"),
        "{}: {url}",
        s.name
    );
    assert_eq!(
        created.card_url.as_deref(),
        Some(url.as_str()),
        "{}",
        s.name
    );
    let found = s
        .crm
        .find_contact(&phone("0931234567"), deadline())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.card_url.as_deref(), Some(url.as_str()), "{}", s.name);
    let other = s.crm.contact_card_url(s.missing_contact);
    assert!(other.contains(s.missing_contact), "{}: {other}", s.name);
    assert_ne!(other, url, "{}: one URL per contact", s.name);
}

/// The owner set on a contact is its responsible manager, and the one a search reports.
async fn the_owner_set_is_the_responsible_manager(s: Subject) {
    let contact = s.new_contact("0951112233").await;
    let before = s
        .crm
        .responsible_manager(&contact.id, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    assert_eq!(
        before.map(|u| u.id),
        Some(s.system_user.id.clone()),
        "{}",
        s.name
    );

    s.crm
        .set_contact_owner(&contact.id, &s.manager, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let after = s
        .crm
        .responsible_manager(&contact.id, deadline())
        .await
        .unwrap();
    assert_eq!(
        after.map(|u| u.id),
        Some(s.manager.id.clone()),
        "{}",
        s.name
    );
    let found = s
        .crm
        .find_contact(&phone("0951112233"), deadline())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.owner_id.as_deref(),
        Some(s.manager.id.as_str()),
        "{}",
        s.name
    );
    assert_eq!(
        s.contact_count(),
        1,
        "{}: an owner change creates nothing",
        s.name
    );
}

/// An owner change on a contact that is gone is `NotFound`, and creates nothing.
async fn an_owner_change_on_a_missing_contact_is_not_found(s: Subject) {
    let result = s
        .crm
        .set_contact_owner(s.missing_contact, &s.manager, deadline())
        .await;
    assert!(
        matches!(result, Err(CrmError::NotFound(_))),
        "{}: {result:?}",
        s.name
    );
    assert_eq!(s.contact_count(), 0, "{}: no upsert", s.name);
}

/// A missing contact has no responsible manager: `None` (NetHunt) or `NotFound`.
async fn a_missing_contact_has_no_responsible_manager(s: Subject) {
    let result = s
        .crm
        .responsible_manager(s.missing_contact, deadline())
        .await;
    assert!(
        matches!(result, Ok(None) | Err(CrmError::NotFound(_))),
        "{}: {result:?}",
        s.name
    );
}

/// UTM tags land on the contact.
async fn utm_tags_are_written_on_the_contact(s: Subject) {
    let contact = s.new_contact("0931234567").await;
    let utm = Utm {
        source: Some("google".into()),
        medium: Some("cpc".into()),
        campaign: Some("brand".into()),
        term: None,
        content: None,
    };
    s.crm
        .set_contact_utm(&contact.id, &utm, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    assert_eq!(
        s.utm_source_of(&contact.id).as_deref(),
        Some("google"),
        "{}",
        s.name
    );
}

// --- Calls ---------------------------------------------------------------------------------

/// The same call logged twice: never an error; a CRM that can dedupe (Dataverse, memory)
/// answers `already_existed` with the first record and writes nothing, one that cannot
/// (NetHunt) writes a second record and says so honestly (`already_existed: false`).
async fn a_call_logged_twice(s: Subject) {
    let contact = s.new_contact("0931234567").await;
    let call = s.answered_call(&contact, "ua0_-1712316600.9001");

    let first = s
        .crm
        .log_call(&call, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: first log_call: {e}", s.name));
    assert!(!first.already_existed, "{}: a first call is new", s.name);
    assert!(first.id.is_some(), "{}: the record's id is known", s.name);
    assert_eq!(s.calls_on(&contact.id), 1, "{}", s.name);

    let second = s
        .crm
        .log_call(&call, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: second log_call: {e}", s.name));
    if s.dedupes_calls {
        assert!(second.already_existed, "{}: {second:?}", s.name);
        assert_eq!(second.id, first.id, "{}: the first record", s.name);
        assert_eq!(s.calls_on(&contact.id), 1, "{}: written once", s.name);
    } else {
        assert!(!second.already_existed, "{}: {second:?}", s.name);
        assert!(second.id.is_some(), "{}", s.name);
        assert_ne!(second.id, first.id, "{}: a second record", s.name);
        assert_eq!(
            s.calls_on(&contact.id),
            2,
            "{}: no dedupe in the CRM; the ledger is the guard",
            s.name
        );
    }

    // Another call of the same client is always a record of its own.
    let other = s.answered_call(&contact, "ua0_-1712316600.9002");
    let logged = s.crm.log_call(&other, deadline()).await.unwrap();
    assert!(!logged.already_existed, "{}", s.name);
    assert_ne!(logged.id, first.id, "{}", s.name);
    let expected = if s.dedupes_calls { 2 } else { 3 };
    assert_eq!(s.calls_on(&contact.id), expected, "{}", s.name);
}

/// A call on a contact that is gone fails for good and writes nothing.
async fn a_call_on_a_missing_contact_is_refused(s: Subject) {
    let call = s.answered_call(&s.missing_contact_ref(), "ua0_-1712316600.9003");
    let error = s.crm.log_call(&call, deadline()).await.unwrap_err();
    assert!(is_permanent_refusal(&error), "{}: {error:?}", s.name);
    assert_eq!(s.all_calls(), 0, "{}", s.name);
}

// --- Notes ---------------------------------------------------------------------------------

/// A note lands on its contact, and only there. (Where the title goes differs: the first
/// line of a NetHunt comment, the subject of a Dataverse annotation.)
async fn a_note_lands_on_an_existing_contact(s: Subject) {
    let contact = s.new_contact("0951112233").await;
    let other = s.new_contact("0951112234").await;
    s.crm
        .add_note(
            &bridge_core::ports::NewNote {
                contact_id: contact.id.to_string(),
                call_id: "test-call".into(),
                title: "AI-аналіз дзвінка".to_string(),
                text: "Клієнт хоче знижку".to_string(),
                recheck: false,
            },
            deadline(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let notes = s.notes_on(&contact.id);
    assert_eq!(notes.len(), 1, "{}: {notes:?}", s.name);
    assert!(
        notes[0].contains("Клієнт хоче знижку"),
        "{}: {notes:?}",
        s.name
    );
    assert!(s.notes_on(&other.id).is_empty(), "{}", s.name);
}

/// A note on a contact that is gone fails for good (`NotFound` or `Rejected`), writing nothing.
async fn a_note_on_a_missing_contact_is_refused(s: Subject) {
    let error = s
        .crm
        .add_note(
            &bridge_core::ports::NewNote {
                contact_id: s.missing_contact.to_string(),
                call_id: "test-call".into(),
                title: "AI".to_string(),
                text: "text".to_string(),
                recheck: false,
            },
            deadline(),
        )
        .await
        .unwrap_err();
    assert!(is_permanent_refusal(&error), "{}: {error:?}", s.name);
    assert!(s.notes_on(s.missing_contact).is_empty(), "{}", s.name);
}

// --- Deals ---------------------------------------------------------------------------------

/// A deal is created on the contact for its owner, and handed to another owner later.
async fn a_deal_is_created_and_handed_over(s: Subject) {
    let contact = s.new_contact("0961112233").await;
    let deal = NewDeal {
        name: "Угода: +380961112233".into(),
        stage: None,
        owner: Some(s.system_user.clone()),
        recheck: false,
    };
    let created = s
        .crm
        .create_deal(&contact, &deal, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: create_deal: {e}", s.name));
    assert!(!created.id.is_empty(), "{}", s.name);
    assert_eq!(
        s.deals_on(&contact.id),
        vec![deal.name.clone()],
        "{}",
        s.name
    );
    assert_eq!(
        s.deal_owner(&created.id).as_deref(),
        Some(s.system_user.id.as_str()),
        "{}",
        s.name
    );

    s.crm
        .set_deal_owner(&created.id, &s.manager, deadline())
        .await
        .unwrap_or_else(|e| panic!("{}: set_deal_owner: {e}", s.name));
    assert_eq!(
        s.deal_owner(&created.id).as_deref(),
        Some(s.manager.id.as_str()),
        "{}",
        s.name
    );
    assert_eq!(
        s.deals_on(&contact.id).len(),
        1,
        "{}: no second deal",
        s.name
    );
}

/// An owner change on a deal that is gone is `NotFound`, and creates nothing.
async fn an_owner_change_on_a_missing_deal_is_not_found(s: Subject) {
    let result = s
        .crm
        .set_deal_owner(s.missing_deal, &s.manager, deadline())
        .await;
    assert!(
        matches!(result, Err(CrmError::NotFound(_))),
        "{}: {result:?}",
        s.name
    );
    assert_eq!(s.deal_owner(s.missing_deal), None, "{}: no upsert", s.name);
}

/// One `#[tokio::test]` per (behaviour, implementation): `memory::…`, `nethunt::…`,
/// `dataverse::…`.
macro_rules! contract {
    ($($behaviour:ident),+ $(,)?) => {
        contract!(@for memory, $($behaviour),+);
        contract!(@for nethunt, $($behaviour),+);
        contract!(@for dataverse, $($behaviour),+);
    };
    (@for $implementation:ident, $($behaviour:ident),+) => {
        mod $implementation {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(super::Subject::$implementation().await).await;
                }
            )+
        }
    };
}

contract!(
    an_unknown_number_has_no_contact,
    a_created_contact_is_found_again_by_its_number,
    a_contact_card_url_names_the_contact,
    the_owner_set_is_the_responsible_manager,
    an_owner_change_on_a_missing_contact_is_not_found,
    a_missing_contact_has_no_responsible_manager,
    utm_tags_are_written_on_the_contact,
    a_call_logged_twice,
    a_call_on_a_missing_contact_is_refused,
    a_note_lands_on_an_existing_contact,
    a_note_on_a_missing_contact_is_refused,
    a_deal_is_created_and_handed_over,
    an_owner_change_on_a_missing_deal_is_not_found,
);
