//! `POST /callback/outward_call`: click-to-call, with Ringostat's HTTP 200 refusals.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{error, is_json, refuse_key};
use crate::AppState;

pub(super) async fn outward_call(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
        .record_outward_call(extension, destination);
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
pub(super) fn is_number(value: &str) -> bool {
    (10..=15).contains(&value.len()) && value.chars().all(|c| c.is_ascii_digit())
}

/// A SIP login: lowercase letters, digits and `_`, starting with a letter (`acmecom_olena`).
pub(super) fn is_sip_login(value: &str) -> bool {
    value.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
