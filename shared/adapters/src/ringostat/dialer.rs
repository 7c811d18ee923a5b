//! Click-to-call (`POST /callback/outward_call`): Ringostat rings the manager's number, then the
//! client. Never replayed once Ringostat may have acted: it would ring twice.

use bridge_domain::deadline::Deadline;
use reqwest::header::CONTENT_TYPE;

use super::errors::check;
use super::{RingostatApi, RingostatApiError};
use crate::http::{self, Replay};

const OUTWARD_CALL_PATH: &str = "/callback/outward_call";

impl RingostatApi {
    /// POST {base}/callback/outward_call, header `Auth-key`, form body
    /// `extension=..&destination=..`. `extension` is a project number (`380441112233`),
    /// `destination` a number in Ringostat's format (digits, no `+`) or a SIP login.
    /// Never retried after a timeout or 5xx: it would ring twice.
    pub async fn outward_call(
        &self,
        extension: &str,
        destination: &str,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        let body = outward_call_body(extension, destination);
        let url = format!("{}{OUTWARD_CALL_PATH}", self.config.base_url);
        let response = http::send(
            || {
                self.client
                    .post(&url)
                    .header("Auth-key", self.config.auth_key.expose())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            },
            Replay::OnlyIfNotProcessed,
            &self.policy,
            deadline,
        )
        .await?;
        check(response).await
    }
}

/// `extension=…&destination=…`, form-encoded.
pub(super) fn outward_call_body(extension: &str, destination: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("extension", extension.trim())
        .append_pair("destination", destination.trim())
        .finish()
}
