//! CRM sandbox: one HTTP server that speaks the NetHunt Integration API and the Dataverse Web
//! API (with its OAuth2 token endpoint) as `docs/vendor-contracts.md` describes them, quirks
//! included, so that an adapter passing against it has a real chance against the real service.
//!
//! - NetHunt under `/api/v1/zapier/...` ([`nethunt`]).
//! - Dataverse under `/api/data/v9.2/...` and the token endpoint `/{tenant}/oauth2/v2.0/token`
//!   ([`dataverse`]).
//! - Control routes under `/_sandbox/...`: the request log, fault injection, switches.
//! - `/`: a read-only HTML page with what the CRM of the run holds, one card per contact with
//!   its timeline ([`PageSettings`]: the run's CRM and time zone); `/raw`: every table as stored.
//!
//! Tests start it with [`Sandbox::start`] on an ephemeral loopback port; `crm-sandbox` runs it
//! as a binary for local use.
//!
//! Faults ([`Fault`], [`Sandbox::inject`], [`Sandbox::inject_matching`], `POST
//! /_sandbox/faults`) answer CRM requests instead of the real answer: before the request is
//! served (throttling, 5xx), or after it was served for real, so that the write lands and the
//! client still sees a failure ([`Fault::AfterWrite`]) or no answer at all
//! ([`Fault::AfterWriteReset`]): the ambiguous outcomes an exactly-once writer must survive.

/// The axum the sandbox is built on, for test helpers that run their own loopback servers
/// with [`conn::serve`] (one copy of the HTTP stack in the workspace).
pub use axum;

pub mod conn;
pub mod dataverse;
pub mod nethunt;
pub(crate) mod page;
pub mod ringostat;

pub use page::{DEFAULT_TIME_ZONE, PageSettings, RunCrm, UnknownCrm, UnknownTimeZone};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

/// Credentials the sandbox accepts (the defaults of the bridge's local configuration).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub nethunt_email: String,
    pub nethunt_api_key: String,
    pub dataverse_tenant: String,
    pub dataverse_client_id: String,
    pub dataverse_client_secret: String,
    /// Ringostat's `auth-key` / `Auth-key` header value.
    pub ringostat_auth_key: String,
    /// The Ringostat project the key belongs to (`projectId`, `x-project-id`).
    pub ringostat_project_id: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self {
            nethunt_email: "bridge@example.com".into(),
            nethunt_api_key: "sandbox-nethunt-key".into(),
            dataverse_tenant: "sandbox-tenant".into(),
            dataverse_client_id: "sandbox-client".into(),
            dataverse_client_secret: "sandbox-secret".into(),
            ringostat_auth_key: "sandbox-ringostat-key".into(),
            ringostat_project_id: "12345".into(),
        }
    }
}

/// One request the sandbox received, for tests that count CRM calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string, percent-encoding kept.
    pub query: Option<String>,
    /// The status the client got; 0 when the connection was dropped without an answer
    /// ([`Fault::AfterWriteReset`]).
    pub status: u16,
}

/// A failure to answer instead of the real response. In JSON (`POST /_sandbox/faults`):
/// `{"kind":"throttle","retry_after_secs":2}`, `{"kind":"server_error","status":503}`,
/// `{"kind":"after_write","status":502}`, `{"kind":"after_write_reset"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// 429 with `Retry-After: <retry_after_secs>`; the request is not served.
    Throttle { retry_after_secs: u64 },
    /// A 5xx status (500, 502, 503, 504); the request is not served.
    ServerError { status: u16 },
    /// The request is served for real (a write lands in the sandbox's state), then `status`
    /// (e.g. 502, 504) with an error body is answered instead of the real answer: a gateway
    /// that timed out after the backend did the work.
    AfterWrite { status: u16 },
    /// The request is served for real, then the connection is dropped without a response
    /// (RST): the client sees a connection error, not a status. Logged with status 0. Needs
    /// the sandbox's own server ([`Sandbox::start`], [`conn::serve`]); under another server
    /// it degrades to [`Fault::AfterWrite`] with 502.
    AfterWriteReset,
    /// `status` with an error text that quotes the request (method, path and query, as some
    /// servers do): what the bridge logs of it must still hold no number and no credential.
    Echo { status: u16 },
}

/// Which CRM requests a fault applies to. Every condition given must hold; an empty filter
/// matches every request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFilter {
    /// The HTTP method (`POST`), compared without case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A substring of the path (without the query): `create-call-log`,
    /// `/api/data/v9.2/annotations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
}

impl RequestFilter {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests whose path contains `fragment`, whatever the method.
    pub fn path_contains(fragment: &str) -> Self {
        Self {
            method: None,
            path_contains: Some(fragment.to_owned()),
        }
    }

