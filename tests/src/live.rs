//! Where a contract test runs: the sandbox, always; and a real NetHunt workspace, Dataverse
//! environment or Ringostat project when its credentials are in the environment
//! (`LIVE_NETHUNT_*`, `LIVE_DATAVERSE_*`, `LIVE_RINGOSTAT_*`; the guides, "Live contract
//! suite"). Without them the live target is skipped with a printed line, so the test command
//! stays green offline.
//!
//! A test is written once over a [`Target`]: raw requests to the vendor's API (what the
//! inferred behaviours of docs/vendor-contracts.md §6 are about) through [`Target::get`] and
//! [`Target::send`], the adapter through [`Target::adapter`]. Live runs write only test
//! records (the reserved test numbers, texts holding [`MARKER`]); each is registered with
//! [`Target::created`] and removed at the end ([`Target::clean_up`]) where the API can delete
//! it. What it cannot remove is printed, with how to find it.

use std::sync::Mutex;

use bridge_core::adapters::test_records::{Removal, TestRecord, TestRecords};
use bridge_core::adapters::{Dataverse, DataverseConfig, NetHunt, NetHuntConfig};
use bridge_core::ringostat::{RingostatApi, RingostatApiConfig};
use bridge_core::{CrmUser, Deadline};
use crm_sandbox::Sandbox;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use crate::dataverse_env::{dataverse_config_for, dataverse_retry_policy};
use crate::nethunt_env::{fast_retry_policy, nethunt_config_for};
use crate::ringostat_env::ringostat_config_for;

/// What marks every text a live test writes.
pub const MARKER: &str = "[bridge live test]";
/// Reserved test numbers: Kyiv landlines whose local part starts with the trunk prefix 0, so
/// no subscriber has them (as `bridge-ops smoke`'s).
pub const TEST_NUMBERS: [&str; 2] = ["+380440000002", "+380440000003"];

/// A test number of the same reserved block for this run alone (`+380440` and six digits of
/// the clock), for tests that must not meet an earlier run's records.
pub fn run_number() -> String {
    // Tests of one run may ask in the same millisecond: a counter sets them apart.
    static ASKED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let asked = ASKED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    format!("+380440{:06}", (millis + asked * 100_003) % 1_000_000)
}

/// A service under test: the sandbox or the live one.
pub struct Target<A> {
    /// `sandbox` or `live`, for messages.
    pub label: &'static str,
    pub adapter: A,
    /// The sandbox, when this is it (for the few checks only the sandbox can show).
    pub sandbox: Option<Sandbox>,
    base: String,
    auth: Auth,
    created: Mutex<Vec<TestRecord>>,
    /// The CRM user the adapter tests make owner: NetHunt's API user; Dataverse's
    /// `LIVE_DATAVERSE_SYSTEM_USER_ID` (`None` without it: those tests skip the live target).
    pub owner: Option<CrmUser>,
    /// NetHunt: the Contacts folder id (empty for the other services).
    pub folder: String,
    /// NetHunt: the workspace's phone and name field names (empty for the other services).
    pub fields: (String, String),
    http: reqwest::Client,
}

enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
    Header(&'static str, String, Option<String>),
}

impl<A> Target<A> {
    pub fn is_live(&self) -> bool {
        self.sandbox.is_none()
    }

    /// A request to `path` (below the API root) with the service's credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::Basic { user, password } => builder.basic_auth(user, Some(password)),
            Auth::Bearer(token) => builder
                .bearer_auth(token)
                .header("accept", "application/json")
                .header("odata-maxversion", "4.0")
                .header("odata-version", "4.0"),
            Auth::Header(name, key, project) => {
                let builder = builder.header(*name, key);
                match project {
                    Some(project) => builder.header("x-project-id", project),
                    None => builder,
                }
            }
        }
    }

    /// `GET path`: the status and the body (JSON, or the text as a JSON string).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        answer(self.request(Method::GET, path)).await
    }

    /// `method path` with a JSON body.
    pub async fn send(&self, method: Method, path: &str, body: &Value) -> (u16, Value) {
        answer(self.request(method, path).json(body)).await
    }

    /// Sends a request made with [`Target::request`]: the status and the body.
    pub async fn answer(&self, request: RequestBuilder) -> (u16, Value) {
        answer(request).await
    }

    /// Registers a record this test wrote, for [`Target::clean_up`].
    pub fn created(&self, record: TestRecord) {
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }
}

