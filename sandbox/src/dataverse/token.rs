//! The Entra ID token endpoint (client credentials) and the tokens it issues.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::datetime::now_rfc3339;
use super::store::DataverseState;
use crate::{AppState, Credentials};

/// A refused token request, answered as Entra's error body.
#[derive(Debug)]
struct EntraError {
    error: &'static str,
    code: u32,
    description: String,
}

fn entra_error(error: &'static str, code: u32, description: &str) -> EntraError {
    EntraError {
        error,
        code,
        description: description.to_owned(),
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        entra_error_response(self.error, self.code, &self.description)
    }
}

/// An Entra ID error body (`error`, `error_description` with the AADSTS code, `error_codes`).
fn entra_error_response(error: &str, code: u32, description: &str) -> Response {
    let trace_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let correlation_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let timestamp = now_rfc3339();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        })),
    )
        .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`, client-credentials grant only. The real endpoint
/// answers a wrong secret with 401 `invalid_client`; the contract says 400, and the adapter
/// must treat both as an authentication failure.
pub(super) async fn token(
    State(app): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.lock().dataverse.token_requests += 1;
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut client_id = form.get("client_id").cloned();
    let mut client_secret = form.get("client_secret").cloned();
    // client_secret_basic: the credentials in an Authorization: Basic header.
    if let Some((id, secret)) = basic_credentials(&headers) {
        client_id = Some(id);
        client_secret = Some(secret);
    }
    match check_token_request(&app.credentials, &tenant, &form, client_id, client_secret) {
        Err(refused) => refused.into_response(),
        Ok(()) => {
            let (access_token, lifetime) = app.lock().dataverse.issue_token();
            let mut response = axum::Json(json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": access_token,
            }))
            .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

fn check_token_request(
    credentials: &Credentials,
    tenant: &str,
    form: &HashMap<String, String>,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<(), EntraError> {
    if tenant != credentials.dataverse_tenant {
        return Err(entra_error(
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(entra_error(
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
        None => {
            return Err(entra_error(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ));
        }
    }
    let Some(client_id) = client_id else {
        return Err(entra_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    if client_id != credentials.dataverse_client_id {
        return Err(entra_error(
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        ));
    }
    if client_secret.as_deref() != Some(credentials.dataverse_client_secret.as_str()) {
        return Err(entra_error(
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        ));
    }
    match form.get("scope") {
        Some(scope) if scope.ends_with("/.default") && scope.len() > "/.default".len() => Ok(()),
        Some(scope) => Err(entra_error(
            "invalid_scope",
            70011,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )),
        None => Err(entra_error(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(id), decode(secret)))
}

impl DataverseState {
    fn issue_token(&mut self) -> (String, u64) {
        let token = format!("sandbox-dv-{}", uuid::Uuid::new_v4().simple());
        let lifetime = self.token_lifetime_secs;
        self.tokens.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        );
        (token, lifetime)
    }

    pub(super) fn token_is_live(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }
}
