//! Running a function: logging, then the app built once per execution environment, then the
//! handler for every request or scheduled event.
//!
//! The app is built at INIT when no secret has to be fetched; a secret given by reference
//! (`*_SSM_PARAMETER`, `*_SECRET_ID`) is read through the Parameters and Secrets extension,
//! which answers only during invocations, so such an app is built on the first invocation.
//! A build that fails is retried by the next invocation, and answered as a configuration
//! error meanwhile.

use std::convert::Infallible;
use std::fmt::Display;

use bridge_domain::deadline::Deadline;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response, service_fn};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::answer::error_response;

/// When the function's app is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildAt {
    /// Before the first event: nothing the build needs waits for an invocation.
    Init,
    /// On the first invocation (secrets through the extension).
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
    async fn get(&'static self) -> Result<&'static A, String> {
        self.cell
            .get_or_try_init(|| async { (self.build)().await })
            .await
            .map_err(|error| {
                tracing::error!(%error, "the function could not start");
                error.to_string()
            })
    }
}

/// What a function's `main` returns.
pub type Error = lambda_http::Error;

/// Logging, then the app: built now when nothing it needs waits for an invocation. A failed
/// build is logged here and answered to the first request, which tries again.
async fn start<A, B, F, E>(build: B) -> &'static Lazy<A, B>
where
    A: 'static,
    B: Fn() -> F + 'static,
    F: Future<Output = Result<A, E>>,
    E: Display,
{
    init_logging();
    // The app lives as long as the process: handlers borrow it for `'static`.
    let app: &'static Lazy<A, B> = Box::leak(Box::new(Lazy {
        cell: OnceCell::new(),
        build,
    }));
    if build_at_from_env() == BuildAt::Init {
        let _ = app.get().await;
    }
    app
}

/// Logging as Lambda asks for it (JSON when the function's log format is JSON), and the
/// phone-number metadata loaded before the first event.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
    bridge_domain::phone::warm_up();
}

/// [`BuildAt::FirstInvocation`] when a secret is given by reference (`*_SSM_PARAMETER`,
/// `*_SECRET_ID`), else [`BuildAt::Init`].
pub fn build_at_from_env() -> BuildAt {
    let by_reference = std::env::vars()
        .any(|(name, _)| name.ends_with("_SSM_PARAMETER") || name.ends_with("_SECRET_ID"));
    if by_reference {
        BuildAt::FirstInvocation
    } else {
        BuildAt::Init
    }
}

/// Runs an HTTP function: `build` makes the app (at `at`), `handler` answers each request.
pub async fn http<A, B, F, E, H, R>(build: B, handler: H) -> Result<(), Error>
where
    A: Send + Sync + 'static,
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<A, E>> + Send,
    E: Display,
    H: Fn(&'static A, Request) -> R + Send + Sync,
    R: Future<Output = Response<Body>> + Send,
{
    let app = start(build).await;
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| async move {
        let response = match app.get().await {
            Ok(app) => handler(app, request).await,
            Err(error) => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "configuration",
                None,
                &error,
            ),
        };
        Ok::<_, Infallible>(response)
    }))
    .await
}

/// Runs a scheduled (or hand-invoked) function: `handler` gets the app, the event's payload
/// and the Lambda deadline, and its report becomes the result.
pub async fn scheduled<A, B, F, E, H, R, T, HE>(
    build: B,
    handler: H,
) -> Result<(), lambda_runtime::Error>
where
    A: Send + Sync + 'static,
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<A, E>> + Send,
    E: Display,
    H: Fn(&'static A, Value, Deadline) -> R + Send + Sync,
    R: Future<Output = Result<T, HE>> + Send,
    T: Serialize,
    HE: Display,
{
    let app = start(build).await;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let app = app.get().await.map_err(lambda_runtime::Error::from)?;
        // A local runtime without a deadline gets a quarter of an hour.
        let deadline = Deadline::from_lambda_ms(event.context.deadline)
            .unwrap_or_else(|| Deadline::after(std::time::Duration::from_secs(900)));
        let report = handler(app, event.payload, deadline)
            .await
            .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
        Ok::<Value, lambda_runtime::Error>(serde_json::to_value(report)?)
    }))
    .await
}
