//! How `add` and `remove` change a field's value, by the kind of field.

use serde_json::{Value, json};

use super::FieldKind;
use super::store::NetHuntState;

/// The field's value after `add`: single-value fields take it only when empty or
/// overwritten, multi-value ones append. `None` leaves the field empty.
pub(super) fn add_value(
    nethunt: &NetHuntState,
    kind: FieldKind,
    current: Option<Value>,
    added: &Value,
    overwrite: bool,
) -> Result<Option<Value>, String> {
    match kind {
        FieldKind::Text => {
            let text = scalar_text(added)?;
            let keep = current.filter(|c| !overwrite && !is_empty(c));
            Ok(keep.or(text.map(Value::String)))
        }
        FieldKind::Person => {
            let people = text_list(added)?;
            if people.len() > 1 {
                return Err("a person field holds one person".into());
            }
            if let Some(bad) = people.iter().find(|p| person_email(p).is_none()) {
                return Err(format!("unknown person {bad:?}"));
            }
            let keep = current.filter(|c| !overwrite && !is_empty(c));
            Ok(keep.or_else(|| (!people.is_empty()).then(|| json!(people))))
        }
        FieldKind::Multi | FieldKind::RecordLink => {
            let items = text_list(added)?;
            if kind == FieldKind::RecordLink
                && let Some(missing) = items.iter().find(|id| nethunt.record(id).is_none())
            {
                return Err(format!("linked record {missing} not found"));
            }
            let mut list: Vec<String> = match current {
                Some(value) if !overwrite => text_list(&value)?,
                _ => Vec::new(),
            };
            for item in items {
                if !list.contains(&item) {
                    list.push(item);
                }
            }
            Ok((!list.is_empty()).then(|| json!(list)))
        }
    }
}

pub(super) fn remove_value(
    kind: FieldKind,
    current: Option<Value>,
    removed: &Value,
) -> Result<Option<Value>, String> {
    let Some(current) = current else {
        return Ok(None);
    };
    let removed = text_list(removed)?;
    match kind {
        FieldKind::Text => {
            let text = scalar_text(&current)?.unwrap_or_default();
            Ok((!removed.contains(&text)).then_some(current))
        }
        FieldKind::Multi | FieldKind::Person | FieldKind::RecordLink => {
            let rest: Vec<String> = text_list(&current)?
                .into_iter()
                .filter(|item| !removed.contains(item))
                .collect();
            Ok((!rest.is_empty()).then(|| json!(rest)))
        }
    }
}

fn scalar_text(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err("expects a single value".into()),
    }
}

fn text_list(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => {
            let mut list = Vec::new();
            for item in items {
                if let Some(text) = scalar_text(item)? {
                    list.push(text);
                }
            }
            Ok(list)
        }
        other => Ok(scalar_text(other)?.into_iter().collect()),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// The e-mail of a person value: `"Name <email>"` or a bare e-mail.
pub fn person_email(person: &str) -> Option<String> {
    let person = person.trim();
    let email = match (person.rfind('<'), person.ends_with('>')) {
        (Some(open), true) => &person[open + 1..person.len() - 1],
        _ => person,
    };
    let email = email.trim();
    (email.contains('@') && !email.contains(char::is_whitespace)).then(|| email.to_owned())
}

/// `olena.koval@example.com` → `Olena Koval`.
pub(super) fn display_name_of(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    local
        .split(['.', '_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
