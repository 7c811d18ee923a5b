//! NetHunt CRM over its Integration API (the "Zapier API", `nethunt-api.md`).
//!
//! Every operation is one request: folder ids and field names come from configuration, never
//! from a lookup per call. What the API leaves open is handled tolerantly (§9):
//!
//! - **Search is fuzzy** (§4.3): find-record returns records that merely contain the number
//!   (`+3805012345678`, `+380501234567 доб. 12`, a deal name quoting it). Every returned phone
//!   value is parsed with [`PhoneNumber::parse`] and compared exactly; the rest are dropped.
//!   Numbers written in another notation (`+38 (050) 123-45-67`, `380501234567`) still match
//!   because they normalise to the same E.164. A number a person stored nationally
//!   (`0501234567`) is only found if NetHunt's search itself matches it to the E.164 query;
//!   verify on a real workspace.
//! - **No match** is `[]` or 404 (§9.3); both mean "no contact", never an error.
//! - **Several exact matches** (§7.4): the most recently updated contact wins, so a call is
//!   logged once.
//! - **Call-log duration** is sent in minutes by default ([`DurationUnit`]); the exact length
//!   is also in the text (`Тривалість: 1:35`).
//! - **Writes are never replayed blindly** (§6): creates, updates, comments and call logs are
//!   retried only when NetHunt cannot have acted (429, 503 with `Retry-After`, connection
//!   refused); reads are retried on any transient failure.
//!
//! Logs carry masked numbers only, never the API key or a request URL (its query holds the
//! number).

pub mod env;

use std::fmt;

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::http::{self, Replay, RetryPolicy};
use bridge_domain::activity::{CallActivity, ContactRef, CrmUser};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal};
use bridge_domain::ringostat::Utm;
use bridge_domain::ringostat::payload::json_kind;
use bridge_domain::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://nethunt.com/api/v1/zapier";
/// IANA name sent as `timeZone` on create-record (required there, §4.4). Older servers may
/// know only the alias `Europe/Kiev`; it is configurable for that reason.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Kyiv";
/// [INFERRED] The record page of NetHunt's web app; not documented. Configurable: copy the
/// address of any record card in the workspace and put `{folder_id}` and `{record_id}` in it.
pub const DEFAULT_CARD_URL_TEMPLATE: &str =
    "https://nethunt.com/app/records/{folder_id}/{record_id}";

/// How many records find-record may return: enough room for fuzzy false positives (the
/// bhsmaverick bridge uses the same, §4.3).
const FIND_LIMIT: usize = 20;

/// Query values and path segments: everything but RFC 3986 unreserved characters is encoded,
/// so `+` in a number, quotes and Cyrillic field names survive any server's decoding.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Unit of create-call-log's `duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    /// Decimal minutes (95 s → 1.58). The default: two independent sources and the official
    /// anchor text they paraphrase say minutes (`nethunt-api.md` §4.7, §9.2).
    #[default]
    Minutes,
    /// Whole seconds, should a real workspace render minutes wrongly.
    Seconds,
}

/// How a person (the responsible user) is written into a person field (§5, §9.6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonFormat {
    /// `"Olena Koval <olena@acme.ua>"`, the shape seen in working code; a bare e-mail when the
    /// user has no name.
    #[default]
    NameAndEmail,
    /// `"olena@acme.ua"`.
    Email,
}

/// Field names: the display names of the workspace's fields, in its language (§4.2). Read
/// them from `GET /triggers/folder-field/{folderId}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NetHuntFields {
    /// Contact name; read for display, never written (the seed creates contacts without one).
    pub contact_name: String,
    /// Contact phone: the field NetHunt checks duplicates on (seed §2.6).
    pub phone: String,
    /// Contact person field of the responsible user. NetHunt's help calls it "Manager (or
    /// Assignee)"; a Ukrainian workspace shows "Менеджер".
    pub owner: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    /// `utm_term`, "Ключове слово" in the seed.
    pub utm_term: String,
    /// `utm_content` has no field in the seed; written only when configured.
    pub utm_content: Option<String>,
    pub deal_name: String,
    pub deal_stage: String,
    /// Deal person field of the responsible user.
    pub deal_owner: String,
    /// Deal record-list field linking the contact.
    pub deal_contact: String,
}

