//! NetHunt CRM over its Integration API (the "Zapier API"). What the adapter assumes of the
//! API, and where each fact comes from: `docs/vendor-contracts.md`, "NetHunt CRM Integration
//! API" (NH1–NH32).
//!
//! Every operation is one request (two for a contact create, three at most for a recheck,
//! two for the search of a number not stored in E.164): folder ids and field names come from
//! configuration, never from a lookup per call. What the API leaves open (the rows marked
//! inferred there) is handled tolerantly:
//!
//! - **Search is fuzzy** (NH8): find-record returns records that merely contain the number
//!   (`+3805012345678`, `+380501234567 доб. 12`, a deal name quoting it). Every returned phone
//!   value is parsed with [`PhoneNumber::parse`] and compared exactly; the rest are dropped.
//! - **Numbers typed in another notation** (NH31): the first search is for the E.164 number
//!   (the bridge's own contacts). When nothing it returns is exactly the number, a second
//!   find-record ORs the other notations (`0501234567`, `380501234567`, `80501234567`, the
//!   last seven digits as `1234567`, `123 45 67`, `123-45-67`, …), so `050 123 45 67` or
//!   `+38 (050) 123-45-67` is found without relying on NetHunt to ignore separators. The
//!   grouping is NetHunt's advanced-search syntax, inferred for the API:
//!   [`PhoneSearch::Separate`] sends one request per notation instead, and a 400 or 422 to the
//!   grouped query falls back to that for the lookup.
//! - **No match** is `[]` or 404 (NH9); both mean "no contact", never an error.
//! - **Several exact matches** (NH8): the most recently updated contact wins, so a call is
//!   logged once.
//! - **Call-log duration** is sent in minutes by default ([`DurationUnit`]); the exact length
//!   is also in the text (`Тривалість: 1:35`).
//! - **Writes are never replayed blindly** (NH21): creates, updates, comments and call logs are
//!   retried only when NetHunt cannot have acted (429, 503 with `Retry-After`, connection
//!   refused); reads are retried on any transient failure. A write that may have happened
//!   (5xx, timeout or reset after sending) is [`CrmError::Ambiguous`].
//! - **Rechecks instead of fences** (NH22, NH28–NH30): NetHunt takes no client ids, so a
//!   write retried after an ambiguous failure (`recheck`) first looks for the earlier one: a
//!   call log or comment on the record whose text has the call's `Ringostat ID: <call id>` line
//!   (new-call-log since 10 minutes before the call, new-comment), the contact's deal by name
//!   and link (find-record in Deals). A new contact is followed by the number's search once
//!   more: of several contacts with it, the oldest is returned (and a `duplicate_contact`
//!   warning logged), so racing creators agree on one.
//!
//! Logs carry masked numbers only, never the API key or a request URL (its query holds the
//! number).
//!
//! Files: `client` (URLs, auth, sending, reading answers), `records` (creating and updating
//! records, reading and writing field values), `contacts`, `deals`, `call_log` (call logs and
//! comments on a record's timeline), `recheck` (looking for earlier writes and duplicates);
//! `env` reads the configuration section.

pub mod env;

mod call_log;
mod client;
mod contacts;
mod deals;
pub mod inspect;
mod recheck;
mod records;
mod test_records;
#[cfg(test)]
mod tests;

use std::fmt;

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use reqwest::Client;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::json;

use crate::http::{self, RetryPolicy};
use bridge_domain::activity::{CallActivity, ContactRef, CrmUser};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal, NewNote};
use bridge_domain::ringostat::Utm;
use bridge_domain::secret::Secret;

use client::encode;

pub const DEFAULT_BASE_URL: &str = "https://nethunt.com/api/v1/zapier";
/// IANA name sent as `timeZone` on create-record (required there: `docs/vendor-contracts.md`,
/// "NetHunt CRM Integration API", NH13, NH14). Older servers may know only the alias
/// `Europe/Kiev`; it is configurable for that reason.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Kyiv";
/// [INFERRED] The record page of NetHunt's web app; not documented (NH23). Configurable: copy
/// the address of any record card in the workspace and put `{folder_id}` and `{record_id}` in
/// it.
pub const DEFAULT_CARD_URL_TEMPLATE: &str =
    "https://nethunt.com/app/records/{folder_id}/{record_id}";

