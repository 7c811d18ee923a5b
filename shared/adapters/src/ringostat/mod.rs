//! Ringostat's own API, called by the bridge (the domain's Ringostat ports): click-to-call,
//! Smart Phone contact sync and the call log. What the client assumes of the API, and where
//! each fact comes from: `docs/vendor-contracts.md`, "Ringostat API (outgoing calls from the
//! bridge)" (RA1–RA19).
//!
//! - **Contact sync** (`POST /minicrm/contacts/sync`) is an upsert keyed by `externalId`, so it
//!   is retried on any transient failure.
//! - **Click-to-call** (`POST /callback/outward_call`) rings a phone: it is retried only when
//!   Ringostat cannot have acted on it (connection refused, 429), never after a timeout or a
//!   5xx, which could ring the client twice.
//! - **Errors with HTTP 200**: Ringostat answers some failures JSON-RPC style, with a 2xx
//!   status and an `error` key (RA8). Such answers become [`RingostatApiError::Rejected`]
//!   carrying Ringostat's message.
//!
//! - **Call-log export** (`GET /calls/list`, RA2–RA7) is a read, so retried on any
//!   transient failure. Ringostat serves at most 6 500 calls per request;
//!   [`RingostatApi::calls_in_slices`] halves a window that hits the limit until every slice fits.
//!
//! Error messages keep Ringostat's text but mask long digit runs (a destination number echoed
//! back would otherwise reach the logs). The auth key never leaves [`Secret`].
//!
//! Files: `calls` (the call-log export and its slicing), `sync` (Smart Phone contacts),
//! `dialer` (click-to-call), `errors` (what an answer means, Ringostat's error text).

mod calls;
mod dialer;
mod errors;
mod sync;
#[cfg(test)]
mod tests;

pub use calls::{CALLS_PER_REQUEST, EXPORT_FIELDS};

use bridge_domain::deadline::Deadline;
use reqwest::Client;
use reqwest::header::HeaderValue;

use crate::http::{self, RetryPolicy};
pub use bridge_domain::ports::ringostat::{
    CallRow, CallWindow, Dialer, RingostatApiError, RingostatCallLog, SmartPhoneContact,
    SmartPhoneDirectory,
};
use bridge_domain::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.ringostat.net";

/// Where and as whom the bridge calls Ringostat.
#[derive(Debug, Clone)]
pub struct RingostatApiConfig {
    pub base_url: String,
    pub auth_key: Secret,
    /// The Ringostat project id; contact sync needs it (`projectId`, `x-project-id`).
    pub project_id: Option<String>,
    /// `origin` of synced contacts, e.g. "NetHunt CRM" or "Smart CRM"
    pub origin: String,
}

impl RingostatApiConfig {
    pub fn new(
        auth_key: impl Into<Secret>,
        project_id: Option<String>,
        origin: impl Into<String>,
    ) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            auth_key: auth_key.into(),
            project_id,
            origin: origin.into(),
        }
    }
}

/// Ringostat's API client. Cheap to clone (the HTTP client is shared).
#[derive(Clone)]
pub struct RingostatApi {
    client: Client,
    config: RingostatApiConfig,
    policy: RetryPolicy,
    /// Calls per `calls/list` answer at which the answer counts as truncated.
    calls_limit: usize,
}

impl std::fmt::Debug for RingostatApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is left out altogether, not only redacted.
        f.debug_struct("RingostatApi")
            .field("base_url", &self.config.base_url)
            .field("project_id", &self.config.project_id)
            .field("origin", &self.config.origin)
            .field("calls_limit", &self.calls_limit)
            .finish_non_exhaustive()
    }
}

impl RingostatApi {
    /// The connection to Ringostat's API, opened while the function starts (best effort).
    pub async fn prepare(&self, deadline: Deadline) {
        crate::http::preconnect(&self.client, &self.config.base_url, deadline).await;
    }

    pub fn new(config: RingostatApiConfig, policy: RetryPolicy) -> Result<Self, RingostatApiError> {
        let policy = policy.for_service("ringostat");
        let mut config = config;
        config.base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        if !(config.base_url.starts_with("https://") || config.base_url.starts_with("http://")) {
            return Err(RingostatApiError::Config(
                "base URL must start with https:// or http://".into(),
            ));
        }
        if config.auth_key.is_blank() {
            return Err(RingostatApiError::Config("auth key is empty".into()));
        }
        // Header values are checked once here so a request never fails on them later.
        if HeaderValue::from_str(config.auth_key.expose()).is_err() {
            return Err(RingostatApiError::Config(
                "auth key has characters not allowed in an HTTP header".into(),
            ));
        }
        if let Some(project) = &config.project_id {
            let project = project.trim();
            if project.is_empty() || HeaderValue::from_str(project).is_err() {
                return Err(RingostatApiError::Config(
                    "project id is empty or not a valid header value".into(),
                ));
            }
        }
        let client = http::shared_client()?;
        Ok(Self {
            client,
            config,
            policy,
            calls_limit: CALLS_PER_REQUEST,
        })
    }

    /// Sets the number of calls at which a `calls/list` answer counts as truncated (default
    /// [`CALLS_PER_REQUEST`]); for tests against a fake with a small limit. At least 1.
    pub fn with_calls_limit(mut self, limit: usize) -> Self {
        self.calls_limit = limit.max(1);
        self
    }

    /// The number of calls at which a `calls/list` answer counts as truncated.
    pub fn calls_limit(&self) -> usize {
        self.calls_limit
    }
}

// The ports, over the inherent methods of `calls`, `sync` and `dialer` (inherent methods win
// the name lookup).
#[async_trait::async_trait]
impl RingostatCallLog for RingostatApi {
    async fn calls_in_slices(
        &self,
        window: CallWindow,
        deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        RingostatApi::calls_in_slices(self, window, deadline).await
    }
}

#[async_trait::async_trait]
impl SmartPhoneDirectory for RingostatApi {
    async fn sync_contact(
        &self,
        contact: &SmartPhoneContact,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        RingostatApi::sync_contact(self, contact, deadline).await
    }
}

#[async_trait::async_trait]
impl Dialer for RingostatApi {
    async fn outward_call(
        &self,
        extension: &str,
        destination: &str,
        deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        RingostatApi::outward_call(self, extension, destination, deadline).await
    }
}
