//! The call-log export (`GET /calls/list`): one request, and a window split until every slice
//! fits under Ringostat's per-request limit.

use bridge_domain::deadline::Deadline;
use bridge_domain::ringostat::payload::json_kind;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::errors::{shorten, verdict};
use super::{CallRow, CallWindow, RingostatApi, RingostatApiError};
use crate::http::{self, Replay};

const CALLS_LIST_PATH: &str = "/calls/list";

/// Most calls `calls/list` returns for one request ("не більше 6 500 дзвінків";
/// `docs/vendor-contracts.md`, "Ringostat API (outgoing calls from the bridge)", RA3). An
/// answer this long may be truncated.
pub const CALLS_PER_REQUEST: usize = 6500;

/// The call-log columns the bridge asks `calls/list` for: the canonical names
/// (`docs/vendor-contracts.md`, "Field names and aliases", RF1), the same keys the webhooks
/// are configured with (RF2).
pub const EXPORT_FIELDS: [&str; 24] = [
    "uniqueid",
    "calldate",
    "call_type",
    "caller",
    "dst",
    "disposition",
    "duration",
    "billsec",
    "waittime",
    "employee_number",
    "employee_fio",
    "department",
    "connected_with",
    "has_recording",
    "recording",
    "call_card",
    "pool_name",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "client_id",
    "landing",
];

/// Keys under which an export wrapped in an object may carry its rows ([INFERRED]: the doc
/// shows a bare array).
const WRAPPER_KEYS: [&str; 4] = ["data", "calls", "items", "result"];

