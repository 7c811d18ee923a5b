//! Running a function: logging and metrics, then the app built once per execution
//! environment, then the handler for every request or scheduled event, after which the metrics
//! it counted are written ([`crate::metrics::flush`]; the first one also counts the cold start).
//!
//! The app is built at INIT, secrets given by reference (`*_SSM_PARAMETER`, `*_SECRET_ID`)
//! included: they are read with Parameter Store's API, one `GetParameters` for all. Only when
//! the Parameters and Secrets extension is configured (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`),
//! which answers only during invocations, is an app with references built on the first
//! invocation. A build that fails is retried by the next invocation. Meanwhile the function is
//! [`Unstarted`]: it still authenticates every request (401 as always for a wrong or missing
//! token, whatever the configuration state), answers the configuration error to authenticated
//! callers only, and a call webhook parks the events it receives ([`answer_unstarted`]).

use std::convert::Infallible;
use std::fmt::Display;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use bridge_domain::deadline::{Deadline, epoch_ms};
use bridge_domain::ports::ledger::{Ledger, ParkedEvent, event_key};
use bridge_domain::redact::log_text;
use bridge_domain::ringostat::{CallEvent, EventKind, ParseOptions};
use bridge_domain::secret::Secret;
use bridge_domain::telemetry;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response, service_fn};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::answer::{error_response, json_response, payload_error};
use crate::auth::{admit, unauthorized};
use crate::call_event::{WebhookApp, call_event};
use crate::keep_warm::OrKeepWarm;
use crate::request::{Arrival, content_type, query_without_token, raw_query};

/// When the function's app is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildAt {
    /// Before the first event: nothing the build needs waits for an invocation.
    Init,
    /// On the first invocation (secrets by reference through the extension).
    FirstInvocation,
}

/// The app, built once.
struct Lazy<A, B> {
    cell: OnceCell<A>,
    build: B,
}

impl<A: 'static, B: 'static, F, E> Lazy<A, B>
where
    B: Fn() -> F,
    F: Future<Output = Result<A, E>>,
    E: Display,
{
    async fn get(&'static self) -> Result<&'static A, E> {
        self.cell
            .get_or_try_init(|| async { (self.build)().await })
            .await
            .inspect_err(|error| tracing::error!(%error, "the function could not start"))
    }
}

/// A function whose app could not be built (a broken configuration, SSM unreachable), and
/// what it still knows until a build succeeds.
pub struct Unstarted {
    /// Why, in full: logged, and answered to authenticated callers only.
    pub error: String,
    /// The token requests must carry meanwhile; `Err`: why not even the tokens could be read
    /// (then every request gets 401).
    pub token: Result<Secret, String>,
    /// Where a call webhook parks the events it receives meanwhile; `None`: no parked-events
    /// table is known.
    pub parking: Option<Arc<dyn Ledger>>,
}

impl Display for Unstarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

/// How a function that could not start answers `request`: a wrong or missing token (or tokens
/// that cannot be read) gets the same 401 as always, with nothing about the configuration;
/// an authenticated request gets the configuration error. A call webhook (`webhook`: its
/// kind) parses the event first (400 as always when it cannot be read, with the configuration
/// error in `not_configured`), parks it when the parked-events table is known, and answers a
/// retryable 503 `not_configured`: the call lands when the configuration is fixed and the
/// replay runs.
pub async fn answer_unstarted(
    unstarted: &Unstarted,
    webhook: Option<EventKind>,
    request: Request,
) -> Response<Body> {
    let token = match &unstarted.token {
        Ok(token) => token,
        Err(reason) => {
            tracing::error!(
                path = request.uri().path(),
                error = %reason,
                "request refused: the function did not start and its tokens could not be read"
            );
            return unauthorized();
        }
    };
    if let Err(response) = admit(token, &request) {
        return response;
    }
    match webhook {
        Some(kind) => {
            let response = park(unstarted, kind, &request).await;
            let outcome = if response.status() == StatusCode::BAD_REQUEST {
                telemetry::outcome::REFUSED
            } else {
                telemetry::outcome::NOT_CONFIGURED
            };
            telemetry::event(telemetry::function_of(kind), outcome);
            response
        }
        None => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "configuration",
            None,
            &unstarted.error,
        ),
    }
}

