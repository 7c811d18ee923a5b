//! `POST /minicrm/contacts/sync`: contacts for Smart Phone, checked against the documented
//! shape and upserted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{error, is_json, refuse_key};
use crate::AppState;

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

pub(super) async fn sync_contacts(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
pub(super) fn validate_contact(contact: &Value, project: &str) -> Result<String, String> {
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