    /// Requests with this method whose path contains `fragment`:
    /// `RequestFilter::method_path("POST", "/api/data/v9.2/annotations")`.
    pub fn method_path(method: &str, fragment: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_contains: Some(fragment.to_owned()),
        }
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.trim().eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|fragment| path.contains(fragment))
    }
}

/// A fault waiting for the next request its filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedFault {
    pub fault: Fault,
    pub filter: RequestFilter,
}

/// Everything the sandbox holds. Handlers lock it briefly.
#[derive(Debug, Default)]
pub struct SandboxState {
    pub nethunt: nethunt::NetHuntState,
    pub dataverse: dataverse::DataverseState,
    /// Ringostat's API and the fake Parameters and Secrets extension.
    pub ringostat: ringostat::RingostatState,
    pub requests: Vec<LoggedRequest>,
    /// Faults waiting for requests, oldest first (control routes excluded). Each request takes
    /// the oldest fault whose filter matches it, if any; requests no fault matches are served
    /// normally and leave the queue as it is.
    pub faults: VecDeque<QueuedFault>,
    /// The run's CRM and time zone, for the page.
    pub page: PageSettings,
}

#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Mutex<SandboxState>>,
    pub credentials: Arc<Credentials>,
}

/// The existing client of the `events/` files and the manager of the local staff list.
pub const DEMO_CLIENT_PHONE: &str = "+380501234567";
pub const DEMO_CLIENT_NAME: &str = "Марія Шевченко";
pub const DEMO_MANAGER_EMAIL: &str = dataverse::MANAGER_EMAIL;
/// Her name, as the events' `employee_fio` and the local `STAFF` give it.
pub const DEMO_MANAGER_NAME: &str = dataverse::MANAGER_NAME;

impl SandboxState {
    /// Stores the demo client in both CRMs, owned by the demo manager.
    pub fn seed_demo(&mut self) {
        self.nethunt
            .seed_contact(DEMO_CLIENT_PHONE, DEMO_CLIENT_NAME, DEMO_MANAGER_EMAIL);
        self.dataverse.seed_contact(
            DEMO_CLIENT_PHONE,
            DEMO_CLIENT_NAME,
            dataverse::MANAGER_USER_ID,
        );
    }
}

impl AppState {
    pub fn lock(&self) -> MutexGuard<'_, SandboxState> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running sandbox.
pub struct Sandbox {
    pub addr: SocketAddr,
    state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Starts on an ephemeral port of 127.0.0.1 with the default credentials.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(
            "127.0.0.1:0".parse().expect("valid address"),
            Credentials::default(),
        )
        .await
    }

    pub async fn start_on(addr: SocketAddr, credentials: Credentials) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = AppState {
            shared: Arc::new(Mutex::new(SandboxState::default())),
            credentials: Arc::new(credentials),
        };
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            let _ = conn::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The NetHunt Integration API base, as the adapter's configuration wants it.
    pub fn nethunt_base_url(&self) -> String {
        format!("{}/api/v1/zapier", self.base_url())
    }

    /// The Dataverse environment URL (the adapter appends `/api/data/v9.2`).
    pub fn dataverse_url(&self) -> String {
        self.base_url()
    }

    /// The Entra token authority (the adapter appends `/{tenant}/oauth2/v2.0/token`).
    pub fn authority_url(&self) -> String {
        self.base_url()
    }

    /// The Ringostat API base (its paths are served without a prefix).
    pub fn ringostat_api_url(&self) -> String {
        self.base_url()
    }

    /// The Parameters and Secrets extension endpoint (`http://localhost:2773` on Lambda).
    pub fn secrets_extension_url(&self) -> String {
        self.base_url()
    }

    pub fn credentials(&self) -> Credentials {
        (*self.state.credentials).clone()
    }

    pub fn state(&self) -> MutexGuard<'_, SandboxState> {
        self.state.lock()
    }

    /// Every CRM request so far (control routes and the page excluded).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().requests.clear();
    }

    /// Answers the next `count` CRM requests with `fault`.
    pub fn inject(&self, fault: Fault, count: usize) {
        self.inject_matching(fault, count, RequestFilter::any());
    }

    /// Answers the next `count` CRM requests that `filter` matches with `fault`; other requests
    /// are served normally. `sandbox.inject_matching(Fault::AfterWrite { status: 502 }, 1,
    /// RequestFilter::path_contains("create-call-log"))`.
    pub fn inject_matching(&self, fault: Fault, count: usize, filter: RequestFilter) {
        let mut state = self.state.lock();
        state
            .faults
            .extend(std::iter::repeat_n(QueuedFault { fault, filter }, count));
    }

    /// Faults not yet answered.
    pub fn pending_faults(&self) -> usize {
        self.state.lock().faults.len()
    }

    /// Drops the faults not yet answered.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The whole application: CRM routes behind the request log and fault injection, plus the
