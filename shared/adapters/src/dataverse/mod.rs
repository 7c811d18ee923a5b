//! Smart CRM on Microsoft Dataverse: the Web API v9.2 with an Entra ID app-only token
//! (OAuth2 client credentials), as the reference `dataverse-api.md` describes it.
//!
//! Decisions, each explained where it is made:
//!
//! - **Token**: fetched lazily on the first request, cached until 5 minutes before it expires
//!   (half its lifetime for short-lived tokens), fetched again once when the API answers 401.
//!   Concurrent requests share one fetch (the cache is a mutex held across it).
//! - **Finding a contact**: one `GET /contacts` whose `$filter` compares `telephone1`,
//!   `mobilephone`, `telephone2` (and the configured phone column) `eq` the number in E.164
//!   (`+380501234567`), in international digits (`380501234567`) and, for Ukrainian numbers,
//!   nationally (`0501234567`); `+` travels as `%2B`, `'` is doubled. Every row is re-checked
//!   on the client after normalising the stored numbers. Numbers stored with separators
//!   (`+38 (050) 123-45-67`, `050-123-45-67`) are **not found**: `eq` cannot match them and
//!   `contains` on digits cannot span the separators. The bridge writes E.164 itself; clean
//!   legacy data or add a digits-only column for such tenants. The oldest match wins
//!   (`$orderby=createdon asc`) so a duplicated number always resolves to the same contact.
//! - **New contact**: the number goes into the phone column (default `mobilephone`) and into
//!   `lastname`. The API would accept a contact without a name, but `lastname` is
//!   ApplicationRequired, so the model-driven UI would refuse the next edit of a nameless
//!   contact; the number as its name is what the user sees anyway. `firstname` stays empty:
//!   this is the seed's "contact with the phone number and no name".
//! - **Call record**: a `phonecall` with a deterministic `activityid` (UUID v5 of the Ringostat
//!   call id in [`CALL_ID_NAMESPACE`]), so a retried POST cannot create a second record: the
//!   server answers 412 and the adapter reports `already_existed`. Parties are deep-inserted
//!   (From = mask 1, To = mask 2). `statecode` is ignored on create, so the call is closed by
//!   a PATCH afterwards: answered incoming → Completed/Received (1/4), answered outgoing →
//!   Completed/Made (1/2), missed → see [`MissedCallState`].
//! - **Errors**: a 400 about an unknown property or navigation property is a
//!   [`CrmError::Config`] (a column name in the configuration does not exist in the tenant).
//!
//! Nothing here logs a token, the client secret or an unmasked phone number.

pub mod env;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bridge_domain::deadline::Deadline;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{ACCEPT, CONTENT_TYPE, IF_MATCH};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use uuid::Uuid;

use crate::http::{self, Replay, RetryPolicy};
use bridge_domain::activity::{CallActivity, ContactRef, CrmUser, Party};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal};
use bridge_domain::ringostat::{CallStatus, Direction, Utm};
use bridge_domain::secret::Secret;

/// The Web API root under the environment URL.
pub const API_PATH: &str = "/api/data/v9.2";

/// Entra ID's public cloud.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Namespace of the UUID v5 `activityid`s: `activityid = v5(CALL_ID_NAMESPACE, call id bytes)`.
/// Never change it: the ids of calls already logged would no longer match their retries.
pub const CALL_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3c6f_2a4e_9b1d_4f70_8e25_6a7b_c1d0_e9f3);

/// Refresh the token this long before Entra says it expires (clock skew, long requests).
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Contact columns searched for a number (reference §3: the three the UI shows).
const PHONE_COLUMNS: [&str; 3] = ["telephone1", "mobilephone", "telephone2"];

/// Column lengths of the standard `phonecall` and `opportunity` tables (reference §6).
const SUBJECT_MAX_CHARS: usize = 200;
const DESCRIPTION_MAX_CHARS: usize = 2000;
const NOTE_TITLE_MAX_CHARS: usize = 500;
const DEAL_NAME_MAX_CHARS: usize = 300;

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
    pub utm_columns: UtmColumns,
    /// Text column of `opportunity` that receives [`NewDeal::stage`]; default `stepname`
    /// ("Pipeline Phase"). `None` ignores the stage. Option-set stages are not supported.
    pub deal_stage_column: Option<String>,
    pub missed_call_state: MissedCallState,
    /// Base of contact card links; `None`: the environment URL.
    pub app_url: Option<String>,
    /// Model-driven app id (`appid=`) of Smart CRM, so cards open inside its app.
    pub app_id: Option<String>,
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
            utm_columns: UtmColumns::default(),
            deal_stage_column: Some("stepname".into()),
            missed_call_state: MissedCallState::default(),
            app_url: None,
            app_id: None,
        }
    }
}

