//! The NetHunt part of the read-only HTML pages: the contact cards and the raw tables.

use super::search::texts_of;
use super::store::{FieldKind, NetHuntState, Record};
use super::values::person_email;
use crate::page::{Call, Card, Deal, Entry, What, clock, parse_time};

/// One card per record of the Contacts folder, oldest first, with its call logs, comments and
/// deals.
pub(crate) fn cards(state: &NetHuntState) -> Vec<Card> {
    let names = &state.layout.fields;
    state
        .records_in(&state.layout.contacts_folder_id)
        .map(|record| {
            let texts = |field: &str| record.fields.get(field).map(texts_of).unwrap_or_default();
            let mut facts = Vec::new();
            if let Some(owner) = person_name(state, record, &names.manager) {
                facts.push(("Owner".to_owned(), owner));
            }
            let emails = texts(&names.email);
            if !emails.is_empty() {
                facts.push(("Email".to_owned(), emails.join(", ")));
            }
            let shown_apart = [
                &names.contact_name,
                &names.phone,
                &names.email,
                &names.manager,
            ];
            let tags = record
                .fields
                .iter()
                .filter(|(field, _)| !shown_apart.contains(field))
                .map(|(field, value)| format!("{field}: {}", texts_of(value).join(", ")))
                .collect();
            let deals = state
                .deal_ids_of(&record.id)
                .iter()
                .filter_map(|id| state.record(id))
                .map(|deal| Deal {
                    name: deal
                        .fields
                        .get(&names.deal_name)
                        .map(|v| texts_of(v).join(", "))
                        .unwrap_or_default(),
                    stage: deal
                        .fields
                        .get(&names.deal_stage)
                        .map(|v| texts_of(v).join(", "))
                        .filter(|s| !s.is_empty()),
                    owner: person_name(state, deal, &names.deal_manager),
                })
                .collect();
            let mut timeline: Vec<Entry> = state
                .call_logs
                .iter()
                .filter(|log| log.record_id == record.id)
                .map(|log| {
                    let (subject, description) =
                        log.text.split_once('\n').unwrap_or((&log.text, ""));
                    let mut call = Call::from_text(subject, description);
                    if call.duration.is_none() {
                        call.duration = log.duration.and_then(minutes_as_clock);
                    }
                    Entry {
                        at: log
                            .time
                            .as_deref()
                            .and_then(parse_time)
                            .or_else(|| parse_time(&log.created_at)),
                        what: What::Call(call),
                    }
                })
                .collect();
            timeline.extend(
                state
                    .comments
                    .iter()
                    .filter(|c| c.record_id == record.id)
                    .map(|comment| {
                        let (title, text) =
                            comment.text.split_once('\n').unwrap_or(("", &comment.text));
                        Entry {
                            at: parse_time(&comment.created_at),
                            what: What::Note {
                                title: title.trim().to_owned(),
                                text: text.trim().to_owned(),
                            },
                        }
                    }),
            );
            Card {
                id: record.id.clone(),
                name: texts(&names.contact_name).join(" "),
                phones: texts(&names.phone),
                facts,
                tags,
                deals,
                timeline,
                created: parse_time(&record.created_at),
            }
        })
        .collect()
}

/// The name of the user in the record's person field: the name part of `"Name <email>"`, else
/// the workspace user's name for a bare e-mail, else the e-mail.
fn person_name(state: &NetHuntState, record: &Record, field: &str) -> Option<String> {
    let folder = state.folder(&record.folder_id)?;
    if folder.kind_of(field) != Some(FieldKind::Person) {
        return None;
    }
    let person = texts_of(record.fields.get(field)?).into_iter().next()?;
    let shown = match person.rfind('<') {
        Some(open) if open > 0 => person[..open].trim().to_owned(),
        _ => {
            let email = person_email(&person).unwrap_or_else(|| person.clone());
            state.user_name(&email).map_or(email, str::to_owned)
        }
    };
    Some(shown)
}

/// NetHunt's `duration` read as minutes, the unit NetHunt most likely shows it in
/// (`NETHUNT_DURATION_UNIT`'s default): `1.58` → `1:35`. Only for a record whose text does not
/// give the exact length.
fn minutes_as_clock(minutes: f64) -> Option<String> {
    let secs = (minutes * 60.0).round();
    let fits = secs.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&secs);
    // Used only when it fits: a whole, non-negative number of seconds below 2^32.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = secs as u64;
    fits.then(|| clock(whole))
}

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
