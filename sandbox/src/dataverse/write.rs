//! Creates and updates: every property of a body checked against the entity's metadata,
//! binds resolved, phone-call state changes validated.

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::datetime::{looks_like_datetime, now_rfc3339};
use super::error::{
    ApiError, bad_request, does_not_exist, dv_error, invalid_property, undeclared_navigation,
};
use super::handlers::header_text;
use super::schema::{Entity, Kind, default_status, state_label, valid_state_status};
use super::store::{
    ActivityParty, DataverseState, Lookup, Record, new_guid, parse_guid, refresh_fullname,
};
use super::{API_PREFIX, CLOSED_ACTIVITY_MESSAGE, DUPLICATE_KEY_MESSAGE, SYSTEM_USER_ID};

impl DataverseState {
    /// Validates a create body and stores the record; returns its id.
    pub(super) fn create(
        &mut self,
        entity: Entity,
        upsert_id: Option<&str>,
        body: &Map<String, Value>,
    ) -> Result<String, ApiError> {
        let spec = entity.spec();
        let changes = self.validate_write(entity, body)?;
        let id = match (upsert_id, body.get(spec.key)) {
            (Some(id), _) => id.to_owned(),
            (None, Some(value)) => value.as_str().and_then(parse_guid).ok_or_else(|| {
                bad_request(&format!(
                    "Cannot convert the literal '{value}' to the expected type 'Edm.Guid'."
                ))
            })?,
            (None, None) => new_guid(),
        };
        if self.find(entity, &id).is_some() {
            return Err(dv_error(
                StatusCode::PRECONDITION_FAILED,
                "0x80040237",
                DUPLICATE_KEY_MESSAGE,
            ));
        }
        let mut record = self.new_record(id.clone(), Map::new());
        // Dataverse creates as the caller: the application user, unless ownerid is bound.
        record.lookups.insert(
            "ownerid",
            Lookup {
                entity: Entity::SystemUser,
                id: SYSTEM_USER_ID.to_owned(),
            },
        );
        if entity == Entity::PhoneCall {
            // directioncode: DefaultValue True (Outgoing) when the body leaves it out.
            record.columns.insert("directioncode".into(), json!(true));
        }
        if entity == Entity::Annotation {
            record.columns.insert("isdocument".into(), json!(false));
        }
        changes.apply(&mut record);
        if entity == Entity::Contact {
            refresh_fullname(&mut record);
        }
        self.table_mut(entity).push(record);
        Ok(id)
    }

    pub(super) fn patch(
        &mut self,
        entity: Entity,
        id: &str,
        body: &Map<String, Value>,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        let if_match = header_text(headers, "if-match").map(str::trim);
        let if_none_match = header_text(headers, "if-none-match").map(str::trim);
        let Some(index) = self.table(entity).iter().position(|r| r.id == id) else {
            if if_match.is_some() {
                return Err(dv_error(
                    StatusCode::NOT_FOUND,
                    "",
                    &does_not_exist(entity, id),
                ));
            }
            // Without If-Match, PATCH is an upsert: it creates the missing record.
            return self.create(entity, Some(id), body).map(|_| ());
        };
        if if_none_match == Some("*") {
            return Err(dv_error(
                StatusCode::PRECONDITION_FAILED,
                "0x80040237",
                DUPLICATE_KEY_MESSAGE,
            ));
        }
        let version = self.table(entity)[index].version;
        if let Some(tag) = if_match.filter(|t| *t != "*")
            && tag != format!("W/\"{version}\"")
        {
            return Err(dv_error(
                StatusCode::PRECONDITION_FAILED,
                "0x80060882",
                "The version of the existing record doesn't match the RowVersion property provided.",
            ));
        }
        let (current_state, current_status) = {
            let record = &self.table(entity)[index];
            (record.statecode, record.statuscode)
        };
        if entity.is_activity() && current_state != 0 {
            return Err(dv_error(
                StatusCode::BAD_REQUEST,
                "",
                CLOSED_ACTIVITY_MESSAGE,
            ));
        }
        let changes = self.validate_write(entity, body)?;
        let state_change = if entity.is_activity() {
            state_change(body, current_state, current_status, id)?
        } else {
            None
        };
        self.sequence += 1;
        let version = self.sequence;
        let record = &mut self.table_mut(entity)[index];
        changes.apply(record);
        if let Some((state, status)) = state_change {
            record.statecode = state;
            record.statuscode = status;
        }
        if entity == Entity::Contact {
            refresh_fullname(record);
        }
        record.version = version;
        record.modified = now_rfc3339();
        Ok(())
    }

