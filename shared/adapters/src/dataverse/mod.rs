//! Smart CRM on Microsoft Dataverse: the Web API v9.2 with an Entra ID app-only token
//! (OAuth2 client credentials). What the adapter assumes of both, and where each fact comes
//! from, is listed in `docs/vendor-contracts.md`, "Smart CRM: Microsoft Dataverse Web API and
//! Entra ID".
//!
//! Decisions, each explained where it is made:
//!
//! - **Token**: fetched lazily on the first request, cached until 5 minutes before it expires
//!   (half its lifetime for short-lived tokens), fetched again once when the API answers 401.
//!   Concurrent requests share one fetch (the cache is a mutex held across it).
//! - **Finding a contact** (`contacts`): people type numbers by hand (`+38 (050) 123-45-67`,
//!   `050-123-45-67`, `8 050 123 45 67`), and a missed one means a duplicate contact. First one
//!   `GET /contacts` whose `$filter` compares every searched column
//!   ([`DataverseConfig::search_columns`], the phone column, the digits column) `eq` every
//!   whole notation of [`PhoneNumber::search_terms`] (`+380501234567`, `380501234567`,
//!   `00380501234567`, `0501234567`, `80501234567`): the numbers the bridge writes, and those
//!   typed without separators, are found by an exact, indexable comparison. Only when no row
//!   re-checks as the number, a second `GET` with `contains(<column>,'<fragment>')` for the
//!   last seven digits in the groupings people type (`1234567`, `123 45 67`, `123-45-67`,
//!   `123.45.67`, `123 4567`, `123-4567`) finds the rest. Every row of either answer is
//!   re-checked on the client (its stored value parsed to E.164 and compared), so a fragment
//!   matching another number (`067 123 45 67`) is never taken. `+` travels as `%2B`, `'` is
//!   doubled. The oldest match wins (`$orderby=createdon asc`) so a duplicated number always
//!   resolves to the same contact. The second request is a leading-wildcard query, which
//!   Dataverse answers by scanning the table (and may throttle on a large one): a tenant can
//!   turn it off ([`DataverseConfig::fragment_search`]) and keep a digits-only column
//!   ([`DataverseConfig::digits_column`]) instead, which the bridge fills on the contacts it
//!   creates.
//! - **New contact**: the number goes into the phone column (default `mobilephone`), into
//!   the digits column when there is one, and into the name column (default `lastname`). The API would accept a contact without a name, but `lastname` is
//!   ApplicationRequired, so the model-driven UI would refuse the next edit of a nameless
//!   contact; the number as its name is what the user sees anyway. `firstname` stays empty:
//!   this is the seed's "contact with the phone number and no name".
//! - **Call record**: a `phonecall` with a deterministic `activityid` (UUID v5 of the Ringostat
//!   call id in [`CALL_ID_NAMESPACE`]), so a retried POST cannot create a second record: the
//!   server answers 412 and the adapter reports `already_existed`. Parties are deep-inserted
//!   (From = mask 1, To = mask 2). `statecode` is ignored on create, so the call is closed by
//!   a PATCH afterwards: answered incoming → Completed/Received (1/4), answered outgoing →
//!   Completed/Made (1/2), missed → see [`MissedCallState`].
//! - **Fenced creates**: contacts, notes and deals carry their own ids, UUID v5 in the
//!   deployment's namespace ([`DataverseConfig::id_namespace`], `DATAVERSE_ID_NAMESPACE`;
//!   default [`default_id_namespace`] of the environment URL): `contactid` of the E.164 number,
//!   `annotationid` of `note:<call id>`, `opportunityid` of `deal:<contactid>`. A repeated or
//!   raced create is refused with 412 (or a 500 saying "matching key values already exists"),
//!   so these POSTs are retried like reads (`Replay::Safe`). A refused note or deal already
//!   exists: success, with its id. A refused contact is read by its id and returned, so two
//!   concurrent creators of one number end with one contact; should that id belong to a
//!   contact whose number was changed since, the contact is created without a fixed id.
//! - **Errors**: a 400 about an unknown property or navigation property is a
//!   [`CrmError::Config`] (a column name in the configuration does not exist in the tenant). A
//!   phone call, note or deal refused because its contact "Does Not Exist" (deleted since it
//!   was found) is [`CrmError::NotFound`], so the caller can find or create the client again.
//!
//! Nothing here logs a token, the client secret or an unmasked phone number.
//!
//! Files: `auth` (the Entra token), `web_api` (one request and its 401 retry), `odata`
//! (literals, escaping, ids, answers and errors), `keys` (deterministic ids, fenced creates),
//! `contacts`, `phonecall`, `notes_deals`; `env` reads the configuration section.

