//! Ringostat's own API, called by the bridge (the domain's Ringostat ports): click-to-call,
//! Smart Phone contact sync and the call log
//! (`ringostat.md` §3.1 and §4.1).
//!
//! - **Contact sync** (`POST /minicrm/contacts/sync`) is an upsert keyed by `externalId`, so it
//!   is retried on any transient failure.
//! - **Click-to-call** (`POST /callback/outward_call`) rings a phone: it is retried only when
//!   Ringostat cannot have acted on it (connection refused, 429), never after a timeout or a
//!   5xx, which could ring the client twice.
//! - **Errors with HTTP 200**: Ringostat answers some failures JSON-RPC style, with a 2xx
//!   status and an `error` key (`ringostat.md` §3.2, §7). Such answers become
//!   [`RingostatApiError::Rejected`] carrying Ringostat's message.
//!
//! - **Call-log export** (`GET /calls/list`, `ringostat.md` §3.3) is a read, so retried on any
//!   transient failure. Ringostat serves at most 6 500 calls per request;
//!   [`RingostatApi::calls_in_slices`] halves a window that hits the limit until every slice fits.
//!
//! Error messages keep Ringostat's text but mask long digit runs (a destination number echoed
//! back would otherwise reach the logs). The auth key never leaves [`Secret`].

use bridge_domain::deadline::Deadline;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::http::{self, HttpError, Replay, RetryPolicy};
pub use bridge_domain::ports::ringostat::{
    CallRow, CallWindow, Dialer, RingostatApiError, RingostatCallLog, SmartPhoneContact,
    SmartPhoneDirectory,
};
use bridge_domain::ringostat::payload::json_kind;
use bridge_domain::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.ringostat.net";

const SYNC_PATH: &str = "/minicrm/contacts/sync";
const OUTWARD_CALL_PATH: &str = "/callback/outward_call";
const CALLS_LIST_PATH: &str = "/calls/list";

/// Most calls `calls/list` returns for one request ("не більше 6 500 дзвінків", `ringostat.md`
/// §3.3, §7). An answer this long may be truncated.
pub const CALLS_PER_REQUEST: usize = 6500;

/// The call-log columns the bridge asks `calls/list` for: the canonical names of
/// `ringostat.md` §1.4a, the same keys the webhooks are configured with (§1.4c).
pub const EXPORT_FIELDS: [&str; 24] = [
    "uniqueid",
    "calldate",
    "call_type",
    "caller",
    "dst",
    "disposition",
    "duration",
    "billsec",
    "waittime",
    "employee_number",
    "employee_fio",
    "department",
    "connected_with",
    "has_recording",
    "recording",
    "call_card",
    "pool_name",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "client_id",
    "landing",
];

/// Keys under which an export wrapped in an object may carry its rows ([INFERRED]: the doc
/// shows a bare array).
const WRAPPER_KEYS: [&str; 4] = ["data", "calls", "items", "result"];

/// Query values: everything but RFC 3986 unreserved characters is encoded (a space becomes
/// `%20`, never `+`), so any server decodes them the same way.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `responsible` when the CRM names nobody. The doc lists the field as required without
/// saying it may be null; the one working implementation known (`devSviat/Ringostat-OkayCMS`)
/// sends `"0"` then, so the bridge does the same rather than risk a rejected sync.
const UNKNOWN_RESPONSIBLE: &str = "0";

/// Longest message kept from an error body.
const MAX_MESSAGE_CHARS: usize = 500;

/// Where and as whom the bridge calls Ringostat.
#[derive(Debug, Clone)]
pub struct RingostatApiConfig {
    pub base_url: String,
    pub auth_key: Secret,
    /// The Ringostat project id; contact sync needs it (`projectId`, `x-project-id`).
    pub project_id: Option<String>,
    /// `origin` of synced contacts, e.g. "NetHunt CRM" or "Smart CRM"
    pub origin: String,
}