impl<A: TestRecords> Target<A> {
    /// Removes what the test registered (newest first); prints what could not be removed,
    /// with how to find it. Returns what is left.
    pub async fn clean_up(&self) -> Vec<String> {
        let records: Vec<TestRecord> =
            std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        let mut left = Vec::new();
        for record in records.into_iter().rev() {
            let removal = self
                .adapter
                .remove(&record, Deadline::after(std::time::Duration::from_secs(30)))
                .await;
            match removal {
                Removal::Removed | Removal::AlreadyGone => {}
                Removal::Impossible(why) => left.push(format!("{}: {why}", record.describe())),
                Removal::Failed(error) => {
                    left.push(format!("{}: removal failed: {error}", record.describe()));
                }
            }
        }
        if self.is_live() && !left.is_empty() {
            eprintln!(
                "live test records left (numbers {TEST_NUMBERS:?}, marker \"{MARKER}\"):\n  {}",
                left.join("\n  ")
            );
        }
        left
    }
}

async fn answer(builder: RequestBuilder) -> (u16, Value) {
    match builder.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            (status, body)
        }
        Err(error) => panic!("the request failed: {error}"),
    }
}

/// The variables, all set and non-empty; `None` (and a printed line saying what to set)
/// otherwise.
fn live_variables<const N: usize>(service: &str, names: [&str; N]) -> Option<[String; N]> {
    let values = names.map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
    if values.iter().all(Option::is_some) {
        return Some(values.map(Option::unwrap_or_default));
    }
    eprintln!(
        "live {service}: skipped (set {} to run this test against a real account too; \
         docs/ringostat-setup.en.md, \"Live contract suite\")",
        names.join(", ")
    );
    None
}

fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// The sandbox's NetHunt, and a live workspace when `LIVE_NETHUNT_EMAIL`,
/// `LIVE_NETHUNT_API_KEY` and `LIVE_NETHUNT_CONTACTS_FOLDER_ID` are set (optional:
/// `LIVE_NETHUNT_DEALS_FOLDER_ID`, `LIVE_NETHUNT_FIELD_PHONE`, `LIVE_NETHUNT_FIELD_NAME`,
/// `LIVE_NETHUNT_BASE_URL`).
pub async fn nethunt_targets() -> Vec<Target<NetHunt>> {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let config = nethunt_config_for(&sandbox);
    let mut targets = vec![nethunt_target("sandbox", config, Some(sandbox))];
    if let Some([email, key, folder]) = live_variables(
        "NetHunt",
        [
            "LIVE_NETHUNT_EMAIL",
            "LIVE_NETHUNT_API_KEY",
            "LIVE_NETHUNT_CONTACTS_FOLDER_ID",
        ],
    ) {
        let mut config = NetHuntConfig::new(email, key, folder);
        config.deals_folder_id = optional("LIVE_NETHUNT_DEALS_FOLDER_ID");
        if let Some(phone) = optional("LIVE_NETHUNT_FIELD_PHONE") {
            config.fields.phone = phone;
        }
        if let Some(name) = optional("LIVE_NETHUNT_FIELD_NAME") {
            config.fields.contact_name = name;
        }
        if let Some(base) = optional("LIVE_NETHUNT_BASE_URL") {
            config.base_url = base;
        }
        targets.push(nethunt_target("live", config, None));
    }
    targets
}

fn nethunt_target(
    label: &'static str,
    config: NetHuntConfig,
    sandbox: Option<Sandbox>,
) -> Target<NetHunt> {
    Target {
        label,
        base: config.base_url.trim_end_matches('/').to_owned(),
        auth: Auth::Basic {
            user: config.email.clone(),
            password: config.api_key.expose().to_owned(),
        },
        owner: Some(CrmUser {
            id: config.email.clone(),
            name: None,
        }),
        folder: config.contacts_folder_id.clone(),
        fields: (
            config.fields.phone.clone(),
            config.fields.contact_name.clone(),
        ),
        adapter: NetHunt::new(config, fast_retry_policy()).expect("a valid NetHunt config"),
        sandbox,
        created: Mutex::new(Vec::new()),
        http: client(),
    }
}

