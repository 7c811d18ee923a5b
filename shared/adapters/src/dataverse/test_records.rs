//! Test records in Smart CRM: found by their deterministic ids (the phone call's `activityid`
//! from the call id, the deal's from the contact's) and removed with `DELETE <set>(<id>)`
//! (docs/vendor-contracts.md, DV41).

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::Value;

use super::Dataverse;
use super::odata::{error_of, non_empty, parse_guid};
use super::phonecall::activity_id;
use super::web_api::ApiRequest;
use crate::test_records::{Removal, TestRecord, TestRecords};

#[async_trait]
impl TestRecords for Dataverse {
    async fn logged_call_text(
        &self,
        contact_id: &str,
        call_id: &str,
        _since: Timestamp,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let path = format!(
            "phonecalls({})?$select=subject,description,_regardingobjectid_value",
            activity_id(call_id).hyphenated()
        );
        let Some(row) = self.read_row(&path, deadline).await? else {
            return Ok(None);
        };
        let regarding = non_empty(row.get("_regardingobjectid_value"));
        if regarding.as_deref().map(str::to_ascii_lowercase) != parse_guid(contact_id) {
            return Ok(None);
        }
        let text = [row.get("subject"), row.get("description")]
            .into_iter()
            .filter_map(|value| value.and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Some(text))
    }

    async fn deal_of(
        &self,
        contact_id: &str,
        _deal_name: &str,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let Some(id) = self.deal_id_for(contact_id) else {
            return Ok(None);
        };
        let path = format!("opportunities({id})?$select=opportunityid");
        Ok(self.read_row(&path, deadline).await?.map(|_| id))
    }

    async fn remove(&self, record: &TestRecord, deadline: Deadline) -> Removal {
        let (set, id) = match record {
            TestRecord::Contact { id } => ("contacts", parse_guid(id)),
            TestRecord::Deal { id } => ("opportunities", parse_guid(id)),
            TestRecord::Call { call_id, .. } => (
                "phonecalls",
                Some(activity_id(call_id).hyphenated().to_string()),
            ),
            TestRecord::Note { call_id, .. } => ("annotations", Some(self.note_id_for(call_id))),
        };
        let Some(id) = id else {
            return Removal::Failed(CrmError::Config(format!(
                "{} is not a Dataverse id",
                record.describe()
            )));
        };
        let response = match self
            .execute(&ApiRequest::delete(format!("{set}({id})")), deadline)
            .await
        {
            Ok(response) => response,
            Err(error) => return Removal::Failed(error),
        };
        match response.status() {
            status if status.is_success() => Removal::Removed,
            StatusCode::NOT_FOUND => Removal::AlreadyGone,
            _ => Removal::Failed(error_of(response).await),
        }
    }
}
