//! The API's routes: Basic auth, the folder triggers, the polling triggers (new record,
//! comment, call log), find-record and the actions.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::API_PREFIX;
use super::datetime::{is_iso_utc, now_iso, parse_iso_utc_millis};
use super::search::{Matching, fuzzy_match, is_grouped, search_terms};
use super::store::{CallLog, Comment, Folder, NetHuntState, Record};
use super::values::{add_value, remove_value};
use crate::AppState;

const DEFAULT_FIND_LIMIT: usize = 10;
const MAX_FIND_LIMIT: usize = 100;
/// The polling triggers' page: 100 unless `limit` says otherwise ([INFERRED]; public code asks
/// for up to 1000, and one client says new-record stops at 10,000).
const DEFAULT_TRIGGER_LIMIT: usize = 100;
const MAX_TRIGGER_LIMIT: usize = 10_000;

pub fn routes() -> Router<AppState> {
    let path = |tail: &str| format!("{API_PREFIX}{tail}");
    Router::new()
        .route(&path("/triggers/readable-folder"), get(folders))
        .route(&path("/triggers/writable-folder"), get(folders))
        .route(
            &path("/triggers/folder-field/{folder_id}"),
            get(folder_fields),
        )
        .route(&path("/triggers/new-record/{folder_id}"), get(new_records))
        .route(
            &path("/triggers/new-comment/{folder_id}"),
            get(new_comments),
        )
        .route(
            &path("/triggers/new-call-log/{folder_id}"),
            get(new_call_logs),
        )
        .route(&path("/searches/find-record/{folder_id}"), get(find_record))
        .route(
            &path("/actions/create-record/{folder_id}"),
            post(create_record),
        )
        .route(
            &path("/actions/update-record/{record_id}"),
            post(update_record),
        )
        .route(
            &path("/actions/create-comment/{record_id}"),
            post(create_comment),
        )
        .route(
            &path("/actions/create-call-log/{record_id}"),
            post(create_call_log),
        )
}

pub async fn set_not_found_404(State(state): State<AppState>, body: String) -> StatusCode {
    state.lock().nethunt.not_found_as_404 = body.trim() != "false";
    StatusCode::NO_CONTENT
}

/// A request that carried the workspace's Basic credentials; extracting it answers 401
/// otherwise.
pub struct Authorized;

impl FromRequestParts<AppState> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let expected = format!(
            "{}:{}",
            state.credentials.nethunt_email, state.credentials.nethunt_api_key
        );
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, encoded)| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
            })
            .and_then(|decoded| String::from_utf8(decoded).ok());
        if presented.as_deref() == Some(expected.as_str()) {
            return Ok(Self);
        }
        let mut response = error(StatusCode::UNAUTHORIZED, "Invalid email or API key");
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"NetHunt\""),
        );
        Err(response)
    }
}

/// Both folder triggers: every folder is readable and writable in the sandbox.
async fn folders(_: Authorized, State(state): State<AppState>) -> Response {
    let state = state.lock();
    let list: Vec<Value> = state
        .nethunt
        .folders
        .iter()
        .map(|f| json!({"id": f.id, "name": f.name}))
        .collect();
    axum::Json(list).into_response()
}

async fn folder_fields(
    _: Authorized,
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
) -> Response {
    let state = state.lock();
    match state.nethunt.folder(&folder_id) {
        Some(folder) => {
            let list: Vec<Value> = folder
                .fields
                .iter()
                .map(|f| json!({"name": f.name}))
                .collect();
            axum::Json(list).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "Folder not found"),
    }
}

#[derive(Deserialize)]
struct TriggerParams {
    since: Option<String>,
    limit: Option<String>,
}

/// A polling trigger's window: items created at or after `since` (all without it), at most
/// `limit` of them.
struct Window {
    since_millis: Option<i64>,
    limit: usize,
}

