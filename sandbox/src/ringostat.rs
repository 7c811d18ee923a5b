//! Ringostat API as the bridge calls it (`ringostat.md` §3.1, §4.1), plus a fake of the AWS
//! "Parameters and Secrets Lambda Extension" the bridge reads its secrets through.
//!
//! Ringostat, on its own paths (no prefix, as on `https://api.ringostat.net`):
//! - `POST /minicrm/contacts/sync`: headers `auth-key` and `x-project-id`, JSON
//!   `{"contacts":[…]}` checked against the documented shape (every documented key present,
//!   `projectId` an int equal to the project, `contactDirections` well formed); 400 with a
//!   message naming the first problem. Contacts are upserted by `externalId`.
//! - `POST /callback/outward_call`: header `Auth-key`, form or JSON body with `extension` and
//!   `destination`. A malformed value is answered **HTTP 200 with `{"error":{…}}`**, the
//!   JSON-RPC habit integrators report (§3.2, §7), so a client that trusts the status fails.
//! - `GET /calls/list` (§3.3): header `Auth-key`, query `export_type` (json only here),
//!   `from` and `to` (`YYYY-MM-DD HH:MM:SS`, both required here, both ends included), `fields`
//!   (comma-separated; default every key of the row), `order` (`calldate asc|desc`, default
//!   asc); `filters` and `merge` are ignored. Serves the call log tests seed, with only the
//!   requested keys, cut to the limit (6 500, §7; tests lower it). A field name that is not in
//!   §1.4a is answered **HTTP 200 with `{"error":{…}}`**, as is every request while a test has
//!   set a failure ([`RingostatState::set_calls_list_error`]).
//! - A wrong or missing key is 401 with a JSON error. Header names are case-insensitive.
//!
//! Choices where the reference is silent ([INFERRED]): the success bodies
//! (`{"status":"success"}`), the 401 and 400 bodies, 400 (not 200) for a missing parameter, and
//! the extension number being 10–15 digits (the doc: "can only be a phone number from the
//! project").
//!
//! The secrets extension (`GET /systemsmanager/parameters/get`, `GET /secretsmanager/get`)
//! wants a non-empty `X-Aws-Parameters-Secrets-Token` (401 otherwise) and answers AWS errors
//! with 400 and the AWS error text, as the real extension passes them on. A SecureString read
//! without `withDecryption=true` comes back as ciphertext, so a client that forgets the flag
//! fails.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::{AppState, SandboxState};

pub const SYNC_PATH: &str = "/minicrm/contacts/sync";
pub const OUTWARD_CALL_PATH: &str = "/callback/outward_call";
pub const CALLS_LIST_PATH: &str = "/calls/list";
/// Most calls one `calls/list` answer carries ("не більше 6 500", `ringostat.md` §3.3).
pub const CALLS_LIST_LIMIT: usize = 6500;

/// The call-log columns `ringostat.md` §1.4a lists (`refferrer` sic), plus `employee_fio`.
const CALL_LOG_FIELDS: [&str; 37] = [
    "calldate",
    "caller",
    "dst",
    "pool_name",
    "disposition",
    "category_mark",
    "duration",
    "call_type",
    "waittime",
    "billsec",
    "connected_with",
    "call_counter",
    "proper_flag",
    "repeated_flag",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "uniqueid",
    "category_number",
    "employee_number",
    "employee_mark",
    "client_id",
    "remote_ip",
    "refferrer",
    "landing",
    "recording",
    "recording_wav",
    "call_card",
    "additional_number",
    "has_recording",
    "scheme_name",
    "duration_ms",
    "department",
    "caller_number",
    "employee_fio",
];
pub const PARAMETER_PATH: &str = "/systemsmanager/parameters/get";
pub const SECRET_PATH: &str = "/secretsmanager/get";
/// The header the extension checks (its guard against SSRF).
pub const SECRETS_TOKEN_HEADER: &str = "x-aws-parameters-secrets-token";

