//! Click-to-call: a CRM button asks Ringostat to connect a manager with a client.

use std::time::Duration;

use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::ringostat::RingostatApiError;
use bridge_domain::ringostat::Fields;
use bridge_domain::ringostat::fields::Field;
use bridge_domain::secret::Secret;
use bridge_domain::services::{ClickToCall, ClickToCallError};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::answer::{error_response, json_response};
use crate::auth::admit;
use crate::call_event::log_body_format;
use crate::request::{content_type, deadline_of, raw_query};

const MANAGER: Field = Field {
    canonical: "manager",
    keys: &["manager", "user", "crm_user_id", "email"],
};
const CLIENT_PHONE: Field = Field {
    canonical: "phone",
    keys: &["phone", "number", "client", "destination"],
};

/// What click-to-call needs.
pub struct ClickToCallApp {
    /// Click-to-call's own token where one is set, else the webhook token: the links live in
    /// the CRM, in front of every CRM user.
    pub token: Secret,
    pub service: ClickToCall,
    /// Time the call request may take when the Lambda deadline is unknown.
    pub budget: Duration,
}

pub async fn click_to_call(app: &ClickToCallApp, request: Request) -> Response<Body> {
    if let Err(response) = admit(&app.token, &request) {
        return response;
    }
    let query = raw_query(&request);
    let content_type = content_type(&request);
    let fields = match Fields::read_request(content_type, request.body().as_ref(), query.as_deref())
    {
        Ok((fields, format)) => {
            log_body_format("click_to_call", content_type, format);
            fields
        }
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                None,
                &error.to_string(),
            );
        }
    };
    let Some(manager) = fields.get(&MANAGER) else {
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
    let masked = phone.masked();
    let deadline = deadline_of(&request, app.budget);
    match app.service.call(manager, phone, deadline).await {
        Ok(calling) => {
            tracing::info!(event = "click_to_call", phone = %masked, manager = %calling.manager, "call started");
            json_response(
                StatusCode::OK,
                &json!({"outcome": "calling", "manager": calling.manager, "phone": calling.phone.e164()}),
            )
        }
        Err(error) => {
            if let ClickToCallError::Ringostat(e) = &error {
                tracing::warn!(event = "click_to_call", phone = %masked, error = %e, "Ringostat refused the call");
            }
            let (status, code, field) = match &error {
                ClickToCallError::UnknownManager => (
                    StatusCode::BAD_REQUEST,
                    "unknown_manager",
                    Some(MANAGER.canonical),
                ),
                ClickToCallError::NoExtension => (
                    StatusCode::BAD_REQUEST,
                    "no_extension",
                    Some(MANAGER.canonical),
                ),
                ClickToCallError::NotConfigured => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "not_configured", None)
                }
                ClickToCallError::Ringostat(e) => {
                    let (status, code) = ringostat_status(e);
                    (status, code, None)
                }
            };
            error_response(status, code, field, &error.to_string())
        }
    }
}

fn ringostat_status(error: &RingostatApiError) -> (StatusCode, &'static str) {
    match error {
        RingostatApiError::Auth(_) => (StatusCode::BAD_GATEWAY, "ringostat_auth_failed"),
        RingostatApiError::Rejected { .. } => (StatusCode::BAD_GATEWAY, "ringostat_rejected"),
        RingostatApiError::Transient(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "ringostat_unavailable")
        }
        RingostatApiError::Config(_) => (StatusCode::INTERNAL_SERVER_ERROR, "not_configured"),
    }
}
