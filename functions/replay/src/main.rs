//! Re-drives parked events (on a schedule, or invoked by hand); `Bridge::replay`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bridge_core::bridge::Bridge;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

/// Parked events read per run; the rest wait for the next run.
const BATCH: usize = 200;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let bridge = Bridge::shared().await?;
        let deadline_ms = event.context.deadline;
        let time_left = || {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            Duration::from_millis(deadline_ms.saturating_sub(now_ms))
        };
        let report = bridge.replay(BATCH, time_left).await;
        Ok::<Value, Error>(serde_json::to_value(report)?)
    }))
    .await
}
