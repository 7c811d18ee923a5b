//! What the tenant holds (users, contacts, phone calls, notes, opportunities, tokens), with
//! the inspection and seeding helpers tests use.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::datetime::now_rfc3339;
use super::represent::Annotations;
use super::schema::{Entity, Kind, is_custom_column};
use super::{
    DEFAULT_TOKEN_LIFETIME_SECS, MANAGER_EMAIL, MANAGER_NAME, MANAGER_USER_ID, SYSTEM_USER_EMAIL,
    SYSTEM_USER_ID, SYSTEM_USER_NAME,
};

/// The target of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Lookup {
    pub(super) entity: Entity,
    pub(super) id: String,
}

#[derive(Debug, Clone)]
pub(super) struct ActivityParty {
    pub(super) id: String,
    pub(super) mask: i64,
    pub(super) party: Lookup,
}

#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) id: String,
    pub(super) columns: Map<String, Value>,
    /// Lookup attribute (`ownerid`, `regardingobjectid`) → target.
    pub(super) lookups: BTreeMap<&'static str, Lookup>,
    /// Activities only.
    pub(super) parties: Vec<ActivityParty>,
    pub(super) statecode: i64,
    pub(super) statuscode: i64,
    pub(super) created: String,
    pub(super) modified: String,
    pub(super) version: u64,
}

#[derive(Debug)]
pub struct DataverseState {
    users: Vec<Record>,
    pub(super) contacts: Vec<Record>,
    pub(super) phonecalls: Vec<Record>,
    pub(super) annotations: Vec<Record>,
    pub(super) opportunities: Vec<Record>,
    /// Access token → when it stops working.
    pub(super) tokens: HashMap<String, Instant>,
    pub(super) token_requests: usize,
    /// `expires_in` of the tokens issued from now on.
    pub token_lifetime_secs: u64,
    pub(super) sequence: u64,
    /// Requests that lacked the OData headers the contract asks for.
    pub(super) header_problems: Vec<String>,
    /// The columns the tenant added to its tables: (table, logical name, maximum length).
    custom_columns: Vec<(Entity, String, usize)>,
}

/// The custom columns of the seed tenant: the UTM columns under the default publisher's prefix
/// (`new_`), text of Dataverse's default length for a new text column, 100 characters.
const SEED_CUSTOM_COLUMNS: [&str; 5] = [
    "new_utmsource",
    "new_utmmedium",
    "new_utmcampaign",
    "new_utmterm",
    "new_utmcontent",
];

/// Why a tenant's schema could not be changed as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// No table has this logical name.
    UnknownTable(String),
    /// The table takes no custom columns.
    NoCustomColumns(String),
    /// Not `<publisher prefix>_<name>` in lower case.
    NotACustomName(String),
    /// The table has no column of this name.
    UnknownColumn(String),
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownTable(table) => write!(f, "no table `{table}`"),
            Self::NoCustomColumns(table) => write!(f, "table `{table}` takes no custom columns"),
            Self::NotACustomName(name) => write!(
                f,
                "`{name}` is no custom column name (publisher prefix of 2-8 letters and digits, `_`, name)"
            ),
            Self::UnknownColumn(name) => write!(f, "no column `{name}`"),
        }
    }
}

impl std::error::Error for SchemaError {}

impl Default for DataverseState {
    fn default() -> Self {
        let mut state = Self {
            users: Vec::new(),
            contacts: Vec::new(),
            phonecalls: Vec::new(),
            annotations: Vec::new(),
            opportunities: Vec::new(),
            tokens: HashMap::new(),
            token_requests: 0,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            sequence: 0,
            header_problems: Vec::new(),
            custom_columns: SEED_CUSTOM_COLUMNS
                .iter()
                .map(|name| (Entity::Contact, (*name).to_owned(), 100))
                .collect(),
        };
        state.insert_user(
            SYSTEM_USER_ID,
            SYSTEM_USER_NAME,
            SYSTEM_USER_EMAIL,
            Some("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"),
        );
        state.insert_user(MANAGER_USER_ID, MANAGER_NAME, MANAGER_EMAIL, None);
        state
    }
}

/// `column` of every record whose `lookup` points at the contact.
fn texts_linked_to(
    records: &[Record],
    lookup: &str,
    contact_id: &str,
    column: &str,
) -> Vec<String> {
    let target = Lookup {
        entity: Entity::Contact,
        id: contact_id.to_ascii_lowercase(),
    };
    records
        .iter()
        .filter(|r| r.lookups.get(lookup) == Some(&target))
        .map(|r| text_column(r, column))
        .collect()
}

