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

/// The names a workspace gives the fields of the two folders the bridge uses. The default is
/// the seeded workspace's ([`fields`]); [`FieldNames::renamed`] is one set up otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    /// The contact's person field of the responsible user.
    pub manager: String,
    pub source: String,
    pub medium: String,
    pub campaign: String,
    pub keyword: String,
    /// `utm_content`: the seeded folder has no such field.
    pub content: Option<String>,
    pub deal_name: String,
    pub deal_stage: String,
    /// The deal's person field of the responsible user.
    pub deal_manager: String,
    /// The deal's record-link field to its contact.
    pub deal_contact: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        Self {
            contact_name: fields::NAME.into(),
            phone: fields::PHONE.into(),
            email: fields::EMAIL.into(),
            manager: fields::MANAGER.into(),
            source: fields::SOURCE.into(),
            medium: fields::MEDIUM.into(),
            campaign: fields::CAMPAIGN.into(),
            keyword: fields::KEYWORD.into(),
            content: None,
            deal_name: fields::NAME.into(),
            deal_stage: fields::STAGE.into(),
            deal_manager: fields::MANAGER.into(),
            deal_contact: fields::CONTACT.into(),
        }
    }
}

impl FieldNames {
    /// A Ukrainian workspace whose every field has another name than the seeded one (none of
    /// them is a seeded name, so a write that names one is refused), with a `utm_content` field.
    pub fn renamed() -> Self {
        Self {
            contact_name: "Ім'я".into(),
            phone: "Номер телефону".into(),
            email: "Електронна пошта".into(),
            manager: "Відповідальний".into(),
            source: "Джерело трафіку".into(),
            medium: "Тип трафіку".into(),
            campaign: "Рекламна кампанія".into(),
            keyword: "Пошуковий запит".into(),
            content: Some("Оголошення".into()),
            deal_name: "Назва угоди".into(),
            deal_stage: "Стадія".into(),
            deal_manager: "Відповідальний менеджер".into(),
            deal_contact: "Клієнт".into(),
        }
    }
}

/// The folders of a workspace and the names of their fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub contacts_folder_id: String,
    pub contacts_folder_name: String,
    pub deals_folder_id: String,
    pub deals_folder_name: String,
    pub fields: FieldNames,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            contacts_folder_id: CONTACTS_FOLDER_ID.into(),
            contacts_folder_name: "Контакти".into(),
            deals_folder_id: DEALS_FOLDER_ID.into(),
            deals_folder_name: "Угоди".into(),
            fields: FieldNames::default(),
        }
    }
}

impl Layout {
    /// Folders with other ids and names, every field renamed ([`FieldNames::renamed`]).
    pub fn renamed() -> Self {
        Self {
            contacts_folder_id: "klienty-folder".into(),
            contacts_folder_name: "Клієнти".into(),
            deals_folder_id: "prodazhi-folder".into(),
            deals_folder_name: "Продажі".into(),
            fields: FieldNames::renamed(),
        }
    }

