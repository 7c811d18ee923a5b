//! Click-to-call from a CRM button: a confirmation page, then Ringostat rings the manager and
//! the client. Links no CRM adapter; DynamoDB only for its call counters.

use bridge_core::bootstrap::click_to_call_app;
use bridge_core::webhook::{click_to_call, run};

#[tokio::main]
async fn main() -> Result<(), run::Error> {
    run::http("click-to-call", click_to_call_app, click_to_call).await
}
