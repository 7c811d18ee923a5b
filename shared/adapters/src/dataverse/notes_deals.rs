//! Notes (`annotation`, for the AI analysis) and deals (`opportunity`).

use bridge_domain::activity::ContactRef;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::{CrmError, DealRef, NewDeal};
use serde_json::{Map, Value, json};

use super::Dataverse;
use super::odata::{created_id, error_of, guid, parse_guid, truncate, user_guid};
use super::web_api::ApiRequest;
use crate::http::Replay;

/// Column lengths of the standard `annotation` and `opportunity` tables
/// (`docs/vendor-contracts.md`, "Smart CRM: Microsoft Dataverse Web API and Entra ID", DV30,
/// DV31).
const NOTE_TITLE_MAX_CHARS: usize = 500;
const DEAL_NAME_MAX_CHARS: usize = 300;

impl Dataverse {
    /// `Crm::add_note`: an `annotation` on the contact.
    pub(super) async fn insert_note(
        &self,
        contact_id: &str,
        title: &str,
        text: &str,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let contact = guid(contact_id, "contact")?;
        let body = json!({
            "subject": truncate(title, NOTE_TITLE_MAX_CHARS),
            "notetext": text,
            "objectid_contact@odata.bind": format!("/contacts({contact})"),
        });
        let request = ApiRequest::post("annotations".into(), &body, Replay::OnlyIfNotProcessed);
        let response = self.execute(&request, deadline).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }

    /// `Crm::create_deal`: an `opportunity` for the contact.
    pub(super) async fn insert_opportunity(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        let contact_id = guid(&contact.id, "contact")?;
        let mut body = Map::new();
        body.insert(
            "name".into(),
            json!(truncate(&deal.name, DEAL_NAME_MAX_CHARS)),
        );
        body.insert(
            "customerid_contact@odata.bind".into(),
            json!(format!("/contacts({contact_id})")),
        );
        // The manager on the call; else whoever owns the client; else the application user.
        let owner = match &deal.owner {
            Some(owner) => Some(user_guid(owner)?),
            None => contact.owner_id.as_deref().and_then(parse_guid),
        };
        if let Some(owner) = owner {
            body.insert(
                "ownerid@odata.bind".into(),
                json!(format!("/systemusers({owner})")),
            );
        }
        if let (Some(column), Some(stage)) = (&self.config.deal_stage_column, &deal.stage) {
            body.insert(column.clone(), json!(stage));
        }
        let request = ApiRequest::post(
            "opportunities?$select=opportunityid".into(),
            &Value::Object(body),
            Replay::OnlyIfNotProcessed,
        )
        .prefer("return=representation");
        let response = self.execute(&request, deadline).await?;
        let id = created_id(response, "opportunityid").await?;
        Ok(DealRef { id })
    }
}
