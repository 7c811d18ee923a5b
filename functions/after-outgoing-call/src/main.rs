//! The "after outgoing call" Ringostat webhook; handler `bridge_core::webhook::call_event`.

use bridge_core::ringostat::EventKind;
use bridge_core::webhook;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    webhook::run(|bridge, request| {
        webhook::call_event(bridge, EventKind::AfterOutgoingCall, request)
    })
    .await
}
