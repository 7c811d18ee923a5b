//! Dataverse Web API (`/api/data/v9.2`) and the Entra ID token endpoint, as the reference
//! (`dataverse-api.md`, §11 "Fake-server contract") describes them, quirks included:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials only; a wrong tenant, client,
//!   secret or a scope without `/.default` is a 400 with Entra's `error`/`error_codes` body.
//!   Tokens are opaque and expire; [`DataverseState::expire_tokens`] revokes them all at once.
//! - Every API route answers 401 (empty body, `WWW-Authenticate`) without a live Bearer token.
//! - The query string is decoded as the real server does it: `%2B` is `+`, but a raw `+` is a
//!   space, so an unencoded `+380…` matches nothing. `$filter` understands `eq`/`ne`, `and`,
//!   `or`, `not`, parentheses and `contains`/`startswith`/`endswith`; strings compare without
//!   case; `''` is a quote inside a literal.
//! - Writes reject unknown columns and unknown `@odata.bind` navigation properties with 400
//!   `0x80060888`, binds to records that do not exist with 400, over-long text with 400.
//!   Contacts and opportunities also take any custom column (`prefix_name`), as a tenant with
//!   its own fields would.
//! - `statecode`/`statuscode` in a create body are ignored (IsValidForCreate = false); a phone
//!   call is closed by a PATCH with a valid state/status pair, after which it is read-only.
//! - A second create with the same primary key is a 412 `0x80040237`.
//! - PATCH without `If-Match` on a missing record creates it (upsert); with `If-Match: *` it is
//!   a 404 `… With Id = … Does Not Exist`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::{AppState, Credentials};

/// The Web API root under the environment URL.
pub const API_PREFIX: &str = "/api/data/v9.2";

/// The application user the bridge's Entra app acts as: the seed's "system user".
pub const SYSTEM_USER_ID: &str = "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1";
pub const SYSTEM_USER_NAME: &str = "# Ringostat Bridge";
pub const SYSTEM_USER_EMAIL: &str = "ringostat-bridge@smart-crm.example";
/// A sales manager with a licence.
pub const MANAGER_USER_ID: &str = "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2";
pub const MANAGER_NAME: &str = "Olena Kovalenko";
pub const MANAGER_EMAIL: &str = "olena.kovalenko@smart-crm.example";

/// Entra's usual lifetime of an app-only token.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3599;

/// The message Dataverse gives for a duplicate primary key (microsoft/coe-starter-kit#1334).
pub const DUPLICATE_KEY_MESSAGE: &str = "A record with matching key values already exists.";
/// What Dataverse says on an update of a completed or canceled activity.
pub const CLOSED_ACTIVITY_MESSAGE: &str = "Cannot update Closed or Cancelled Activity";

// ---------------------------------------------------------------------------------------------
// Entities
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    SystemUser,
    Contact,
    PhoneCall,
    Annotation,
    Opportunity,
}

/// What a column holds, for the type and length checks of writes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text(usize),
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Number,
    DateTime,
    /// Computed or system-set: readable, silently ignored on write (as Dataverse does).
    ReadOnly,
}

/// A single-valued navigation property usable with `@odata.bind`.
struct Bind {
    navigation: &'static str,
    /// The lookup attribute it sets (`_<attribute>_value` when read).
    attribute: &'static str,
    target: Entity,
}

struct Spec {
    set: &'static str,
    logical: &'static str,
    key: &'static str,
    columns: &'static [(&'static str, Kind)],
    binds: &'static [Bind],
    /// Custom columns (`new_utmsource`) are accepted and stored.
    custom_columns: bool,
}

const TEXT50: Kind = Kind::Text(50);

const USER_SPEC: Spec = Spec {
    set: "systemusers",
    logical: "systemuser",
    key: "systemuserid",
    columns: &[
        ("fullname", Kind::ReadOnly),
        ("firstname", Kind::ReadOnly),
        ("lastname", Kind::ReadOnly),
        ("internalemailaddress", Kind::ReadOnly),
        ("domainname", Kind::ReadOnly),
        ("isdisabled", Kind::ReadOnly),
        ("accessmode", Kind::ReadOnly),
        ("applicationid", Kind::ReadOnly),
        ("mobilephone", Kind::ReadOnly),
        ("address1_telephone1", Kind::ReadOnly),
    ],
    binds: &[],
    custom_columns: false,
};

const CONTACT_SPEC: Spec = Spec {
    set: "contacts",
    logical: "contact",
    key: "contactid",
    columns: &[
        ("fullname", Kind::ReadOnly),
        ("firstname", TEXT50),
        ("middlename", TEXT50),
        ("lastname", TEXT50),
        ("telephone1", TEXT50),
        ("telephone2", TEXT50),
        ("telephone3", TEXT50),
        ("mobilephone", TEXT50),
        ("emailaddress1", Kind::Text(100)),
        ("jobtitle", Kind::Text(100)),
        ("description", Kind::Text(2000)),
        ("address1_city", Kind::Text(80)),
    ],
    binds: &[Bind {
        navigation: "ownerid",
        attribute: "ownerid",
        target: Entity::SystemUser,
    }],
    custom_columns: true,
};