/// Keys every synced contact must carry (values may be null where the doc allows it).
const REQUIRED_CONTACT_KEYS: [&str; 12] = [
    "projectId",
    "fullName",
    "origin",
    "externalId",
    "leadId",
    "responsible",
    "staffId",
    "contactLink",
    "leadLink",
    "dealLink",
    "googleClientId",
    "contactDirections",
];
/// Keys documented as "may be null".
const NULLABLE_STRING_KEYS: [&str; 5] = [
    "staffId",
    "contactLink",
    "leadLink",
    "dealLink",
    "googleClientId",
];

/// What the bridge sent to Ringostat, and the secrets seeded for the extension.
#[derive(Debug, Default)]
pub struct RingostatState {
    /// Synced contacts by key (`externalId`, else `lead:<leadId>`), in first-sync order.
    contacts: Vec<(String, Value)>,
    /// Accepted click-to-call requests: (extension, destination).
    outward_calls: Vec<(String, String)>,
    parameters: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    /// The call log `calls/list` serves, as seeded.
    call_log: Vec<Value>,
    /// Calls per `calls/list` answer; `None` for [`CALLS_LIST_LIMIT`].
    calls_list_limit: Option<usize>,
    /// While set, `calls/list` answers HTTP 200 with this error.
    calls_list_error: Option<String>,
    /// The decoded query of every `calls/list` request that reached the route, oldest first.
    calls_list_requests: Vec<BTreeMap<String, String>>,
}

impl RingostatState {
    /// Every synced contact as last sent, in first-sync order.
    pub fn synced_contacts(&self) -> Vec<Value> {
        self.contacts.iter().map(|(_, c)| c.clone()).collect()
    }

    /// The contact last synced under `external_id`.
    pub fn synced_contact(&self, external_id: &str) -> Option<Value> {
        self.contacts
            .iter()
            .find(|(key, _)| key == external_id)
            .map(|(_, c)| c.clone())
    }

    /// Accepted click-to-call requests as (extension, destination), oldest first.
    pub fn outward_calls(&self) -> Vec<(String, String)> {
        self.outward_calls.clone()
    }

    /// Stores an SSM SecureString parameter for the fake extension.
    pub fn seed_parameter(&mut self, name: &str, value: &str) {
        self.parameters.insert(name.to_owned(), value.to_owned());
    }

    /// Stores a Secrets Manager secret (its `SecretString`) for the fake extension.
    pub fn seed_secret(&mut self, id: &str, value: &str) {
        self.secrets.insert(id.to_owned(), value.to_owned());
    }

    /// Adds calls to the log `calls/list` serves: objects with calls/list keys (§1.4a) and a
    /// `calldate` as `YYYY-MM-DD HH:MM:SS` (the export's `2019-06-02T09:30:47+0300` form is read
    /// too, by its local part). Rows without a readable `calldate` are never served.
    pub fn seed_call_log(&mut self, rows: Vec<Value>) {
        self.call_log.extend(rows);
    }

    /// Sets how many calls one `calls/list` answer carries at most (default 6 500).
    pub fn set_calls_list_limit(&mut self, limit: usize) {
        self.calls_list_limit = Some(limit);
    }

    /// Makes `calls/list` answer HTTP 200 with `{"error":{"code":"export_failed","message":…}}`
    /// (the JSON-RPC habit of §7) until cleared with `None`.
    pub fn set_calls_list_error(&mut self, message: Option<&str>) {
        self.calls_list_error = message.map(str::to_owned);
    }

    /// The decoded query parameters of each `calls/list` request that reached the route (401s
    /// and 400s included, injected faults not), oldest first.
    pub fn calls_list_requests(&self) -> Vec<BTreeMap<String, String>> {
        self.calls_list_requests.clone()
    }

    fn upsert(&mut self, key: String, contact: Value) {
        match self.contacts.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = contact,
            None => self.contacts.push((key, contact)),
        }
    }
}