/// The `activityid` of the phone call logged for a Ringostat call.
pub fn activity_id(call_id: &str) -> Uuid {
    Uuid::new_v5(&CALL_ID_NAMESPACE, call_id.as_bytes())
}

/// An OData string literal: quoted, with `'` doubled.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Characters left as they are in a query value: unreserved ones and `(),`. Everything else
/// is escaped, `+` above all (a raw `+` reads as a space), and `'` too, which the URL parser
/// would escape anyway: what is built here is exactly what is sent.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'(')
    .remove(b')')
    .remove(b',');

/// Ids in card links: GUIDs pass unchanged, anything else cannot break out of its parameter.
const ID_PART: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-');

fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

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
}

impl fmt::Debug for Dataverse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataverse")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

struct CachedToken {
    secret: String,
    refresh_at: Instant,
}

/// A table the adapter updates: where its rows live and what an id of it is called.
#[derive(Debug, Clone, Copy)]
struct Table {
    entity_set: &'static str,
    logical_name: &'static str,
}

impl Table {
    const CONTACT: Self = Self {
        entity_set: "contacts",
        logical_name: "contact",
    };
    const OPPORTUNITY: Self = Self {
        entity_set: "opportunities",
        logical_name: "opportunity",
    };
}

/// One Web API request; rebuilt for every attempt.
struct ApiRequest {
    method: Method,
    /// Relative to the API root: `contacts(<id>)?$select=…`.
    path: String,
    body: Option<Vec<u8>>,
    prefer: Option<&'static str>,
    /// `If-Match: *`: update only, never create through PATCH's upsert.
    if_match_any: bool,
    replay: Replay,
}

impl ApiRequest {
    fn get(path: String) -> Self {
        Self {
            method: Method::GET,
            path,
            body: None,
            prefer: None,
            if_match_any: false,
            replay: Replay::Safe,
        }
    }

    fn post(path: String, body: &Value, replay: Replay) -> Self {
        Self {
            method: Method::POST,
            path,
            body: Some(body.to_string().into_bytes()),
            prefer: None,
            if_match_any: false,
            replay,
        }
    }

    /// An update of an existing record: repeating it writes the same values again.
    fn update(path: String, body: &Value) -> Self {
        Self {
            method: Method::PATCH,
            path,
            body: Some(body.to_string().into_bytes()),
            prefer: None,
            if_match_any: true,
            replay: Replay::Safe,
        }
    }

    fn prefer(mut self, prefer: &'static str) -> Self {
        self.prefer = Some(prefer);
        self
    }
}

impl Dataverse {
    pub fn new(config: DataverseConfig, policy: RetryPolicy) -> Result<Self, CrmError> {
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
            config.deal_stage_column.as_ref(),
            utm.source.as_ref(),
            utm.medium.as_ref(),
            utm.campaign.as_ref(),
            utm.term.as_ref(),
            utm.content.as_ref(),
        ];
        for column in columns.into_iter().flatten() {
            if !is_column_name(column) {
                return Err(CrmError::Config(format!(
                    "{column:?} is not a Dataverse column logical name"
                )));
            }
        }
        let scope = match &config.scope {
            Some(scope) => scope.clone(),
            None => format!("{environment}/.default"),
        };
        let app_url = match &config.app_url {
            Some(url) => base_url(url, "app URL")?,
            None => environment.clone(),
        };
        Ok(Self {
            api: format!("{environment}{API_PATH}"),
            token_url: format!("{authority}/{}/oauth2/v2.0/token", config.tenant),
            scope,
            app_url,
            http: http::client(&policy)?,
            policy,
            config,
            token: Mutex::new(None),
        })
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

