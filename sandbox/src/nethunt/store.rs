//! What the workspace holds (folders, records, comments, call logs), with the inspection and
//! seeding helpers tests and the page use.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::datetime::now_iso;
use super::values::{display_name_of, person_email};
use super::{CONTACTS_FOLDER_ID, DEALS_FOLDER_ID, fields};

/// How a field stores its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Single-line text, dropdown: a string.
    Text,
    /// Phone, e-mail: an array of strings.
    Multi,
    /// One workspace user, as an array of one `"Name <email>"` string.
    Person,
    /// Links to other records: an array of record ids.
    RecordLink,
}

#[derive(Debug, Clone)]
pub struct FolderField {
    pub name: String,
    pub kind: FieldKind,
}

#[derive(Debug, Clone)]
pub struct Folder {
    pub id: String,
    pub name: String,
    pub fields: Vec<FolderField>,
}

impl Folder {
    pub(super) fn kind_of(&self, field: &str) -> Option<FieldKind> {
        self.fields.iter().find(|f| f.name == field).map(|f| f.kind)
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub folder_id: String,
    pub created_at: String,
    pub updated_at: String,
    /// Creation order, for "newest first" within the same millisecond.
    pub(super) seq: u64,
    pub fields: BTreeMap<String, Value>,
}

impl Record {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "recordId": self.id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "fields": self.fields,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: String,
    pub record_id: String,
    pub created_at: String,
    pub text: String,
}

impl Comment {
    /// As create-comment and the new-comment trigger return it ([INFERRED] shape).
    pub(super) fn to_json(&self) -> Value {
        json!({
            "commentId": self.id,
            "recordId": self.record_id,
            "createdAt": self.created_at,
            "text": self.text,
        })
    }
}

#[derive(Debug, Clone)]
pub struct CallLog {
    pub id: String,
    pub record_id: String,
    pub created_at: String,
    pub text: String,
    /// Start of the call, as sent (ISO UTC).
    pub time: Option<String>,
    /// As sent; NetHunt most likely reads it as minutes (`docs/vendor-contracts.md`).
    pub duration: Option<f64>,
}

impl CallLog {
    /// As create-call-log and the new-call-log trigger return it ([INFERRED] shape).
    pub(super) fn to_json(&self) -> Value {
        json!({
            "callLogId": self.id,
            "recordId": self.record_id,
            "createdAt": self.created_at,
            "text": self.text,
            "time": self.time,
            "duration": self.duration,
        })
    }
}

#[derive(Debug)]
pub struct NetHuntState {
    /// Answer 404 instead of `[]` when find-record matches nothing (both happen in the wild).
    pub not_found_as_404: bool,
    pub(super) folders: Vec<Folder>,
    pub(super) records: Vec<Record>,
    pub(super) comments: Vec<Comment>,
    pub(super) call_logs: Vec<CallLog>,
    next_seq: u64,
}

impl Default for NetHuntState {
    fn default() -> Self {
        use FieldKind::{Multi, Person, RecordLink, Text};
        let field = |name: &str, kind| FolderField {
            name: name.to_owned(),
            kind,
        };
        Self {
            not_found_as_404: false,
            folders: vec![
                Folder {
                    id: CONTACTS_FOLDER_ID.into(),
                    name: "Контакти".into(),
                    fields: vec![
                        field(fields::NAME, Text),
                        field(fields::PHONE, Multi),
                        field(fields::EMAIL, Multi),
                        field(fields::MANAGER, Person),
                        field(fields::SOURCE, Text),
                        field(fields::MEDIUM, Text),
                        field(fields::CAMPAIGN, Text),
                        field(fields::KEYWORD, Text),
                    ],
                },
                Folder {
                    id: DEALS_FOLDER_ID.into(),
                    name: "Угоди".into(),
                    fields: vec![
                        field(fields::NAME, Text),
                        field(fields::STAGE, Text),
                        field(fields::MANAGER, Person),
                        field(fields::CONTACT, RecordLink),
                    ],
                },
            ],
            records: Vec::new(),
            comments: Vec::new(),
            call_logs: Vec::new(),
            next_seq: 1,
        }
    }
}

// --- Inspection and seeding helpers (tests and the page) ---------------------------------

impl NetHuntState {
    /// Records in the Contacts folder.
    pub fn contact_count(&self) -> usize {
        self.records_in(CONTACTS_FOLDER_ID).count()
    }

