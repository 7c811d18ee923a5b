//! The "before call" Ringostat webhook; the handler is `bridge_core::webhook::call_event`.

use bridge_core::ringostat::EventKind;
use bridge_core::webhook;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    webhook::run(|bridge, request| webhook::call_event(bridge, EventKind::BeforeCall, request))
        .await
}
