//! Exactly once, nothing lost: every call event runs through the [`Ledger`].
//!
//! A webhook claims its event, runs its handler and stores the outcome; a re-sent event gets
//! the stored outcome, a concurrent one [`DeliveryResult::InProgress`]. An event whose handler
//! fails is parked with its raw request and its claim released, so both Ringostat's re-sends
//! and [`Delivery::replay`] can run it again, and whichever comes first wins while the other
//! finds it done.
//!
//! When the ledger's store is unreachable the event still runs (the CRM matters more than the
//! bookkeeping); a failure then leaves the event with Ringostat's re-sends.

use std::sync::Arc;
use std::time::Duration;

use crate::deadline::{Deadline, epoch_ms};
use crate::ports::ledger::{Claim, Held, Ledger, Owner, ParkedEvent, StoredAnswer, event_key};
use crate::redact::log_text;
use crate::ringostat::{CallEvent, ParseOptions};
use crate::services::guard::within;
use crate::services::handlers::{Attempt, EventHandlers};
use crate::services::outcome::OutcomeKind;
use crate::telemetry::{self, ReplayOutcome};
use tracing::Instrument;

/// The request as it arrived, kept to park and replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub query: Option<String>,
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The handler ran now.
    Done(StoredAnswer),
    /// It ran before: the outcome of then.
    Duplicate(StoredAnswer),
    /// Another run holds the event.
    InProgress,
    /// The handler failed; `parked` says whether the event is kept for replay.
    Failed {
        error: String,
        transient: bool,
        parked: bool,
    },
}

impl DeliveryResult {
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
    /// Why the parked events could not be read at all (nothing was replayed); `None` when
    /// they were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl ReplayReport {
    fn count(&mut self, outcome: ReplayOutcome) {
        let tally = match outcome {
            ReplayOutcome::Landed => &mut self.landed,
            ReplayOutcome::AlreadyDone => &mut self.already_done,
            ReplayOutcome::StillFailing => &mut self.still_failing,
            ReplayOutcome::InProgress => &mut self.in_progress,
            ReplayOutcome::Dropped => &mut self.dropped,
        };
        *tally += 1;
    }
}

/// How long a completed event's outcome is kept: Ringostat's manual re-send can come days later.
pub const ANSWER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Time a claim outlives its run's deadline: the completion (or release) write after the run.
pub const COMPLETION_MARGIN_MS: i64 = 2_000;

/// Time one replayed event may take.
pub const REPLAY_EVENT_BUDGET: Duration = Duration::from_secs(10);

pub struct Delivery {
    pub ledger: Arc<dyn Ledger>,
    pub handlers: EventHandlers,
    /// To read parked events again.
    pub parse: ParseOptions,
}

impl Delivery {
    /// Runs one parsed event exactly once; its store calls end by `deadline` and stop after
    /// the first store failure ([`within`]).
    pub async fn deliver(
        &self,
        raw: &RawEvent,
        event: &CallEvent,
        deadline: Deadline,
        attempts: u32,
    ) -> DeliveryResult {
        within(deadline, self.deliver_now(raw, event, deadline, attempts)).await
    }

