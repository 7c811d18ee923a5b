//! Deals: create-record in the Deals folder, linked to the contact; with `recheck`, the
//! contact's deal from an earlier attempt is looked for first.

use bridge_domain::activity::ContactRef;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::{CrmError, DealRef, NewDeal};
use serde_json::{Map, json};

use super::NetHunt;

impl NetHunt {
    /// `Crm::create_deal`: name, stage, owner and the link to the contact. With `recheck`, a
    /// deal of that name linked to the contact (find-record in the Deals folder) is returned
    /// instead of creating one.
    pub(super) async fn insert_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        let Some(folder_id) = self.config.deals_folder_id.as_deref() else {
            return Err(CrmError::Config(
                "NetHunt Deals folder id is not configured".into(),
            ));
        };
        if deal.recheck
            && let Some(id) = self
                .find_deal_of(folder_id, &contact.id, &deal.name, deadline)
                .await?
        {
            tracing::info!(deal_id = %id, "NetHunt deal found from an earlier attempt");
            return Ok(DealRef { id });
        }
        let fields = &self.config.fields;
        let mut values = Map::new();
        values.insert(fields.deal_name.clone(), json!(deal.name));
        if let Some(stage) = deal.stage.as_deref().filter(|s| !s.trim().is_empty()) {
            values.insert(fields.deal_stage.clone(), json!(stage));
        }
        if let Some(owner) = &deal.owner {
            values.insert(
                fields.deal_owner.clone(),
                json!([self.person_value(owner)?]),
            );
        }
        values.insert(fields.deal_contact.clone(), json!([contact.id]));
        let id = self
            .create_record(folder_id, "Deals", values, deadline)
            .await?;
        Ok(DealRef { id })
    }
}