    /// Checks every property of a write body against the entity's metadata.
    fn validate_write(
        &self,
        entity: Entity,
        body: &Map<String, Value>,
    ) -> Result<Changes, ApiError> {
        let spec = entity.spec();
        let mut changes = Changes::default();
        for (name, value) in body {
            if let Some(navigation) = name.strip_suffix("@odata.bind") {
                let Some(bind) = spec.binds.iter().find(|b| b.navigation == navigation) else {
                    return Err(undeclared_navigation(navigation));
                };
                let target = self.resolve_bind(bind.target, value)?;
                changes.lookups.push((bind.attribute, target));
            } else if name.contains('@') {
                // Other instance annotations (`@odata.type`) carry no data.
            } else if name == "phonecall_activity_parties" && entity == Entity::PhoneCall {
                changes.parties = Some(self.parse_parties(value)?);
            } else if name == spec.key {
                // The key is read on create; IsValidForUpdate = false on update.
            } else if entity.is_activity() && (name == "statecode" || name == "statuscode") {
                // IsValidForCreate = false: ignored on create; an update reads them apart.
            } else if let Some(kind) = self.column_kind(entity, name) {
                check_value(entity, name, kind, value)?;
                if !matches!(kind, Kind::ReadOnly) {
                    changes.columns.push((name.clone(), value.clone()));
                }
            } else {
                return Err(invalid_property(entity, name));
            }
        }
        Ok(changes)
    }

    /// `/contacts(<guid>)` (or the absolute URL form) of an existing record.
    fn resolve_bind(&self, target: Entity, value: &Value) -> Result<Lookup, ApiError> {
        let Some(text) = value.as_str() else {
            return Err(bad_request(
                "The value of an @odata.bind annotation must be a string URL.",
            ));
        };
        let relative = text
            .split_once(API_PREFIX)
            .map_or(text, |(_, rest)| rest)
            .trim();
        let parsed = relative
            .strip_prefix('/')
            .and_then(|r| r.split_once('('))
            .and_then(|(set, rest)| Some((set, rest.strip_suffix(')')?)));
        let Some((set, key)) = parsed else {
            return Err(bad_request(&format!(
                "The URI '{text}' in an @odata.bind annotation is not valid: expected '/{}(<guid>)'.",
                target.spec().set
            )));
        };
        if set != target.spec().set {
            return Err(bad_request(&format!(
                "The entity set '{set}' in an @odata.bind annotation does not match the navigation property's type 'Microsoft.Dynamics.CRM.{}'.",
                target.spec().logical
            )));
        }
        let Some(id) = parse_guid(key) else {
            return Err(bad_request(&format!(
                "Cannot convert the literal '{key}' to the expected type 'Edm.Guid'."
            )));
        };
        if self.find(target, &id).is_none() {
            return Err(dv_error(
                StatusCode::BAD_REQUEST,
                "0x80040217",
                &does_not_exist(target, &id),
            ));
        }
        Ok(Lookup { entity: target, id })
    }

    fn parse_parties(&self, value: &Value) -> Result<Vec<ActivityParty>, ApiError> {
        let Some(items) = value.as_array() else {
            return Err(bad_request(
                "A collection of activity parties was expected for 'phonecall_activity_parties'.",
            ));
        };
        let mut parties = Vec::new();
        for item in items {
            let Some(object) = item.as_object() else {
                return Err(bad_request("An activity party must be a JSON object."));
            };
            let mut mask = None;
            let mut party = None;
            for (name, value) in object {
                match name.as_str() {
                    "participationtypemask" => mask = value.as_i64(),
                    "addressused" => {}
                    "partyid_contact@odata.bind" => {
                        party = Some(self.resolve_bind(Entity::Contact, value)?);
                    }
                    "partyid_systemuser@odata.bind" => {
                        party = Some(self.resolve_bind(Entity::SystemUser, value)?);
                    }
                    other => match other.strip_suffix("@odata.bind") {
                        Some(navigation) => return Err(undeclared_navigation(navigation)),
                        None => return Err(invalid_property(Entity::PhoneCall, other)),
                    },
                }
            }
            // Phone calls take Sender (From) and ToRecipient (To) only.
            let mask = match mask {
                Some(mask @ (1 | 2)) => mask,
                Some(other) => {
                    return Err(bad_request(&format!(
                        "The participation type mask {other} is not valid for an activity party of a phonecall: use 1 (Sender) or 2 (ToRecipient)."
                    )));
                }
                None => {
                    return Err(bad_request(
                        "An activity party needs a participationtypemask.",
                    ));
                }
            };
            let Some(party) = party else {
                return Err(bad_request(
                    "An activity party needs a partyid_<entity>@odata.bind.",
                ));
            };
            parties.push(ActivityParty {
                id: new_guid(),
                mask,
                party,
            });
        }
        Ok(parties)
    }
}

