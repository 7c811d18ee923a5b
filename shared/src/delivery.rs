//! Exactly once, nothing lost: every call event runs through the [`Ledger`].
//!
//! A webhook claims its event, runs the flow and stores the answer; a re-sent event gets the
//! stored answer, a concurrent one a retryable 409. An event whose flow fails is parked with
//! its raw request and its claim released, so both Ringostat's re-sends and [`Bridge::replay`]
//! can run it again, and whichever comes first wins while the other finds it done.
//!
//! When the ledger's store is unreachable the event still runs (the CRM matters more than the
//! bookkeeping); a failure then answers 5xx so Ringostat keeps the event.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::bridge::{Bridge, Outcome};
use crate::phone::mask_long_numbers;
use crate::ports::crm::CrmError;
use crate::ports::ledger::{Claim, ParkedEvent, StoredAnswer, event_key};
use crate::ringostat::{CallEvent, EventKind};

/// The request as it arrived, kept to park and replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub query: Option<String>,
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The flow ran now.
    Done(StoredAnswer),
    /// It ran before: the answer of then.
    Duplicate(StoredAnswer),
    /// Another run holds the event.
    InProgress,
    /// The flow failed; `parked` says whether the event is kept for replay.
    Failed {
        error: String,
        transient: bool,
        parked: bool,
    },
}

impl Delivery {
    /// HTTP status and JSON body of the webhook's answer.
    pub fn answer(&self) -> (u16, Value) {
        match self {
            Self::Done(answer) | Self::Duplicate(answer) => (
                answer.status,
                serde_json::from_str(&answer.body).unwrap_or_else(|_| json!({})),
            ),
            // 409: Ringostat re-sends on any 4xx/5xx; by then the first run has finished.
            Self::InProgress => (
                409,
                json!({"error": "in_progress", "message": "this event is being processed; send it again later"}),
            ),
            Self::Failed {
                error,
                transient,
                parked,
            } => {
                let (status, code) = if *transient {
                    (503, "crm_unavailable")
                } else {
                    (502, "crm_rejected")
                };
                (
                    status,
                    json!({"error": code, "message": error, "parked": parked}),
                )
            }
        }
    }

    /// One word for the log line.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Done(_) => "done",
            Self::Duplicate(_) => "duplicate",
            Self::InProgress => "in_progress",
            Self::Failed { parked: true, .. } => "failed_parked",
            Self::Failed { parked: false, .. } => "failed",
        }
    }
}

/// What a replay run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayReport {
    /// Ran now and landed.
    pub landed: usize,
    /// Had landed meanwhile (a re-send from Ringostat): dropped from the parking lot.
    pub already_done: usize,
    /// Failed again: still parked.
    pub still_failing: usize,
    /// Held by a running webhook: left for the next run.
    pub in_progress: usize,
    /// Unreadable (it can never succeed): dropped, with an error log line.
    pub dropped: usize,
}

/// How long a completed event's answer is kept: Ringostat's manual re-send can come days later.
pub const ANSWER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

