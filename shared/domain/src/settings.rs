//! What the flows need besides the ports: read from configuration once, then only read.

use std::collections::HashMap;
use std::time::Duration;

use crate::activity::{CrmUser, Language};
use crate::phone::PhoneNumber;
use crate::ports::crm::CrmKind;
use crate::ringostat::{CallStatus, Direction, EventKind, ParseOptions};
use crate::staff::Staff;

/// A configuration word that is none of the expected ones; `expected` says which are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct UnknownWord {
    pub expected: &'static str,
}

impl UnknownWord {
    pub fn expected(expected: &'static str) -> Self {
        Self { expected }
    }
}

/// Who a contact created by the bridge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewContactOwner {
    /// The system user, always (the Smart CRM seed).
    SystemUser,
    /// The manager who took or made the call; the system user until one is known (the NetHunt
    /// seed: contact and deal are linked to the manager who took the call).
    AnsweringManager,
}

impl std::str::FromStr for NewContactOwner {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "system_user" => Ok(Self::SystemUser),
            "answering_manager" => Ok(Self::AnsweringManager),
            _ => Err(UnknownWord::expected(
                "`system_user` or `answering_manager`",
            )),
        }
    }
}

/// The deal created for a new client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealSettings {
    /// `{phone}` is replaced by the client's number.
    pub name_template: String,
    pub stage: Option<String>,
}

impl DealSettings {
    pub fn name_for(&self, phone: &str) -> String {
        self.name_template.replace("{phone}", phone)
    }
}

/// Which calls an event handles: the options of NetHunt's "New VoIP call" trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Empty: every direction.
    pub directions: Vec<Direction>,
    /// Empty: every status.
    pub statuses: Vec<CallStatus>,
}

impl EventFilter {
    pub fn accepts(&self, direction: Direction, status: CallStatus) -> bool {
        (self.directions.is_empty() || self.directions.contains(&direction))
            && (self.statuses.is_empty() || self.statuses.contains(&status))
    }
}

/// How the webhook number answers Ringostat ("Data import type").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardFormat {
    /// The destination as the whole body.
    Raw,
    /// `{"<key>": "<destination>"}` ("Name in response for destination").
    Json { key: String },
    /// `{"jsonrpc": "2.0", "id": …, "result": "<destination>"}`.
    JsonRpc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSettings {
    pub format: ForwardFormat,
    /// Answered when the manager is unknown or the lookup fails; `None`: an empty answer, so
    /// the scheme goes on to its next step.
    pub fallback: Option<String>,
    /// The whole lookup must fit in it: Ringostat is holding a ringing call.
    pub budget: Duration,
}

/// What the flows need besides the adapters.
#[derive(Debug, Clone)]
pub struct Settings {
    pub crm: CrmKind,
    /// Owner of contacts nobody else owns yet, and stand-in party of calls nobody took.
    pub system_user: CrmUser,
    pub staff: Staff,
    pub new_contact_owner: NewContactOwner,
    /// `None`: no deals.
    pub deals: Option<DealSettings>,
    pub write_utm: bool,
    pub language: Language,
    pub parse: ParseOptions,
    pub filters: HashMap<EventKind, EventFilter>,
    pub contact_ttl: Duration,
    pub forward: ForwardSettings,
    /// Push new and found contacts to Ringostat Smart Phone (needs the Ringostat API key).
    pub smart_phone_sync: bool,
    /// Time a webhook may take when the Lambda deadline is unknown (local runs, tests).
    pub webhook_budget: Duration,
    /// Project number click-to-call calls from when the manager has no `extension` of their own.
    pub click_to_call_extension: Option<PhoneNumber>,
    /// How far back each scheduled reconciliation looks (overlapping runs are harmless).
    pub reconcile_window: Duration,
    /// How recent calls it leaves to their webhooks.
    pub reconcile_lag: Duration,
}

impl Settings {
    pub fn filter(&self, kind: EventKind) -> EventFilter {
        self.filters.get(&kind).cloned().unwrap_or_default()
    }
}

impl std::str::FromStr for Direction {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "incoming" => Ok(Self::Incoming),
            "outgoing" => Ok(Self::Outgoing),
            _ => Err(UnknownWord::expected("`incoming` and/or `outgoing`")),
        }
    }
}

impl std::str::FromStr for CallStatus {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "answered" => Ok(Self::Answered),
            "missed" => Ok(Self::Missed),
            _ => Err(UnknownWord::expected("`answered` and/or `missed`")),
        }
    }
}

impl std::str::FromStr for Language {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "uk" => Ok(Self::Uk),
            "en" => Ok(Self::En),
            _ => Err(UnknownWord::expected("`uk` or `en`")),
        }
    }
}

/// The name of the format, as `FORWARD_RESPONSE_FORMAT` gives it; the JSON key is set apart.
impl ForwardFormat {
    pub fn named(word: &str, json_key: String) -> Result<Self, UnknownWord> {
        match word {
            "json" => Ok(Self::Json { key: json_key }),
            "raw" => Ok(Self::Raw),
            "jsonrpc" => Ok(Self::JsonRpc),
            _ => Err(UnknownWord::expected("`json`, `raw` or `jsonrpc`")),
        }
    }
}
