//! Recovers calls whose webhooks never arrived, from Ringostat's call log (hourly, or invoked
//! by hand with `{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}`).

use bridge_core::bootstrap::{Stack, reconcile_event};
use bridge_core::webhook::run;

#[tokio::main]
async fn main() -> Result<(), run::Error> {
    run::scheduled("reconcile", Stack::from_env, reconcile_event).await
}
