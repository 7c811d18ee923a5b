//! find-record's free-text search, fuzzy as NetHunt's is.

use serde_json::Value;

use super::store::Record;

/// The value searched for in a NetHunt query: `"Field":"value"`, `Field:"value"`,
/// `field:value` or a bare term. The field name is not used: the search is free-text.
pub fn search_value(query: &str) -> String {
    let query = query.trim();
    let value = if let Some(rest) = query.strip_prefix('"') {
        match rest.split_once('"') {
            // "Field":"value" or "Field":value
            Some((_, after)) if after.trim_start().starts_with(':') => {
                after.trim_start()[1..].trim()
            }
            // A quoted bare term.
            _ => query,
        }
    } else {
        match query.split_once(':') {
            Some((field, value)) if !field.is_empty() && !field.contains(char::is_whitespace) => {
                value.trim()
            }
            _ => query,
        }
    };
    let value = value.strip_prefix('"').unwrap_or(value);
    value.strip_suffix('"').unwrap_or(value).to_owned()
}

/// Lower case without whitespace and `()+-.`, so `+38 (050) 123-45-67` and `380501234567`
/// compare equal and one number "contains" a longer one.
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '+' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

pub(super) fn fuzzy_match(record: &Record, needle: &str) -> bool {
    record.fields.values().any(|value| {
        texts_of(value)
            .iter()
            .any(|text| squash(text).contains(needle))
    })
}

pub(super) fn texts_of(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items.iter().flat_map(texts_of).collect(),
        Value::Null | Value::Object(_) => Vec::new(),
    }
}