impl Window {
    /// The window, or the 400 message to refuse the request with.
    fn parse(params: &TriggerParams) -> Result<Self, &'static str> {
        let limit = match params.limit.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_TRIGGER_LIMIT,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) => n.clamp(1, MAX_TRIGGER_LIMIT),
                Err(_) => return Err("limit must be a number"),
            },
        };
        let since_millis = match params.since.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match parse_iso_utc_millis(raw) {
                Some(millis) => Some(millis),
                None => {
                    return Err("since must be an ISO date-time in UTC (2024-05-01T10:00:00.000Z)");
                }
            },
        };
        Ok(Self {
            since_millis,
            limit,
        })
    }

    fn admits(&self, created_at: &str) -> bool {
        self.since_millis.is_none_or(|since| {
            parse_iso_utc_millis(created_at).is_some_and(|created| created >= since)
        })
    }
}

/// `GET /triggers/new-record/{folderId}?since&limit`: the folder's records created since,
/// newest first, shaped as find-record returns them.
async fn new_records(
    _: Authorized,
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
    Query(params): Query<TriggerParams>,
) -> Response {
    let window = match Window::parse(&params) {
        Ok(window) => window,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let state = state.lock();
    let nethunt = &state.nethunt;
    if nethunt.folder(&folder_id).is_none() {
        return error(StatusCode::NOT_FOUND, "Folder not found");
    }
    let mut found: Vec<&Record> = nethunt
        .records_in(&folder_id)
        .filter(|r| window.admits(&r.created_at))
        .collect();
    found.sort_by_key(|r| std::cmp::Reverse(r.seq));
    found.truncate(window.limit);
    axum::Json(found.iter().map(|r| r.to_json()).collect::<Vec<_>>()).into_response()
}

/// `GET /triggers/new-comment/{folderId}?since&limit`: comments created since on the
/// folder's records, newest first.
async fn new_comments(
    _: Authorized,
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
    Query(params): Query<TriggerParams>,
) -> Response {
    let state = state.lock();
    timeline_trigger(
        &state.nethunt,
        &folder_id,
        &params,
        &state.nethunt.comments,
        |c| (&c.record_id, &c.created_at),
        Comment::to_json,
    )
}

/// `GET /triggers/new-call-log/{folderId}?since&limit`: call logs created since on the
/// folder's records, newest first.
async fn new_call_logs(
    _: Authorized,
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
    Query(params): Query<TriggerParams>,
) -> Response {
    let state = state.lock();
    timeline_trigger(
        &state.nethunt,
        &folder_id,
        &params,
        &state.nethunt.call_logs,
        |l| (&l.record_id, &l.created_at),
        CallLog::to_json,
    )
}

/// A timeline trigger's answer: of `items` (oldest first), those on the folder's records
/// created within the window, newest first. `keys` gives an item's record id and creation.
fn timeline_trigger<T>(
    nethunt: &NetHuntState,
    folder_id: &str,
    params: &TriggerParams,
    items: &[T],
    keys: impl Fn(&T) -> (&String, &String),
    to_json: impl Fn(&T) -> Value,
) -> Response {
    let window = match Window::parse(params) {
        Ok(window) => window,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if nethunt.folder(folder_id).is_none() {
        return error(StatusCode::NOT_FOUND, "Folder not found");
    }
    let found: Vec<Value> = items
        .iter()
        .rev()
        .filter(|item| {
            let (record_id, created_at) = keys(item);
            nethunt
                .record(record_id)
                .is_some_and(|r| r.folder_id == folder_id)
                && window.admits(created_at)
        })
        .take(window.limit)
        .map(to_json)
        .collect();
    axum::Json(found).into_response()
}

#[derive(Deserialize)]
struct FindParams {
    query: Option<String>,
    #[serde(rename = "recordId")]
    record_id: Option<String>,
    limit: Option<String>,
}

async fn find_record(
    _: Authorized,
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
    Query(params): Query<FindParams>,
) -> Response {
    let limit = match params.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_FIND_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) => n.clamp(1, MAX_FIND_LIMIT),
            Err(_) => return error(StatusCode::BAD_REQUEST, "limit must be a number"),
        },
    };
    let state = state.lock();
    let nethunt = &state.nethunt;
    if nethunt.folder(&folder_id).is_none() {
        return error(StatusCode::NOT_FOUND, "Folder not found");
    }
    let matching = if nethunt.search_ignores_separators {
        Matching::IgnoringSeparators
    } else {
        Matching::AsTyped
    };
    let needles = match params.query.as_deref().filter(|q| !q.trim().is_empty()) {
        None => None,
        Some(query) if nethunt.refuses_grouped_search && is_grouped(query) => {
            return error(StatusCode::BAD_REQUEST, "query: unsupported syntax");
        }
        Some(query) => match search_terms(query) {
            Ok(terms) => Some(matching.needles(&terms)),
            Err(message) => return error(StatusCode::BAD_REQUEST, message),
        },
    };
    let record_id = params.record_id.as_deref().filter(|id| !id.is_empty());
    let mut found: Vec<&Record> = nethunt
        .records_in(&folder_id)
        .filter(|r| record_id.is_none_or(|id| r.id == id))
        .filter(|r| {
            needles
                .as_deref()
                .is_none_or(|needles| fuzzy_match(r, needles, matching))
        })
        .collect();
    found.sort_by_key(|r| std::cmp::Reverse(r.seq));
    found.truncate(limit);
    if found.is_empty() && nethunt.not_found_as_404 {
        return error(StatusCode::NOT_FOUND, "No records found");
    }
    axum::Json(found.iter().map(|r| r.to_json()).collect::<Vec<_>>()).into_response()
}