impl DataverseState {
    // --- inspection helpers shared with the cross-CRM suite ---------------------------------

    pub fn contact_count(&self) -> usize {
        self.contacts.len()
    }

    pub fn call_count(&self) -> usize {
        self.phonecalls.len()
    }

    /// Subjects of the phone calls regarding the contact, oldest first.
    pub fn calls_of(&self, contact_id: &str) -> Vec<String> {
        texts_linked_to(&self.phonecalls, "regardingobjectid", contact_id, "subject")
    }

    /// Texts of the notes (annotations) on the contact, oldest first.
    pub fn notes_of(&self, contact_id: &str) -> Vec<String> {
        texts_linked_to(&self.annotations, "objectid", contact_id, "notetext")
    }

    /// Names of the opportunities whose customer is the contact, oldest first.
    pub fn deals_of(&self, contact_id: &str) -> Vec<String> {
        texts_linked_to(&self.opportunities, "customerid", contact_id, "name")
    }

    /// The `systemuserid` owning the contact.
    pub fn owner_of(&self, contact_id: &str) -> Option<String> {
        self.find(Entity::Contact, contact_id)
            .and_then(|c| c.lookups.get("ownerid"))
            .map(|owner| owner.id.clone())
    }

    /// The `systemuserid` owning the opportunity.
    pub fn deal_owner_of(&self, deal_id: &str) -> Option<String> {
        self.find(Entity::Opportunity, deal_id)
            .and_then(|o| o.lookups.get("ownerid"))
            .map(|owner| owner.id.clone())
    }

    /// Stores a contact with `phone_as_stored` in `telephone1`, exactly as given, and returns
    /// its `contactid`.
    pub fn seed_contact(&mut self, phone_as_stored: &str, name: &str, owner_id: &str) -> String {
        self.seed_contact_with(&[("telephone1", phone_as_stored)], name, owner_id)
            .unwrap_or_else(|e| unreachable!("telephone1 is a standard column: {e}"))
    }

    /// Stores a contact whose `column`s hold the given values exactly as given (a number in a
    /// custom phone column, in any notation), and returns its `contactid`.
    pub fn seed_contact_with(
        &mut self,
        values: &[(&str, &str)],
        name: &str,
        owner_id: &str,
    ) -> Result<String, SchemaError> {
        for (column, _) in values {
            if self.column_kind(Entity::Contact, column).is_none() {
                return Err(SchemaError::UnknownColumn((*column).to_owned()));
            }
        }
        let mut columns = Map::new();
        let name = name.trim();
        let (first, last) = match name.rsplit_once(' ') {
            Some((first, last)) => (Some(first.trim()), last),
            None => (None, name),
        };
        if let Some(first) = first.filter(|f| !f.is_empty()) {
            columns.insert("firstname".into(), json!(first));
        }
        if !last.is_empty() {
            columns.insert("lastname".into(), json!(last));
        }
        for (column, value) in values {
            columns.insert((*column).into(), json!(value));
        }
        let id = new_guid();
        let mut record = self.new_record(id.clone(), columns);
        record.lookups.insert(
            "ownerid",
            Lookup {
                entity: Entity::SystemUser,
                id: owner_id.to_ascii_lowercase(),
            },
        );
        refresh_fullname(&mut record);
        self.contacts.push(record);
        Ok(id)
    }

    /// Deletes the contact, as a user would in Smart CRM: a write that binds to it is refused
    /// from then on. What referred to it is left as it was. Returns whether it existed.
    pub fn delete_contact(&mut self, contact_id: &str) -> bool {
        let id = contact_id.to_ascii_lowercase();
        let before = self.contacts.len();
        self.contacts.retain(|c| c.id != id);
        self.contacts.len() < before
    }

    /// Adds a custom column (single line of text of `max_chars`) to `table` (a logical name:
    /// `contact`, `opportunity`), as a maker does in Power Apps. Until then, a read or write
    /// naming it is refused like any unknown column.
    pub fn add_custom_column(
        &mut self,
        table: &str,
        column: &str,
        max_chars: usize,
    ) -> Result<(), SchemaError> {
        let entity =
            Entity::from_logical(table).ok_or_else(|| SchemaError::UnknownTable(table.into()))?;
        if !entity.takes_custom_columns() {
            return Err(SchemaError::NoCustomColumns(table.into()));
        }
        if !is_custom_column(column) {
            return Err(SchemaError::NotACustomName(column.into()));
        }
        if self.custom_column(entity, column).is_none() {
            self.custom_columns
                .push((entity, column.to_owned(), max_chars));
        }
        Ok(())
    }

