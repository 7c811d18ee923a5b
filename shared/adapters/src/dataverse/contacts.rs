//! Contacts: the lookup by phone number in every notation people type, a new contact named by
//! its number under the number's deterministic id, UTM columns, and the owner as the client's
//! responsible manager.

use bridge_domain::activity::{ContactRef, CrmUser};
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::{PhoneNumber, SearchTerms};
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

/// Rows asked of the whole-number search: one contact per number, a few duplicates at most.
const WHOLE_PAGE: usize = 10;
/// Rows asked of the fragment search: other numbers ending in the same seven digits come too,
/// and are dropped by the re-check.
pub(super) const FRAGMENT_PAGE: usize = 50;

/// The two searches of a number, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStep {
    /// `eq` on every whole notation.
    Whole,
    /// `contains` on every seven-digit fragment.
    Fragments,
}

/// What one search step found.
pub(super) struct StepResult {
    /// The oldest row that holds the number, as a contact.
    pub(super) found: Option<ContactRef>,
    /// Rows the server returned (matches of the text, before the re-check).
    pub(super) rows: usize,
}

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

    /// Contact columns searched for a number: the configured ones, the phone column and the
    /// digits column, each once.
    pub(super) fn phone_columns(&self) -> Vec<&str> {
        let config = &self.config;
        let mut columns: Vec<&str> = Vec::new();
        let all = config
            .search_columns
            .iter()
            .chain(std::iter::once(&config.contact_phone_column))
            .chain(config.digits_column.as_ref());
        for column in all {
            if !columns.contains(&column.as_str()) {
                columns.push(column);
            }
        }
        columns
    }

    /// `Crm::find_contact`: the whole notations first, then (when enabled and nothing was
    /// found) the seven-digit fragments; every row re-checked here.
    pub(super) async fn search_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        let whole = self.search_step(phone, SearchStep::Whole, deadline).await?;
        if whole.found.is_some() || !self.config.fragment_search {
            return Ok(whole.found);
        }
        let fragments = self
            .search_step(phone, SearchStep::Fragments, deadline)
            .await?;
        if fragments.found.is_none() && fragments.rows >= FRAGMENT_PAGE {
            tracing::warn!(
                phone = %phone.masked(),
                rows = fragments.rows,
                "Dataverse: a full page of contacts ends in the number's last seven digits and none is the number; \
                 an older contact beyond the page would be missed (a digits column, DATAVERSE_DIGITS_COLUMN, finds it exactly)"
            );
        }
        Ok(fragments.found)
    }

    /// One `GET /contacts` of a search, oldest first; the rows re-checked against `phone`.
    pub(super) async fn search_step(
        &self,
        phone: &PhoneNumber,
        step: SearchStep,
        deadline: Deadline,
    ) -> Result<StepResult, CrmError> {
        let columns = self.phone_columns();
        let (filter, top) = step_filter(&columns, &phone.search_terms(), step);
        if filter.is_empty() {
            return Ok(StepResult {
                found: None,
                rows: 0,
            });
        }
        let path = format!(
            "contacts?$select=contactid,fullname,{},_ownerid_value&$filter={}&$orderby={}&$top={top}",
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
            ?step,
            rows = rows.len(),
            found = found.is_some(),
            "Dataverse contact lookup"
        );
        Ok(StepResult {
            found: found.and_then(|row| self.contact_ref(row)),
            rows: rows.len(),
        })
    }

    /// `Crm::create_contact`: the number in the phone column (its digits in the digits column)
    /// and as the name (`lastname` by default), under the number's `contactid`. A contact with that id already (another creator won the race, or
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
        if let Some(digits) = &self.config.digits_column {
            body.insert(digits.clone(), json!(phone.digits()));
        }
        // `lastname` is ApplicationRequired: the UI demands it (see the module comment).
        if let Some(name) = &self.config.contact_name_column {
            body.insert(name.clone(), json!(phone.e164()));
        }
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

/// The `$filter` of a search step and the rows it asks for.
pub(super) fn step_filter(
    columns: &[&str],
    terms: &SearchTerms,
    step: SearchStep,
) -> (String, usize) {
    match step {
        SearchStep::Whole => (
            any_of(columns, &terms.whole, |column, value| {
                format!("{column} eq {}", odata_string(value))
            }),
            WHOLE_PAGE,
        ),
        SearchStep::Fragments => (
            any_of(columns, &terms.fragments, |column, value| {
                format!("contains({column},{})", odata_string(value))
            }),
            FRAGMENT_PAGE,
        ),
    }
}

/// `<condition(column, value)> or …` over every column and value; empty when there is none.
fn any_of(columns: &[&str], values: &[String], condition: impl Fn(&str, &str) -> String) -> String {
    columns
        .iter()
        .flat_map(|column| values.iter().map(|value| condition(column, value)))
        .collect::<Vec<_>>()
        .join(" or ")
}