impl Default for NetHuntFields {
    fn default() -> Self {
        Self {
            contact_name: "Name".into(),
            phone: "Телефон".into(),
            owner: "Менеджер".into(),
            utm_source: "Джерело".into(),
            utm_medium: "Канал".into(),
            utm_campaign: "Кампанія".into(),
            utm_term: "Ключове слово".into(),
            utm_content: None,
            deal_name: "Name".into(),
            deal_stage: "Етап".into(),
            deal_owner: "Менеджер".into(),
            deal_contact: "Контакт".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NetHuntConfig {
    /// `https://nethunt.com/api/v1/zapier`; the sandbox's in tests.
    pub base_url: String,
    /// The workspace user the API key belongs to.
    pub email: String,
    pub api_key: Secret,
    pub contacts_folder_id: String,
    /// Needed only to create deals.
    pub deals_folder_id: Option<String>,
    pub fields: NetHuntFields,
    pub time_zone: String,
    pub call_log_duration_unit: DurationUnit,
    pub person_format: PersonFormat,
    /// Contact card address with `{folder_id}` and `{record_id}` placeholders.
    pub card_url_template: String,
}

impl NetHuntConfig {
    /// The defaults, with the credentials and the Contacts folder id.
    pub fn new(
        email: impl Into<String>,
        api_key: impl Into<Secret>,
        contacts_folder_id: impl Into<String>,
    ) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            email: email.into(),
            api_key: api_key.into(),
            contacts_folder_id: contacts_folder_id.into(),
            deals_folder_id: None,
            fields: NetHuntFields::default(),
            time_zone: DEFAULT_TIME_ZONE.into(),
            call_log_duration_unit: DurationUnit::default(),
            person_format: PersonFormat::default(),
            card_url_template: DEFAULT_CARD_URL_TEMPLATE.into(),
        }
    }

    fn validate(&self) -> Result<(), CrmError> {
        let config = |message: String| Err(CrmError::Config(message));
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return config("NetHunt base URL must start with https://".into());
        }
        if self.email.trim().is_empty() || self.api_key.is_blank() {
            return config("NetHunt e-mail and API key are required".into());
        }
        if self.contacts_folder_id.trim().is_empty() {
            return config("NetHunt Contacts folder id is required".into());
        }
        if self
            .deals_folder_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            return config("NetHunt Deals folder id is empty".into());
        }
        let f = &self.fields;
        let names = [
            ("contact name", &f.contact_name),
            ("phone", &f.phone),
            ("owner", &f.owner),
            ("utm source", &f.utm_source),
            ("utm medium", &f.utm_medium),
            ("utm campaign", &f.utm_campaign),
            ("utm term", &f.utm_term),
            ("deal name", &f.deal_name),
            ("deal stage", &f.deal_stage),
            ("deal owner", &f.deal_owner),
            ("deal contact", &f.deal_contact),
        ];
        if let Some((what, _)) = names.iter().find(|(_, name)| name.trim().is_empty()) {
            return config(format!("NetHunt {what} field name is empty"));
        }
        if f.utm_content
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            return config("NetHunt utm content field name is empty".into());
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return config(format!("unknown time zone {:?}", self.time_zone));
        }
        if !self.card_url_template.contains("{record_id}") {
            return config("NetHunt card URL template lacks {record_id}".into());
        }
        Ok(())
    }
}

pub struct NetHunt {
    config: NetHuntConfig,
    /// `base_url` without a trailing slash.
    base: String,
    client: Client,
    /// `Basic base64(email:api_key)`, built once and marked sensitive.
    auth: HeaderValue,
    policy: RetryPolicy,
}