    /// Records in the Deals folder.
    pub fn deal_count(&self) -> usize {
        self.records_in(DEALS_FOLDER_ID).count()
    }

    /// Call logs on any record.
    pub fn call_count(&self) -> usize {
        self.call_logs.len()
    }

    /// Every call log, oldest first.
    pub fn all_call_logs(&self) -> &[CallLog] {
        &self.call_logs
    }

    /// Texts of the call logs on the record, oldest first.
    pub fn calls_of(&self, contact_id: &str) -> Vec<String> {
        self.call_logs_of(contact_id)
            .into_iter()
            .map(|log| log.text)
            .collect()
    }

    /// The call logs on the record, oldest first (text, time and duration as sent).
    pub fn call_logs_of(&self, record_id: &str) -> Vec<CallLog> {
        self.call_logs
            .iter()
            .filter(|log| log.record_id == record_id)
            .cloned()
            .collect()
    }

    /// Every comment, oldest first.
    pub fn all_comments(&self) -> &[Comment] {
        &self.comments
    }

    /// Moves a record's, comment's or call log's `createdAt` (as the triggers read it), for
    /// tests of `since`; `false` for an unknown id.
    pub fn set_created_at(&mut self, id: &str, created_at: &str) -> bool {
        if let Some(record) = self.records.iter_mut().find(|r| r.id == id) {
            record.created_at = created_at.to_owned();
            return true;
        }
        if let Some(comment) = self.comments.iter_mut().find(|c| c.id == id) {
            comment.created_at = created_at.to_owned();
            return true;
        }
        if let Some(log) = self.call_logs.iter_mut().find(|l| l.id == id) {
            log.created_at = created_at.to_owned();
            return true;
        }
        false
    }

    /// Texts of the comments on the record, oldest first.
    pub fn notes_of(&self, contact_id: &str) -> Vec<String> {
        self.comments
            .iter()
            .filter(|c| c.record_id == contact_id)
            .map(|c| c.text.clone())
            .collect()
    }

