//! The webhook number of smart forwarding: the caller's responsible manager, within budget.

use bridge_core::bootstrap::smart_forward_app;
use bridge_core::webhook::{run, smart_forward};

#[tokio::main]
async fn main() -> Result<(), run::Error> {
    run::http("smart-forward", smart_forward_app, smart_forward).await
}