impl fmt::Debug for NetHunt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetHunt")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl NetHunt {
    pub fn new(config: NetHuntConfig, policy: RetryPolicy) -> Result<Self, CrmError> {
        config.validate()?;
        let client = http::client(&policy)?;
        let base = config.base_url.trim_end_matches('/').to_owned();
        // reqwest encodes Basic credentials itself (bridge-core has no base64 crate): build a
        // request once, never sent, and keep its header.
        let auth = client
            .get(&base)
            .basic_auth(&config.email, Some(config.api_key.expose()))
            .build()
            .map_err(|_| CrmError::Config("NetHunt base URL is not a valid URL".into()))?
            .headers()
            .get(AUTHORIZATION)
            .cloned()
            .ok_or_else(|| CrmError::Config("NetHunt credentials are not encodable".into()))?;
        Ok(Self {
            config,
            base,
            client,
            auth,
            policy,
        })
    }

    pub fn config(&self) -> &NetHuntConfig {
        &self.config
    }

    fn url(&self, action: &str, id: &str, query: &[(&str, &str)]) -> String {
        let mut url = format!("{}/{action}/{}", self.base, encode(id));
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&encode(value));
        }
        url
    }

    fn request(&self, build: impl Fn() -> RequestBuilder) -> impl Fn() -> RequestBuilder {
        move || build().header(AUTHORIZATION, self.auth.clone())
    }

    /// find-record; 404 and `[]` are both "nothing matched".
    async fn find_records(
        &self,
        query: &[(&str, &str)],
        deadline: Deadline,
    ) -> Result<Vec<Value>, CrmError> {
        let url = self.url(
            "searches/find-record",
            &self.config.contacts_folder_id,
            query,
        );
        let response = http::send(
            self.request(|| self.client.get(&url)),
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !response.status().is_success() {
            return Err(http::error_from(response).await);
        }
        match read_json(response).await? {
            Value::Array(records) => Ok(records),
            other => Err(unexpected(
                "find-record",
                &format!("expected an array, got {}", json_kind(&other)),
            )),
        }
    }

    /// A POST that must not be replayed after NetHunt may have acted on it. Returns the
    /// response whatever its status; the caller reads 404 in its own terms.
    async fn post(
        &self,
        url: &str,
        body: &Value,
        deadline: Deadline,
    ) -> Result<Response, CrmError> {
        http::send(
            self.request(|| self.client.post(url).json(body)),
            Replay::OnlyIfNotProcessed,
            &self.policy,
            deadline,
        )
        .await
        .map_err(CrmError::from)
    }

    /// create-record in `folder_id` → the new record's id.
    async fn create_record(
        &self,
        folder_id: &str,
        folder_label: &str,
        fields: Map<String, Value>,
        deadline: Deadline,
    ) -> Result<String, CrmError> {
        let url = self.url("actions/create-record", folder_id, &[]);
        let body = json!({ "timeZone": self.config.time_zone, "fields": fields });
        let response = self.post(&url, &body, deadline).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(CrmError::Config(format!(
                "NetHunt {folder_label} folder {folder_id:?} not found"
            )));
        }
        if !response.status().is_success() {
            return Err(http::error_from(response).await);
        }
        let created = read_json(response).await?;
        record_id_of(&created)
            .map(str::to_owned)
            .ok_or_else(|| unexpected("create-record", "no recordId"))
    }

    /// update-record with `{field: {"overwrite": true, "add": value}}` for each field.
    async fn overwrite_fields(
        &self,
        record_id: &str,
        values: Vec<(&str, Value)>,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let actions: Map<String, Value> = values
            .into_iter()
            .map(|(field, value)| (field.to_owned(), json!({ "overwrite": true, "add": value })))
            .collect();
        // The query's default agrees with every action; either alone should do.
        let url = self.url("actions/update-record", record_id, &[("overwrite", "true")]);
        let response = self
            .post(&url, &json!({ "fieldActions": actions }), deadline)
            .await?;
        expect_record(response, record_id).await.map(drop)
    }

    /// `"Name <email>"` or the bare e-mail, as configured. The user's id must be its e-mail:
    /// that is how NetHunt's person fields name users.
    fn person_value(&self, user: &CrmUser) -> Result<String, CrmError> {
        let email = user.id.trim();
        if !email.contains('@')
            || email.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(CrmError::Config(format!(
                "NetHunt user id {email:?} is not an e-mail"
            )));
        }
        let name = user
            .name
            .as_deref()
            .map(|n| n.replace(['<', '>', '"'], "").trim().to_owned())
            .filter(|n| !n.is_empty());
        Ok(match (self.config.person_format, name) {
            (PersonFormat::NameAndEmail, Some(name)) => format!("{name} <{email}>"),
            _ => email.to_owned(),
        })
    }

    /// Whether one of the record's phone values is exactly `phone`.
    fn has_phone(&self, record: &Value, phone: &PhoneNumber) -> bool {
        let Some(value) = field_value(record, &self.config.fields.phone) else {
            return false;
        };
        texts(value)
            .iter()
            // A text field may hold several numbers: "050 123 45 67, 067 111 22 33".
            .flat_map(|text| text.split([',', ';', '\n']))
            .filter_map(|candidate| PhoneNumber::parse(candidate).ok())
            .any(|candidate| candidate == *phone)
    }

    fn contact_ref(&self, record: &Value) -> Option<ContactRef> {
        let id = record_id_of(record)?;
        let fields = &self.config.fields;
        Some(ContactRef {
            id: id.to_owned(),
            name: field_value(record, &fields.contact_name)
                .and_then(first_text)
                .filter(|n| !n.trim().is_empty()),
            owner_id: field_value(record, &fields.owner)
                .and_then(parse_person)
                .map(|user| user.id),
            card_url: Some(self.contact_card_url(id)),
        })
    }
}

