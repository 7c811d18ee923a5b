//! Reconciliation end to end: a simulated day of calls in Ringostat's call log, a share of
//! their webhooks lost, then `reconcile` — every finished call in the CRM exactly once, and a
//! second run writes nothing. Both CRMs, the CRM sandbox (with its `calls/list`) and moto.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::ports::CrmKind;
use bridge_tests::rig::{Rig, event_with};
use jiff::Timestamp;
use serde_json::{Value, json};

const DAY: &str = "2024-04-05";
const CALLS: usize = 30;
/// Calls still running when the log is read.
const RUNNING: usize = 2;

/// One row of the call log, with the `calls/list` names; every third call is outgoing, every
/// fourth missed, every fifth from the existing client.
fn call_row(i: usize) -> Value {
    let outgoing = i.is_multiple_of(3);
    let missed = i.is_multiple_of(4);
    let client = if i.is_multiple_of(5) {
        "380501234567".to_owned()
    } else {
        format!("3806711{:05}", 20_000 + i)
    };
    let (hour, minute) = (9 + i / 4, (i % 4) * 15);
    let uniqueid = format!("ua0_-1712300000.{}", 100 + i);
    let (caller, dst) = if outgoing {
        ("\"Олена Коваленко\" <acmeua_olena>".to_owned(), client)
    } else {
        (client, "380441112233".to_owned())
    };
    let (disposition, billsec) = if missed {
        ("NO ANSWER", 0)
    } else {
        ("ANSWERED", 60)
    };
    json!({
        "uniqueid": uniqueid,
        "calldate": format!("{DAY} {hour:02}:{minute:02}:00"),
        "call_type": if outgoing { "out" } else { "in" },
        "caller": caller,
        "dst": dst,
        "disposition": disposition,
        "duration": billsec + 10,
        "billsec": billsec,
        "waittime": 10,
        "employee_number": if missed && !outgoing { -1 } else { 111 },
        "employee_fio": "Олена Коваленко",
        "has_recording": if missed { "0" } else { "1" },
        "recording": format!("https://app.ringostat.com/recordings/{uniqueid}.mp3?token=t"),
        "pool_name": "Google Ads",
    })
}

fn running_row(i: usize) -> Value {
    let mut row = call_row(i);
    row["uniqueid"] = json!(format!("ua0_-1712300000.{}", 900 + i));
    row["disposition"] = json!(if i.is_multiple_of(2) {
        "IN PROGRESS"
    } else {
        "CALLING"
    });
    row
}

/// The webhook Ringostat would have sent for the row.
fn webhook_for(row: &Value) -> lambda_http::Request {
    let outgoing = row["call_type"] == "out";
    let file = if outgoing {
        "after-outgoing-call-5-answered-existing.json"
    } else {
        "after-call-1-answered-existing.json"
    };
    event_with(file, |body| *body = row.clone())
}

/// Each Ringostat call id in the CRM's call records, with how often it appears.
fn records_per_call(rig: &Rig) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for text in rig.crm().all_call_texts() {
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("Ringostat ID: ")) {
            *seen.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    seen
}

async fn a_day_with_lost_webhooks(kind: CrmKind) {
    // Small pages, so the day is fetched in several slices as a busy project's would be.
    let rig = Rig::with(kind, &[("RINGOSTAT_CALLS_PER_REQUEST", "7")]).await;
    rig.seed_existing_client();
    let finished: Vec<Value> = (0..CALLS).map(call_row).collect();
    let mut log = finished.clone();
    log.extend((0..RUNNING).map(running_row));
    {
        let mut state = rig.sandbox.state();
        state.seed_call_log(log);
        state.set_calls_list_limit(7);
    }

    // Two webhooks in three arrive; the rest are lost.
    let mut delivered = 0;
    for (i, row) in finished.iter().enumerate() {
        if i % 3 != 2 {
            rig.send(webhook_for(row))
                .await
                .assert_outcome("call_logged");
            delivered += 1;
        }
    }
    assert_eq!(rig.crm().call_count(), delivered);

    let from: Timestamp = "2024-04-05T00:00:00+03:00".parse().unwrap();
    let to: Timestamp = "2024-04-05T23:59:59+03:00".parse().unwrap();
    let report = rig
        .stack
        .reconciler
        .reconcile(from, to, Deadline::after(Duration::from_secs(120)))
        .await
        .expect("reconciliation runs");
    assert_eq!(report.listed, CALLS + RUNNING, "{report:?}");
    assert_eq!(
        report.in_progress, RUNNING,
        "running calls wait for a later run"
    );
    assert_eq!(report.already_done, delivered, "{report:?}");
    assert_eq!(report.recovered, CALLS - delivered, "{report:?}");
    assert_eq!(
        (report.failed, report.unreadable, report.not_reached),
        (0, 0, 0)
    );

    let records = records_per_call(&rig);
    assert_eq!(records.len(), CALLS, "every finished call is in the CRM");
    assert!(
        records.values().all(|&n| n == 1),
        "exactly once: {records:?}"
    );
    assert!(
        records.keys().all(|id| !id.contains(".90")),
        "no running call was logged"
    );

    let again = rig
        .stack
        .reconciler
        .reconcile(from, to, Deadline::after(Duration::from_secs(120)))
        .await
        .expect("second run");
    assert_eq!(again.recovered, 0, "{again:?}");
    assert_eq!(again.already_done, CALLS);
    assert_eq!(
        rig.crm().call_count(),
        CALLS,
        "the second run writes nothing"
    );
}

#[tokio::test]
async fn nethunt_day_with_lost_webhooks() {
    a_day_with_lost_webhooks(CrmKind::NetHunt).await;
}

#[tokio::test]
async fn dataverse_day_with_lost_webhooks() {
    a_day_with_lost_webhooks(CrmKind::Dataverse).await;
}