async fn create_record(
    _: Authorized,
    State(state): State<AppState>,
    Path(folder_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, message)) => return error(status, &message),
    };
    let mut state = state.lock();
    let nethunt = &mut state.nethunt;
    let Some(folder) = nethunt.folder(&folder_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Folder not found");
    };
    if body
        .get("timeZone")
        .and_then(Value::as_str)
        .is_none_or(|tz| tz.trim().is_empty())
    {
        return error(StatusCode::BAD_REQUEST, "timeZone is required");
    }
    let Some(given) = body.get("fields").and_then(Value::as_object) else {
        return error(StatusCode::BAD_REQUEST, "fields is required");
    };
    if let Some(refused) = unknown_fields(given.keys(), &folder) {
        return refused;
    }
    let mut stored = BTreeMap::new();
    for (name, value) in given {
        let Some(kind) = folder.kind_of(name) else {
            return unknown_field(name, &folder);
        };
        match add_value(nethunt, kind, None, value, true) {
            Ok(Some(value)) => {
                stored.insert(name.clone(), value);
            }
            Ok(None) => {}
            Err(message) => return error(StatusCode::BAD_REQUEST, &format!("{name}: {message}")),
        }
    }
    let id = nethunt.insert_record(&folder.id, stored);
    axum::Json(json!({ "recordId": id })).into_response()
}

#[derive(Deserialize)]
struct UpdateParams {
    overwrite: Option<String>,
}

