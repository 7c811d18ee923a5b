//! `bridge-ops status`: the last hours of a deployed stack on one screen, worst news first.
//!
//! Two sources, read as they are now: the parked events (a `Scan` of `PARKED_TABLE`: what waits
//! for the replay right now, with its age and error) and the metrics the functions wrote
//! (`GetMetricData` in the stack's namespace, `RingostatBridge/<stack>`; names and dimensions
//! are `bridge_domain::telemetry`'s): call events by outcome, smart-forward answers by reason,
//! the reconcile runs and the rows they recovered, the replay's outcomes and the throttled
//! requests. Nothing is written.
//!
//! The verdict is the exit code: 0 nothing needs attention, 1 something does (an event waits,
//! calls failed, the last reconcile run failed), 3 a source could not be read (the picture is
//! incomplete), 2 a wrong command line.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use bridge_core::adapters::dynamodb::inspect::{endpoint_name, plain_chain};
use bridge_core::adapters::{DynamoDbCache, DynamoDbLedger};
use bridge_core::doctor::readable_error;
use bridge_core::ports::ledger::{Ledger, ParkedEvent};
use bridge_domain::telemetry::{dimension, name, outcome};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::json;

/// The namespace of a stack's metrics (template.yaml's `METRICS_NAMESPACE`).
pub const NAMESPACE_PREFIX: &str = "RingostatBridge";

/// The functions that write call events (`Function` of `Events`).
const CALL_FUNCTIONS: [&str; 4] = [
    "before-call",
    "after-call",
    "after-outgoing-call",
    "call-analysis",
];
/// Every `Reason` of `SmartForwardAnswers`: `ForwardReason`'s words and `no_caller`, as
/// template.yaml's fallback alarm lists them; all but `manager` are the fallback.
const FORWARD_REASONS: [&str; 7] = [
    "manager",
    "unknown_caller",
    "no_caller",
    "no_manager",
    "no_route",
    "crm_error",
    "timeout",
];
/// Every `Outcome` of `Replayed` (`ReplayOutcome::as_str`).
const REPLAY_OUTCOMES: [&str; 5] = [
    "landed",
    "already_done",
    "still_failing",
    "in_progress",
    "dropped",
];
/// Every `Outcome` of `Reconciled` (`ReconcileReport`'s fields).
const RECONCILE_OUTCOMES: [&str; 7] = [
    "recovered",
    "already_done",
    "filtered",
    "failed",
    "in_progress",
    "unreadable",
    "not_reached",
];
/// Every `Service` of `HttpThrottles`.
const SERVICES: [&str; 4] = ["nethunt", "dataverse", "ringostat", "secrets"];
/// Parked events the text shows one by one (the JSON lists them all).
const PARKED_SHOWN: usize = 5;

/// Where to look and for how long.
pub struct Options {
    pub namespace: String,
    pub hours: u32,
    pub json: bool,
}

/// The namespace from `--stack`, else `METRICS_NAMESPACE`; `None`: neither.
pub fn namespace(stack: Option<&str>) -> Option<String> {
    let given = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    match stack.and_then(given) {
        Some(stack) => Some(format!("{NAMESPACE_PREFIX}/{stack}")),
        None => std::env::var("METRICS_NAMESPACE")
            .ok()
            .as_deref()
            .and_then(given),
    }
}

/// How bad a finding is; the worst decides the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Someone should act: an event waits, calls failed, the last reconcile run failed.
    Attention,
    /// A source could not be read: the rest of the picture may hide something.
    Unknown,
    /// Worth knowing, nothing to do now.
    Note,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
}

/// A section read from its source, or why it could not be.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Section<T> {
    Read(T),
    Unread { error: String },
}

