//! The Dataverse part of the read-only HTML page.

use serde_json::Value;

use super::schema::{Entity, state_label, status_label};
use super::store::{DataverseState, Lookup, Record, text_column};

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