async fn update_record(
    _: Authorized,
    State(state): State<AppState>,
    Path(record_id): Path<String>,
    Query(params): Query<UpdateParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let default_overwrite = match params.overwrite.as_deref() {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return error(StatusCode::BAD_REQUEST, "overwrite must be true or false"),
    };
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, message)) => return error(status, &message),
    };
    let mut state = state.lock();
    let nethunt = &mut state.nethunt;
    let Some(record) = nethunt.record(&record_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    let Some(folder) = nethunt.folder(&record.folder_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    let Some(actions) = body.get("fieldActions").and_then(Value::as_object) else {
        return error(StatusCode::BAD_REQUEST, "fieldActions is required");
    };
    // Validate every action before changing anything, so a bad request leaves no trace.
    if let Some(refused) = unknown_fields(actions.keys(), &folder) {
        return refused;
    }
    let mut fields = record.fields.clone();
    for (name, action) in actions {
        let Some(kind) = folder.kind_of(name) else {
            return unknown_field(name, &folder);
        };
        let Some(action) = action.as_object() else {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("{name}: a field action must be an object"),
            );
        };
        let overwrite = match action.get("overwrite") {
            None | Some(Value::Null) => default_overwrite,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("{name}: overwrite must be a boolean"),
                );
            }
        };
        let mut current = if overwrite {
            None
        } else {
            fields.get(name).cloned()
        };
        if let Some(removed) = action.get("remove") {
            current = match remove_value(kind, current, removed) {
                Ok(rest) => rest,
                Err(message) => {
                    return error(StatusCode::BAD_REQUEST, &format!("{name}: {message}"));
                }
            };
        }
        if let Some(added) = action.get("add") {
            current = match add_value(nethunt, kind, current, added, overwrite) {
                Ok(value) => value,
                Err(message) => {
                    return error(StatusCode::BAD_REQUEST, &format!("{name}: {message}"));
                }
            };
        }
        match current {
            Some(value) => fields.insert(name.clone(), value),
            None => fields.remove(name),
        };
    }
    let now = now_iso();
    if let Some(stored) = nethunt.records.iter_mut().find(|r| r.id == record_id) {
        stored.fields = fields;
        stored.updated_at = now;
    }
    axum::Json(json!({ "recordId": record_id })).into_response()
}

async fn create_comment(
    _: Authorized,
    State(state): State<AppState>,
    Path(record_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, message)) => return error(status, &message),
    };
    let mut state = state.lock();
    let nethunt = &mut state.nethunt;
    if nethunt.record(&record_id).is_none() {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let Some(text) = body
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
    else {
        return error(StatusCode::BAD_REQUEST, "text is required");
    };
    let comment = Comment {
        id: nethunt.next_id(),
        record_id: record_id.clone(),
        created_at: now_iso(),
        text: text.to_owned(),
    };
    let response = comment.to_json();
    nethunt.comments.push(comment);
    axum::Json(response).into_response()
}

async fn create_call_log(
    _: Authorized,
    State(state): State<AppState>,
    Path(record_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(body) => body,
        Err((status, message)) => return error(status, &message),
    };
    let mut state = state.lock();
    let nethunt = &mut state.nethunt;
    if nethunt.record(&record_id).is_none() {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let Some(text) = body.get("text").and_then(Value::as_str) else {
        return error(StatusCode::BAD_REQUEST, "text is required");
    };
    let time = match body.get("time") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if is_iso_utc(t) => Some(t.clone()),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "time must be an ISO-8601 UTC date-time",
            );
        }
    };
    let duration = match body.get("duration") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|d| d >= 0.0) => n.as_f64(),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "duration must be a non-negative number",
            );
        }
    };
    let log = CallLog {
        id: nethunt.next_id(),
        record_id: record_id.clone(),
        created_at: now_iso(),
        text: text.to_owned(),
        time,
        duration,
    };
    let response = log.to_json();
    nethunt.call_logs.push(log);
    axum::Json(response).into_response()
}

/// NetHunt's error bodies are undocumented; plain text keeps adapters honest about that.
fn error(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

/// 400 naming `name`, which the folder does not have.
fn unknown_field(name: &str, folder: &Folder) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Unknown field(s) in folder {:?}: {name:?}", folder.name),
    )
}

/// 400 naming every field of `names` the folder does not have; `None` when it has them all.
fn unknown_fields<'a>(
    names: impl IntoIterator<Item = &'a String>,
    folder: &Folder,
) -> Option<Response> {
    let unknown: Vec<String> = names
        .into_iter()
        .filter(|name| folder.kind_of(name).is_none())
        .map(|name| format!("{name:?}"))
        .collect();
    (!unknown.is_empty()).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Unknown field(s) in folder {:?}: {}",
                folder.name,
                unknown.join(", ")
            ),
        )
    })
}

/// The JSON body of an action (the API speaks `application/json` only), or the status and
/// message to refuse it with.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, (StatusCode, String)> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !is_json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err((StatusCode::BAD_REQUEST, "body must be a JSON object".into())),
        Err(e) => Err((StatusCode::BAD_REQUEST, format!("invalid JSON: {e}"))),
    }
}