pub mod env;

mod auth;
mod contacts;
pub mod inspect;
mod keys;
mod notes_deals;
mod odata;
mod phonecall;
mod test_records;
#[cfg(test)]
mod tests;
mod web_api;

pub use contacts::SearchStep;
pub use keys::default_id_namespace;
pub use odata::odata_string;
pub use phonecall::activity_id;

use std::fmt;

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use percent_encoding::utf8_percent_encode;
use serde_json::json;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::http::{self, RetryPolicy};
use bridge_domain::activity::{CallActivity, ContactRef, CrmUser};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal, NewNote};
use bridge_domain::ringostat::Utm;
use bridge_domain::secret::Secret;

use auth::CachedToken;
use keys::Keys;
use odata::{ID_PART, encode_query_value, non_empty, rows, success_json, user_guid};
use web_api::{ApiRequest, Table};

/// The Web API root under the environment URL.
pub const API_PATH: &str = "/api/data/v9.2";

/// Entra ID's public cloud.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Namespace of the UUID v5 `activityid`s: `activityid = v5(CALL_ID_NAMESPACE, call id bytes)`.
/// Never change it: the ids of calls already logged would no longer match their retries.
pub const CALL_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3c6f_2a4e_9b1d_4f70_8e25_6a7b_c1d0_e9f3);

/// What a missed call's `phonecall` becomes. Every missed call gets its record (the seed logs
/// all eight scenarios); the question is whether it stays Open as a to-do.
///
/// Default [`MissedCallState::Canceled`]: closed as **Canceled** (2/3, "the call did not take
/// place"), in both directions. A sales manager wants every missed call on the client's
/// timeline, marked as missed, and wants the open-activity list to mean work still to do. An
/// Open to-do per missed call breaks the latter: the bridge cannot close it when the manager
/// calls back (the call-back is a phone call of its own), so to-dos would pile up and be
/// closed by hand; and a missed incoming call that nobody was rung for is owned by the
/// application user, so its to-do would sit in nobody's list. Canceled calls stay read-only
/// history, can be counted in views and reports (status "Canceled", subject "… пропущений"),
/// and the call-back itself starts from the call log, where the call is marked as missed.
///
/// Teams that do work from Dataverse activity lists can choose [`MissedCallState::CallBack`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissedCallState {
    /// Every missed call closed as Canceled (2/3): history, no to-dos.
    #[default]
    Canceled,
    /// A missed **incoming** call stays **Open** as a call-back to-do: High priority, Due
    /// (`scheduledend`) = the end of the call, so it is overdue at once. A missed **outgoing**
    /// call (the manager's own attempt) is closed as Canceled.
    CallBack,
    /// Every missed call stays Open (0/1) for someone to follow up, High priority, due at the
    /// end of the call like a `CallBack` to-do.
    Open,
}

/// Contact columns that receive the UTM tags; `None` leaves a tag out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtmColumns {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
    /// Values are cut to this many characters: 100 is Dataverse's default for a new text
    /// column, and one over-long `utm_content` must not fail the whole update.
    pub max_chars: usize,
}