impl<T> Section<T> {
    fn read(&self) -> Option<&T> {
        match self {
            Self::Read(value) => Some(value),
            Self::Unread { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Parked {
    pub count: usize,
    pub oldest_age_seconds: Option<i64>,
    /// Oldest first (by their first failure).
    pub events: Vec<ParkedRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParkedRow {
    pub key: String,
    pub function: &'static str,
    pub call_id: String,
    pub first_parked_at: String,
    pub age_seconds: i64,
    pub attempts: u32,
    pub error: String,
}

/// What the metrics say about the window.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub calls: Calls,
    pub smart_forward: SmartForward,
    pub reconcile: Reconcile,
    pub replay: BTreeMap<&'static str, u64>,
    /// HTTP 429 answers by service (each retried or ended in a parked event).
    pub throttled: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Calls {
    pub total: u64,
    /// Every outcome, zeros included.
    pub by_outcome: BTreeMap<&'static str, u64>,
    /// The functions' outcomes that happened.
    pub by_function: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    /// The minute each failure outcome last happened in: is it still going on?
    pub last_failure_at: BTreeMap<&'static str, String>,
    /// The same minutes as the screen shows them (`HH:MM` in TIME_ZONE).
    #[serde(skip)]
    pub last_failure_local: BTreeMap<&'static str, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmartForward {
    pub total: u64,
    /// Answers that went to the fallback rather than the client's manager.
    pub fallback: u64,
    pub by_reason: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconcile {
    pub runs: u64,
    pub failed_runs: u64,
    pub last_run: Option<LastRun>,
    /// The rows of every run of the window, by outcome.
    pub rows: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    /// The minute it ended in (CloudWatch counts by the minute).
    pub at: String,
    /// Seconds since the start of that minute: it ended at most this long ago.
    pub age_seconds: i64,
    /// `at` as the screen shows it: `HH:MM` in TIME_ZONE.
    #[serde(skip)]
    pub local: String,
    /// `ok` or `failed`.
    pub result: &'static str,
    /// Its rows by outcome (those of the same minute).
    pub rows: BTreeMap<&'static str, u64>,
}

/// The whole status.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub namespace: String,
    pub hours: u32,
    pub from: String,
    pub to: String,
    pub findings: Vec<Finding>,
    pub parked: Section<Parked>,
    pub metrics: Section<Metrics>,
}

impl Status {
    /// The worst severity among the findings; `None`: all is well.
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .map(|f| f.severity)
            .filter(|s| *s != Severity::Note)
            .min()
    }

    pub fn verdict(&self) -> &'static str {
        match self.worst() {
            Some(Severity::Attention) => "attention",
            Some(Severity::Unknown) => "incomplete",
            _ => "ok",
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self.worst() {
            Some(Severity::Attention) => ExitCode::FAILURE,
            Some(Severity::Unknown) => ExitCode::from(3),
            _ => ExitCode::SUCCESS,
        }
    }
}

/// Reads both sources and prints the status; its verdict is the exit code.
pub async fn run(options: Options) -> ExitCode {
    let now = Timestamp::now();
    // Whole minutes, as CloudWatch counts them; the end rounded up so that what was written a
    // moment ago is in.
    let minute = 60;
    let end = (now.as_second() / minute + 1) * minute;
    let to = Timestamp::from_second(end).unwrap_or(now);
    let span = jiff::SignedDuration::from_hours(i64::from(options.hours));
    let from = to.checked_sub(span).unwrap_or(to);
    let (parked, metrics) = tokio::join!(
        read_parked(now),
        read_metrics(&options.namespace, from, to, options.hours, now)
    );
    let zone = time_zone();
    let local = |t: Timestamp| {
        t.to_zoned_datetime(zone.clone())
            .strftime("%F %H:%M")
            .to_string()
    };
    let mut status = Status {
        namespace: options.namespace,
        hours: options.hours,
        from: local(from),
        to: local(to),
        findings: Vec::new(),
        parked,
        metrics,
    };
    status.findings = findings(&status);
    if options.json {
        crate::report::print_json(&json_of(&status));
    } else {
        print!("{}", text(&status, zone.iana_name().unwrap_or("UTC")));
    }
    status.exit_code()
}

pub fn json_of(status: &Status) -> serde_json::Value {
    let mut value = json!({
        "command": "status",
        "ok": status.worst().is_none(),
        "verdict": status.verdict(),
    });
    if let (Some(object), Ok(serde_json::Value::Object(fields))) =
        (value.as_object_mut(), serde_json::to_value(status))
    {
        object.extend(fields);
    }
    value
}

/// `TIME_ZONE` (the functions' own), else the bridge's default, for the times shown.
fn time_zone() -> TimeZone {
    std::env::var("TIME_ZONE")
        .ok()
        .and_then(|name| TimeZone::get(name.trim()).ok())
        .unwrap_or_else(|| bridge_core::ringostat::ParseOptions::default().time_zone)
}

async fn read_parked(now: Timestamp) -> Section<Parked> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(table) = var("PARKED_TABLE") else {
        return Section::Unread {
            error: "PARKED_TABLE is not set (stack output ParkedEventsTableName)".into(),
        };
    };
    if var("CACHE_TABLE").as_deref() == Some(table.as_str()) {
        return Section::Unread {
            error: "PARKED_TABLE equals CACHE_TABLE: set PARKED_TABLE to the parked-events \
                    table (stack output ParkedEventsTableName)"
                .into(),
        };
    }
    let client = DynamoDbCache::client_from_env().await;
    let endpoint = endpoint_name(&client, var("AWS_ENDPOINT_URL_DYNAMODB").as_deref());
    // Listing reads the parked table only; the cache table is never touched here.
    let ledger = DynamoDbLedger::new(client, var("CACHE_TABLE").unwrap_or_default(), &table);
    match ledger.parked(usize::MAX).await {
        Ok(events) => Section::Read(parked_of(events, now)),
        Err(error) => {
            let reason = readable_error(&plain_chain(&error));
            let error = if reason.contains("ResourceNotFoundException") {
                format!("table `{table}` does not exist in {endpoint} (PARKED_TABLE)")
            } else {
                format!("table `{table}` in {endpoint}: {reason}")
            };
            Section::Unread { error }
        }
    }
}

fn parked_of(mut events: Vec<ParkedEvent>, now: Timestamp) -> Parked {
    events.sort_by(|a, b| {
        a.first_parked_at
            .cmp(&b.first_parked_at)
            .then_with(|| a.key.cmp(&b.key))
    });
    let now = now.as_second();
    let rows: Vec<ParkedRow> = events
        .into_iter()
        .map(|event| {
            let call_id = event
                .key
                .split_once('#')
                .map_or(event.key.as_str(), |(_, id)| id)
                .to_owned();
            ParkedRow {
                function: bridge_domain::telemetry::function_of(event.kind),
                call_id,
                first_parked_at: Timestamp::from_second(event.first_parked_at)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                age_seconds: (now - event.first_parked_at).max(0),
                attempts: event.attempts,
                error: event.error,
                key: event.key,
            }
        })
        .collect();
    Parked {
        count: rows.len(),
        oldest_age_seconds: rows.first().map(|r| r.age_seconds),
        events: rows,
    }
}

/// One series asked of CloudWatch: a metric under exactly these dimensions.
struct Series {
    metric: &'static str,
    dimensions: Vec<(&'static str, &'static str)>,
    /// Seconds per value: the whole window for counts, a minute where the time matters.
    period: i32,
}

/// The values each series returned, by its index, as (epoch seconds, value).
type Values = Vec<Vec<(i64, f64)>>;

async fn read_metrics(
    namespace: &str,
    from: Timestamp,
    to: Timestamp,
    hours: u32,
    now: Timestamp,
) -> Section<Metrics> {
    let whole = i32::try_from(hours.saturating_mul(3600)).unwrap_or(i32::MAX);
    let mut series = Vec::new();
    let mut add = |metric, dimensions: Vec<(&'static str, &'static str)>, period| {
        series.push(Series {
            metric,
            dimensions,
            period,
        });
        series.len() - 1
    };
    let mut events = Vec::new();
    for function in CALL_FUNCTIONS {
        for (word, failed) in outcome::ALL {
            // Failures by the minute: when the last one happened is worth telling.
            let period = if failed == Some(true) { 60 } else { whole };
            let at = add(
                name::EVENTS,
                vec![(dimension::FUNCTION, function), (dimension::OUTCOME, word)],
                period,
            );
            events.push((function, word, at));
        }
    }
    let reasons: Vec<_> = FORWARD_REASONS
        .iter()
        .map(|r| {
            let at = add(
                name::SMART_FORWARD_ANSWERS,
                vec![(dimension::REASON, r)],
                whole,
            );
            (*r, at)
        })
        .collect();
    let replay: Vec<_> = REPLAY_OUTCOMES
        .iter()
        .map(|o| {
            (
                *o,
                add(name::REPLAYED, vec![(dimension::OUTCOME, o)], whole),
            )
        })
        .collect();
    let throttles: Vec<_> = SERVICES
        .iter()
        .map(|s| {
            let at = add(name::HTTP_THROTTLES, vec![(dimension::SERVICE, s)], whole);
            (*s, at)
        })
        .collect();
    // Minutes: the last run is the latest minute with a run, its rows those of that minute.
    let runs: Vec<_> = ["ok", "failed"]
        .into_iter()
        .map(|r| {
            let at = add(name::RECONCILE_RUNS, vec![(dimension::RESULT, r)], 60);
            (r, at)
        })
        .collect();
    let rows: Vec<_> = RECONCILE_OUTCOMES
        .iter()
        .map(|o| (*o, add(name::RECONCILED, vec![(dimension::OUTCOME, o)], 60)))
        .collect();

    let values = match fetch(namespace, &series, from, to).await {
        Ok(values) => values,
        Err(error) => return Section::Unread { error },
    };
    let sum = |at: usize| -> u64 { count(values[at].iter().map(|(_, v)| *v).sum()) };

    let mut calls = Calls {
        total: 0,
        by_outcome: outcome::ALL.iter().map(|(w, _)| (*w, 0)).collect(),
        by_function: BTreeMap::new(),
        last_failure_at: BTreeMap::new(),
        last_failure_local: BTreeMap::new(),
    };
    let mut last_failure: BTreeMap<&'static str, i64> = BTreeMap::new();
    for (function, word, at) in events {
        let n = sum(at);
        if n > 0 {
            calls.total += n;
            *calls.by_outcome.entry(word).or_default() += n;
            calls
                .by_function
                .entry(function)
                .or_default()
                .insert(word, n);
        }
        let failed = outcome::ALL
            .iter()
            .any(|(w, f)| *w == word && *f == Some(true));
        if let Some(minute) = latest_minute(&values[at])
            && failed
        {
            let last = last_failure.entry(word).or_insert(minute);
            *last = (*last).max(minute);
        }
    }
    for (word, minute) in last_failure {
        if let Ok(t) = Timestamp::from_second(minute) {
            calls.last_failure_at.insert(word, t.to_string());
            calls.last_failure_local.insert(word, hh_mm(t));
        }
    }
    let by_reason: BTreeMap<_, _> = reasons.iter().map(|(r, at)| (*r, sum(*at))).collect();
    let total = by_reason.values().sum();
    let smart_forward = SmartForward {
        total,
        fallback: total - by_reason.get("manager").copied().unwrap_or(0),
        by_reason,
    };
    let last = runs
        .iter()
        .filter_map(|(result, at)| latest_minute(&values[*at]).map(|t| (t, *result)))
        // The latest minute; a failure in it wins over a success.
        .max_by_key(|(t, result)| (*t, *result == "failed"));
    let last_run = last.map(|(minute, result)| LastRun {
        at: Timestamp::from_second(minute)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        age_seconds: (now.as_second() - minute).max(0),
        local: Timestamp::from_second(minute)
            .map(hh_mm)
            .unwrap_or_default(),
        result,
        rows: rows
            .iter()
            .map(|(o, at)| {
                let n = values[*at]
                    .iter()
                    .filter(|(t, _)| *t == minute)
                    .map(|(_, v)| *v)
                    .sum();
                (*o, count(n))
            })
            .filter(|(_, n)| *n > 0)
            .collect(),
    });
    let reconcile = Reconcile {
        runs: runs.iter().map(|(_, at)| sum(*at)).sum(),
        failed_runs: runs
            .iter()
            .filter(|(r, _)| *r == "failed")
            .map(|(_, at)| sum(*at))
            .sum(),
        last_run,
        rows: rows.iter().map(|(o, at)| (*o, sum(*at))).collect(),
    };
    Section::Read(Metrics {
        calls,
        smart_forward,
        reconcile,
        replay: replay.iter().map(|(o, at)| (*o, sum(*at))).collect(),
        throttled: throttles.iter().map(|(s, at)| (*s, sum(*at))).collect(),
    })
}

/// The latest minute of `values` with something counted.
fn latest_minute(values: &[(i64, f64)]) -> Option<i64> {
    values
        .iter()
        .filter(|(_, v)| *v > 0.0)
        .map(|(t, _)| *t)
        .max()
}

/// `t` as the screen shows a time: `HH:MM` in TIME_ZONE.
fn hh_mm(t: Timestamp) -> String {
    t.to_zoned_datetime(time_zone())
        .strftime("%H:%M")
        .to_string()
}

/// A sum of counts as a whole number (CloudWatch answers in floats).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn count(value: f64) -> u64 {
    // Rounded and not negative; counts stay far below 2^53, where floats are exact.
    value.round().max(0.0) as u64
}

/// GetMetricData for every series over `[from, to)`, every page read.
async fn fetch(
    namespace: &str,
    series: &[Series],
    from: Timestamp,
    to: Timestamp,
) -> Result<Values, String> {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .load()
        .await;
    // `AWS_ENDPOINT_URL_CLOUDWATCH` / `AWS_ENDPOINT_URL` (local runs, tests): the SDK reads them.
    let client = aws_sdk_cloudwatch::Client::new(&shared);
    let mut queries = Vec::new();
    for (index, s) in series.iter().enumerate() {
        let mut metric = Metric::builder().namespace(namespace).metric_name(s.metric);
        for (name, value) in &s.dimensions {
            metric = metric.dimensions(Dimension::builder().name(*name).value(*value).build());
        }
        let stat = MetricStat::builder()
            .metric(metric.build())
            .period(s.period)
            .stat("Sum")
            .build();
        queries.push(
            MetricDataQuery::builder()
                .id(format!("q{index}"))
                .metric_stat(stat)
                .return_data(true)
                .build(),
        );
    }
    let mut values: Values = vec![Vec::new(); series.len()];
    let mut next_token = None;
    loop {
        let page = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_secs(from.as_second()))
            .end_time(DateTime::from_secs(to.as_second()))
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| cloudwatch_error(namespace, &error))?;
        for result in page.metric_data_results() {
            let Some(index) = result
                .id()
                .and_then(|id| id.strip_prefix('q'))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|i| *i < series.len())
            else {
                continue;
            };
            let points = result
                .timestamps()
                .iter()
                .zip(result.values())
                .map(|(t, v)| (t.secs(), *v));
            values[index].extend(points);
        }
        match page.next_token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => break,
        }
    }
    Ok(values)
}