/// The sandbox's Dataverse, and a live environment when `LIVE_DATAVERSE_URL`,
/// `LIVE_DATAVERSE_TENANT_ID`, `LIVE_DATAVERSE_CLIENT_ID` and `LIVE_DATAVERSE_CLIENT_SECRET`
/// are set (optional: `LIVE_DATAVERSE_AUTHORITY`, Entra's by default;
/// `LIVE_DATAVERSE_SYSTEM_USER_ID`, the `systemuserid` the adapter tests make owner).
pub async fn dataverse_targets() -> Vec<Target<Dataverse>> {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let config = dataverse_config_for(&sandbox);
    let owner = crm_sandbox::dataverse::SYSTEM_USER_ID.to_owned();
    let mut targets = vec![dataverse_target("sandbox", config, Some(sandbox), Some(owner)).await];
    if let Some([url, tenant, client_id, secret]) = live_variables(
        "Dataverse",
        [
            "LIVE_DATAVERSE_URL",
            "LIVE_DATAVERSE_TENANT_ID",
            "LIVE_DATAVERSE_CLIENT_ID",
            "LIVE_DATAVERSE_CLIENT_SECRET",
        ],
    ) {
        let mut config = DataverseConfig::new(url, tenant, client_id, secret);
        if let Some(authority) = optional("LIVE_DATAVERSE_AUTHORITY") {
            config.authority = authority;
        }
        let owner = optional("LIVE_DATAVERSE_SYSTEM_USER_ID");
        targets.push(dataverse_target("live", config, None, owner).await);
    }
    targets
}

async fn dataverse_target(
    label: &'static str,
    config: DataverseConfig,
    sandbox: Option<Sandbox>,
    owner: Option<String>,
) -> Target<Dataverse> {
    let http = client();
    let environment = config.environment_url.trim_end_matches('/').to_owned();
    // A token of its own for the raw requests (client credentials, DV1).
    let (status, token) = answer(
        http.post(format!(
            "{}/{}/oauth2/v2.0/token",
            config.authority.trim_end_matches('/'),
            config.tenant
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "client_credentials"),
                    ("client_id", config.client_id.as_str()),
                    ("client_secret", config.client_secret.expose()),
                    ("scope", &format!("{environment}/.default")),
                ])
                .finish(),
        ),
    )
    .await;
    assert_eq!(status, 200, "{label} Dataverse token: {token}");
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Target {
        label,
        base: format!(
            "{environment}{}",
            bridge_core::adapters::dataverse::API_PATH
        ),
        auth: Auth::Bearer(token),
        owner: owner.map(|id| CrmUser { id, name: None }),
        folder: String::new(),
        fields: (String::new(), String::new()),
        adapter: Dataverse::new(config, dataverse_retry_policy()).expect("a valid config"),
        sandbox,
        created: Mutex::new(Vec::new()),
        http,
    }
}

/// The sandbox's Ringostat, and a live project when `LIVE_RINGOSTAT_AUTH_KEY` and
/// `LIVE_RINGOSTAT_PROJECT_ID` are set (optional: `LIVE_RINGOSTAT_API_URL`).
pub async fn ringostat_targets() -> Vec<Target<RingostatApi>> {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let config = ringostat_config_for(&sandbox);
    let mut targets = vec![ringostat_target("sandbox", config, Some(sandbox))];
    if let Some([key, project]) = live_variables(
        "Ringostat",
        ["LIVE_RINGOSTAT_AUTH_KEY", "LIVE_RINGOSTAT_PROJECT_ID"],
    ) {
        let mut config = RingostatApiConfig::new(key, Some(project), "NetHunt CRM");
        if let Some(base) = optional("LIVE_RINGOSTAT_API_URL") {
            config.base_url = base;
        }
        targets.push(ringostat_target("live", config, None));
    }
    targets
}

fn ringostat_target(
    label: &'static str,
    config: RingostatApiConfig,
    sandbox: Option<Sandbox>,
) -> Target<RingostatApi> {
    Target {
        label,
        base: config.base_url.trim_end_matches('/').to_owned(),
        auth: Auth::Header(
            "auth-key",
            config.auth_key.expose().to_owned(),
            config.project_id.clone(),
        ),
        owner: None,
        folder: String::new(),
        fields: (String::new(), String::new()),
        adapter: RingostatApi::new(config, fast_retry_policy()).expect("a valid config"),
        sandbox,
        created: Mutex::new(Vec::new()),
        http: client(),
    }
}
