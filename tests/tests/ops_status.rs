//! `bridge-ops status` against the local stack: webhooks run through the rig (the functions'
//! handlers over the CRM sandbox and DynamoDB on moto) with the functions' own EMF metrics
//! backend; the lines they wrote go to moto's CloudWatch as CloudWatch Logs would file them
//! (`bridge_tests::emf`), and the real `bridge-ops` binary reads them back with GetMetricData,
//! and the parked events from the parked table.
//!
//! One test drives the metrics: the backend is one per process, and each status counts every
//! value of its namespace, so the scenario runs in sequence. The other tests run `status`
//! without invoking a function.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::ports::CrmKind;
use bridge_core::webhook::logging::LogCapture;
use bridge_core::webhook::metrics;
use bridge_tests::emf;
use bridge_tests::ops_cli::{Run, run};
use bridge_tests::rig::{Rig, event_with};
use bridge_tests::{dynamodb_endpoint, unique_table_name};
use crm_sandbox::{Fault, RequestFilter};
use jiff::Timestamp;
use serde_json::{Value, json};

/// The rig's variables for `bridge-ops`, CloudWatch on moto and `changes` (empty unsets).
fn status_vars(rig: &Rig, changes: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars = rig.vars.clone();
    vars.insert("AWS_ENDPOINT_URL_CLOUDWATCH".into(), dynamodb_endpoint());
    for (name, value) in changes {
        vars.insert((*name).into(), (*value).into());
    }
    vars
}

/// A finished call in Ringostat's call log whose webhook never arrived.
fn lost_call() -> Value {
    json!({
        "uniqueid": "ua0_-1712300000.4242",
        "calldate": "2024-04-05 10:00:00",
        "call_type": "in",
        "caller": "380501234567",
        "dst": "380441112233",
        "disposition": "ANSWERED",
        "duration": 70,
        "billsec": 60,
        "waittime": 10,
        "employee_number": 111,
        "employee_fio": "Олена Коваленко",
        "has_recording": "0",
        "pool_name": "Google Ads",
    })
}

