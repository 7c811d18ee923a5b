//! NetHunt Integration API (`/api/v1/zapier`), as `nethunt-api.md` §8 ("Fake-server contract")
//! describes it, quirks included:
//!
//! - Basic auth with the workspace e-mail and API key; anything else is 401.
//! - Only GET and POST (other methods are 405).
//! - find-record is **fuzzy**: the query's value matches any field value that contains it,
//!   case-insensitively, after spaces and `()+-.` are stripped from both. A search for
//!   `"Телефон":"+380501234567"` therefore also returns `+3805012345678` or
//!   `+380501234567 доб. 12`, which is why the adapter re-checks the number exactly.
//! - "No match" is `[]`, or 404 when [`NetHuntState::not_found_as_404`] is on (both are seen in
//!   the wild, §4.3).
//! - Error bodies are plain text: NetHunt's error format is undocumented (§6), so the adapter
//!   must treat them as opaque.
//!
//! Choices where the reference is silent ([INFERRED], kept strict so adapter bugs surface):
//! - Field names must exist in the folder (`/triggers/folder-field`); an unknown one is 400.
//! - Single-value fields (text, person) keep their value on `add` unless the action also says
//!   `overwrite`; that is why writers send `{"overwrite": true, "add": value}`. Multi-value
//!   fields (phone, e-mail, record links) append.
//! - Person values must carry an e-mail (`"Name <email>"` or a bare e-mail).
//! - Records come back newest first; `limit` defaults to 10 and is capped at 100.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

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

use crate::AppState;

/// Where the API lives on the sandbox, as on `https://nethunt.com`.
pub const API_PREFIX: &str = "/api/v1/zapier";
pub const CONTACTS_FOLDER_ID: &str = "contacts-folder";
pub const DEALS_FOLDER_ID: &str = "deals-folder";

/// Field names of the seeded folders: a Ukrainian workspace set up as the NetHunt seed says.
pub mod fields {
    pub const NAME: &str = "Name";
    pub const PHONE: &str = "Телефон";
    pub const EMAIL: &str = "Email";
    /// The person field of the responsible user ("Manager (or Assignee)" in NetHunt's help).
    pub const MANAGER: &str = "Менеджер";
    pub const SOURCE: &str = "Джерело";
    pub const MEDIUM: &str = "Канал";
    pub const CAMPAIGN: &str = "Кампанія";
    pub const KEYWORD: &str = "Ключове слово";
    pub const STAGE: &str = "Етап";
    /// Deal → contact record-list field.
    pub const CONTACT: &str = "Контакт";
}

const DEFAULT_FIND_LIMIT: usize = 10;
const MAX_FIND_LIMIT: usize = 100;

/// How a field stores its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Single-line text, dropdown: a string.
    Text,
    /// Phone, e-mail: an array of strings.
    Multi,
    /// One workspace user, as an array of one `"Name <email>"` string.
    Person,
    /// Links to other records: an array of record ids.
    RecordLink,
}

#[derive(Debug, Clone)]
pub struct FolderField {
    pub name: String,
    pub kind: FieldKind,
}

#[derive(Debug, Clone)]
pub struct Folder {
    pub id: String,
    pub name: String,
    pub fields: Vec<FolderField>,
}