/// Parks an authenticated call event for the replay that runs once the configuration works.
async fn park(unstarted: &Unstarted, kind: EventKind, request: &Request) -> Response<Body> {
    let query = raw_query(request);
    let body = request.body().as_ref();
    // The configured parse options are unknown: the defaults read the key (kind, call id);
    // the replay parses the stored request again with the fixed configuration.
    let options = ParseOptions::default();
    let event = match CallEvent::from_request(
        kind,
        content_type(request),
        body,
        query.as_deref(),
        &options,
    ) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(event = kind.as_str(), %error, "payload refused");
            // Still the 400 of a healthy function (no re-send can fix it), which also says
            // that the configuration is broken: a test post of `{}` shows it.
            let refused = payload_error(&error);
            let mut body: Value =
                serde_json::from_slice(refused.body().as_ref()).unwrap_or_default();
            body["not_configured"] = Value::from(unstarted.error.as_str());
            return json_response(refused.status(), &body);
        }
    };
    let message = log_text(&format!("not configured: {}", unstarted.error));
    let now = i64::try_from(epoch_ms() / 1000).unwrap_or(i64::MAX);
    let parked = match &unstarted.parking {
        None => false,
        Some(ledger) => ledger
            .park(&ParkedEvent {
                key: event_key(kind, &event.call_id),
                kind,
                content_type: content_type(request).map(str::to_owned),
                body: body.to_vec(),
                // Parked events are stored: the shared secret stays out of them.
                query: query_without_token(request),
                error: message,
                parked_at: now,
                first_parked_at: now,
                attempts: 1,
            })
            .await
            .inspect_err(|e| tracing::error!(error = %e, "ledger: event not parked"))
            .is_ok(),
    };
    let (event_name, phone) = (kind.as_str(), event.client_phone.masked());
    let outcome = if parked {
        "event parked: it lands when the configuration is fixed and the replay runs"
    } else {
        "event NOT parked (no parked-events table): only Ringostat's re-sends can bring it"
    };
    tracing::error!(
        event = event_name,
        call_id = %event.call_id,
        %phone,
        parked,
        "not configured: {outcome}"
    );
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({
            "error": "not_configured",
            "message": unstarted.error,
            "call_id": event.call_id,
            "parked": parked,
        }),
    )
}

/// What a function's `main` returns.
pub type Error = lambda_http::Error;

/// Logging and metrics, then the app: built now when nothing it needs waits for an
/// invocation. A failed build is logged here and answered to the first request, which tries
/// again.
async fn start<A, B, F, E>(function: &'static str, build: B) -> Started<A, B>
where
    A: 'static,
    B: Fn() -> F + 'static,
    F: Future<Output = Result<A, E>>,
    E: Display,
{
    let began = Instant::now();
    require_lambda_runtime();
    init_logging();
    crate::metrics::init();
    // The app lives as long as the process: handlers borrow it for `'static`.
    let app: &'static Lazy<A, B> = Box::leak(Box::new(Lazy {
        cell: OnceCell::new(),
        build,
    }));
    if build_at_from_env() == BuildAt::Init {
        let _ = app.get().await;
    }
    let invocation = Box::leak(Box::new(Invocations {
        function,
        init: began.elapsed(),
        first: Once::new(),
    }));
    Started { app, invocation }
}

/// What [`start`] made: the app, and what every invocation records.
struct Started<A: 'static, B: 'static> {
    app: &'static Lazy<A, B>,
    invocation: &'static Invocations,
}

/// The invocations of one execution environment: the first is a cold start.
struct Invocations {
    function: &'static str,
    /// Time `main` took before it could take invocations.
    init: Duration,
    first: Once,
}

impl Invocations {
    /// The start of an invocation: the app (built now if it could not be before). The first
    /// invocation counts the cold start, with the time until the app was built.
    async fn begin<A, B, F, E>(&self, app: &'static Lazy<A, B>) -> Result<&'static A, E>
    where
        B: Fn() -> F,
        F: Future<Output = Result<A, E>>,
        E: Display,
    {
        let building = Instant::now();
        let built = app.get().await;
        self.first.call_once(|| {
            telemetry::cold_start(self.function, self.init + building.elapsed());
        });
        built
    }

    /// The end of an invocation: its metrics written.
    fn end(&self) {
        crate::metrics::flush();
    }
}

/// A function binary started by hand (no Lambda runtime API to ask for events) says how to
/// run it instead of panicking on the first missing Lambda variable.
fn require_lambda_runtime() {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "This is an AWS Lambda function: it takes its requests from a Lambda runtime, and \
             AWS_LAMBDA_RUNTIME_API is not set.\n\
             Run the bridge locally with `scripts/run-local` (cargo lambda watch serves every \
             function on http://127.0.0.1:9000), then `scripts/post-event events/<file>.json`; \
             or deploy it with `sam build && sam deploy` (docs/ringostat-setup.en.md)."
        );
        std::process::exit(2);
    }
}

/// Logging as Lambda asks for it, filtered so nothing leaks ([`crate::logging`]), and the
/// phone-number metadata loaded before the first event.
pub fn init_logging() {
    crate::logging::init();
    bridge_domain::phone::warm_up();
}

/// [`BuildAt::FirstInvocation`] when a secret is given by reference (`*_SSM_PARAMETER`,
/// `*_SECRET_ID`) and read through the extension (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`),
/// else [`BuildAt::Init`].
pub fn build_at_from_env() -> BuildAt {
    let by_reference = std::env::vars()
        .any(|(name, _)| name.ends_with("_SSM_PARAMETER") || name.ends_with("_SECRET_ID"));
    let through_extension = std::env::var_os("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT").is_some();
    if by_reference && through_extension {
        BuildAt::FirstInvocation
    } else {
        BuildAt::Init
    }
}