fn count(status: &Value, pointer: &str) -> u64 {
    status
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} in {status:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_days_calls_parked_events_and_the_last_reconcile_run() {
    // The functions' metrics, in a namespace of this run's own stack.
    let stack = unique_table_name("status");
    let namespace = format!("RingostatBridge/{stack}");
    let output = LogCapture::default();
    let writer = output.clone();
    metrics::init_with_writer(&namespace, None, move || {
        Box::new(writer.clone()) as Box<dyn std::io::Write>
    });
    let cloudwatch = emf::cloudwatch_client(&dynamodb_endpoint());

    let rig = Rig::new(CrmKind::NetHunt).await;
    rig.seed_existing_client();
    // Logged, then the same event again: a duplicate.
    rig.invoke("after-call-1-answered-existing.json")
        .await
        .assert_outcome("call_logged");
    let again = rig.invoke("after-call-1-answered-existing.json").await;
    assert_eq!(again.status, 200, "{again:?}");
    // Parked: NetHunt throttles every attempt.
    rig.sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        100,
    );
    let parked_from = Timestamp::now().as_second();
    let parked = rig.invoke("after-call-3-answered-new.json").await;
    let parked_to = Timestamp::now().as_second();
    rig.sandbox.clear_faults();
    assert_eq!(parked.status, 503, "{parked:?}");
    assert_eq!(parked.json["parked"], true);
    // Smart forwarding: the manager of a known client, the fallback for an unknown caller.
    let known = rig
        .send(event_with("smart-forward-known-client.json", |_| {}))
        .await;
    assert_eq!(known.reason.as_deref(), Some("manager"));
    let unknown = rig
        .send(event_with("smart-forward-unknown-client.json", |_| {}))
        .await;
    assert_eq!(unknown.reason.as_deref(), Some("unknown_caller"));
    // A reconcile run recovers a call whose webhook was lost.
    rig.sandbox.state().seed_call_log(vec![lost_call()]);
    let report = reconcile_the_morning(&rig)
        .await
        .expect("the reconcile run reads the call log");
    assert_eq!(report.recovered, 1, "{report:?}");
    // As the reconcile function does when its invocation ends.
    metrics::flush();
    let written = output.text();
    assert!(
        emf::ship(&cloudwatch, &written).await > 0,
        "the functions wrote metrics"
    );

    let vars = status_vars(&rig, &[]);
    let json_run = run(&vars, &["status", "--stack", &stack, "--json"]).await;
    let status_done = Timestamp::now().as_second();
    assert_eq!(
        json_run.code,
        Some(1),
        "a parked event needs attention: {json_run:#?}"
    );
    let status = json_run.json();
    assert_eq!(status["verdict"], "attention", "{status:#}");
    assert_eq!(status["ok"], false);
    assert_eq!(status["namespace"], namespace.as_str());

    // Calls by outcome, every outcome listed.
    assert_eq!(count(&status, "/metrics/calls/total"), 3, "{status:#}");
    for (outcome, n) in [
        ("logged", 1),
        ("duplicate", 1),
        ("parked", 1),
        ("failed", 0),
        ("refused", 0),
    ] {
        assert_eq!(
            count(&status, &format!("/metrics/calls/by_outcome/{outcome}")),
            n,
            "{outcome}: {status:#}"
        );
    }
    assert_eq!(
        status["metrics"]["calls"]["by_function"],
        json!({"after-call": {"logged": 1, "duplicate": 1, "parked": 1}})
    );
    // When the last failure happened, to the minute.
    let last_failures = &status["metrics"]["calls"]["last_failure_at"];
    let last_parked: Timestamp = last_failures["parked"]
        .as_str()
        .unwrap_or_else(|| panic!("{last_failures}"))
        .parse()
        .unwrap();
    assert!(
        (parked_from - 60..=parked_to).contains(&last_parked.as_second()),
        "the minute the event was parked in: {last_parked}"
    );
    assert_eq!(
        last_failures.as_object().unwrap().len(),
        1,
        "{last_failures}"
    );

    // The parked event: its call, age (since it failed, during this test) and error.
    assert_eq!(count(&status, "/parked/count"), 1);
    let event = &status["parked"]["events"][0];
    assert_eq!(event["function"], "after-call");
    assert!(
        event["call_id"]
            .as_str()
            .unwrap()
            .contains("1712316600.1003"),
        "{event}"
    );
    let age = event["age_seconds"].as_i64().unwrap();
    assert!(
        (0..=status_done - parked_from + 1).contains(&age),
        "parked during this test: {age} s, {event}"
    );
    let first: Timestamp = event["first_parked_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (parked_from..=status_done).contains(&first.as_second()),
        "{event}"
    );
    let error = event["error"].as_str().unwrap();
    assert!(error.contains("throttled"), "the CRM's throttling: {error}");
    assert_eq!(status["parked"]["oldest_age_seconds"], event["age_seconds"]);
    // Worst news first.
    let findings = status["findings"].as_array().unwrap();
    assert_eq!(findings[0]["severity"], "attention", "{findings:#?}");
    let headline = findings[0]["text"].as_str().unwrap();
    assert!(
        headline.starts_with("1 parked event, oldest "),
        "{headline}"
    );
    assert!(
        headline.ends_with(&format!("{error} (`bridge-ops replay` runs them now)")),
        "{headline}"
    );

    // Smart forwarding by reason.
    assert_eq!(count(&status, "/metrics/smart_forward/total"), 2);
    assert_eq!(count(&status, "/metrics/smart_forward/fallback"), 1);
    assert_eq!(
        count(&status, "/metrics/smart_forward/by_reason/manager"),
        1
    );
    assert_eq!(
        count(&status, "/metrics/smart_forward/by_reason/unknown_caller"),
        1
    );
    assert_eq!(
        count(&status, "/metrics/smart_forward/by_reason/crm_error"),
        0
    );

    // The last reconcile run: when, its result and what it did.
    let reconcile = &status["metrics"]["reconcile"];
    assert_eq!(reconcile["runs"], 1, "{reconcile:#}");
    assert_eq!(reconcile["failed_runs"], 0);
    let last = &reconcile["last_run"];
    assert_eq!(last["result"], "ok", "{reconcile:#}");
    assert_eq!(last["rows"], json!({"recovered": 1}), "{reconcile:#}");
    assert!(
        (0..120).contains(&last["age_seconds"].as_i64().unwrap()),
        "{last}"
    );
    assert!(
        findings.iter().any(|f| f["severity"] == "note"
            && f["text"]
                .as_str()
                .unwrap()
                .starts_with("reconcile recovered 1 call")),
        "{findings:#?}"
    );
    assert!(
        count(&status, "/metrics/throttled/nethunt") > 0,
        "{status:#}"
    );

    // The screen: the verdict first, the worst news in it.
    let text = run(&vars, &["status", "--stack", &stack]).await;
    assert_eq!(text.code, Some(1), "{text:#?}");
    let first_line = text.stdout.lines().next().unwrap_or_default();
    assert!(
        first_line.starts_with("status: NEEDS ATTENTION: 1 parked event, oldest "),
        "{text:#?}"
    );
    assert!(first_line.contains(error), "{first_line}");
    assert_screen_has(&text, "parked events now: 1 (oldest first)");
    assert_screen_has(&text, "call events: 3");
    assert_screen_has(
        &text,
        "smart forward: 2 answers, 1 to the fallback (manager 1, unknown_caller 1)",
    );
    assert_screen_has(&text, "reconcile: last run at ");
    assert_screen_has(&text, ", ok: recovered 1; 1 run, 0 failed");
    let parked_row = text
        .stdout
        .lines()
        .find(|l| l.contains("1712316600.1003"))
        .unwrap_or_else(|| panic!("a row for the parked call: {text:#?}"));
    assert!(parked_row.contains("after-call"), "{parked_row}");
    assert!(parked_row.contains("throttled"), "{parked_row}");
    let outcome_row = |word: &str| {
        text.stdout
            .lines()
            .skip_while(|l| !l.starts_with("call events:"))
            .find(|l| l.trim_start_matches([' ', '!']).starts_with(word))
            .unwrap_or_else(|| panic!("a {word} row: {text:#?}"))
            .to_owned()
    };
    let parked_outcome = outcome_row("parked");
    assert!(
        parked_outcome.starts_with(" !parked"),
        "failures marked: {text:#?}"
    );
    assert!(
        parked_outcome.ends_with(")") && parked_outcome.contains("after-call 1 (last at "),
        "{parked_outcome}"
    );
    assert!(outcome_row("logged").contains("after-call 1"));

    // The replay lands the event: nothing needs attention any more, and the day's parking is
    // still told.
    let replay = rig
        .stack
        .delivery
        .replay(10, Deadline::after(Duration::from_secs(60)))
        .await;
    assert_eq!(replay.landed, 1, "{replay:?}");
    metrics::flush();
    // Only what was not shipped yet: the replay's lines.
    emf::ship(&cloudwatch, &output.text()[written.len()..]).await;
    let calm = run(&vars, &["status", "--stack", &stack, "--json"]).await;
    assert_eq!(calm.code, Some(0), "{calm:#?}");
    let status = calm.json();
    assert_eq!(status["verdict"], "ok", "{status:#}");
    assert_eq!(count(&status, "/parked/count"), 0);
    assert_eq!(count(&status, "/metrics/replay/landed"), 1);
    assert!(
        status["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["text"] == "1 call event parked in the last 24 h, all replayed since"),
        "{status:#}"
    );
    let text = run(&vars, &["status", "--stack", &stack]).await;
    assert_eq!(text.code, Some(0), "{text:#?}");
    assert!(
        text.stdout
            .starts_with("status: OK: nothing needs attention\n"),
        "{text:#?}"
    );

    // Ringostat's call log cannot be read: the reconcile run fails, and the last run (the
    // same minute as the good one, or a later one) is that failure.
    rig.sandbox.inject_matching(
        Fault::ServerError { status: 503 },
        1_000,
        RequestFilter::path_contains("calls/list"),
    );
    let shipped = output.text().len();
    let failed = reconcile_the_morning(&rig).await;
    rig.sandbox.clear_faults();
    assert!(failed.is_err(), "{failed:?}");
    metrics::flush();
    emf::ship(&cloudwatch, &output.text()[shipped..]).await;
    let broken = run(&vars, &["status", "--stack", &stack, "--json"]).await;
    assert_eq!(broken.code, Some(1), "{broken:#?}");
    let status = broken.json();
    let reconcile = &status["metrics"]["reconcile"];
    assert_eq!(reconcile["runs"], 2, "{reconcile:#}");
    assert_eq!(reconcile["failed_runs"], 1, "{reconcile:#}");
    assert_eq!(reconcile["last_run"]["result"], "failed", "{reconcile:#}");
    let headline = status["findings"][0]["text"].as_str().unwrap();
    assert!(
        headline.starts_with("the last reconcile run (at ") && headline.contains(") failed"),
        "{status:#}"
    );
}

fn assert_screen_has(run: &Run, text: &str) {
    assert!(
        run.stdout.contains(text),
        "`{text}` on the screen: {run:#?}"
    );
}

#[tokio::test]
async fn status_without_a_stack_is_a_wrong_command_line() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    let run_ = run(
        &status_vars(&rig, &[("METRICS_NAMESPACE", "")]),
        &["status"],
    )
    .await;
    assert_eq!(run_.code, Some(2), "{run_:#?}");
    assert!(run_.stderr.contains("--stack"), "{run_:#?}");
    let hours = run(&status_vars(&rig, &[]), &["status", "--hours", "0"]).await;
    assert_eq!(hours.code, Some(2), "{hours:#?}");

    let help = run(&HashMap::new(), &["status", "--help"]).await;
    assert_eq!(help.code, Some(0), "{help:#?}");
    for text in [
        "--stack",
        "--hours",
        "--json",
        "METRICS_NAMESPACE",
        "PARKED_TABLE",
        "cloudwatch:GetMetricData",
        "dynamodb:Scan",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "3 a source",
    ] {
        assert!(help.stdout.contains(text), "`{text}` in {}", help.stdout);
    }
}

