//! OData in and out: string literals, query escaping, record ids, text cut to a column's
//! length, and reading answers and errors.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::http;
use bridge_domain::activity::CrmUser;
use bridge_domain::ports::crm::CrmError;

/// An OData string literal: quoted, with `'` doubled.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Characters left as they are in a query value: unreserved ones and `(),`. Everything else
/// is escaped, `+` above all (a raw `+` reads as a space), and `'` too, which the URL parser
/// would escape anyway: what is built here is exactly what is sent.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'(')
    .remove(b')')
    .remove(b',');

/// Ids in card links: GUIDs pass unchanged, anything else cannot break out of its parameter.
pub(super) const ID_PART: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-');

pub(super) fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

pub(super) fn parse_guid(text: &str) -> Option<String> {
    let text = text.trim();
    (text.len() == 36)
        .then(|| Uuid::parse_str(text).ok())
        .flatten()
        .map(|id| id.hyphenated().to_string())
}

/// A record id from the caller: a GUID, or no record of Dataverse at all.
pub(super) fn guid(id: &str, what: &str) -> Result<String, CrmError> {
    parse_guid(id)
        .ok_or_else(|| CrmError::NotFound(format!("{what} id {id:?} is not a Dataverse GUID")))
}

/// User ids come from the staff mapping: a bad one is configuration.
pub(super) fn user_guid(user: &CrmUser) -> Result<String, CrmError> {
    parse_guid(&user.id).ok_or_else(|| {
        CrmError::Config(format!(
            "CRM user id {:?} is not a Dataverse systemuserid",
            user.id
        ))
    })
}

pub(super) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

pub(super) fn non_empty(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub(super) fn rows(body: &Value) -> &[Value] {
    body.get("value")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A non-success response as a typed error. A 400 naming a property or navigation property
/// that does not exist is a configuration problem (a column name that is not in the tenant).
pub(super) async fn error_of(response: Response) -> CrmError {
    match http::error_from(response).await {
        CrmError::Rejected {
            status: 400,
            message,
        } if is_schema_message(&message) => CrmError::Config(message),
        other => other,
    }
}

/// A write refused because the contact it binds to is gone (deleted or merged since it was
/// found): Dataverse answers 400 `0x80040217` "contact With Id = <id> Does Not Exist" rather
/// than 404, which is [`CrmError::NotFound`] to the caller, who can find or create the client
/// again. A user or any other record that does not exist stays the refusal it is.
pub(super) fn contact_gone(error: CrmError, contact_guid: &str) -> CrmError {
    match error {
        CrmError::Rejected {
            status: 400 | 404,
            message,
        } if names_missing_contact(&message, contact_guid) => CrmError::NotFound(message),
        other => other,
    }
}

fn names_missing_contact(message: &str, contact_guid: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("does not exist")
        && (message.contains(&contact_guid.to_ascii_lowercase())
            || message.contains("contact with id"))
}

fn is_schema_message(message: &str) -> bool {
    [
        "Invalid property",
        "undeclared property",
        "Could not find a property",
    ]
    .iter()
    .any(|marker| message.contains(marker))
}

pub(super) async fn success_json(response: Response) -> Result<Value, CrmError> {
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let text = response
        .text()
        .await
        .map_err(|_| CrmError::Transient("Dataverse response body could not be read".into()))?;
    serde_json::from_str(&text).map_err(|_| CrmError::Rejected {
        status: 200,
        message: "Dataverse answered with something that is not JSON".into(),
    })
}

/// The id of a created record: from the representation (201), or from the `OData-EntityId`
/// header when the server ignored `Prefer: return=representation` (204).
pub(super) async fn created_id(response: Response, key: &str) -> Result<String, CrmError> {
    if response.status() == StatusCode::NO_CONTENT {
        let from_header = response
            .headers()
            .get("OData-EntityId")
            .and_then(|v| v.to_str().ok())
            .and_then(|url| url.rsplit_once('(')?.1.strip_suffix(')'))
            .and_then(parse_guid);
        return from_header.ok_or_else(|| CrmError::Rejected {
            status: 204,
            message: "Dataverse created a record without saying its id".into(),
        });
    }
    let body = success_json(response).await?;
    body.get(key)
        .and_then(Value::as_str)
        .and_then(parse_guid)
        .ok_or_else(|| CrmError::Rejected {
            status: 201,
            message: format!("Dataverse created a record without a {key}"),
        })
}
