//! What the bridge counts and times, for the operators' dashboard and alarms.
//!
//! Every metric goes through the `metrics` facade: without a recorder (tests of the domain,
//! `bridge-ops`) it costs nothing; the Lambda functions install the CloudWatch Embedded Metric
//! Format backend (`bridge_lambda::metrics`), which writes the values accumulated during an
//! invocation as JSON lines on stdout when the invocation ends.
//!
//! Names and dimensions are fixed here, once, and template.yaml's alarms and dashboard name
//! them the same way (tests/template/test_alarms.py). Dimensions are few and their values come
//! from closed lists (function names, outcomes, reasons, operations), never from a caller: a
//! custom metric is billed per name and dimension combination, so a phone number or a call id
//! as a dimension would create a metric per call. Every metric has at least one dimension.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use crate::ringostat::EventKind;
use crate::services::outcome::OutcomeKind;

/// Metric names.
pub mod name {
    /// A call webhook's event, by `Function` and `Outcome` ([`super::outcome`]).
    pub const EVENTS: &str = "Events";
    /// The same events by `Result` only (`delivered` or `failed`): the failure-rate alarm's
    /// two series.
    pub const EVENT_RESULTS: &str = "EventResults";
    /// A smart-forward answer, by `Reason` (`ForwardReason`, or `no_caller`).
    pub const SMART_FORWARD_ANSWERS: &str = "SmartForwardAnswers";
    /// Time to a smart-forward answer (ms), `Function` = smart-forward.
    pub const SMART_FORWARD_LATENCY: &str = "SmartForwardLatency";
    /// A click-to-call request, by `Decision` (the `x-bridge-decision` word).
    pub const CLICK_TO_CALL_REQUESTS: &str = "ClickToCallRequests";
    /// A CRM port call (one operation, its retries included), by `CRM` and `Operation`.
    pub const CRM_REQUESTS: &str = "CrmRequests";
    /// A CRM port call that failed, by `CRM` and `Operation`.
    pub const CRM_ERRORS: &str = "CrmErrors";
    /// Time a CRM port call took (ms), by `CRM`.
    pub const CRM_LATENCY: &str = "CrmLatency";
    /// An HTTP 429 answer, retried or not, by `Service` (nethunt, dataverse, ringostat, secrets).
    pub const HTTP_THROTTLES: &str = "HttpThrottles";
    /// An HTTP request sent again after a throttle or a transient failure, by `Service`.
    pub const HTTP_RETRIES: &str = "HttpRetries";
    /// A parked event the replay ran, by `Outcome` ([`super::ReplayOutcome`]).
    pub const REPLAYED: &str = "Replayed";
    /// Parked events the replay found when it started (at most its batch), `Function` = replay.
    pub const PARKED_EVENTS: &str = "ParkedEvents";
    /// Age (s) of the oldest parked event when the replay started, counted from its first
    /// failure, `Function` = replay.
    pub const OLDEST_PARKED_AGE: &str = "OldestParkedAge";
    /// A call-log row the reconciliation handled, by `Outcome` (`recovered`: a call whose
    /// webhooks never arrived, written now).
    pub const RECONCILED: &str = "Reconciled";
    /// A reconciliation run, by `Result` (`ok`: the call log was read and its rows handled;
    /// `failed`: it could not be): the record of the last run `bridge-ops status` shows.
    pub const RECONCILE_RUNS: &str = "ReconcileRuns";
    /// Time (ms) from the process start until the function could answer (its app built), by
    /// `Function`: one value per new execution environment, so its sample count is the number
    /// of cold starts (no second metric to pay for).
    pub const INIT_DURATION: &str = "InitDuration";
}

/// Dimension names.
pub mod dimension {
    pub const FUNCTION: &str = "Function";
    pub const OUTCOME: &str = "Outcome";
    pub const RESULT: &str = "Result";
    pub const REASON: &str = "Reason";
    pub const DECISION: &str = "Decision";
    pub const CRM: &str = "CRM";
    pub const OPERATION: &str = "Operation";
    pub const SERVICE: &str = "Service";
}