fn cloudwatch_error<E, R>(namespace: &str, error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let reason = match error {
        SdkError::ServiceError(context) => {
            let service = context.err();
            match (service.code(), service.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => plain_chain(error),
            }
        }
        _ => plain_chain(error),
    };
    format!(
        "CloudWatch GetMetricData in `{namespace}`: {}",
        readable_error(&reason)
    )
}

/// What needs saying, worst first.
fn findings(status: &Status) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut say = |severity, text: String| found.push(Finding { severity, text });
    let hours = status.hours;
    match &status.parked {
        Section::Read(parked) => {
            if let Some(oldest) = parked.events.first() {
                say(
                    Severity::Attention,
                    format!(
                        "{} parked event{}, oldest {}: {} (`bridge-ops replay` runs them now)",
                        parked.count,
                        plural(parked.count),
                        age(oldest.age_seconds),
                        oldest.error
                    ),
                );
            }
        }
        Section::Unread { error } => say(
            Severity::Unknown,
            format!("parked events not read: {error}"),
        ),
    }
    match &status.metrics {
        Section::Read(metrics) => {
            let by = |word: &str| metrics.calls.by_outcome.get(word).copied().unwrap_or(0);
            let failed = by(outcome::FAILED);
            if failed > 0 {
                say(
                    Severity::Attention,
                    format!(
                        "{failed} call event{} failed and could not be parked (the table was \
                         unreachable): only Ringostat's re-sends can bring them; the functions' \
                         logs name them",
                        plural_u(failed)
                    ),
                );
            }
            let not_configured = by(outcome::NOT_CONFIGURED);
            if not_configured > 0 {
                say(
                    Severity::Attention,
                    format!(
                        "{not_configured} call event{} reached a function that could not start \
                         (its configuration): `bridge-ops doctor` says why",
                        plural_u(not_configured)
                    ),
                );
            }
            let refused = by(outcome::REFUSED);
            if refused > 0 {
                say(
                    Severity::Attention,
                    format!(
                        "{refused} webhook{} refused as unreadable (400): check the webhooks' \
                         bodies in Ringostat",
                        plural_u(refused)
                    ),
                );
            }
            let reconcile = &metrics.reconcile;
            if let Some(last) = &reconcile.last_run
                && last.result == "failed"
            {
                say(
                    Severity::Attention,
                    format!(
                        "the last reconcile run (at {}) failed: Ringostat's call log could not \
                         be read (the reconcile function's log says why)",
                        last.local
                    ),
                );
            }
            let dropped = metrics.replay.get("dropped").copied().unwrap_or(0);
            if dropped > 0 {
                say(
                    Severity::Attention,
                    format!(
                        "the replay dropped {dropped} unreadable parked event{} (its log names \
                         them)",
                        plural_u(dropped)
                    ),
                );
            }
            let parked_now = status.parked.read().map(|p| p.count);
            let parked_then = by(outcome::PARKED);
            if parked_then > 0 && parked_now == Some(0) {
                say(
                    Severity::Note,
                    format!(
                        "{parked_then} call event{} parked in the last {hours} h, all replayed \
                         since",
                        plural_u(parked_then)
                    ),
                );
            }
            let recovered = reconcile.rows.get("recovered").copied().unwrap_or(0);
            if recovered > 0 {
                say(
                    Severity::Note,
                    format!(
                        "reconcile recovered {recovered} call{} whose webhooks never arrived: \
                         check the webhooks in Ringostat (URL, token, events)",
                        plural_u(recovered)
                    ),
                );
            }
            let throttled: Vec<String> = metrics
                .throttled
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(service, n)| format!("{service} {n}"))
                .collect();
            if !throttled.is_empty() {
                say(
                    Severity::Note,
                    format!(
                        "requests throttled (HTTP 429, retried): {}",
                        throttled.join(", ")
                    ),
                );
            }
            let forward = &metrics.smart_forward.by_reason;
            let troubled: u64 = ["crm_error", "timeout"]
                .iter()
                .filter_map(|r| forward.get(r))
                .sum();
            if troubled > 0 {
                say(
                    Severity::Note,
                    format!(
                        "{troubled} smart-forward answer{} fell back because the CRM failed or \
                         was too slow",
                        plural_u(troubled)
                    ),
                );
            }
            if metrics.calls.total == 0 {
                say(
                    Severity::Note,
                    format!(
                        "no call events in the last {hours} h in `{}`: is it the stack's \
                         namespace (--stack, METRICS_NAMESPACE), and do Ringostat's webhooks \
                         point at it?",
                        status.namespace
                    ),
                );
            }
            if reconcile.runs == 0 {
                say(
                    Severity::Note,
                    format!(
                        "no reconcile run recorded in the last {hours} h (the stack has one only \
                         with the Ringostat API key)"
                    ),
                );
            }
        }
        Section::Unread { error } => {
            say(Severity::Unknown, format!("metrics not read: {error}"));
        }
    }
    found.sort_by_key(|f| f.severity);
    found
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_u(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An age for people: `40 s`, `47 min`, `3 h 12 min`, `2 d 4 h`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        _ => match (s % 86_400) / 3600 {
            0 => format!("{} d", s / 86_400),
            h => format!("{} d {h} h", s / 86_400),
        },
    }
}