    // --- HTTP ---------------------------------------------------------------------------------

    /// Sends with the cached token; on 401 fetches a new token once and sends again.
    async fn execute(
        &self,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<Response, CrmError> {
        let token = self.token(deadline).await?;
        let response = self.send(&token, request, deadline).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        // Revoked, or expired earlier than announced: one fresh token, one more try.
        tracing::debug!("Dataverse answered 401; fetching a new token");
        self.forget_token(&token).await;
        let token = self.token(deadline).await?;
        let response = self.send(&token, request, deadline).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(CrmError::Auth(
                "Dataverse refused a freshly issued token (401): is the application user set up \
                 in the environment?"
                    .into(),
            ));
        }
        Ok(response)
    }

    async fn send(
        &self,
        token: &str,
        request: &ApiRequest,
        deadline: Deadline,
    ) -> Result<Response, CrmError> {
        let url = format!("{}/{}", self.api, request.path);
        http::send(
            || {
                let mut builder = self
                    .http
                    .request(request.method.clone(), &url)
                    .bearer_auth(token)
                    .header(ACCEPT, "application/json")
                    .header("OData-MaxVersion", "4.0")
                    .header("OData-Version", "4.0");
                if let Some(prefer) = request.prefer {
                    builder = builder.header("Prefer", prefer);
                }
                if request.if_match_any {
                    builder = builder.header(IF_MATCH, "*");
                }
                if let Some(body) = &request.body {
                    builder = builder
                        .header(CONTENT_TYPE, "application/json; charset=utf-8")
                        .body(body.clone());
                }
                builder
            },
            request.replay,
            &self.policy,
            deadline,
        )
        .await
        .map_err(CrmError::from)
    }