const PHONECALL_SPEC: Spec = Spec {
    set: "phonecalls",
    logical: "phonecall",
    key: "activityid",
    columns: &[
        ("subject", Kind::Text(200)),
        ("description", Kind::Text(2000)),
        ("phonenumber", Kind::Text(200)),
        ("directioncode", Kind::Bool),
        ("actualstart", Kind::DateTime),
        ("actualend", Kind::DateTime),
        ("scheduledstart", Kind::DateTime),
        ("scheduledend", Kind::DateTime),
        (
            "actualdurationminutes",
            Kind::Int {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        (
            "scheduleddurationminutes",
            Kind::Int {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        ("category", Kind::Text(250)),
        ("subcategory", Kind::Text(250)),
        ("prioritycode", Kind::Int { min: 0, max: 2 }),
        ("leftvoicemail", Kind::Bool),
    ],
    binds: &[
        Bind {
            navigation: "regardingobjectid_contact_phonecall",
            attribute: "regardingobjectid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "ownerid",
            attribute: "ownerid",
            target: Entity::SystemUser,
        },
    ],
    custom_columns: false,
};

const ANNOTATION_SPEC: Spec = Spec {
    set: "annotations",
    logical: "annotation",
    key: "annotationid",
    columns: &[
        ("subject", Kind::Text(500)),
        ("notetext", Kind::Text(100_000)),
        ("objecttypecode", Kind::Text(64)),
        ("isdocument", Kind::Bool),
        ("filename", Kind::Text(255)),
        ("mimetype", Kind::Text(256)),
    ],
    binds: &[
        Bind {
            navigation: "objectid_contact",
            attribute: "objectid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "ownerid",
            attribute: "ownerid",
            target: Entity::SystemUser,
        },
    ],
    custom_columns: false,
};

const OPPORTUNITY_SPEC: Spec = Spec {
    set: "opportunities",
    logical: "opportunity",
    key: "opportunityid",
    columns: &[
        ("name", Kind::Text(300)),
        ("description", Kind::Text(2000)),
        ("stepname", Kind::Text(200)),
        (
            "salesstagecode",
            Kind::Int {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        ("estimatedvalue", Kind::Number),
        ("estimatedclosedate", Kind::DateTime),
        ("closeprobability", Kind::Int { min: 0, max: 100 }),
    ],
    binds: &[
        Bind {
            navigation: "customerid_contact",
            attribute: "customerid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "parentcontactid",
            attribute: "parentcontactid",
            target: Entity::Contact,
        },
        Bind {
            navigation: "ownerid",
            attribute: "ownerid",
            target: Entity::SystemUser,
        },
    ],
    custom_columns: true,
};

impl Entity {
    fn spec(self) -> &'static Spec {
        match self {
            Self::SystemUser => &USER_SPEC,
            Self::Contact => &CONTACT_SPEC,
            Self::PhoneCall => &PHONECALL_SPEC,
            Self::Annotation => &ANNOTATION_SPEC,
            Self::Opportunity => &OPPORTUNITY_SPEC,
        }
    }

    fn from_set(set: &str) -> Option<Self> {
        [
            Self::SystemUser,
            Self::Contact,
            Self::PhoneCall,
            Self::Annotation,
            Self::Opportunity,
        ]
        .into_iter()
        .find(|e| e.spec().set == set)
    }

    fn is_activity(self) -> bool {
        self == Self::PhoneCall
    }

    /// Whether `name` can be selected, filtered or ordered on.
    fn is_readable(self, name: &str) -> bool {
        let spec = self.spec();
        name == spec.key
            || name == "createdon"
            || name == "modifiedon"
            || spec.columns.iter().any(|(c, _)| *c == name)
            || (self != Self::SystemUser && name == "_ownerid_value")
            || spec
                .binds
                .iter()
                .any(|b| name == format!("_{}_value", b.attribute))
            || (self.is_activity() && (name == "statecode" || name == "statuscode"))
            || (spec.custom_columns && is_custom_column(name))
    }

    fn column_kind(self, name: &str) -> Option<Kind> {
        let spec = self.spec();
        match spec.columns.iter().find(|(c, _)| *c == name) {
            Some((_, kind)) => Some(*kind),
            None if spec.custom_columns && is_custom_column(name) => Some(Kind::Text(4000)),
            None => None,
        }
    }
}

/// `new_utmsource`, `smart_callid`: a publisher prefix, an underscore, a name.
fn is_custom_column(name: &str) -> bool {
    match name.split_once('_') {
        Some((prefix, rest)) => {
            !prefix.is_empty()
                && !rest.is_empty()
                && prefix.chars().all(|c| c.is_ascii_lowercase())
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !rest.ends_with("_value")
        }
        None => false,
    }
}

/// The target of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lookup {
    entity: Entity,
    id: String,
}

#[derive(Debug, Clone)]
struct ActivityParty {
    id: String,
    mask: i64,
    party: Lookup,
}

#[derive(Debug, Clone)]
struct Record {
    id: String,
    columns: Map<String, Value>,
    /// Lookup attribute (`ownerid`, `regardingobjectid`) → target.
    lookups: BTreeMap<&'static str, Lookup>,
    /// Activities only.
    parties: Vec<ActivityParty>,
    statecode: i64,
    statuscode: i64,
    created: String,
    modified: String,
    version: u64,
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct DataverseState {
    users: Vec<Record>,
    contacts: Vec<Record>,
    phonecalls: Vec<Record>,
    annotations: Vec<Record>,
    opportunities: Vec<Record>,
    /// Access token → when it stops working.
    tokens: HashMap<String, Instant>,
    token_requests: usize,
    /// `expires_in` of the tokens issued from now on.
    pub token_lifetime_secs: u64,
    sequence: u64,
    /// Requests that lacked the OData headers the reference asks for.
    header_problems: Vec<String>,
}

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
        columns.insert("telephone1".into(), json!(phone_as_stored));
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
        id
    }

    // --- Dataverse-specific helpers ---------------------------------------------------------

    /// Adds an enabled licensed user; returns its `systemuserid`.
    pub fn seed_user(&mut self, full_name: &str, email: &str) -> String {
        let id = new_guid();
        self.insert_user(&id, full_name, email, None);
        id
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

    fn new_record(&mut self, id: String, columns: Map<String, Value>) -> Record {
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

    fn table(&self, entity: Entity) -> &Vec<Record> {
        match entity {
            Entity::SystemUser => &self.users,
            Entity::Contact => &self.contacts,
            Entity::PhoneCall => &self.phonecalls,
            Entity::Annotation => &self.annotations,
            Entity::Opportunity => &self.opportunities,
        }
    }

    fn table_mut(&mut self, entity: Entity) -> &mut Vec<Record> {
        match entity {
            Entity::SystemUser => &mut self.users,
            Entity::Contact => &mut self.contacts,
            Entity::PhoneCall => &mut self.phonecalls,
            Entity::Annotation => &mut self.annotations,
            Entity::Opportunity => &mut self.opportunities,
        }
    }

    fn find(&self, entity: Entity, id: &str) -> Option<&Record> {
        let id = id.to_ascii_lowercase();
        self.table(entity).iter().find(|r| r.id == id)
    }

    fn display_name(&self, lookup: &Lookup) -> String {
        let column = match lookup.entity {
            Entity::Annotation | Entity::PhoneCall => "subject",
            Entity::Opportunity => "name",
            Entity::SystemUser | Entity::Contact => "fullname",
        };
        self.find(lookup.entity, &lookup.id)
            .map(|r| text_column(r, column))
            .unwrap_or_default()
    }

    /// The JSON of a record, restricted to `select` when given.
    fn represent(
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
        for (column, value) in &record.columns {
            all.entry(column.clone()).or_insert_with(|| value.clone());
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

    fn parties_json(&self, record: &Record, annotations: &Annotations) -> Value {
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

    fn issue_token(&mut self) -> (String, u64) {
        let token = format!("sandbox-dv-{}", uuid::Uuid::new_v4().simple());
        let lifetime = self.token_lifetime_secs;
        self.tokens.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        );
        (token, lifetime)
    }

    fn token_is_live(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }
}

fn text_column(record: &Record, column: &str) -> String {
    record
        .columns
        .get(column)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `fullname` is computed by Dataverse from the name parts.
fn refresh_fullname(record: &mut Record) {
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

fn state_label(state: i64) -> &'static str {
    match state {
        0 => "Open",
        1 => "Completed",
        2 => "Canceled",
        _ => "Unknown",
    }
}

fn status_label(status: i64) -> &'static str {
    match status {
        1 => "Open",
        2 => "Made",
        3 => "Canceled",
        4 => "Received",
        _ => "Unknown",
    }
}

/// The documented phonecall state/status pairs.
fn valid_state_status(state: i64, status: i64) -> bool {
    matches!((state, status), (0, 1) | (1, 2) | (1, 4) | (2, 3))
}

fn default_status(state: i64) -> Option<i64> {
    match state {
        0 => Some(1),
        1 => Some(2),
        2 => Some(3),
        _ => None,
    }
}

fn new_guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A GUID in the hyphenated form Dataverse prints, lowercased; `None` for anything else.
fn parse_guid(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() != 36 {
        return None;
    }
    uuid::Uuid::parse_str(text)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339_utc(secs)
}

/// Unix seconds → `2024-05-01T10:00:00Z` (days-to-civil of H. Hinnant's date algorithms).
fn rfc3339_utc(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `2024-05-01T10:00:00Z`, with optional fraction and offset: the shape, not the calendar.
fn looks_like_datetime(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19)
        && (text.ends_with('Z') || text[19..].contains(['+', '-']))
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/api/data/v9.2/{resource}", any(api))
}

/// A refused token request, answered as Entra's error body.
#[derive(Debug)]
struct EntraError {
    error: &'static str,
    code: u32,
    description: String,
}

fn entra_error(error: &'static str, code: u32, description: &str) -> EntraError {
    EntraError {
        error,
        code,
        description: description.to_owned(),
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        entra_error_response(self.error, self.code, &self.description)
    }
}

/// An Entra ID error body (`error`, `error_description` with the AADSTS code, `error_codes`).
fn entra_error_response(error: &str, code: u32, description: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let correlation_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let timestamp = now_rfc3339();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        })),
    )
        .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`, client-credentials grant only. The real endpoint
/// answers a wrong secret with 401 `invalid_client`; the contract (§11) says 400, and the
/// adapter must treat both as an authentication failure.
async fn token(
    State(app): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.lock().dataverse.token_requests += 1;
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut client_id = form.get("client_id").cloned();
    let mut client_secret = form.get("client_secret").cloned();
    // client_secret_basic: the credentials in an Authorization: Basic header.
    if let Some((id, secret)) = basic_credentials(&headers) {
        client_id = Some(id);
        client_secret = Some(secret);
    }
    match check_token_request(&app.credentials, &tenant, &form, client_id, client_secret) {
        Err(refused) => refused.into_response(),
        Ok(()) => {
            let (access_token, lifetime) = app.lock().dataverse.issue_token();
            let mut response = axum::Json(json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": access_token,
            }))
            .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

fn check_token_request(
    credentials: &Credentials,
    tenant: &str,
    form: &HashMap<String, String>,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<(), EntraError> {
    if tenant != credentials.dataverse_tenant {
        return Err(entra_error(
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(entra_error(
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
        None => {
            return Err(entra_error(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ));
        }
    }
    let Some(client_id) = client_id else {
        return Err(entra_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    if client_id != credentials.dataverse_client_id {
        return Err(entra_error(
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ));
    }
    if client_secret.as_deref() != Some(credentials.dataverse_client_secret.as_str()) {
        return Err(entra_error(
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        ));
    }
    match form.get("scope") {
        Some(scope) if scope.ends_with("/.default") && scope.len() > "/.default".len() => Ok(()),
        Some(scope) => Err(entra_error(
            "invalid_scope",
            70011,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )),
        None => Err(entra_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(id), decode(secret)))
}

/// One Web API request, as the handler sees it.
struct ApiCall<'a> {
    method: &'a Method,
    resource: &'a str,
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    /// `http://host:port`, for `@odata.context` and `OData-EntityId`.
    base: String,
}

async fn api(
    State(app): State<AppState>,
    Path(resource): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let call = ApiCall {
        method: &method,
        resource: &resource,
        query: query.as_deref(),
        headers: &headers,
        body: &body,
        base: format!("http://{host}"),
    };
    let mut response = {
        let mut state = app.lock();
        state.dataverse.handle(&call)
    };
    if response.status() == StatusCode::UNAUTHORIZED {
        // What Dataverse sends instead of a body: where to get a token.
        let challenge = format!(
            "Bearer authorization_uri=http://{host}/{}/oauth2/authorize, resource_id=http://{host}/",
            app.credentials.dataverse_tenant
        );
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
        .headers_mut()
        .insert("odata-version", HeaderValue::from_static("4.0"));
    response
}

/// A Dataverse error, answered as `{"error":{"code":…,"message":…}}`. A value of its own
/// rather than a `Response`, which is too big to pass around in every `Err`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

fn dv_error(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError {
        status,
        code,
        message: message.to_owned(),
    }
}

fn bad_request(message: &str) -> ApiError {
    dv_error(StatusCode::BAD_REQUEST, "0x80060888", message)
}

fn does_not_exist(entity: Entity, id: &str) -> String {
    format!("{} With Id = {id} Does Not Exist", entity.spec().logical)
}

fn invalid_property(entity: Entity, name: &str) -> ApiError {
    bad_request(&format!(
        "Invalid property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{}'.",
        entity.spec().logical
    ))
}

fn undeclared_navigation(name: &str) -> ApiError {
    bad_request(&format!(
        "An undeclared property '{name}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values."
    ))
}

fn unknown_property(entity: Entity, name: &str) -> ApiError {
    bad_request(&format!(
        "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{}'.",
        entity.spec().logical
    ))
}

/// Which instance annotations `Prefer: odata.include-annotations` asked for.
enum Annotations {
    None,
    All,
    Some(String),
}

impl Annotations {
    fn from_prefer(prefer: &str) -> Self {
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

/// The system query options of a request.
#[derive(Default)]
struct QueryOptions {
    select: Option<Vec<String>>,
    filter: Option<String>,
    top: Option<usize>,
    orderby: Option<String>,
    expand: Option<String>,
}

impl QueryOptions {
    /// Decodes the query string like the real service: `%XX` escapes, and `+` as a space.
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut options = Self::default();
        let Some(query) = query else {
            return Ok(options);
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "$select" => {
                    options.select = Some(
                        value
                            .split(',')
                            .map(|c| c.trim().to_owned())
                            .filter(|c| !c.is_empty())
                            .collect(),
                    );
                }
                "$filter" => options.filter = Some(value.into_owned()),
                "$top" => {
                    options.top = Some(value.trim().parse().map_err(|_| {
                        bad_request(&format!("Invalid value '{value}' for $top query option found. The $top query option requires a non-negative integer value."))
                    })?);
                }
                "$orderby" => options.orderby = Some(value.into_owned()),
                "$expand" => options.expand = Some(value.into_owned()),
                other if other.starts_with('$') => {
                    return Err(bad_request(&format!(
                        "The query parameter '{other}' is not supported"
                    )));
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// `contacts` or `contacts(<guid>)`.
fn parse_resource(resource: &str) -> Result<(Entity, Option<String>), ApiError> {
    let (set, key) = match resource.split_once('(') {
        Some((set, rest)) => match rest.strip_suffix(')') {
            Some(key) => (set, Some(key)),
            None => return Err(bad_request("Bad Request - Error in query syntax.")),
        },
        None => (resource, None),
    };
    let Some(entity) = Entity::from_set(set) else {
        return Err(dv_error(
            StatusCode::NOT_FOUND,
            "0x80060888",
            &format!("Resource not found for the segment '{set}'."),
        ));
    };
    match key {
        None => Ok((entity, None)),
        Some(key) => match parse_guid(key) {
            Some(id) => Ok((entity, Some(id))),
            None => Err(bad_request(&format!(
                "The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.{}'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.{}'.",
                entity.spec().logical,
                entity.spec().logical
            ))),
        },
    }
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = header_text(headers, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl DataverseState {
    fn handle(&mut self, call: &ApiCall<'_>) -> Response {
        match bearer_token(call.headers) {
            Some(token) if self.token_is_live(token) => {}
            _ => return StatusCode::UNAUTHORIZED.into_response(),
        }
        self.audit_headers(call);
        let (entity, id) = match parse_resource(call.resource) {
            Ok(parsed) => parsed,
            Err(error) => return error.into_response(),
        };
        let options = match QueryOptions::parse(call.query) {
            Ok(options) => options,
            Err(error) => return error.into_response(),
        };
        let prefer: String = call
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let annotations = Annotations::from_prefer(&prefer);
        let representation = prefer.contains("return=representation");
        let result = match (call.method.as_str(), id) {
            ("GET", None) => self.list(entity, &options, &annotations, &call.base),
            ("GET", Some(id)) => self.get(entity, &id, &options, &annotations, &call.base),
            ("POST", None) if entity != Entity::SystemUser => {
                let body = match parse_body(call.body) {
                    Ok(body) => body,
                    Err(error) => return error.into_response(),
                };
                self.create(entity, None, &body).map(|id| {
                    self.written(
                        entity,
                        &id,
                        StatusCode::CREATED,
                        representation,
                        &options,
                        &annotations,
                        &call.base,
                    )
                })
            }
            ("PATCH", Some(id)) if entity != Entity::SystemUser => {
                let body = match parse_body(call.body) {
                    Ok(body) => body,
                    Err(error) => return error.into_response(),
                };
                self.patch(entity, &id, &body, call.headers).map(|()| {
                    self.written(
                        entity,
                        &id,
                        StatusCode::OK,
                        representation,
                        &options,
                        &annotations,
                        &call.base,
                    )
                })
            }
            _ => Err(dv_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "0x80060888",
                &format!(
                    "The HTTP method '{}' is not allowed for the resource '{}'.",
                    call.method, call.resource
                ),
            )),
        };
        result.unwrap_or_else(IntoResponse::into_response)
    }

    fn audit_headers(&mut self, call: &ApiCall<'_>) {
        let mut missing = Vec::new();
        let accept = header_text(call.headers, "accept").unwrap_or_default();
        if !accept.contains("application/json") {
            missing.push("Accept: application/json");
        }
        if header_text(call.headers, "odata-maxversion") != Some("4.0") {
            missing.push("OData-MaxVersion: 4.0");
        }
        if header_text(call.headers, "odata-version") != Some("4.0") {
            missing.push("OData-Version: 4.0");
        }
        if !call.body.is_empty()
            && !header_text(call.headers, "content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        {
            missing.push("Content-Type: application/json");
        }
        if !missing.is_empty() {
            self.header_problems.push(format!(
                "{} /{}: missing {}",
                call.method,
                call.resource,
                missing.join(", ")
            ));
        }
    }

    /// The answer to a successful create (201/204) or update (200/204).
    #[allow(clippy::too_many_arguments)]
    fn written(
        &self,
        entity: Entity,
        id: &str,
        status_with_body: StatusCode,
        representation: bool,
        options: &QueryOptions,
        annotations: &Annotations,
        base: &str,
    ) -> Response {
        let set = entity.spec().set;
        let location = format!("{base}{API_PREFIX}/{set}({id})");
        let mut response = if representation {
            let record = self.find(entity, id).map(|r| {
                let mut json = self.represent(entity, r, options.select.as_deref(), annotations);
                json.insert(
                    "@odata.context".into(),
                    json!(context_url(base, set, options.select.as_deref(), true)),
                );
                Value::Object(json)
            });
            (status_with_body, axum::Json(record.unwrap_or(Value::Null))).into_response()
        } else {
            StatusCode::NO_CONTENT.into_response()
        };
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("odata-entityid", value);
        }
        response
    }

    fn list(
        &self,
        entity: Entity,
        options: &QueryOptions,
        annotations: &Annotations,
        base: &str,
    ) -> Result<Response, ApiError> {
        validate_columns(entity, options.select.as_deref())?;
        let filter = match &options.filter {
            Some(text) => Some(filter::parse(text, |c| entity.is_readable(c)).map_err(
                |e| match e {
                    filter::Error::UnknownProperty(name) => unknown_property(entity, &name),
                    filter::Error::Syntax(message) => bad_request(&message),
                },
            )?),
            None => None,
        };
        let expand_parties = self.expand_parties(entity, options)?;
        let order = parse_orderby(entity, options.orderby.as_deref())?;
        let mut rows: Vec<(&Record, Map<String, Value>)> = self
            .table(entity)
            .iter()
            .map(|r| (r, self.represent(entity, r, None, &Annotations::None)))
            .filter(|(_, full)| filter.as_ref().is_none_or(|f| f.matches(full)))
            .collect();
        for (column, descending) in order.iter().rev() {
            rows.sort_by(|(_, a), (_, b)| {
                let ordering = compare_values(
                    a.get(column).unwrap_or(&Value::Null),
                    b.get(column).unwrap_or(&Value::Null),
                );
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
        let values: Vec<Value> = rows
            .into_iter()
            .take(options.top.unwrap_or(5000))
            .map(|(record, _)| {
                let mut json =
                    self.represent(entity, record, options.select.as_deref(), annotations);
                if expand_parties {
                    json.insert(
                        "phonecall_activity_parties".into(),
                        self.parties_json(record, annotations),
                    );
                }
                Value::Object(json)
            })
            .collect();
        Ok(axum::Json(json!({
            "@odata.context": context_url(base, entity.spec().set, options.select.as_deref(), false),
            "value": values,
        }))
        .into_response())
    }

    fn get(
        &self,
        entity: Entity,
        id: &str,
        options: &QueryOptions,
        annotations: &Annotations,
        base: &str,
    ) -> Result<Response, ApiError> {
        validate_columns(entity, options.select.as_deref())?;
        let expand_parties = self.expand_parties(entity, options)?;
        let Some(record) = self.find(entity, id) else {
            return Err(dv_error(
                StatusCode::NOT_FOUND,
                "0x80040217",
                &does_not_exist(entity, id),
            ));
        };
        let mut json = self.represent(entity, record, options.select.as_deref(), annotations);
        json.insert(
            "@odata.context".into(),
            json!(context_url(
                base,
                entity.spec().set,
                options.select.as_deref(),
                true
            )),
        );
        if expand_parties {
            json.insert(
                "phonecall_activity_parties".into(),
                self.parties_json(record, annotations),
            );
        }
        Ok(axum::Json(Value::Object(json)).into_response())
    }

    fn expand_parties(&self, entity: Entity, options: &QueryOptions) -> Result<bool, ApiError> {
        let Some(expand) = &options.expand else {
            return Ok(false);
        };
        let navigation = expand.split('(').next().unwrap_or_default().trim();
        if entity == Entity::PhoneCall && navigation == "phonecall_activity_parties" {
            Ok(true)
        } else {
            Err(unknown_property(entity, navigation))
        }
    }

    /// Validates a create body and stores the record; returns its id.
    fn create(
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

    fn patch(
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
            } else if let Some(kind) = entity.column_kind(name) {
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
                // Custom columns may be numbers or booleans too.
                return if entity.spec().columns.iter().any(|(c, _)| *c == name) {
                    Err(type_error("Edm.String"))
                } else {
                    Ok(())
                };
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

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("The request body must be a JSON object.")),
        Err(e) => Err(bad_request(&format!(
            "Error while reading the request body: {e}"
        ))),
    }
}

fn validate_columns(entity: Entity, columns: Option<&[String]>) -> Result<(), ApiError> {
    for column in columns.unwrap_or_default() {
        if !entity.is_readable(column) {
            return Err(unknown_property(entity, column));
        }
    }
    Ok(())
}

fn parse_orderby(entity: Entity, orderby: Option<&str>) -> Result<Vec<(String, bool)>, ApiError> {
    let mut order = Vec::new();
    for item in orderby.unwrap_or_default().split(',') {
        let mut words = item.split_whitespace();
        let Some(column) = words.next() else {
            continue;
        };
        if !entity.is_readable(column) {
            return Err(unknown_property(entity, column));
        }
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(bad_request(&format!(
                    "Syntax error: unexpected '{other}' in $orderby."
                )));
            }
        };
        order.push((column.to_owned(), descending));
    }
    Ok(order)
}

fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn context_url(base: &str, set: &str, select: Option<&[String]>, entity: bool) -> String {
    let mut url = format!("{base}{API_PREFIX}/$metadata#{set}");
    if let Some(select) = select {
        url.push_str(&format!("({})", select.join(",")));
    }
    if entity {
        url.push_str("/$entity");
    }
    url
}

// ---------------------------------------------------------------------------------------------
// $filter
// ---------------------------------------------------------------------------------------------

/// The part of OData `$filter` the bridge and its tests use.
mod filter {
    use serde_json::{Map, Value};

    #[derive(Debug, PartialEq)]
    pub enum Error {
        Syntax(String),
        UnknownProperty(String),
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Token {
        Word(String),
        Text(String),
        Open,
        Close,
        Comma,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub enum Literal {
        Text(String),
        Number(f64),
        Bool(bool),
        Null,
        Guid(String),
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Function {
        Contains,
        StartsWith,
        EndsWith,
    }

    #[derive(Debug)]
    pub enum Expr {
        Or(Box<Expr>, Box<Expr>),
        And(Box<Expr>, Box<Expr>),
        Not(Box<Expr>),
        Compare {
            column: String,
            equal: bool,
            value: Literal,
        },
        Call {
            function: Function,
            column: String,
            value: String,
        },
    }

    pub fn parse(text: &str, known: impl Fn(&str) -> bool) -> Result<Expr, Error> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            at: 0,
            known: &known,
            text,
        };
        let expr = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(parser.syntax("unexpected token"));
        }
        Ok(expr)
    }

    fn tokenize(text: &str) -> Result<Vec<Token>, Error> {
        let mut tokens = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                c if c.is_whitespace() => {}
                '(' => tokens.push(Token::Open),
                ')' => tokens.push(Token::Close),
                ',' => tokens.push(Token::Comma),
                '\'' => {
                    let mut literal = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '\'')) => {
                                // `''` is a quote inside the literal.
                                if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                                    chars.next();
                                    literal.push('\'');
                                } else {
                                    break;
                                }
                            }
                            Some((_, c)) => literal.push(c),
                            None => {
                                return Err(Error::Syntax(format!(
                                    "Syntax error: unterminated string literal at position {at} in '{text}'."
                                )));
                            }
                        }
                    }
                    tokens.push(Token::Text(literal));
                }
                c if c.is_alphanumeric()
                    || matches!(c, '_' | '.' | '-' | '/' | '@' | ':' | '+') =>
                {
                    let mut word = String::from(c);
                    while let Some((_, c)) = chars.peek() {
                        if c.is_alphanumeric()
                            || matches!(c, '_' | '.' | '-' | '/' | '@' | ':' | '+')
                        {
                            word.push(*c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    tokens.push(Token::Word(word));
                }
                other => {
                    return Err(Error::Syntax(format!(
                        "Syntax error: character '{other}' is not valid at position {at} in '{text}'."
                    )));
                }
            }
        }
        Ok(tokens)
    }

    struct Parser<'a> {
        tokens: Vec<Token>,
        at: usize,
        known: &'a dyn Fn(&str) -> bool,
        text: &'a str,
    }

    impl Parser<'_> {
        fn syntax(&self, what: &str) -> Error {
            Error::Syntax(format!(
                "Syntax error: {what} at token {} in '{}'.",
                self.at, self.text
            ))
        }

        fn peek_word(&self, word: &str) -> bool {
            matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
        }

        fn next(&mut self) -> Option<Token> {
            let token = self.tokens.get(self.at).cloned();
            self.at += 1;
            token
        }

        fn expect(&mut self, token: Token) -> Result<(), Error> {
            if self.next() == Some(token.clone()) {
                Ok(())
            } else {
                Err(self.syntax(&format!("expected {token:?}")))
            }
        }

        fn or(&mut self) -> Result<Expr, Error> {
            let mut left = self.and()?;
            while self.peek_word("or") {
                self.at += 1;
                let right = self.and()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            }
            Ok(left)
        }

        fn and(&mut self) -> Result<Expr, Error> {
            let mut left = self.unary()?;
            while self.peek_word("and") {
                self.at += 1;
                let right = self.unary()?;
                left = Expr::And(Box::new(left), Box::new(right));
            }
            Ok(left)
        }

        fn unary(&mut self) -> Result<Expr, Error> {
            match self.next() {
                Some(Token::Open) => {
                    let inner = self.or()?;
                    self.expect(Token::Close)?;
                    Ok(inner)
                }
                Some(Token::Word(word)) if word == "not" => Ok(Expr::Not(Box::new(self.unary()?))),
                Some(Token::Word(word)) => {
                    let function = match word.as_str() {
                        "contains" => Some(Function::Contains),
                        "startswith" => Some(Function::StartsWith),
                        "endswith" => Some(Function::EndsWith),
                        _ => None,
                    };
                    if let Some(function) = function
                        && self.tokens.get(self.at) == Some(&Token::Open)
                    {
                        self.at += 1;
                        let column = self.column()?;
                        self.expect(Token::Comma)?;
                        let Some(Token::Text(value)) = self.next() else {
                            return Err(self.syntax("expected a string literal"));
                        };
                        self.expect(Token::Close)?;
                        return Ok(Expr::Call {
                            function,
                            column,
                            value,
                        });
                    }
                    self.at -= 1;
                    let column = self.column()?;
                    let equal = match self.next() {
                        Some(Token::Word(op)) if op == "eq" => true,
                        Some(Token::Word(op)) if op == "ne" => false,
                        _ => return Err(self.syntax("expected 'eq' or 'ne'")),
                    };
                    let value = self.literal()?;
                    Ok(Expr::Compare {
                        column,
                        equal,
                        value,
                    })
                }
                _ => Err(self.syntax("expected a comparison")),
            }
        }

        fn column(&mut self) -> Result<String, Error> {
            match self.next() {
                Some(Token::Word(name)) => {
                    if (self.known)(&name) {
                        Ok(name)
                    } else {
                        Err(Error::UnknownProperty(name))
                    }
                }
                _ => Err(self.syntax("expected a property name")),
            }
        }

        fn literal(&mut self) -> Result<Literal, Error> {
            match self.next() {
                Some(Token::Text(text)) => Ok(Literal::Text(text)),
                Some(Token::Word(word)) => match word.as_str() {
                    "null" => Ok(Literal::Null),
                    "true" => Ok(Literal::Bool(true)),
                    "false" => Ok(Literal::Bool(false)),
                    w if w.len() == 36 && uuid::Uuid::parse_str(w).is_ok() => {
                        Ok(Literal::Guid(w.to_ascii_lowercase()))
                    }
                    w => w
                        .parse::<f64>()
                        .map(Literal::Number)
                        .map_err(|_| self.syntax(&format!("'{w}' is not a literal"))),
                },
                _ => Err(self.syntax("expected a literal")),
            }
        }
    }

    impl Expr {
        pub fn matches(&self, row: &Map<String, Value>) -> bool {
            match self {
                Self::Or(a, b) => a.matches(row) || b.matches(row),
                Self::And(a, b) => a.matches(row) && b.matches(row),
                Self::Not(inner) => !inner.matches(row),
                Self::Compare {
                    column,
                    equal,
                    value,
                } => {
                    let actual = row.get(column).unwrap_or(&Value::Null);
                    equals(actual, value) == *equal
                }
                Self::Call {
                    function,
                    column,
                    value,
                } => {
                    let Some(actual) = row.get(column).and_then(Value::as_str) else {
                        return false;
                    };
                    // "All filters using string values are case insensitive."
                    let (actual, value) = (actual.to_lowercase(), value.to_lowercase());
                    match function {
                        Function::Contains => actual.contains(&value),
                        Function::StartsWith => actual.starts_with(&value),
                        Function::EndsWith => actual.ends_with(&value),
                    }
                }
            }
        }
    }

    fn equals(actual: &Value, literal: &Literal) -> bool {
        match (actual, literal) {
            (Value::Null, Literal::Null) => true,
            (Value::String(a), Literal::Text(b)) => a.to_lowercase() == b.to_lowercase(),
            (Value::String(a), Literal::Guid(b)) => a.eq_ignore_ascii_case(b),
            (Value::Bool(a), Literal::Bool(b)) => a == b,
            (Value::Number(a), Literal::Number(b)) => a.as_f64() == Some(*b),
            _ => false,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        fn row(value: Value) -> Map<String, Value> {
            value.as_object().cloned().unwrap_or_default()
        }

        #[test]
        fn or_of_phone_columns_with_doubled_quotes() {
            let expr = parse(
                "telephone1 eq '+380501234567' or mobilephone eq 'O''Brien' or telephone2 eq 'x'",
                |_| true,
            )
            .expect("parses");
            assert!(expr.matches(&row(json!({"telephone1": "+380501234567"}))));
            assert!(expr.matches(&row(json!({"mobilephone": "o'brien"}))));
            assert!(!expr.matches(&row(json!({"telephone1": " 380501234567"}))));
        }

        #[test]
        fn and_not_functions_guids_and_null() {
            let expr = parse(
                "(startswith(fullname,'ol') and not (isdisabled eq true)) and _ownerid_value eq 5A0C1E2D-3B4F-4A5E-8C6D-7E8F90A1B2C1 and telephone3 eq null",
                |_| true,
            )
            .expect("parses");
            assert!(expr.matches(&row(json!({
                "fullname": "Olena", "isdisabled": false,
                "_ownerid_value": "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1"
            }))));
        }

        #[test]
        fn errors_name_the_problem() {
            assert_eq!(
                parse("telephone9 eq '1'", |c| c != "telephone9").err(),
                Some(Error::UnknownProperty("telephone9".into()))
            );
            assert!(matches!(
                parse("telephone1 eq 'open", |_| true),
                Err(Error::Syntax(_))
            ));
            assert!(matches!(
                parse("telephone1 = '1'", |_| true),
                Err(Error::Syntax(_))
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Page
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_printed_in_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_714_557_735), "2024-05-01T10:02:15Z");
        assert!(looks_like_datetime("2024-05-01T10:02:15Z"));
        assert!(looks_like_datetime("2024-05-01T10:02:15.123+03:00"));
        assert!(!looks_like_datetime("2024-05-01 10:02"));
    }

    #[test]
    fn custom_columns_have_a_prefix() {
        assert!(is_custom_column("new_utmsource"));
        assert!(is_custom_column("smart_utm_campaign"));
        assert!(!is_custom_column("utmsource"));
        assert!(!is_custom_column("_ownerid_value"));
        assert!(!is_custom_column("New_Utm"));
    }

    #[test]
    fn seeded_users_and_contacts_are_inspectable() {
        let mut state = DataverseState::default();
        let id = state.seed_contact("+380501234567", "Olha Petrenko", MANAGER_USER_ID);
        assert_eq!(state.contact_count(), 1);
        assert_eq!(state.owner_of(&id).as_deref(), Some(MANAGER_USER_ID));
        let contact = state.contact(&id).expect("stored");
        assert_eq!(contact["fullname"], "Olha Petrenko");
        assert_eq!(contact["lastname"], "Petrenko");
        assert_eq!(contact["telephone1"], "+380501234567");
        assert_eq!(
            contact["_ownerid_value@OData.Community.Display.V1.FormattedValue"],
            MANAGER_NAME
        );
        assert!(html_section(&state).contains("Olha Petrenko"));
    }

    #[test]
    fn an_opportunity_changes_owner_through_a_patch_and_never_upserts() {
        let mut state = DataverseState::default();
        let contact = state.seed_contact("+380501234567", "Olha Petrenko", SYSTEM_USER_ID);
        let mut body = Map::new();
        body.insert("name".into(), json!("New client"));
        body.insert(
            "customerid_contact@odata.bind".into(),
            json!(format!("/contacts({contact})")),
        );
        let deal = state
            .create(Entity::Opportunity, None, &body)
            .expect("created");
        // Created as the caller: the application user.
        assert_eq!(state.deal_owner_of(&deal).as_deref(), Some(SYSTEM_USER_ID));

        let mut if_match = HeaderMap::new();
        if_match.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        let mut owner = Map::new();
        owner.insert(
            "ownerid@odata.bind".into(),
            json!(format!("/systemusers({MANAGER_USER_ID})")),
        );
        state
            .patch(Entity::Opportunity, &deal, &owner, &if_match)
            .expect("updated");
        assert_eq!(state.deal_owner_of(&deal).as_deref(), Some(MANAGER_USER_ID));
        assert_eq!(state.opportunities()[0]["_ownerid_value"], MANAGER_USER_ID);
        assert_eq!(
            state.owner_of(&contact).as_deref(),
            Some(SYSTEM_USER_ID),
            "the contact keeps its own owner"
        );

        let missing = "3f0e6c1a-1111-4222-8333-944455556666";
        let error = state
            .patch(Entity::Opportunity, missing, &owner, &if_match)
            .expect_err("If-Match: * never creates");
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        assert_eq!(state.opportunities().len(), 1);
        assert_eq!(state.deal_owner_of(missing), None);
    }
}
