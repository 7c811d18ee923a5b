//! What a flow did: the answer a webhook gives, and the ledger keeps for re-sends.

use serde::{Deserialize, Serialize};

use crate::activity::ResolvedContact;
use crate::ringostat::CallEvent;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub outcome: OutcomeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new_contact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Before call: the caller's contact is known (found or created).
    ContactReady,
    /// The call record was written.
    CallLogged,
    /// The call record already existed (a re-sent webhook): nothing new was written.
    AlreadyLogged,
    /// The AI analysis was added as a comment.
    AnalysisAdded,
    /// The AI event carried no analysis: nothing was written.
    NoAnalysis,
    /// The event's filter excludes this call: nothing was written.
    Filtered,
    /// The call is still running: nothing is written until its final event.
    InProgress,
}

impl Outcome {
    pub fn new(outcome: OutcomeKind, event: &CallEvent) -> Self {
        Self {
            outcome,
            call_id: Some(event.call_id.clone()),
            contact_id: None,
            new_contact: false,
            deal_id: None,
            activity_id: None,
        }
    }

    pub fn with_contact(mut self, contact: &ResolvedContact) -> Self {
        self.contact_id = Some(contact.contact().id.clone());
        self.new_contact = contact.is_new();
        self
    }
}
