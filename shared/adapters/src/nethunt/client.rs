//! Talking to the API: URLs with every component percent-encoded, Basic auth on each request,
//! find-record, writes that are never replayed blindly, and reading the answers.

use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use bridge_domain::ringostat::payload::json_kind;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::AUTHORIZATION;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::NetHunt;
use crate::http::{self, Replay};

/// Query values and path segments: everything but RFC 3986 unreserved characters is encoded,
/// so `+` in a number, quotes and Cyrillic field names survive any server's decoding.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(super) fn encode(component: &str) -> String {
    utf8_percent_encode(component, COMPONENT).to_string()
}

impl NetHunt {
    pub(super) fn url(&self, action: &str, id: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}/{action}/{}", self.base, encode(id));
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&encode(value));
        }
        url
    }

    fn request(&self, build: impl Fn() -> RequestBuilder) -> impl Fn() -> RequestBuilder {
        move || build().header(AUTHORIZATION, self.auth.clone())
    }

    /// find-record in the Contacts folder; 404 and `[]` are both "nothing matched".
    pub(super) async fn find_records(
        &self,
        query: &[(&str, &str)],
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        self.find_records_in(&self.config.contacts_folder_id, query, deadline)
            .await
    }

    /// find-record in `folder_id`; 404 and `[]` are both "nothing matched".
    pub(super) async fn find_records_in(
        &self,
        folder_id: &str,
        query: &[(&str, &str)],
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        let url = self.url("searches/find-record", folder_id, query);
        self.get_list("find-record", &url, true, deadline).await
    }

    /// A GET answered with a JSON array, retried like every read; `not_found_is_empty`: a 404
    /// means "nothing" (find-record) rather than an error.
    pub(super) async fn get_list(
        &self,
        operation: &str,
        url: &str,
        not_found_is_empty: bool,
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        let response = http::send(
            self.request(|| self.client.get(url)),
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        if not_found_is_empty && response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !response.status().is_success() {
            return Err(http::error_from(response).await);
        }
        match read_json(response).await? {
            Value::Array(items) => Ok(items),
            other => Err(unexpected(
                operation,
                &format!("expected an array, got {}", json_kind(&other)),
            )),
        }
    }

    /// A POST that must not be replayed after NetHunt may have acted on it. Returns the
    /// response whatever its status; the caller reads 404 in its own terms.
    pub(super) async fn post(
        &self,
        url: &str,
        body: &Value,
        deadline: Deadline,
    ) -> Result<Response, CrmError> {
        http::send(
            self.request(|| self.client.post(url).json(body)),
            Replay::OnlyIfNotProcessed,
            &self.policy,
            deadline,
        )
        .await
        .map_err(CrmError::from)
    }
}

/// A write on an existing record: 404 means the record is gone, success gives the body.
pub(super) async fn expect_record(response: Response, record_id: &str) -> Result<Value, CrmError> {
    if response.status() == StatusCode::NOT_FOUND {
        return Err(CrmError::NotFound(format!("NetHunt record {record_id}")));
    }
    if !response.status().is_success() {
        return Err(http::error_from(response).await);
    }
    // Only ids are read from these bodies (`docs/vendor-contracts.md`, "NetHunt CRM Integration
    // API", NH19); an empty or odd body still means success.
    Ok(read_json(response).await.unwrap_or(Value::Null))
}

pub(super) async fn read_json(response: Response) -> Result<Value, CrmError> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| CrmError::Transient(format!("reading NetHunt response: {e}")))?;
    serde_json::from_slice(&body).map_err(|_| CrmError::Rejected {
        status,
        message: format!(
            "NetHunt answered with a body that is not JSON: {}",
            http::crm_message(&String::from_utf8_lossy(&body))
        ),
    })
}

/// A success response without what the operation needs. Not transient: replaying a write that
/// NetHunt accepted would duplicate it.
pub(super) fn unexpected(operation: &str, what: &str) -> CrmError {
    CrmError::Rejected {
        status: 200,
        message: format!("unexpected NetHunt {operation} response: {what}"),
    }
}
