//! HTTP entrypoints: API Gateway requests in, the [`Bridge`] flows, JSON answers out.
//!
//! Each Lambda binary calls one of these functions with the [`Bridge`] it built at cold start.
//! They authenticate, bound and parse the request, run the flow within the time left, log one
//! line per event and answer:
//!
//! | Case | Status | Why |
//! |---|---|---|
//! | done, filtered, no analysis | 200 | Ringostat must not re-send it |
//! | the same event again (a re-send) | 200, the first answer | it took effect once already |
//! | the same event while its first delivery still runs | 409 `in_progress` | Ringostat re-sends it later and then gets the stored answer |
//! | wrong or missing token | 401 | says nothing about what was expected |
//! | body over 64 KiB | 413 | |
//! | unreadable payload, missing or invalid field | 400 | names the field; no re-send can fix it |
//! | CRM throttled or unavailable after the retries | 503, `parked: true` | kept for replay **and** re-sent by Ringostat: whichever lands first wins, the other finds it done |
//! | CRM refused the request, CRM credentials wrong | 502, `parked: true` | kept for replay after the cause is fixed |
//! | bridge misconfigured | 500 | names the variable |
//!
//! With DynamoDB unreachable the event still runs (no cache, no idempotency); should it then
//! fail, it cannot be parked and the 5xx leaves it with Ringostat's re-sends.
//!
//! The webhook number (`smart-forward`) always answers 200 with a destination or the
//! fallback once authenticated: a ringing call must never wait on an error.

use std::convert::Infallible;
use std::time::Duration;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use crate::bridge::{Bridge, ForwardDecision};
use crate::config::ForwardFormat;
use crate::delivery::{Delivery, RawEvent};
use crate::phone::PhoneNumber;
use crate::ringostat::api::RingostatApiError;
use crate::ringostat::fields::{self, Field};
use crate::ringostat::{CallEvent, EventError, EventKind, Fields};
use crate::secret::Secret;

/// Runs a function: JSON logs when Lambda asks for them, then `handler` for every request
/// with the environment's [`Bridge::shared`]; a bridge that cannot start answers 500 naming
/// the configuration problem.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Bridge, Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    crate::phone::warm_up();
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| async move {
        let response = match Bridge::shared().await {
            Ok(bridge) => handler(bridge, request).await,
            Err(error) => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "configuration",
                None,
                &error.to_string(),
            ),
        };
        Ok::<_, Infallible>(response)
    }))
    .await
}

/// Largest body accepted: a Ringostat webhook is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Header that carries the shared secret when the query string does not.
pub const TOKEN_HEADER: &str = "x-bridge-token";
/// Query parameter that carries the shared secret (Ringostat can only add URL parameters).
pub const TOKEN_PARAMETER: &str = "token";
/// Kept free at the end of the Lambda's time for answering and logging.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

const MANAGER: Field = Field {
    canonical: "manager",
    keys: &["manager", "user", "crm_user_id", "email"],
};
const CLIENT_PHONE: Field = Field {
    canonical: "phone",
    keys: &["phone", "number", "client", "destination"],
};
const JSON_RPC_ID: Field = Field {
    canonical: "id",
    keys: &["id"],
};

/// A call webhook: before call, after call, after outgoing call, call processed by AI.
pub async fn call_event(bridge: &Bridge, kind: EventKind, request: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    if let Err(response) = admit(&bridge.webhook_token, &request) {
        return response;
    }
    let query = raw_query(&request);
    let event = match CallEvent::from_request(
        kind,
        content_type(&request),
        request.body().as_ref(),
        query.as_deref(),
        &bridge.settings.parse,
    ) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(event = kind.as_str(), %error, "payload refused");
            return payload_error(&error);
        }
    };
    let deadline = deadline_of(&request, bridge.settings.webhook_budget);
    let raw = RawEvent {
        content_type: content_type(&request).map(str::to_owned),
        body: request.body().to_vec(),
        // Parked events are stored: the shared secret stays out of them.
        query: query_without_token(&request),
    };
    let delivery = bridge.deliver(&raw, &event, deadline, 1).await;
    let (status, body) = delivery.answer();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let phone = event.client_phone.masked();
    let outcome = body["outcome"]
        .as_str()
        .unwrap_or(body["error"].as_str().unwrap_or(""));
    if let Delivery::Failed { error, .. } = &delivery {
        tracing::error!(
            event = kind.as_str(),
            call_id = %event.call_id,
            phone = %phone,
            delivery = delivery.label(),
            status,
            error = %error,
            elapsed_ms,
            "event failed"
        );
    } else {
        tracing::info!(
            event = kind.as_str(),
            call_id = %event.call_id,
            phone = %phone,
            delivery = delivery.label(),
            status,
            outcome,
            contact_id = body["contact_id"].as_str().unwrap_or(""),
            ignored_fields = ?event.ignored_fields,
            elapsed_ms,
            "event handled"
        );
    }
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &body,
    )
}

