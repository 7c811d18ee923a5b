//! Dataverse's error body and the messages it uses for common refusals.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::schema::Entity;

/// A Dataverse error, answered as `{"error":{"code":…,"message":…}}`. A value of its own
/// rather than a `Response`, which is too big to pass around in every `Err`.
#[derive(Debug)]
pub(super) struct ApiError {
    pub(super) status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

pub(super) fn dv_error(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError {
        status,
        code,
        message: message.to_owned(),
    }
}

pub(super) fn bad_request(message: &str) -> ApiError {
    dv_error(StatusCode::BAD_REQUEST, "0x80060888", message)
}

pub(super) fn does_not_exist(entity: Entity, id: &str) -> String {
    format!("{} With Id = {id} Does Not Exist", entity.spec().logical)
}

pub(super) fn invalid_property(entity: Entity, name: &str) -> ApiError {
    bad_request(&format!(
        "Invalid property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{}'.",
        entity.spec().logical
    ))
}

pub(super) fn undeclared_navigation(name: &str) -> ApiError {
    bad_request(&format!(
        "An undeclared property '{name}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values."
    ))
}

pub(super) fn unknown_property(entity: Entity, name: &str) -> ApiError {
    bad_request(&format!(
        "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{}'.",
        entity.spec().logical
    ))
}