    fn folders(&self) -> Vec<Folder> {
        use FieldKind::{Multi, Person, RecordLink, Text};
        let field = |name: &str, kind| FolderField {
            name: name.to_owned(),
            kind,
        };
        let f = &self.fields;
        let mut contact_fields = vec![
            field(&f.contact_name, Text),
            field(&f.phone, Multi),
            field(&f.email, Multi),
            field(&f.manager, Person),
            field(&f.source, Text),
            field(&f.medium, Text),
            field(&f.campaign, Text),
            field(&f.keyword, Text),
        ];
        if let Some(content) = &f.content {
            contact_fields.push(field(content, Text));
        }
        vec![
            Folder {
                id: self.contacts_folder_id.clone(),
                name: self.contacts_folder_name.clone(),
                fields: contact_fields,
            },
            Folder {
                id: self.deals_folder_id.clone(),
                name: self.deals_folder_name.clone(),
                fields: vec![
                    field(&f.deal_name, Text),
                    field(&f.deal_stage, Text),
                    field(&f.deal_manager, Person),
                    field(&f.deal_contact, RecordLink),
                ],
            },
        ]
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

/// The users of the seeded workspace: the manager of the local staff list, as the events name
/// her, and the user the bridge signs in as (the local profile's system user).
const SEED_USERS: [(&str, &str); 2] = [
    (crate::DEMO_MANAGER_NAME, crate::DEMO_MANAGER_EMAIL),
    ("Ringostat Bridge", "bridge@example.com"),
];

#[derive(Debug)]
pub struct NetHuntState {
    /// Answer 404 instead of `[]` when find-record matches nothing (both happen in the wild).
    pub not_found_as_404: bool,
    /// find-record compares with whitespace and `()+-.` removed from both sides, so
    /// `0501234567` also finds `050 123 45 67`: the lenient reading of NetHunt's search,
    /// for tests that an adapter works under either. Off by default (as typed).
    pub search_ignores_separators: bool,
    /// find-record answers 400 to a query whose value is a group (`"Field":(a OR b)`): a
    /// workspace whose API does not take the advanced-search grouping, should one exist.
    pub refuses_grouped_search: bool,
    pub(super) layout: Layout,
    pub(super) folders: Vec<Folder>,
    pub(super) records: Vec<Record>,
    pub(super) comments: Vec<Comment>,
    pub(super) call_logs: Vec<CallLog>,
    /// The workspace's users as (name, e-mail): what the web app shows in a person field.
    users: Vec<(String, String)>,
    next_seq: u64,
}

impl Default for NetHuntState {
    fn default() -> Self {
        Self::with_layout(Layout::default())
    }
}

impl NetHuntState {
    /// An empty workspace with these folders and field names.
    pub fn with_layout(layout: Layout) -> Self {
        Self {
            not_found_as_404: false,
            search_ignores_separators: false,
            refuses_grouped_search: false,
            folders: layout.folders(),
            layout,
            records: Vec::new(),
            comments: Vec::new(),
            call_logs: Vec::new(),
            users: SEED_USERS
                .iter()
                .map(|(name, email)| ((*name).to_owned(), (*email).to_owned()))
                .collect(),
            next_seq: 1,
        }
    }

    /// The folders' ids and the names of their fields.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}

// --- Inspection and seeding helpers (tests and the page) ---------------------------------

impl NetHuntState {
    /// Records in the Contacts folder.
    pub fn contact_count(&self) -> usize {
        self.records_in(&self.layout.contacts_folder_id).count()
    }

    /// Records in the Deals folder.
    pub fn deal_count(&self) -> usize {
        self.records_in(&self.layout.deals_folder_id).count()
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
                    .get(&self.layout.fields.deal_name)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Ids of the deals whose record-link field holds the contact.
    pub fn deal_ids_of(&self, contact_id: &str) -> Vec<String> {
        let deals = &self.layout.deals_folder_id;
        let Some(folder) = self.folder(deals) else {
            return Vec::new();
        };
        let links: Vec<&str> = folder
            .fields
            .iter()
            .filter(|f| f.kind == FieldKind::RecordLink)
            .map(|f| f.name.as_str())
            .collect();
        self.records_in(deals)
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
            .filter(|r| r.folder_id == self.layout.deals_folder_id)?;
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

    /// Adds a workspace user, so person fields and the page show this name for the e-mail.
    pub fn seed_user(&mut self, name: &str, email: &str) {
        self.users
            .retain(|(_, known)| !known.eq_ignore_ascii_case(email));
        self.users.push((name.to_owned(), email.to_owned()));
    }

    /// The name of the workspace user with this e-mail.
    pub fn user_name(&self, email: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(_, known)| known.eq_ignore_ascii_case(email.trim()))
            .map(|(name, _)| name.as_str())
    }

    /// Adds a contact the way a person would in the web app: the number as typed and the
    /// responsible user picked from the list, which the API shows as `"Name <email>"` (the
    /// user's name when the workspace knows the e-mail, else one made from its local part).
    /// An empty `name` or `owner_email` leaves that field out.
    pub fn seed_contact(&mut self, phone_as_stored: &str, name: &str, owner_email: &str) -> String {
        let names = &self.layout.fields;
        let mut fields = BTreeMap::new();
        if !name.is_empty() {
            fields.insert(names.contact_name.clone(), json!(name));
        }
        fields.insert(names.phone.clone(), json!([phone_as_stored]));
        if !owner_email.is_empty() {
            let shown = self
                .user_name(owner_email)
                .map_or_else(|| display_name_of(owner_email), str::to_owned);
            let person = format!("{shown} <{owner_email}>");
            fields.insert(names.manager.clone(), json!([person]));
        }
        let folder_id = self.layout.contacts_folder_id.clone();
        self.insert_record(&folder_id, fields)
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