    /// Names of the deals whose record-link field holds the contact.
    pub fn deals_of(&self, contact_id: &str) -> Vec<String> {
        self.deal_ids_of(contact_id)
            .iter()
            .filter_map(|id| self.record(id))
            .map(|deal| {
                deal.fields
                    .get(fields::NAME)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Ids of the deals whose record-link field holds the contact.
    pub fn deal_ids_of(&self, contact_id: &str) -> Vec<String> {
        let Some(folder) = self.folder(DEALS_FOLDER_ID) else {
            return Vec::new();
        };
        let links: Vec<&str> = folder
            .fields
            .iter()
            .filter(|f| f.kind == FieldKind::RecordLink)
            .map(|f| f.name.as_str())
            .collect();
        self.records_in(DEALS_FOLDER_ID)
            .filter(|deal| {
                links.iter().any(|link| {
                    deal.fields
                        .get(*link)
                        .and_then(Value::as_array)
                        .is_some_and(|ids| ids.iter().any(|id| id == contact_id))
                })
            })
            .map(|deal| deal.id.clone())
            .collect()
    }

    /// The e-mail in the record's person field (what the adapter reports as the owner's id).
    pub fn owner_of(&self, contact_id: &str) -> Option<String> {
        self.person_of(self.record(contact_id)?)
    }

    /// The e-mail in the deal's person field; `None` for a record outside the Deals folder,
    /// so a test cannot mistake a contact's owner for its deal's.
    pub fn deal_owner_of(&self, deal_id: &str) -> Option<String> {
        let deal = self
            .record(deal_id)
            .filter(|r| r.folder_id == DEALS_FOLDER_ID)?;
        self.person_of(deal)
    }

    fn person_of(&self, record: &Record) -> Option<String> {
        let folder = self.folder(&record.folder_id)?;
        let person_field = folder.fields.iter().find(|f| f.kind == FieldKind::Person)?;
        let first = record.fields.get(&person_field.name)?.as_array()?.first()?;
        person_email(first.as_str()?)
    }

    /// A field's value as the API returns it.
    pub fn field_of(&self, record_id: &str, field: &str) -> Option<Value> {
        self.record(record_id)?.fields.get(field).cloned()
    }

    pub fn record(&self, record_id: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.id == record_id)
    }

    pub fn folder(&self, folder_id: &str) -> Option<&Folder> {
        self.folders.iter().find(|f| f.id == folder_id)
    }

    /// Adds a contact the way a person would in the web app: the number as typed and the
    /// responsible user picked from the list, which the API shows as `"Name <email>"` (the
    /// sandbox has no user directory, so the name is made from the e-mail's local part).
    /// An empty `name` or `owner_email` leaves that field out.
    pub fn seed_contact(&mut self, phone_as_stored: &str, name: &str, owner_email: &str) -> String {
        let mut fields = BTreeMap::new();
        if !name.is_empty() {
            fields.insert(fields::NAME.to_owned(), json!(name));
        }
        fields.insert(fields::PHONE.to_owned(), json!([phone_as_stored]));
        if !owner_email.is_empty() {
            let person = format!("{} <{owner_email}>", display_name_of(owner_email));
            fields.insert(fields::MANAGER.to_owned(), json!([person]));
        }
        self.insert_record(CONTACTS_FOLDER_ID, fields)
    }

    /// Adds a record with exactly these field values (no validation), for odd shapes a person
    /// or another integration could leave behind. `None` for an unknown folder.
    pub fn seed_record(&mut self, folder_id: &str, fields: Value) -> Option<String> {
        self.folder(folder_id)?;
        let fields = match fields {
            Value::Object(map) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        Some(self.insert_record(folder_id, fields))
    }

    /// Sets a field as stored (no validation); `false` for an unknown record.
    pub fn set_field(&mut self, record_id: &str, field: &str, value: Value) -> bool {
        let now = now_iso();
        match self.records.iter_mut().find(|r| r.id == record_id) {
            Some(record) => {
                record.fields.insert(field.to_owned(), value);
                record.updated_at = now;
                true
            }
            None => false,
        }
    }

    /// Adds a field to a folder, as "Configure fields" in the web app does; `false` for an
    /// unknown folder.
    pub fn add_folder_field(&mut self, folder_id: &str, name: &str, kind: FieldKind) -> bool {
        match self.folders.iter_mut().find(|f| f.id == folder_id) {
            Some(folder) => {
                if folder.kind_of(name).is_none() {
                    folder.fields.push(FolderField {
                        name: name.to_owned(),
                        kind,
                    });
                }
                true
            }
            None => false,
        }
    }

    pub(super) fn records_in<'a>(
        &'a self,
        folder_id: &'a str,
    ) -> impl Iterator<Item = &'a Record> + 'a {
        self.records
            .iter()
            .filter(move |r| r.folder_id == folder_id)
    }

    pub(super) fn next_id(&mut self) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Shaped like NetHunt's ids (24 hex digits, MongoDB ObjectId style).
        format!("6650a1b2{seq:016x}")
    }

    pub(super) fn insert_record(
        &mut self,
        folder_id: &str,
        fields: BTreeMap<String, Value>,
    ) -> String {
        let seq = self.next_seq;
        let id = self.next_id();
        let now = now_iso();
        self.records.push(Record {
            id: id.clone(),
            folder_id: folder_id.to_owned(),
            created_at: now.clone(),
            updated_at: now,
            seq,
            fields,
        });
        id
    }
}