impl Folder {
    fn kind_of(&self, field: &str) -> Option<FieldKind> {
        self.fields.iter().find(|f| f.name == field).map(|f| f.kind)
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub folder_id: String,
    pub created_at: String,
    pub updated_at: String,
    /// Creation order, for "newest first" within the same millisecond.
    seq: u64,
    pub fields: BTreeMap<String, Value>,
}

impl Record {
    fn to_json(&self) -> Value {
        json!({
            "recordId": self.id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "fields": self.fields,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub record_id: String,
    pub created_at: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct CallLog {
    pub id: String,
    pub record_id: String,
    pub created_at: String,
    pub text: String,
    /// Start of the call, as sent (ISO UTC).
    pub time: Option<String>,
    /// As sent; NetHunt most likely reads it as minutes (reference §4.7).
    pub duration: Option<f64>,
}

#[derive(Debug)]
pub struct NetHuntState {
    /// Answer 404 instead of `[]` when find-record matches nothing (both happen in the wild).
    pub not_found_as_404: bool,
    folders: Vec<Folder>,
    records: Vec<Record>,
    comments: Vec<Comment>,
    call_logs: Vec<CallLog>,
    next_seq: u64,
}

impl Default for NetHuntState {
    fn default() -> Self {
        use FieldKind::{Multi, Person, RecordLink, Text};
        let field = |name: &str, kind| FolderField {
            name: name.to_owned(),
            kind,
        };
        Self {
            not_found_as_404: false,
            folders: vec![
                Folder {
                    id: CONTACTS_FOLDER_ID.into(),
                    name: "Контакти".into(),
                    fields: vec![
                        field(fields::NAME, Text),
                        field(fields::PHONE, Multi),
                        field(fields::EMAIL, Multi),
                        field(fields::MANAGER, Person),
                        field(fields::SOURCE, Text),
                        field(fields::MEDIUM, Text),
                        field(fields::CAMPAIGN, Text),
                        field(fields::KEYWORD, Text),
                    ],
                },
                Folder {
                    id: DEALS_FOLDER_ID.into(),
                    name: "Угоди".into(),
                    fields: vec![
                        field(fields::NAME, Text),
                        field(fields::STAGE, Text),
                        field(fields::MANAGER, Person),
                        field(fields::CONTACT, RecordLink),
                    ],
                },
            ],
            records: Vec::new(),
            comments: Vec::new(),
            call_logs: Vec::new(),
            next_seq: 1,
        }
    }
}

// --- Inspection and seeding helpers (tests and the page) ---------------------------------

impl NetHuntState {
    /// Records in the Contacts folder.
    pub fn contact_count(&self) -> usize {
        self.records_in(CONTACTS_FOLDER_ID).count()
    }

    /// Records in the Deals folder.
    pub fn deal_count(&self) -> usize {
        self.records_in(DEALS_FOLDER_ID).count()
    }

    /// Call logs on any record.
    pub fn call_count(&self) -> usize {
        self.call_logs.len()
    }

    /// Every call log, oldest first.
    pub fn all_call_logs(&self) -> &[CallLog] {
        &self.call_logs
    }

    /// Texts of the call logs on the record, oldest first.
    pub fn calls_of(&self, contact_id: &str) -> Vec<String> {
        self.call_logs_of(contact_id)
            .into_iter()
            .map(|log| log.text)
            .collect()
    }

    /// The call logs on the record, oldest first (text, time and duration as sent).
    pub fn call_logs_of(&self, record_id: &str) -> Vec<CallLog> {
        self.call_logs
            .iter()
            .filter(|log| log.record_id == record_id)
            .cloned()
            .collect()
    }

    /// Texts of the comments on the record, oldest first.
    pub fn notes_of(&self, contact_id: &str) -> Vec<String> {
        self.comments
            .iter()
            .filter(|c| c.record_id == contact_id)
            .map(|c| c.text.clone())
            .collect()
    }

    /// Names of the deals whose record-link field holds the contact.
    pub fn deals_of(&self, contact_id: &str) -> Vec<String> {
        self.deal_ids_of(contact_id)
            .iter()
            .filter_map(|id| self.record(id))
            .map(|deal| {
                deal.fields
                    .get(fields::NAME)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Ids of the deals whose record-link field holds the contact.
    pub fn deal_ids_of(&self, contact_id: &str) -> Vec<String> {
        let Some(folder) = self.folder(DEALS_FOLDER_ID) else {
            return Vec::new();
        };
        let links: Vec<&str> = folder
            .fields
            .iter()
            .filter(|f| f.kind == FieldKind::RecordLink)
            .map(|f| f.name.as_str())
            .collect();
        self.records_in(DEALS_FOLDER_ID)
            .filter(|deal| {
                links.iter().any(|link| {
                    deal.fields
                        .get(*link)
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|id| id == contact_id))
                })
            })
            .map(|deal| deal.id.clone())
            .collect()
    }

    /// The e-mail in the record's person field (what the adapter reports as the owner's id).
    pub fn owner_of(&self, contact_id: &str) -> Option<String> {
        self.person_of(self.record(contact_id)?)
    }

    /// The e-mail in the deal's person field; `None` for a record outside the Deals folder,
    /// so a test cannot mistake a contact's owner for its deal's.
    pub fn deal_owner_of(&self, deal_id: &str) -> Option<String> {
        let deal = self
            .record(deal_id)
            .filter(|r| r.folder_id == DEALS_FOLDER_ID)?;
        self.person_of(deal)
    }

    fn person_of(&self, record: &Record) -> Option<String> {
        let folder = self.folder(&record.folder_id)?;
        let person_field = folder.fields.iter().find(|f| f.kind == FieldKind::Person)?;
        let first = record.fields.get(&person_field.name)?.as_array()?.first()?;
        person_email(first.as_str()?)
    }

    /// A field's value as the API returns it.
    pub fn field_of(&self, record_id: &str, field: &str) -> Option<Value> {
        self.record(record_id)?.fields.get(field).cloned()
    }

    pub fn record(&self, record_id: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.id == record_id)
    }

    pub fn folder(&self, folder_id: &str) -> Option<&Folder> {
        self.folders.iter().find(|f| f.id == folder_id)
    }

    /// Adds a contact the way a person would in the web app: the number as typed and the
    /// responsible user picked from the list, which the API shows as `"Name <email>"` (the
    /// sandbox has no user directory, so the name is made from the e-mail's local part).
    /// An empty `name` or `owner_email` leaves that field out.
    pub fn seed_contact(&mut self, phone_as_stored: &str, name: &str, owner_email: &str) -> String {
        let mut fields = BTreeMap::new();
        if !name.is_empty() {
            fields.insert(fields::NAME.to_owned(), json!(name));
        }
        fields.insert(fields::PHONE.to_owned(), json!([phone_as_stored]));
        if !owner_email.is_empty() {
            let person = format!("{} <{owner_email}>", display_name_of(owner_email));
            fields.insert(fields::MANAGER.to_owned(), json!([person]));
        }
        self.insert_record(CONTACTS_FOLDER_ID, fields)
    }

    /// Adds a record with exactly these field values (no validation), for odd shapes a person
    /// or another integration could leave behind. `None` for an unknown folder.
    pub fn seed_record(&mut self, folder_id: &str, fields: Value) -> Option<String> {
        self.folder(folder_id)?;
        let fields = match fields {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        Some(self.insert_record(folder_id, fields))
    }

    /// Sets a field as stored (no validation); `false` for an unknown record.
    pub fn set_field(&mut self, record_id: &str, field: &str, value: Value) -> bool {
        let now = now_iso();
        match self.records.iter_mut().find(|r| r.id == record_id) {
            Some(record) => {
                record.fields.insert(field.to_owned(), value);
                record.updated_at = now;
                true
            }
            None => false,
        }
    }

    /// Adds a field to a folder, as "Configure fields" in the web app does; `false` for an
    /// unknown folder.
    pub fn add_folder_field(&mut self, folder_id: &str, name: &str, kind: FieldKind) -> bool {
        match self.folders.iter_mut().find(|f| f.id == folder_id) {
            Some(folder) => {
                if folder.kind_of(name).is_none() {
                    folder.fields.push(FolderField {
                        name: name.to_owned(),
                        kind,
                    });
                }
                true
            }
            None => false,
        }
    }

    fn records_in<'a>(&'a self, folder_id: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records
            .iter()
            .filter(move |r| r.folder_id == folder_id)
    }

    fn next_id(&mut self) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Shaped like NetHunt's ids (24 hex digits, MongoDB ObjectId style).
        format!("6650a1b2{seq:016x}")
    }

    fn insert_record(&mut self, folder_id: &str, fields: BTreeMap<String, Value>) -> String {
        let seq = self.next_seq;
        let id = self.next_id();
        let now = now_iso();
        self.records.push(Record {
            id: id.clone(),
            folder_id: folder_id.to_owned(),
            created_at: now.clone(),
            updated_at: now,
            seq,
            fields,
        });
        id
    }
}

// --- Routes ------------------------------------------------------------------------------

pub fn routes() -> Router<AppState> {
    let path = |tail: &str| format!("{API_PREFIX}{tail}");
    Router::new()
        .route(&path("/triggers/readable-folder"), get(folders))
        .route(&path("/triggers/writable-folder"), get(folders))
        .route(
            &path("/triggers/folder-field/{folder_id}"),
            get(folder_fields),
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
    let needle = params
        .query
        .as_deref()
        .map(|q| squash(&search_value(q)))
        .filter(|n| !n.is_empty());
    let record_id = params.record_id.as_deref().filter(|id| !id.is_empty());
    let mut found: Vec<&Record> = nethunt
        .records_in(&folder_id)
        .filter(|r| record_id.is_none_or(|id| r.id == id))
        .filter(|r| needle.as_deref().is_none_or(|n| fuzzy_match(r, n)))
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
    let response = json!({
        "commentId": comment.id,
        "recordId": comment.record_id,
        "createdAt": comment.created_at,
        "text": comment.text,
    });
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
    let response = json!({
        "callLogId": log.id,
        "recordId": log.record_id,
        "createdAt": log.created_at,
        "text": log.text,
        "time": log.time,
        "duration": log.duration,
    });
    nethunt.call_logs.push(log);
    axum::Json(response).into_response()
}

// --- Search ------------------------------------------------------------------------------

/// The value searched for in a NetHunt query: `"Field":"value"`, `Field:"value"`,
/// `field:value` or a bare term. The field name is not used: the search is free-text.
pub fn search_value(query: &str) -> String {
    let query = query.trim();
    let value = if let Some(rest) = query.strip_prefix('"') {
        match rest.split_once('"') {
            // "Field":"value" or "Field":value
            Some((_, after)) if after.trim_start().starts_with(':') => {
                after.trim_start()[1..].trim()
            }
            // A quoted bare term.
            _ => query,
        }
    } else {
        match query.split_once(':') {
            Some((field, value)) if !field.is_empty() && !field.contains(char::is_whitespace) => {
                value.trim()
            }
            _ => query,
        }
    };
    let value = value.strip_prefix('"').unwrap_or(value);
    value.strip_suffix('"').unwrap_or(value).to_owned()
}

/// Lower case without whitespace and `()+-.`, so `+38 (050) 123-45-67` and `380501234567`
/// compare equal and one number "contains" a longer one.
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '+' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn fuzzy_match(record: &Record, needle: &str) -> bool {
    record.fields.values().any(|value| {
        texts_of(value)
            .iter()
            .any(|text| squash(text).contains(needle))
    })
}

fn texts_of(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items.iter().flat_map(texts_of).collect(),
        Value::Null | Value::Object(_) => Vec::new(),
    }
}

// --- Field values ------------------------------------------------------------------------

/// The field's value after `add`: single-value fields take it only when empty or
/// overwritten, multi-value ones append. `None` leaves the field empty.
fn add_value(
    nethunt: &NetHuntState,
    kind: FieldKind,
    current: Option<Value>,
    added: &Value,
    overwrite: bool,
) -> Result<Option<Value>, String> {
    match kind {
        FieldKind::Text => {
            let text = scalar_text(added)?;
            let keep = current.filter(|c| !overwrite && !is_empty(c));
            Ok(keep.or(text.map(Value::String)))
        }
        FieldKind::Person => {
            let people = text_list(added)?;
            if people.len() > 1 {
                return Err("a person field holds one person".into());
            }
            if let Some(bad) = people.iter().find(|p| person_email(p).is_none()) {
                return Err(format!("unknown person {bad:?}"));
            }
            let keep = current.filter(|c| !overwrite && !is_empty(c));
            Ok(keep.or_else(|| (!people.is_empty()).then(|| json!(people))))
        }
        FieldKind::Multi | FieldKind::RecordLink => {
            let items = text_list(added)?;
            if kind == FieldKind::RecordLink
                && let Some(missing) = items.iter().find(|id| nethunt.record(id).is_none())
            {
                return Err(format!("linked record {missing} not found"));
            }
            let mut list: Vec<String> = match current {
                Some(value) if !overwrite => text_list(&value)?,
                _ => Vec::new(),
            };
            for item in items {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
            Ok((!list.is_empty()).then(|| json!(list)))
        }
    }
}

fn remove_value(
    kind: FieldKind,
    current: Option<Value>,
    removed: &Value,
) -> Result<Option<Value>, String> {
    let Some(current) = current else {
        return Ok(None);
    };
    let removed = text_list(removed)?;
    match kind {
        FieldKind::Text => {
            let text = scalar_text(&current)?.unwrap_or_default();
            Ok((!removed.contains(&text)).then_some(current))
        }
        FieldKind::Multi | FieldKind::Person | FieldKind::RecordLink => {
            let rest: Vec<String> = text_list(&current)?
                .into_iter()
                .filter(|item| !removed.contains(item))
                .collect();
            Ok((!rest.is_empty()).then(|| json!(rest)))
        }
    }
}

fn scalar_text(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("expects a single value".into()),
    }
}

fn text_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => {
            let mut list = Vec::new();
            for item in items {
                if let Some(text) = scalar_text(item)? {
                    list.push(text);
                }
            }
            Ok(list)
        }
        other => Ok(scalar_text(other)?.into_iter().collect()),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The e-mail of a person value: `"Name <email>"` or a bare e-mail.
pub fn person_email(person: &str) -> Option<String> {
    let person = person.trim();
    let email = match (person.rfind('<'), person.ends_with('>')) {
        (Some(open), true) => &person[open + 1..person.len() - 1],
        _ => person,
    };
    let email = email.trim();
    (email.contains('@') && !email.contains(char::is_whitespace)).then(|| email.to_owned())
}

/// `olena.koval@example.com` → `Olena Koval`.
fn display_name_of(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    local
        .split(['.', '_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// --- Plumbing ----------------------------------------------------------------------------

/// NetHunt's error bodies are undocumented; plain text keeps adapters honest about that.
fn error(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

fn unknown_field(name: &str, folder: &Folder) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Field {name:?} not found in folder {:?}", folder.name),
    )
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

/// `2024-05-01T10:00:00Z` or with fractions / `+00:00`: a date-time in UTC.
fn is_iso_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes.get(4) == Some(&b'-')
        && bytes.get(10) == Some(&b'T')
        && (text.ends_with('Z') || text.ends_with("+00:00"))
}

/// Now as NetHunt writes `createdAt`: `2024-05-01T10:00:00.000Z`.
fn now_iso() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso_from_unix_millis(now.as_millis() as i64)
}

fn iso_from_unix_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, in_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        millis.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm),
/// so the sandbox needs no date crate.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// --- Page --------------------------------------------------------------------------------

pub fn html_section(state: &NetHuntState) -> String {
    let fields_text = |record: &Record| {
        record
            .fields
            .iter()
            .map(|(name, value)| format!("{name}: {}", texts_of(value).join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let records = |folder_id: &str| -> Vec<Vec<String>> {
        state
            .records_in(folder_id)
            .map(|r| vec![r.id.clone(), r.created_at.clone(), fields_text(r)])
            .collect()
    };
    let calls: Vec<Vec<String>> = state
        .call_logs
        .iter()
        .map(|log| {
            vec![
                log.record_id.clone(),
                log.time.clone().unwrap_or_default(),
                log.duration.map(|d| d.to_string()).unwrap_or_default(),
                log.text.clone(),
            ]
        })
        .collect();
    let comments: Vec<Vec<String>> = state
        .comments
        .iter()
        .map(|c| vec![c.record_id.clone(), c.created_at.clone(), c.text.clone()])
        .collect();
    let mut html = String::from("<h2>NetHunt</h2>");
    html.push_str(&format!(
        "<p>find-record answers {} when nothing matches.</p>",
        if state.not_found_as_404 {
            "404"
        } else {
            "<code>[]</code>"
        }
    ));
    html.push_str("<h3>Contacts</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Created", "Fields"],
        &records(CONTACTS_FOLDER_ID),
    ));
    html.push_str("<h3>Call logs</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Time", "Duration", "Text"],
        &calls,
    ));
    html.push_str("<h3>Comments</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Created", "Text"],
        &comments,
    ));
    html.push_str("<h3>Deals</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Created", "Fields"],
        &records(DEALS_FOLDER_ID),
    ));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_syntax_yields_its_value() {
        for (query, value) in [
            (r#""Телефон":"+380501234567""#, "+380501234567"),
            (r#""Телефон": "+380501234567""#, "+380501234567"),
            (r#"Email:"ivan@example.com""#, "ivan@example.com"),
            ("phone:380501234567", "380501234567"),
            ("380501234567", "380501234567"),
            (r#""Ivan Petrenko""#, "Ivan Petrenko"),
            ("Ivan Petrenko", "Ivan Petrenko"),
        ] {
            assert_eq!(search_value(query), value, "{query}");
        }
    }

    #[test]
    fn search_is_a_substring_match_after_squashing() {
        let mut state = NetHuntState::default();
        let exact = state.seed_contact("+38 (050) 123-45-67", "", "");
        let longer = state.seed_contact("+3805012345678", "", "");
        let extension = state.seed_contact("+380501234567 доб. 12", "", "");
        let other = state.seed_contact("+380671112233", "", "");
        let needle = squash(&search_value(r#""Телефон":"+380501234567""#));
        let hits: Vec<&str> = state
            .records
            .iter()
            .filter(|r| fuzzy_match(r, &needle))
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(hits, [exact.as_str(), longer.as_str(), extension.as_str()]);
        assert!(!hits.contains(&other.as_str()));
    }

    #[test]
    fn person_values_give_their_email() {
        assert_eq!(
            person_email("Olena Koval <olena@example.com>").as_deref(),
            Some("olena@example.com")
        );
        assert_eq!(
            person_email(" olena@example.com ").as_deref(),
            Some("olena@example.com")
        );
        assert_eq!(person_email("Olena Koval"), None);
        assert_eq!(display_name_of("olena.koval@example.com"), "Olena Koval");
    }

    #[test]
    fn single_value_fields_keep_their_value_unless_overwritten() {
        let state = NetHuntState::default();
        let current = Some(json!("google"));
        let kept = add_value(
            &state,
            FieldKind::Text,
            current.clone(),
            &json!("fb"),
            false,
        );
        assert_eq!(kept, Ok(Some(json!("google"))));
        let replaced = add_value(&state, FieldKind::Text, None, &json!("fb"), true);
        assert_eq!(replaced, Ok(Some(json!("fb"))));
        let appended = add_value(
            &state,
            FieldKind::Multi,
            Some(json!(["+380501234567"])),
            &json!("+380671112233"),
            false,
        );
        assert_eq!(
            appended,
            Ok(Some(json!(["+380501234567", "+380671112233"])))
        );
        let removed = remove_value(
            FieldKind::Multi,
            Some(json!(["+380501234567", "+380671112233"])),
            &json!("+380501234567"),
        );
        assert_eq!(removed, Ok(Some(json!(["+380671112233"]))));
    }

    #[test]
    fn the_page_shows_contacts_calls_comments_and_deals_escaped() {
        let mut state = NetHuntState::default();
        let contact = state.seed_contact("+380501234567", "<b>Іван</b>", "olena@acme.ua");
        state.comments.push(Comment {
            id: "c1".into(),
            record_id: contact.clone(),
            created_at: now_iso(),
            text: "AI: клієнт задоволений".into(),
        });
        state.call_logs.push(CallLog {
            id: "l1".into(),
            record_id: contact.clone(),
            created_at: now_iso(),
            text: "Вхідний дзвінок".into(),
            time: Some("2024-05-01T10:00:00.000Z".into()),
            duration: Some(1.58),
        });
        let mut deal = BTreeMap::new();
        deal.insert(fields::NAME.to_owned(), json!("Угода Івана"));
        deal.insert(fields::CONTACT.to_owned(), json!([contact]));
        state.insert_record(DEALS_FOLDER_ID, deal);

        let html = html_section(&state);

        for expected in [
            "&lt;b&gt;Іван&lt;/b&gt;",
            "Olena &lt;olena@acme.ua&gt;",
            "AI: клієнт задоволений",
            "Вхідний дзвінок",
            "1.58",
            "Угода Івана",
        ] {
            assert!(html.contains(expected), "{expected} missing from {html}");
        }
        assert!(!html.contains("<b>Іван"));
        assert_eq!(state.deals_of(&contact), ["Угода Івана"]);
    }

    #[test]
    fn deal_owners_are_read_from_deals_only() {
        let mut state = NetHuntState::default();
        let contact = state.seed_contact("+380501234567", "Іван", "bridge@acme.ua");
        let mut deal = BTreeMap::new();
        deal.insert(fields::NAME.to_owned(), json!("Угода Івана"));
        deal.insert(
            fields::MANAGER.to_owned(),
            json!(["Olena Koval <olena@acme.ua>"]),
        );
        deal.insert(fields::CONTACT.to_owned(), json!([contact]));
        let deal = state.insert_record(DEALS_FOLDER_ID, deal);

        assert_eq!(state.deal_owner_of(&deal).as_deref(), Some("olena@acme.ua"));
        assert_eq!(state.owner_of(&contact).as_deref(), Some("bridge@acme.ua"));
        assert_eq!(state.deal_owner_of(&contact), None, "a contact is no deal");
        assert_eq!(state.deal_owner_of("6650a1b2ffffffffffffffff"), None);
    }

    #[test]
    fn timestamps_are_iso_utc_with_milliseconds() {
        assert_eq!(iso_from_unix_millis(0), "1970-01-01T00:00:00.000Z");
        // 2024-05-01T10:00:00.250Z (a leap year, after February).
        assert_eq!(
            iso_from_unix_millis(1_714_557_600_250),
            "2024-05-01T10:00:00.250Z"
        );
        assert_eq!(
            iso_from_unix_millis(1_709_164_800_000),
            "2024-02-29T00:00:00.000Z"
        );
        assert!(is_iso_utc("2024-05-01T10:00:00.000Z"));
        assert!(!is_iso_utc("2024-05-01 10:00:00"));
    }
}
