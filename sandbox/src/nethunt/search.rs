//! find-record's free-text search, fuzzy as NetHunt's is: a substring match, case-insensitive,
//! of any of the query's alternatives.

use serde_json::Value;

use super::store::Record;

/// What a NetHunt query searches for: `"Field":"value"`, `Field:"value"`, `field:value` and a
/// bare term give one value; `"Field":("a" OR "b" OR c)` (NetHunt's advanced-search group,
/// [INFERRED] for find-record) gives each alternative. The field name is not used: the search
/// is free-text. `Err` is the 400 message for a group that is not closed, holds an empty
/// alternative or an unclosed quote.
pub fn search_terms(query: &str) -> Result<Vec<String>, &'static str> {
    let query = query.trim();
    let (value, after_field) = value_of(query);
    match value.strip_prefix('(').filter(|_| after_field) {
        Some(rest) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or("query: a group of alternatives must end with `)`")?;
            alternatives(inner)
        }
        None => Ok(vec![unquote(value).to_owned()]),
    }
}

/// Whether the query's value is a group of alternatives (`"Field":(… OR …)`).
pub(super) fn is_grouped(query: &str) -> bool {
    let (value, after_field) = value_of(query.trim());
    after_field && value.starts_with('(')
}

/// The value after `"Field":` or `field:`, and whether there was such a field; the whole
/// query otherwise.
fn value_of(query: &str) -> (&str, bool) {
    if let Some(rest) = query.strip_prefix('"') {
        match rest.split_once('"') {
            // "Field":"value", "Field":value or "Field":(…)
            Some((_, after)) if after.trim_start().starts_with(':') => {
                (after.trim_start()[1..].trim(), true)
            }
            // A quoted bare term.
            _ => (query, false),
        }
    } else {
        match query.split_once(':') {
            Some((field, value)) if !field.is_empty() && !field.contains(char::is_whitespace) => {
                (value.trim(), true)
            }
            _ => (query, false),
        }
    }
}

fn unquote(value: &str) -> &str {
    let value = value.strip_prefix('"').unwrap_or(value);
    value.strip_suffix('"').unwrap_or(value)
}

/// `"a" OR b c OR "d e"` → `a`, `b c`, `d e`: quoted strings are taken whole, bare words
/// between two `OR`s are one alternative.
fn alternatives(group: &str) -> Result<Vec<String>, &'static str> {
    let mut terms = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut chars = group.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { break };
        let token = if first == '"' {
            chars.next();
            let mut quoted = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                quoted.push(c);
            }
            if !closed {
                return Err("query: a quoted alternative is not closed");
            }
            Token::Quoted(quoted)
        } else {
            let mut word = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
            if word == "OR" {
                Token::Or
            } else {
                Token::Word(word)
            }
        };
        match token {
            Token::Or => {
                if current.is_empty() {
                    return Err("query: an alternative of the group is empty");
                }
                terms.push(current.join(" "));
                current.clear();
            }
            Token::Quoted(text) | Token::Word(text) => current.push(text),
        }
    }
    if current.is_empty() {
        return Err("query: an alternative of the group is empty");
    }
    terms.push(current.join(" "));
    Ok(terms)
}

enum Token {
    Or,
    Quoted(String),
    Word(String),
}

/// Lower case without whitespace and `()+-.`: how [`NetHuntState::search_ignores_separators`]
/// compares (`+38 (050) 123-45-67` and `380501234567` compare equal).
///
/// [`NetHuntState::search_ignores_separators`]: super::NetHuntState::search_ignores_separators
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '+' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// How the record's values and the query's terms are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Matching {
    /// Case-insensitive substring, separators as typed (the default).
    AsTyped,
    /// Case-insensitive substring after [`squash`]ing both sides.
    IgnoringSeparators,
}

impl Matching {
    fn normalise(self, text: &str) -> String {
        match self {
            Self::AsTyped => text.to_lowercase(),
            Self::IgnoringSeparators => squash(text),
        }
    }

    /// The terms as they are compared; empty ones dropped (a term of separators only
    /// matches nothing rather than everything).
    pub(super) fn needles(self, terms: &[String]) -> Vec<String> {
        terms
            .iter()
            .map(|term| self.normalise(term))
            .filter(|needle| !needle.trim().is_empty())
            .collect()
    }
}

/// Whether any value of the record contains any of the `needles`.
pub(super) fn fuzzy_match(record: &Record, needles: &[String], matching: Matching) -> bool {
    record.fields.values().any(|value| {
        texts_of(value).iter().any(|text| {
            let text = matching.normalise(text);
            needles.iter().any(|needle| text.contains(needle.as_str()))
        })
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
