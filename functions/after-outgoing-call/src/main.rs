//! The "after outgoing call" Ringostat webhook: delivered exactly once through the ledger.

use bridge_core::EventKind;
use bridge_core::bootstrap::webhook_app;
use bridge_core::webhook::run;

#[tokio::main]
async fn main() -> Result<(), run::Error> {
    run::call_webhook(EventKind::AfterOutgoingCall, webhook_app).await
}
