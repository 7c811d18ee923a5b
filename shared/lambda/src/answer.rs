//! Typed outcomes → HTTP answers: the one place that knows status codes.

use bridge_domain::ringostat::EventError;
use bridge_domain::services::DeliveryResult;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Value, json};

/// Status and JSON body of a call webhook's answer.
pub fn delivery_answer(delivery: &DeliveryResult) -> (StatusCode, Value) {
    match delivery {
        DeliveryResult::Done(answer) | DeliveryResult::Duplicate(answer) => (
            StatusCode::OK,
            serde_json::from_str(&answer.body).unwrap_or_else(|_| json!({})),
        ),
        // 409: Ringostat re-sends on any 4xx/5xx; by then the first run has finished.
        DeliveryResult::InProgress => (
            StatusCode::CONFLICT,
            json!({"error": "in_progress", "message": "this event is being processed; send it again later"}),
        ),
        DeliveryResult::Failed {
            error,
            transient,
            parked,
        } => {
            let (status, code) = if *transient {
                (StatusCode::SERVICE_UNAVAILABLE, "crm_unavailable")
            } else {
                (StatusCode::BAD_GATEWAY, "crm_rejected")
            };
            (
                status,
                json!({"error": code, "message": error, "parked": parked}),
            )
        }
    }
}

/// 400 naming the field a payload lacks or garbles.
pub fn payload_error(error: &EventError) -> Response<Body> {
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

pub fn error_response(
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

pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}