    /// The cached token, or a new one when there is none or it is about to expire.
    async fn token(&self, deadline: Deadline) -> Result<String, CrmError> {
        // Held across the fetch: concurrent callers wait for one token instead of each
        // asking Entra for their own.
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.secret.clone());
        }
        let fresh = self.fetch_token(deadline).await?;
        let secret = fresh.secret.clone();
        *cached = Some(fresh);
        Ok(secret)
    }

    /// Drops the cached token if it is still the one that was refused.
    async fn forget_token(&self, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.secret == refused) {
            *cached = None;
        }
    }

    async fn fetch_token(&self, deadline: Deadline) -> Result<CachedToken, CrmError> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("client_secret", self.config.client_secret.expose())
            .append_pair("scope", &self.scope)
            .finish();
        // Asking for a token twice is harmless: Replay::Safe.
        let response = http::send(
            || {
                self.http
                    .post(&self.token_url)
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.clone())
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|_| CrmError::Transient("token response body could not be read".into()))?;
        if !status.is_success() {
            // Entra answers a wrong tenant, client, secret or scope with 400 or 401.
            return Err(CrmError::Auth(format!(
                "token request refused ({status}): {}",
                entra_message(&text)
            )));
        }
        let parsed: Value = serde_json::from_str(&text)
            .map_err(|_| CrmError::Auth("token response is not JSON".into()))?;
        let Some(secret) = parsed.get("access_token").and_then(Value::as_str) else {
            return Err(CrmError::Auth("token response has no access_token".into()));
        };
        // `expires_in` is a number from v2.0 and a string from the v1 endpoint.
        let lifetime = match parsed.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .map_or(Duration::from_secs(3599), Duration::from_secs);
        Ok(CachedToken {
            secret: secret.to_owned(),
            refresh_at: Instant::now() + token_reuse_period(lifetime),
        })
    }

    // --- phone calls ----------------------------------------------------------------------------

    /// The state/status the call ends in; `None` leaves it Open.
    fn final_state(&self, activity: &CallActivity) -> Option<(u8, u8)> {
        const RECEIVED: (u8, u8) = (1, 4);
        const MADE: (u8, u8) = (1, 2);
        const CANCELED: (u8, u8) = (2, 3);
        match (activity.status, activity.direction) {
            (CallStatus::Answered, Direction::Incoming) => Some(RECEIVED),
            (CallStatus::Answered, Direction::Outgoing) => Some(MADE),
            (CallStatus::Missed, direction) => match (self.config.missed_call_state, direction) {
                (MissedCallState::Canceled, _)
                | (MissedCallState::CallBack, Direction::Outgoing) => Some(CANCELED),
                (MissedCallState::Open, _) | (MissedCallState::CallBack, Direction::Incoming) => {
                    None
                }
            },
        }
    }

    fn phonecall_body(
        &self,
        activity: &CallActivity,
        id: &str,
        left_open: bool,
    ) -> Result<Value, CrmError> {
        let regarding = guid(&activity.regarding.id, "contact")?;
        let owner = user_guid(&activity.owner)?;
        let mut body = Map::new();
        body.insert("activityid".into(), json!(id));
        body.insert(
            "subject".into(),
            json!(truncate(&activity.subject, SUBJECT_MAX_CHARS)),
        );
        body.insert(
            "description".into(),
            json!(truncate(&activity.description, DESCRIPTION_MAX_CHARS)),
        );
        body.insert("phonenumber".into(), json!(activity.phone_number.e164()));
        // true = Outgoing (public code gets this backwards, reference §10.6).
        body.insert(
            "directioncode".into(),
            json!(activity.direction == Direction::Outgoing),
        );
        if let Some(start) = activity.started_at {
            body.insert("actualstart".into(), json!(start.to_string()));
        }
        if let Some(end) = activity.ended_at {
            body.insert("actualend".into(), json!(end.to_string()));
            // Due: for an open call-back to-do, it is overdue from the moment the call ended.
            body.insert("scheduledend".into(), json!(end.to_string()));
        }
        // Whole minutes, rounded up: a 10-second call still took the manager's minute. The
        // exact seconds are in the description.
        body.insert(
            "actualdurationminutes".into(),
            json!(activity.duration_secs.div_ceil(60)),
        );
        if left_open {
            body.insert("prioritycode".into(), json!(2));
        }
        body.insert(
            "regardingobjectid_contact_phonecall@odata.bind".into(),
            json!(format!("/contacts({regarding})")),
        );
        body.insert(
            "ownerid@odata.bind".into(),
            json!(format!("/systemusers({owner})")),
        );
        body.insert(
            "phonecall_activity_parties".into(),
            json!([party_json(&activity.from, 1)?, party_json(&activity.to, 2)?,]),
        );
        Ok(Value::Object(body))
    }

    /// The call's `statecode`, `None` when it does not exist.
    async fn phonecall_state(&self, id: &str, deadline: Deadline) -> Result<Option<i64>, CrmError> {
        let request = ApiRequest::get(format!("phonecalls({id})?$select=statecode"));
        let response = self.execute(&request, deadline).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = success_json(response).await?;
        Ok(body.get("statecode").and_then(Value::as_i64))
    }

    /// Completes or cancels the call. A call found closed already counts as done.
    async fn close_phonecall(
        &self,
        id: &str,
        (state, status): (u8, u8),
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let request = ApiRequest::update(
            format!("phonecalls({id})"),
            &json!({"statecode": state, "statuscode": status}),
        );
        let response = self.execute(&request, deadline).await?;
        if response.status().is_success() {
            return Ok(());
        }
        let refused = response.status() == StatusCode::BAD_REQUEST;
        let error = error_of(response).await;
        // Closed in the meantime (read-only error): another delivery finished the job.
        if refused && matches!(self.phonecall_state(id, deadline).await, Ok(Some(s)) if s != 0) {
            return Ok(());
        }
        Err(error)
    }

    fn contact_ref(&self, row: &Value) -> Option<ContactRef> {
        let id = row.get("contactid")?.as_str()?.to_owned();
        // A phone-only contact's name is its number: that is "no name" to the bridge.
        let name = non_empty(row.get("fullname")).filter(|n| PhoneNumber::parse(n).is_err());
        Some(ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            name,
            owner_id: non_empty(row.get("_ownerid_value")),
            id,
        })
    }

    /// Contact columns searched for a number: the standard three and the configured one.
    fn phone_columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = PHONE_COLUMNS.to_vec();
        if !columns.contains(&self.config.contact_phone_column.as_str()) {
            columns.push(&self.config.contact_phone_column);
        }
        columns
    }

    /// Updates an existing record of `table`; `If-Match: *` makes a missing one a 404
    /// (NotFound) instead of an upsert that would create it.
    async fn patch_record(
        &self,
        table: Table,
        record_id: &str,
        body: &Value,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let id = guid(record_id, table.logical_name)?;
        let request = ApiRequest::update(format!("{}({id})", table.entity_set), body);
        let response = self.execute(&request, deadline).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }
}

