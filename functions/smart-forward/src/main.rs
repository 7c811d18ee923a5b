//! The webhook number of smart forwarding; handler `bridge_core::webhook::smart_forward`.

use bridge_core::webhook;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    webhook::run(webhook::smart_forward).await
}
