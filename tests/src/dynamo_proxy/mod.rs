//! A fault-injecting DynamoDB proxy for integration tests: a loopback HTTP server that
//! forwards every request to an upstream DynamoDB endpoint (the moto server of
//! [`crate::dynamodb_endpoint`]) and returns its answer, unless a [`Rule`] says otherwise.
//!
//! Rules pick requests by operation (the `X-Amz-Target` header: `PutItem` or
//! `DynamoDB_20120810.PutItem`), table (`TableName`, also inside `RequestItems` and
//! `TransactItems`) and a substring of the JSON body (a key such as `contact#+380…`), and then
//! delay them, fail them with a DynamoDB-style error, hold them until a [`Gate`] opens, or drop
//! the connection, before or after the request reached DynamoDB:
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use bridge_tests::dynamo_proxy::{Action, DynamoProxy, Gate, Rule};
//!
//! let proxy = DynamoProxy::start(&bridge_tests::dynamodb_endpoint()).await;
//! let client = bridge_tests::dynamodb_client(&proxy.endpoint()); // or AWS_ENDPOINT_URL_DYNAMODB
//! proxy.rule(Rule::op("PutItem").body_contains("contact#").action(Action::Fail { times: 3 }));
//! let gate = Gate::new();
//! proxy.rule(Rule {
//!     op: Some("UpdateItem"),
//!     action: Action::Hold(gate.clone()),
//!     ..Rule::default()
//! });
//! proxy.delay_all(Duration::from_millis(50));
//! // ... start the code under test, then:
//! gate.wait_for_arrivals(1).await;
//! gate.release();
//! assert_eq!(proxy.count("PutItem"), 3);
//! # }
//! ```
//!
//! Each request takes the first rule (in the order they were added) that matches it and has
//! uses left; [`DynamoProxy::delay_all`] applies before any rule. The AWS SDK retries 5xx,
//! throttling errors and dropped connections (3 attempts by default), so a rule meant to make a
//! call fail needs `times` of at least the client's attempts; one meant to fail a single attempt
//! shows the retry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crm_sandbox::axum::Router;
use crm_sandbox::axum::body::{Body, Bytes, to_bytes};
use crm_sandbox::axum::extract::{Request, State};
use crm_sandbox::axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use crm_sandbox::axum::response::{IntoResponse, Response};
use crm_sandbox::conn::{self, Connection};
use serde_json::Value;
use tokio::sync::watch;

/// The JSON protocol's error namespace, as DynamoDB writes `__type`.
const ERROR_NAMESPACE: &str = "com.amazonaws.dynamodb.v20120810";

/// A running proxy; it stops when dropped.
pub struct DynamoProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// What the proxy does with the requests a rule matches.
#[derive(Debug, Clone, Default)]
pub enum Action {
    /// Forward untouched (a rule that only shadows later ones).
    #[default]
    Pass,
    /// Wait this long, then forward. Every matching request.
    Delay(Duration),
    /// Answer the next `times` matching requests with 500 `InternalServerError` without
    /// forwarding them: nothing reaches DynamoDB.
    Fail { times: usize },
    /// Answer the next `times` matching requests with `status` and `__type` `error_type`
    /// (`ProvisionedThroughputExceededException` 400, `ThrottlingException` 400,
    /// `ValidationException` 400, `ServiceUnavailable` 503…) without forwarding them.
    FailWith {
        times: usize,
        status: u16,
        error_type: &'static str,
    },
    /// Forward the next `times` matching requests (the write lands), then answer 500
    /// `InternalServerError` instead of DynamoDB's answer: "may or may not have succeeded".
    FailAfterForward { times: usize },
    /// Hold every matching request until the gate is released, then forward it.
    Hold(Gate),
    /// Drop the connection of the next `times` matching requests without forwarding them
    /// (RST, no response): the client sees a connection error.
    Drop { times: usize },
    /// Forward the next `times` matching requests (the write lands), then drop the connection
    /// without a response.
    DropAfterForward { times: usize },
}

impl Action {
    /// How many requests the action applies to; `None` for every one.
    fn budget(&self) -> Option<usize> {
        match self {
            Self::Pass | Self::Delay(_) | Self::Hold(_) => None,
            Self::Fail { times }
            | Self::FailWith { times, .. }
            | Self::FailAfterForward { times }
            | Self::Drop { times }
            | Self::DropAfterForward { times } => Some(*times),
        }
    }
}

/// Which requests an [`Action`] applies to. Every condition given must hold; `None` matches
/// anything. Build it with the fields and `..Rule::default()`, or with [`Rule::op`] and the
/// builder methods.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    /// The operation: `PutItem`, or the whole `X-Amz-Target` (`DynamoDB_20120810.PutItem`).
    pub op: Option<&'static str>,
    /// The table the request names.
    pub table: Option<String>,
    /// A substring of the raw JSON body (`"S":"contact#+380501234567"` or just the key).
    pub body_contains: Option<String>,
    pub action: Action,
}