#[async_trait]
impl Crm for NetHunt {
    fn kind(&self) -> CrmKind {
        CrmKind::NetHunt
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        let query = format!("\"{}\":\"{}\"", self.config.fields.phone, phone.e164());
        let limit = FIND_LIMIT.to_string();
        let records = self
            .find_records(&[("query", &query), ("limit", &limit)], deadline)
            .await?;
        let returned = records.len();
        let exact: Vec<&Value> = records
            .iter()
            .filter(|record| self.has_phone(record, phone))
            .collect();
        tracing::debug!(
            phone = %phone.masked(),
            returned,
            exact = exact.len(),
            "NetHunt contact search"
        );
        if exact.is_empty() && returned >= FIND_LIMIT {
            tracing::warn!(
                phone = %phone.masked(),
                "NetHunt search returned {FIND_LIMIT} near matches and no exact one; the contact may be beyond the limit"
            );
        }
        // The most recently updated wins; on a tie the first NetHunt returned.
        let best = exact
            .into_iter()
            .fold(None, |best: Option<&Value>, record| match best {
                Some(current) if updated_at(record) <= updated_at(current) => Some(current),
                _ => Some(record),
            });
        Ok(best.and_then(|record| self.contact_ref(record)))
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        let fields = &self.config.fields;
        // Phone only, no name (seed scenarios 3, 4, 7, 8): "Name" is left out, not blanked.
        let mut values = Map::new();
        values.insert(fields.phone.clone(), json!([phone.e164()]));
        values.insert(fields.owner.clone(), json!([self.person_value(owner)?]));
        let id = self
            .create_record(
                &self.config.contacts_folder_id,
                "Contacts",
                values,
                deadline,
            )
            .await?;
        tracing::info!(phone = %phone.masked(), record_id = %id, "NetHunt contact created");
        Ok(ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            id,
            name: None,
            owner_id: Some(owner.id.trim().to_owned()),
        })
    }

    async fn set_contact_owner(
        &self,
        contact_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let person = self.person_value(owner)?;
        self.overwrite_fields(
            contact_id,
            vec![(self.config.fields.owner.as_str(), json!([person]))],
            deadline,
        )
        .await
    }

    async fn set_contact_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let fields = &self.config.fields;
        let mapping = [
            (Some(&fields.utm_source), &utm.source),
            (Some(&fields.utm_medium), &utm.medium),
            (Some(&fields.utm_campaign), &utm.campaign),
            (Some(&fields.utm_term), &utm.term),
            (fields.utm_content.as_ref(), &utm.content),
        ];
        let values: Vec<(&str, Value)> = mapping
            .into_iter()
            .filter_map(|(field, value)| {
                let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
                Some((field?.as_str(), json!(value)))
            })
            .collect();
        if values.is_empty() {
            return Ok(());
        }
        self.overwrite_fields(contact_id, values, deadline).await
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        let mut body = Map::new();
        let text = if activity.description.is_empty() {
            activity.subject.clone()
        } else {
            format!("{}\n{}", activity.subject, activity.description)
        };
        body.insert("text".into(), json!(text));
        if let Some(started) = activity.started_at {
            body.insert("time".into(), json!(iso_utc(started)));
        }
        body.insert(
            "duration".into(),
            duration_value(activity.duration_secs, self.config.call_log_duration_unit),
        );
        let record_id = &activity.regarding.id;
        let url = self.url("actions/create-call-log", record_id, &[]);
        let response = self.post(&url, &Value::Object(body), deadline).await?;
        let logged = expect_record(response, record_id).await?;
        Ok(LoggedCall {
            id: logged
                .get("callLogId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            already_existed: false,
        })
    }

    async fn add_note(
        &self,
        contact_id: &str,
        title: &str,
        text: &str,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let text = match (title.trim().is_empty(), text.trim().is_empty()) {
            (false, false) => format!("{title}\n{text}"),
            (false, true) => title.to_owned(),
            (true, _) => text.to_owned(),
        };
        let url = self.url("actions/create-comment", contact_id, &[]);
        let response = self.post(&url, &json!({ "text": text }), deadline).await?;
        expect_record(response, contact_id).await.map(drop)
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        let Some(folder_id) = self.config.deals_folder_id.as_deref() else {
            return Err(CrmError::Config(
                "NetHunt Deals folder id is not configured".into(),
            ));
        };
        let fields = &self.config.fields;
        let mut values = Map::new();
        values.insert(fields.deal_name.clone(), json!(deal.name));
        if let Some(stage) = deal.stage.as_deref().filter(|s| !s.trim().is_empty()) {
            values.insert(fields.deal_stage.clone(), json!(stage));
        }
        if let Some(owner) = &deal.owner {
            values.insert(
                fields.deal_owner.clone(),
                json!([self.person_value(owner)?]),
            );
        }
        values.insert(fields.deal_contact.clone(), json!([contact.id]));
        let id = self
            .create_record(folder_id, "Deals", values, deadline)
            .await?;
        Ok(DealRef { id })
    }

    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        // update-record addresses the record by id alone: no Deals folder id is needed, and a
        // deal that no longer exists is a 404 (NotFound) like any other record.
        let person = self.person_value(owner)?;
        self.overwrite_fields(
            deal_id,
            vec![(self.config.fields.deal_owner.as_str(), json!([person]))],
            deadline,
        )
        .await
    }

    async fn responsible_manager(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        let records = self
            .find_records(&[("recordId", contact_id), ("limit", "1")], deadline)
            .await?;
        // The id is re-checked like the phone: a server that ignored `recordId` would
        // otherwise hand over somebody else's manager.
        let Some(record) = records.iter().find(|r| record_id_of(r) == Some(contact_id)) else {
            return Ok(None);
        };
        let person = field_value(record, &self.config.fields.owner);
        let manager = person.and_then(parse_person);
        if manager.is_none() && person.is_some_and(|p| !texts(p).is_empty()) {
            tracing::warn!("NetHunt owner field holds no e-mail; no responsible manager");
        }
        Ok(manager)
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        self.config
            .card_url_template
            .replace("{folder_id}", &encode(&self.config.contacts_folder_id))
            .replace("{record_id}", &encode(contact_id))
    }
}

