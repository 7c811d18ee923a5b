//! The CRM port: everything the bridge asks of a CRM, whichever CRM it is.
//!
//! Every method takes a `deadline`: the adapter retries transient failures (429, 5xx, network)
//! with backoff until then and no longer, so a webhook answers before Ringostat gives up on it.
//! Creates are retried only where the CRM makes them idempotent; elsewhere the caller guards
//! them (idempotency record, per-number lock).

use std::time::Duration;

use async_trait::async_trait;

use crate::activity::{CallActivity, ContactRef, CrmUser};
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ringostat::Utm;

/// Which CRM an adapter talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmKind {
    NetHunt,
    /// Smart CRM, on Microsoft Dataverse.
    Dataverse,
}

impl CrmKind {
    /// Every CRM the bridge knows, with the name configuration uses (`CRM=`).
    pub const ALL: [(Self, &'static str); 2] =
        [(Self::NetHunt, "nethunt"), (Self::Dataverse, "dataverse")];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("", |(_, name)| name)
    }
}

impl std::str::FromStr for CrmKind {
    type Err = crate::settings::UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, name)| *name == word)
            .map(|(kind, _)| *kind)
            .ok_or(crate::settings::UnknownWord::expected(
                "`nethunt` or `dataverse`",
            ))
    }
}

/// The CRM's record of a logged call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCall {
    /// The CRM's id of the call record (NetHunt call-log id, Dataverse `activityid`), if known.
    pub id: Option<String>,
    /// The record already existed (a retried delivery): nothing new was written.
    pub already_existed: bool,
}

/// A note (NetHunt comment, Dataverse annotation) on a contact, written for one Ringostat call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNote {
    pub contact_id: String,
    /// The Ringostat call the note belongs to: the key of its idempotency (the text carries it
    /// too, as `Ringostat ID: …`).
    pub call_id: String,
    pub title: String,
    pub text: String,
    /// An earlier attempt may have written it: check before writing.
    pub recheck: bool,
}

/// A deal (NetHunt "Deal" record, Dataverse `opportunity`) to create for a new client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeal {
    pub name: String,
    /// Stage or status label, as the CRM names it; `None` keeps the CRM's default.
    pub stage: Option<String>,
    pub owner: Option<CrmUser>,
    /// An earlier attempt may have created it: the adapter looks for the contact's deal from
    /// the bridge before creating one (Dataverse: the deal's id is derived from the contact's,
    /// so a second create is refused anyway).
    pub recheck: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRef {
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// Credentials missing, wrong or without the needed rights (401/403).
    #[error("CRM authentication failed: {0}")]
    Auth(String),
    /// The record addressed does not exist (404).
    #[error("CRM record not found: {0}")]
    NotFound(String),
    /// Still throttled when the deadline came (429).
    #[error("CRM throttled the request (retry after {retry_after:?})")]
    Throttled { retry_after: Option<Duration> },
    /// The CRM refused the request; its own message is kept (400, 409, 412, 422, …).
    #[error("CRM rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// A failure worth retrying later: 5xx, timeouts, network errors, the deadline. The CRM
    /// did not perform the request (or it was a read, or an idempotent write).
    #[error("CRM temporarily unavailable: {0}")]
    Transient(String),
    /// A write that may have happened: a timeout, a reset or a 5xx after the request was sent.
    /// Worth retrying, but only after checking the CRM for the earlier write.
    #[error("CRM write outcome unknown: {0}")]
    Ambiguous(String),
    /// The bridge's configuration does not fit the CRM (unknown field, folder or user).
    #[error("CRM configuration problem: {0}")]
    Config(String),
}

impl CrmError {
    /// Whether the same request may succeed later (park and replay the event).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Transient(_) | Self::Ambiguous(_)
        )
    }

    /// Whether the failed write may nevertheless have happened.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, Self::Ambiguous(_))
    }
}

#[async_trait]
pub trait Crm: Send + Sync {
    fn kind(&self) -> CrmKind;

    /// Work done once while the function starts, so that its first call does not pay for it:
    /// the TLS connection to the CRM, a sign-in token. Best effort: a failure is left to the
    /// first real request, which tries again.
    async fn prepare(&self, deadline: Deadline) {
        let _ = deadline;
    }

    /// The contact that owns `phone`, compared exactly on the normalised number.
    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError>;

    /// Creates a contact with only the phone number, owned by `owner`. Not idempotent: the
    /// caller holds the per-number lock.
    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError>;

    /// Makes `owner` responsible for the contact.
    async fn set_contact_owner(
        &self,
        contact_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError>;

    /// Writes the UTM tags that are present into the contact's configured fields.
    async fn set_contact_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError>;

    /// Logs the call record on the contact.
    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError>;

    /// Adds a comment (NetHunt) or note (Dataverse annotation) to the contact; with
    /// `note.recheck`, first looks for the same note written by an earlier, ambiguous attempt.
    async fn add_note(&self, note: &NewNote, deadline: Deadline) -> Result<(), CrmError>;

    /// Creates a deal linked to the contact.
    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError>;

    /// Makes `owner` responsible for the deal.
    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError>;

    /// The CRM user responsible for the contact, if any.
    async fn responsible_manager(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError>;

    /// The URL of the contact's card in the CRM's web app.
    fn contact_card_url(&self, contact_id: &str) -> String;
}
