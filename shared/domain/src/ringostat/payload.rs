//! The raw Ringostat webhook: whatever body and query string arrived, as one flat map of fields.
//!
//! Webhooks 2.0 is configured per customer: method, format (JSON, form, XML or only URL
//! parameters) and every key name are chosen in the Ringostat cabinet. This module knows
//! nothing about calls; it only turns bytes into `key → value` so that [`super::event`] can
//! read fields by any of their names.
//!
//! The body is read by what it holds before what its `Content-Type` says (see
//! [`BodyFormat::detect`]): `curl -d '{…}'` labels JSON as a form, and some senders label
//! every body `text/plain`.

use std::collections::BTreeMap;

use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

use super::fields::Field;

/// Nested object that some Ringostat configurations put the call data in.
const NESTED_OBJECT_KEY: &str = "additionalcalldata";

/// Elements an XML body may nest, as deep as serde_json lets a JSON body nest (its recursion
/// limit); the 64 KiB body cap of the handlers bounds both.
const MAX_XML_DEPTH: usize = 128;

/// How the request body was read: decided by its content first, then by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Form,
    /// A root element (of any name) whose child elements are the fields.
    Xml,
    /// No body: every field is in the query string (GET webhooks, static URL parameters).
    Empty,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the JSON body must be an object of fields, not {0}")]
    JsonNotAnObject(&'static str),
    #[error("the body is not well-formed XML: {0}")]
    InvalidXml(String),
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("content type `{0}` is not supported: send JSON, a form, XML or URL parameters")]
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
        Self::read_request(content_type, body, query).map(|(fields, _)| fields)
    }

    /// [`Fields::from_request`], also saying how the body was read (for the handlers' logs).
    pub fn read_request(
        content_type: Option<&str>,
        body: &[u8],
        query: Option<&str>,
    ) -> Result<(Self, BodyFormat), PayloadError> {
        let mut fields = Fields::default();
        if let Some(query) = query {
            fields.extend_form(query.trim_start_matches('?').as_bytes());
        }
        let format = match read_body(content_type, body)? {
            Body::Json(map) => {
                fields.extend_object(&map, true);
                BodyFormat::Json
            }
            Body::Xml(map) => {
                fields.extend_object(&map, true);
                BodyFormat::Xml
            }
            Body::Form => {
                fields.extend_form(strip_bom(body));
                BodyFormat::Form
            }
            Body::Empty => BodyFormat::Empty,
        };
        Ok((fields, format))
    }

    /// Parses a JSON object body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let mut fields = Fields::default();
        fields.extend_object(&json_object(strip_bom(body).trim_ascii())?, true);
        Ok(fields)
    }

    /// Parses an `application/x-www-form-urlencoded` body or a query string.
    pub fn from_form(body: &[u8]) -> Self {
        let mut fields = Fields::default();
        fields.extend_form(body);
        fields
    }

    /// Parses an XML body: the child elements of its root element.
    pub fn from_xml(body: &[u8]) -> Result<Self, PayloadError> {
        let mut fields = Fields::default();
        fields.extend_object(&xml_body(body)?, true);
        Ok(fields)
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

    /// Root keys always win over the same key inside `additional_call_data`.
    fn extend_object(&mut self, map: &Map<String, Value>, overwrite: bool) {
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
    /// How [`Fields::from_request`] reads `body` sent with `content_type`.
    ///
    /// By content first: a body that is a JSON object is JSON and one that starts with `<` is
    /// XML, whatever the header says. Otherwise by the header: a form header reads a form; a
    /// JSON or XML header reads a form when the body looks like one (`k=v&…`) and refuses it
    /// otherwise; no header, `text/plain` or `application/octet-stream` read any UTF-8 text
    /// as a form; any other content type is accepted only for a body that looks like a form.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> Result<Self, PayloadError> {
        Ok(match read_body(content_type, body)? {
            Body::Json(_) => Self::Json,
            Body::Xml(_) => Self::Xml,
            Body::Form => Self::Form,
            Body::Empty => Self::Empty,
        })
    }

    /// The format a `Content-Type` names, if it names one (`application/json`, `…+json`,
    /// `application/x-www-form-urlencoded`, `application/xml`, `text/xml`, `…+xml`).
    pub fn declared(content_type: Option<&str>) -> Option<Self> {
        match Header::of(content_type) {
            Header::Json => Some(Self::Json),
            Header::Form => Some(Self::Form),
            Header::Xml => Some(Self::Xml),
            Header::Loose | Header::Other(_) => None,
        }
    }

    /// True when the body was read otherwise than its `Content-Type` says: a JSON body sent
    /// as a form (`curl -d`), a form sent as JSON, a form under `text/html`. No header,
    /// `text/plain` and `application/octet-stream` say nothing, so nothing contradicts them.
    pub fn contradicts(self, content_type: Option<&str>) -> bool {
        self != Self::Empty
            && !matches!(Header::of(content_type), Header::Loose)
            && Self::declared(content_type) != Some(self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
            Self::Xml => "xml",
            Self::Empty => "empty",
        }
    }
}