impl SandboxState {
    /// Stores an SSM SecureString parameter for the fake secrets extension.
    pub fn seed_parameter(&mut self, name: &str, value: &str) {
        self.ringostat.seed_parameter(name, value);
    }

    /// Stores a Secrets Manager secret for the fake secrets extension.
    pub fn seed_secret(&mut self, id: &str, value: &str) {
        self.ringostat.seed_secret(id, value);
    }

    /// Adds calls to the log Ringostat's `calls/list` serves.
    pub fn seed_call_log(&mut self, rows: Vec<Value>) {
        self.ringostat.seed_call_log(rows);
    }

    /// Sets how many calls one `calls/list` answer carries at most (default 6 500).
    pub fn set_calls_list_limit(&mut self, limit: usize) {
        self.ringostat.set_calls_list_limit(limit);
    }
}

// --- Routes ------------------------------------------------------------------------------

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(SYNC_PATH, post(sync_contacts))
        .route(OUTWARD_CALL_PATH, post(outward_call))
        .route(CALLS_LIST_PATH, get(calls_list))
        .route(PARAMETER_PATH, get(get_parameter))
        .route(SECRET_PATH, get(get_secret))
}

/// A Ringostat error body.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// The 401 to answer unless the request carries the project's auth key (`auth-key` /
/// `Auth-key`: header names are case-insensitive).
fn refuse_key(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let presented = headers.get("auth-key").and_then(|v| v.to_str().ok());
    if presented.map(str::trim) == Some(state.credentials.ringostat_auth_key.as_str()) {
        None
    } else {
        Some(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid or missing auth-key",
        ))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

async fn sync_contacts(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = refuse_key(&state, &headers) {
        return response;
    }
    let bad = |message: &str| error(StatusCode::BAD_REQUEST, "bad_request", message);
    let project = state.credentials.ringostat_project_id.as_str();
    match headers.get("x-project-id").and_then(|v| v.to_str().ok()) {
        None => return bad("x-project-id header is missing"),
        Some(header) if header.trim() != project => {
            return bad("x-project-id header does not match the project of the auth-key");
        }
        Some(_) => {}
    }
    if !is_json(&headers) {
        return bad("Content-Type must be application/json");
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return bad("body is not valid JSON");
    };
    let contacts = match payload.get("contacts") {
        Some(Value::Array(contacts)) if !contacts.is_empty() => contacts,
        Some(Value::Array(_)) => return bad("contacts is empty"),
        Some(_) => return bad("contacts must be an array"),
        None => return bad("contacts is required"),
    };
    let mut keyed = Vec::with_capacity(contacts.len());
    for (index, contact) in contacts.iter().enumerate() {
        match validate_contact(contact, project) {
            Ok(key) => keyed.push((key, contact.clone())),
            Err(problem) => return bad(&format!("contacts[{index}].{problem}")),
        }
    }
    let count = keyed.len();
    let mut shared = state.lock();
    for (key, contact) in keyed {
        shared.ringostat.upsert(key, contact);
    }
    axum::Json(json!({"status": "success", "synced": count})).into_response()
}

/// Checks one contact against the documented shape; its upsert key, or the problem as
/// `<field> <what is wrong>`.
fn validate_contact(contact: &Value, project: &str) -> Result<String, String> {
    let Some(fields) = contact.as_object() else {
        return Err("is not an object".into());
    };
    for key in REQUIRED_CONTACT_KEYS {
        if !fields.contains_key(key) {
            return Err(format!("{key} is required"));
        }
    }
    match fields.get("projectId") {
        Some(Value::Number(id)) if id.is_u64() => {
            if id.to_string() != project {
                return Err(format!("projectId {id} is not the project of the auth-key"));
            }
        }
        _ => return Err("projectId must be an integer".into()),
    }
    for key in ["fullName", "origin", "responsible"] {
        non_empty_string(fields, key)?;
    }
    for key in NULLABLE_STRING_KEYS {
        match fields.get(key) {
            Some(Value::Null | Value::String(_)) => {}
            _ => return Err(format!("{key} must be a string or null")),
        }
    }
    let id_of = |key: &str| -> Result<Option<String>, String> {
        match fields.get(key) {
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            _ => Err(format!("{key} must be a string or null")),
        }
    };
    let key = match (id_of("externalId")?, id_of("leadId")?) {
        (Some(external), _) => external,
        (None, Some(lead)) => format!("lead:{lead}"),
        (None, None) => return Err("externalId may be null only when leadId is filled".into()),
    };
    let directions = match fields.get("contactDirections") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => return Err("contactDirections is empty".into()),
        _ => return Err("contactDirections must be an array".into()),
    };
    for (index, direction) in directions.iter().enumerate() {
        validate_direction(direction).map_err(|p| format!("contactDirections[{index}].{p}"))?;
    }
    match fields.get("organizations") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => {}
        Some(_) => return Err("organizations must be null or an array of objects".into()),
    }
    Ok(key)
}

