//! What `bridge-ops doctor` asks of the environment before the first call needs it: does each
//! configured table and column exist (a `$top=1` read selecting the column, which every
//! Dataverse answers; its type from `EntityDefinitions` metadata where the server has it), and
//! is each configured user a real, enabled `systemuser`. Read-only.

use std::time::{Duration, Instant};

use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::CrmError;
use reqwest::StatusCode;
use serde_json::Value;

use super::Dataverse;
use super::contacts::SearchStep;
use super::odata::{encode_query_value, error_of, non_empty, odata_string, parse_guid, rows};
use super::web_api::ApiRequest;
use crate::http;

/// What a one-row read selecting a column said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnProbe {
    /// The table has the column.
    Present,
    /// Dataverse refused the read: the column (or the table) does not exist; its message.
    Missing(String),
}

/// What one step of the contact search did.
#[derive(Debug)]
pub struct SearchProbe {
    pub step: SearchStep,
    /// The rows the server returned, or why it did not.
    pub outcome: Result<usize, CrmError>,
    /// From the request to the answer (the token included on a first request).
    pub took: Duration,
}

/// A `systemuser` as the doctor needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFacts {
    pub id: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
}

impl Dataverse {
    /// `https://<org>…/api/data/v9.2`, for messages.
    pub fn api_url(&self) -> &str {
        &self.api
    }

    /// Entra's token endpoint, for messages.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// `GET <entity_set>?$select=<column>&$top=1`.
    pub async fn probe_column(
        &self,
        entity_set: &str,
        column: &str,
        deadline: Deadline,
    ) -> Result<ColumnProbe, CrmError> {
        let path = format!("{entity_set}?$select={}&$top=1", encode_query_value(column));
        let response = self.execute(&ApiRequest::get(path), deadline).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(ColumnProbe::Present);
        }
        if status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND {
            let body = response.text().await.unwrap_or_default();
            return Ok(ColumnProbe::Missing(http::crm_message(&body)));
        }
        Err(error_of(response).await)
    }

    /// Runs each step of the contact search for `phone` (the fragment step only when it is
    /// configured, and whatever the first one found), timed: what a lookup of a number not in
    /// the CRM costs.
    pub async fn probe_search(&self, phone: &PhoneNumber, deadline: Deadline) -> Vec<SearchProbe> {
        let mut steps = vec![SearchStep::Whole];
        if self.config.fragment_search {
            steps.push(SearchStep::Fragments);
        }
        let mut probes = Vec::new();
        for step in steps {
            let started = Instant::now();
            let outcome = self
                .search_step(phone, step, deadline)
                .await
                .map(|result| result.rows);
            probes.push(SearchProbe {
                step,
                outcome,
                took: started.elapsed(),
            });
        }
        probes
    }

    /// The column's `AttributeType` (`String`, `Memo`, `Picklist`, …) from the metadata;
    /// `None` when the server does not serve it (the sandbox) or it cannot be read.
    pub async fn column_type(
        &self,
        entity_logical_name: &str,
        column: &str,
        deadline: Deadline,
    ) -> Option<String> {
        let path = format!(
            "EntityDefinitions(LogicalName={})/Attributes(LogicalName={})?$select=AttributeType",
            encode_query_value(&odata_string(entity_logical_name)),
            encode_query_value(&odata_string(column)),
        );
        let response = self.execute(&ApiRequest::get(path), deadline).await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        non_empty(body.get("AttributeType"))
    }

    /// The `systemuser` with this id; `None` when there is none (or `id` is no GUID).
    pub async fn system_user(
        &self,
        id: &str,
        deadline: Deadline,
    ) -> Result<Option<UserFacts>, CrmError> {
        let Some(guid) = parse_guid(id) else {
            return Ok(None);
        };
        let path = format!(
            "systemusers({guid})?$select=systemuserid,fullname,internalemailaddress,isdisabled"
        );
        let response = self.execute(&ApiRequest::get(path), deadline).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        let user: Value = response.json().await.map_err(|_| CrmError::Rejected {
            status: 200,
            message: "Dataverse answered with something that is not JSON".into(),
        })?;
        Ok(Some(user_facts(&user, &guid)))
    }

    /// The users (enabled or not) whose primary e-mail is `email`, for a fix that names the
    /// systemuserid to use instead.
    pub async fn system_users_by_email(
        &self,
        email: &str,
        deadline: Deadline,
    ) -> Result<Vec<UserFacts>, CrmError> {
        let filter = format!("internalemailaddress eq {}", odata_string(email.trim()));
        let path = format!(
            "systemusers?$select=systemuserid,fullname,internalemailaddress,isdisabled&$filter={}&$top=5",
            encode_query_value(&filter)
        );
        let response = self.execute(&ApiRequest::get(path), deadline).await?;
        if !response.status().is_success() {
            return Err(error_of(response).await);
        }
        let body: Value = response.json().await.map_err(|_| CrmError::Rejected {
            status: 200,
            message: "Dataverse answered with something that is not JSON".into(),
        })?;
        Ok(rows(&body)
            .iter()
            .filter_map(|user| {
                let id = user.get("systemuserid")?.as_str()?;
                Some(user_facts(user, id))
            })
            .collect())
    }
}

fn user_facts(user: &Value, id: &str) -> UserFacts {
    UserFacts {
        id: id.to_owned(),
        full_name: non_empty(user.get("fullname")),
        email: non_empty(user.get("internalemailaddress")),
        disabled: user
            .get("isdisabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}
