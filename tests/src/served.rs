//! The rig's HTTP functions on a loopback port, routed as the deployed HTTP API routes them:
//! for tools that need a URL (`bridge-ops smoke`).

use std::sync::Arc;

use crm_sandbox::axum::Router;
use crm_sandbox::axum::body::{Body, to_bytes};
use crm_sandbox::axum::extract::{Request, State};
use crm_sandbox::axum::http::StatusCode;
use crm_sandbox::axum::response::{IntoResponse, Response};
use crm_sandbox::conn;

use crate::rig::Rig;

/// A body larger than any function accepts (they refuse over 64 KiB themselves).
const MAX_BODY: usize = 1024 * 1024;

/// The rig behind `url` until dropped.
pub struct ServedRig {
    /// `http://127.0.0.1:<port>`, the stack output `BaseUrl` of this rig.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ServedRig {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves every HTTP function of `rig` on a free loopback port.
pub async fn serve(rig: Arc<Rig>) -> ServedRig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let url = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    let app = Router::new().fallback(function).with_state(rig);
    let task = tokio::spawn(async move {
        let _ = conn::serve(listener, app).await;
    });
    ServedRig { url, task }
}

/// One request, answered by the function its path routes to; 404 as API Gateway answers a
/// path no route has.
async fn function(State(rig): State<Arc<Rig>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let request = lambda_http::Request::from_parts(parts, lambda_http::Body::from(bytes.to_vec()));
    let Some(response) = rig.apps.serve(request).await else {
        return (StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#).into_response();
    };
    let (parts, body) = response.into_parts();
    let body: &[u8] = body.as_ref();
    Response::from_parts(parts, Body::from(body.to_vec()))
}