impl Default for UtmColumns {
    /// `new_utmsource`, `new_utmmedium`, `new_utmcampaign`, `new_utmterm`, `new_utmcontent`:
    /// custom columns need a publisher prefix, and `new_` is the default publisher's. Set the
    /// tenant's real schema names in the configuration.
    fn default() -> Self {
        Self {
            source: Some("new_utmsource".into()),
            medium: Some("new_utmmedium".into()),
            campaign: Some("new_utmcampaign".into()),
            term: Some("new_utmterm".into()),
            content: Some("new_utmcontent".into()),
            max_chars: 100,
        }
    }
}

/// Where Smart CRM lives and how the bridge signs in.
#[derive(Debug, Clone)]
pub struct DataverseConfig {
    /// `https://org.crm4.dynamics.com`, without `/api/data/v9.2`.
    pub environment_url: String,
    /// Entra authority; [`DEFAULT_AUTHORITY`] unless a sovereign cloud or a test server.
    pub authority: String,
    /// Directory (tenant) id or domain.
    pub tenant: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// `None`: `<environment_url>/.default`, the only scope client credentials accept.
    pub scope: Option<String>,
    /// Where a new contact's number goes (also searched). Default `mobilephone`.
    pub contact_phone_column: String,
    /// Contact columns searched for a number besides the phone column. Default the three the
    /// contact form shows: `telephone1` (Business Phone), `mobilephone`, `telephone2` (Home
    /// Phone).
    pub search_columns: Vec<String>,
    /// A text column holding the number's digits with the country code (`380501234567`),
    /// searched like the others and filled on the contacts the bridge creates; `None`: none.
    pub digits_column: Option<String>,
    /// Whether a number not found in a whole notation is searched for by its last seven digits
    /// (`contains`, one more request). Default `true`.
    pub fragment_search: bool,
    /// Where a new contact's name (its number) goes; `None` leaves the name empty. Default
    /// `lastname`.
    pub contact_name_column: Option<String>,
    pub utm_columns: UtmColumns,
    /// Text column of `opportunity` that receives [`NewDeal::stage`]; default `stepname`
    /// ("Pipeline Phase"). `None` ignores the stage. Option-set stages are not supported.
    pub deal_stage_column: Option<String>,
    pub missed_call_state: MissedCallState,
    /// Base of contact card links; `None`: the environment URL.
    pub app_url: Option<String>,
    /// Model-driven app id (`appid=`) of Smart CRM, so cards open inside its app.
    pub app_id: Option<String>,
    /// A whole contact card link with `{id}` for the `contactid`, instead of the one built
    /// from [`Self::app_url`] and [`Self::app_id`].
    pub card_url_template: Option<String>,
    /// Namespace of the deterministic ids of new contacts, notes and deals; `None`:
    /// [`default_id_namespace`] of the environment URL. Every deployment writing to one
    /// environment must use the same one, and it must never change (the ids of records already
    /// created would no longer fence their repeats).
    pub id_namespace: Option<Uuid>,
}

impl DataverseConfig {
    /// The defaults for everything but the environment and the credentials.
    pub fn new(
        environment_url: impl Into<String>,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            environment_url: environment_url.into(),
            authority: DEFAULT_AUTHORITY.into(),
            tenant: tenant.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            contact_phone_column: "mobilephone".into(),
            search_columns: DEFAULT_SEARCH_COLUMNS.map(str::to_owned).to_vec(),
            digits_column: None,
            fragment_search: true,
            contact_name_column: Some("lastname".into()),
            utm_columns: UtmColumns::default(),
            deal_stage_column: Some("stepname".into()),
            missed_call_state: MissedCallState::default(),
            app_url: None,
            app_id: None,
            card_url_template: None,
            id_namespace: None,
        }
    }
}

/// Contact columns searched by default: the three phone numbers the contact form shows
/// (`docs/vendor-contracts.md`, "Smart CRM: Microsoft Dataverse Web API and Entra ID", DV11).
pub const DEFAULT_SEARCH_COLUMNS: [&str; 3] = ["telephone1", "mobilephone", "telephone2"];

