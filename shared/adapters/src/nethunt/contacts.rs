//! Contacts: the phone search (E.164 first, then the number's other notations) re-checked
//! exactly, a new contact with phone and owner only (then the number searched again: of
//! duplicates, the oldest is used), UTM fields, and the owner field as the responsible manager.

use bridge_domain::activity::{ContactRef, CrmUser};
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError};
use bridge_domain::ringostat::Utm;
use serde_json::{Map, Value, json};

use super::records::{field_value, parse_person, record_id_of, texts, updated_at};
use super::{NetHunt, PhoneSearch};

/// How many records find-record may return: enough room for fuzzy false positives (the
/// bhsmaverick bridge uses the same; `docs/vendor-contracts.md`, "NetHunt CRM Integration
/// API", NH8).
const FIND_LIMIT: usize = 20;

/// `"<field>":"<term>"`: find-record's query for one value of one field (NH7).
pub(super) fn field_query(field: &str, term: &str) -> String {
    format!("\"{field}\":\"{term}\"")
}

/// `"<field>":("<a>" OR "<b>" OR …)`: any of the terms, NetHunt's advanced-search grouping
/// (NH31, inferred for find-record).
pub(super) fn any_of_query(field: &str, terms: &[String]) -> String {
    let alternatives: Vec<String> = terms.iter().map(|term| format!("\"{term}\"")).collect();
    format!("\"{field}\":({})", alternatives.join(" OR "))
}

/// What the second search looks for when the E.164 one found nothing exact: every other
/// whole-number notation, then the last seven digits in the groupings people type
/// ([`PhoneNumber::search_terms`]), each once.
pub(super) fn other_notations(phone: &PhoneNumber) -> Vec<String> {
    let terms = phone.search_terms();
    let mut others: Vec<String> = Vec::new();
    for term in terms.whole.into_iter().chain(terms.fragments) {
        if term != phone.e164() && !others.contains(&term) {
            others.push(term);
        }
    }
    others
}

impl NetHunt {
    /// `Crm::find_contact`: find-record by the E.164 number; when nothing it returns is
    /// exactly the number, find-record by the number's other notations
    /// ([`NetHunt::contacts_in_other_notations`]). Every returned value is compared exactly.
    pub(super) async fn search_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        let mut exact = self.exact_contacts(phone, deadline).await?;
        if exact.is_empty() {
            exact = self.contacts_in_other_notations(phone, deadline).await?;
        }
        // The most recently updated wins; on a tie the first NetHunt returned.
        let best = exact
            .iter()
            .fold(None, |best: Option<&Value>, record| match best {
                Some(current) if updated_at(record) <= updated_at(current) => Some(current),
                _ => Some(record),
            });
        Ok(best.and_then(|record| self.contact_ref(record)))
    }

    /// The contacts find-record returns for the E.164 number, with exactly that number: the
    /// bridge's own contacts and those typed in E.164 (one request).
    pub(super) async fn exact_contacts(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        let query = field_query(&self.config.fields.phone, phone.e164());
        self.exact_matches(phone, &query, deadline).await
    }

    /// The contacts whose number a person typed in another notation (`0501234567`,
    /// `050 123 45 67`, `8 050 123-45-67`, …): one find-record whose query ORs
    /// [`other_notations`] (`NETHUNT_PHONE_SEARCH=grouped`), or one per notation until one
    /// finds the number (`separate`, also used for this lookup when NetHunt refuses the
    /// grouped query with 400 or 422).
    pub(super) async fn contacts_in_other_notations(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        let field = &self.config.fields.phone;
        let terms = other_notations(phone);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        if self.config.phone_search == PhoneSearch::Grouped {
            let query = any_of_query(field, &terms);
            match self.exact_matches(phone, &query, deadline).await {
                Err(CrmError::Rejected {
                    status: status @ (400 | 422),
                    message,
                }) => tracing::warn!(
                    status,
                    message = %message,
                    "NetHunt refused the grouped phone search; searching each notation apart \
                     (set NETHUNT_PHONE_SEARCH=separate)"
                ),
                other => return other,
            }
        }
        for term in &terms {
            let exact = self
                .exact_matches(phone, &field_query(field, term), deadline)
                .await?;
            if !exact.is_empty() {
                return Ok(exact);
            }
        }
        Ok(Vec::new())
    }

    /// The records find-record returns for `query` whose phone field holds exactly `phone`.
    async fn exact_matches(
        &self,
        phone: &PhoneNumber,
        query: &str,
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        let limit = FIND_LIMIT.to_string();
        let records = self
            .find_records(&[("query", query), ("limit", &limit)], deadline)
            .await?;
        let returned = records.len();
        let exact: Vec<Value> = records
            .into_iter()
            .filter(|record| self.has_phone(record, phone))
            .collect();
        tracing::debug!(
            phone = %phone.masked(),
            returned,
            exact = exact.len(),
            "NetHunt contact search"
        );
        if exact.is_empty() && returned >= FIND_LIMIT {
            tracing::warn!(
                phone = %phone.masked(),
                "NetHunt search returned {FIND_LIMIT} near matches and no exact one; the contact may be beyond the limit"
            );
        }
        Ok(exact)
    }

    /// `Crm::create_contact`: create-record in Contacts with the phone and the owner.
    pub(super) async fn insert_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        let fields = &self.config.fields;
        // Phone only, no name (seed scenarios 3, 4, 7, 8): "Name" is left out, not blanked.
        let mut values = Map::new();
        values.insert(fields.phone.clone(), json!([phone.e164()]));
        values.insert(fields.owner.clone(), json!([self.person_value(owner)?]));
        let id = self
            .create_record(
                &self.config.contacts_folder_id,
                "Contacts",
                values,
                deadline,
            )
            .await?;
        tracing::info!(phone = %phone.masked(), record_id = %id, "NetHunt contact created");
        let created = ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            id,
            name: None,
            owner_id: Some(owner.id.trim().to_owned()),
        };
        // NetHunt has no uniqueness to lean on (NH22): another creator may have made one too.
        Ok(self
            .oldest_contact_after_create(phone, created, deadline)
            .await)
    }

    /// `Crm::set_contact_utm`: the non-empty tags into their configured fields.
    pub(super) async fn write_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let fields = &self.config.fields;
        let mapping = [
            (Some(&fields.utm_source), &utm.source),
            (Some(&fields.utm_medium), &utm.medium),
            (Some(&fields.utm_campaign), &utm.campaign),
            (Some(&fields.utm_term), &utm.term),
            (fields.utm_content.as_ref(), &utm.content),
        ];
        let values: Vec<(&str, Value)> = mapping
            .into_iter()
            .filter_map(|(field, value)| {
                let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
                Some((field?.as_str(), json!(value)))
            })
            .collect();
        if values.is_empty() {
            return Ok(());
        }
        self.overwrite_fields(contact_id, values, deadline).await
    }

    /// `Crm::responsible_manager`: the person in the contact's owner field.
    pub(super) async fn manager_of(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        let records = self
            .find_records(&[("recordId", contact_id), ("limit", "1")], deadline)
            .await?;
        // The id is re-checked like the phone: a server that ignored `recordId` would
        // otherwise hand over somebody else's manager.
        let Some(record) = records.iter().find(|r| record_id_of(r) == Some(contact_id)) else {
            return Ok(None);
        };
        let person = field_value(record, &self.config.fields.owner);
        let manager = person.and_then(parse_person);
        if manager.is_none() && person.is_some_and(|p| !texts(p).is_empty()) {
            tracing::warn!("NetHunt owner field holds no e-mail; no responsible manager");
        }
        Ok(manager)
    }
}