fn validate_direction(direction: &Value) -> Result<(), String> {
    let Some(fields) = direction.as_object() else {
        return Err("is not an object".into());
    };
    non_empty_string(fields, "name")?;
    let value = non_empty_string(fields, "value")?;
    match non_empty_string(fields, "type")? {
        "phone" => {
            let digits = value.strip_prefix('+').unwrap_or(value);
            if !(10..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err("value is not a phone number in international format".into());
            }
        }
        "email" => {
            if !value.contains('@') {
                return Err("value is not an e-mail address".into());
            }
        }
        _ => return Err("type must be `phone` or `email`".into()),
    }
    Ok(())
}

fn non_empty_string<'a>(fields: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match fields.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("{key} is empty")),
        None => Err(format!("{key} is required")),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

async fn outward_call(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = refuse_key(&state, &headers) {
        return response;
    }
    let params = match call_params(&headers, &body) {
        Ok(params) => params,
        Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    let param = |key: &str| {
        params
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (Some(extension), Some(destination)) = (param("extension"), param("destination")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "extension and destination are required",
        );
    };
    // The quirk: refusals of well-formed requests come with HTTP 200.
    if !is_number(&extension) {
        return error(
            StatusCode::OK,
            "invalid_extension",
            "Invalid extension: must be a phone number connected to the project",
        );
    }
    if !(is_number(&destination) || is_sip_login(&destination)) {
        return error(
            StatusCode::OK,
            "invalid_destination",
            "Invalid destination: expected a phone number in international format without + or a SIP login",
        );
    }
    state
        .lock()
        .ringostat
        .outward_calls
        .push((extension, destination));
    axum::Json(json!({"status": "success"})).into_response()
}

/// The body's parameters: JSON when the Content-Type says so (the doc's Axios example), a form
/// otherwise.
fn call_params(headers: &HeaderMap, body: &[u8]) -> Result<BTreeMap<String, String>, &'static str> {
    if !is_json(headers) {
        return Ok(form_urlencoded::parse(body).into_owned().collect());
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err("body is not a JSON object");
    };
    Ok(map
        .into_iter()
        .filter_map(|(key, value)| match value {
            Value::String(s) => Some((key, s)),
            Value::Number(n) => Some((key, n.to_string())),
            _ => None,
        })
        .collect())
}

/// Ringostat's number format: digits only, country code included.
fn is_number(value: &str) -> bool {
    (10..=15).contains(&value.len()) && value.chars().all(|c| c.is_ascii_digit())
}

/// A SIP login: lowercase letters, digits and `_`, starting with a letter (`acmecom_olena`).
fn is_sip_login(value: &str) -> bool {
    value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

// --- Call-log export ----------------------------------------------------------------------

/// What a `calls/list` query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CallQuery {
    /// `YYYY-MM-DD HH:MM:SS`, which sorts as text.
    from: String,
    to: String,
    /// `None`: every key of the row.
    fields: Option<Vec<String>>,
    descending: bool,
}