/// What stands for the contact's id in [`DataverseConfig::card_url_template`].
pub const CARD_URL_ID: &str = "{id}";

/// The Smart CRM (Dataverse) adapter.
pub struct Dataverse {
    config: DataverseConfig,
    /// `<environment>/api/data/v9.2`
    api: String,
    token_url: String,
    scope: String,
    app_url: String,
    policy: RetryPolicy,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
    keys: Keys,
}

impl fmt::Debug for Dataverse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataverse")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl Dataverse {
    pub fn new(config: DataverseConfig, policy: RetryPolicy) -> Result<Self, CrmError> {
        let policy = policy.for_service("dataverse");
        let environment = base_url(&config.environment_url, "environment URL")?;
        let authority = base_url(&config.authority, "authority")?;
        for (what, blank) in [
            ("tenant", config.tenant.trim().is_empty()),
            ("client id", config.client_id.trim().is_empty()),
            ("client secret", config.client_secret.is_blank()),
        ] {
            if blank {
                return Err(CrmError::Config(format!("Dataverse {what} is empty")));
            }
        }
        if !config
            .tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(CrmError::Config(
                "Dataverse tenant must be a directory id or domain".into(),
            ));
        }
        let utm = &config.utm_columns;
        let columns = [
            Some(&config.contact_phone_column),
            config.digits_column.as_ref(),
            config.contact_name_column.as_ref(),
            config.deal_stage_column.as_ref(),
            utm.source.as_ref(),
            utm.medium.as_ref(),
            utm.campaign.as_ref(),
            utm.term.as_ref(),
            utm.content.as_ref(),
        ];
        for column in columns.into_iter().flatten().chain(&config.search_columns) {
            if !is_column_name(column) {
                return Err(CrmError::Config(format!(
                    "{column:?} is not a Dataverse column logical name"
                )));
            }
        }
        if utm.max_chars == 0 {
            return Err(CrmError::Config(
                "Dataverse UTM values cannot be cut to 0 characters".into(),
            ));
        }
        if let Some(template) = &config.card_url_template {
            check_card_url_template(template)?;
        }
        let scope = match &config.scope {
            Some(scope) => scope.clone(),
            None => format!("{environment}/.default"),
        };
        let app_url = match &config.app_url {
            Some(url) => base_url(url, "app URL")?,
            None => environment.clone(),
        };
        let keys = Keys {
            namespace: config
                .id_namespace
                .unwrap_or_else(|| default_id_namespace(&environment)),
        };
        Ok(Self {
            keys,
            api: format!("{environment}{API_PATH}"),
            token_url: format!("{authority}/{}/oauth2/v2.0/token", config.tenant),
            scope,
            app_url,
            http: http::shared_client()?,
            policy,
            config,
            token: Mutex::new(None),
        })
    }

    /// The namespace of this deployment's deterministic ids.
    pub fn id_namespace(&self) -> Uuid {
        self.keys.namespace
    }

    /// The `contactid` a contact created for `phone` gets.
    pub fn contact_id_for(&self, phone: &PhoneNumber) -> String {
        self.keys.contact(phone).hyphenated().to_string()
    }

    /// The `annotationid` of the note written for the Ringostat call `call_id`.
    pub fn note_id_for(&self, call_id: &str) -> String {
        self.keys.note(call_id).hyphenated().to_string()
    }

    /// The `opportunityid` of the deal created for the contact; `None` when `contact_id` is no
    /// GUID.
    pub fn deal_id_for(&self, contact_id: &str) -> Option<String> {
        odata::parse_guid(contact_id).map(|guid| self.keys.deal(&guid).hyphenated().to_string())
    }

    /// The enabled user with this primary e-mail (`internalemailaddress`), for mapping
    /// Ringostat employees to CRM users. One request (plus the token on first use).
    pub async fn find_user_by_email(
        &self,
        email: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        let filter = format!(
            "internalemailaddress eq {} and isdisabled eq false",
            odata_string(email.trim())
        );
        let path = format!(
            "systemusers?$select=systemuserid,fullname&$filter={}&$top=2",
            encode_query_value(&filter)
        );
        let response = self.execute(&ApiRequest::get(path), deadline).await?;
        let body = success_json(response).await?;
        Ok(rows(&body).first().and_then(|user| {
            let id = user.get("systemuserid")?.as_str()?;
            Some(CrmUser {
                id: id.to_owned(),
                name: non_empty(user.get("fullname")),
            })
        }))
    }
}

