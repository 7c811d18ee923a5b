//! The Entra ID app-only token (client credentials): fetched on first use, cached until shortly
//! before it expires, shared by concurrent requests, dropped when the API refuses it.

use std::time::Duration;

use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::CrmError;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use tokio::time::Instant;

use super::Dataverse;
use crate::http::{self, Replay};

/// Refresh the token this long before Entra says it expires (clock skew, long requests).
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);

pub(super) struct CachedToken {
    secret: String,
    refresh_at: Instant,
}

impl Dataverse {
    /// The cached token, or a new one when there is none or it is about to expire.
    pub(super) async fn token(&self, deadline: Deadline) -> Result<String, CrmError> {
        // Held across the fetch: concurrent callers wait for one token instead of each
        // asking Entra for their own.
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.secret.clone());
        }
        let fresh = self.fetch_token(deadline).await?;
        let secret = fresh.secret.clone();
        *cached = Some(fresh);
        Ok(secret)
    }

    /// Drops the cached token if it is still the one that was refused.
    pub(super) async fn forget_token(&self, refused: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.secret == refused) {
            *cached = None;
        }
    }

    async fn fetch_token(&self, deadline: Deadline) -> Result<CachedToken, CrmError> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("client_secret", self.config.client_secret.expose())
            .append_pair("scope", &self.scope)
            .finish();
        // Asking for a token twice is harmless: Replay::Safe.
        let response = http::send(
            || {
                self.http
                    .post(&self.token_url)
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.clone())
            },
            Replay::Safe,
            &self.policy,
            deadline,
        )
        .await?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|_| CrmError::Transient("token response body could not be read".into()))?;
        if !status.is_success() {
            // Entra answers a wrong tenant, client, secret or scope with 400 or 401.
            return Err(CrmError::Auth(format!(
                "token request refused ({status}): {}",
                entra_message(&text)
            )));
        }
        let parsed: Value = serde_json::from_str(&text)
            .map_err(|_| CrmError::Auth("token response is not JSON".into()))?;
        let Some(secret) = parsed.get("access_token").and_then(Value::as_str) else {
            return Err(CrmError::Auth("token response has no access_token".into()));
        };
        // `expires_in` is a number from v2.0 and a string from the v1 endpoint.
        let lifetime = match parsed.get("expires_in") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .map_or(Duration::from_secs(3599), Duration::from_secs);
        Ok(CachedToken {
            secret: secret.to_owned(),
            refresh_at: Instant::now() + token_reuse_period(lifetime),
        })
    }
}

/// How long a token with `lifetime` is used before a new one is fetched.
pub(super) fn token_reuse_period(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(TOKEN_REFRESH_MARGIN.min(lifetime / 2))
}

/// Entra's `error: AADSTS…: message`, without the trace ids that follow.
pub(super) fn entra_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str);
    let description = parsed
        .as_ref()
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str)
        .map(|d| {
            d.split(" Trace ID:")
                .next()
                .unwrap_or(d)
                .lines()
                .next()
                .unwrap_or(d)
        });
    match (error, description) {
        (Some(error), Some(description)) => format!("{error}: {description}"),
        (Some(error), None) => error.to_owned(),
        _ => http::crm_message(body),
    }
}
