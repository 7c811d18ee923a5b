//! Contacts: the lookup by phone number, a new contact named by its number under the number's
//! deterministic id, UTM columns, and the owner as the client's responsible manager.

use bridge_domain::activity::{ContactRef, CrmUser};
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError};
use bridge_domain::ringostat::Utm;
use serde_json::{Map, Value, json};

use super::Dataverse;
use super::keys::Keyed;
use super::odata::{
    created_id, encode_query_value, guid, non_empty, odata_string, rows, success_json, truncate,
    user_guid,
};
use super::web_api::{ApiRequest, Table};
use crate::http::Replay;

/// Contact columns searched for a number (the three the UI shows: `docs/vendor-contracts.md`,
/// "Smart CRM: Microsoft Dataverse Web API and Entra ID", DV11).
const PHONE_COLUMNS: [&str; 3] = ["telephone1", "mobilephone", "telephone2"];

impl Dataverse {
    fn contact_ref(&self, row: &Value) -> Option<ContactRef> {
        let id = row.get("contactid")?.as_str()?.to_owned();
        // A phone-only contact's name is its number: that is "no name" to the bridge.
        let name = non_empty(row.get("fullname")).filter(|n| PhoneNumber::parse(n).is_err());
        Some(ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            name,
            owner_id: non_empty(row.get("_ownerid_value")),
            id,
        })
    }

    /// Contact columns searched for a number: the standard three and the configured one.
    fn phone_columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = PHONE_COLUMNS.to_vec();
        if !columns.contains(&self.config.contact_phone_column.as_str()) {
            columns.push(&self.config.contact_phone_column);
        }
        columns
    }

    /// `Crm::find_contact`: one filtered `GET /contacts`, every row re-checked here.
    pub(super) async fn search_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        let columns = self.phone_columns();
        let variants = phone_notations(phone);
        let filter = columns
            .iter()
            .flat_map(|column| {
                variants
                    .iter()
                    .map(move |v| format!("{column} eq {}", odata_string(v)))
            })
            .collect::<Vec<_>>()
            .join(" or ");
        let path = format!(
            "contacts?$select=contactid,fullname,{},_ownerid_value&$filter={}&$orderby={}&$top=10",
            columns.join(","),
            encode_query_value(&filter),
            encode_query_value("createdon asc"),
        );
        let response = self.execute(&ApiRequest::get(path), deadline).await?;
        let body = success_json(response).await?;
        let rows = rows(&body);
        // The server compared text; make sure the number really is the same number.
        let found = rows.iter().find(|row| has_phone(row, &columns, phone));
        tracing::debug!(
            phone = %phone.masked(),
            rows = rows.len(),
            found = found.is_some(),
            "Dataverse contact lookup"
        );
        Ok(found.and_then(|row| self.contact_ref(row)))
    }

    /// `Crm::create_contact`: the number in the phone column and as `lastname`, under the
    /// number's `contactid`. A contact with that id already (another creator won the race, or
    /// an earlier attempt's answer got lost) is read and returned instead.
    pub(super) async fn insert_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        let owner_id = user_guid(owner)?;
        let id = self.keys.contact(phone).hyphenated().to_string();
        let mut body = Map::new();
        body.insert("contactid".into(), json!(id));
        body.insert(
            self.config.contact_phone_column.clone(),
            json!(phone.e164()),
        );
        // ApplicationRequired: the UI demands it (see the module comment).
        body.insert("lastname".into(), json!(phone.e164()));
        body.insert(
            "ownerid@odata.bind".into(),
            json!(format!("/systemusers({owner_id})")),
        );
        // The fixed contactid makes a repeat a 412, never a second contact.
        let request = ApiRequest::post(
            CREATED_CONTACT.into(),
            &Value::Object(body.clone()),
            Replay::Safe,
        )
        .prefer("return=representation");
        let read = self.contact_by_id(&id);
        let existing = match self.post_keyed(&request, &read, deadline).await? {
            Keyed::Created(response) => {
                let id = created_id(response, "contactid").await?;
                tracing::debug!(phone = %phone.masked(), "Dataverse contact created");
                return Ok(self.new_contact_ref(id, owner_id));
            }
            Keyed::Taken { row: Some(row) } => Some(row),
            Keyed::Taken { row: None } => self.read_row(&read, deadline).await?,
        };
        let columns = self.phone_columns();
        if let Some(contact) = existing
            .as_ref()
            .filter(|row| has_phone(row, &columns, phone))
            .and_then(|row| self.contact_ref(row))
        {
            tracing::info!(
                phone = %phone.masked(),
                contact_id = %contact.id,
                "Dataverse contact existed already (a concurrent or earlier create); using it"
            );
            return Ok(contact);
        }
        // The id is taken by a contact that no longer has this number (edited since), or the
        // refusal named a row that cannot be read: an unfenced create, as before the ids.
        tracing::warn!(
            phone = %phone.masked(),
            contact_id = %id,
            "the number's contactid belongs to a contact without the number; creating one with a server id"
        );
        body.remove("contactid");
        let request = ApiRequest::post(
            CREATED_CONTACT.into(),
            &Value::Object(body),
            Replay::OnlyIfNotProcessed,
        )
        .prefer("return=representation");
        let response = self.execute(&request, deadline).await?;
        let id = created_id(response, "contactid").await?;
        Ok(self.new_contact_ref(id, owner_id))
    }

    /// The contact just created for the number: no name, owned by `owner_id`.
    fn new_contact_ref(&self, id: String, owner_id: String) -> ContactRef {
        ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            id,
            name: None,
            owner_id: Some(owner_id),
        }
    }

    /// The read of one contact with what `contact_ref` and the phone check need.
    fn contact_by_id(&self, id: &str) -> String {
        format!(
            "contacts({id})?$select=contactid,fullname,{},_ownerid_value",
            self.phone_columns().join(",")
        )
    }

    /// `Crm::set_contact_utm`: the configured UTM columns, each cut to its length.
    pub(super) async fn write_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let columns = &self.config.utm_columns;
        let mut body = Map::new();
        for (column, value) in [
            (&columns.source, &utm.source),
            (&columns.medium, &utm.medium),
            (&columns.campaign, &utm.campaign),
            (&columns.term, &utm.term),
            (&columns.content, &utm.content),
        ] {
            if let (Some(column), Some(value)) = (column, value) {
                body.insert(column.clone(), json!(truncate(value, columns.max_chars)));
            }
        }
        if body.is_empty() {
            return Ok(());
        }
        self.patch_record(Table::CONTACT, contact_id, &Value::Object(body), deadline)
            .await
    }

    /// `Crm::responsible_manager`: the contact's owner, when it is a user.
    pub(super) async fn owner_of_contact(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        let id = guid(contact_id, "contact")?;
        // The owner's name comes as an annotation of the same response: one request, no
        // systemuser lookup.
        let request = ApiRequest::get(format!("contacts({id})?$select=_ownerid_value"))
            .prefer("odata.include-annotations=\"*\"");
        let response = self.execute(&request, deadline).await?;
        let body = success_json(response).await?;
        let Some(owner_id) = non_empty(body.get("_ownerid_value")) else {
            return Ok(None);
        };
        // A team owns the contact: no single manager to route the call to.
        let owner_type = body
            .get("_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
            .and_then(Value::as_str);
        if owner_type.is_some_and(|t| t != "systemuser") {
            return Ok(None);
        }
        Ok(Some(CrmUser {
            id: owner_id,
            name: non_empty(body.get("_ownerid_value@OData.Community.Display.V1.FormattedValue")),
        }))
    }
}

/// The create of a contact, answered with what [`ContactRef`] needs.
const CREATED_CONTACT: &str = "contacts?$select=contactid,fullname,_ownerid_value";

/// Whether one of the row's phone columns holds `phone`, once normalised.
fn has_phone(row: &Value, columns: &[&str], phone: &PhoneNumber) -> bool {
    columns.iter().any(|column| {
        row.get(*column)
            .and_then(Value::as_str)
            .and_then(|stored| PhoneNumber::parse(stored).ok())
            .is_some_and(|stored| stored == *phone)
    })
}

/// The notations a number is searched in: E.164, international digits, and the national form
/// with the trunk `0` for Ukrainian numbers (the bridge's default region).
pub(super) fn phone_notations(phone: &PhoneNumber) -> Vec<String> {
    let mut notations = vec![phone.e164().to_owned(), phone.digits().to_owned()];
    if let Some(national) = phone.e164().strip_prefix("+380") {
        notations.push(format!("0{national}"));
    }
    notations
}