/// control routes and the page.
pub fn router(state: AppState) -> Router {
    let crm = Router::new()
        .merge(nethunt::routes())
        .merge(dataverse::routes())
        .merge(ringostat::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            log_and_inject,
        ));
    Router::new()
        .route("/", get(page::index))
        .route("/raw", get(page::raw))
        .route("/_sandbox/requests", get(requests).delete(clear_requests))
        .route("/_sandbox/faults", post(push_faults))
        .route("/_sandbox/secrets", post(seed_secrets))
        .route(
            "/_sandbox/nethunt/not-found-as-404",
            post(nethunt::set_not_found_404),
        )
        .merge(crm)
        .with_state(state)
}

async fn log_and_inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let fault = {
        let mut shared = state.lock();
        let index = shared
            .faults
            .iter()
            .position(|queued| queued.filter.matches(&method, &path));
        index
            .and_then(|i| shared.faults.remove(i))
            .map(|queued| queued.fault)
    };
    let mut logged_status = None;
    let response = match fault {
        Some(Fault::Throttle { retry_after_secs }) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({"error": {
                    "code": "0x80072322",
                    "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
                }})),
            )
                .into_response();
            response.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&retry_after_secs.to_string()).expect("digits"),
            );
            response
        }
        Some(Fault::ServerError { status }) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "sandbox: injected server error",
        )
            .into_response(),
        Some(Fault::Echo { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            let echo = format!(
                "cannot serve {method} {path}?{}",
                query.as_deref().unwrap_or_default()
            );
            if path.starts_with(dataverse::API_PREFIX) {
                json_error(status, &echo)
            } else {
                (status, echo).into_response()
            }
        }
        Some(Fault::AfterWrite { status }) => {
            // Served for real: the write lands; the real answer is thrown away.
            drop(next.run(request).await);
            after_write_error(&path, status)
        }
        Some(Fault::AfterWriteReset) => {
            let connection = conn::Connection::of(&request);
            drop(next.run(request).await);
            match connection {
                Some(connection) => {
                    // Nothing of the answer below reaches the client.
                    connection.reset();
                    logged_status = Some(0);
                    status_only(StatusCode::BAD_GATEWAY)
                }
                None => after_write_error(&path, 502),
            }
        }
        None => next.run(request).await,
    };
    state.lock().requests.push(LoggedRequest {
        method,
        path,
        query,
        status: logged_status.unwrap_or_else(|| response.status().as_u16()),
    });
    response
}

/// The error a gateway gives after the backend did the work: Dataverse's JSON error shape on
/// its paths, plain text elsewhere.
fn after_write_error(path: &str, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let message = "sandbox: injected failure after the request was served";
    if path.starts_with(dataverse::API_PREFIX) {
        json_error(status, message)
    } else {
        (status, message).into_response()
    }
}

async fn requests(State(state): State<AppState>) -> axum::Json<Vec<LoggedRequest>> {
    axum::Json(state.lock().requests.clone())
}

async fn clear_requests(State(state): State<AppState>) -> StatusCode {
    state.lock().requests.clear();
    StatusCode::NO_CONTENT
}

/// `{"fault": {...}, "count": 1, "method": "POST", "path_contains": "create-call-log"}`;
/// `count` defaults to 1, the filter fields are optional.
#[derive(Deserialize)]
struct FaultRequest {
    fault: Fault,
    #[serde(default = "one")]
    count: usize,
    #[serde(flatten)]
    filter: RequestFilter,
}

fn one() -> usize {
    1
}

async fn push_faults(
    State(state): State<AppState>,
    axum::Json(request): axum::Json<FaultRequest>,
) -> StatusCode {
    let queued = QueuedFault {
        fault: request.fault,
        filter: request.filter,
    };
    let mut state = state.lock();
    state
        .faults
        .extend(std::iter::repeat_n(queued, request.count.min(1000)));
    StatusCode::NO_CONTENT
}

/// What `POST /_sandbox/secrets` stores for the fake secrets extension (the benchmarks read
/// a function's configuration through it, as a deployment with the extension layer would).
#[derive(Debug, Default, serde::Deserialize)]
struct SeededSecrets {
    #[serde(default)]
    parameters: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    secrets: std::collections::BTreeMap<String, String>,
}

async fn seed_secrets(
    State(state): State<AppState>,
    axum::Json(seeded): axum::Json<SeededSecrets>,
) -> StatusCode {
    let mut state = state.lock();
    for (name, value) in &seeded.parameters {
        state.seed_parameter(name, value);
    }
    for (id, value) in &seeded.secrets {
        state.seed_secret(id, value);
    }
    StatusCode::NO_CONTENT
}

/// A JSON error body in the shape each CRM uses.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": {"code": "", "message": message}})),
    )
        .into_response()
}

/// Escapes text for the HTML page.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An empty body with a status.
pub fn status_only(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .expect("valid response")
}

#[cfg(test)]
mod fault_tests;
