//! Ringostat's API as the domain uses it: the call log (reconciliation), Smart Phone's contact
//! book, and the dialer (click-to-call). The adapters crate implements them over HTTP.

use async_trait::async_trait;
use jiff::SignedDuration;
use jiff::civil::DateTime;
use serde_json::{Map, Value};

use crate::deadline::Deadline;
use crate::phone::PhoneNumber;

/// `from` / `to` of `calls/list`, in the project's local time.
const WINDOW_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A contact pushed to Smart Phone's contact book, so the app shows the CRM's name and a quick
/// link during calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartPhoneContact {
    /// The contact's id in the CRM: the key Ringostat upserts on.
    pub external_id: String,
    /// Shown in Smart Phone. When blank the number is sent instead, since Ringostat requires
    /// a name and an empty one shows nothing useful.
    pub full_name: String,
    pub phone: PhoneNumber,
    /// Added as a second contact direction when present and not blank.
    pub email: Option<String>,
    /// CRM id of the responsible employee.
    pub responsible: Option<String>,
    /// The CRM record's URL, Smart Phone's "open contact" link.
    pub contact_link: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RingostatApiError {
    /// The auth key is wrong or lacks the rights (401/403).
    #[error("Ringostat authentication failed: {0}")]
    Auth(String),
    /// Ringostat refused the request; `status` is the HTTP status, 2xx for errors it answers
    /// JSON-RPC style.
    #[error("Ringostat rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// Worth retrying later: 5xx, 429, timeouts, network errors, the deadline.
    #[error("Ringostat temporarily unavailable: {0}")]
    Transient(String),
    /// The bridge's configuration cannot work (missing project id, blank key, bad URL).
    #[error("Ringostat API configuration problem: {0}")]
    Config(String),
}

impl RingostatApiError {
    /// Whether the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// of the Ringostat cabinet; the caller converts). Sent to the second: sub-second parts are
/// dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallWindow {
    pub from: DateTime,
    pub to: DateTime,
}

impl CallWindow {
    pub fn new(from: DateTime, to: DateTime) -> Self {
        Self { from, to }
    }

    /// `from` as `calls/list` wants it: `YYYY-MM-DD HH:MM:SS`.
    pub fn from_param(&self) -> String {
        self.from.strftime(WINDOW_FORMAT).to_string()
    }

    /// `to` as `calls/list` wants it: `YYYY-MM-DD HH:MM:SS`.
    pub fn to_param(&self) -> String {
        self.to.strftime(WINDOW_FORMAT).to_string()
    }

    /// Whole seconds from `from` to `to` (negative when the window is reversed).
    pub fn span_seconds(&self) -> i64 {
        whole_second(self.to)
            .duration_since(whole_second(self.from))
            .as_secs()
    }

    /// Two windows that together cover this one, each strictly shorter; `None` for a window
    /// within one second, which cannot be split.
    ///
    /// The halves share their boundary second (`[from, mid]`, `[mid, to]`): whether Ringostat
    /// treats `to` as inclusive or exclusive (the doc does not say), no call falls between
    /// them. A call on that second may come back twice; the caller deduplicates. A window of
    /// exactly one second splits into its two seconds.
    pub fn halves(&self) -> Option<(Self, Self)> {
        let from = whole_second(self.from);
        let to = whole_second(self.to);
        let span = self.span_seconds();
        match span {
            ..=0 => None,
            1 => Some((Self::new(from, from), Self::new(to, to))),
            _ => {
                let mid = from.checked_add(SignedDuration::from_secs(span / 2)).ok()?;
                Some((Self::new(from, mid), Self::new(mid, to)))
            }
        }
    }
}

impl std::fmt::Display for CallWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} – {}", self.from_param(), self.to_param())
    }
}

/// The time without its sub-second part.
fn whole_second(time: DateTime) -> DateTime {
    time.with().subsec_nanosecond(0).build().unwrap_or(time)
}

/// One row of the call log: the requested [`EXPORT_FIELDS`] as Ringostat sent them (numbers
/// sometimes as strings: docs/vendor-contracts.md, Ringostat API).
pub type CallRow = Map<String, Value>;

/// Every call of a window (`calls/list`), however many requests that takes.
#[async_trait]
pub trait RingostatCallLog: Send + Sync {
    async fn calls_in_slices(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError>;
}

/// Smart Phone's contact book: upserts keyed by the CRM's contact id.
#[async_trait]
pub trait SmartPhoneDirectory: Send + Sync {
    async fn sync_contact(
        &self,
        contact: &SmartPhoneContact,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError>;
}

/// Starts a call: Ringostat rings `extension` (a project number whose scheme rings the
/// manager) and then connects `destination`.
#[async_trait]
pub trait Dialer: Send + Sync {
    async fn outward_call(
        &self,
        extension: &str,
        destination: &str,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError>;
}