impl std::fmt::Display for BodyFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A body, read: the objects already parsed, a form still as its bytes.
enum Body {
    Json(Map<String, Value>),
    Xml(Map<String, Value>),
    Form,
    Empty,
}

/// What a `Content-Type` header says about the body.
enum Header {
    Json,
    Form,
    Xml,
    /// None, `text/plain`, `application/octet-stream`: says nothing about the format.
    Loose,
    /// Any other media type, lower-cased, without its parameters.
    Other(String),
}

impl Header {
    fn of(content_type: Option<&str>) -> Self {
        let media_type = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match media_type.as_str() {
            "" | "text/plain" | "application/octet-stream" => Self::Loose,
            "application/json" | "text/json" => Self::Json,
            ct if ct.ends_with("+json") => Self::Json,
            "application/x-www-form-urlencoded" => Self::Form,
            "application/xml" | "text/xml" => Self::Xml,
            ct if ct.ends_with("+xml") => Self::Xml,
            _ => Self::Other(media_type),
        }
    }
}

fn read_body(content_type: Option<&str>, body: &[u8]) -> Result<Body, PayloadError> {
    let text = strip_bom(body).trim_ascii();
    if text.is_empty() {
        return Ok(Body::Empty);
    }
    // By content: a JSON object, or an element.
    if text.starts_with(b"{")
        && let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(text)
    {
        return Ok(Body::Json(map));
    }
    if text.starts_with(b"<") {
        return xml_body(body).map(Body::Xml);
    }
    // By header.
    match Header::of(content_type) {
        Header::Form => Ok(Body::Form),
        Header::Json if looks_like_form(text) => Ok(Body::Form),
        Header::Json => json_object(text).map(Body::Json),
        Header::Xml if looks_like_form(text) => Ok(Body::Form),
        Header::Xml => Err(PayloadError::InvalidXml(
            "the body does not start with an element (`<`) and is no form either".to_owned(),
        )),
        // Broken JSON says what it meant to be: the JSON error helps more than no fields.
        Header::Loose if text.starts_with(b"{") => json_object(text).map(Body::Json),
        Header::Loose if std::str::from_utf8(text).is_err() => Err(PayloadError::NotUtf8),
        Header::Loose => Ok(Body::Form),
        Header::Other(_) if looks_like_form(text) => Ok(Body::Form),
        Header::Other(media_type) => Err(PayloadError::UnsupportedContentType(media_type)),
    }
}

/// A form as encoders write it: UTF-8 `key=value` pairs joined by `&`, every key non-empty,
/// no blanks or control characters (they are percent-encoded), not starting like JSON or XML.
fn looks_like_form(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else {
        return false;
    };
    !text.starts_with(['{', '[', '<', '"'])
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        && text.contains('=')
        && text
            .split('&')
            .filter(|pair| !pair.is_empty())
            .all(|pair| pair.find('=').is_some_and(|at| at > 0))
}

/// A UTF-8 byte order mark is no part of the text (some Windows senders add one).
fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