/// Unit of create-call-log's `duration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    /// Decimal minutes (95 s → 1.58). The default: two independent sources and the official
    /// anchor text they paraphrase say minutes (`docs/vendor-contracts.md`, "NetHunt CRM
    /// Integration API", NH17, NH18).
    #[default]
    Minutes,
    /// Whole seconds, should a real workspace render minutes wrongly.
    Seconds,
}

/// How a person (the responsible user) is written into a person field
/// (`docs/vendor-contracts.md`, "NetHunt CRM Integration API", NH10, NH11).
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

/// How the number's other notations are searched when the E.164 search finds nothing exact
/// (`NETHUNT_PHONE_SEARCH`; `docs/vendor-contracts.md`, "NetHunt CRM Integration API", NH31).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneSearch {
    /// One find-record whose query ORs every notation: one more request per lookup.
    #[default]
    Grouped,
    /// One find-record per notation, until one finds the number: up to ten more requests
    /// (for a workspace whose search refuses or misreads the grouped query).
    Separate,
}

/// Field names: the display names of the workspace's fields, in its language
/// (`docs/vendor-contracts.md`, "NetHunt CRM Integration API", NH3, NH4). Read them from
/// `GET /triggers/folder-field/{folderId}`; each is a `NETHUNT_FIELD_*` variable (`env`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NetHuntFields {
    /// Contact name (`NETHUNT_FIELD_CONTACT_NAME`); read for display (Smart Phone, the
    /// answer), never written (the seed creates contacts without one).
    pub contact_name: String,
    /// Contact phone (`NETHUNT_FIELD_PHONE`): the field NetHunt checks duplicates on
    /// (`docs/vendor-contracts.md`, "NetHunt CRM Integration API", NH24).
    pub phone: String,
    /// Contact person field of the responsible user (`NETHUNT_FIELD_OWNER`). NetHunt's help
    /// calls it "Manager (or Assignee)"; a Ukrainian workspace shows "Менеджер".
    pub owner: String,
    /// `NETHUNT_FIELD_UTM_SOURCE`.
    pub utm_source: String,
    /// `NETHUNT_FIELD_UTM_MEDIUM`.
    pub utm_medium: String,
    /// `NETHUNT_FIELD_UTM_CAMPAIGN`.
    pub utm_campaign: String,
    /// `utm_term` (`NETHUNT_FIELD_UTM_TERM`), "Ключове слово" in the seed.
    pub utm_term: String,
    /// `utm_content` (`NETHUNT_FIELD_UTM_CONTENT`) has no field in the seed; written only
    /// when configured.
    pub utm_content: Option<String>,
    /// Deal name (`NETHUNT_FIELD_DEAL_NAME`).
    pub deal_name: String,
    /// Deal stage (`NETHUNT_FIELD_DEAL_STAGE`), written only when `DEAL_STAGE` is set.
    pub deal_stage: String,
    /// Deal person field of the responsible user (`NETHUNT_FIELD_DEAL_OWNER`).
    pub deal_owner: String,
    /// Deal record-list field linking the contact (`NETHUNT_FIELD_DEAL_CONTACT`).
    pub deal_contact: String,
}

/// What a configured field is used for, so a check can skip the ones a configuration does not
/// need (UTM fields without `WRITE_UTM`, deal fields without `CREATE_DEAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRole {
    /// Read or written on every contact (name, phone, owner).
    Contact,
    /// A contact's UTM tag.
    Utm,
    /// Written on every new deal (name, owner, contact link).
    Deal,
    /// Written on a new deal when `DEAL_STAGE` is set.
    DealStage,
}