impl RingostatApiConfig {
    pub fn new(
        auth_key: impl Into<Secret>,
        project_id: Option<String>,
        origin: impl Into<String>,
    ) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            auth_key: auth_key.into(),
            project_id,
            origin: origin.into(),
        }
    }
}

impl From<HttpError> for RingostatApiError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Throttled { retry_after } => Self::Transient(match retry_after {
                Some(after) => format!("throttled (retry after {}s)", after.as_secs()),
                None => "throttled".to_owned(),
            }),
            HttpError::Transient(message) => Self::Transient(message),
            HttpError::Client(message) => Self::Config(format!("HTTP client: {message}")),
        }
    }
}

/// A stretch of the call log, both ends included, in the project's local time (the time zone
/// Ringostat's API client. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct RingostatApi {
    client: Client,
    config: RingostatApiConfig,
    policy: RetryPolicy,
    /// Calls per `calls/list` answer at which the answer counts as truncated.
    calls_limit: usize,
}

impl std::fmt::Debug for RingostatApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is left out altogether, not only redacted.
        f.debug_struct("RingostatApi")
            .field("base_url", &self.config.base_url)
            .field("project_id", &self.config.project_id)
            .field("origin", &self.config.origin)
            .field("calls_limit", &self.calls_limit)
            .finish_non_exhaustive()
    }
}

impl RingostatApi {
    pub fn new(config: RingostatApiConfig, policy: RetryPolicy) -> Result<Self, RingostatApiError> {
        let mut config = config;
        config.base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        if !(config.base_url.starts_with("https://") || config.base_url.starts_with("http://")) {
            return Err(RingostatApiError::Config(
                "base URL must start with https:// or http://".into(),
            ));
        }
        if config.auth_key.is_blank() {
            return Err(RingostatApiError::Config("auth key is empty".into()));
        }
        // Header values are checked once here so a request never fails on them later.
        if HeaderValue::from_str(config.auth_key.expose()).is_err() {
            return Err(RingostatApiError::Config(
                "auth key has characters not allowed in an HTTP header".into(),
            ));
        }
        if let Some(project) = &config.project_id {
            let project = project.trim();
            if project.is_empty() || HeaderValue::from_str(project).is_err() {
                return Err(RingostatApiError::Config(
                    "project id is empty or not a valid header value".into(),
                ));
            }
        }
        let client = http::client(&policy)?;
        Ok(Self {
            client,
            config,
            policy,
            calls_limit: CALLS_PER_REQUEST,
        })
    }

    /// Sets the number of calls at which a `calls/list` answer counts as truncated (default
    /// [`CALLS_PER_REQUEST`]); for tests against a fake with a small limit. At least 1.
    pub fn with_calls_limit(mut self, limit: usize) -> Self {
        self.calls_limit = limit.max(1);
        self
    }

    /// The number of calls at which a `calls/list` answer counts as truncated.
    pub fn calls_limit(&self) -> usize {
        self.calls_limit
    }