/// A call webhook's outcome, as the `Outcome` dimension of [`name::EVENTS`].
pub mod outcome {
    /// Written to the CRM: a call record, a contact made ready, an analysis added.
    pub const LOGGED: &str = "logged";
    /// A re-sent event: the ledger had its answer, or the CRM already had the record.
    pub const DUPLICATE: &str = "duplicate";
    /// The event's filter excludes the call.
    pub const FILTERED: &str = "filtered";
    /// Nothing to write yet: the call is still running, or the AI event had no analysis.
    pub const SKIPPED: &str = "skipped";
    /// Another run of the same event holds it (409; Ringostat re-sends it).
    pub const BUSY: &str = "busy";
    /// Failed and kept for the replay.
    pub const PARKED: &str = "parked";
    /// Failed and not parked (the store was unreachable): only Ringostat's re-sends are left.
    pub const FAILED: &str = "failed";
    /// The payload could not be read (400).
    pub const REFUSED: &str = "refused";
    /// The function could not start (its configuration): the event was parked if it could be.
    pub const NOT_CONFIGURED: &str = "not_configured";

    /// Every outcome, and whether it counts as a failure in [`super::name::EVENT_RESULTS`].
    pub const ALL: [(&str, Option<bool>); 9] = [
        (LOGGED, Some(false)),
        (DUPLICATE, Some(false)),
        (FILTERED, Some(false)),
        (SKIPPED, Some(false)),
        // Neither: the run that holds the event decides.
        (BUSY, None),
        (PARKED, Some(true)),
        (FAILED, Some(true)),
        (REFUSED, Some(true)),
        (NOT_CONFIGURED, Some(true)),
    ];
}

/// The `Outcome` of a call webhook whose event ran to `outcome` (now, or before: the answer
/// the ledger kept for a re-send is [`outcome::DUPLICATE`], not this).
pub fn outcome_of(outcome: OutcomeKind) -> &'static str {
    match outcome {
        OutcomeKind::ContactReady | OutcomeKind::CallLogged | OutcomeKind::AnalysisAdded => {
            outcome::LOGGED
        }
        OutcomeKind::AlreadyLogged => outcome::DUPLICATE,
        OutcomeKind::Filtered => outcome::FILTERED,
        OutcomeKind::NoAnalysis | OutcomeKind::InProgress => outcome::SKIPPED,
    }
}

/// The function that serves `kind` (its directory under `functions/`), the `Function`
/// dimension of the call webhooks.
pub fn function_of(kind: EventKind) -> &'static str {
    match kind {
        EventKind::BeforeCall => "before-call",
        EventKind::AfterCall => "after-call",
        EventKind::AfterOutgoingCall => "after-outgoing-call",
        EventKind::CallAnalysis => "call-analysis",
    }
}

/// What writes the metrics counted so far: the backend's flush, installed with it.
static CHECKPOINT: OnceLock<fn()> = OnceLock::new();

/// Installs `flush` as what [`checkpoint`] runs (once per process; later calls are ignored).
pub fn on_checkpoint(flush: fn()) {
    let _ = CHECKPOINT.set(flush);
}

/// Writes the metrics counted so far, when a backend is installed. A run of many events
/// (replay, reconcile) calls it every [`CHECKPOINT_EVERY`] events: one metrics line holds at
/// most 100 values of a metric (a latency per CRM call), and the backend drops the rest.
pub fn checkpoint() {
    if let Some(flush) = CHECKPOINT.get() {
        flush();
    }
}

/// Events between two [`checkpoint`]s of a long run: a few CRM calls each, far below 100.
pub const CHECKPOINT_EVERY: usize = 10;

/// Units, for the backend to write next to each value. Called once the recorder is installed.
pub fn describe() {
    for name in [
        name::EVENTS,
        name::EVENT_RESULTS,
        name::SMART_FORWARD_ANSWERS,
        name::CLICK_TO_CALL_REQUESTS,
        name::CRM_REQUESTS,
        name::CRM_ERRORS,
        name::HTTP_THROTTLES,
        name::HTTP_RETRIES,
        name::REPLAYED,
        name::RECONCILED,
        name::RECONCILE_RUNS,
    ] {
        describe_counter!(name, Unit::Count, "");
    }
    for name in [
        name::SMART_FORWARD_LATENCY,
        name::CRM_LATENCY,
        name::INIT_DURATION,
    ] {
        describe_histogram!(name, Unit::Milliseconds, "");
    }
    describe_histogram!(name::PARKED_EVENTS, Unit::Count, "");
    describe_histogram!(name::OLDEST_PARKED_AGE, Unit::Seconds, "");
}

