//! Smart Phone contact sync (`POST /minicrm/contacts/sync`): the CRM contact pushed to
//! Ringostat's Smart Phone app and contact book.

use bridge_domain::deadline::Deadline;
use serde_json::{Map, Value, json};

use super::errors::check;
use super::{RingostatApi, RingostatApiError, SmartPhoneContact};
use crate::http::{self, Replay};

const SYNC_PATH: &str = "/minicrm/contacts/sync";

/// `responsible` when the CRM names nobody. The doc lists the field as required without
/// saying it may be null; the one working implementation known (`devSviat/Ringostat-OkayCMS`)
/// sends `"0"` then, so the bridge does the same rather than risk a rejected sync.
const UNKNOWN_RESPONSIBLE: &str = "0";

impl RingostatApi {
    /// POST {base}/minicrm/contacts/sync, headers `auth-key`, `x-project-id`, JSON body
    /// `{"contacts":[{...}]}` in the documented shape (`docs/vendor-contracts.md`, "Ringostat
    /// API (outgoing calls from the bridge)", RA10). Needs the project id.
    /// An upsert by `externalId`, hence retried on any transient failure.
    pub async fn sync_contact(
        &self,
        contact: &SmartPhoneContact,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        let project_id = self
            .config
            .project_id
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| {
                RingostatApiError::Config("contact sync needs the Ringostat project id".into())
            })?;
        let body = sync_body(contact, project_id, &self.config.origin);
        let url = format!("{}{SYNC_PATH}", self.config.base_url);
        let response = http::send(
            || {
                self.client
                    .post(&url)
                    .header("auth-key", self.config.auth_key.expose())
                    .header("x-project-id", project_id)
                    .json(&body)
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        let outcome = check(response).await;
        if let Err(error) = &outcome {
            tracing::debug!(phone = %contact.phone.masked(), %error, "Ringostat contact sync failed");
        }
        outcome
    }
}

/// The documented sync body for one contact.
pub(super) fn sync_body(contact: &SmartPhoneContact, project_id: &str, origin: &str) -> Value {
    // `projectId` is an int in the doc; a non-numeric id is sent as given rather than dropped.
    let project = project_id
        .parse::<u64>()
        .map_or_else(|_| json!(project_id), |id| json!(id));
    let full_name = match contact.full_name.trim() {
        "" => contact.phone.e164(),
        name => name,
    };
    let mut directions = vec![direction("phone", contact.phone.e164())];
    if let Some(email) = non_blank(contact.email.as_deref()) {
        directions.push(direction("email", email));
    }
    let responsible = non_blank(contact.responsible.as_deref()).unwrap_or(UNKNOWN_RESPONSIBLE);
    let mut entry = Map::new();
    entry.insert("projectId".into(), project);
    entry.insert("fullName".into(), json!(full_name));
    entry.insert("origin".into(), json!(origin));
    entry.insert("externalId".into(), json!(contact.external_id.trim()));
    entry.insert("leadId".into(), Value::Null);
    entry.insert("responsible".into(), json!(responsible));
    entry.insert("staffId".into(), Value::Null);
    entry.insert(
        "contactLink".into(),
        non_blank(contact.contact_link.as_deref()).map_or(Value::Null, |link| json!(link)),
    );
    entry.insert("leadLink".into(), Value::Null);
    entry.insert("dealLink".into(), Value::Null);
    entry.insert("googleClientId".into(), Value::Null);
    entry.insert("contactDirections".into(), Value::Array(directions));
    entry.insert("organizations".into(), json!([]));
    json!({ "contacts": [Value::Object(entry)] })
}

fn direction(kind: &str, value: &str) -> Value {
    json!({"type": kind, "name": "personal", "value": value})
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
