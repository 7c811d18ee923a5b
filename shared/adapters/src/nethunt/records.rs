//! Records and their field values: create-record, update-record, and reading values of unknown
//! JSON shape (text, arrays, person fields).

use bridge_domain::activity::{ContactRef, CrmUser};
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError};
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use super::client::{expect_record, read_json, unexpected};
use super::{NetHunt, PersonFormat};
use crate::http;

impl NetHunt {
    /// create-record in `folder_id` → the new record's id.
    pub(super) async fn create_record(
        &self,
        folder_id: &str,
        folder_label: &str,
        fields: Map<String, Value>,
        deadline: Deadline,
    ) -> Result<String, CrmError> {
        let url = self.url("actions/create-record", folder_id, &[]);
        let body = json!({ "timeZone": self.config.time_zone, "fields": fields });
        let response = self.post(&url, &body, deadline).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(CrmError::Config(format!(
                "NetHunt {folder_label} folder {folder_id:?} not found"
            )));
        }
        if !response.status().is_success() {
            return Err(http::error_from(response).await);
        }
        let created = read_json(response).await?;
        record_id_of(&created)
            .map(str::to_owned)
            .ok_or_else(|| unexpected("create-record", "no recordId"))
    }

    /// update-record with `{field: {"overwrite": true, "add": value}}` for each field.
    pub(super) async fn overwrite_fields(
        &self,
        record_id: &str,
        values: Vec<(&str, Value)>,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let actions: Map<String, Value> = values
            .into_iter()
            .map(|(field, value)| (field.to_owned(), json!({ "overwrite": true, "add": value })))
            .collect();
        // The query's default agrees with every action; either alone should do.
        let url = self.url("actions/update-record", record_id, &[("overwrite", "true")]);
        let response = self
            .post(&url, &json!({ "fieldActions": actions }), deadline)
            .await?;
        expect_record(response, record_id).await.map(drop)
    }

    /// `"Name <email>"` or the bare e-mail, as configured. The user's id must be its e-mail:
    /// that is how NetHunt's person fields name users.
    pub(super) fn person_value(&self, user: &CrmUser) -> Result<String, CrmError> {
        let email = user.id.trim();
        if !email.contains('@')
            || email.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(CrmError::Config(format!(
                "NetHunt user id {email:?} is not an e-mail"
            )));
        }
        let name = user
            .name
            .as_deref()
            .map(|n| n.replace(['<', '>', '"'], "").trim().to_owned())
            .filter(|n| !n.is_empty());
        Ok(match (self.config.person_format, name) {
            (PersonFormat::NameAndEmail, Some(name)) => format!("{name} <{email}>"),
            _ => email.to_owned(),
        })
    }

    /// Whether one of the record's phone values is exactly `phone`.
    pub(super) fn has_phone(&self, record: &Value, phone: &PhoneNumber) -> bool {
        let Some(value) = field_value(record, &self.config.fields.phone) else {
            return false;
        };
        texts(value)
            .iter()
            // A text field may hold several numbers: "050 123 45 67, 067 111 22 33".
            .flat_map(|text| text.split([',', ';', '\n']))
            .filter_map(|candidate| PhoneNumber::parse(candidate).ok())
            .any(|candidate| candidate == *phone)
    }

    pub(super) fn contact_ref(&self, record: &Value) -> Option<ContactRef> {
        let id = record_id_of(record)?;
        let fields = &self.config.fields;
        Some(ContactRef {
            id: id.to_owned(),
            name: field_value(record, &fields.contact_name)
                .and_then(first_text)
                .filter(|n| !n.trim().is_empty()),
            owner_id: field_value(record, &fields.owner)
                .and_then(parse_person)
                .map(|user| user.id),
            card_url: Some(self.contact_card_url(id)),
        })
    }
}

/// `fields[name]` of a find-record result.
pub(super) fn field_value<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    record.get("fields")?.get(name)
}

pub(super) fn record_id_of(record: &Value) -> Option<&str> {
    record
        .get("recordId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// `updatedAt`, or the oldest possible time when missing or unreadable.
pub(super) fn updated_at(record: &Value) -> Option<Timestamp> {
    record.get("updatedAt")?.as_str()?.parse().ok()
}

/// `createdAt`; `None` when missing or unreadable.
pub(super) fn created_at(record: &Value) -> Option<Timestamp> {
    record.get("createdAt")?.as_str()?.parse().ok()
}

/// Every text in a field value: a string, a number, or an array of them (treat each value as
/// JSON of unknown shape: `docs/vendor-contracts.md`, "NetHunt CRM Integration API", NH10).
pub(super) fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(object) => ["email", "name", "value"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_str))
            .map(|s| vec![s.to_owned()])
            .unwrap_or_default(),
        Value::Null | Value::Bool(_) => Vec::new(),
    }
}

fn first_text(value: &Value) -> Option<String> {
    texts(value).into_iter().next()
}

/// A person value: `"Name <email>"`, a bare e-mail, or an object with `email` (and `name`).
/// The first one counts; without an e-mail there is no usable user.
pub(super) fn parse_person(value: &Value) -> Option<CrmUser> {
    let first = match value {
        Value::Array(items) => items.first()?,
        other => other,
    };
    if let Some(object) = first.as_object() {
        let email = object.get("email")?.as_str()?.trim();
        let name = object.get("name").and_then(Value::as_str);
        return person_from(email, name);
    }
    let text = first.as_str()?.trim();
    match (text.rfind('<'), text.strip_suffix('>')) {
        (Some(open), Some(inner)) => {
            let name = text[..open].trim().trim_matches('"');
            person_from(&inner[open + 1..], Some(name))
        }
        _ => person_from(text, None),
    }
}

fn person_from(email: &str, name: Option<&str>) -> Option<CrmUser> {
    let email = email.trim();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return None;
    }
    Some(CrmUser {
        id: email.to_owned(),
        name: name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
    })
}
