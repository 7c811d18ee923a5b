//! Test records: what `bridge-ops smoke` and the live contract suite write into a real CRM,
//! and how they find and remove it again.
//!
//! Every test record is marked: the client's number is a reserved test number and the texts
//! carry a marker (`[bridge smoke test]` by default), so whatever cannot be removed can be
//! found by hand. Dataverse deletes rows (`DELETE <set>(<id>)`, docs/vendor-contracts.md DV41);
//! NetHunt's Integration API has no delete action (NH33), so there a removal answers
//! [`Removal::Impossible`] and the caller reports what it left.

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use jiff::Timestamp;

/// One record a test wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestRecord {
    Contact {
        id: String,
    },
    /// The call record (NetHunt call log, Dataverse phone call) of a Ringostat call.
    Call {
        contact_id: String,
        call_id: String,
    },
    Deal {
        id: String,
    },
    /// The note (NetHunt comment, Dataverse annotation) of a Ringostat call.
    Note {
        contact_id: String,
        call_id: String,
    },
}

impl TestRecord {
    /// `contact`, `call`, `deal`, `note`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Contact { .. } => "contact",
            Self::Call { .. } => "call",
            Self::Deal { .. } => "deal",
            Self::Note { .. } => "note",
        }
    }

    /// How a person finds it: the record's id, or the contact and the call id its text holds.
    pub fn describe(&self) -> String {
        match self {
            Self::Contact { id } => format!("contact {id}"),
            Self::Deal { id } => format!("deal {id}"),
            Self::Call {
                contact_id,
                call_id,
            } => format!("call record `Ringostat ID: {call_id}` on contact {contact_id}"),
            Self::Note {
                contact_id,
                call_id,
            } => format!("note `Ringostat ID: {call_id}` on contact {contact_id}"),
        }
    }
}

/// What became of one removal.
#[derive(Debug)]
pub enum Removal {
    Removed,
    /// Nothing to remove (deleted by hand, or never written).
    AlreadyGone,
    /// The CRM's API cannot remove it; why, in words for the report.
    Impossible(String),
    Failed(CrmError),
}

impl Removal {
    /// Whether the record is no longer in the CRM.
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Removed | Self::AlreadyGone)
    }
}

/// Finding and removing test records, per CRM.
#[async_trait]
pub trait TestRecords: Send + Sync {
    /// The text (subject and description) of the call record logged on the contact for the
    /// Ringostat call `call_id`, if there is one; `since`: no earlier than this was it written.
    async fn logged_call_text(
        &self,
        contact_id: &str,
        call_id: &str,
        since: Timestamp,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError>;

    /// The deal the bridge created for the contact under `deal_name`, if there is one.
    async fn deal_of(
        &self,
        contact_id: &str,
        deal_name: &str,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError>;

    /// Removes `record`, when the CRM allows it.
    async fn remove(&self, record: &TestRecord, deadline: Deadline) -> Removal;
}