/// Why a query cannot be served: a 400 for a malformed request, a 200 with an error for a
/// well-formed one Ringostat refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum QueryProblem {
    BadRequest(String),
    Refused(&'static str, String),
}

fn call_query(params: &BTreeMap<String, String>) -> Result<CallQuery, QueryProblem> {
    let bad = |message: String| Err(QueryProblem::BadRequest(message));
    match params.get("export_type").map(|v| v.trim()) {
        None | Some("json") => {}
        Some(other) => {
            return bad(format!(
                "export_type `{other}` is not supported by the sandbox (json only)"
            ));
        }
    }
    let bound = |key: &str| -> Result<String, QueryProblem> {
        match params.get(key).map(|v| v.trim()) {
            None | Some("") => Err(QueryProblem::BadRequest(format!(
                "{key} is required (YYYY-MM-DD HH:MM:SS)"
            ))),
            Some(raw) if is_date_time(raw) => Ok(raw.to_owned()),
            Some(raw) => Err(QueryProblem::BadRequest(format!(
                "{key} `{raw}` is not a date-time as YYYY-MM-DD HH:MM:SS"
            ))),
        }
    };
    let from = bound("from")?;
    let to = bound("to")?;
    if from > to {
        return bad(format!("from {from} is after to {to}"));
    }
    let fields = match params.get("fields").map(|v| v.trim()) {
        None | Some("") => None,
        Some(list) => {
            let names: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(unknown) = names
                .iter()
                .find(|n| !CALL_LOG_FIELDS.contains(&n.as_str()))
            {
                return Err(QueryProblem::Refused(
                    "invalid_fields",
                    format!("Unknown field: {unknown}"),
                ));
            }
            Some(names)
        }
    };
    let descending = match params
        .get("order")
        .map(|v| {
            v.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_lowercase()
        })
        .as_deref()
    {
        None | Some("" | "calldate" | "calldate asc") => false,
        Some("calldate desc") => true,
        Some(other) => {
            return bad(format!(
                "order `{other}` is not supported by the sandbox (calldate asc|desc)"
            ));
        }
    };
    Ok(CallQuery {
        from,
        to,
        fields,
        descending,
    })
}

/// `YYYY-MM-DD HH:MM:SS` with plausible values.
fn is_date_time(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let shape = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return false;
    }
    let number = |range: std::ops::Range<usize>| raw[range].parse::<u32>().unwrap_or(u32::MAX);
    (1..=12).contains(&number(5..7))
        && (1..=31).contains(&number(8..10))
        && number(11..13) < 24
        && number(14..16) < 60
        && number(17..19) < 60
}

/// A row's `calldate` as `YYYY-MM-DD HH:MM:SS` (the local part of the export's ISO form).
fn calldate_of(row: &Value) -> Option<String> {
    let raw = row.get("calldate")?.as_str()?.trim();
    let head = raw.get(..19)?.replacen('T', " ", 1);
    is_date_time(&head).then_some(head)
}

/// The rows of `log` within the query's window, ordered by `calldate` (ties in seed order),
/// with the requested keys only, at most `limit` of them.
fn select_calls(log: &[Value], query: &CallQuery, limit: usize) -> Vec<Value> {
    let mut rows: Vec<(String, &Value)> = log
        .iter()
        .filter_map(|row| calldate_of(row).map(|date| (date, row)))
        .filter(|(date, _)| query.from <= *date && *date <= query.to)
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if query.descending {
        rows.reverse();
    }
    rows.into_iter()
        .take(limit)
        .map(|(_, row)| match (&query.fields, row) {
            (Some(fields), Value::Object(all)) => Value::Object(
                fields
                    .iter()
                    .filter_map(|key| all.get(key).map(|v| (key.clone(), v.clone())))
                    .collect(),
            ),
            _ => row.clone(),
        })
        .collect()
}

