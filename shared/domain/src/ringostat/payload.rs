//! The raw Ringostat webhook: whatever body and query string arrived, as one flat map of fields.
//!
//! Webhooks 2.0 is configured per customer: method, format (JSON, form or only URL parameters)
//! and every key name are chosen in the Ringostat cabinet. This module knows nothing about
//! calls; it only turns bytes into `key → value` so that [`super::event`] can read fields by
//! any of their names.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fields::Field;

/// Nested object that some Ringostat configurations put the call data in.
const NESTED_OBJECT_KEY: &str = "additionalcalldata";

/// How the request body is encoded, from its `Content-Type` header (or a look at the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Form,
    /// No body: every field is in the query string (GET webhooks, static URL parameters).
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the JSON body must be an object of fields, not {0}")]
    JsonNotAnObject(&'static str),
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("content type `{0}` is not supported: send JSON, a form or URL parameters")]
    UnsupportedContentType(String),
}

/// Fields of one webhook, looked up by a normalised key (see [`normalise_key`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    values: BTreeMap<String, String>,
}

impl Fields {
    /// Parses a webhook from its query string and body. Body fields win over query fields
    /// with the same name, because the URL usually only carries static parameters.
    pub fn from_request(
        content_type: Option<&str>,
        body: &[u8],
        query: Option<&str>,
    ) -> Result<Self, PayloadError> {
        let mut fields = Fields::default();
        if let Some(query) = query {
            fields.extend_form(query.trim_start_matches('?').as_bytes());
        }
        match BodyFormat::detect(content_type, body)? {
            BodyFormat::Json => fields.extend_json(body)?,
            BodyFormat::Form => fields.extend_form(body),
            BodyFormat::Empty => {}
        }
        Ok(fields)
    }

    /// Parses a JSON object body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let mut fields = Fields::default();
        fields.extend_json(body)?;
        Ok(fields)
    }

    /// Parses an `application/x-www-form-urlencoded` body or a query string.
    pub fn from_form(body: &[u8]) -> Self {
        let mut fields = Fields::default();
        fields.extend_form(body);
        fields
    }

    /// Sets one field (used by tests and by callers that add static parameters).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(normalise_key(key), value.into());
    }

    /// The first non-blank value of `field` under any of its names, trimmed.
    pub fn get(&self, field: &Field) -> Option<&str> {
        field.keys.iter().find_map(|key| {
            self.values
                .get(&normalise_key(key))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        })
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    fn extend_form(&mut self, bytes: &[u8]) {
        for (key, value) in form_urlencoded::parse(bytes) {
            if normalise_key(&key) == NESTED_OBJECT_KEY {
                // A nested object sent through a form arrives as a JSON string.
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&value) {
                    self.extend_object(&map, false);
                }
                continue;
            }
            self.values.insert(normalise_key(&key), value.into_owned());
        }
    }

    fn extend_json(&mut self, body: &[u8]) -> Result<(), PayloadError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| PayloadError::InvalidJson(e.to_string()))?;
        match value {
            Value::Object(map) => {
                self.extend_object(&map, true);
                Ok(())
            }
            other => Err(PayloadError::JsonNotAnObject(json_kind(&other))),
        }
    }

    /// Root keys always win over the same key inside `additional_call_data`.
    fn extend_object(&mut self, map: &serde_json::Map<String, Value>, overwrite: bool) {
        let mut nested = None;
        for (key, value) in map {
            let key = normalise_key(key);
            if key == NESTED_OBJECT_KEY {
                match value {
                    Value::Object(inner) => nested = Some(inner.clone()),
                    Value::String(text) => {
                        if let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(text) {
                            nested = Some(inner);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let Some(text) = scalar_text(value) else {
                continue;
            };
            if overwrite || !self.values.contains_key(&key) {
                self.values.insert(key, text);
            }
        }
        if let Some(inner) = nested {
            for (key, value) in &inner {
                let key = normalise_key(key);
                if let Some(text) = scalar_text(value) {
                    // A blank root value must not hide a filled nested one.
                    let slot = self.values.entry(key).or_default();
                    if slot.trim().is_empty() {
                        *slot = text;
                    }
                }
            }
        }
    }
}

impl BodyFormat {
    /// Picks the body format from the `Content-Type`; without one, from the first byte.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> Result<Self, PayloadError> {
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() {
            return Ok(Self::Empty);
        }
        let media_type = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase())
            .filter(|ct| !ct.is_empty());
        match media_type.as_deref() {
            Some("application/json") | Some("text/json") => Ok(Self::Json),
            Some(ct) if ct.ends_with("+json") => Ok(Self::Json),
            Some("application/x-www-form-urlencoded") => Ok(Self::Form),
            // Ringostat sometimes labels bodies loosely; decide by the bytes.
            None | Some("text/plain") | Some("application/octet-stream") => {
                if trimmed.starts_with(b"{") {
                    Ok(Self::Json)
                } else if std::str::from_utf8(trimmed).is_err() {
                    Err(PayloadError::NotUtf8)
                } else {
                    Ok(Self::Form)
                }
            }
            Some(other) => Err(PayloadError::UnsupportedContentType(other.to_owned())),
        }
    }
}

/// Key names are chosen by people (`callerId`, `caller_id`, `Caller-ID`); compare them
/// lower-cased and without separators so every spelling of one name matches.
pub fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// "an object", "a string", …: the kind of a JSON value, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
