//! A fake of the AWS Parameters and Secrets Lambda Extension.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::SECRETS_TOKEN_HEADER;
use crate::AppState;

/// The 401 to answer when the session-token header is missing or empty.
fn refuse_token(headers: &HeaderMap) -> Option<Response> {
    let present = headers
        .get(SECRETS_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().is_empty());
    (!present).then(|| (StatusCode::UNAUTHORIZED, "not authorized").into_response())
}

pub(super) async fn get_parameter(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(response) = refuse_token(&headers) {
        return response;
    }
    let Some(name) = query.get("name").filter(|n| !n.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "ValidationException: name is required",
        )
            .into_response();
    };
    let decrypt = query
        .get("withDecryption")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let Some(stored) = state.lock().ringostat.parameters.get(name).cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            format!("ParameterNotFound: Parameter {name} not found."),
        )
            .into_response();
    };
    // Without decryption AWS returns the KMS ciphertext of a SecureString.
    let value = if decrypt {
        stored
    } else {
        "AQICAHhzYW5kYm94LWNpcGhlcnRleHQ=".to_owned()
    };
    let arn_name = name.trim_start_matches('/');
    axum::Json(json!({
        "Parameter": {
            "ARN": format!("arn:aws:ssm:eu-central-1:000000000000:parameter/{arn_name}"),
            "DataType": "text",
            "LastModifiedDate": "2025-01-10T12:00:00Z",
            "Name": name,
            "Selector": null,
            "SourceResult": null,
            "Type": "SecureString",
            "Value": value,
            "Version": 1
        },
        "ResultMetadata": {}
    }))
    .into_response()
}

pub(super) async fn get_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(response) = refuse_token(&headers) {
        return response;
    }
    let Some(id) = query.get("secretId").filter(|n| !n.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "ValidationException: secretId is required",
        )
            .into_response();
    };
    let Some(value) = state.lock().ringostat.secrets.get(id).cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        )
            .into_response();
    };
    axum::Json(json!({
        "ARN": format!("arn:aws:secretsmanager:eu-central-1:000000000000:secret:{id}-AbCdEf"),
        "CreatedDate": "2025-01-10T12:00:00Z",
        "Name": id,
        "SecretBinary": null,
        "SecretString": value,
        "VersionId": "00000000-0000-4000-8000-000000000001",
        "VersionStages": ["AWSCURRENT"],
        "ResultMetadata": {}
    }))
    .into_response()
}