/// The webhook number: where Ringostat should ring this caller.
pub async fn smart_forward(bridge: &Bridge, request: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    if let Err(response) = admit(&bridge.webhook_token, &request) {
        return response;
    }
    let settings = &bridge.settings.forward;
    let query = raw_query(&request);
    let fields = Fields::from_request(
        content_type(&request),
        request.body().as_ref(),
        query.as_deref(),
    )
    .unwrap_or_default();
    let rpc_id = fields.get(&JSON_RPC_ID).map(str::to_owned);
    let caller = fields.get(&fields::CALLER).map(PhoneNumber::parse);
    let decision = match caller {
        Some(Ok(caller)) => {
            let budget =
                deadline_of(&request, settings.budget).min(Instant::now() + settings.budget);
            let decision = bridge.smart_forward(&caller, budget).await;
            tracing::info!(
                event = "smart_forward",
                phone = %caller.masked(),
                reason = ?decision.reason,
                destination = decision.destination.as_deref().unwrap_or(""),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "call routed"
            );
            decision
        }
        _ => {
            // Still an answer, not an error: the call is ringing. The log says what to fix.
            tracing::warn!(
                event = "smart_forward",
                "no usable caller number: send it as `caller` in the webhook number's parameters"
            );
            ForwardDecision {
                destination: None,
                reason: crate::bridge::ForwardReason::UnknownCaller,
            }
        }
    };
    forward_response(bridge, decision, rpc_id)
}

fn forward_response(
    bridge: &Bridge,
    decision: ForwardDecision,
    rpc_id: Option<String>,
) -> Response<Body> {
    let settings = &bridge.settings.forward;
    let destination = decision.destination.or_else(|| settings.fallback.clone());
    let mut response = match &settings.format {
        ForwardFormat::Raw => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::from(destination.unwrap_or_default()))
            .unwrap_or_default(),
        ForwardFormat::Json { key } => {
            let body = match destination {
                Some(destination) => json!({ key.as_str(): destination }),
                None => json!({}),
            };
            json_response(StatusCode::OK, &body)
        }
        ForwardFormat::JsonRpc => {
            let id = rpc_id
                .map(|id| id.parse::<i64>().map_or(Value::String(id), Value::from))
                .unwrap_or(Value::from(1));
            let result = destination.map_or(Value::Null, Value::String);
            json_response(
                StatusCode::OK,
                &json!({"jsonrpc": "2.0", "id": id, "result": result}),
            )
        }
    };
    response.headers_mut().insert(
        "x-bridge-reason",
        HeaderValue::from_static(decision.reason.as_str()),
    );
    response
}

/// Click-to-call: a CRM button asks Ringostat to connect a manager with a client.
pub async fn click_to_call(bridge: &Bridge, request: Request) -> Response<Body> {
    // Its own token where one is set: click-to-call links live in the CRM, in front of every
    // CRM user, and must not open the webhooks.
    let token = bridge
        .click_to_call_token
        .as_ref()
        .unwrap_or(&bridge.webhook_token);
    if let Err(response) = admit(token, &request) {
        return response;
    }
    let query = raw_query(&request);
    let fields = match Fields::from_request(
        content_type(&request),
        request.body().as_ref(),
        query.as_deref(),
    ) {
        Ok(fields) => fields,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                None,
                &error.to_string(),
            );
        }
    };
    let Some(manager_ref) = fields.get(&MANAGER) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "missing_field",
            Some(MANAGER.canonical),
            "`manager` is required: the CRM user id or e-mail of the manager who calls",
        );
    };
    let phone = match fields.get(&CLIENT_PHONE).map(PhoneNumber::parse) {
        Some(Ok(phone)) => phone,
        Some(Err(_)) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                Some(CLIENT_PHONE.canonical),
                "`phone` is not a valid phone number",
            );
        }
        None => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "missing_field",
                Some(CLIENT_PHONE.canonical),
                "`phone` is required: the client's number",
            );
        }
    };
    let Some(member) = bridge.settings.staff.find(manager_ref) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "unknown_manager",
            Some(MANAGER.canonical),
            "this manager is not in the staff list (STAFF): add their CRM user id, e-mail and SIP login",
        );
    };
    let Some(extension) = member
        .extension
        .as_ref()
        .or(bridge.settings.click_to_call_extension.as_ref())
    else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "no_extension",
            Some(MANAGER.canonical),
            "no project number to call from: set the manager's `extension` in STAFF or CLICK_TO_CALL_EXTENSION",
        );
    };
    let Some(api) = &bridge.ringostat else {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "not_configured",
            None,
            "click-to-call needs RINGOSTAT_AUTH_KEY",
        );
    };
    let deadline = deadline_of(&request, bridge.settings.webhook_budget);
    match api
        .outward_call(extension.digits(), phone.digits(), deadline)
        .await
    {
        Ok(()) => {
            tracing::info!(event = "click_to_call", phone = %phone.masked(), manager = %member.crm_user.id, "call started");
            json_response(
                StatusCode::OK,
                &json!({"outcome": "calling", "manager": member.crm_user.id, "phone": phone.e164()}),
            )
        }
        Err(error) => {
            tracing::warn!(event = "click_to_call", phone = %phone.masked(), %error, "Ringostat refused the call");
            let (status, code) = match &error {
                RingostatApiError::Auth(_) => (StatusCode::BAD_GATEWAY, "ringostat_auth_failed"),
                RingostatApiError::Rejected { .. } => {
                    (StatusCode::BAD_GATEWAY, "ringostat_rejected")
                }
                RingostatApiError::Transient(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "ringostat_unavailable")
                }
                RingostatApiError::Config(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "not_configured")
                }
            };
            error_response(status, code, None, &error.to_string())
        }
    }
}

