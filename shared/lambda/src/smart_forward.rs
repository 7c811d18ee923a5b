//! The webhook number: where Ringostat should ring this caller.

use bridge_domain::deadline::duration_ms;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ringostat::Fields;
use bridge_domain::ringostat::fields::{self, Field};
use bridge_domain::secret::Secret;
use bridge_domain::services::{ForwardDecision, ForwardReason, SmartForwarding};
use bridge_domain::settings::{ForwardFormat, ForwardSettings};
use bridge_domain::telemetry;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::answer::json_response;
use crate::auth::{admit, allow_methods};
use crate::call_event::{event_span, log_body_format};
use crate::request::{arrival_of, budget_deadline, content_type, raw_query};
use crate::routes::SMART_FORWARD_METHODS;

const JSON_RPC_ID: Field = Field {
    canonical: "id",
    keys: &["id"],
};

/// What the webhook number needs.
pub struct SmartForwardApp {
    pub token: Secret,
    pub forwarding: SmartForwarding,
    pub settings: ForwardSettings,
}

pub async fn smart_forward(app: &SmartForwardApp, request: Request) -> Response<Body> {
    // The budget, the log's time and the latency metric count from the request's arrival
    // (API Gateway's receipt), not from here: a cold start already spent part of it.
    let arrived = arrival_of(&request);
    if let Err(response) = allow_methods(SMART_FORWARD_METHODS, &request) {
        return response;
    }
    if let Err(response) = admit(&app.token, &request) {
        return response;
    }
    let settings = &app.settings;
    let query = raw_query(&request);
    let content_type = content_type(&request);
    let fields = match Fields::read_request(content_type, request.body().as_ref(), query.as_deref())
    {
        Ok((fields, format)) => {
            log_body_format("smart_forward", content_type, format);
            fields
        }
        Err(error) => {
            // The call is ringing: answer anyway (the fallback); the log says why.
            tracing::warn!(event = "smart_forward", %error, "body unreadable");
            Fields::default()
        }
    };
    let rpc_id = fields.get(&JSON_RPC_ID).map(str::to_owned);
    // Ringostat's id of the ringing call, to tie this answer to the call's other events.
    let call_id = fields::capped(fields.get(&fields::CALL_ID).unwrap_or(""), 64);
    let span = event_span(FUNCTION, "smart_forward", &call_id, &request);
    let (decision, reason) = route(app, &fields, &request, arrived)
        .instrument(span)
        .await;
    telemetry::smart_forward(reason, arrived.elapsed());
    forward_response(settings, decision, rpc_id)
}

/// The function's name (the `Function` dimension of its metrics, its span).
const FUNCTION: &str = "smart-forward";

/// The decision for the caller `fields` name, and the `Reason` it is counted under.
async fn route(
    app: &SmartForwardApp,
    fields: &Fields,
    request: &Request,
    arrived: std::time::Instant,
) -> (ForwardDecision, &'static str) {
    let settings = &app.settings;
    // A value longer than any number is not parsed at all (and routes to the fallback).
    let caller = fields
        .get(&fields::CALLER)
        .filter(|raw| raw.chars().count() <= fields::MAX_PHONE_CHARS)
        .map(PhoneNumber::parse);
    match caller {
        Some(Ok(caller)) => {
            let budget = budget_deadline(request, arrived, settings.budget);
            if budget.is_past() {
                // A CRM request with no time left would only fail (and count as `crm_error`)
                // while the caller waits: the fallback now, counted as what it is.
                tracing::warn!(
                    event = "smart_forward",
                    phone = %caller.masked(),
                    reason = "timeout",
                    waited_ms = duration_ms(arrived.elapsed()),
                    budget_ms = duration_ms(settings.budget),
                    "budget spent before the lookup could start (a cold start or a queue before \
                     the function): fallback answered without asking the CRM"
                );
                return (
                    ForwardDecision::fallback(ForwardReason::Timeout),
                    ForwardReason::Timeout.as_str(),
                );
            }
            let decision = app.forwarding.route(&caller, budget).await;
            tracing::info!(
                event = "smart_forward",
                phone = %caller.masked(),
                reason = ?decision.reason,
                destination = decision.destination.as_deref().unwrap_or(""),
                elapsed_ms = duration_ms(arrived.elapsed()),
                "call routed"
            );
            let reason = decision.reason.as_str();
            (decision, reason)
        }
        _ => {
            // Still an answer, not an error: the call is ringing. The log says what to fix.
            tracing::warn!(
                event = "smart_forward",
                "no usable caller number: send it as `caller` in the webhook number's parameters"
            );
            // Counted apart from an unknown caller: every call falls back until it is fixed.
            (
                ForwardDecision::fallback(ForwardReason::UnknownCaller),
                NO_CALLER,
            )
        }
    }
}

/// The `Reason` of an answer to a request without a usable caller number.
pub const NO_CALLER: &str = "no_caller";

fn forward_response(
    settings: &ForwardSettings,
    decision: ForwardDecision,
    rpc_id: Option<String>,
) -> Response<Body> {
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