/// Query values: everything but RFC 3986 unreserved characters is encoded (a space becomes
/// `%20`, never `+`), so any server decodes them the same way.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl RingostatApi {
    /// GET {base}/calls/list, header `Auth-key`, query `export_type=json`, `from`, `to`,
    /// `fields` ([`EXPORT_FIELDS`]) and `order=calldate asc` (`docs/vendor-contracts.md`,
    /// "Ringostat API (outgoing calls from the bridge)", RA2): the calls of `window` as
    /// Ringostat sends them, in its order.
    ///
    /// One request, so at most [`CALLS_PER_REQUEST`] calls: an answer that long may be
    /// truncated, which [`Self::calls_in_slices`] handles. Rows may still be running
    /// (`disposition` `IN PROGRESS` / `CALLING`; `docs/vendor-contracts.md`, "Statuses and call
    /// types", RS3) and need fetching again later.
    ///
    /// The answer is expected to be a JSON array of objects; an object carrying that array
    /// under `data`, `calls`, `items` or `result` is accepted too ([INFERRED]). Anything else,
    /// and errors answered with HTTP 200, are [`RingostatApiError::Rejected`]. A read: retried
    /// on any transient failure.
    pub async fn calls(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        if window.span_seconds() < 0 {
            return Err(RingostatApiError::Config(format!(
                "call window ends before it starts ({window})"
            )));
        }
        let url = format!(
            "{}{CALLS_LIST_PATH}?{}",
            self.config.base_url,
            calls_query(&window)
        );
        let response = http::send(
            || {
                self.client
                    .get(&url)
                    .header("Auth-key", self.config.auth_key.expose())
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        let status = response.status();
        let body = match response.text().await {
            Ok(body) => body,
            // A cut-off export is worth fetching again.
            Err(e) if status.is_success() => {
                return Err(RingostatApiError::Transient(format!(
                    "calls/list answer could not be read: {e}"
                )));
            }
            Err(_) => String::new(),
        };
        verdict(status, &body)?;
        calls_in(&body).map_err(|message| RingostatApiError::Rejected {
            status: status.as_u16(),
            message,
        })
    }

    /// Every call of `window`, however many: a request that comes back with the limit's worth
    /// of calls (see [`Self::with_calls_limit`]) may have been cut short, so its window is
    /// halved and each half fetched, again and again until each answer fits. A window within
    /// one second that still hits the limit cannot be split: its calls are kept as returned
    /// and a warning is logged.
    ///
    /// Calls are deduplicated by `uniqueid` (halves share their boundary second, and Ringostat
    /// has been seen to repeat a call in one export, `docs/vendor-contracts.md`, "Ringostat API
    /// (outgoing calls from the bridge)", RA7): a call keeps its first place and takes the copy
    /// fetched last, the freshest (an `IN PROGRESS` row may have finished meanwhile). The
    /// result is ordered by `calldate`; rows without a `uniqueid` are all kept.
    pub async fn calls_in_slices(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        // Windows still to fetch, the earliest last so it is fetched first.
        let mut pending = vec![window];
        let mut rows = Vec::new();
        let mut requests = 0_usize;
        while let Some(slice) = pending.pop() {
            let batch = self.calls(slice, deadline).await?;
            requests += 1;
            if batch.len() < self.calls_limit {
                rows.extend(batch);
                continue;
            }
            match slice.halves() {
                Some((first, second)) => {
                    tracing::debug!(window = %slice, calls = batch.len(), "calls/list hit its limit: splitting the window");
                    pending.push(second);
                    pending.push(first);
                }
                None => {
                    tracing::warn!(
                        window = %slice,
                        calls = batch.len(),
                        limit = self.calls_limit,
                        "calls/list hit its limit within one second: some calls may be missing"
                    );
                    rows.extend(batch);
                }
            }
        }
        let calls = dedupe_calls(rows);
        tracing::debug!(window = %window, requests, calls = calls.len(), "call log fetched");
        Ok(calls)
    }
}

/// The query string of a `calls/list` request, every value percent-encoded.
pub(super) fn calls_query(window: &CallWindow) -> String {
    let fields = EXPORT_FIELDS.join(",");
    let from = window.from_param();
    let to = window.to_param();
    [
        ("export_type", "json"),
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("fields", fields.as_str()),
        ("order", "calldate asc"),
    ]
    .iter()
    .map(|(key, value)| format!("{key}={}", utf8_percent_encode(value, QUERY_VALUE)))
    .collect::<Vec<_>>()
    .join("&")
}

/// The rows of a successful `calls/list` body, or why it is not an export (the body itself is
/// not quoted: it would carry phone numbers).
pub(super) fn calls_in(body: &str) -> Result<Vec<CallRow>, String> {
    let value: Value = serde_json::from_str(body).map_err(|_| {
        if body.trim().is_empty() {
            "calls/list answered an empty body instead of a JSON array of calls".to_owned()
        } else {
            "calls/list answered something that is not JSON (expected a JSON array of calls)"
                .to_owned()
        }
    })?;
    let rows = match value {
        Value::Array(rows) => rows,
        Value::Object(mut object) => {
            let key = WRAPPER_KEYS
                .iter()
                .find(|key| object.get(**key).is_some_and(Value::is_array));
            match key.and_then(|key| object.remove(*key)) {
                Some(Value::Array(rows)) => rows,
                _ => {
                    let keys: Vec<&str> = object.keys().map(String::as_str).take(10).collect();
                    return Err(shorten(&format!(
                        "calls/list answered an object without a list of calls (keys: {}); \
                         expected a JSON array of calls",
                        keys.join(", ")
                    )));
                }
            }
        }
        other => {
            return Err(format!(
                "calls/list answered {} instead of a JSON array of calls",
                json_kind(&other)
            ));
        }
    };
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| match row {
            Value::Object(row) => Ok(row),
            other => Err(format!(
                "calls/list row {index} is {} instead of an object",
                json_kind(&other)
            )),
        })
        .collect()
}

/// One row per `uniqueid` at its first place with its last copy, then ordered by `calldate`
/// (stable; rows without a readable `calldate` go last).
pub(super) fn dedupe_calls(rows: Vec<CallRow>) -> Vec<CallRow> {
    let mut kept: Vec<CallRow> = Vec::with_capacity(rows.len());
    let mut places = std::collections::HashMap::new();
    for row in rows {
        match call_id(&row) {
            Some(id) => match places.get(&id) {
                Some(&place) => kept[place] = row,
                None => {
                    places.insert(id, kept.len());
                    kept.push(row);
                }
            },
            None => kept.push(row),
        }
    }
    kept.sort_by_cached_key(|row| {
        let key = calldate_key(row);
        (key.is_none(), key)
    });
    kept
}

/// A row's `uniqueid` as text, when it has a non-blank one.
pub(super) fn call_id(row: &CallRow) -> Option<String> {
    match row.get("uniqueid")? {
        Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// `calldate` as `YYYY-MM-DD HH:MM:SS`, which sorts as text: the export's
/// `2019-06-02T09:30:47+0300` (`docs/vendor-contracts.md`, "Field names and aliases", RF1)
/// and the plain form both qualify.
fn calldate_key(row: &CallRow) -> Option<String> {
    let raw = row.get("calldate")?.as_str()?.trim();
    let head = raw.get(..19)?;
    let shape_ok = head.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ' || b == b'T' || b == b't',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    shape_ok.then(|| format!("{} {}", &head[..10], &head[11..]))
}
