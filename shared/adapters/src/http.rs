//! HTTP plumbing shared by the HTTP adapters (CRMs, Ringostat, the secrets extension): one
//! client, timeouts, and retries with exponential backoff and jitter that honour `Retry-After`
//! and stop at the caller's deadline. Its failures are [`HttpError`]s; each adapter maps them
//! to its port's error.

use std::sync::OnceLock;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use reqwest::{RequestBuilder, Response, StatusCode};
use tokio::time::Instant;

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Still throttled (429) when the attempts or the deadline ran out.
    #[error("throttled (retry after {retry_after:?})")]
    Throttled { retry_after: Option<Duration> },
    /// 5xx, timeouts, network errors, the deadline: worth trying again later.
    #[error("{0}")]
    Transient(String),
    /// A request that is not safe to repeat failed after it was sent (timeout, reset, 5xx):
    /// the server may have acted on it.
    #[error("{0} (after the request was sent: it may have taken effect)")]
    Ambiguous(String),
    /// The client could not be built (TLS, settings).
    #[error("HTTP client: {0}")]
    Client(String),
}

impl From<HttpError> for CrmError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Throttled { retry_after } => Self::Throttled { retry_after },
            HttpError::Transient(message) => Self::Transient(message),
            HttpError::Ambiguous(message) => Self::Ambiguous(message),
            HttpError::Client(message) => Self::Config(format!("HTTP client: {message}")),
        }
    }
}

/// Timeouts and backoff of CRM requests.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Upper bound of one request, connection included.
    pub request_timeout: Duration,
    /// First backoff delay; doubles on each retry, with jitter.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: usize,
    /// Who the requests go to (`nethunt`, `dataverse`, `ringostat`, `secrets`): the `Service`
    /// of the throttle and retry metrics. Each adapter sets its own.
    pub service: &'static str,
}

impl RetryPolicy {
    /// This policy for the requests of `service`.
    pub fn for_service(self, service: &'static str) -> Self {
        Self { service, ..self }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(5),
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_attempts: 5,
            service: "http",
        }
    }
}

/// Whether repeating a request can write twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads, and writes the CRM deduplicates (Dataverse `activityid`): retry on any transient error.
    Safe,
    /// Plain creates: retry only when the CRM cannot have acted on the request (connection
    /// refused, 429), never after a timeout or 5xx.
    OnlyIfNotProcessed,
}

/// The process's one HTTP client: one connection pool and one TLS configuration for every
/// CRM, Ringostat and the AWS SDK ([`crate::aws`]), built once (the first caller pays, at
/// INIT). Cheap to clone. Per-request timeouts come from each adapter's [`RetryPolicy`]
/// ([`send`]); the connection timeout is the client's.
pub fn shared_client() -> Result<reqwest::Client, HttpError> {
    static CLIENT: OnceLock<Result<reqwest::Client, HttpError>> = OnceLock::new();
    CLIENT.get_or_init(build_client).clone()
}

/// Connecting takes at most this long (a CRM or AWS endpoint answers a SYN in milliseconds;
/// a dead one should not eat a ringing call's budget).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

fn build_client() -> Result<reqwest::Client, HttpError> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("ringostat-crm-bridge/", env!("CARGO_PKG_VERSION")))
        // No proxy lookup at cold start: Lambda has none.
        .no_proxy()
        .build()
        .map_err(|e| HttpError::Client(e.to_string()))
}

/// TLS as measured for the cold start (docs/benchmarks.md, "TLS and entropy"): rustls with
/// the `ring` provider (its random numbers come from the kernel, where aws-lc's first ones
/// cost 29 ms of CPU jitter entropy) and Mozilla's roots compiled in (`webpki-roots`: no
/// certificate file to read and parse at start, and the same roots on every host).
fn tls_config() -> Result<rustls::ClientConfig, HttpError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // HTTP/1.1 only: reqwest is built without HTTP/2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Opens a connection to `url`'s origin in `client`'s pool (a `HEAD /`, its answer ignored),
/// so that the first real request finds the TCP and TLS handshakes done. Best effort, bounded
/// by `deadline`: a failure is the first real request's to meet.
pub async fn preconnect(client: &reqwest::Client, url: &str, deadline: Deadline) {
    let Ok(mut origin) = reqwest::Url::parse(url) else {
        return;
    };
    origin.set_path("/");
    origin.set_query(None);
    let time_left = deadline.instant().saturating_duration_since(Instant::now());
    let outcome = client.head(origin.as_str()).timeout(time_left).send().await;
    if let Err(error) = outcome {
        tracing::debug!(origin = origin.host_str(), error = %describe(&error), "no early connection");
    }
}

