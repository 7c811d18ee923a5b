//! `GET /calls/list`: the call-log export, served from the seeded log.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{CALLS_LIST_LIMIT, error, refuse_key};
use crate::AppState;

/// The call-log columns `docs/vendor-contracts.md` lists (`refferrer` sic), plus `employee_fio`.
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

/// What a `calls/list` query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CallQuery {
    /// `YYYY-MM-DD HH:MM:SS`, which sorts as text.
    pub(super) from: String,
    pub(super) to: String,
    /// `None`: every key of the row.
    pub(super) fields: Option<Vec<String>>,
    pub(super) descending: bool,
}

/// Why a query cannot be served: a 400 for a malformed request, a 200 with an error for a
/// well-formed one Ringostat refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum QueryProblem {
    BadRequest(String),
    Refused(&'static str, String),
}

pub(super) fn call_query(params: &BTreeMap<String, String>) -> Result<CallQuery, QueryProblem> {
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
pub(super) fn select_calls(log: &[Value], query: &CallQuery, limit: usize) -> Vec<Value> {
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

pub(super) async fn calls_list(
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
