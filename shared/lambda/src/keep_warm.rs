//! The keep-warm ping: an optional schedule (`SmartForwardKeepWarm` in template.yaml) invokes
//! the webhook number's function directly, so that one execution environment stays started
//! between calls.
//!
//! The ping is not an HTTP request: the scheduler invokes the function itself with
//! [`PING`] as the whole event, so it carries no webhook token. What makes it safe without one
//! is its shape: exactly `{"bridge": "keep-warm"}`, nothing else. Every request that comes
//! through API Gateway is API Gateway's event (`version`, `routeKey`, `requestContext`, …,
//! the caller's body a string inside it), which never has that shape, whatever the caller
//! sends. A ping answers `{"warm": true}`: the app is built if it was not yet (so the next
//! call finds the secrets read), and nothing else runs: no CRM, no DynamoDB, no call metrics.

use lambda_http::request::LambdaRequest;
use lambda_runtime::{BoxFuture, LambdaEvent, Service};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// The scheduler's payload (template.yaml's `SmartForwardKeepWarmSchedule` sends it).
pub const PING: &str = r#"{"bridge":"keep-warm"}"#;

/// An invocation of an HTTP function: API Gateway's event, or the keep-warm ping.
#[derive(Debug)]
pub enum Invocation {
    KeepWarm,
    Http(Box<LambdaRequest>),
}

/// [`PING`], and only it: an unknown field (any of API Gateway's) makes it something else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ping {
    bridge: PingKind,
}

#[derive(Deserialize)]
enum PingKind {
    #[serde(rename = "keep-warm")]
    KeepWarm,
}

impl<'de> Deserialize<'de> for Invocation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // lambda_http reads its events from raw JSON: keep it raw for whichever reads it.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if let Ok(Ping {
            bridge: PingKind::KeepWarm,
        }) = serde_json::from_str(raw.get())
        {
            return Ok(Self::KeepWarm);
        }
        serde_json::from_str::<LambdaRequest>(raw.get())
            .map(|request| Self::Http(Box::new(request)))
            .map_err(D::Error::custom)
    }
}

/// What an invocation answers: the HTTP response, or the ping's.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer<R> {
    Http(R),
    Warm(Warm),
}

/// The ping's answer.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Warm {
    pub warm: bool,
}

/// An HTTP function (`http`: lambda_http's adapter over its handler) that also answers the
/// keep-warm ping with `warm` (which builds the app, nothing more).
#[derive(Clone)]
pub struct OrKeepWarm<H, W> {
    pub http: H,
    pub warm: W,
}

impl<H, W, WF> Service<LambdaEvent<Invocation>> for OrKeepWarm<H, W>
where
    H: Service<LambdaEvent<LambdaRequest>>,
    H::Future: Send + 'static,
    H::Response: 'static,
    H::Error: 'static,
    W: Fn() -> WF,
    WF: Future<Output = ()> + Send + 'static,
{
    type Response = Answer<H::Response>;
    type Error = H::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<Invocation>) -> Self::Future {
        let LambdaEvent { payload, context } = event;
        match payload {
            Invocation::KeepWarm => {
                let warming = (self.warm)();
                Box::pin(async move {
                    warming.await;
                    tracing::debug!(event = "keep_warm", "keep-warm ping answered");
                    Ok(Answer::Warm(Warm { warm: true }))
                })
            }
            Invocation::Http(request) => {
                let answering = self.http.call(LambdaEvent::new(*request, context));
                Box::pin(async move { answering.await.map(Answer::Http) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use lambda_http::{Adapter, Body, Request, Response, service_fn};
    use serde_json::{Value, json};

    use super::*;

    /// An API Gateway (HTTP API, payload 2.0) event for `body` on `path`.
    fn gateway_event(path: &str, body: &str) -> Value {
        json!({
            "version": "2.0",
            "routeKey": format!("ANY {path}"),
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": "POST",
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "185.0.0.10",
                    "userAgent": "test"
                },
                "requestId": "id",
                "routeKey": format!("ANY {path}"),
                "stage": "$default",
                "time": "05/Apr/2024:11:30:02 +0000",
                "timeEpoch": 1712316602000_i64
            },
            "body": body,
            "isBase64Encoded": false
        })
    }

    /// The wrapped function over a handler that counts the requests it gets, and a warm-up
    /// that counts the pings; the answer of one invocation of `event`, as the runtime would
    /// write it.
    async fn invoke(event: &str) -> (Value, usize, usize) {
        let (requests, pings) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counted = requests.clone();
        let handler = service_fn(move |_request: Request| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(Response::new(Body::from("handled")))
            }
        });
        let warmed = pings.clone();
        let mut service = OrKeepWarm {
            http: Adapter::from(handler),
            warm: move || {
                let warmed = warmed.clone();
                async move {
                    warmed.fetch_add(1, Ordering::SeqCst);
                }
            },
        };
        let payload: Invocation = serde_json::from_str(event).unwrap();
        let answer = service
            .call(LambdaEvent::new(
                payload,
                lambda_runtime::Context::default(),
            ))
            .await
            .unwrap();
        (
            serde_json::to_value(answer).unwrap(),
            requests.load(Ordering::SeqCst),
            pings.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn the_schedulers_ping_is_answered_warm_without_the_handler() {
        let (answer, requests, pings) = invoke(PING).await;
        assert_eq!(answer, json!({"warm": true}));
        assert_eq!((requests, pings), (0, 1));
        // Whitespace and key order are the scheduler's business, not the shape.
        let (answer, requests, _) = invoke("{ \"bridge\" : \"keep-warm\" }\n").await;
        assert_eq!((answer, requests), (json!({"warm": true}), 0));
    }

    /// Whatever a caller sends through API Gateway (the ping as body, as path), it reaches
    /// the handler, which authenticates it as any request.
    #[tokio::test]
    async fn no_api_gateway_request_is_taken_for_the_ping() {
        for event in [
            gateway_event("/ringostat/smart-forward", PING),
            gateway_event("/keep-warm", PING),
            gateway_event("/ringostat/smart-forward", ""),
        ] {
            let (answer, requests, pings) = invoke(&event.to_string()).await;
            assert_eq!((requests, pings), (1, 0), "{event}");
            assert_eq!(answer["statusCode"], 200, "{answer}");
            assert_eq!(answer["body"], "handled", "{answer}");
        }
        // The ping's fields inside API Gateway's event make no ping either.
        let mut merged = gateway_event("/ringostat/smart-forward", "");
        merged["bridge"] = json!("keep-warm");
        let (_, requests, pings) = invoke(&merged.to_string()).await;
        assert_eq!((requests, pings), (1, 0));
    }

    #[test]
    fn anything_close_to_the_ping_is_no_ping() {
        for event in [
            r#"{"bridge":"keep-warm","extra":1}"#,
            r#"{"bridge":"warm"}"#,
            r#"{"bridge":true}"#,
            r#"{}"#,
        ] {
            // An error, or an HTTP request for the handler to refuse: never the ping.
            let parsed = serde_json::from_str::<Invocation>(event);
            assert!(!matches!(parsed, Ok(Invocation::KeepWarm)), "{event}");
        }
    }
}
