//! The Ringostat part of the read-only HTML page.

use serde_json::Value;

use super::store::RingostatState;

/// Contacts synced to Smart Phone and click-to-call requests; secret values are never shown.
pub(crate) fn html_section(state: &RingostatState) -> String {
    let text = |contact: &Value, key: &str| match contact.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let contacts: Vec<Vec<String>> = state
        .contacts
        .iter()
        .map(|(key, contact)| {
            let directions = contact
                .get("contactDirections")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|d| format!("{}: {}", text(d, "type"), text(d, "value")))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            vec![
                key.clone(),
                text(contact, "fullName"),
                directions,
                text(contact, "origin"),
                text(contact, "responsible"),
                text(contact, "contactLink"),
            ]
        })
        .collect();
    let calls: Vec<Vec<String>> = state
        .outward_calls
        .iter()
        .map(|(extension, destination)| vec![extension.clone(), destination.clone()])
        .collect();
    let mut html = String::from("<h2>Ringostat: Smart Phone contacts</h2>");
    html.push_str(&crate::page::table(
        &[
            "External id",
            "Full name",
            "Directions",
            "Origin",
            "Responsible",
            "Contact link",
        ],
        &contacts,
    ));
    html.push_str("<h2>Ringostat: click-to-call requests</h2>");
    html.push_str(&crate::page::table(&["Extension", "Destination"], &calls));
    html.push_str(&format!(
        "<p>Call log: {} calls seeded, {} calls/list requests.</p>",
        state.call_log.len(),
        state.calls_list_requests.len()
    ));
    html.push_str(&format!(
        "<p>Secrets extension: {} parameters and {} secrets seeded (values hidden).</p>",
        state.parameters.len(),
        state.secrets.len()
    ));
    html
}