/// Size cap and shared secret; the error response otherwise.
#[allow(clippy::result_large_err)]
fn admit(expected: &Secret, request: &Request) -> Result<(), Response<Body>> {
    let presented = token_of(request);
    let expected = expected.expose().as_bytes();
    let valid = presented.is_some_and(|token| bool::from(token.as_bytes().ct_eq(expected)));
    if !valid {
        tracing::warn!(
            path = request.uri().path(),
            "request refused: wrong or missing token"
        );
        return Err(error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
            "unauthorized",
        ));
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Err(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            None,
            &format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The token from the `x-bridge-token` header, `Authorization: Bearer`, or `?token=`.
fn token_of(request: &Request) -> Option<String> {
    let headers = request.headers();
    if let Some(token) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(token.trim().to_owned());
    }
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(token.trim().to_owned());
    }
    query_pairs(request)
        .into_iter()
        .find(|(k, _)| k == TOKEN_PARAMETER)
        .map(|(_, v)| v)
}

/// Query parameters: API Gateway's parsed ones, else those of the URI.
fn query_pairs(request: &Request) -> Vec<(String, String)> {
    if let Some(params) = request
        .query_string_parameters_ref()
        .filter(|p| !p.is_empty())
    {
        return params
            .iter()
            .flat_map(|(k, _)| {
                params
                    .all(k)
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |v| (k.to_owned(), v.to_owned()))
            })
            .collect();
    }
    request
        .uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The query string as sent, for the payload parser.
fn raw_query(request: &Request) -> Option<String> {
    encode_query(query_pairs(request))
}

/// The query string without the shared secret.
fn query_without_token(request: &Request) -> Option<String> {
    let mut pairs = query_pairs(request);
    pairs.retain(|(k, _)| k != TOKEN_PARAMETER);
    encode_query(pairs)
}

fn encode_query(pairs: Vec<(String, String)>) -> Option<String> {
    (!pairs.is_empty()).then(|| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    })
}

fn content_type(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// The Lambda's deadline less a margin, or `budget` from now where there is none (local runs).
fn deadline_of(request: &Request, budget: Duration) -> Instant {
    let now = Instant::now();
    let Some(context) = request.lambda_context_ref() else {
        return now + budget;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    match context.deadline.checked_sub(now_ms) {
        // A zero deadline is a default context (tests, local invokes).
        Some(left) if context.deadline > 0 => {
            now + Duration::from_millis(left).saturating_sub(DEADLINE_MARGIN)
        }
        _ => now + budget,
    }
}

fn payload_error(error: &EventError) -> Response<Body> {
    let code = match error {
        EventError::Payload(_) => "invalid_payload",
        EventError::MissingField { .. } => "missing_field",
        EventError::InvalidField { .. } => "invalid_field",
    };
    error_response(
        StatusCode::BAD_REQUEST,
        code,
        error.field(),
        &error.to_string(),
    )
}

fn error_response(
    status: StatusCode,
    code: &str,
    field: Option<&str>,
    message: &str,
) -> Response<Body> {
    let mut body = json!({"error": code, "message": message});
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}