impl Bridge {
    /// Runs one parsed event exactly once.
    pub async fn deliver(
        &self,
        raw: &RawEvent,
        event: &CallEvent,
        deadline: Instant,
        attempts: u32,
    ) -> Delivery {
        let key = event_key(event.kind, &event.call_id);
        let until_ms = epoch_ms()
            + deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as i64;
        let claimed = match self.ledger.claim(&key, until_ms).await {
            Ok(Claim::Completed(answer)) => return Delivery::Duplicate(answer),
            Ok(Claim::InProgress) => return Delivery::InProgress,
            Ok(Claim::Acquired) => true,
            Err(e) => {
                tracing::warn!(error = %e, "ledger unavailable: running without idempotency");
                false
            }
        };
        match self.run(event, deadline).await {
            Ok(outcome) => {
                let answer = StoredAnswer {
                    status: 200,
                    body: serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".into()),
                };
                // The CRM has the call; without the record a re-send meets only the CRM's dedup.
                if claimed && let Err(e) = self.ledger.complete(&key, &answer, ANSWER_TTL).await {
                    tracing::warn!(error = %e, "ledger: completion not stored");
                }
                Delivery::Done(answer)
            }
            Err(error) => {
                let message = mask_long_numbers(&error.to_string());
                let parked = self
                    .ledger
                    .park(&ParkedEvent {
                        key: key.clone(),
                        kind: event.kind,
                        content_type: raw.content_type.clone(),
                        body: raw.body.clone(),
                        query: raw.query.clone(),
                        error: message.clone(),
                        parked_at: epoch_ms() / 1000,
                        attempts,
                    })
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "ledger: failed event not parked"))
                    .is_ok();
                if claimed && let Err(e) = self.ledger.release(&key).await {
                    tracing::warn!(error = %e, "ledger: claim not released (it expires)");
                }
                Delivery::Failed {
                    error: message,
                    transient: error.is_transient(),
                    parked,
                }
            }
        }
    }

    async fn run(&self, event: &CallEvent, deadline: Instant) -> Result<Outcome, CrmError> {
        match event.kind {
            EventKind::BeforeCall => self.before_call(event, deadline).await,
            EventKind::AfterCall | EventKind::AfterOutgoingCall => {
                self.after_call(event, deadline).await
            }
            EventKind::CallAnalysis => self.call_analysis(event, deadline).await,
        }
    }

    /// Runs parked events again, oldest first, while `time_left` allows another one.
    pub async fn replay(&self, limit: usize, time_left: impl Fn() -> Duration) -> ReplayReport {
        let mut report = ReplayReport::default();
        let parked = match self.ledger.parked(limit).await {
            Ok(parked) => parked,
            Err(e) => {
                tracing::error!(error = %e, "replay: parked events not readable");
                return report;
            }
        };
        for item in parked {
            if time_left() < REPLAY_EVENT_BUDGET {
                break;
            }
            let event = match CallEvent::from_request(
                item.kind,
                item.content_type.as_deref(),
                &item.body,
                item.query.as_deref(),
                &self.settings.parse,
            ) {
                Ok(event) => event,
                Err(error) => {
                    tracing::error!(key = %item.key, %error, "replay: unreadable event dropped");
                    self.unpark(&item.key).await;
                    report.dropped += 1;
                    continue;
                }
            };
            let raw = RawEvent {
                content_type: item.content_type.clone(),
                body: item.body.clone(),
                query: item.query.clone(),
            };
            let deadline = Instant::now() + REPLAY_EVENT_BUDGET;
            let delivery = self
                .deliver(&raw, &event, deadline, item.attempts.saturating_add(1))
                .await;
            tracing::info!(key = %item.key, outcome = delivery.label(), "replayed");
            match delivery {
                Delivery::Done(_) => {
                    self.unpark(&item.key).await;
                    report.landed += 1;
                }
                Delivery::Duplicate(_) => {
                    self.unpark(&item.key).await;
                    report.already_done += 1;
                }
                Delivery::InProgress => report.in_progress += 1,
                Delivery::Failed { .. } => report.still_failing += 1,
            }
        }
        report
    }

    async fn unpark(&self, key: &str) {
        if let Err(e) = self.ledger.unpark(key).await {
            tracing::warn!(error = %e, %key, "ledger: replayed event not unparked (it will be found done)");
        }
    }
}

/// Time one replayed event may take.
pub const REPLAY_EVENT_BUDGET: Duration = Duration::from_secs(10);

/// The time left until a Lambda deadline (epoch milliseconds, as `Context::deadline` gives it).
/// cargo-lambda's local runtime sends a duration there instead (`600000`): such a value counts
/// from now.
pub fn time_left_until(deadline_ms: u64) -> impl Fn() -> Duration {
    /// 2001-09-09 in epoch milliseconds: any real deadline is later.
    const EPOCH_FLOOR_MS: u64 = 1_000_000_000_000;
    let now = epoch_ms().max(0) as u64;
    let deadline_ms = if deadline_ms < EPOCH_FLOOR_MS {
        now.saturating_add(deadline_ms)
    } else {
        deadline_ms
    };
    move || Duration::from_millis(deadline_ms.saturating_sub(epoch_ms().max(0) as u64))
}

fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_epoch_milliseconds_or_a_local_runtimes_duration() {
        let in_a_minute = epoch_ms() as u64 + 60_000;
        let left = time_left_until(in_a_minute)();
        assert!(
            left > Duration::from_secs(55) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        let local = time_left_until(600_000)();
        assert!(local > Duration::from_secs(595), "{local:?}");
        assert_eq!(time_left_until(epoch_ms() as u64 - 1)(), Duration::ZERO);
    }
}
