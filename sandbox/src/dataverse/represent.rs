//! A record as the Web API returns it: columns, `_<lookup>_value`s, the instance annotations
//! `Prefer` asked for, and the `@odata.context` URL.

use serde_json::{Map, Value, json};

use super::API_PREFIX;
use super::schema::{Entity, state_label, status_label};
use super::store::{DataverseState, Record};

impl DataverseState {
    /// The JSON of a record, restricted to `select` when given.
    pub(super) fn represent(
        &self,
        entity: Entity,
        record: &Record,
        select: Option<&[String]>,
        annotations: &Annotations,
    ) -> Map<String, Value> {
        let spec = entity.spec();
        let mut all = Map::new();
        all.insert(
            "@odata.etag".into(),
            json!(format!("W/\"{}\"", record.version)),
        );
        all.insert(spec.key.into(), json!(record.id));
        for (column, _) in spec.columns {
            all.insert(
                (*column).into(),
                record.columns.get(*column).cloned().unwrap_or(Value::Null),
            );
        }
        for column in self.custom_columns_of(entity) {
            all.insert(
                column.to_owned(),
                record.columns.get(column).cloned().unwrap_or(Value::Null),
            );
        }
        all.insert("createdon".into(), json!(record.created));
        all.insert("modifiedon".into(), json!(record.modified));
        if entity.is_activity() {
            all.insert("statecode".into(), json!(record.statecode));
            all.insert("statuscode".into(), json!(record.statuscode));
        }
        let mut attributes: Vec<(&str, &str)> = spec
            .binds
            .iter()
            .map(|b| (b.attribute, b.navigation))
            .collect();
        attributes.dedup_by_key(|(attribute, _)| *attribute);
        for (attribute, _) in &attributes {
            let name = format!("_{attribute}_value");
            match record.lookups.get(attribute) {
                Some(target) => {
                    all.insert(name.clone(), json!(target.id));
                    if annotations.formatted() {
                        all.insert(
                            format!("{name}@OData.Community.Display.V1.FormattedValue"),
                            json!(self.display_name(target)),
                        );
                    }
                    if annotations.lookup_names() {
                        all.insert(
                            format!("{name}@Microsoft.Dynamics.CRM.lookuplogicalname"),
                            json!(target.entity.spec().logical),
                        );
                    }
                }
                None => {
                    all.insert(name, Value::Null);
                }
            }
        }
        if annotations.formatted() {
            if entity.is_activity() {
                all.insert(
                    "statecode@OData.Community.Display.V1.FormattedValue".into(),
                    json!(state_label(record.statecode)),
                );
                all.insert(
                    "statuscode@OData.Community.Display.V1.FormattedValue".into(),
                    json!(status_label(record.statuscode)),
                );
            }
            if let Some(direction) = record.columns.get("directioncode").and_then(Value::as_bool) {
                all.insert(
                    "directioncode@OData.Community.Display.V1.FormattedValue".into(),
                    json!(if direction { "Outgoing" } else { "Incoming" }),
                );
            }
        }
        let Some(select) = select else {
            return all;
        };
        let mut selected = Map::new();
        for (name, value) in all {
            let base = name.split('@').next().unwrap_or_default();
            let keep = name == "@odata.etag"
                || name == spec.key
                || base == spec.key
                || select.iter().any(|s| s == base);
            if keep {
                selected.insert(name, value);
            }
        }
        for column in select {
            selected.entry(column.clone()).or_insert(Value::Null);
        }
        selected
    }

    pub(super) fn parties_json(&self, record: &Record, annotations: &Annotations) -> Value {
        Value::Array(
            record
                .parties
                .iter()
                .map(|p| {
                    let mut party = Map::new();
                    party.insert("activitypartyid".into(), json!(p.id));
                    party.insert("participationtypemask".into(), json!(p.mask));
                    party.insert("_partyid_value".into(), json!(p.party.id));
                    if annotations.lookup_names() {
                        party.insert(
                            "_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname".into(),
                            json!(p.party.entity.spec().logical),
                        );
                    }
                    if annotations.formatted() {
                        party.insert(
                            "_partyid_value@OData.Community.Display.V1.FormattedValue".into(),
                            json!(self.display_name(&p.party)),
                        );
                    }
                    Value::Object(party)
                })
                .collect(),
        )
    }
}

/// Which instance annotations `Prefer: odata.include-annotations` asked for.
pub(super) enum Annotations {
    None,
    All,
    Some(String),
}

impl Annotations {
    pub(super) fn from_prefer(prefer: &str) -> Self {
        let Some((_, rest)) = prefer.split_once("odata.include-annotations=") else {
            return Self::None;
        };
        let value = rest.trim_start_matches('"');
        let value = value.split('"').next().unwrap_or_default();
        if value.trim() == "*" {
            Self::All
        } else {
            Self::Some(value.to_owned())
        }
    }

    fn formatted(&self) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Some(list) => list.contains("OData.Community.Display.V1.FormattedValue"),
        }
    }

    fn lookup_names(&self) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Some(list) => list.contains("Microsoft.Dynamics.CRM.lookuplogicalname"),
        }
    }
}

pub(super) fn context_url(
    base: &str,
    set: &str,
    select: Option<&[String]>,
    entity: bool,
) -> String {
    let mut url = format!("{base}{API_PREFIX}/$metadata#{set}");
    if let Some(select) = select {
        url.push_str(&format!("({})", select.join(",")));
    }
    if entity {
        url.push_str("/$entity");
    }
    url
}