#[async_trait]
impl Crm for Dataverse {
    fn kind(&self) -> CrmKind {
        CrmKind::Dataverse
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        let columns = self.phone_columns();
        let variants = phone_notations(phone);
        let filter = columns
            .iter()
            .flat_map(|column| {
                variants
                    .iter()
                    .map(move |v| format!("{column} eq {}", odata_string(v)))
            })
            .collect::<Vec<_>>()
            .join(" or ");
        let path = format!(
            "contacts?$select=contactid,fullname,{},_ownerid_value&$filter={}&$orderby={}&$top=10",
            columns.join(","),
            encode_query_value(&filter),
            encode_query_value("createdon asc"),
        );
        let response = self.execute(&ApiRequest::get(path), deadline).await?;
        let body = success_json(response).await?;
        let rows = rows(&body);
        // The server compared text; make sure the number really is the same number.
        let found = rows.iter().find(|row| {
            columns.iter().any(|column| {
                row.get(*column)
                    .and_then(Value::as_str)
                    .and_then(|stored| PhoneNumber::parse(stored).ok())
                    .is_some_and(|stored| stored == *phone)
            })
        });
        tracing::debug!(
            phone = %phone.masked(),
            rows = rows.len(),
            found = found.is_some(),
            "Dataverse contact lookup"
        );
        Ok(found.and_then(|row| self.contact_ref(row)))
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        let owner_id = user_guid(owner)?;
        let mut body = Map::new();
        body.insert(
            self.config.contact_phone_column.clone(),
            json!(phone.e164()),
        );
        // ApplicationRequired: the UI demands it (see the module comment).
        body.insert("lastname".into(), json!(phone.e164()));
        body.insert(
            "ownerid@odata.bind".into(),
            json!(format!("/systemusers({owner_id})")),
        );
        // Not idempotent: the caller holds the per-number lock; never repeat after a 5xx.
        let request = ApiRequest::post(
            "contacts?$select=contactid,fullname,_ownerid_value".into(),
            &Value::Object(body),
            Replay::OnlyIfNotProcessed,
        )
        .prefer("return=representation");
        let response = self.execute(&request, deadline).await?;
        let id = created_id(response, "contactid").await?;
        tracing::debug!(phone = %phone.masked(), "Dataverse contact created");
        Ok(ContactRef {
            card_url: Some(self.contact_card_url(&id)),
            id,
            name: None,
            owner_id: Some(owner_id),
        })
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
        let columns = &self.config.utm_columns;
        let mut body = Map::new();
        for (column, value) in [
            (&columns.source, &utm.source),
            (&columns.medium, &utm.medium),
            (&columns.campaign, &utm.campaign),
            (&columns.term, &utm.term),
            (&columns.content, &utm.content),
        ] {
            if let (Some(column), Some(value)) = (column, value) {
                body.insert(column.clone(), json!(truncate(value, columns.max_chars)));
            }
        }
        if body.is_empty() {
            return Ok(());
        }
        self.patch_record(Table::CONTACT, contact_id, &Value::Object(body), deadline)
            .await
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        let id = activity_id(&activity.call_id).hyphenated().to_string();
        let final_state = self.final_state(activity);
        let body = self.phonecall_body(activity, &id, final_state.is_none())?;
        // The fixed activityid makes the POST idempotent: retry it like a read.
        let request = ApiRequest::post("phonecalls".into(), &body, Replay::Safe);
        let created = match self.execute(&request, deadline).await {
            Ok(response) if response.status().is_success() => true,
            // 412 0x80040237 "A record with matching key values already exists."
            Ok(response) if response.status() == StatusCode::PRECONDITION_FAILED => false,
            Ok(response) => return Err(error_of(response).await),
            // A duplicate can also come back as a 500 (reference §12.5), or an earlier attempt
            // may have been written before its answer got lost: look before giving up.
            Err(error) if error.is_transient() => match self.phonecall_state(&id, deadline).await {
                Ok(Some(_)) => false,
                _ => return Err(error),
            },
            Err(error) => return Err(error),
        };
        if let Some(state) = final_state {
            if created {
                self.close_phonecall(&id, state, deadline).await?;
            } else {
                // A retried delivery: close the call only if the earlier one did not get to it.
                match self.phonecall_state(&id, deadline).await? {
                    Some(0) => self.close_phonecall(&id, state, deadline).await?,
                    Some(_) => {}
                    None => {
                        return Err(CrmError::Rejected {
                            status: 412,
                            message: format!(
                                "Dataverse reported phone call {id} as existing, but it cannot be read"
                            ),
                        });
                    }
                }
            }
        }
        tracing::debug!(
            activity_id = %id,
            already_existed = !created,
            phone = %activity.phone_number.masked(),
            "Dataverse phone call logged"
        );
        Ok(LoggedCall {
            id: Some(id),
            already_existed: !created,
        })
    }