    async fn deliver_now(
        &self,
        raw: &RawEvent,
        event: &CallEvent,
        deadline: Deadline,
        attempts: u32,
    ) -> DeliveryResult {
        let key = event_key(event.kind, &event.call_id);
        let owner = Owner::new();
        // The claim outlives the run by the time its completion write needs: a run that
        // completes at its deadline still owns the key when it writes.
        let until_ms = deadline.epoch_ms().saturating_add(COMPLETION_MARGIN_MS);
        let (claimed, attempt) = match self.ledger.claim(&key, &owner, until_ms).await {
            Ok(Claim::Completed(answer)) => return DeliveryResult::Duplicate(answer),
            Ok(Claim::InProgress) => return DeliveryResult::InProgress,
            Ok(Claim::Acquired { recheck }) => (true, Attempt { recheck }),
            Err(e) => {
                tracing::warn!(error = %e, "ledger unavailable: running without idempotency");
                // Without the ledger nobody knows whether an earlier run wrote: check.
                (false, Attempt { recheck: true })
            }
        };
        if attempt.recheck {
            tracing::info!(key = %key, "an earlier run may have written: checking the CRM first");
        }
        match self.handlers.handle(event, attempt, deadline).await {
            Ok(outcome) => {
                let answer = StoredAnswer {
                    body: serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".into()),
                };
                if outcome.outcome == OutcomeKind::InProgress {
                    // Nothing was written: the call's final event (same key) must still run.
                    if claimed {
                        self.release(&key, &owner, attempt.recheck).await;
                    }
                } else if claimed {
                    // The CRM has the call; without the record a re-send meets only the CRM's
                    // own dedup (or its recheck).
                    match self
                        .ledger
                        .complete(&key, &owner, &answer, ANSWER_TTL)
                        .await
                    {
                        Ok(Held::Yes) => {}
                        Ok(Held::No) => {
                            tracing::warn!(key = %key, "ledger: the claim had expired; another run owns the event")
                        }
                        Err(e) => tracing::warn!(error = %e, "ledger: completion not stored"),
                    }
                }
                DeliveryResult::Done(answer)
            }
            Err(error) => {
                let message = log_text(&error.to_string());
                let now = i64::try_from(epoch_ms() / 1000).unwrap_or(i64::MAX);
                let parked = self
                    .ledger
                    .park(&ParkedEvent {
                        key: key.clone(),
                        kind: event.kind,
                        content_type: raw.content_type.clone(),
                        body: raw.body.clone(),
                        query: raw.query.clone(),
                        error: message.clone(),
                        parked_at: now,
                        // The ledger keeps an earlier parking's.
                        first_parked_at: now,
                        attempts,
                    })
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "ledger: failed event not parked"))
                    .is_ok();
                if claimed {
                    self.release(&key, &owner, error.is_ambiguous() || attempt.recheck)
                        .await;
                }
                DeliveryResult::Failed {
                    error: message,
                    transient: error.is_transient(),
                    parked,
                }
            }
        }
    }

    /// Runs parked events again, oldest first, while `deadline` leaves time for another one.
    pub async fn replay(&self, limit: usize, deadline: Deadline) -> ReplayReport {
        let mut report = ReplayReport::default();
        let parked = match self.ledger.parked(limit).await {
            Ok(parked) => parked,
            Err(e) => {
                tracing::error!(error = %e, "replay: parked events not readable");
                report.unreadable = Some(e.to_string());
                return report;
            }
        };
        let now = i64::try_from(epoch_ms() / 1000).unwrap_or(i64::MAX);
        let oldest = parked.iter().map(|item| item.first_parked_at).min();
        let oldest_age = oldest.map(|since| {
            Duration::from_secs(u64::try_from(now.saturating_sub(since)).unwrap_or(0))
        });
        telemetry::parked(parked.len(), oldest_age);
        for (index, item) in parked.into_iter().enumerate() {
            if deadline.time_left() < REPLAY_EVENT_BUDGET {
                break;
            }
            if index > 0 && index % telemetry::CHECKPOINT_EVERY == 0 {
                telemetry::checkpoint();
            }
            // Every line this event's run logs carries its call and its first failure.
            let span = tracing::error_span!(
                "replay",
                function = "replay",
                event = item.kind.as_str(),
                call_id = item.key.split_once('#').map_or("", |(_, id)| id),
                parked_since = item.first_parked_at,
            );
            let outcome = self.replay_item(&item).instrument(span).await;
            report.count(outcome);
            telemetry::replayed(outcome);
        }
        report
    }

    /// Runs one parked event again.
    async fn replay_item(&self, item: &ParkedEvent) -> ReplayOutcome {
        let event = match CallEvent::from_request(
            item.kind,
            item.content_type.as_deref(),
            &item.body,
            item.query.as_deref(),
            &self.parse,
        ) {
            Ok(event) => event,
            Err(error) => {
                tracing::error!(key = %item.key, %error, "replay: unreadable event dropped");
                self.unpark(&item.key).await;
                return ReplayOutcome::Dropped;
            }
        };
        let raw = RawEvent {
            content_type: item.content_type.clone(),
            body: item.body.clone(),
            query: item.query.clone(),
        };
        let delivery = self
            .deliver(
                &raw,
                &event,
                Deadline::after(REPLAY_EVENT_BUDGET),
                item.attempts.saturating_add(1),
            )
            .await;
        tracing::info!(key = %item.key, outcome = delivery.label(), "replayed");
        match delivery {
            DeliveryResult::Done(_) => {
                self.unpark(&item.key).await;
                ReplayOutcome::Landed
            }
            DeliveryResult::Duplicate(_) => {
                self.unpark(&item.key).await;
                ReplayOutcome::AlreadyDone
            }
            DeliveryResult::InProgress => ReplayOutcome::InProgress,
            DeliveryResult::Failed { .. } => ReplayOutcome::StillFailing,
        }
    }

    /// Lets go of this run's claim; `ambiguous`: the next run must recheck the CRM.
    async fn release(&self, key: &str, owner: &Owner, ambiguous: bool) {
        match self.ledger.release(key, owner, ambiguous).await {
            Ok(Held::Yes) => {}
            Ok(Held::No) => tracing::warn!(%key, "ledger: the claim had expired; nothing released"),
            Err(e) => tracing::warn!(error = %e, "ledger: claim not released (it expires)"),
        }
    }

    async fn unpark(&self, key: &str) {
        if let Err(e) = self.ledger.unpark(key).await {
            tracing::warn!(error = %e, %key, "ledger: replayed event not unparked (it will be found done)");
        }
    }
}
