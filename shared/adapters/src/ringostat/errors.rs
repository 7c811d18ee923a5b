//! What Ringostat's answers mean: HTTP failures as [`RingostatApiError`], errors reported with
//! HTTP 200, and the error text kept short with long digit runs masked.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::RingostatApiError;
use crate::http::{self, HttpError};

/// Longest message kept from an error body.
const MAX_MESSAGE_CHARS: usize = 500;

impl From<HttpError> for RingostatApiError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Throttled { retry_after } => Self::Transient(match retry_after {
                Some(after) => format!("throttled (retry after {}s)", after.as_secs()),
                None => "throttled".to_owned(),
            }),
            HttpError::Transient(message) => Self::Transient(message),
            // A call request that may have been placed: say so, never retry it blindly.
            error @ HttpError::Ambiguous(_) => Self::Transient(error.to_string()),
            HttpError::Client(message) => Self::Config(format!("HTTP client: {message}")),
        }
    }
}

/// Reads the final response: success, or the typed error it stands for.
pub(super) async fn check(response: Response) -> Result<(), RingostatApiError> {
    let status = response.status();
    // A body that cannot be read after a 2xx is treated as empty: the request was accepted.
    let body = response.text().await.unwrap_or_default();
    verdict(status, &body)
}

/// Success, or the typed error a final status and body stand for.
pub(super) fn verdict(status: StatusCode, body: &str) -> Result<(), RingostatApiError> {
    if status.is_success() {
        return match rejection_in(body) {
            Some(message) => Err(RingostatApiError::Rejected {
                status: status.as_u16(),
                message: bridge_domain::redact::log_text(&message),
            }),
            None => Ok(()),
        };
    }
    let message = bridge_domain::redact::log_text(
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
pub(super) fn rejection_in(body: &str) -> Option<String> {
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

pub(super) fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
    if short.is_empty() {
        short.push_str("(empty body)");
    }
    short
}