/// The screen: the verdict, what needs attention, then each section.
pub fn text(status: &Status, zone: &str) -> String {
    let mut out = String::new();
    let headline = match status.worst() {
        Some(Severity::Attention) => {
            let first = status
                .findings
                .first()
                .map(|f| f.text.as_str())
                .unwrap_or_default();
            format!("NEEDS ATTENTION: {first}")
        }
        Some(Severity::Unknown) => "INCOMPLETE: a source could not be read (below)".to_owned(),
        _ => "OK: nothing needs attention".to_owned(),
    };
    out.push_str(&format!("status: {headline}\n"));
    out.push_str(&format!(
        "{}, last {} h ({} → {} {zone})\n\n",
        status.namespace, status.hours, status.from, status.to
    ));
    for finding in &status.findings {
        let mark = match finding.severity {
            Severity::Attention => "!!",
            Severity::Unknown => "??",
            Severity::Note => "--",
        };
        out.push_str(&format!("{mark} {}\n", finding.text));
    }
    if !status.findings.is_empty() {
        out.push('\n');
    }
    match &status.parked {
        Section::Read(parked) if parked.count > 0 => {
            out.push_str(&format!(
                "parked events now: {} (oldest first)\n",
                parked.count
            ));
            for row in parked.events.iter().take(PARKED_SHOWN) {
                out.push_str(&format!(
                    "  {:>10}  {:<19}  {}  {} attempt{}: {}\n",
                    age(row.age_seconds),
                    row.function,
                    row.call_id,
                    row.attempts,
                    plural(usize::try_from(row.attempts).unwrap_or(usize::MAX)),
                    shorten(&row.error, 100)
                ));
            }
            if parked.count > PARKED_SHOWN {
                out.push_str(&format!(
                    "  … and {} more (--json lists them all)\n",
                    parked.count - PARKED_SHOWN
                ));
            }
        }
        Section::Read(_) => out.push_str("parked events now: none\n"),
        Section::Unread { .. } => out.push_str("parked events now: not read\n"),
    }
    let Some(metrics) = status.metrics.read() else {
        out.push_str("metrics: not read\n");
        return out;
    };
    let calls = &metrics.calls;
    out.push_str(&format!("call events: {}\n", calls.total));
    // Failures first, then the rest in outcome order; outcomes that did not happen left out.
    let mut outcomes: Vec<(&str, bool)> = outcome::ALL
        .iter()
        .map(|(word, failed)| (*word, failed.unwrap_or(false)))
        .collect();
    outcomes.sort_by_key(|(_, failed)| !failed);
    for (word, failed) in outcomes {
        let n = calls.by_outcome.get(word).copied().unwrap_or(0);
        if n == 0 {
            continue;
        }
        let functions: Vec<String> = calls
            .by_function
            .iter()
            .filter_map(|(function, outcomes)| {
                outcomes.get(word).map(|n| format!("{function} {n}"))
            })
            .collect();
        let mark = if failed { "!" } else { " " };
        let last = calls
            .last_failure_local
            .get(word)
            .map(|at| format!(" (last at {at})"))
            .unwrap_or_default();
        out.push_str(&format!(
            " {mark}{word:<15} {n:>7}  {}{last}\n",
            functions.join(", ")
        ));
    }
    let forward = &metrics.smart_forward;
    if forward.total > 0 {
        let reasons: Vec<String> = FORWARD_REASONS
            .iter()
            .filter_map(|r| {
                forward
                    .by_reason
                    .get(r)
                    .filter(|n| **n > 0)
                    .map(|n| format!("{r} {n}"))
            })
            .collect();
        out.push_str(&format!(
            "smart forward: {} answers, {} to the fallback ({})\n",
            forward.total,
            forward.fallback,
            reasons.join(", ")
        ));
    } else {
        out.push_str("smart forward: no answers\n");
    }
    let reconcile = &metrics.reconcile;
    match &reconcile.last_run {
        Some(last) => {
            let rows: Vec<String> = last.rows.iter().map(|(o, n)| format!("{o} {n}")).collect();
            let rows = if rows.is_empty() {
                "no calls in its window".to_owned()
            } else {
                rows.join(", ")
            };
            out.push_str(&format!(
                "reconcile: last run at {}, {}: {rows}; {} run{}, {} failed\n",
                last.local,
                last.result,
                reconcile.runs,
                plural_u(reconcile.runs),
                reconcile.failed_runs
            ));
        }
        None => out.push_str("reconcile: no run\n"),
    }
    let replayed: Vec<String> = metrics
        .replay
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(o, n)| format!("{o} {n}"))
        .collect();
    if !replayed.is_empty() {
        out.push_str(&format!("replay: {}\n", replayed.join(", ")));
    }
    out
}

