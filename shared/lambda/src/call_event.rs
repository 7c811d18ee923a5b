//! The call webhooks: before call, after call, after outgoing call, call processed by AI.

use std::time::Duration;

use bridge_domain::ringostat::{
    BodyFormat, CallEvent, EventError, EventKind, Fields, ParseOptions,
};
use bridge_domain::secret::Secret;
use bridge_domain::services::{Delivery, DeliveryResult, OutcomeKind, RawEvent};
use bridge_domain::telemetry::{self, outcome};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use crate::answer::{delivery_answer, json_response, payload_error};
use crate::auth::{admit, allow_methods};
use crate::request::{content_type, deadline_of, query_without_token, raw_query};
use crate::routes::WEBHOOK_METHODS;

/// What a call webhook needs.
pub struct WebhookApp {
    pub token: Secret,
    pub delivery: std::sync::Arc<Delivery>,
    pub parse: ParseOptions,
    /// Time a webhook may take when the Lambda deadline is unknown (local runs, tests).
    pub budget: Duration,
}

/// Handles one call webhook of `kind`.
pub async fn call_event(app: &WebhookApp, kind: EventKind, request: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let function = telemetry::function_of(kind);
    if let Err(response) = allow_methods(WEBHOOK_METHODS, &request) {
        return response;
    }
    if let Err(response) = admit(&app.token, &request) {
        return response;
    }
    let query = raw_query(&request);
    let content_type = content_type(&request);
    let parsed = Fields::read_request(content_type, request.body().as_ref(), query.as_deref())
        .map_err(EventError::from)
        .and_then(|(fields, format)| {
            log_body_format(kind.as_str(), content_type, format);
            CallEvent::from_fields(kind, &fields, &app.parse)
        });
    let event = match parsed {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(event = kind.as_str(), %error, "payload refused");
            telemetry::event(function, outcome::REFUSED);
            return payload_error(&error);
        }
    };
    let span = event_span(function, kind.as_str(), &event.call_id, &request);
    deliver(app, &event, &request, started)
        .instrument(span)
        .await
}

/// Runs a parsed event through the ledger, logs its one line and counts its outcome.
async fn deliver(
    app: &WebhookApp,
    event: &CallEvent,
    request: &Request,
    started: std::time::Instant,
) -> Response<Body> {
    let kind = event.kind;
    let deadline = deadline_of(request, app.budget);
    let raw = RawEvent {
        content_type: content_type(request).map(str::to_owned),
        body: request.body().to_vec(),
        // Parked events are stored: the shared secret stays out of them.
        query: query_without_token(request),
    };
    let delivery = app.delivery.deliver(&raw, event, deadline, 1).await;
    telemetry::event(telemetry::function_of(kind), outcome_word(&delivery));
    let (status, body) = delivery_answer(&delivery);
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let phone = event.client_phone.masked();
    let outcome = body["outcome"]
        .as_str()
        .unwrap_or(body["error"].as_str().unwrap_or(""));
    if let DeliveryResult::Failed { error, .. } = &delivery {
        tracing::error!(
            event = kind.as_str(),
            call_id = %event.call_id,
            phone = %phone,
            delivery = delivery.label(),
            status = status.as_u16(),
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
            status = status.as_u16(),
            outcome,
            contact_id = body["contact_id"].as_str().unwrap_or(""),
            ignored_fields = ?event.ignored_fields,
            elapsed_ms,
            "event handled"
        );
    }
    json_response(status, &body)
}

/// The `Outcome` dimension of a delivery.
fn outcome_word(delivery: &DeliveryResult) -> &'static str {
    match delivery {
        DeliveryResult::Done(answer) => serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|body| serde_json::from_value::<OutcomeKind>(body["outcome"].clone()).ok())
            .map_or(outcome::LOGGED, telemetry::outcome_of),
        DeliveryResult::Duplicate(_) => outcome::DUPLICATE,
        DeliveryResult::InProgress => outcome::BUSY,
        DeliveryResult::Failed { parked: true, .. } => outcome::PARKED,
        DeliveryResult::Failed { parked: false, .. } => outcome::FAILED,
    }
}

/// The span of one event: every line logged while it runs (the CRM's errors, retries, cache
/// misses) carries its function, event kind and Ringostat call id, and Lambda's request id
/// and X-Ray trace (`Root=…`) when there is one. At ERROR level, so that no log level
/// leaves a warning without its call.
pub(crate) fn event_span(
    function: &'static str,
    event: &'static str,
    call_id: &str,
    request: &Request,
) -> tracing::Span {
    let context = request.lambda_context_ref();
    let request_id = context.map_or("", |c| c.request_id.as_str());
    let trace = context
        .and_then(|c| c.xray_trace_id.as_deref())
        .and_then(|header| header.split(';').find(|part| part.starts_with("Root=")))
        .map_or("", |root| root.trim_start_matches("Root="));
    tracing::error_span!(
        "event",
        function,
        event,
        call_id,
        request_id,
        trace_id = trace,
    )
}

/// Logs how the body was read: at debug level, and at info level when the content decided
/// against the `Content-Type` (`curl -d '{…}'` sends JSON labelled as a form).
pub(crate) fn log_body_format(event: &str, content_type: Option<&str>, format: BodyFormat) {
    let contradicts = format.contradicts(content_type);
    let content_type = content_type.unwrap_or("");
    if contradicts {
        tracing::info!(
            event,
            body_format = format.as_str(),
            content_type,
            "body read by its content, not by its content type"
        );
    } else {
        tracing::debug!(
            event,
            body_format = format.as_str(),
            content_type,
            "body format"
        );
    }
}