async fn calls_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let mut shared = state.lock();
    shared.ringostat.calls_list_requests.push(params.clone());
    if let Some(response) = refuse_key(&state, &headers) {
        return response;
    }
    if let Some(message) = &shared.ringostat.calls_list_error {
        return error(StatusCode::OK, "export_failed", message);
    }
    let query = match call_query(&params) {
        Ok(query) => query,
        Err(QueryProblem::BadRequest(message)) => {
            return error(StatusCode::BAD_REQUEST, "bad_request", &message);
        }
        Err(QueryProblem::Refused(code, message)) => {
            return error(StatusCode::OK, code, &message);
        }
    };
    let limit = shared
        .ringostat
        .calls_list_limit
        .unwrap_or(CALLS_LIST_LIMIT);
    let rows = select_calls(&shared.ringostat.call_log, &query, limit);
    axum::Json(Value::Array(rows)).into_response()
}

// --- Parameters and Secrets extension ---------------------------------------------------

/// The 401 to answer when the session-token header is missing or empty.
fn refuse_token(headers: &HeaderMap) -> Option<Response> {
    let present = headers
        .get(SECRETS_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    (!present).then(|| (StatusCode::UNAUTHORIZED, "not authorized").into_response())
}

async fn get_parameter(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(response) = refuse_token(&headers) {
        return response;
    }
    let Some(name) = query.get("name").filter(|n| !n.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "ValidationException: name is required",
        )
            .into_response();
    };
    let decrypt = query
        .get("withDecryption")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let Some(stored) = state.lock().ringostat.parameters.get(name).cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            format!("ParameterNotFound: Parameter {name} not found."),
        )
            .into_response();
    };
    // Without decryption AWS returns the KMS ciphertext of a SecureString.
    let value = if decrypt {
        stored
    } else {
        "AQICAHhzYW5kYm94LWNpcGhlcnRleHQ=".to_owned()
    };
    let arn_name = name.trim_start_matches('/');
    axum::Json(json!({
        "Parameter": {
            "ARN": format!("arn:aws:ssm:eu-central-1:000000000000:parameter/{arn_name}"),
            "DataType": "text",
            "LastModifiedDate": "2025-01-10T12:00:00Z",
            "Name": name,
            "Selector": null,
            "SourceResult": null,
            "Type": "SecureString",
            "Value": value,
            "Version": 1
        },
        "ResultMetadata": {}
    }))
    .into_response()
}

async fn get_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(response) = refuse_token(&headers) {
        return response;
    }
    let Some(id) = query.get("secretId").filter(|n| !n.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "ValidationException: secretId is required",
        )
            .into_response();
    };
    let Some(value) = state.lock().ringostat.secrets.get(id).cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        )
            .into_response();
    };
    axum::Json(json!({
        "ARN": format!("arn:aws:secretsmanager:eu-central-1:000000000000:secret:{id}-AbCdEf"),
        "CreatedDate": "2025-01-10T12:00:00Z",
        "Name": id,
        "SecretBinary": null,
        "SecretString": value,
        "VersionId": "00000000-0000-4000-8000-000000000001",
        "VersionStages": ["AWSCURRENT"],
        "ResultMetadata": {}
    }))
    .into_response()
}

// --- Page --------------------------------------------------------------------------------