    /// POST {base}/minicrm/contacts/sync, headers `auth-key`, `x-project-id`, JSON body
    /// `{"contacts":[{...}]}` in the shape `ringostat.md` §4.1 documents. Needs the project id.
    /// An upsert by `externalId`, hence retried on any transient failure.
    pub async fn sync_contact(
        &self,
        contact: &SmartPhoneContact,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        let project_id = self
            .config
            .project_id
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| {
                RingostatApiError::Config("contact sync needs the Ringostat project id".into())
            })?;
        let body = sync_body(contact, project_id, &self.config.origin);
        let url = format!("{}{SYNC_PATH}", self.config.base_url);
        let response = http::send(
            || {
                self.client
                    .post(&url)
                    .header("auth-key", self.config.auth_key.expose())
                    .header("x-project-id", project_id)
                    .json(&body)
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        let outcome = check(response).await;
        if let Err(error) = &outcome {
            tracing::debug!(phone = %contact.phone.masked(), %error, "Ringostat contact sync failed");
        }
        outcome
    }

    /// POST {base}/callback/outward_call, header `Auth-key`, form body
    /// `extension=..&destination=..`. `extension` is a project number (`380441112233`),
    /// `destination` a number in Ringostat's format (digits, no `+`) or a SIP login.
    /// Never retried after a timeout or 5xx: it would ring twice.
    pub async fn outward_call(
        &self,
        extension: &str,
        destination: &str,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        let body = outward_call_body(extension, destination);
        let url = format!("{}{OUTWARD_CALL_PATH}", self.config.base_url);
        let response = http::send(
            || {
                self.client
                    .post(&url)
                    .header("Auth-key", self.config.auth_key.expose())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            },
            Replay::OnlyIfNotProcessed,
            &self.policy,
            deadline,
        )
        .await?;
        check(response).await
    }

    /// GET {base}/calls/list, header `Auth-key`, query `export_type=json`, `from`, `to`,
    /// `fields` ([`EXPORT_FIELDS`]) and `order=calldate asc` (`ringostat.md` §3.3): the calls of
    /// `window` as Ringostat sends them, in its order.
    ///
    /// One request, so at most [`CALLS_PER_REQUEST`] calls: an answer that long may be
    /// truncated, which [`Self::calls_in_slices`] handles. Rows may still be running
    /// (`disposition` `IN PROGRESS` / `CALLING`, §1.4b, §7) and need fetching again later.
    ///
    /// The answer is expected to be a JSON array of objects; an object carrying that array
    /// under `data`, `calls`, `items` or `result` is accepted too ([INFERRED]). Anything else,
    /// and errors answered with HTTP 200, are [`RingostatApiError::Rejected`]. A read: retried
    /// on any transient failure.
    pub async fn calls(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        if window.span_seconds() < 0 {
            return Err(RingostatApiError::Config(format!(
                "call window ends before it starts ({window})"
            )));
        }
        let url = format!(
            "{}{CALLS_LIST_PATH}?{}",
            self.config.base_url,
            calls_query(&window)
        );
        let response = http::send(
            || {
                self.client
                    .get(&url)
                    .header("Auth-key", self.config.auth_key.expose())
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            // A cut-off export is worth fetching again.
            Err(e) if status.is_success() => {
                return Err(RingostatApiError::Transient(format!(
                    "calls/list answer could not be read: {e}"
                )));
            }
            Err(_) => String::new(),
        };
        verdict(status, &body)?;
        calls_in(&body).map_err(|message| RingostatApiError::Rejected {
            status: status.as_u16(),
            message,
        })
    }

    /// Every call of `window`, however many: a request that comes back with the limit's worth
    /// of calls (see [`Self::with_calls_limit`]) may have been cut short, so its window is
    /// halved and each half fetched, again and again until each answer fits. A window within
    /// one second that still hits the limit cannot be split: its calls are kept as returned
    /// and a warning is logged.
    ///
    /// Calls are deduplicated by `uniqueid` (halves share their boundary second, and Ringostat
    /// has been seen to repeat a call in one export, `ringostat.md` §7): a call keeps its
    /// first place and takes the copy fetched last, the freshest (an `IN PROGRESS` row may
    /// have finished meanwhile). The result is ordered by `calldate`; rows without a
    /// `uniqueid` are all kept.
    pub async fn calls_in_slices(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        // Windows still to fetch, the earliest last so it is fetched first.
        let mut pending = vec![window];
        let mut rows = Vec::new();
        let mut requests = 0_usize;
        while let Some(slice) = pending.pop() {
            let batch = self.calls(slice, deadline).await?;
            requests += 1;
            if batch.len() < self.calls_limit {
                rows.extend(batch);
                continue;
            }
            match slice.halves() {
                Some((first, second)) => {
                    tracing::debug!(window = %slice, calls = batch.len(), "calls/list hit its limit: splitting the window");
                    pending.push(second);
                    pending.push(first);
                }
                None => {
                    tracing::warn!(
                        window = %slice,
                        calls = batch.len(),
                        limit = self.calls_limit,
                        "calls/list hit its limit within one second: some calls may be missing"
                    );
                    rows.extend(batch);
                }
            }
        }
        let calls = dedupe_calls(rows);
        tracing::debug!(window = %window, requests, calls = calls.len(), "call log fetched");
        Ok(calls)
    }
}

/// The query string of a `calls/list` request, every value percent-encoded.
fn calls_query(window: &CallWindow) -> String {
    let fields = EXPORT_FIELDS.join(",");
    let from = window.from_param();
    let to = window.to_param();
    [
        ("export_type", "json"),
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("fields", fields.as_str()),
        ("order", "calldate asc"),
    ]
    .iter()
    .map(|(key, value)| format!("{key}={}", utf8_percent_encode(value, QUERY_VALUE)))
    .collect::<Vec<_>>()
    .join("&")
}

/// The rows of a successful `calls/list` body, or why it is not an export (the body itself is
/// not quoted: it would carry phone numbers).
fn calls_in(body: &str) -> Result<Vec<CallRow>, String> {
    let value: Value = serde_json::from_str(body).map_err(|_| {
        if body.trim().is_empty() {
            "calls/list answered an empty body instead of a JSON array of calls".to_owned()
        } else {
            "calls/list answered something that is not JSON (expected a JSON array of calls)"
                .to_owned()
        }
    })?;
    let rows = match value {
        Value::Array(rows) => rows,
        Value::Object(mut object) => {
            let key = WRAPPER_KEYS
                .iter()
                .find(|key| object.get(**key).is_some_and(Value::is_array));
            match key.and_then(|key| object.remove(*key)) {
                Some(Value::Array(rows)) => rows,
                _ => {
                    let keys: Vec<&str> = object.keys().map(String::as_str).take(10).collect();
                    return Err(shorten(&format!(
                        "calls/list answered an object without a list of calls (keys: {}); \
                         expected a JSON array of calls",
                        keys.join(", ")
                    )));
                }
            }
        }
        other => {
            return Err(format!(
                "calls/list answered {} instead of a JSON array of calls",
                json_kind(&other)
            ));
        }
    };
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| match row {
            Value::Object(row) => Ok(row),
            other => Err(format!(
                "calls/list row {index} is {} instead of an object",
                json_kind(&other)
            )),
        })
        .collect()
}

/// One row per `uniqueid` at its first place with its last copy, then ordered by `calldate`
/// (stable; rows without a readable `calldate` go last).
fn dedupe_calls(rows: Vec<CallRow>) -> Vec<CallRow> {
    let mut kept: Vec<CallRow> = Vec::with_capacity(rows.len());
    let mut places = std::collections::HashMap::new();
    for row in rows {
        match call_id(&row) {
            Some(id) => match places.get(&id) {
                Some(&place) => kept[place] = row,
                None => {
                    places.insert(id, kept.len());
                    kept.push(row);
                }
            },
            None => kept.push(row),
        }
    }
    kept.sort_by_cached_key(|row| {
        let key = calldate_key(row);
        (key.is_none(), key)
    });
    kept
}

/// A row's `uniqueid` as text, when it has a non-blank one.
fn call_id(row: &CallRow) -> Option<String> {
    match row.get("uniqueid")? {
        Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// `calldate` as `YYYY-MM-DD HH:MM:SS`, which sorts as text: the export's
/// `2019-06-02T09:30:47+0300` (§1.4a) and the plain form both qualify.
fn calldate_key(row: &CallRow) -> Option<String> {
    let raw = row.get("calldate")?.as_str()?.trim();
    let head = raw.get(..19)?;
    let shape_ok = head.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ' || b == b'T' || b == b't',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    shape_ok.then(|| format!("{} {}", &head[..10], &head[11..]))
}

/// The documented sync body for one contact.
fn sync_body(contact: &SmartPhoneContact, project_id: &str, origin: &str) -> Value {
    // `projectId` is an int in the doc; a non-numeric id is sent as given rather than dropped.
    let project = project_id
        .parse::<u64>()
        .map_or_else(|_| json!(project_id), |id| json!(id));
    let full_name = match contact.full_name.trim() {
        "" => contact.phone.e164(),
        name => name,
    };
    let mut directions = vec![direction("phone", contact.phone.e164())];
    if let Some(email) = non_blank(contact.email.as_deref()) {
        directions.push(direction("email", email));
    }
    let responsible = non_blank(contact.responsible.as_deref()).unwrap_or(UNKNOWN_RESPONSIBLE);
    let mut entry = Map::new();
    entry.insert("projectId".into(), project);
    entry.insert("fullName".into(), json!(full_name));
    entry.insert("origin".into(), json!(origin));
    entry.insert("externalId".into(), json!(contact.external_id.trim()));
    entry.insert("leadId".into(), Value::Null);
    entry.insert("responsible".into(), json!(responsible));
    entry.insert("staffId".into(), Value::Null);
    entry.insert(
        "contactLink".into(),
        non_blank(contact.contact_link.as_deref()).map_or(Value::Null, |link| json!(link)),
    );
    entry.insert("leadLink".into(), Value::Null);
    entry.insert("dealLink".into(), Value::Null);
    entry.insert("googleClientId".into(), Value::Null);
    entry.insert("contactDirections".into(), Value::Array(directions));
    entry.insert("organizations".into(), json!([]));
    json!({ "contacts": [Value::Object(entry)] })
}

fn direction(kind: &str, value: &str) -> Value {
    json!({"type": kind, "name": "personal", "value": value})
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `extension=…&destination=…`, form-encoded.
fn outward_call_body(extension: &str, destination: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("extension", extension.trim())
        .append_pair("destination", destination.trim())
        .finish()
}

/// Reads the final response: success, or the typed error it stands for.
async fn check(response: Response) -> Result<(), RingostatApiError> {
    let status = response.status();
    // A body that cannot be read after a 2xx is treated as empty: the request was accepted.
    let body = response.text().await.unwrap_or_default();
    verdict(status, &body)
}

/// Success, or the typed error a final status and body stand for.
fn verdict(status: StatusCode, body: &str) -> Result<(), RingostatApiError> {
    if status.is_success() {
        return match rejection_in(body) {
            Some(message) => Err(RingostatApiError::Rejected {
                status: status.as_u16(),
                message: bridge_domain::phone::mask_long_numbers(&message),
            }),
            None => Ok(()),
        };
    }
    let message = bridge_domain::phone::mask_long_numbers(
        &rejection_in(body).unwrap_or_else(|| http::crm_message(body)),
    );
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RingostatApiError::Auth(message),
        StatusCode::TOO_MANY_REQUESTS => {
            RingostatApiError::Transient(format!("HTTP {status}: {message}"))
        }
        s if s.is_server_error() => RingostatApiError::Transient(format!("HTTP {s}: {message}")),
        s => RingostatApiError::Rejected {
            status: s.as_u16(),
            message,
        },
    })
}

/// The error message of a body that reports a failure, whatever the HTTP status: an `error`
/// key (string, or object with `message`), `"status":"error"`/`"fail"`, `"success":false`,
/// `"result":false`, or a non-empty `errors` list. `None` for anything else, including bodies
/// that are not JSON.
fn rejection_in(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    if let Some(error) = object.get("error").filter(|e| is_set(e)) {
        return Some(describe_error(error));
    }
    if let Some(errors) = object
        .get("errors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    {
        let parts: Vec<String> = errors.iter().map(describe_error).collect();
        return Some(shorten(&parts.join("; ")));
    }
    let failed_status = object
        .get("status")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            ["error", "fail", "failed", "failure"]
                .iter()
                .any(|bad| s.trim().eq_ignore_ascii_case(bad))
        });
    let refused = |key: &str| object.get(key) == Some(&Value::Bool(false));
    if failed_status || refused("success") || refused("result") {
        let message = ["message", "error_description", "description", "msg"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_str))
            .map(str::to_owned)
            .unwrap_or_else(|| shorten(body.trim()));
        return Some(shorten(&message));
    }
    None
}