/// Runs an HTTP function: `build` makes the app (at INIT or on the first invocation),
/// `handler` answers each request; until a build succeeds, [`answer_unstarted`] does.
pub async fn http<A, B, F, E, H, R>(
    function: &'static str,
    build: B,
    handler: H,
) -> Result<(), Error>
where
    A: Send + Sync + 'static,
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<A, E>> + Send,
    E: Into<Unstarted>,
    H: Fn(&'static A, Request) -> R + Send + Sync + 'static,
    R: Future<Output = Response<Body>> + Send + 'static,
{
    serve(function, build, handler, None).await
}

/// Runs the call webhook of `kind`: as [`http`] with [`call_event`], and an event received
/// while the app cannot be built is parked.
pub async fn call_webhook<B, F, E>(kind: EventKind, build: B) -> Result<(), Error>
where
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<WebhookApp, E>> + Send,
    E: Into<Unstarted>,
{
    serve(
        telemetry::function_of(kind),
        build,
        move |app, request| call_event(app, kind, request),
        Some(kind),
    )
    .await
}

async fn serve<A, B, F, E, H, R>(
    function: &'static str,
    build: B,
    handler: H,
    webhook: Option<EventKind>,
) -> Result<(), Error>
where
    A: Send + Sync + 'static,
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<A, E>> + Send,
    E: Into<Unstarted>,
    H: Fn(&'static A, Request) -> R + Send + Sync + 'static,
    R: Future<Output = Response<Body>> + Send + 'static,
{
    let build = move || {
        let building = build();
        async move { building.await.map_err(Into::into) }
    };
    let Started { app, invocation } = start(function, build).await;
    // Both live as long as the process; `'static` references make the service `Clone`, as
    // concurrent invocations need.
    let handler: &'static H = Box::leak(Box::new(handler));
    let http = service_fn(move |mut request: Request| async move {
        // Before the app's build: a cold start's time counts against the caller's wait.
        request.extensions_mut().insert(Arrival::now());
        let response = match invocation.begin(app).await {
            Ok(app) => handler(app, request).await,
            Err(unstarted) => answer_unstarted(&unstarted, webhook, request).await,
        };
        invocation.end();
        Ok::<_, Infallible>(response)
    });
    // The keep-warm ping builds the app (a cold start's work, counted as one) and nothing else.
    let warm = move || async move {
        let _ = invocation.begin(app).await;
        invocation.end();
    };
    lambda_runtime::run_concurrent(OrKeepWarm {
        http: lambda_http::Adapter::from(http),
        warm,
    })
    .await
}

/// Runs a scheduled (or hand-invoked) function: `handler` gets the app, the event's payload
/// and the Lambda deadline, and its report becomes the result.
pub async fn scheduled<A, B, F, E, H, R, T, HE>(
    function: &'static str,
    build: B,
    handler: H,
) -> Result<(), lambda_runtime::Error>
where
    A: Send + Sync + 'static,
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<A, E>> + Send,
    E: Display,
    H: Fn(&'static A, Value, Deadline) -> R + Send + Sync + 'static,
    R: Future<Output = Result<T, HE>> + Send + 'static,
    T: Serialize + 'static,
    HE: Display + 'static,
{
    let Started { app, invocation } = start(function, build).await;
    let handler: &'static H = Box::leak(Box::new(handler));
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<Value>| async move {
        let built = invocation.begin(app).await.map_err(|e| e.to_string());
        let report = match built {
            Ok(app) => {
                // A local runtime without a deadline gets a quarter of an hour.
                let deadline = Deadline::from_lambda_ms(event.context.deadline)
                    .unwrap_or_else(|| Deadline::after(Duration::from_secs(900)));
                handler(app, event.payload, deadline)
                    .await
                    .map_err(|e| lambda_runtime::Error::from(e.to_string()))
            }
            Err(e) => Err(lambda_runtime::Error::from(e)),
        };
        invocation.end();
        Ok::<Value, lambda_runtime::Error>(serde_json::to_value(report?)?)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::LogCapture;

    /// The first invocation of an execution environment counts one cold start, with the time
    /// `main` took and the build the invocation waited for; later ones count none.
    #[tokio::test]
    async fn only_the_first_invocation_counts_the_cold_start() {
        let capture = LogCapture::default();
        let writer = capture.clone();
        crate::metrics::init_with_writer("RingostatBridge", None, move || {
            Box::new(writer.clone()) as Box<dyn std::io::Write>
        });
        let app = Box::leak(Box::new(Lazy {
            cell: OnceCell::new(),
            build: || async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                Ok::<u8, String>(7)
            },
        }));
        let invocations = Invocations {
            function: "cold-start-test",
            init: Duration::from_millis(100),
            first: Once::new(),
        };
        for _ in 0..3 {
            assert_eq!(invocations.begin(app).await, Ok(&7));
            invocations.end();
        }
        let init_durations: Vec<f64> = capture
            .text()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["Function"] == "cold-start-test")
            .filter_map(|line| line["InitDuration"].as_array().cloned())
            .flatten()
            .filter_map(|ms| ms.as_f64())
            .collect();
        assert_eq!(init_durations.len(), 1, "{}", capture.text());
        assert!(init_durations[0] >= 130.0, "{init_durations:?}");
    }
}