    /// Whether `name` can be selected, filtered or ordered on: a standard column or lookup of
    /// the table, or one of the tenant's custom columns.
    pub(super) fn is_readable(&self, entity: Entity, name: &str) -> bool {
        entity.is_standard_readable(name) || self.custom_column(entity, name).is_some()
    }

    /// What the column holds, `None` when the table has no such column.
    pub(super) fn column_kind(&self, entity: Entity, name: &str) -> Option<Kind> {
        entity
            .standard_column_kind(name)
            .or_else(|| self.custom_column(entity, name).map(Kind::Text))
    }

    /// The tenant's custom columns of the table.
    pub(super) fn custom_columns_of(&self, entity: Entity) -> impl Iterator<Item = &str> {
        self.custom_columns
            .iter()
            .filter(move |(e, _, _)| *e == entity)
            .map(|(_, name, _)| name.as_str())
    }

    fn custom_column(&self, entity: Entity, name: &str) -> Option<usize> {
        self.custom_columns
            .iter()
            .find(|(e, n, _)| *e == entity && n == name)
            .map(|(_, _, max)| *max)
    }

    // --- Dataverse-specific helpers ---------------------------------------------------------

    /// Adds an enabled licensed user; returns its `systemuserid`.
    pub fn seed_user(&mut self, full_name: &str, email: &str) -> String {
        let id = new_guid();
        self.insert_user(&id, full_name, email, None);
        id
    }

    /// The full name of the user with this `systemuserid`.
    pub fn user_name(&self, user_id: &str) -> Option<String> {
        self.find(Entity::SystemUser, user_id)
            .map(|user| text_column(user, "fullname"))
            .filter(|name| !name.is_empty())
    }

    /// The contact as `GET /contacts(<id>)` with every annotation returns it.
    pub fn contact(&self, contact_id: &str) -> Option<Value> {
        self.find(Entity::Contact, contact_id)
            .map(|c| Value::Object(self.represent(Entity::Contact, c, None, &Annotations::All)))
    }

    /// The phone call with `statecode`, `statuscode`, lookups and its expanded
    /// `phonecall_activity_parties`, every annotation included.
    pub fn phonecall(&self, activity_id: &str) -> Option<Value> {
        self.find(Entity::PhoneCall, activity_id).map(|c| {
            let mut json = self.represent(Entity::PhoneCall, c, None, &Annotations::All);
            json.insert(
                "phonecall_activity_parties".into(),
                self.parties_json(c, &Annotations::All),
            );
            Value::Object(json)
        })
    }

    /// Every phone call's `activityid`, oldest first.
    pub fn phonecall_ids(&self) -> Vec<String> {
        self.phonecalls.iter().map(|c| c.id.clone()).collect()
    }

