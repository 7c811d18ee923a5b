//! The call-log export (`GET /calls/list`; `docs/vendor-contracts.md`, "Ringostat API (outgoing
//! calls from the bridge)", RA2–RA9) against the sandbox's fake, each test on its own sandbox:
//! the query the client sends, inclusive window bounds, the 6 500-calls limit handled by
//! halving the window, deduplication by `uniqueid`, and the error paths (HTTP 200 with an
//! error, 401, retried 503).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::ringostat::RingostatApiError;
use bridge_core::ringostat::api::{CALLS_PER_REQUEST, CallRow, CallWindow, EXPORT_FIELDS};
use bridge_core::secret::Secret;
use bridge_tests::ringostat_env::{ringostat_config_for, ringostat_for, ringostat_with};
use crm_sandbox::{Fault, Sandbox};
use serde_json::{Value, json};

const CALLS_LIST: &str = "/calls/list";

async fn sandbox() -> Sandbox {
    Sandbox::start().await.expect("sandbox starts")
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(5))
}

/// `from` to `to`, both `YYYY-MM-DD HH:MM:SS` in the project's local time.
fn window(from: &str, to: &str) -> CallWindow {
    CallWindow {
        from: from.parse().expect("a civil date-time"),
        to: to.parse().expect("a civil date-time"),
    }
}

fn day() -> CallWindow {
    window("2025-01-10 00:00:00", "2025-01-10 23:59:59")
}

/// A call as the export shows it (`docs/vendor-contracts.md`, "Field names and aliases", RF1),
/// with some keys the bridge does not ask for.
fn call(id: &str, calldate: &str) -> Value {
    json!({
        "uniqueid": id,
        "calldate": calldate,
        "call_type": "in",
        "caller": "380671112233",
        "dst": "380441112233",
        "disposition": "ANSWERED",
        "duration": 23,
        "billsec": 11,
        "waittime": "12",
        "employee_number": 101,
        "employee_fio": "Олена Коваль",
        "department": "Sales",
        "connected_with": "380501112233",
        "has_recording": "1",
        "recording": format!("https://app.ringostat.com/recordings/{id}.ogg?token=t"),
        "call_card": format!("https://app.ringostat.com/project/callcards/card/{id}/?project_id=12345"),
        "pool_name": "Simple nums pool",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "winter",
        "utm_term": "(none)",
        "utm_content": "(not set)",
        "client_id": "1169999034.15555555108",
        "landing": "acme.ua/",
        "remote_ip": "10.10.10.10",
        "refferrer": "https://www.google.com/",
        "scheme_name": "test schema",
        "duration_ms": "23000"
    })
}

