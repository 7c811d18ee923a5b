//! Who may call: the HTTP method, the shared secret (compared in constant time) and the body
//! size cap. Click-to-call takes no shared secret at all: its links are signed
//! (`bridge_domain::services::click_to_call`), and a token it is shown is refused.

use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use subtle::ConstantTimeEq;

use bridge_domain::secret::Secret;

use crate::answer::error_response;
use crate::request::query_pairs;

/// Largest body accepted: a Ringostat webhook is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Header that carries the shared secret when the query string does not.
pub const TOKEN_HEADER: &str = "x-bridge-token";
/// Query parameter that carries the shared secret (Ringostat can only add URL parameters).
pub const TOKEN_PARAMETER: &str = "token";

/// Size cap and shared secret; the error response otherwise.
#[allow(clippy::result_large_err)]
pub fn admit(expected: &Secret, request: &Request) -> Result<(), Response<Body>> {
    let presented = token_of(request);
    let expected = expected.expose().as_bytes();
    let valid = presented.is_some_and(|token| bool::from(token.as_bytes().ct_eq(expected)));
    if !valid {
        tracing::warn!(
            path = request.uri().path(),
            "request refused: wrong or missing token"
        );
        return Err(unauthorized());
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

/// The method check: 405 JSON naming the accepted methods (and `Allow`) for any other.
#[allow(clippy::result_large_err)]
pub fn allow_methods(allowed: &[&str], request: &Request) -> Result<(), Response<Body>> {
    let method = request.method().as_str();
    if allowed.contains(&method) {
        return Ok(());
    }
    tracing::warn!(
        path = request.uri().path(),
        method,
        "request refused: method not allowed"
    );
    let allow = allowed.join(", ");
    let mut response = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
        &format!("{method} is not accepted here: use {allow}"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Err(response)
}

/// Whether the request carries a shared-secret token in any of the places [`admit`] reads.
pub fn presents_token(request: &Request) -> bool {
    token_of(request).is_some()
}

/// The one answer to a wrong or missing token: it says nothing about what was expected, nor
/// about the function's state (a function whose configuration is broken answers the same).
pub fn unauthorized() -> Response<Body> {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        None,
        "unauthorized",
    )
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
