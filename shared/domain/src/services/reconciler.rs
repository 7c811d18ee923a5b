//! Reconciliation: calls whose webhooks never arrived, recovered from Ringostat's call log.
//!
//! A webhook can be lost (Ringostat gives up after 3 re-sends, the API was down, a filter was
//! wrong). The call log (`calls/list`) knows every call: each finished call in a window runs
//! through [`Delivery::deliver`], the webhooks' own idempotent path, so a call that did arrive
//! is found done and never written twice, and one that did not is logged now.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::DateTime;

use crate::deadline::Deadline;
use crate::ports::ledger::StoredAnswer;
use crate::ports::ringostat::{CallWindow, RingostatApiError, RingostatCallLog};
use crate::ringostat::{CallEvent, CallType, Direction, EventKind, Fields, ParseOptions};
use crate::services::delivery::{Delivery, DeliveryResult, RawEvent};
use crate::telemetry;
use tracing::Instrument;

/// What a reconciliation run found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    /// Calls in the log for the window.
    pub listed: usize,
    /// Still running (`IN PROGRESS`, `CALLING`): left for a later run.
    pub in_progress: usize,
    /// Their webhook had arrived (or is being handled right now): nothing written.
    pub already_done: usize,
    /// Recovered now: written to the CRM.
    pub recovered: usize,
    /// Left out by the event filters.
    pub filtered: usize,
    /// Failed now: parked for replay like a failed webhook.
    pub failed: usize,
    /// Rows the bridge cannot read (no call id or client number): logged, skipped.
    pub unreadable: usize,
    /// The time ran out before these rows.
    pub not_reached: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("reconciliation needs the Ringostat API key (RINGOSTAT_AUTH_KEY)")]
    NotConfigured,
    #[error("the window is empty or reversed")]
    EmptyWindow,
    #[error(transparent)]
    Ringostat(#[from] RingostatApiError),
}

/// Time one recovered call may take.
const CALL_BUDGET: Duration = Duration::from_secs(10);

pub struct Reconciler {
    /// `None`: no Ringostat API key configured.
    pub call_log: Option<Arc<dyn RingostatCallLog>>,
    pub delivery: Arc<Delivery>,
    pub parse: ParseOptions,
    /// How far back each scheduled run looks (overlapping runs are harmless).
    pub window: Duration,
    /// How recent calls it leaves to their webhooks.
    pub lag: Duration,
}

impl Reconciler {
    /// The scheduled run: the configured window, ending the configured lag before `now`.
    pub async fn reconcile_recent(
        &self,
        now: Timestamp,
        deadline: Deadline,
    ) -> Result<ReconcileReport, ReconcileError> {
        let span = |d: Duration| jiff::SignedDuration::try_from(d).unwrap_or_default();
        let to = now.saturating_sub(span(self.lag)).unwrap_or(now);
        let from = to.saturating_sub(span(self.window)).unwrap_or(to);
        self.reconcile(from, to, deadline).await
    }

    /// Recovers the calls of `[from, to]` (instants; the call log is asked in the project's
    /// time zone) while `deadline` leaves time for another call. The run is counted (its
    /// result, `ReconcileRuns`), the record of the last run.
    pub async fn reconcile(
        &self,
        from: Timestamp,
        to: Timestamp,
        deadline: Deadline,
    ) -> Result<ReconcileReport, ReconcileError> {
        let result = self.reconcile_window(from, to, deadline).await;
        telemetry::reconcile_run(result.is_ok());
        result
    }

    async fn reconcile_window(
        &self,
        from: Timestamp,
        to: Timestamp,
        deadline: Deadline,
    ) -> Result<ReconcileReport, ReconcileError> {
        let call_log = self
            .call_log
            .as_ref()
            .ok_or(ReconcileError::NotConfigured)?;
        if from >= to {
            return Err(ReconcileError::EmptyWindow);
        }
        let zone = &self.parse.time_zone;
        let local = |t: Timestamp| -> DateTime { zone.to_datetime(t) };
        let window = CallWindow {
            from: local(from),
            to: local(to),
        };
        let rows = call_log
            .calls_in_slices(window, deadline.less(CALL_BUDGET))
            .await?;
        let mut report = ReconcileReport {
            listed: rows.len(),
            ..ReconcileReport::default()
        };
        for (index, row) in rows.iter().enumerate() {
            if deadline.time_left() < CALL_BUDGET {
                report.not_reached = rows.len() - index;
                break;
            }
            if index > 0 && index % telemetry::CHECKPOINT_EVERY == 0 {
                telemetry::checkpoint();
            }
            let body = serde_json::to_vec(row).unwrap_or_default();
            let Ok(fields) = Fields::from_json(&body) else {
                report.unreadable += 1;
                continue;
            };
            let kind = match fields
                .get(&crate::ringostat::fields::CALL_TYPE)
                .map(CallType::parse)
                .and_then(|t| t.direction())
            {
                Some(Direction::Outgoing) => EventKind::AfterOutgoingCall,
                _ => EventKind::AfterCall,
            };
            let event = match CallEvent::from_fields(kind, &fields, &self.parse) {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(%error, "reconcile: call log row skipped");
                    report.unreadable += 1;
                    continue;
                }
            };
            if event.is_in_progress() {
                report.in_progress += 1;
                continue;
            }
            let raw = RawEvent {
                content_type: Some("application/json".into()),
                body,
                query: None,
            };
            // Every line this call's run logs carries it.
            let span = tracing::error_span!(
                "reconcile",
                function = "reconcile",
                event = kind.as_str(),
                call_id = %event.call_id,
            );
            let delivery = self
                .delivery
                .deliver(&raw, &event, Deadline::after(CALL_BUDGET), 1)
                .instrument(span)
                .await;
            match &delivery {
                DeliveryResult::Duplicate(_) | DeliveryResult::InProgress => {
                    report.already_done += 1;
                }
                DeliveryResult::Done(answer) if is_filtered(answer) => report.filtered += 1,
                DeliveryResult::Done(_) => {
                    tracing::info!(call_id = %event.call_id, phone = %event.client_phone.masked(), "reconcile: call recovered");
                    report.recovered += 1;
                }
                DeliveryResult::Failed { .. } => report.failed += 1,
            }
        }
        report.count();
        Ok(report)
    }
}

impl ReconcileReport {
    /// The rows of this run as `Reconciled` metrics, by outcome: `recovered` counts the calls
    /// whose webhooks never arrived (the reconciliation alarm).
    fn count(&self) {
        for (outcome, rows) in [
            ("recovered", self.recovered),
            ("already_done", self.already_done),
            ("filtered", self.filtered),
            ("failed", self.failed),
            ("in_progress", self.in_progress),
            ("unreadable", self.unreadable),
            ("not_reached", self.not_reached),
        ] {
            telemetry::reconciled(outcome, rows);
        }
    }
}

fn is_filtered(answer: &StoredAnswer) -> bool {
    serde_json::from_str::<serde_json::Value>(&answer.body)
        .is_ok_and(|body| body["outcome"] == "filtered")
}