#[async_trait]
impl Crm for Dataverse {
    fn kind(&self) -> CrmKind {
        CrmKind::Dataverse
    }

    /// The sign-in token (a round trip to Entra the first call would otherwise wait for) and
    /// the connection to the environment, at once.
    async fn prepare(&self, deadline: Deadline) {
        let token = async {
            if let Err(error) = self.token(deadline).await {
                tracing::debug!(%error, "no early token: the first request signs in");
            }
        };
        tokio::join!(token, http::preconnect(&self.http, &self.api, deadline));
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
        let owner_id = user_guid(owner)?;
        let body = json!({"ownerid@odata.bind": format!("/systemusers({owner_id})")});
        self.patch_record(Table::CONTACT, contact_id, &body, deadline)
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
        self.log_phonecall(activity, deadline).await
    }

    async fn add_note(&self, note: &NewNote, deadline: Deadline) -> Result<(), CrmError> {
        self.insert_note(note, deadline).await
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        self.insert_opportunity(contact, deal, deadline).await
    }

    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let owner_id = user_guid(owner)?;
        let body = json!({"ownerid@odata.bind": format!("/systemusers({owner_id})")});
        self.patch_record(Table::OPPORTUNITY, deal_id, &body, deadline)
            .await
    }

    async fn responsible_manager(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        self.owner_of_contact(contact_id, deadline).await
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        let id = utf8_percent_encode(contact_id, ID_PART);
        if let Some(template) = &self.config.card_url_template {
            return template.replace(CARD_URL_ID, &id.to_string());
        }
        match &self.config.app_id {
            Some(app) => format!(
                "{}/main.aspx?appid={}&etn=contact&id={id}&pagetype=entityrecord",
                self.app_url,
                utf8_percent_encode(app, ID_PART)
            ),
            None => format!(
                "{}/main.aspx?etn=contact&id={id}&pagetype=entityrecord",
                self.app_url
            ),
        }
    }
}

// --- configuration checks -------------------------------------------------------------------

/// `https://org.crm4.dynamics.com/` → `https://org.crm4.dynamics.com`.
fn base_url(raw: &str, what: &str) -> Result<String, CrmError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed)
        .map_err(|e| CrmError::Config(format!("Dataverse {what} {trimmed:?}: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(CrmError::Config(format!(
            "Dataverse {what} {trimmed:?} is not an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(CrmError::Config(format!(
            "Dataverse {what} {trimmed:?} must not have a query or fragment"
        )));
    }
    Ok(trimmed.to_owned())
}

/// A card link template must name the id and be an http(s) URL once it is filled in.
fn check_card_url_template(template: &str) -> Result<(), CrmError> {
    if !template.contains(CARD_URL_ID) {
        return Err(CrmError::Config(format!(
            "the card link template {template:?} has no `{CARD_URL_ID}` for the contact id"
        )));
    }
    let example = template.replace(CARD_URL_ID, "00000000-0000-0000-0000-000000000000");
    match reqwest::Url::parse(&example) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => Ok(()),
        _ => Err(CrmError::Config(format!(
            "the card link template {template:?} is not an http(s) URL"
        ))),
    }
}

/// A column's logical name: lower-case letters, digits and `_` (custom columns carry their
/// publisher's prefix, `cr1a2_mobile`).
fn is_column_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
