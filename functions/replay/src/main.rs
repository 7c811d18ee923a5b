//! Re-drives parked events (on a schedule, or invoked by hand); `Delivery::replay`.

use bridge_core::bootstrap::Stack;
use bridge_core::webhook::run;

/// Parked events read per run; the rest wait for the next run.
const BATCH: usize = 200;

#[tokio::main]
async fn main() -> Result<(), run::Error> {
    run::scheduled(
        "replay",
        Stack::from_env,
        |stack, _event, deadline| async move {
            Ok::<_, std::convert::Infallible>(stack.delivery.replay(BATCH, deadline).await)
        },
    )
    .await
}
