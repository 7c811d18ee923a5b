//! Recovers calls whose webhooks never arrived, from Ringostat's call log (hourly, or invoked
//! by hand with `{"from": "2026-12-01T08:00:00Z", "to": "2026-12-01T10:00:00Z"}`);
//! `Bridge::reconcile`.

use bridge_core::bridge::Bridge;
use bridge_core::delivery::time_left_until;
use jiff::Timestamp;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    bridge_core::phone::warm_up();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let bridge = Bridge::shared().await?;
        let time_left = time_left_until(event.context.deadline);
        let instant = |key: &str| event.payload[key].as_str().map(str::parse::<Timestamp>);
        let report = match (instant("from"), instant("to")) {
            (Some(from), Some(to)) => bridge.reconcile(from?, to?, time_left).await?,
            _ => bridge.reconcile_recent(Timestamp::now(), time_left).await?,
        };
        tracing_report(&report);
        Ok::<Value, Error>(serde_json::to_value(report)?)
    }))
    .await
}

fn tracing_report(report: &bridge_core::reconcile::ReconcileReport) {
    lambda_runtime::tracing::info!(
        listed = report.listed,
        recovered = report.recovered,
        already_done = report.already_done,
        failed = report.failed,
        "reconciliation done"
    );
}