// --- Reading NetHunt's values ------------------------------------------------------------

/// `fields[name]` of a find-record result.
fn field_value<'a>(record: &'a Value, name: &str) -> Option<&'a Value> {
    record.get("fields")?.get(name)
}

fn record_id_of(record: &Value) -> Option<&str> {
    record
        .get("recordId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
}

/// `updatedAt`, or the oldest possible time when missing or unreadable.
fn updated_at(record: &Value) -> Option<Timestamp> {
    record.get("updatedAt")?.as_str()?.parse().ok()
}

/// Every text in a field value: a string, a number, or an array of them (§4.3: treat each
/// value as JSON of unknown shape).
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(object) => ["email", "name", "value"]
            .iter()
            .find_map(|key| object.get(*key).and_then(Value::as_str))
            .map(|s| vec![s.to_owned()])
            .unwrap_or_default(),
        Value::Null | Value::Bool(_) => Vec::new(),
    }
}

fn first_text(value: &Value) -> Option<String> {
    texts(value).into_iter().next()
}

/// A person value: `"Name <email>"`, a bare e-mail, or an object with `email` (and `name`).
/// The first one counts; without an e-mail there is no usable user.
fn parse_person(value: &Value) -> Option<CrmUser> {
    let first = match value {
        Value::Array(items) => items.first()?,
        other => other,
    };
    if let Some(object) = first.as_object() {
        let email = object.get("email")?.as_str()?.trim();
        let name = object.get("name").and_then(Value::as_str);
        return person_from(email, name);
    }
    let text = first.as_str()?.trim();
    match (text.rfind('<'), text.strip_suffix('>')) {
        (Some(open), Some(inner)) => {
            let name = text[..open].trim().trim_matches('"');
            person_from(&inner[open + 1..], Some(name))
        }
        _ => person_from(text, None),
    }
}

