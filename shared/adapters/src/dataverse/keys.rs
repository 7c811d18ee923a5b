//! Fenced creates: contacts, notes and deals get deterministic ids (UUID v5 in the deployment's
//! namespace), so a create repeated after an ambiguous failure, or raced by a second creator,
//! carries the same id and Dataverse refuses it (`docs/vendor-contracts.md`, "Smart CRM:
//! Microsoft Dataverse Web API and Entra ID", DV23, DV36, DV37).

use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::CrmError;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use super::Dataverse;
use super::odata::{error_of, success_json};
use super::web_api::ApiRequest;

/// The namespace of a deployment that sets no `DATAVERSE_ID_NAMESPACE`: UUID v5 of the
/// environment URL in the RFC 4122 URL namespace. The URL is taken as the URL parser writes
/// it, without a trailing slash (`https://org.crm4.dynamics.com`): scheme and host in lower
/// case, so spellings of one environment agree.
pub fn default_id_namespace(environment_url: &str) -> Uuid {
    let trimmed = environment_url.trim().trim_end_matches('/');
    let normalised = reqwest::Url::parse(trimmed).map_or_else(
        |_| trimmed.to_owned(),
        |url| url.as_str().trim_end_matches('/').to_owned(),
    );
    Uuid::new_v5(&Uuid::NAMESPACE_URL, normalised.as_bytes())
}

/// The ids of the records the bridge creates, all in one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Keys {
    pub(super) namespace: Uuid,
}

impl Keys {
    /// `contactid` of the contact created for a number: v5 of its E.164 form.
    pub(super) fn contact(self, phone: &PhoneNumber) -> Uuid {
        Uuid::new_v5(&self.namespace, phone.e164().as_bytes())
    }

    /// `annotationid` of the note written for a Ringostat call: v5 of `note:<call id>`.
    pub(super) fn note(self, call_id: &str) -> Uuid {
        Uuid::new_v5(&self.namespace, format!("note:{call_id}").as_bytes())
    }

    /// `opportunityid` of the deal created for a contact: v5 of `deal:<contactid>`, the
    /// contact's GUID in lower-case hyphenated form.
    pub(super) fn deal(self, contact_guid: &str) -> Uuid {
        Uuid::new_v5(&self.namespace, format!("deal:{contact_guid}").as_bytes())
    }
}

/// Whether a refused create means "a row with this key already exists": 412 (`0x80040237`,
/// "A record with matching key values already exists."), or a 5xx carrying that message.
pub(super) fn is_duplicate_key(status: StatusCode, message: &str) -> bool {
    status == StatusCode::PRECONDITION_FAILED
        || (status.is_server_error()
            && (message.contains("matching key values already exists")
                || message.contains("0x80040237")))
}

/// What a fenced create came to.
pub(super) enum Keyed {
    /// Written now.
    Created(Response),
    /// A row with the key exists already (an earlier attempt, or another creator); `row` is
    /// the row when it had to be read to find out.
    Taken { row: Option<Value> },
}

impl Dataverse {
    /// Sends a create that carries its own key (`Replay::Safe`: a repeat is refused, never
    /// doubled). A duplicate-key refusal is [`Keyed::Taken`]; so is a transient failure after
    /// which `read_path` (the row by its key) finds the row, since `http::send` keeps no 5xx
    /// body once its retries run out (a duplicate can come back as a 500, DV23).
    pub(super) async fn post_keyed(
        &self,
        request: &ApiRequest,
        read_path: &str,
        deadline: Deadline,
    ) -> Result<Keyed, CrmError> {
        match self.execute(request, deadline).await {
            Ok(response) if response.status().is_success() => Ok(Keyed::Created(response)),
            Ok(response) => {
                let status = response.status();
                let error = error_of(response).await;
                if is_duplicate_key(status, &error.to_string()) {
                    Ok(Keyed::Taken { row: None })
                } else {
                    Err(error)
                }
            }
            Err(error) if error.is_transient() => match self.read_row(read_path, deadline).await {
                Ok(Some(row)) => Ok(Keyed::Taken { row: Some(row) }),
                _ => Err(error),
            },
            Err(error) => Err(error),
        }
    }

    /// One row by its key; `None` when it does not exist.
    pub(super) async fn read_row(
        &self,
        path: &str,
        deadline: Deadline,
    ) -> Result<Option<Value>, CrmError> {
        let response = self
            .execute(&ApiRequest::get(path.to_owned()), deadline)
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        success_json(response).await.map(Some)
    }
}
