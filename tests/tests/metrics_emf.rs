//! The metrics the functions write, read back as CloudWatch Logs reads them: webhooks run
//! through the rig with the functions' own EMF backend (`bridge_lambda::metrics`) and log
//! subscriber over one captured output; each invocation's Embedded Metric Format lines are
//! parsed (`_aws.CloudWatchMetrics`) and their metric names, dimensions and values checked for
//! every outcome: logged, duplicate, filtered, parked (and its replay), smart-forward fallback,
//! a refused payload and a click-to-call decision.
//! The names and dimensions are the ones template.yaml's alarms and dashboard read
//! (tests/template/test_alarms.py checks that side).
//!
//! One test function: the backend is one per process, so scenarios run in sequence and each
//! reads only the lines its own invocation wrote.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::ports::CrmKind;
use bridge_core::webhook::logging::{self, LogCapture};
use bridge_core::webhook::metrics;
use bridge_tests::rig::{Answer, Rig, event_with, received_at};
use crm_sandbox::Fault;
use serde_json::Value;

const NAMESPACE: &str = "RingostatBridge/metrics-test";

/// Every dimension name the bridge may use: few, with closed sets of values.
const DIMENSIONS: [&str; 8] = [
    "Function",
    "Outcome",
    "Result",
    "Reason",
    "Decision",
    "CRM",
    "Operation",
    "Service",
];

/// One EMF document: its dimensions (name → value), and each metric's unit and value.
#[derive(Debug)]
struct Document {
    dimensions: BTreeMap<String, String>,
    metrics: BTreeMap<String, (Option<String>, Value)>,
}

/// The EMF documents among `lines`, checked against the specification as they are read: the
/// namespace, one dimension set whose every key is a root member, every metric a root member.
fn documents(lines: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    for line in lines.lines() {
        let json: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        let Some(directives) = json["_aws"]["CloudWatchMetrics"].as_array() else {
            continue;
        };
        assert!(json["_aws"]["Timestamp"].is_u64(), "{line}");
        assert_eq!(
            json["level"], "WARN",
            "the line keeps Lambda's level: {line}"
        );
        assert_eq!(directives.len(), 1, "{line}");
        let directive = &directives[0];
        assert_eq!(directive["Namespace"], NAMESPACE, "{line}");
        let sets = directive["Dimensions"].as_array().unwrap();
        assert_eq!(sets.len(), 1, "{line}");
        let keys = sets[0].as_array().unwrap();
        assert!(!keys.is_empty(), "every metric has a dimension: {line}");
        let mut dimensions = BTreeMap::new();
        for key in keys {
            let key = key.as_str().unwrap();
            assert!(DIMENSIONS.contains(&key), "dimension {key}: {line}");
            let value = json[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key}: {line}"));
            dimensions.insert(key.to_owned(), value.to_owned());
        }
        let mut metrics = BTreeMap::new();
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            let value = json[name].clone();
            assert!(
                value.is_number() || value.as_array().is_some_and(|v| !v.is_empty()),
                "{name}: {line}"
            );
            let unit = metric["Unit"].as_str().map(str::to_owned);
            metrics.insert(name.to_owned(), (unit, value));
        }
        documents.push(Document {
            dimensions,
            metrics,
        });
    }
    documents
}

/// What one invocation wrote: its EMF documents and its log lines.
struct Written {
    documents: Vec<Document>,
    logs: Vec<Value>,
}

impl Written {
    /// The value of `metric` under exactly `dimensions`; `None`: not written.
    fn value(&self, metric: &str, dimensions: &[(&str, &str)]) -> Option<&Value> {
        let wanted: BTreeMap<String, String> = dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let found: Vec<&Value> = self
            .documents
            .iter()
            .filter(|d| d.dimensions == wanted)
            .filter_map(|d| d.metrics.get(metric).map(|(_, value)| value))
            .collect();
        assert!(found.len() <= 1, "{metric} {dimensions:?} written twice");
        found.first().copied()
    }

    /// A counter's value under exactly `dimensions` (0: not written, as the backend skips zeros).
    fn count(&self, metric: &str, dimensions: &[(&str, &str)]) -> u64 {
        self.value(metric, dimensions)
            .map_or(0, |v| v.as_u64().unwrap_or_else(|| panic!("{metric}: {v}")))
    }

    /// The values of a histogram (latencies, ages) under exactly `dimensions`.
    fn values(&self, metric: &str, dimensions: &[(&str, &str)]) -> Vec<f64> {
        self.value(metric, dimensions)
            .and_then(Value::as_array)
            .map(|values| values.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    }

    /// The unit written for `metric`.
    fn unit(&self, metric: &str) -> Option<&str> {
        self.documents
            .iter()
            .find_map(|d| d.metrics.get(metric))
            .and_then(|(unit, _)| unit.as_deref())
    }

    /// The sum of a counter over every dimension set it was written with.
    fn total(&self, metric: &str) -> u64 {
        self.documents
            .iter()
            .filter_map(|d| d.metrics.get(metric))
            .filter_map(|(_, v)| v.as_u64())
            .sum()
    }

    /// Every metric written, as `Name{Dim=value,…}`.
    fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for d in &self.documents {
            let dims: Vec<String> = d
                .dimensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            for metric in d.metrics.keys() {
                names.push(format!("{metric}{{{}}}", dims.join(",")));
            }
        }
        names.sort();
        names
    }
}

