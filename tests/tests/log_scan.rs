//! Logs that cannot leak: every `events/` file and the CRM failures (including an error text
//! that quotes the request) run through both CRMs with the functions' own log subscriber at the
//! most verbose level anyone can ask for (TRACE, read as DEBUG); the captured output holds no
//! secret of the configuration and no client number in full.
#![allow(clippy::unwrap_used)]

use bridge_core::ports::CrmKind;
use bridge_core::webhook::logging::{self, LogCapture};
use bridge_core::webhook::metrics;
use bridge_tests::rig::{Rig, event_with, events_dir};
use crm_sandbox::{Fault, RequestFilter};

/// The variables whose values are secrets.
const SECRET_VARIABLES: [&str; 5] = [
    "WEBHOOK_TOKEN",
    "CLICK_TO_CALL_KEY",
    "NETHUNT_API_KEY",
    "DATAVERSE_CLIENT_SECRET",
    "RINGOSTAT_AUTH_KEY",
];

/// Every phone number the events carry, as digits (`380501234567`) and nationally
/// (`0501234567`): runs of 9 to 12 digits that start like a Ukrainian number. Call ids
/// (`1712316600`) start otherwise.
fn client_numbers() -> Vec<String> {
    let mut numbers = Vec::new();
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for run in text.split(|c: char| !c.is_ascii_digit()) {
            if (9..=12).contains(&run.len()) && (run.starts_with("380") || run.starts_with('0')) {
                let national = run.strip_prefix("38").unwrap_or(run);
                numbers.push(run.to_owned());
                numbers.push(national.to_owned());
            }
        }
    }
    for round in 0..10 {
        let number = fresh_number(round);
        numbers.push(number[2..].to_owned());
        numbers.push(number);
    }
    numbers.sort();
    numbers.dedup();
    assert!(numbers.len() >= 4, "the events carry client numbers");
    numbers
}

/// The caller of fault round `round`: a number no event carries.
fn fresh_number(round: usize) -> String {
    format!("3806755500{round:02}")
}

fn event_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    files
}

/// Every event file, then the CRM failing each way, on `kind`; the secrets the rig used.
async fn run_everything(kind: CrmKind) -> Vec<String> {
    let rig = Rig::new(kind).await;
    rig.seed_existing_client();
    for file in event_files() {
        rig.invoke(&file).await;
    }
    let faults = [
        Fault::Echo { status: 400 },
        Fault::Echo { status: 500 },
        Fault::ServerError { status: 503 },
        Fault::Throttle {
            retry_after_secs: 0,
        },
        Fault::AfterWrite { status: 502 },
    ];
    for (round, fault) in faults.into_iter().enumerate() {
        // Every CRM request of the event fails the same way.
        rig.sandbox.inject_matching(fault, 6, RequestFilter::any());
        for file in [
            "after-call-3-answered-new.json",
            "before-call-existing-client.json",
            "call-analysis-summary.json",
            "smart-forward-known-client.json",
        ] {
            // A number nobody knows yet, so the CRM is searched (the number in the query).
            let request = event_with(file, |body| {
                if let Some(id) = body.get_mut("uniqueid") {
                    *id = format!("log-scan-{round}-{file}").into();
                }
                body["caller"] = fresh_number(round).into();
            });
            rig.send(request).await;
        }
        rig.sandbox.clear_faults();
    }
    SECRET_VARIABLES
        .iter()
        .filter_map(|name| rig.vars.get(*name).filter(|v| !v.is_empty()).cloned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_and_no_full_number_reaches_the_logs() {
    let captured = LogCapture::default();
    let writer = captured.clone();
    logging::init_with_writer(move || writer.clone(), true, logging::level_named("TRACE"));
    // The metrics lines share the output: scanned the same way.
    let metrics_writer = captured.clone();
    metrics::init_with_writer("RingostatBridge", Some("DEBUG".into()), move || {
        Box::new(metrics_writer.clone()) as Box<dyn std::io::Write>
    });

    let mut secrets = Vec::new();
    for (kind, _) in CrmKind::ALL {
        secrets.extend(run_everything(kind).await);
    }
    let logs = captured.text();
    assert!(
        logs.lines().count() > 50,
        "the functions logged what they did:\n{logs}"
    );
    assert!(
        logs.contains("\"level\":\"DEBUG\""),
        "DEBUG lines are in the scan"
    );
    assert!(
        !logs.contains("\"level\":\"TRACE\""),
        "TRACE is read as DEBUG"
    );
    assert!(
        logs.contains("\"_aws\""),
        "the metrics lines are in the scan"
    );
    assert!(
        secrets.len() >= 3,
        "the scan knows the secrets: {secrets:?}"
    );
    let numbers = client_numbers();
    for line in logs.lines() {
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a secret in the logs: {line}"
            );
        }
        for number in &numbers {
            assert!(
                !line.contains(number.as_str()),
                "a full number ({number}) in the logs: {line}"
            );
        }
    }
}
