//! Ringostat API as the bridge calls it (`docs/vendor-contracts.md`), plus a fake of the AWS
//! "Parameters and Secrets Lambda Extension" the bridge reads its secrets through.
//!
//! Ringostat, on its own paths (no prefix, as on `https://api.ringostat.net`):
//! - `POST /minicrm/contacts/sync`: headers `auth-key` and `x-project-id`, JSON
//!   `{"contacts":[…]}` checked against the documented shape (every documented key present,
//!   `projectId` an int equal to the project, `contactDirections` well formed); 400 with a
//!   message naming the first problem. Contacts are upserted by `externalId`.
//! - `POST /callback/outward_call`: header `Auth-key`, form or JSON body with `extension` and
//!   `destination`. A malformed value is answered **HTTP 200 with `{"error":{…}}`**, the
//!   JSON-RPC habit integrators report, so a client that trusts the status fails.
//! - `GET /calls/list`: header `Auth-key`, query `export_type` (json only here),
//!   `from` and `to` (`YYYY-MM-DD HH:MM:SS`, both required here, both ends included), `fields`
//!   (comma-separated; default every key of the row), `order` (`calldate asc|desc`, default
//!   asc); `filters` and `merge` are ignored. Serves the call log tests seed, with only the
//!   requested keys, cut to the limit (6 500; tests lower it). A field name that is not a
//!   call-log column is answered **HTTP 200 with `{"error":{…}}`**, as is every request while
//!   a test has set a failure ([`RingostatState::set_calls_list_error`]).
//! - A wrong or missing key is 401 with a JSON error. Header names are case-insensitive.
//!
//! Choices where the contract is silent ([INFERRED]): the success bodies
//! (`{"status":"success"}`), the 401 and 400 bodies, 400 (not 200) for a missing parameter, and
//! the extension number being 10–15 digits (the doc: "can only be a phone number from the
//! project").
//! `tests/tests/live_contract.rs` checks the sync's upsert and success answer (RA13) and the
//! export's bare array (RA5, RA6) against a real project when `LIVE_RINGOSTAT_*` is set.
//!
//! The secrets extension (`GET /systemsmanager/parameters/get`, `GET /secretsmanager/get`)
//! wants a non-empty `X-Aws-Parameters-Secrets-Token` (401 otherwise) and answers AWS errors
//! with 400 and the AWS error text, as the real extension passes them on. A SecureString read
//! without `withDecryption=true` comes back as ciphertext, so a client that forgets the flag
//! fails.

mod calls;
mod click_to_call;
mod page;
mod secrets;
mod store;
mod sync;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::AppState;
use calls::calls_list;
use click_to_call::outward_call;
use secrets::{get_parameter, get_secret};
use sync::sync_contacts;

pub(crate) use page::html_section;
pub use store::RingostatState;

pub const SYNC_PATH: &str = "/minicrm/contacts/sync";
pub const OUTWARD_CALL_PATH: &str = "/callback/outward_call";
pub const CALLS_LIST_PATH: &str = "/calls/list";
/// Most calls one `calls/list` answer carries ("не більше 6 500", `docs/vendor-contracts.md`).
pub const CALLS_LIST_LIMIT: usize = 6500;
pub const PARAMETER_PATH: &str = "/systemsmanager/parameters/get";
pub const SECRET_PATH: &str = "/secretsmanager/get";
/// The header the extension checks (its guard against SSRF).
pub const SECRETS_TOKEN_HEADER: &str = "x-aws-parameters-secrets-token";

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