/// A validated write, applied to the record in one go.
#[derive(Default)]
struct Changes {
    columns: Vec<(String, Value)>,
    lookups: Vec<(&'static str, Lookup)>,
    parties: Option<Vec<ActivityParty>>,
}

impl Changes {
    fn apply(self, record: &mut Record) {
        for (name, value) in self.columns {
            if value.is_null() {
                record.columns.remove(&name);
            } else {
                record.columns.insert(name, value);
            }
        }
        for (attribute, target) in self.lookups {
            record.lookups.insert(attribute, target);
        }
        if let Some(parties) = self.parties {
            record.parties = parties;
        }
    }
}

/// The state/status a phone call PATCH asks for, validated against the documented pairs.
fn state_change(
    body: &Map<String, Value>,
    current_state: i64,
    current_status: i64,
    id: &str,
) -> Result<Option<(i64, i64)>, ApiError> {
    let read = |name: &str| -> Result<Option<i64>, ApiError> {
        match body.get(name) {
            None => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| {
                bad_request(&format!(
                    "Cannot convert a primitive value to the expected type 'Edm.Int32' for '{name}'."
                ))
            }),
        }
    };
    let state = read("statecode")?;
    let status = read("statuscode")?;
    if state.is_none() && status.is_none() {
        return Ok(None);
    }
    let state = state.unwrap_or(current_state);
    let status = match status {
        Some(status) => status,
        None if state == current_state => current_status,
        None => default_status(state).unwrap_or(-1),
    };
    if !valid_state_status(state, status) {
        return Err(dv_error(
            StatusCode::BAD_REQUEST,
            "0x80040203",
            &format!(
                "{status} is not a valid status code for state code PhoneCallState.{} on phonecall with Id {id}.",
                state_label(state)
            ),
        ));
    }
    Ok(Some((state, status)))
}

fn check_value(entity: Entity, name: &str, kind: Kind, value: &Value) -> Result<(), ApiError> {
    if value.is_null() {
        return Ok(());
    }
    let type_error = |edm: &str| {
        bad_request(&format!(
            "Cannot convert a primitive value to the expected type '{edm}' for '{name}'. See the inner exception for more details."
        ))
    };
    match kind {
        Kind::ReadOnly => Ok(()),
        Kind::Text(max) => {
            let Some(text) = value.as_str() else {
                return Err(type_error("Edm.String"));
            };
            if text.chars().count() > max {
                return Err(dv_error(
                    StatusCode::BAD_REQUEST,
                    "0x80044331",
                    &format!(
                        "A validation error occurred. The length of the '{name}' attribute of the '{}' entity exceeded the maximum allowed length of '{max}'.",
                        entity.spec().logical
                    ),
                ));
            }
            Ok(())
        }
        Kind::Bool => value
            .is_boolean()
            .then_some(())
            .ok_or_else(|| type_error("Edm.Boolean")),
        Kind::Int { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(()),
            Some(n) => Err(bad_request(&format!(
                "The value {n} of '{name}' is outside the valid range ({min} to {max})."
            ))),
            None => Err(type_error("Edm.Int32")),
        },
        Kind::Number => value
            .is_number()
            .then_some(())
            .ok_or_else(|| type_error("Edm.Decimal")),
        Kind::DateTime => value
            .as_str()
            .filter(|t| looks_like_datetime(t))
            .map(|_| ())
            .ok_or_else(|| type_error("Edm.DateTimeOffset")),
    }
}
