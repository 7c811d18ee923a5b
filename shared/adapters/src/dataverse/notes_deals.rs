//! Notes (`annotation`, for the AI analysis) and deals (`opportunity`), each created under
//! its deterministic id, so a repeat finds the first one instead of writing a second.

use bridge_domain::activity::ContactRef;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::{CrmError, DealRef, NewDeal, NewNote};
use serde_json::{Map, Value, json};

use super::Dataverse;
use super::keys::Keyed;
use super::odata::{contact_gone, created_id, guid, parse_guid, truncate, user_guid};
use super::web_api::ApiRequest;
use crate::http::Replay;

/// Column lengths of the standard `annotation` and `opportunity` tables
/// (`docs/vendor-contracts.md`, "Smart CRM: Microsoft Dataverse Web API and Entra ID", DV30,
/// DV31).
const NOTE_TITLE_MAX_CHARS: usize = 500;
const DEAL_NAME_MAX_CHARS: usize = 300;

impl Dataverse {
    /// `Crm::add_note`: an `annotation` on the contact, `annotationid` derived from the call
    /// id. A note that exists already (an earlier attempt wrote it) is success: `recheck`
    /// needs no request of its own.
    pub(super) async fn insert_note(
        &self,
        note: &NewNote,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let contact = guid(&note.contact_id, "contact")?;
        let id = self.keys.note(&note.call_id).hyphenated().to_string();
        let body = json!({
            "annotationid": id,
            "subject": truncate(&note.title, NOTE_TITLE_MAX_CHARS),
            "notetext": note.text,
            "objectid_contact@odata.bind": format!("/contacts({contact})"),
        });
        let request = ApiRequest::post("annotations".into(), &body, Replay::Safe);
        let read = format!("annotations({id})?$select=annotationid");
        let posted = self.post_keyed(&request, &read, deadline).await;
        if let Keyed::Taken { .. } = posted.map_err(|e| contact_gone(e, &contact))? {
            tracing::debug!(annotation_id = %id, "Dataverse note already written");
        }
        Ok(())
    }

    /// `Crm::create_deal`: an `opportunity` for the contact, `opportunityid` derived from the
    /// contact's id. The contact's deal existing already is success, with its id.
    pub(super) async fn insert_opportunity(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        let contact_id = guid(&contact.id, "contact")?;
        let id = self.keys.deal(&contact_id).hyphenated().to_string();
        let mut body = Map::new();
        body.insert("opportunityid".into(), json!(id));
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
            Replay::Safe,
        )
        .prefer("return=representation");
        let read = format!("opportunities({id})?$select=opportunityid");
        let posted = self.post_keyed(&request, &read, deadline).await;
        match posted.map_err(|e| contact_gone(e, &contact_id))? {
            Keyed::Created(response) => Ok(DealRef {
                id: created_id(response, "opportunityid").await?,
            }),
            Keyed::Taken { .. } => {
                tracing::debug!(opportunity_id = %id, "Dataverse deal already exists");
                Ok(DealRef { id })
            }
        }
    }
}
