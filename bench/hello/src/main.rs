//! The cold-start baseline of `bench/run`: cargo-lambda's default HTTP template (default
//! tracing subscriber, one `service_fn`), answering every request with a constant JSON body.
//! No configuration, no SDK, no TLS, no I/O.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(|_request: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"hello":"world"}"#))
            .map_err(Error::from)
    }))
    .await
}
