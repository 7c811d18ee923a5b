//! The Dataverse part of the read-only HTML pages: the contact cards and the raw tables.

use serde_json::Value;

use super::schema::{Entity, state_label, status_label};
use super::store::{DataverseState, Lookup, Record, text_column};
use crate::page::{Call, Card, Deal, Entry, What, parse_time};

/// The phone columns of a contact, in the order Smart CRM's form shows them.
const PHONE_COLUMNS: [&str; 4] = ["telephone1", "mobilephone", "telephone2", "telephone3"];

/// One card per contact, oldest first, with its phone calls, notes and opportunities.
pub(crate) fn cards(state: &DataverseState) -> Vec<Card> {
    let name_of = |lookup: Option<&Lookup>| {
        lookup
            .map(|l| state.display_name(l))
            .filter(|name| !name.is_empty())
    };
    state
        .contacts
        .iter()
        .map(|contact| {
            let me = Lookup {
                entity: Entity::Contact,
                id: contact.id.clone(),
            };
            let about_me = |record: &&Record, lookup: &str| record.lookups.get(lookup) == Some(&me);
            let mut facts = Vec::new();
            if let Some(owner) = name_of(contact.lookups.get("ownerid")) {
                facts.push(("Owner".to_owned(), owner));
            }
            let email = text_column(contact, "emailaddress1");
            if !email.is_empty() {
                facts.push(("Email".to_owned(), email));
            }
            let deals = state
                .opportunities
                .iter()
                .filter(|o| about_me(o, "customerid"))
                .map(|o| Deal {
                    name: text_column(o, "name"),
                    stage: Some(text_column(o, "stepname")).filter(|s| !s.is_empty()),
                    owner: name_of(o.lookups.get("ownerid")),
                })
                .collect();
            let mut timeline: Vec<Entry> = state
                .phonecalls
                .iter()
                .filter(|c| about_me(c, "regardingobjectid"))
                .map(|c| {
                    let mut call =
                        Call::from_text(&text_column(c, "subject"), &text_column(c, "description"));
                    if let Some(outgoing) = c.columns.get("directioncode").and_then(Value::as_bool)
                    {
                        call.incoming = Some(!outgoing);
                    }
                    if call.duration.is_none() {
                        // Whole minutes only: the exact length is in the description.
                        call.duration = c
                            .columns
                            .get("actualdurationminutes")
                            .and_then(Value::as_i64)
                            .map(|minutes| format!("{minutes} min"));
                    }
                    call.owner = name_of(c.lookups.get("ownerid"));
                    call.state = Some(format!(
                        "{} ({})",
                        state_label(c.statecode),
                        status_label(c.statuscode)
                    ));
                    // The call's own time, not when the record was made.
                    let at = ["actualstart", "scheduledstart"]
                        .iter()
                        .find_map(|column| parse_time(&text_column(c, column)))
                        .or_else(|| parse_time(&c.created));
                    Entry {
                        at,
                        what: What::Call(call),
                    }
                })
                .collect();
            timeline.extend(
                state
                    .annotations
                    .iter()
                    .filter(|n| about_me(n, "objectid"))
                    .map(|n| Entry {
                        at: parse_time(&n.created),
                        what: What::Note {
                            title: text_column(n, "subject"),
                            text: text_column(n, "notetext"),
                        },
                    }),
            );
            let custom_columns: Vec<&str> = state.custom_columns_of(Entity::Contact).collect();
            Card {
                id: contact.id.clone(),
                name: text_column(contact, "fullname"),
                phones: PHONE_COLUMNS
                    .iter()
                    .map(|column| text_column(contact, column))
                    .filter(|phone| !phone.is_empty())
                    .collect(),
                facts,
                tags: contact
                    .columns
                    .iter()
                    .filter(|(column, _)| custom_columns.contains(&column.as_str()))
                    .filter_map(|(column, value)| match value {
                        Value::Null => None,
                        Value::String(s) if s.is_empty() => None,
                        Value::String(s) => Some(format!("{column}: {s}")),
                        other => Some(format!("{column}: {other}")),
                    })
                    .collect(),
                deals,
                timeline,
                created: parse_time(&contact.created),
            }
        })
        .collect()
}

