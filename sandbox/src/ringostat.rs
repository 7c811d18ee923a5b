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
}

// --- Routes ------------------------------------------------------------------------------

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(SYNC_PATH, post(sync_contacts))
        .route(OUTWARD_CALL_PATH, post(outward_call))
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