    /// The parties of a phone call: (`participationtypemask`, logical name, id).
    pub fn phonecall_parties(&self, activity_id: &str) -> Vec<(i64, String, String)> {
        self.find(Entity::PhoneCall, activity_id)
            .map(|c| {
                c.parties
                    .iter()
                    .map(|p| {
                        (
                            p.mask,
                            p.party.entity.spec().logical.to_owned(),
                            p.party.id.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Puts a closed phone call back to Open, as if the bridge had died between the create and
    /// the close. Returns whether the call exists.
    pub fn reopen_phonecall(&mut self, activity_id: &str) -> bool {
        let id = activity_id.to_ascii_lowercase();
        match self.phonecalls.iter_mut().find(|c| c.id == id) {
            Some(call) => {
                call.statecode = 0;
                call.statuscode = 1;
                true
            }
            None => false,
        }
    }

    /// Every contact, oldest first, as `GET /contacts` returns them.
    pub fn contacts(&self) -> Vec<Value> {
        self.contacts
            .iter()
            .map(|c| Value::Object(self.represent(Entity::Contact, c, None, &Annotations::All)))
            .collect()
    }

    /// Every note, as `GET /annotations` returns them.
    pub fn notes(&self) -> Vec<Value> {
        self.annotations
            .iter()
            .map(|n| Value::Object(self.represent(Entity::Annotation, n, None, &Annotations::All)))
            .collect()
    }

    /// Every opportunity, as `GET /opportunities` returns them.
    pub fn opportunities(&self) -> Vec<Value> {
        self.opportunities
            .iter()
            .map(|o| Value::Object(self.represent(Entity::Opportunity, o, None, &Annotations::All)))
            .collect()
    }

    /// Revokes every token issued so far: the next API call with one of them gets a 401.
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Successful and failed calls of the token endpoint alike.
    pub fn token_requests(&self) -> usize {
        self.token_requests
    }

    /// API requests that lacked `Accept: application/json`, `OData-MaxVersion: 4.0`,
    /// `OData-Version: 4.0`, or `Content-Type: application/json` on a body.
    pub fn header_problems(&self) -> &[String] {
        &self.header_problems
    }

    // --- internals ----------------------------------------------------------------------------

    fn insert_user(
        &mut self,
        id: &str,
        full_name: &str,
        email: &str,
        application_id: Option<&str>,
    ) {
        let (first, last) = full_name.rsplit_once(' ').unwrap_or(("", full_name));
        let mut columns = Map::new();
        columns.insert("fullname".into(), json!(full_name));
        columns.insert("firstname".into(), json!(first));
        columns.insert("lastname".into(), json!(last));
        columns.insert("internalemailaddress".into(), json!(email));
        columns.insert("domainname".into(), json!(email));
        columns.insert("isdisabled".into(), json!(false));
        // 4 = Non-interactive: how application users show up.
        columns.insert(
            "accessmode".into(),
            json!(if application_id.is_some() { 4 } else { 0 }),
        );
        columns.insert(
            "applicationid".into(),
            application_id.map_or(Value::Null, |a| json!(a)),
        );
        let record = self.new_record(id.to_ascii_lowercase(), columns);
        self.users.push(record);
    }

    pub(super) fn new_record(&mut self, id: String, columns: Map<String, Value>) -> Record {
        self.sequence += 1;
        let now = now_rfc3339();
        Record {
            id,
            columns,
            lookups: BTreeMap::new(),
            parties: Vec::new(),
            statecode: 0,
            statuscode: 1,
            created: now.clone(),
            modified: now,
            version: self.sequence,
        }
    }

    pub(super) fn table(&self, entity: Entity) -> &Vec<Record> {
        match entity {
            Entity::SystemUser => &self.users,
            Entity::Contact => &self.contacts,
            Entity::PhoneCall => &self.phonecalls,
            Entity::Annotation => &self.annotations,
            Entity::Opportunity => &self.opportunities,
        }
    }

    pub(super) fn table_mut(&mut self, entity: Entity) -> &mut Vec<Record> {
        match entity {
            Entity::SystemUser => &mut self.users,
            Entity::Contact => &mut self.contacts,
            Entity::PhoneCall => &mut self.phonecalls,
            Entity::Annotation => &mut self.annotations,
            Entity::Opportunity => &mut self.opportunities,
        }
    }

    pub(super) fn find(&self, entity: Entity, id: &str) -> Option<&Record> {
        let id = id.to_ascii_lowercase();
        self.table(entity).iter().find(|r| r.id == id)
    }

    pub(super) fn display_name(&self, lookup: &Lookup) -> String {
        let column = match lookup.entity {
            Entity::Annotation | Entity::PhoneCall => "subject",
            Entity::Opportunity => "name",
            Entity::SystemUser | Entity::Contact => "fullname",
        };
        self.find(lookup.entity, &lookup.id)
            .map(|r| text_column(r, column))
            .unwrap_or_default()
    }
}

pub(super) fn text_column(record: &Record, column: &str) -> String {
    record
        .columns
        .get(column)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `fullname` is computed by Dataverse from the name parts.
pub(super) fn refresh_fullname(record: &mut Record) {
    let parts: Vec<&str> = ["firstname", "middlename", "lastname"]
        .iter()
        .filter_map(|c| record.columns.get(*c).and_then(Value::as_str))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    record
        .columns
        .insert("fullname".into(), json!(parts.join(" ")));
}

pub(super) fn new_guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A GUID in the hyphenated form Dataverse prints, lowercased; `None` for anything else.
pub(super) fn parse_guid(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(text)
        .ok()
        .map(|id| id.hyphenated().to_string())
}
