//! `bridge-ops smoke`, the real binary, against the functions served on a loopback port over
//! the sandbox and moto: the test call appears in the CRM and is removed (Dataverse) or listed
//! as left with its marker (NetHunt, which cannot delete); a CRM that fails the write makes it
//! exit 1 with a report that says where it failed.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use bridge_core::ports::CrmKind;
use bridge_tests::ops_cli::run;
use bridge_tests::rig::Rig;
use bridge_tests::served::serve;
use crm_sandbox::{Fault, RequestFilter};
use serde_json::Value;

const MARKER: &str = "[bridge smoke test]";
const TEST_NUMBER: &str = "+380440000001";

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no `{name}` step in {report:#}"))
}

fn kinds(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect()
}

async fn smoke(rig: &Arc<Rig>, extra: &[&str]) -> bridge_tests::ops_cli::Run {
    let served = serve(rig.clone()).await;
    let vars: HashMap<String, String> = rig.vars.clone();
    let mut args = vec!["smoke", "--url", &served.url];
    args.extend_from_slice(extra);
    run(&vars, &args).await
}

async fn the_test_call_appears_and_is_removed_or_listed(kind: CrmKind) {
    let rig = Arc::new(Rig::new(kind).await);
    let (contacts, calls) = (rig.crm().contact_count(), rig.crm().call_count());

    let run = smoke(&rig, &["--json"]).await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    let report = run.json();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["crm"], kind.as_str());
    assert_eq!(report["phone"], TEST_NUMBER);
    let call_id = report["call_id"].as_str().unwrap();
    assert!(call_id.starts_with("bridge-smoke-test-"), "{report:#}");
    for name in ["webhook", "contact", "call record", "deal", "clean-up"] {
        assert_eq!(step(&report, name)["ok"], true, "{report:#}");
    }

    match kind {
        CrmKind::Dataverse => {
            // It was there: the webhook created it (POSTs), the smoke deleted it (DELETEs).
            let deletes: Vec<String> = rig
                .sandbox
                .requests()
                .into_iter()
                .filter(|r| r.method == "DELETE" && r.status == 204)
                .map(|r| r.path)
                .collect();
            for set in ["phonecalls(", "opportunities(", "contacts("] {
                assert!(deletes.iter().any(|p| p.contains(set)), "{deletes:?}");
            }
            assert_eq!(
                kinds(&report["removed"]),
                ["call", "deal", "contact"],
                "{report:#}"
            );
            assert_eq!(report["left"], serde_json::json!([]), "{report:#}");
            assert_eq!(rig.crm().contact_count(), contacts, "the contact is gone");
            assert_eq!(rig.crm().call_count(), calls, "the phone call is gone");
            assert!(rig.sandbox.state().dataverse.opportunities().is_empty());
        }
        CrmKind::NetHunt => {
            // Nothing can be deleted: all three are listed, and the call log carries the
            // marker and the call id, so a person finds them.
            assert_eq!(report["removed"], serde_json::json!([]), "{report:#}");
            assert_eq!(
                kinds(&report["left"]),
                ["call", "deal", "contact"],
                "{report:#}"
            );
            for left in report["left"].as_array().unwrap() {
                assert!(
                    left["why"].as_str().unwrap().contains("no delete action"),
                    "{left:#}"
                );
            }
            assert_eq!(rig.crm().contact_count(), contacts + 1);
            let texts = rig.crm().all_call_texts();
            let text = texts
                .iter()
                .find(|t| t.contains(&format!("Ringostat ID: {call_id}")))
                .unwrap_or_else(|| panic!("no call log of {call_id} in {texts:#?}"));
            assert!(text.contains(MARKER), "{text}");
        }
    }

    // The text report says the same for people.
    let text = smoke(&rig, &[]).await;
    assert_eq!(text.code, Some(0), "{text:#?}");
    assert!(text.stdout.contains("[ ok ] call record:"), "{text:#?}");
    assert!(text.stdout.ends_with("smoke: ok\n"), "{text:#?}");
    if kind == CrmKind::NetHunt {
        assert!(
            text.stdout.contains(&format!(
                "find them by the number {TEST_NUMBER} and the marker \"{MARKER}\""
            )),
            "{text:#?}"
        );
    }
}

bridge_tests::for_both_crms!(multi_thread: the_test_call_appears_and_is_removed_or_listed);

/// Smart CRM failing every phone-call write: the webhook answers 503 (parked), the smoke says
/// so and exits 1, and the contact the webhook created is still removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crm_that_fails_the_write_fails_the_smoke_with_a_clear_report() {
    let rig = Arc::new(Rig::with(CrmKind::Dataverse, &[("WEBHOOK_BUDGET_MS", "1500")]).await);
    let contacts = rig.crm().contact_count();
    rig.sandbox.inject_matching(
        Fault::ServerError { status: 500 },
        1000,
        RequestFilter::method_path("POST", "/phonecalls"),
    );

    let run = smoke(&rig, &["--json"]).await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    let report = run.json();
    assert_eq!(report["ok"], false);
    let webhook = step(&report, "webhook");
    assert_eq!(webhook["ok"], false, "{report:#}");
    let detail = webhook["detail"].as_str().unwrap();
    assert!(
        detail.contains("/ringostat/after-call answered 50"),
        "{detail}"
    );
    assert!(detail.contains("parked"), "{detail}");
    // The token never reaches the report.
    assert!(!run.stdout.contains("local-dev-token"), "{}", run.stdout);
    assert_eq!(
        rig.crm().contact_count(),
        contacts,
        "the test contact was removed"
    );

    let text = smoke(&rig, &[]).await;
    assert_eq!(text.code, Some(1));
    assert!(text.stdout.contains("[FAIL] webhook:"), "{text:#?}");
    assert!(text.stdout.ends_with("smoke: FAILED\n"), "{text:#?}");
}

/// A wrong token is a failure that names the token, not the CRM.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_token_is_named() {
    let rig = Arc::new(Rig::new(CrmKind::NetHunt).await);
    let run = smoke(&rig, &["--json", "--token", "not-the-token"]).await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    let detail = step(&run.json(), "webhook")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("401"), "{detail}");
    assert!(detail.contains("WEBHOOK_TOKEN"), "{detail}");
}