/// At most `chars` characters of `text`, on one line.
fn shorten(text: &str, chars: usize) -> String {
    let line = text.replace(['\n', '\r'], " ");
    if line.chars().count() <= chars {
        return line;
    }
    let mut cut: String = line.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(40), "40 s");
        assert_eq!(age(47 * 60 + 5), "47 min");
        assert_eq!(age(3 * 3600), "3 h");
        assert_eq!(age(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(age(2 * 86_400 + 4 * 3600), "2 d 4 h");
        assert_eq!(age(-5), "0 s");
    }

    #[test]
    fn long_errors_are_cut_on_one_line() {
        assert_eq!(shorten("a\nb", 10), "a b");
        let cut = shorten(&"x".repeat(150), 100);
        assert_eq!(cut.chars().count(), 100);
        assert!(cut.ends_with('…'));
    }

    fn parked_row(age_seconds: i64) -> ParkedRow {
        ParkedRow {
            key: format!("after_call#ua0_-1.{age_seconds}"),
            function: "after-call",
            call_id: format!("ua0_-1.{age_seconds}"),
            first_parked_at: String::new(),
            age_seconds,
            attempts: 2,
            error: "CRM answered 503".into(),
        }
    }

    fn status(parked: Section<Parked>, metrics: Section<Metrics>) -> Status {
        let mut status = Status {
            namespace: "RingostatBridge/test".into(),
            hours: 24,
            from: String::new(),
            to: String::new(),
            findings: Vec::new(),
            parked,
            metrics,
        };
        status.findings = findings(&status);
        status
    }

    #[test]
    fn many_parked_events_show_the_oldest_few_and_need_attention() {
        let events: Vec<ParkedRow> = (0..7).rev().map(|i| parked_row(600 + i)).collect();
        let parked = Parked {
            count: events.len(),
            oldest_age_seconds: Some(606),
            events,
        };
        let unread = Section::Unread {
            error: "CloudWatch GetMetricData in `RingostatBridge/test`: AccessDenied".into(),
        };
        let status = status(Section::Read(parked), unread);
        // An event waiting outweighs the metrics that could not be read.
        assert_eq!(status.verdict(), "attention");
        let screen = text(&status, "UTC");
        assert!(
            screen.starts_with("status: NEEDS ATTENTION: 7 parked events, oldest 10 min: CRM"),
            "{screen}"
        );
        assert!(
            screen.contains("?? metrics not read: CloudWatch"),
            "{screen}"
        );
        assert_eq!(
            screen.matches("after-call").count(),
            PARKED_SHOWN,
            "{screen}"
        );
        assert!(
            screen.contains("… and 2 more (--json lists them all)"),
            "{screen}"
        );
        assert!(screen.ends_with("metrics: not read\n"), "{screen}");
    }

    #[test]
    fn a_source_not_read_is_incomplete_not_ok() {
        let empty = Parked {
            count: 0,
            oldest_age_seconds: None,
            events: Vec::new(),
        };
        let unread = Section::Unread {
            error: "unreachable".into(),
        };
        let status = status(Section::Read(empty), unread);
        assert_eq!(status.verdict(), "incomplete");
        assert!(text(&status, "UTC").starts_with("status: INCOMPLETE"));
        assert_eq!(json_of(&status)["ok"], false);
    }

    #[test]
    fn counts_are_whole_numbers() {
        assert_eq!(count(3.0), 3);
        assert_eq!(count(2.999_999), 3);
        assert_eq!(count(-1.0), 0);
    }
}