pub fn html_section(state: &DataverseState) -> String {
    let name_of = |lookup: Option<&Lookup>| {
        lookup
            .map(|l| {
                let name = state.display_name(l);
                if name.is_empty() { l.id.clone() } else { name }
            })
            .unwrap_or_default()
    };
    let text = |record: &Record, column: &str| text_column(record, column);
    let extra_columns = |entity: Entity, record: &Record| {
        record
            .columns
            .iter()
            .filter(|(name, _)| !entity.spec().columns.iter().any(|(c, _)| c == name))
            .map(|(name, value)| match value {
                Value::String(s) => format!("{name} = {s}"),
                other => format!("{name} = {other}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };

    let contacts: Vec<Vec<String>> = state
        .contacts
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                text(c, "fullname"),
                text(c, "telephone1"),
                text(c, "mobilephone"),
                text(c, "telephone2"),
                name_of(c.lookups.get("ownerid")),
                extra_columns(Entity::Contact, c),
            ]
        })
        .collect();
    let calls: Vec<Vec<String>> = state
        .phonecalls
        .iter()
        .map(|c| {
            let parties = |mask: i64| {
                c.parties
                    .iter()
                    .filter(|p| p.mask == mask)
                    .map(|p| {
                        format!(
                            "{} ({})",
                            name_of(Some(&p.party)),
                            p.party.entity.spec().logical
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let direction = match c.columns.get("directioncode").and_then(Value::as_bool) {
                Some(true) => "Outgoing",
                Some(false) => "Incoming",
                None => "",
            };
            vec![
                c.created.clone(),
                text(c, "subject"),
                direction.to_owned(),
                parties(1),
                parties(2),
                text(c, "phonenumber"),
                name_of(c.lookups.get("regardingobjectid")),
                format!(
                    "{} ({})",
                    state_label(c.statecode),
                    status_label(c.statuscode)
                ),
                c.columns
                    .get("actualdurationminutes")
                    .map(Value::to_string)
                    .unwrap_or_default(),
                name_of(c.lookups.get("ownerid")),
            ]
        })
        .collect();
    let notes: Vec<Vec<String>> = state
        .annotations
        .iter()
        .map(|n| {
            vec![
                n.created.clone(),
                name_of(n.lookups.get("objectid")),
                text(n, "subject"),
                text(n, "notetext"),
            ]
        })
        .collect();
    let opportunities: Vec<Vec<String>> = state
        .opportunities
        .iter()
        .map(|o| {
            vec![
                o.created.clone(),
                text(o, "name"),
                name_of(o.lookups.get("customerid")),
                name_of(o.lookups.get("ownerid")),
                text(o, "stepname"),
                extra_columns(Entity::Opportunity, o),
            ]
        })
        .collect();

    let mut html = String::from("<h2>Dataverse (Smart CRM)</h2>");
    html.push_str(&format!(
        "<p>{} token request(s), {} live token(s).</p>",
        state.token_requests,
        state.tokens.len()
    ));
    html.push_str("<h3>Contacts</h3>");
    html.push_str(&crate::page::table(
        &[
            "contactid",
            "Full name",
            "Business phone",
            "Mobile phone",
            "Home phone",
            "Owner",
            "Other columns",
        ],
        &contacts,
    ));
    html.push_str("<h3>Phone calls</h3>");
    html.push_str(&crate::page::table(
        &[
            "Created",
            "Subject",
            "Direction",
            "From",
            "To",
            "Phone number",
            "Regarding",
            "State",
            "Minutes",
            "Owner",
        ],
        &calls,
    ));
    html.push_str("<h3>Notes</h3>");
    html.push_str(&crate::page::table(
        &["Created", "Regarding", "Title", "Text"],
        &notes,
    ));
    html.push_str("<h3>Opportunities</h3>");
    html.push_str(&crate::page::table(
        &[
            "Created",
            "Topic",
            "Customer",
            "Owner",
            "Pipeline phase",
            "Other columns",
        ],
        &opportunities,
    ));
    html
}