fn person_from(email: &str, name: Option<&str>) -> Option<CrmUser> {
    let email = email.trim();
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return None;
    }
    Some(CrmUser {
        id: email.to_owned(),
        name: name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
    })
}

// --- Writing NetHunt's values ------------------------------------------------------------

/// `2024-05-01T10:00:00.000Z`, the shape of NetHunt's own timestamps.
fn iso_utc(at: Timestamp) -> String {
    format!("{at:.3}")
}

fn duration_value(secs: u32, unit: DurationUnit) -> Value {
    match unit {
        DurationUnit::Seconds => json!(secs),
        // Two decimals: 95 s → 1.58; exact seconds are in the text.
        DurationUnit::Minutes => json!((f64::from(secs) / 60.0 * 100.0).round() / 100.0),
    }
}

fn encode(component: &str) -> String {
    utf8_percent_encode(component, COMPONENT).to_string()
}

// --- Responses ---------------------------------------------------------------------------

/// A write on an existing record: 404 means the record is gone, success gives the body.
async fn expect_record(response: Response, record_id: &str) -> Result<Value, CrmError> {
    if response.status() == StatusCode::NOT_FOUND {
        return Err(CrmError::NotFound(format!("NetHunt record {record_id}")));
    }
    if !response.status().is_success() {
        return Err(http::error_from(response).await);
    }
    // Only ids are read from these bodies (§9.1); an empty or odd body still means success.
    Ok(read_json(response).await.unwrap_or(Value::Null))
}

async fn read_json(response: Response) -> Result<Value, CrmError> {
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| CrmError::Transient(format!("reading NetHunt response: {e}")))?;
    serde_json::from_slice(&body).map_err(|_| CrmError::Rejected {
        status,
        message: format!(
            "NetHunt answered with a body that is not JSON: {}",
            http::crm_message(&String::from_utf8_lossy(&body))
        ),
    })
}

/// A success response without what the operation needs. Not transient: replaying a write that
/// NetHunt accepted would duplicate it.
fn unexpected(operation: &str, what: &str) -> CrmError {
    CrmError::Rejected {
        status: 200,
        message: format!("unexpected NetHunt {operation} response: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_values_in_every_shape() {
        let user = |id: &str, name: Option<&str>| CrmUser {
            id: id.into(),
            name: name.map(str::to_owned),
        };
        assert_eq!(
            parse_person(&json!(["Olena Koval <olena@acme.ua>"])),
            Some(user("olena@acme.ua", Some("Olena Koval")))
        );
        assert_eq!(
            parse_person(&json!("olena@acme.ua")),
            Some(user("olena@acme.ua", None))
        );
        assert_eq!(
            parse_person(&json!(["<olena@acme.ua>"])),
            Some(user("olena@acme.ua", None))
        );
        assert_eq!(
            parse_person(&json!([{"name": "Olena", "email": "olena@acme.ua"}])),
            Some(user("olena@acme.ua", Some("Olena")))
        );
        assert_eq!(parse_person(&json!(["Olena Koval"])), None);
        assert_eq!(parse_person(&json!([])), None);
    }

    #[test]
    fn durations_in_minutes_have_two_decimals() {
        assert_eq!(duration_value(95, DurationUnit::Minutes), json!(1.58));
        assert_eq!(duration_value(120, DurationUnit::Minutes), json!(2.0));
        assert_eq!(duration_value(0, DurationUnit::Minutes), json!(0.0));
        assert_eq!(duration_value(95, DurationUnit::Seconds), json!(95));
    }

    #[test]
    fn times_are_iso_utc_with_milliseconds() {
        let at: Timestamp = "2024-05-01T13:00:00+03:00".parse().expect("valid");
        assert_eq!(iso_utc(at), "2024-05-01T10:00:00.000Z");
    }

    #[test]
    fn queries_keep_plus_quotes_and_cyrillic_intact() {
        assert_eq!(
            encode("\"Телефон\":\"+380501234567\""),
            "%22%D0%A2%D0%B5%D0%BB%D0%B5%D1%84%D0%BE%D0%BD%22%3A%22%2B380501234567%22"
        );
    }

    #[test]
    fn config_debug_hides_the_api_key() {
        let config = NetHuntConfig::new("bridge@acme.ua", "secret-key-123", "folder");
        assert!(!format!("{config:?}").contains("secret-key-123"));
    }
}
