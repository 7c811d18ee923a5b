//! One Web API request: the OData headers, the bearer token, and one more try with a fresh
//! token after a 401.

use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use reqwest::header::{ACCEPT, CONTENT_TYPE, IF_MATCH};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use super::Dataverse;
use super::odata::{error_of, guid};
use crate::http::{self, Replay};

/// A table the adapter updates: where its rows live and what an id of it is called.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table {
    entity_set: &'static str,
    logical_name: &'static str,
}

impl Table {
    pub(super) const CONTACT: Self = Self {
        entity_set: "contacts",
        logical_name: "contact",
    };
    pub(super) const OPPORTUNITY: Self = Self {
        entity_set: "opportunities",
        logical_name: "opportunity",
    };
}

/// One Web API request; rebuilt for every attempt.
pub(super) struct ApiRequest {
    method: Method,
    /// Relative to the API root: `contacts(<id>)?$select=…`.
    path: String,
    body: Option<Vec<u8>>,
    prefer: Option<&'static str>,
    /// `If-Match: *`: update only, never create through PATCH's upsert.
    if_match_any: bool,
    replay: Replay,
}

impl ApiRequest {
    pub(super) fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            prefer: None,
            if_match_any: false,
            replay: Replay::Safe,
        }
    }

    pub(super) fn post(path: String, body: &Value, replay: Replay) -> Self {
        Self {
            method: Method::POST,
            path,
            body: Some(body.to_string().into_bytes()),
            prefer: None,
            if_match_any: false,
            replay,
        }
    }

    /// An update of an existing record: repeating it writes the same values again.
    pub(super) fn update(path: String, body: &Value) -> Self {
        Self {
            method: Method::PATCH,
            path,
            body: Some(body.to_string().into_bytes()),
            prefer: None,
            if_match_any: true,
            replay: Replay::Safe,
        }
    }

    /// `DELETE <set>(<id>)`: repeating it finds nothing to delete (404), so it is replayed
    /// like a read.
    pub(super) fn delete(path: String) -> Self {
        Self {
            method: Method::DELETE,
            path,
            body: None,
            prefer: None,
            if_match_any: false,
            replay: Replay::Safe,
        }
    }

    pub(super) fn prefer(mut self, prefer: &'static str) -> Self {
        self.prefer = Some(prefer);
        self
    }
}

impl Dataverse {
    /// Sends with the cached token; on 401 fetches a new token once and sends again.
    pub(super) async fn execute(
        &self,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<Response, CrmError> {
        let token = self.token(deadline).await?;
        let response = self.send(&token, request, deadline).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        // Revoked, or expired earlier than announced: one fresh token, one more try.
        tracing::debug!("Dataverse answered 401; fetching a new token");
        self.forget_token(&token).await;
        let token = self.token(deadline).await?;
        let response = self.send(&token, request, deadline).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(CrmError::Auth(
                "Dataverse refused a freshly issued token (401): is the application user set up \
                 in the environment?"
                    .into(),
            ));
        }
        Ok(response)
    }

    async fn send(
        &self,
        token: &str,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<Response, CrmError> {
        let url = format!("{}/{}", self.api, request.path);
        http::send(
            || {
                let mut builder = self
                    .http
                    .request(request.method.clone(), &url)
                    .bearer_auth(token)
                    .header(ACCEPT, "application/json")
                    .header("OData-MaxVersion", "4.0")
                    .header("OData-Version", "4.0");
                if let Some(prefer) = request.prefer {
                    builder = builder.header("Prefer", prefer);
                }
                if request.if_match_any {
                    builder = builder.header(IF_MATCH, "*");
                }
                if let Some(body) = &request.body {
                    builder = builder
                        .header(CONTENT_TYPE, "application/json; charset=utf-8")
                        .body(body.clone());
                }
                builder
            },
            request.replay,
            &self.policy,
            deadline,
        )
        .await
        .map_err(CrmError::from)
    }

    /// Updates an existing record of `table`; `If-Match: *` makes a missing one a 404
    /// (NotFound) instead of an upsert that would create it.
    pub(super) async fn patch_record(
        &self,
        table: Table,
        record_id: &str,
        body: &Value,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let id = guid(record_id, table.logical_name)?;
        let request = ApiRequest::update(format!("{}({id})", table.entity_set), body);
        let response = self.execute(&request, deadline).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }
}