fn ids(rows: &[CallRow]) -> Vec<String> {
    rows.iter()
        .map(|row| row["uniqueid"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The status of each `calls/list` request in the sandbox's log.
fn statuses(sandbox: &Sandbox) -> Vec<u16> {
    sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == CALLS_LIST)
        .map(|r| r.status)
        .collect()
}

/// `(from, to)` of each `calls/list` request that reached the fake.
fn windows_asked(sandbox: &Sandbox) -> Vec<(String, String)> {
    sandbox
        .state()
        .ringostat
        .calls_list_requests()
        .iter()
        .map(|q| (q["from"].clone(), q["to"].clone()))
        .collect()
}

fn asked(from: &str, to: &str) -> (String, String) {
    (from.to_owned(), to.to_owned())
}

// --- The request and the answer ------------------------------------------------------------

#[tokio::test]
async fn the_export_asks_for_the_documented_fields_in_calldate_order() {
    let sandbox = sandbox().await;
    sandbox.state().seed_call_log(vec![
        call("ua0_-1736510000.3", "2025-01-10 15:30:00"),
        call("ua0_-1736510000.1", "2025-01-10 08:05:09"),
        call("ua0_-1736510000.2", "2025-01-10 08:05:10"),
    ]);

    let rows = ringostat_for(&sandbox)
        .calls(day(), deadline())
        .await
        .expect("export");

    assert_eq!(
        ids(&rows),
        [
            "ua0_-1736510000.1",
            "ua0_-1736510000.2",
            "ua0_-1736510000.3"
        ]
    );
    // Exactly the requested columns: the seeded extras (`remote_ip`, …) are not served.
    let expected: BTreeSet<&str> = EXPORT_FIELDS.into_iter().collect();
    for row in &rows {
        let keys: BTreeSet<&str> = row.keys().map(String::as_str).collect();
        assert_eq!(keys, expected);
    }
    assert_eq!(rows[0]["employee_fio"], json!("Олена Коваль"));
    assert_eq!(rows[0]["waittime"], json!("12"));

    let queries = sandbox.state().ringostat.calls_list_requests();
    let expected_query: BTreeMap<String, String> = [
        ("export_type", "json".to_owned()),
        ("from", "2025-01-10 00:00:00".to_owned()),
        ("to", "2025-01-10 23:59:59".to_owned()),
        ("fields", EXPORT_FIELDS.join(",")),
        ("order", "calldate asc".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(queries, [expected_query]);
    // Spaces, colons and commas go percent-encoded, never as `+`.
    let raw = sandbox.requests()[0].query.clone().unwrap_or_default();
    assert!(
        raw.contains("from=2025-01-10%2000%3A00%3A00&to=2025-01-10%2023%3A59%3A59"),
        "{raw}"
    );
    assert!(raw.contains("uniqueid%2Ccalldate%2C"), "{raw}");
    assert!(raw.ends_with("order=calldate%20asc"), "{raw}");
    assert!(!raw.contains('+'), "{raw}");
    assert_eq!(statuses(&sandbox), [200]);
}

#[tokio::test]
async fn both_ends_of_the_window_are_included() {
    let sandbox = sandbox().await;
    sandbox.state().seed_call_log(vec![
        call("before", "2025-01-10 09:59:59"),
        call("at-from", "2025-01-10 10:00:00"),
        call("inside", "2025-01-10 10:30:00"),
        call("at-to", "2025-01-10 11:00:00"),
        call("after", "2025-01-10 11:00:01"),
    ]);

    let api = ringostat_for(&sandbox);
    let hour = window("2025-01-10 10:00:00", "2025-01-10 11:00:00");
    let rows = api.calls(hour, deadline()).await.expect("export");
    assert_eq!(ids(&rows), ["at-from", "inside", "at-to"]);

    let sliced = api.calls_in_slices(hour, deadline()).await.expect("export");
    assert_eq!(sliced, rows);

    let quiet = window("2025-01-11 00:00:00", "2025-01-11 23:59:59");
    assert_eq!(api.calls(quiet, deadline()).await.expect("export"), []);
}

// --- The 6 500 limit ----------------------------------------------------------------------

#[tokio::test]
async fn a_window_hitting_the_limit_is_fetched_in_slices() {
    let sandbox = sandbox().await;
    // 23 calls spread over the day, one every hour from 00:17:05.
    let seeded: Vec<String> = (0..23).map(|i| format!("ua0_-1736467025.{i:02}")).collect();
    sandbox.state().seed_call_log(
        seeded
            .iter()
            .enumerate()
            .map(|(hour, id)| call(id, &format!("2025-01-10 {hour:02}:17:05")))
            .collect(),
    );
    sandbox.state().set_calls_list_limit(5);
    let api = ringostat_for(&sandbox).with_calls_limit(5);
    assert_eq!(api.calls_limit(), 5);
    assert_eq!(ringostat_for(&sandbox).calls_limit(), CALLS_PER_REQUEST);

    let rows = api
        .calls_in_slices(day(), deadline())
        .await
        .expect("export");

    assert_eq!(ids(&rows), seeded, "every call once, in calldate order");
    let requests = statuses(&sandbox);
    assert!(requests.len() > 1, "{requests:?}");
    assert!(requests.iter().all(|s| *s == 200), "{requests:?}");
    // The first request covers the day; the slices follow it.
    let asked = windows_asked(&sandbox);
    assert_eq!(
        asked[0],
        ("2025-01-10 00:00:00".into(), "2025-01-10 23:59:59".into())
    );
    assert_eq!(asked.len(), requests.len());
    // More requests than the 5 slices 23 calls need at least, fewer than a split to seconds.
    assert!((5..40).contains(&requests.len()), "{requests:?}");

    // One request alone is cut at the limit.
    let truncated = api.calls(day(), deadline()).await.expect("export");
    assert_eq!(ids(&truncated), seeded[..5]);
}

#[tokio::test]
async fn calls_on_the_boundary_second_come_back_once() {
    let sandbox = sandbox().await;
    // The window's middle is 00:00:05: the call there is in both halves.
    sandbox.state().seed_call_log(vec![
        call("c1", "2025-01-10 00:00:01"),
        call("c2", "2025-01-10 00:00:02"),
        call("c3", "2025-01-10 00:00:03"),
        call("mid", "2025-01-10 00:00:05"),
        call("c7", "2025-01-10 00:00:07"),
        call("c8", "2025-01-10 00:00:08"),
    ]);
    sandbox.state().set_calls_list_limit(5);
    let api = ringostat_for(&sandbox).with_calls_limit(5);

    let rows = api
        .calls_in_slices(
            window("2025-01-10 00:00:00", "2025-01-10 00:00:10"),
            deadline(),
        )
        .await
        .expect("export");

    assert_eq!(ids(&rows), ["c1", "c2", "c3", "mid", "c7", "c8"]);
    assert_eq!(
        windows_asked(&sandbox),
        [
            asked("2025-01-10 00:00:00", "2025-01-10 00:00:10"),
            asked("2025-01-10 00:00:00", "2025-01-10 00:00:05"),
            asked("2025-01-10 00:00:05", "2025-01-10 00:00:10"),
        ]
    );
}

#[tokio::test]
async fn a_call_repeated_in_one_export_is_kept_once_with_its_latest_copy() {
    let sandbox = sandbox().await;
    let mut running = call("ua0_-1736503200.7", "2025-01-10 10:00:00");
    running["disposition"] = json!("IN PROGRESS");
    sandbox.state().seed_call_log(vec![
        running,
        call("ua0_-1736503260.8", "2025-01-10 10:01:00"),
        call("ua0_-1736503200.7", "2025-01-10 10:00:00"),
    ]);

    let rows = ringostat_for(&sandbox)
        .calls_in_slices(day(), deadline())
        .await
        .expect("export");

    assert_eq!(ids(&rows), ["ua0_-1736503200.7", "ua0_-1736503260.8"]);
    assert_eq!(rows[0]["disposition"], json!("ANSWERED"));
}

#[tokio::test]
async fn a_second_that_still_hits_the_limit_returns_what_it_has() {
    let sandbox = sandbox().await;
    sandbox.state().seed_call_log(vec![
        call("s1", "2025-01-10 12:00:00"),
        call("s2", "2025-01-10 12:00:00"),
        call("s3", "2025-01-10 12:00:00"),
        call("s4", "2025-01-10 12:00:00"),
    ]);
    sandbox.state().set_calls_list_limit(3);
    let api = ringostat_for(&sandbox).with_calls_limit(3);

    let rows = api
        .calls_in_slices(
            window("2025-01-10 12:00:00", "2025-01-10 12:00:01"),
            deadline(),
        )
        .await
        .expect("export");

    assert_eq!(ids(&rows), ["s1", "s2", "s3"]);
    assert_eq!(
        windows_asked(&sandbox),
        [
            asked("2025-01-10 12:00:00", "2025-01-10 12:00:01"),
            asked("2025-01-10 12:00:00", "2025-01-10 12:00:00"),
            asked("2025-01-10 12:00:01", "2025-01-10 12:00:01"),
        ]
    );
}

// --- Errors ----------------------------------------------------------------------------------

#[tokio::test]
async fn an_error_answered_with_http_200_is_a_rejection() {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .seed_call_log(vec![call("c1", "2025-01-10 10:00:00")]);
    sandbox
        .state()
        .ringostat
        .set_calls_list_error(Some("Export is not available for project 12345"));
    let api = ringostat_for(&sandbox);

    for outcome in [
        api.calls(day(), deadline()).await,
        api.calls_in_slices(day(), deadline()).await,
    ] {
        match outcome {
            Err(RingostatApiError::Rejected { status, message }) => {
                assert_eq!(status, 200);
                assert!(message.contains("Export is not available"), "{message}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    // Not transient: asked once each, never retried.
    assert_eq!(statuses(&sandbox), [200, 200]);
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error() {
    let sandbox = sandbox().await;
    let mut config = ringostat_config_for(&sandbox);
    config.auth_key = Secret::new("not-the-key");
    let api = ringostat_with(config);

    let outcome = api.calls_in_slices(day(), deadline()).await;

    assert!(
        matches!(outcome, Err(RingostatApiError::Auth(_))),
        "{outcome:?}"
    );
    assert_eq!(statuses(&sandbox), [401]);
}

#[tokio::test]
async fn a_503_is_retried_because_the_export_is_a_read() {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .seed_call_log(vec![call("c1", "2025-01-10 10:00:00")]);
    sandbox.inject(Fault::ServerError { status: 503 }, 2);

    let rows = ringostat_for(&sandbox)
        .calls(day(), deadline())
        .await
        .expect("export after retries");

    assert_eq!(ids(&rows), ["c1"]);
    assert_eq!(statuses(&sandbox), [503, 503, 200]);
}

#[tokio::test]
async fn a_reversed_window_is_refused_before_any_request() {
    let sandbox = sandbox().await;
    let outcome = ringostat_for(&sandbox)
        .calls(
            window("2025-01-10 11:00:00", "2025-01-10 10:00:00"),
            deadline(),
        )
        .await;
    assert!(
        matches!(outcome, Err(RingostatApiError::Config(_))),
        "{outcome:?}"
    );
    assert!(statuses(&sandbox).is_empty());
}