struct Output(LogCapture);

impl Output {
    /// Installs the functions' log subscriber (JSON, DEBUG) and metrics backend on one capture,
    /// with the log level Lambda would be configured with.
    fn install() -> Self {
        let capture = LogCapture::default();
        let writer = capture.clone();
        logging::init_with_writer(move || writer.clone(), true, logging::level_named("DEBUG"));
        let writer = capture.clone();
        metrics::init_with_writer(NAMESPACE, Some("WARN".into()), move || {
            Box::new(writer.clone()) as Box<dyn std::io::Write>
        });
        Self(capture)
    }

    /// What `work` wrote (the rig flushes the metrics after each request, as the functions
    /// do after each invocation).
    async fn during<T>(&self, work: impl Future<Output = T>) -> (T, Written) {
        let before = self.0.text().len();
        let answer = work.await;
        metrics::flush();
        let text = self.0.text()[before..].to_owned();
        let logs = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|json| json.get("_aws").is_none())
            .collect();
        (
            answer,
            Written {
                documents: documents(&text),
                logs,
            },
        )
    }
}

fn outcome(outcome: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![("Function", "after-call"), ("Outcome", outcome)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_writes_its_metrics() {
    let output = Output::install();
    let rig = Rig::new(CrmKind::NetHunt).await;
    rig.seed_existing_client();
    let nethunt = ("CRM", "nethunt");

    // Logged: one event, delivered, and the CRM calls it took.
    let (answer, logged) = output
        .during(rig.invoke("after-call-1-answered-existing.json"))
        .await;
    answer.assert_outcome("call_logged");
    assert_eq!(
        logged.count("Events", &outcome("logged")),
        1,
        "{:?}",
        logged.names()
    );
    assert_eq!(logged.count("EventResults", &[("Result", "delivered")]), 1);
    assert_eq!(logged.count("EventResults", &[("Result", "failed")]), 0);
    assert_eq!(
        logged.count("CrmRequests", &[nethunt, ("Operation", "log_call")]),
        1,
        "{:?}",
        logged.names()
    );
    assert_eq!(logged.total("CrmErrors"), 0);
    let latencies = logged.values("CrmLatency", &[nethunt]);
    assert_eq!(
        latencies.len() as u64,
        logged.total("CrmRequests"),
        "one latency per CRM call"
    );
    assert!(latencies.iter().all(|ms| *ms >= 0.0), "{latencies:?}");
    assert_eq!(logged.unit("CrmLatency"), Some("Milliseconds"));
    assert_eq!(logged.unit("Events"), Some("Count"));

    // Duplicate: the same event again is answered from the ledger, without the CRM.
    let (answer, duplicate) = output
        .during(rig.invoke("after-call-1-answered-existing.json"))
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(duplicate.count("Events", &outcome("duplicate")), 1);
    assert_eq!(duplicate.count("Events", &outcome("logged")), 0);
    assert_eq!(
        duplicate.count("EventResults", &[("Result", "delivered")]),
        1
    );
    assert_eq!(duplicate.total("CrmRequests"), 0, "{:?}", duplicate.names());

    // Parked: NetHunt throttles every attempt; the event waits for the replay.
    rig.sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        100,
    );
    let (answer, parked): (Answer, _) = output
        .during(rig.invoke("after-call-3-answered-new.json"))
        .await;
    rig.sandbox.clear_faults();
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.json["parked"], true);
    assert_eq!(
        parked.count("Events", &outcome("parked")),
        1,
        "{:?}",
        parked.names()
    );
    assert_eq!(parked.count("EventResults", &[("Result", "failed")]), 1);
    assert_eq!(parked.total("CrmErrors"), 1, "the one CRM call that failed");
    let throttles = parked.count("HttpThrottles", &[("Service", "nethunt")]);
    let retries = parked.count("HttpRetries", &[("Service", "nethunt")]);
    assert!(retries >= 1, "{:?}", parked.names());
    assert_eq!(
        throttles,
        retries + 1,
        "every attempt throttled, every retry counted"
    );
    // Every line the event's run logged (the retries, the CRM error, the failure) names its
    // function, kind and call: an operator finds them all by the call id.
    let in_run: Vec<&Value> = parked
        .logs
        .iter()
        .filter(|line| line["fields"]["message"] != "body format")
        .collect();
    assert!(
        in_run
            .iter()
            .any(|line| line["fields"]["message"] == "retrying request"),
        "{in_run:?}"
    );
    for line in in_run {
        let span = &line["span"];
        assert_eq!(span["function"], "after-call", "{line}");
        assert_eq!(span["event"], "after_call", "{line}");
        assert!(
            span["call_id"]
                .as_str()
                .is_some_and(|id| id.contains("1712316600.1003")),
            "{line}"
        );
    }

    // The replay lands it, and says how many were parked and for how long.
    let (report, replay) = output
        .during(
            rig.stack
                .delivery
                .replay(10, Deadline::after(Duration::from_secs(60))),
        )
        .await;
    assert_eq!(report.landed, 1, "{report:?}");
    assert_eq!(replay.count("Replayed", &[("Outcome", "landed")]), 1);
    assert_eq!(
        replay.values("ParkedEvents", &[("Function", "replay")]),
        [1.0]
    );
    let ages = replay.values("OldestParkedAge", &[("Function", "replay")]);
    assert!(
        ages.len() == 1 && (0.0..60.0).contains(&ages[0]),
        "{ages:?}"
    );
    assert_eq!(replay.unit("OldestParkedAge"), Some("Seconds"));
    // Nothing parked any more: the next run says so.
    let (_, empty) = output
        .during(
            rig.stack
                .delivery
                .replay(10, Deadline::after(Duration::from_secs(60))),
        )
        .await;
    assert_eq!(
        empty.values("ParkedEvents", &[("Function", "replay")]),
        [0.0]
    );
    assert_eq!(
        empty.values("OldestParkedAge", &[("Function", "replay")]),
        [0.0]
    );
    assert_eq!(empty.total("Replayed"), 0);

    // Smart forwarding: the manager for a known client, the fallback for an unknown one, for
    // a request without a caller number and for one whose budget was spent on arrival.
    let smart_forward = [("Function", "smart-forward")];
    // The answer's reason, and the one counted: a missing caller number is told apart.
    for (request, answered, reason) in [
        (
            event_with("smart-forward-known-client.json", |_| {}),
            "manager",
            "manager",
        ),
        (
            event_with("smart-forward-unknown-client.json", |_| {}),
            "unknown_caller",
            "unknown_caller",
        ),
        (
            event_with("smart-forward-known-client.json", |body| {
                body.as_object_mut().unwrap().remove("caller");
            }),
            "unknown_caller",
            "no_caller",
        ),
        // A caller who waited out the budget before the function got the call (a cold
        // start): a timeout, though no lookup ran.
        (
            received_at(
                event_with("smart-forward-known-client.json", |_| {}),
                bridge_core::deadline::epoch_ms() - 2000,
            ),
            "timeout",
            "timeout",
        ),
    ] {
        let (answer, written) = output.during(rig.send(request)).await;
        assert_eq!(answer.reason.as_deref(), Some(answered));
        assert_eq!(
            written.count("SmartForwardAnswers", &[("Reason", reason)]),
            1,
            "{:?}",
            written.names()
        );
        assert_eq!(written.total("SmartForwardAnswers"), 1);
        assert_eq!(
            written.values("SmartForwardLatency", &smart_forward).len(),
            1
        );
        assert_eq!(written.total("Events"), 0, "not a call event");
    }
    // A budget spent on arrival says so in its log line, with how long the caller had waited.
    let spent = received_at(
        event_with("smart-forward-known-client.json", |_| {}),
        bridge_core::deadline::epoch_ms() - 2000,
    );
    let (_, written) = output.during(rig.send(spent)).await;
    let line = written
        .logs
        .iter()
        .find(|line| line["fields"]["reason"] == "timeout")
        .unwrap_or_else(|| panic!("{:?}", written.logs));
    assert_eq!(line["level"], "WARN", "{line}");
    assert!(
        line["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("budget spent before the lookup could start"),
        "{line}"
    );
    assert!(
        line["fields"]["waited_ms"].as_u64().unwrap() >= 2000,
        "{line}"
    );

    // Refused: an event without a call id is counted, as a failure.
    let (answer, refused) = output
        .during(rig.invoke("after-call-missing-uniqueid.json"))
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(refused.count("Events", &outcome("refused")), 1);
    assert_eq!(refused.count("EventResults", &[("Result", "failed")]), 1);

    // Click-to-call: each request counted under the decision it was answered with.
    let (answer, clicked) = output
        .during(rig.invoke("click-to-call-webhook-token.json"))
        .await;
    let decision = answer.header("x-bridge-decision").unwrap().to_owned();
    assert_eq!(answer.status, 401, "a token opens nothing here: {answer:?}");
    assert_eq!(
        clicked.count("ClickToCallRequests", &[("Decision", decision.as_str())]),
        1,
        "{:?}",
        clicked.names()
    );
    assert_eq!(clicked.total("ClickToCallRequests"), 1);

    // Filtered: the event's filter leaves missed calls out.
    let filtering = Rig::with(CrmKind::NetHunt, &[("AFTER_CALL_STATUSES", "answered")]).await;
    filtering.seed_existing_client();
    let (answer, filtered) = output
        .during(filtering.invoke("after-call-2-missed-existing.json"))
        .await;
    answer.assert_outcome("filtered");
    assert_eq!(filtered.count("Events", &outcome("filtered")), 1);
    assert_eq!(
        filtered.count("EventResults", &[("Result", "delivered")]),
        1
    );
    assert_eq!(filtered.total("CrmRequests"), 0, "{:?}", filtered.names());
}