impl Rule {
    /// A rule for one operation (`PutItem`, `GetItem`, `UpdateItem`, `DeleteItem`, `Query`…).
    pub fn op(op: &'static str) -> Self {
        Self {
            op: Some(op),
            ..Self::default()
        }
    }

    /// Every request, whatever its operation.
    pub fn any() -> Self {
        Self::default()
    }

    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    pub fn body_contains(mut self, fragment: impl Into<String>) -> Self {
        self.body_contains = Some(fragment.into());
        self
    }

    pub fn action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }

    fn matches(&self, target: &str, body: &[u8], json: Option<&Value>) -> bool {
        self.op.is_none_or(|op| op_matches(target, op))
            && self
                .body_contains
                .as_deref()
                .is_none_or(|fragment| contains(body, fragment.as_bytes()))
            && self
                .table
                .as_deref()
                .is_none_or(|table| json.is_some_and(|j| names_table(j, table)))
    }
}

/// A barrier tests open by hand: requests held on it wait until [`Gate::release`].
#[derive(Debug, Clone)]
pub struct Gate {
    open: Arc<watch::Sender<bool>>,
    arrived: Arc<watch::Sender<usize>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    pub fn new() -> Self {
        Self {
            open: Arc::new(watch::Sender::new(false)),
            arrived: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Lets every held request (and every later one) through.
    pub fn release(&self) {
        self.open.send_replace(true);
    }

    pub fn is_released(&self) -> bool {
        *self.open.borrow()
    }

    /// Requests that have reached the gate so far (held or let through).
    pub fn arrivals(&self) -> usize {
        *self.arrived.borrow()
    }

    /// Waits until `count` requests have reached the gate: the moment a test knows the code
    /// under test is stuck on it.
    pub async fn wait_for_arrivals(&self, count: usize) {
        let mut arrived = self.arrived.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = arrived.wait_for(|n| *n >= count).await;
    }

    async fn pass(&self) {
        let mut open = self.open.subscribe();
        self.arrived.send_modify(|n| *n += 1);
        let _ = open.wait_for(|released| *released).await;
    }
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    state: Mutex<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    delay_all: Duration,
    rules: Vec<Armed>,
    /// Requests received, by operation (short name).
    received: HashMap<String, usize>,
    /// Requests forwarded to the upstream, by operation (short name).
    forwarded: HashMap<String, usize>,
}

struct Armed {
    rule: Rule,
    /// Uses left; `None` for unlimited.
    left: Option<usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ProxyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DynamoProxy {
    /// Starts on an ephemeral port of 127.0.0.1, forwarding to `upstream`
    /// (`http://127.0.0.1:PORT`). Panics when it cannot bind: a test setup failure.
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the DynamoDB proxy binds a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a plain HTTP client builds");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            state: Mutex::new(ProxyState::default()),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = conn::serve(listener, app).await;
        });
        Self {
            addr,
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`, to give the code under test as its DynamoDB endpoint
    /// (`AWS_ENDPOINT_URL_DYNAMODB`, [`crate::dynamodb_client`]).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Delays every request by `delay` before any rule applies (`Duration::ZERO` turns it off).
    pub fn delay_all(&self, delay: Duration) {
        self.shared.lock().delay_all = delay;
    }

    /// Adds a rule after the existing ones.
    pub fn rule(&self, rule: Rule) {
        let left = rule.action.budget();
        self.shared.lock().rules.push(Armed { rule, left });
    }

    /// Removes every rule (the global delay stays).
    pub fn clear_rules(&self) {
        self.shared.lock().rules.clear();
    }

    /// Requests received for `op` (`PutItem` or the whole target), failed and dropped ones
    /// included.
    pub fn count(&self, op: &str) -> usize {
        sum_for(&self.shared.lock().received, op)
    }

    /// Requests for `op` that reached the upstream.
    pub fn forwarded(&self, op: &str) -> usize {
        sum_for(&self.shared.lock().forwarded, op)
    }
}

impl Drop for DynamoProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn sum_for(counts: &HashMap<String, usize>, op: &str) -> usize {
    let short = op.rsplit('.').next().unwrap_or(op);
    counts.get(short).copied().unwrap_or(0)
}

fn op_matches(target: &str, op: &str) -> bool {
    target == op || target.rsplit('.').next() == Some(op)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether the request names `table`: `TableName`, a key of `RequestItems` (batches), or the
/// `TableName` of a transaction's item.
fn names_table(json: &Value, table: &str) -> bool {
    if json.get("TableName").and_then(Value::as_str) == Some(table) {
        return true;
    }
    if json
        .get("RequestItems")
        .and_then(Value::as_object)
        .is_some_and(|items| items.contains_key(table))
    {
        return true;
    }
    json.get("TransactItems")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            items.iter().any(|item| {
                item.as_object().is_some_and(|kinds| {
                    kinds
                        .values()
                        .any(|inner| inner.get("TableName").and_then(Value::as_str) == Some(table))
                })
            })
        })
}

/// The rule's decision for one request, taken under the lock.
enum Decision {
    Forward,
    Delay(Duration),
    Fail {
        status: u16,
        error_type: &'static str,
    },
    FailAfterForward,
    Hold(Gate),
    Drop,
    DropAfterForward,
}

fn decide(shared: &Shared, op: &str, target: &str, body: &[u8]) -> (Duration, Decision) {
    let json = serde_json::from_slice::<Value>(body).ok();
    let mut state = shared.lock();
    *state.received.entry(op.to_owned()).or_default() += 1;
    let delay = state.delay_all;
    let Some(armed) = state
        .rules
        .iter_mut()
        .find(|a| a.left != Some(0) && a.rule.matches(target, body, json.as_ref()))
    else {
        return (delay, Decision::Forward);
    };
    if let Some(left) = armed.left.as_mut() {
        *left -= 1;
    }
    let decision = match &armed.rule.action {
        Action::Pass => Decision::Forward,
        Action::Delay(d) => Decision::Delay(*d),
        Action::Fail { .. } => Decision::Fail {
            status: 500,
            error_type: "InternalServerError",
        },
        Action::FailWith {
            status, error_type, ..
        } => Decision::Fail {
            status: *status,
            error_type,
        },
        Action::FailAfterForward { .. } => Decision::FailAfterForward,
        Action::Hold(gate) => Decision::Hold(gate.clone()),
        Action::Drop { .. } => Decision::Drop,
        Action::DropAfterForward { .. } => Decision::DropAfterForward,
    };
    (delay, decision)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let connection = Connection::of(&request);
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(e) => return dynamo_error(400, "SerializationException", &e.to_string()),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let op = target.rsplit('.').next().unwrap_or_default().to_owned();
    let (delay, decision) = decide(&shared, &op, &target, &body);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let send_upstream = || {
        forward(
            &shared,
            &op,
            &parts.method,
            &path,
            &parts.headers,
            body.clone(),
        )
    };
    match decision {
        Decision::Forward => send_upstream().await,
        Decision::Delay(d) => {
            tokio::time::sleep(d).await;
            send_upstream().await
        }
        Decision::Hold(gate) => {
            gate.pass().await;
            send_upstream().await
        }
        Decision::Fail { status, error_type } => dynamo_error(
            status,
            error_type,
            "The proxy failed this request on purpose (it did not reach DynamoDB).",
        ),
        Decision::FailAfterForward => {
            drop(send_upstream().await);
            dynamo_error(
                500,
                "InternalServerError",
                "The proxy failed this request on purpose after DynamoDB served it.",
            )
        }
        Decision::Drop => reset(connection.as_ref()),
        Decision::DropAfterForward => {
            drop(send_upstream().await);
            reset(connection.as_ref())
        }
    }
}

/// Drops the connection: nothing of the returned response is written.
fn reset(connection: Option<&Connection>) -> Response {
    match connection {
        Some(connection) => {
            connection.reset();
            StatusCode::BAD_GATEWAY.into_response()
        }
        // Only without `conn::serve`, which `start` always uses.
        None => dynamo_error(500, "InternalServerError", "connection reset unavailable"),
    }
}

/// Headers that belong to one hop, not to the request or response.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}

async fn forward(
    shared: &Shared,
    op: &str,
    method: &crm_sandbox::axum::http::Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    *shared.lock().forwarded.entry(op.to_owned()).or_default() += 1;
    let method = match reqwest::Method::from_bytes(method.as_str().as_bytes()) {
        Ok(method) => method,
        Err(e) => return dynamo_error(400, "SerializationException", &e.to_string()),
    };
    let mut upstream = shared
        .client
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in headers {
        // The Host the client signed goes along unchanged.
        if !is_hop_by_hop(name) {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return dynamo_error(
                502,
                "InternalServerError",
                &format!("the proxy could not reach DynamoDB: {e}"),
            );
        }
    };
    let status = answer.status().as_u16();
    let mut copied = HeaderMap::new();
    for (name, value) in answer.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) && !is_hop_by_hop(&name)
        {
            copied.append(name, value);
        }
    }
    let body = match answer.bytes().await {
        Ok(body) => body,
        Err(e) => {
            return dynamo_error(
                502,
                "InternalServerError",
                &format!("the proxy lost DynamoDB's answer: {e}"),
            );
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    *response.headers_mut() = copied;
    response
}

/// An error as DynamoDB's JSON protocol answers it.
fn dynamo_error(status: u16, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "__type": format!("{ERROR_NAMESPACE}#{error_type}"),
        "message": message,
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(value) = HeaderValue::from_str(error_type) {
        headers.insert("x-amzn-errortype", value);
    }
    headers.insert(
        "x-amzn-requestid",
        HeaderValue::from_static("BRIDGETESTSPROXY0000000000000000000000000000000000"),
    );
    response
}

#[cfg(test)]
mod tests;