/// One field name the bridge reads or writes, with the variable that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfiguredField<'a> {
    pub variable: &'static str,
    /// What it holds, for people: `phone`, `deal → contact link`.
    pub what: &'static str,
    pub role: FieldRole,
    pub name: &'a str,
}

impl NetHuntFields {
    /// Every field name the bridge reads or writes, with its variable (an unset
    /// `utm_content` is left out): the list `bridge-ops doctor` checks against the folders.
    pub fn configured(&self) -> Vec<ConfiguredField<'_>> {
        use FieldRole::{Contact, Deal, DealStage, Utm};
        [
            (
                "NETHUNT_FIELD_CONTACT_NAME",
                "contact name",
                Contact,
                Some(self.contact_name.as_str()),
            ),
            (
                "NETHUNT_FIELD_PHONE",
                "phone",
                Contact,
                Some(self.phone.as_str()),
            ),
            (
                "NETHUNT_FIELD_OWNER",
                "responsible manager",
                Contact,
                Some(self.owner.as_str()),
            ),
            (
                "NETHUNT_FIELD_UTM_SOURCE",
                "utm_source",
                Utm,
                Some(self.utm_source.as_str()),
            ),
            (
                "NETHUNT_FIELD_UTM_MEDIUM",
                "utm_medium",
                Utm,
                Some(self.utm_medium.as_str()),
            ),
            (
                "NETHUNT_FIELD_UTM_CAMPAIGN",
                "utm_campaign",
                Utm,
                Some(self.utm_campaign.as_str()),
            ),
            (
                "NETHUNT_FIELD_UTM_TERM",
                "utm_term",
                Utm,
                Some(self.utm_term.as_str()),
            ),
            (
                "NETHUNT_FIELD_UTM_CONTENT",
                "utm_content",
                Utm,
                self.utm_content.as_deref(),
            ),
            (
                "NETHUNT_FIELD_DEAL_NAME",
                "deal name",
                Deal,
                Some(self.deal_name.as_str()),
            ),
            (
                "NETHUNT_FIELD_DEAL_OWNER",
                "deal manager",
                Deal,
                Some(self.deal_owner.as_str()),
            ),
            (
                "NETHUNT_FIELD_DEAL_CONTACT",
                "deal → contact link",
                Deal,
                Some(self.deal_contact.as_str()),
            ),
            (
                "NETHUNT_FIELD_DEAL_STAGE",
                "deal stage",
                DealStage,
                Some(self.deal_stage.as_str()),
            ),
        ]
        .into_iter()
        .filter_map(|(variable, what, role, name)| {
            Some(ConfiguredField {
                variable,
                what,
                role,
                name: name?,
            })
        })
        .collect()
    }
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
    pub phone_search: PhoneSearch,
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
            phone_search: PhoneSearch::default(),
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
        if let Some(empty) = self
            .fields
            .configured()
            .into_iter()
            .find(|field| field.name.trim().is_empty())
        {
            return config(format!(
                "NetHunt {} field name is empty ({})",
                empty.what, empty.variable
            ));
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
        let policy = policy.for_service("nethunt");
        let client = http::shared_client()?;
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
}

#[async_trait]
impl Crm for NetHunt {
    fn kind(&self) -> CrmKind {
        CrmKind::NetHunt
    }

    async fn prepare(&self, deadline: Deadline) {
        http::preconnect(&self.client, &self.config.base_url, deadline).await;
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        self.search_contact(phone, deadline).await
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        self.insert_contact(phone, owner, deadline).await
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
        self.write_utm(contact_id, utm, deadline).await
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        self.create_call_log(activity, deadline).await
    }

    async fn add_note(&self, note: &NewNote, deadline: Deadline) -> Result<(), CrmError> {
        self.create_comment(note, deadline).await
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        self.insert_deal(contact, deal, deadline).await
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
        self.manager_of(contact_id, deadline).await
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        self.config
            .card_url_template
            .replace("{folder_id}", &encode(&self.config.contacts_folder_id))
            .replace("{record_id}", &encode(contact_id))
    }
}
