//! Ringostat's own API, called by the bridge: click-to-call and Smart Phone contact sync
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
//! Error messages keep Ringostat's text but mask long digit runs (a destination number echoed
//! back would otherwise reach the logs). The auth key never leaves [`Secret`].

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::adapters::http::{self, Replay, RetryPolicy};
use crate::phone::PhoneNumber;
use crate::ports::crm::CrmError;
use crate::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.ringostat.net";

const SYNC_PATH: &str = "/minicrm/contacts/sync";
const OUTWARD_CALL_PATH: &str = "/callback/outward_call";

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

impl From<CrmError> for RingostatApiError {
    fn from(error: CrmError) -> Self {
        match error {
            CrmError::Auth(message) => Self::Auth(message),
            CrmError::NotFound(message) => Self::Rejected {
                status: 404,
                message,
            },
            CrmError::Throttled { retry_after } => Self::Transient(match retry_after {
                Some(after) => format!("throttled (retry after {}s)", after.as_secs()),
                None => "throttled".to_owned(),
            }),
            CrmError::Rejected { status, message } => Self::Rejected { status, message },
            CrmError::Transient(message) => Self::Transient(message),
            CrmError::Config(message) => Self::Config(message),
        }
    }
}

/// Ringostat's API client. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct RingostatApi {
    client: Client,
    config: RingostatApiConfig,
    policy: RetryPolicy,
}

impl std::fmt::Debug for RingostatApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is left out altogether, not only redacted.
        f.debug_struct("RingostatApi")
            .field("base_url", &self.config.base_url)
            .field("project_id", &self.config.project_id)
            .field("origin", &self.config.origin)
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
        })
    }

    /// POST {base}/minicrm/contacts/sync, headers `auth-key`, `x-project-id`, JSON body
    /// `{"contacts":[{...}]}` in the shape `ringostat.md` §4.1 documents. Needs the project id.
    /// An upsert by `externalId`, hence retried on any transient failure.
    pub async fn sync_contact(
        &self,
        contact: &SmartPhoneContact,
        deadline: Instant,
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
        deadline: Instant,
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
    if status.is_success() {
        return match rejection_in(&body) {
            Some(message) => Err(RingostatApiError::Rejected {
                status: status.as_u16(),
                message: crate::phone::mask_long_numbers(&message),
            }),
            None => Ok(()),
        };
    }
    let message = crate::phone::mask_long_numbers(
        &rejection_in(&body).unwrap_or_else(|| http::crm_message(&body)),
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

#[cfg(test)]
mod tests {
    use super::*;

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
            crate::phone::mask_long_numbers("Invalid destination 380671112233 (code 422)"),
            "Invalid destination ********2233 (code 422)"
        );
        assert_eq!(
            crate::phone::mask_long_numbers("code -32602"),
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