fn json_object(text: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    let value: Value =
        serde_json::from_slice(text).map_err(|e| PayloadError::InvalidJson(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(PayloadError::JsonNotAnObject(json_kind(&other))),
    }
}

/// An XML body's root element as an object (see [`xml_object`]).
fn xml_body(body: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    let text = strip_bom(body).trim_ascii();
    let offset = body.len() - strip_bom(body).trim_ascii_start().len();
    let text = std::str::from_utf8(text).map_err(|_| PayloadError::NotUtf8)?;
    xml_object(text, offset)
}

/// One open element of an XML body.
struct Element {
    name: String,
    text: String,
    /// Its child elements, when it has any: then it is an object, not a value.
    children: Option<Map<String, Value>>,
}

impl Element {
    fn open(start: &BytesStart<'_>) -> Result<Self, String> {
        // Attributes carry no fields, but a broken one makes the body ill-formed.
        for attribute in start.attributes() {
            attribute.map_err(|e| e.to_string())?;
        }
        Ok(Self {
            name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
            text: String::new(),
            children: None,
        })
    }

    fn into_value(self) -> Value {
        match self.children {
            Some(children) => Value::Object(children),
            None => Value::String(self.text),
        }
    }
}

/// The root element of an XML body as a JSON object, so that it is read exactly as JSON is:
/// each child element is a field whose value is its text (entities and CDATA decoded); a
/// child with children of its own (`additional_call_data`) is a nested object. Attributes,
/// comments and processing instructions are ignored; the root's name is free. Errors name
/// the problem and its byte in the body (`text` starts at byte `offset`).
fn xml_object(text: &str, offset: usize) -> Result<Map<String, Value>, PayloadError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut open: Vec<Element> = Vec::new();
    let mut root = None;
    let invalid = |at: u64, problem: &str| {
        let at = u64::try_from(offset).unwrap_or(u64::MAX).saturating_add(at);
        PayloadError::InvalidXml(format!("{problem} (at byte {at})"))
    };
    loop {
        // Where the event starts, for the errors found in it.
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(invalid(reader.error_position(), &e.to_string())),
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() && open.is_empty() => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                return Err(invalid(at, &format!("`<{name}>` after the root element")));
            }
            Event::Start(start) => {
                if open.len() >= MAX_XML_DEPTH {
                    let problem = format!("elements nested deeper than {MAX_XML_DEPTH}");
                    return Err(invalid(at, &problem));
                }
                open.push(Element::open(&start).map_err(|e| invalid(at, &e))?);
            }
            Event::Empty(start) => {
                let element = Element::open(&start).map_err(|e| invalid(at, &e))?;
                close(element, &mut open, &mut root);
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches the open one.
                if let Some(element) = open.pop() {
                    close(element, &mut open, &mut root);
                }
            }
            Event::Text(text) => {
                let text = text
                    .xml10_content()
                    .map_err(|e| invalid(at, &e.to_string()))?;
                match open.last_mut() {
                    Some(element) => element.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(invalid(at, "text outside the root element")),
                }
            }
            Event::CData(data) => {
                let data = data
                    .xml10_content()
                    .map_err(|e| invalid(at, &e.to_string()))?;
                let Some(element) = open.last_mut() else {
                    return Err(invalid(at, "CDATA outside the root element"));
                };
                element.text.push_str(&data);
            }
            Event::GeneralRef(reference) => {
                let Some(element) = open.last_mut() else {
                    return Err(invalid(at, "an entity outside the root element"));
                };
                match reference.resolve_char_ref() {
                    Ok(Some(c)) => element.text.push(c),
                    Ok(None) => {
                        let name = reference
                            .decode()
                            .map_err(|e| invalid(at, &e.to_string()))?;
                        let Some(text) = quick_xml::escape::resolve_predefined_entity(&name) else {
                            return Err(invalid(at, &format!("unknown entity `&{name};`")));
                        };
                        element.text.push_str(text);
                    }
                    Err(e) => return Err(invalid(at, &e.to_string())),
                }
            }
            Event::Decl(declaration) => {
                if let Some(Ok(encoding)) = declaration.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if !matches!(encoding.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        let problem = format!("encoding `{encoding}`: send UTF-8");
                        return Err(invalid(at, &problem));
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(element) = open.last() {
        let problem = format!("the body ends inside `<{}>`", element.name);
        return Err(invalid(reader.buffer_position(), &problem));
    }
    match root {
        Some(Value::Object(map)) => Ok(map),
        // A root element without children holds no fields.
        Some(_) => Ok(Map::new()),
        None => Err(invalid(reader.buffer_position(), "no root element")),
    }
}

/// Hands a closed element to its parent, or makes it the root.
fn close(element: Element, open: &mut [Element], root: &mut Option<Value>) {
    match open.last_mut() {
        Some(parent) => {
            let name = element.name.clone();
            parent
                .children
                .get_or_insert_default()
                .insert(name, element.into_value());
        }
        None => *root = Some(element.into_value()),
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
