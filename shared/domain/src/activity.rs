//! Call → CRM activity: the pure mapping behind the call record of every seed scenario.
//!
//! Smart CRM's seed fixes the fields of the call record: Call From, Call To, Phone Number,
//! Direction and Regarding, for incoming and outgoing, answered and missed, existing and new
//! clients. This module decides them once, for every CRM adapter, without any I/O.

use jiff::{SignedDuration, Timestamp};

use crate::phone::PhoneNumber;
use crate::ringostat::{CallEvent, CallStatus, Direction};

/// A CRM contact the call belongs to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactRef {
    /// The CRM's id (NetHunt `recordId`, Dataverse `contactid`).
    pub id: String,
    pub name: Option<String>,
    /// CRM id of the responsible user.
    pub owner_id: Option<String>,
    /// Link to the contact card in the CRM (for Ringostat Smart Phone).
    pub card_url: Option<String>,
}

/// How the contact was found for this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedContact {
    /// The number already belonged to a contact.
    Existing(ContactRef),
    /// A phone-only contact was created for this call (seed scenarios 3, 4, 7, 8).
    Created(ContactRef),
}

impl ResolvedContact {
    pub fn contact(&self) -> &ContactRef {
        match self {
            Self::Existing(c) | Self::Created(c) => c,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Self::Created(_))
    }
}

/// A CRM user (NetHunt person, Dataverse `systemuser`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CrmUser {
    pub id: String,
    pub name: Option<String>,
}

/// One side of the call record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Contact(ContactRef),
    User(CrmUser),
}

/// Language of the subject and description written into the CRM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Uk,
    En,
}

/// The call record, ready for any CRM adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallActivity {
    /// Ringostat `uniqueid`; adapters derive their idempotency keys from it.
    pub call_id: String,
    pub direction: Direction,
    pub status: CallStatus,
    /// Call From: the client on incoming calls, the manager on outgoing ones.
    pub from: Party,
    /// Call To: the manager on incoming calls, the client on outgoing ones.
    pub to: Party,
    /// Phone Number: the client's number, the one to call back.
    pub phone_number: PhoneNumber,
    /// Regarding: always the client's contact.
    pub regarding: ContactRef,
    /// Who the activity belongs to: the manager on the call, else the system user.
    pub owner: CrmUser,
    pub subject: String,
    pub description: String,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    /// Whole call in seconds (ringing included).
    pub duration_secs: u32,
    pub talk_secs: u32,
    pub wait_secs: u32,
    pub recording_url: Option<String>,
    /// A contact was created for this call.
    pub new_contact: bool,
    /// An earlier attempt may have written this record (an ambiguous failure): the adapter
    /// checks the CRM before writing where the CRM has no fence of its own.
    pub recheck: bool,
}

/// Builds the call record.
///
/// `manager` is the CRM user behind the Ringostat employee on the call, when known. When
/// nobody is known (a missed call nobody was rung for, an unmapped employee), the system user
/// stands in on the manager's side so the record still has both parties, as the CRM requires.
pub fn call_activity(
    event: &CallEvent,
    contact: &ResolvedContact,
    manager: Option<&CrmUser>,
    system_user: &CrmUser,
    language: Language,
) -> CallActivity {
    let client = contact.contact().clone();
    let user = manager.unwrap_or(system_user).clone();
    let status = event.status();
    let (from, to) = match event.direction {
        Direction::Incoming => (Party::Contact(client.clone()), Party::User(user.clone())),
        Direction::Outgoing => (Party::User(user.clone()), Party::Contact(client.clone())),
    };
    let durations = event.durations;
    let duration_secs = durations.total.unwrap_or(0);
    let labels = Labels::for_language(language);

    let subject = format!(
        "{} {} ({})",
        match event.direction {
            Direction::Incoming => labels.incoming_from,
            Direction::Outgoing => labels.outgoing_to,
        },
        event.client_phone,
        match status {
            CallStatus::Answered => labels.answered,
            CallStatus::Missed => labels.missed,
        }
    );

    let mut lines = Vec::new();
    let status_text = match status {
        CallStatus::Answered => labels.answered,
        CallStatus::Missed => labels.missed,
    };
    match &event.disposition {
        Some(d) => lines.push(format!("{}: {status_text} ({})", labels.status, d.as_str())),
        None => lines.push(format!("{}: {status_text}", labels.status)),
    }
    lines.push(format!(
        "{}: {} ({} {}, {} {})",
        labels.duration,
        clock(duration_secs),
        labels.talk,
        clock(durations.talk.unwrap_or(0)),
        labels.wait,
        clock(durations.wait.unwrap_or(0)),
    ));
    if let Some(name) = manager
        .and_then(|m| m.name.clone())
        .or_else(|| event.employee.name.clone())
    {
        lines.push(format!("{}: {name}", labels.manager));
    }
    if let Some(line) = &event.line_phone {
        match &event.pool_name {
            Some(pool) => lines.push(format!("{}: {line} ({pool})", labels.line)),
            None => lines.push(format!("{}: {line}", labels.line)),
        }
    }
    if let Some(url) = &event.recording_url {
        lines.push(format!("{}: {url}", labels.recording));
    }
    if let Some(url) = &event.call_card_url {
        lines.push(format!("{}: {url}", labels.call_card));
    }
    if contact.is_new() {
        lines.push(labels.new_client.to_owned());
    }
    lines.push(format!("Ringostat ID: {}", event.call_id));

    let ended_at = event.started_at.and_then(|start| {
        start
            .checked_add(SignedDuration::from_secs(duration_secs.into()))
            .ok()
    });

    CallActivity {
        call_id: event.call_id.clone(),
        direction: event.direction,
        status,
        from,
        to,
        phone_number: event.client_phone.clone(),
        regarding: client,
        owner: user,
        subject,
        description: lines.join("\n"),
        started_at: event.started_at,
        ended_at,
        duration_secs,
        talk_secs: durations.talk.unwrap_or(0),
        wait_secs: durations.wait.unwrap_or(0),
        recording_url: event.recording_url.clone(),
        new_contact: contact.is_new(),
        recheck: false,
    }
}

/// `95` → `1:35`, `3725` → `1:02:05`.
fn clock(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

struct Labels {
    incoming_from: &'static str,
    outgoing_to: &'static str,
    answered: &'static str,
    missed: &'static str,
    status: &'static str,
    duration: &'static str,
    talk: &'static str,
    wait: &'static str,
    manager: &'static str,
    line: &'static str,
    recording: &'static str,
    call_card: &'static str,
    new_client: &'static str,
}

impl Labels {
    fn for_language(language: Language) -> &'static Labels {
        match language {
            Language::Uk => &UK,
            Language::En => &EN,
        }
    }
}

const UK: Labels = Labels {
    incoming_from: "Вхідний дзвінок від",
    outgoing_to: "Вихідний дзвінок на",
    answered: "прийнятий",
    missed: "пропущений",
    status: "Статус",
    duration: "Тривалість",
    talk: "розмова",
    wait: "очікування",
    manager: "Менеджер",
    line: "Лінія",
    recording: "Запис",
    call_card: "Картка дзвінка",
    new_client: "Новий клієнт: контакт створено під час цього дзвінка",
};

const EN: Labels = Labels {
    incoming_from: "Incoming call from",
    outgoing_to: "Outgoing call to",
    answered: "answered",
    missed: "missed",
    status: "Status",
    duration: "Duration",
    talk: "talk",
    wait: "wait",
    manager: "Manager",
    line: "Line",
    recording: "Recording",
    call_card: "Call card",
    new_client: "New client: contact created for this call",
};