/// Whether an `error` value reports something (`null`, `false`, `""`, `{}` do not).
fn is_set(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => true,
    }
}

/// Human text of an error value: the string, or the object's `message` (with its `code`).
fn describe_error(error: &Value) -> String {
    let text = match error {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            let message = ["message", "description", "error", "msg"]
                .iter()
                .find_map(|key| map.get(*key).and_then(Value::as_str));
            let code = map.get("code").filter(|c| is_set(c)).map(|c| match c {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            match (message, code) {
                (Some(message), Some(code)) => format!("{message} (code {code})"),
                (Some(message), None) => message.to_owned(),
                (None, _) => error.to_string(),
            }
        }
        other => other.to_string(),
    };
    shorten(&text)
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    if short.is_empty() {
        short.push_str("(empty body)");
    }
    short
}

// The ports, over the inherent methods above (inherent methods win the name lookup).
#[async_trait::async_trait]
impl RingostatCallLog for RingostatApi {
    async fn calls_in_slices(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        RingostatApi::calls_in_slices(self, window, deadline).await
    }
}

#[async_trait::async_trait]
impl SmartPhoneDirectory for RingostatApi {
    async fn sync_contact(
        &self,
        contact: &SmartPhoneContact,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        RingostatApi::sync_contact(self, contact, deadline).await
    }
}

#[async_trait::async_trait]
impl Dialer for RingostatApi {
    async fn outward_call(
        &self,
        extension: &str,
        destination: &str,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        RingostatApi::outward_call(self, extension, destination, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_domain::phone::PhoneNumber;
    use jiff::civil::DateTime;

    fn contact() -> SmartPhoneContact {
        SmartPhoneContact {
            external_id: "6650a1b20000000000000001".into(),
            full_name: "Іван Петренко".into(),
            phone: PhoneNumber::parse("+380671112233").expect("valid"),
            email: Some("ivan@example.com".into()),
            responsible: Some("olena@acme.ua".into()),
            contact_link: Some("https://nethunt.com/app/records/f/r".into()),
        }
    }

    #[test]
    fn sync_body_has_the_documented_shape() {
        let body = sync_body(&contact(), "12345", "NetHunt CRM");
        assert_eq!(
            body,
            json!({"contacts": [{
                "projectId": 12345,
                "fullName": "Іван Петренко",
                "origin": "NetHunt CRM",
                "externalId": "6650a1b20000000000000001",
                "leadId": null,
                "responsible": "olena@acme.ua",
                "staffId": null,
                "contactLink": "https://nethunt.com/app/records/f/r",
                "leadLink": null,
                "dealLink": null,
                "googleClientId": null,
                "contactDirections": [
                    {"type": "phone", "name": "personal", "value": "+380671112233"},
                    {"type": "email", "name": "personal", "value": "ivan@example.com"}
                ],
                "organizations": []
            }]})
        );
    }

    #[test]
    fn sync_body_fills_what_the_crm_leaves_out() {
        let bare = SmartPhoneContact {
            full_name: "  ".into(),
            email: Some(" ".into()),
            responsible: None,
            contact_link: None,
            ..contact()
        };
        let body = sync_body(&bare, "proj-x", "Smart CRM");
        let entry = &body["contacts"][0];
        assert_eq!(entry["projectId"], json!("proj-x"));
        assert_eq!(entry["fullName"], json!("+380671112233"));
        assert_eq!(entry["responsible"], json!("0"));
        assert_eq!(entry["contactLink"], Value::Null);
        assert_eq!(
            entry["contactDirections"],
            json!([{"type": "phone", "name": "personal", "value": "+380671112233"}])
        );
    }

    #[test]
    fn outward_call_body_is_form_encoded() {
        assert_eq!(
            outward_call_body("380441112233", "380671112233"),
            "extension=380441112233&destination=380671112233"
        );
        assert_eq!(
            outward_call_body("380441112233", "acme_olena"),
            "extension=380441112233&destination=acme_olena"
        );
    }

    #[test]
    fn errors_answered_with_success_status_are_found() {
        for (body, expected) in [
            (r#"{"error":"Invalid destination"}"#, "Invalid destination"),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}}"#,
                "Invalid params (code -32602)",
            ),
            (
                r#"{"status":"error","message":"No such extension"}"#,
                "No such extension",
            ),
            (r#"{"status":"FAIL","msg":"quota"}"#, "quota"),
            (r#"{"success":false,"message":"denied"}"#, "denied"),
            (r#"{"result":false}"#, r#"{"result":false}"#),
            (
                r#"{"errors":[{"message":"fullName is required"}]}"#,
                "fullName is required",
            ),
        ] {
            assert_eq!(rejection_in(body).as_deref(), Some(expected), "{body}");
        }
        for body in [
            "",
            "OK",
            "{}",
            r#"{"status":"ok"}"#,
            r#"{"error":null,"result":true}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"id":5}}"#,
            r#"{"success":true}"#,
            r#"{"error":""}"#,
            "[]",
        ] {
            assert_eq!(rejection_in(body), None, "{body}");
        }
    }

    #[test]
    fn long_digit_runs_are_masked_in_messages() {
        assert_eq!(
            bridge_domain::phone::mask_long_numbers("Invalid destination 380671112233 (code 422)"),
            "Invalid destination ********2233 (code 422)"
        );
        assert_eq!(
            bridge_domain::phone::mask_long_numbers("code -32602"),
            "code -32602"
        );
    }

    #[test]
    fn debug_output_hides_the_key() {
        let config = RingostatApiConfig::new("super-secret-key", Some("12345".into()), "Smart CRM");
        assert!(!format!("{config:?}").contains("super-secret-key"));
        let api = RingostatApi::new(config, RetryPolicy::default()).expect("valid config");
        let shown = format!("{api:?}");
        assert!(!shown.contains("super-secret-key"), "{shown}");
        assert!(shown.contains("12345"), "{shown}");
    }

    fn at(text: &str) -> DateTime {
        text.parse().expect("a civil date-time")
    }

    fn window(from: &str, to: &str) -> CallWindow {
        CallWindow::new(at(from), at(to))
    }

    fn row(value: Value) -> CallRow {
        match value {
            Value::Object(row) => row,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_calls_query_is_percent_encoded() {
        let query = calls_query(&window("2025-01-10 00:00:00", "2025-01-10 23:59:59.75"));
        assert_eq!(
            query,
            format!(
                "export_type=json&from=2025-01-10%2000%3A00%3A00&to=2025-01-10%2023%3A59%3A59\
                 &fields={}&order=calldate%20asc",
                EXPORT_FIELDS.join("%2C")
            )
        );
    }

    #[test]
    fn windows_halve_with_a_shared_boundary_until_one_second() {
        let day = window("2025-01-10 00:00:00", "2025-01-11 00:00:00");
        assert_eq!(
            day.halves(),
            Some((
                window("2025-01-10 00:00:00", "2025-01-10 12:00:00"),
                window("2025-01-10 12:00:00", "2025-01-11 00:00:00"),
            ))
        );
        let odd = window("2025-01-10 00:00:00", "2025-01-10 00:00:03");
        assert_eq!(
            odd.halves(),
            Some((
                window("2025-01-10 00:00:00", "2025-01-10 00:00:01"),
                window("2025-01-10 00:00:01", "2025-01-10 00:00:03"),
            ))
        );
        let two_seconds = window("2025-01-10 00:00:00.5", "2025-01-10 00:00:01.9");
        assert_eq!(
            two_seconds.halves(),
            Some((
                window("2025-01-10 00:00:00", "2025-01-10 00:00:00"),
                window("2025-01-10 00:00:01", "2025-01-10 00:00:01"),
            ))
        );
        for unsplittable in [
            window("2025-01-10 00:00:00", "2025-01-10 00:00:00"),
            window("2025-01-10 00:00:00.1", "2025-01-10 00:00:00.9"),
            window("2025-01-10 00:00:05", "2025-01-10 00:00:00"),
        ] {
            assert_eq!(unsplittable.halves(), None, "{unsplittable}");
        }
        // Every split makes progress, so slicing ends.
        let mut pending = vec![day];
        let mut slices = 0;
        while let Some(slice) = pending.pop() {
            slices += 1;
            if let Some((first, second)) = slice.halves() {
                assert!(first.span_seconds() < slice.span_seconds());
                assert!(second.span_seconds() < slice.span_seconds());
                if slice.span_seconds() > 86_000 {
                    pending.extend([first, second]);
                }
            }
        }
        assert!(slices > 1);
    }

    #[test]
    fn exports_are_read_bare_or_wrapped() {
        let call = json!({"uniqueid": "ua0_-1.1", "calldate": "2025-01-10 10:00:00"});
        for body in [
            json!([call]).to_string(),
            json!({"data": [call]}).to_string(),
            json!({"status": "success", "calls": [call]}).to_string(),
            json!({"items": [call], "total": 1}).to_string(),
            json!({"result": [call]}).to_string(),
        ] {
            assert_eq!(calls_in(&body), Ok(vec![row(call.clone())]), "{body}");
        }
        assert_eq!(calls_in("[]"), Ok(vec![]));
        for (body, expected) in [
            ("", "empty body"),
            ("uniqueid;calldate\n", "not JSON"),
            ("null", "answered null"),
            ("\"ok\"", "answered a string"),
            (r#"{"total": 0}"#, "without a list of calls (keys: total)"),
            (r#"[{"uniqueid": "a"}, 5]"#, "row 1 is a number"),
        ] {
            let message = calls_in(body).expect_err(body);
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn calls_are_deduplicated_and_ordered_by_calldate() {
        let rows = vec![
            row(
                json!({"uniqueid": "a", "calldate": "2025-01-10 10:00:00", "disposition": "IN PROGRESS"}),
            ),
            row(json!({"uniqueid": "b", "calldate": "2025-01-10 10:00:05"})),
            row(json!({"calldate": "2025-01-10 10:00:01"})),
            row(json!({"uniqueid": "c", "calldate": "2025-01-10T09:59:59+0200"})),
            row(
                json!({"uniqueid": "a", "calldate": "2025-01-10 10:00:00", "disposition": "ANSWERED"}),
            ),
            row(json!({"uniqueid": "d"})),
            row(json!({"calldate": "2025-01-10 10:00:01"})),
        ];
        let calls = dedupe_calls(rows);
        let ids: Vec<String> = calls
            .iter()
            .map(|r| call_id(r).unwrap_or_else(|| "-".into()))
            .collect();
        assert_eq!(ids, ["c", "a", "-", "-", "b", "d"]);
        assert_eq!(calls[1]["disposition"], json!("ANSWERED"));
    }

    #[test]
    fn a_blank_key_or_bad_url_is_a_configuration_error() {
        let blank = RingostatApiConfig::new(" ", None, "Smart CRM");
        assert!(matches!(
            RingostatApi::new(blank, RetryPolicy::default()),
            Err(RingostatApiError::Config(_))
        ));
        let mut bad_url = RingostatApiConfig::new("key", None, "Smart CRM");
        bad_url.base_url = "api.ringostat.net".into();
        assert!(matches!(
            RingostatApi::new(bad_url, RetryPolicy::default()),
            Err(RingostatApiError::Config(_))
        ));
    }
}