#[tokio::test]
async fn status_that_cannot_read_cloudwatch_is_incomplete() {
    let rig = Rig::new(CrmKind::NetHunt).await;
    // Nothing listens there.
    let vars = status_vars(
        &rig,
        &[
            ("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:9"),
            ("METRICS_NAMESPACE", "RingostatBridge/nowhere"),
        ],
    );
    let run_ = run(&vars, &["status", "--json"]).await;
    assert_eq!(run_.code, Some(3), "{run_:#?}");
    let status = run_.json();
    assert_eq!(status["verdict"], "incomplete", "{status:#}");
    let error = status["metrics"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("CloudWatch GetMetricData in `RingostatBridge/nowhere`"),
        "{error}"
    );
    for dump in ["ErrorMetadata", "DispatchFailure(", "ServiceError {"] {
        assert!(!error.contains(dump), "no Debug dump: {error}");
    }
    // The parked table was read all the same: empty.
    assert_eq!(status["parked"]["count"], 0, "{status:#}");

    // A parked table that does not exist: its error, and the metrics still read.
    let vars = status_vars(
        &rig,
        &[
            ("PARKED_TABLE", &unique_table_name("no-such-parked")),
            ("METRICS_NAMESPACE", "RingostatBridge/nowhere"),
        ],
    );
    let run_ = run(&vars, &["status", "--json"]).await;
    assert_eq!(run_.code, Some(3), "{run_:#?}");
    let status = run_.json();
    assert!(
        status["parked"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no-such-parked")),
        "{status:#}"
    );
    assert_eq!(status["metrics"]["calls"]["total"], 0, "{status:#}");
}

/// A reconcile run over the morning of the events' calls (2024-04-05, 09:00–11:00 Kyiv).
async fn reconcile_the_morning(
    rig: &Rig,
) -> Result<bridge_core::services::ReconcileReport, bridge_core::services::ReconcileError> {
    rig.stack
        .reconciler
        .reconcile(
            "2024-04-05T09:00:00+03:00".parse().unwrap(),
            "2024-04-05T11:00:00+03:00".parse().unwrap(),
            Deadline::after(Duration::from_secs(60)),
        )
        .await
}
