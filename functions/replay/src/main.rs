//! Re-drives parked events (on a schedule, or invoked by hand); `Bridge::replay`.

use bridge_core::bridge::Bridge;
use bridge_core::delivery::time_left_until;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

/// Parked events read per run; the rest wait for the next run.
const BATCH: usize = 200;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    bridge_core::phone::warm_up();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let bridge = Bridge::shared().await?;
        let report = bridge
            .replay(BATCH, time_left_until(event.context.deadline))
            .await;
        Ok::<Value, Error>(serde_json::to_value(report)?)
    }))
    .await
}
