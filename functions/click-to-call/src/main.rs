//! Click-to-call from a CRM button; handler `bridge_core::webhook::click_to_call`.

use bridge_core::webhook;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    webhook::run(webhook::click_to_call).await
}
