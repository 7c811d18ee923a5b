//! The NetHunt part of the read-only HTML page.

use super::search::texts_of;
use super::store::{NetHuntState, Record};

pub fn html_section(state: &NetHuntState) -> String {
    let fields_text = |record: &Record| {
        record
            .fields
            .iter()
            .map(|(name, value)| format!("{name}: {}", texts_of(value).join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let records = |folder_id: &str| -> Vec<Vec<String>> {
        state
            .records_in(folder_id)
            .map(|r| vec![r.id.clone(), r.created_at.clone(), fields_text(r)])
            .collect()
    };
    let calls: Vec<Vec<String>> = state
        .call_logs
        .iter()
        .map(|log| {
            vec![
                log.record_id.clone(),
                log.time.clone().unwrap_or_default(),
                log.duration.map(|d| d.to_string()).unwrap_or_default(),
                log.text.clone(),
            ]
        })
        .collect();
    let comments: Vec<Vec<String>> = state
        .comments
        .iter()
        .map(|c| vec![c.record_id.clone(), c.created_at.clone(), c.text.clone()])
        .collect();
    let mut html = String::from("<h2>NetHunt</h2>");
    html.push_str(&format!(
        "<p>find-record answers {} when nothing matches.</p>",
        if state.not_found_as_404 {
            "404"
        } else {
            "<code>[]</code>"
        }
    ));
    html.push_str("<h3>Contacts</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Created", "Fields"],
        &records(&state.layout.contacts_folder_id),
    ));
    html.push_str("<h3>Call logs</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Time", "Duration", "Text"],
        &calls,
    ));
    html.push_str("<h3>Comments</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Created", "Text"],
        &comments,
    ));
    html.push_str("<h3>Deals</h3>");
    html.push_str(&crate::page::table(
        &["Record", "Created", "Fields"],
        &records(&state.layout.deals_folder_id),
    ));
    html
}
