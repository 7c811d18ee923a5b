//! The "before call" Ringostat webhook: delivered exactly once through the ledger.

use bridge_core::EventKind;
use bridge_core::bootstrap::webhook_app;
use bridge_core::webhook::{call_event, run};

#[tokio::main]
async fn main() -> Result<(), run::Error> {
    run::http(webhook_app, |app, request| {
        call_event(app, EventKind::BeforeCall, request)
    })
    .await
}