/// Contacts synced to Smart Phone and click-to-call requests; secret values are never shown.
pub(crate) fn html_section(state: &RingostatState) -> String {
    let text = |contact: &Value, key: &str| match contact.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let contacts: Vec<Vec<String>> = state
        .contacts
        .iter()
        .map(|(key, contact)| {
            let directions = contact
                .get("contactDirections")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|d| format!("{}: {}", text(d, "type"), text(d, "value")))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            vec![
                key.clone(),
                text(contact, "fullName"),
                directions,
                text(contact, "origin"),
                text(contact, "responsible"),
                text(contact, "contactLink"),
            ]
        })
        .collect();
    let calls: Vec<Vec<String>> = state
        .outward_calls
        .iter()
        .map(|(extension, destination)| vec![extension.clone(), destination.clone()])
        .collect();
    let mut html = String::from("<h2>Ringostat: Smart Phone contacts</h2>");
    html.push_str(&crate::page::table(
        &[
            "External id",
            "Full name",
            "Directions",
            "Origin",
            "Responsible",
            "Contact link",
        ],
        &contacts,
    ));
    html.push_str("<h2>Ringostat: click-to-call requests</h2>");
    html.push_str(&crate::page::table(&["Extension", "Destination"], &calls));
    html.push_str(&format!(
        "<p>Call log: {} calls seeded, {} calls/list requests.</p>",
        state.call_log.len(),
        state.calls_list_requests.len()
    ));
    html.push_str(&format!(
        "<p>Secrets extension: {} parameters and {} secrets seeded (values hidden).</p>",
        state.parameters.len(),
        state.secrets.len()
    ));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented_contact() -> Value {
        json!({
            "projectId": 12345, "fullName": "Іван Петренко", "origin": "NetHunt CRM",
            "externalId": "42", "leadId": null, "responsible": "0", "staffId": null,
            "contactLink": null, "leadLink": null, "dealLink": null, "googleClientId": null,
            "contactDirections": [
                {"name": "personal", "type": "phone", "value": "+380671112233"},
                {"name": "personal", "type": "email", "value": "a@b.c"}
            ],
            "organizations": []
        })
    }

    #[test]
    fn the_documented_contact_is_accepted_and_keyed_by_external_id() {
        assert_eq!(
            validate_contact(&documented_contact(), "12345"),
            Ok("42".to_owned())
        );
        let mut lead_only = documented_contact();
        lead_only["externalId"] = Value::Null;
        lead_only["leadId"] = json!("7");
        assert_eq!(
            validate_contact(&lead_only, "12345"),
            Ok("lead:7".to_owned())
        );
    }

    #[test]
    fn shape_problems_are_named() {
        let cases: [(&str, Value, &str); 6] = [
            ("staffId", Value::Null, "drop"),
            ("projectId", json!("12345"), "projectId must be an integer"),
            (
                "projectId",
                json!(999),
                "projectId 999 is not the project of the auth-key",
            ),
            ("fullName", json!(""), "fullName is empty"),
            (
                "contactDirections",
                json!([{"name": "personal", "type": "phone", "value": "+38067"}]),
                "contactDirections[0].value is not a phone number in international format",
            ),
            (
                "externalId",
                Value::Null,
                "externalId may be null only when leadId is filled",
            ),
        ];
        for (key, value, expected) in cases {
            let mut contact = documented_contact();
            let expected = if expected == "drop" {
                contact.as_object_mut().map(|c| c.remove(key));
                format!("{key} is required")
            } else {
                contact[key] = value;
                expected.to_owned()
            };
            assert_eq!(validate_contact(&contact, "12345"), Err(expected), "{key}");
        }
    }

    #[test]
    fn destinations_are_numbers_or_sip_logins() {
        for ok in ["380671112233", "acmecom_olena", "a1"] {
            assert!(is_number(ok) || is_sip_login(ok), "{ok}");
        }
        for bad in [
            "+380671112233",
            "0671",
            "Acme_Olena",
            "_acme",
            "067 111 22 33",
            "",
        ] {
            assert!(!(is_number(bad) || is_sip_login(bad)), "{bad}");
        }
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn day_query(fields: Option<&str>) -> BTreeMap<String, String> {
        let mut query = params(&[
            ("export_type", "json"),
            ("from", "2025-01-10 00:00:00"),
            ("to", "2025-01-10 23:59:59"),
            ("order", "calldate asc"),
        ]);
        if let Some(fields) = fields {
            query.insert("fields".into(), fields.into());
        }
        query
    }

    #[test]
    fn call_queries_are_checked() {
        let query = call_query(&day_query(Some("uniqueid, calldate"))).expect("valid");
        assert_eq!(
            query,
            CallQuery {
                from: "2025-01-10 00:00:00".into(),
                to: "2025-01-10 23:59:59".into(),
                fields: Some(vec!["uniqueid".into(), "calldate".into()]),
                descending: false,
            }
        );
        let bad = |pairs: &[(&str, &str)]| match call_query(&params(pairs)) {
            Err(QueryProblem::BadRequest(message)) => message,
            other => panic!("{pairs:?}: {other:?}"),
        };
        assert!(bad(&[("to", "2025-01-10 00:00:00")]).contains("from is required"));
        assert!(bad(&[("from", "2025-01-10 00:00:00")]).contains("to is required"));
        for wrong in [
            "2025-01-10T00:00:00",
            "2025-13-10 00:00:00",
            "2025-01-10 24:00:00",
            "10.01.2025 00:00:00",
            "2025-01-10",
        ] {
            let message = bad(&[("from", wrong), ("to", "2025-01-11 00:00:00")]);
            assert!(message.contains("is not a date-time"), "{wrong}: {message}");
        }
        assert!(
            bad(&[
                ("from", "2025-01-11 00:00:00"),
                ("to", "2025-01-10 00:00:00")
            ])
            .contains("after")
        );
        let mut csv = day_query(None);
        csv.insert("export_type".into(), "csv".into());
        assert!(matches!(call_query(&csv), Err(QueryProblem::BadRequest(_))));
        assert_eq!(
            call_query(&day_query(Some("uniqueid,callerid"))),
            Err(QueryProblem::Refused(
                "invalid_fields",
                "Unknown field: callerid".into()
            ))
        );
    }

    #[test]
    fn calls_are_selected_by_window_ordered_and_cut() {
        let log = vec![
            json!({"uniqueid": "late", "calldate": "2025-01-10 23:59:59", "caller": "1"}),
            json!({"uniqueid": "before", "calldate": "2025-01-09 23:59:59"}),
            json!({"uniqueid": "first", "calldate": "2025-01-10 00:00:00", "remote_ip": "10.0.0.1"}),
            json!({"uniqueid": "iso", "calldate": "2025-01-10T12:00:00+0200"}),
            json!({"uniqueid": "after", "calldate": "2025-01-11 00:00:00"}),
            json!({"uniqueid": "undated"}),
        ];
        let ids = |rows: &[Value]| -> Vec<String> {
            rows.iter()
                .map(|r| r["uniqueid"].as_str().unwrap_or("").to_owned())
                .collect()
        };
        let query = call_query(&day_query(Some("uniqueid,calldate,caller"))).expect("valid");
        let rows = select_calls(&log, &query, CALLS_LIST_LIMIT);
        assert_eq!(ids(&rows), ["first", "iso", "late"]);
        assert_eq!(
            rows[0],
            json!({"uniqueid": "first", "calldate": "2025-01-10 00:00:00"})
        );
        assert_eq!(ids(&select_calls(&log, &query, 2)), ["first", "iso"]);
        let mut desc = day_query(None);
        desc.insert("order".into(), "calldate  DESC".into());
        let desc = call_query(&desc).expect("valid");
        let rows = select_calls(&log, &desc, CALLS_LIST_LIMIT);
        assert_eq!(ids(&rows), ["late", "iso", "first"]);
        assert_eq!(rows[2]["remote_ip"], json!("10.0.0.1"));
    }

    #[test]
    fn contacts_are_upserted() {
        let mut state = RingostatState::default();
        state.upsert("42".into(), json!({"fullName": "Old"}));
        state.upsert("43".into(), json!({"fullName": "Other"}));
        state.upsert("42".into(), json!({"fullName": "New"}));
        assert_eq!(
            state.synced_contacts(),
            vec![json!({"fullName": "New"}), json!({"fullName": "Other"})]
        );
        assert_eq!(state.synced_contact("42"), Some(json!({"fullName": "New"})));
    }
}