/// One call webhook event of `function` that ended as `outcome` (one of [`outcome::ALL`]).
pub fn event(function: &'static str, outcome: &'static str) {
    counter!(name::EVENTS, dimension::FUNCTION => function, dimension::OUTCOME => outcome)
        .increment(1);
    let failed = outcome::ALL
        .iter()
        .find(|(word, _)| *word == outcome)
        .and_then(|(_, failed)| *failed);
    if let Some(failed) = failed {
        let result = if failed { "failed" } else { "delivered" };
        counter!(name::EVENT_RESULTS, dimension::RESULT => result).increment(1);
    }
}

/// One smart-forward answer for `reason`, given `elapsed` after the request arrived.
pub fn smart_forward(reason: &'static str, elapsed: Duration) {
    counter!(name::SMART_FORWARD_ANSWERS, dimension::REASON => reason).increment(1);
    histogram!(name::SMART_FORWARD_LATENCY, dimension::FUNCTION => "smart-forward")
        .record(millis(elapsed));
}

/// One click-to-call request and what was decided: a word of the bridge's own closed list
/// (the `x-bridge-decision` header it sets), never the caller's input.
pub fn click_to_call(decision: &str) {
    let decision = if decision.is_empty() {
        "none"
    } else {
        decision
    };
    counter!(name::CLICK_TO_CALL_REQUESTS, dimension::DECISION => decision.to_owned()).increment(1);
}

/// One CRM operation of `crm` that took `elapsed` and succeeded or not.
pub fn crm_request(crm: &'static str, operation: &'static str, elapsed: Duration, ok: bool) {
    counter!(name::CRM_REQUESTS, dimension::CRM => crm, dimension::OPERATION => operation)
        .increment(1);
    if !ok {
        counter!(name::CRM_ERRORS, dimension::CRM => crm, dimension::OPERATION => operation)
            .increment(1);
    }
    histogram!(name::CRM_LATENCY, dimension::CRM => crm).record(millis(elapsed));
}

/// An HTTP 429 from `service`.
pub fn http_throttled(service: &'static str) {
    counter!(name::HTTP_THROTTLES, dimension::SERVICE => service).increment(1);
}

/// An HTTP request to `service` about to be sent again.
pub fn http_retry(service: &'static str) {
    counter!(name::HTTP_RETRIES, dimension::SERVICE => service).increment(1);
}

/// What became of a parked event the replay ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    Landed,
    AlreadyDone,
    StillFailing,
    InProgress,
    Dropped,
}

impl ReplayOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landed => "landed",
            Self::AlreadyDone => "already_done",
            Self::StillFailing => "still_failing",
            Self::InProgress => "in_progress",
            Self::Dropped => "dropped",
        }
    }
}

/// A parked event the replay ran.
pub fn replayed(outcome: ReplayOutcome) {
    counter!(name::REPLAYED, dimension::OUTCOME => outcome.as_str()).increment(1);
}

/// The parked events the replay found: how many, and the age of the oldest (`None`: none).
pub fn parked(count: usize, oldest_age: Option<Duration>) {
    histogram!(name::PARKED_EVENTS, dimension::FUNCTION => "replay")
        .record(f64::from(u32::try_from(count).unwrap_or(u32::MAX)));
    let age = oldest_age.map_or(0.0, |age| age.as_secs_f64().floor());
    histogram!(name::OLDEST_PARKED_AGE, dimension::FUNCTION => "replay").record(age);
}

/// `count` call-log rows that ended as `outcome` (a `ReconcileReport` field name).
pub fn reconciled(outcome: &'static str, count: usize) {
    if count > 0 {
        counter!(name::RECONCILED, dimension::OUTCOME => outcome)
            .increment(u64::try_from(count).unwrap_or(u64::MAX));
    }
}

/// A reconciliation run that ended: `ok` when it read the call log (whatever its rows
/// became, counted by [`reconciled`]), else failed. Counted even when it found no rows, so the
/// last run shows when nothing needed recovering.
pub fn reconcile_run(ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    counter!(name::RECONCILE_RUNS, dimension::RESULT => result).increment(1);
}

/// The first invocation of a new execution environment of `function`, which could answer
/// `init` after its process started.
pub fn cold_start(function: &'static str, init: Duration) {
    histogram!(name::INIT_DURATION, dimension::FUNCTION => function).record(millis(init));
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