/// Sends the request built by `build` until it gets an answer that is not worth retrying, the
/// attempts run out, or the next attempt could not finish before `deadline`.
///
/// Returns the final response whatever its status (the adapter reads CRM-specific statuses
/// such as 404 or 412); only transport failures and exhausted retries become errors.
pub async fn send(
    build: impl Fn() -> RequestBuilder,
    replay: Replay,
    policy: &RetryPolicy,
    deadline: Deadline,
) -> Result<Response, HttpError> {
    let deadline = deadline.instant();
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_attempts.saturating_sub(1))
        .with_jitter()
        .build();
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HttpError::Transient(
                "deadline reached before the request".into(),
            ));
        }
        let outcome = build()
            .timeout(remaining.min(policy.request_timeout))
            .send()
            .await;
        if outcome
            .as_ref()
            .is_ok_and(|response| response.status() == StatusCode::TOO_MANY_REQUESTS)
        {
            bridge_domain::telemetry::http_throttled(policy.service);
        }
        let (error, retry_after) = match outcome {
            Ok(response) => match retry_reason(&response, replay) {
                None if replay == Replay::OnlyIfNotProcessed && written_maybe(&response) => {
                    return Err(HttpError::Ambiguous(format!("HTTP {}", response.status())));
                }
                None => return Ok(response),
                Some(error) => (error, retry_after(&response)),
            },
            Err(e) if e.is_connect() => (HttpError::Transient(describe(&e)), None),
            Err(e) if replay == Replay::Safe && (e.is_timeout() || e.is_request()) => {
                (HttpError::Transient(describe(&e)), None)
            }
            Err(e) if replay == Replay::Safe => return Err(HttpError::Transient(describe(&e))),
            // Sent, no answer: the write may have happened.
            Err(e) => return Err(HttpError::Ambiguous(describe(&e))),
        };
        let Some(backoff) = delays.next() else {
            return Err(error);
        };
        let delay = retry_after.map_or(backoff, |server| server.max(backoff));
        if Instant::now() + delay >= deadline {
            return Err(error);
        }
        tracing::debug!(delay_ms = bridge_domain::deadline::duration_ms(delay), %error, "retrying request");
        bridge_domain::telemetry::http_retry(policy.service);
        tokio::time::sleep(delay).await;
    }
}

/// The error a response stands for when it is worth another attempt.
fn retry_reason(response: &Response, replay: Replay) -> Option<HttpError> {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(HttpError::Throttled {
            retry_after: retry_after(response),
        });
    }
    let transient = matches!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    );
    // A 503 with Retry-After is the server refusing work, safe even for creates.
    let refused = status == StatusCode::SERVICE_UNAVAILABLE && retry_after(response).is_some();
    if transient && (replay == Replay::Safe || refused) {
        return Some(HttpError::Transient(format!("HTTP {status}")));
    }
    None
}

/// A 5xx answer to a write that is not safe to repeat: the server may have performed it
/// (a 503 with `Retry-After` is a refusal, retried as such).
fn written_maybe(response: &Response) -> bool {
    let status = response.status();
    status.is_server_error()
        && !(status == StatusCode::SERVICE_UNAVAILABLE && retry_after(response).is_some())
}

/// `Retry-After` in seconds (the HTTP-date form is not used by either CRM).
fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Turns a CRM's final non-success response into a typed error, keeping its own message.
pub async fn error_from(response: Response) -> CrmError {
    let status = response.status();
    let retry_after = retry_after(&response);
    let body = response.text().await.unwrap_or_default();
    let message = crm_message(&body);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => CrmError::Auth(message),
        StatusCode::NOT_FOUND => CrmError::NotFound(message),
        StatusCode::TOO_MANY_REQUESTS => CrmError::Throttled { retry_after },
        s if s.is_server_error() => CrmError::Transient(format!("HTTP {s}: {message}")),
        s => CrmError::Rejected {
            status: s.as_u16(),
            message,
        },
    }
}

/// The human message of an error body: Dataverse's `error.message`, the usual `message` /
/// `error` / `errorMessage` / `description` keys, or the text itself, shortened and made safe
/// to log ([`bridge_domain::redact::log_text`]).
pub fn crm_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error_description"))
            .or_else(|| v.get("errorMessage"))
            .or_else(|| v.get("description"))
            .or_else(|| v.get("error"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    // CRMs quote what they were sent: the number searched for, sometimes a credential.
    let text = bridge_domain::redact::log_text(&text);
    let mut short: String = text.chars().take(500).collect();
    if short.is_empty() {
        short.push_str("(empty body)");
    }
    short
}

/// reqwest's error without the URL, which can carry a phone number in its query.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match std::error::Error::source(error) {
        Some(source) => format!("{kind}: {source}"),
        None => kind.to_owned(),
    }
}