    async fn add_note(
        &self,
        contact_id: &str,
        title: &str,
        text: &str,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let contact = guid(contact_id, "contact")?;
        let body = json!({
            "subject": truncate(title, NOTE_TITLE_MAX_CHARS),
            "notetext": text,
            "objectid_contact@odata.bind": format!("/contacts({contact})"),
        });
        let request = ApiRequest::post("annotations".into(), &body, Replay::OnlyIfNotProcessed);
        let response = self.execute(&request, deadline).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_of(response).await)
        }
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        let contact_id = guid(&contact.id, "contact")?;
        let mut body = Map::new();
        body.insert(
            "name".into(),
            json!(truncate(&deal.name, DEAL_NAME_MAX_CHARS)),
        );
        body.insert(
            "customerid_contact@odata.bind".into(),
            json!(format!("/contacts({contact_id})")),
        );
        // The manager on the call; else whoever owns the client; else the application user.
        let owner = match &deal.owner {
            Some(owner) => Some(user_guid(owner)?),
            None => contact.owner_id.as_deref().and_then(parse_guid),
        };
        if let Some(owner) = owner {
            body.insert(
                "ownerid@odata.bind".into(),
                json!(format!("/systemusers({owner})")),
            );
        }
        if let (Some(column), Some(stage)) = (&self.config.deal_stage_column, &deal.stage) {
            body.insert(column.clone(), json!(stage));
        }
        let request = ApiRequest::post(
            "opportunities?$select=opportunityid".into(),
            &Value::Object(body),
            Replay::OnlyIfNotProcessed,
        )
        .prefer("return=representation");
        let response = self.execute(&request, deadline).await?;
        let id = created_id(response, "opportunityid").await?;
        Ok(DealRef { id })
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
        let id = guid(contact_id, "contact")?;
        // The owner's name comes as an annotation of the same response: one request, no
        // systemuser lookup.
        let request = ApiRequest::get(format!("contacts({id})?$select=_ownerid_value"))
            .prefer("odata.include-annotations=\"*\"");
        let response = self.execute(&request, deadline).await?;
        let body = success_json(response).await?;
        let Some(owner_id) = non_empty(body.get("_ownerid_value")) else {
            return Ok(None);
        };
        // A team owns the contact: no single manager to route the call to.
        let owner_type = body
            .get("_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
            .and_then(Value::as_str);
        if owner_type.is_some_and(|t| t != "systemuser") {
            return Ok(None);
        }
        Ok(Some(CrmUser {
            id: owner_id,
            name: non_empty(body.get("_ownerid_value@OData.Community.Display.V1.FormattedValue")),
        }))
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        let id = utf8_percent_encode(contact_id, ID_PART);
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

// --- helpers ------------------------------------------------------------------------------------

/// How long a token with `lifetime` is used before a new one is fetched.
fn token_reuse_period(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(TOKEN_REFRESH_MARGIN.min(lifetime / 2))
}

/// The notations a number is searched in: E.164, international digits, and the national form
/// with the trunk `0` for Ukrainian numbers (the bridge's default region).
fn phone_notations(phone: &PhoneNumber) -> Vec<String> {
    let mut notations = vec![phone.e164().to_owned(), phone.digits().to_owned()];
    if let Some(national) = phone.e164().strip_prefix("+380") {
        notations.push(format!("0{national}"));
    }
    notations
}

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

fn is_column_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn parse_guid(text: &str) -> Option<String> {
    let text = text.trim();
    (text.len() == 36)
        .then(|| Uuid::parse_str(text).ok())
        .flatten()
        .map(|id| id.hyphenated().to_string())
}

/// A record id from the caller: a GUID, or no record of Dataverse at all.
fn guid(id: &str, what: &str) -> Result<String, CrmError> {
    parse_guid(id)
        .ok_or_else(|| CrmError::NotFound(format!("{what} id {id:?} is not a Dataverse GUID")))
}

/// User ids come from the staff mapping: a bad one is configuration.
fn user_guid(user: &CrmUser) -> Result<String, CrmError> {
    parse_guid(&user.id).ok_or_else(|| {
        CrmError::Config(format!(
            "CRM user id {:?} is not a Dataverse systemuserid",
            user.id
        ))
    })
}

fn party_json(party: &Party, mask: u8) -> Result<Value, CrmError> {
    Ok(match party {
        Party::Contact(contact) => json!({
            "participationtypemask": mask,
            "partyid_contact@odata.bind": format!("/contacts({})", guid(&contact.id, "contact")?),
        }),
        Party::User(user) => json!({
            "participationtypemask": mask,
            "partyid_systemuser@odata.bind": format!("/systemusers({})", user_guid(user)?),
        }),
    })
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn non_empty(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn rows(body: &Value) -> &[Value] {
    body.get("value")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Entra's `error: AADSTS…: message`, without the trace ids that follow.
fn entra_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str);
    let description = parsed
        .as_ref()
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str)
        .map(|d| {
            d.split(" Trace ID:")
                .next()
                .unwrap_or(d)
                .lines()
                .next()
                .unwrap_or(d)
        });
    match (error, description) {
        (Some(error), Some(description)) => format!("{error}: {description}"),
        (Some(error), None) => error.to_owned(),
        _ => http::crm_message(body),
    }
}

/// A non-success response as a typed error. A 400 naming a property or navigation property
/// that does not exist is a configuration problem (a column name that is not in the tenant).
async fn error_of(response: Response) -> CrmError {
    match http::error_from(response).await {
        CrmError::Rejected {
            status: 400,
            message,
        } if is_schema_message(&message) => CrmError::Config(message),
        other => other,
    }
}

fn is_schema_message(message: &str) -> bool {
    [
        "Invalid property",
        "undeclared property",
        "Could not find a property",
    ]
    .iter()
    .any(|marker| message.contains(marker))
}

async fn success_json(response: Response) -> Result<Value, CrmError> {
    if !response.status().is_success() {
        return Err(error_of(response).await);
    }
    let text = response
        .text()
        .await
        .map_err(|_| CrmError::Transient("Dataverse response body could not be read".into()))?;
    serde_json::from_str(&text).map_err(|_| CrmError::Rejected {
        status: 200,
        message: "Dataverse answered with something that is not JSON".into(),
    })
}

/// The id of a created record: from the representation (201), or from the `OData-EntityId`
/// header when the server ignored `Prefer: return=representation` (204).
async fn created_id(response: Response, key: &str) -> Result<String, CrmError> {
    if response.status() == StatusCode::NO_CONTENT {
        let from_header = response
            .headers()
            .get("OData-EntityId")
            .and_then(|v| v.to_str().ok())
            .and_then(|url| url.rsplit_once('(')?.1.strip_suffix(')'))
            .and_then(parse_guid);
        return from_header.ok_or_else(|| CrmError::Rejected {
            status: 204,
            message: "Dataverse created a record without saying its id".into(),
        });
    }
    let body = success_json(response).await?;
    body.get(key)
        .and_then(Value::as_str)
        .and_then(parse_guid)
        .ok_or_else(|| CrmError::Rejected {
            status: 201,
            message: format!("Dataverse created a record without a {key}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DataverseConfig {
        DataverseConfig::new(
            "https://org.crm4.dynamics.com/",
            "contoso.onmicrosoft.com",
            "app",
            "s3cret",
        )
    }

    #[test]
    fn activity_ids_are_uuid_v5_of_the_call_id() {
        let first = activity_id("1712316600.1234");
        assert_eq!(first, activity_id("1712316600.1234"));
        assert_ne!(first, activity_id("1712316600.1235"));
        assert_eq!(first.get_version_num(), 5);
        // Pinned: changing the namespace would break the idempotency of logged calls.
        assert_eq!(
            activity_id("1712316600.1234"),
            Uuid::new_v5(&CALL_ID_NAMESPACE, b"1712316600.1234")
        );
        assert_eq!(
            CALL_ID_NAMESPACE.hyphenated().to_string(),
            "3c6f2a4e-9b1d-4f70-8e25-6a7bc1d0e9f3"
        );
    }

    #[test]
    fn filter_values_escape_plus_and_double_quotes() {
        assert_eq!(odata_string("o'brien@x.com"), "'o''brien@x.com'");
        assert_eq!(
            encode_query_value("telephone1 eq '+380501234567'"),
            "telephone1%20eq%20%27%2B380501234567%27"
        );
        assert_eq!(encode_query_value("a&b=c#d"), "a%26b%3Dc%23d");
    }

    #[test]
    fn tokens_are_reused_until_five_minutes_before_expiry() {
        assert_eq!(
            token_reuse_period(Duration::from_secs(3599)),
            Duration::from_secs(3299)
        );
        // Short-lived tokens: half their life.
        assert_eq!(
            token_reuse_period(Duration::from_secs(120)),
            Duration::from_secs(60)
        );
        assert_eq!(token_reuse_period(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn ukrainian_numbers_are_searched_in_three_notations() {
        let phone = PhoneNumber::parse("0501234567").expect("valid");
        assert_eq!(
            phone_notations(&phone),
            ["+380501234567", "380501234567", "0501234567"]
        );
        let polish = PhoneNumber::parse("+48221234567").expect("valid");
        assert_eq!(phone_notations(&polish), ["+48221234567", "48221234567"]);
    }

    #[test]
    fn configuration_is_checked_and_the_secret_never_printed() {
        let adapter = Dataverse::new(config(), RetryPolicy::default()).expect("valid");
        assert_eq!(adapter.api, "https://org.crm4.dynamics.com/api/data/v9.2");
        assert_eq!(adapter.scope, "https://org.crm4.dynamics.com/.default");
        assert_eq!(
            adapter.token_url,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(!format!("{:?}", config()).contains("s3cret"));

        let mut bad = config();
        bad.utm_columns.source = Some("New UTM".into());
        assert!(matches!(
            Dataverse::new(bad, RetryPolicy::default()),
            Err(CrmError::Config(_))
        ));
        let mut bad = config();
        bad.environment_url = "org.crm4.dynamics.com".into();
        assert!(matches!(
            Dataverse::new(bad, RetryPolicy::default()),
            Err(CrmError::Config(_))
        ));
        let mut bad = config();
        bad.client_secret = " ".into();
        assert!(matches!(
            Dataverse::new(bad, RetryPolicy::default()),
            Err(CrmError::Config(_))
        ));
    }

    #[test]
    fn card_links_open_the_contact_form() {
        let mut with_app = config();
        with_app.app_id = Some("7e1f0c7a-0000-4000-8000-000000000001".into());
        let id = "3f0e6c1a-1111-4222-8333-944455556666";
        assert_eq!(
            Dataverse::new(config(), RetryPolicy::default())
                .expect("valid")
                .contact_card_url(id),
            format!(
                "https://org.crm4.dynamics.com/main.aspx?etn=contact&id={id}&pagetype=entityrecord"
            )
        );
        assert_eq!(
            Dataverse::new(with_app, RetryPolicy::default())
                .expect("valid")
                .contact_card_url(id),
            format!(
                "https://org.crm4.dynamics.com/main.aspx?appid=7e1f0c7a-0000-4000-8000-000000000001&etn=contact&id={id}&pagetype=entityrecord"
            )
        );
    }

    #[test]
    fn long_texts_are_cut_to_the_column_length() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("тривалість", 5).chars().count(), 5);
    }

    #[test]
    fn entra_errors_keep_the_code_and_drop_the_trace() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2","error_codes":[7000215]}"#;
        assert_eq!(
            entra_message(body),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
    }
}
