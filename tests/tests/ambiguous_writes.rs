//! Writes that happened but were answered ambiguously: the CRM performs the call record, the
//! note or the deal and then answers 502, or drops the connection. After Ringostat's three
//! re-sends and the replay, the CRM holds exactly one of each — both CRMs, through the real
//! handlers, against the sandbox and moto.

use bridge_core::Deadline;
use bridge_core::ports::CrmKind;
use bridge_tests::rig::{Answer, Rig};
use crm_sandbox::{Fault, RequestFilter};
use std::time::Duration;

const CALL: &str = "after-call-1-answered-existing.json";
const ANALYSIS: &str = "call-analysis-summary.json";
const NEW_CLIENT: &str = "before-call-new-client.json";

/// What the CRM performs before answering badly.
fn filter(kind: CrmKind, write: Write) -> RequestFilter {
    match (kind, write) {
        (CrmKind::NetHunt, Write::CallRecord) => RequestFilter::path_contains("create-call-log"),
        (CrmKind::NetHunt, Write::Note) => RequestFilter::path_contains("create-comment"),
        (CrmKind::NetHunt, Write::Deal) => {
            RequestFilter::path_contains("create-record/deals-folder")
        }
        (CrmKind::Dataverse, Write::CallRecord) => {
            RequestFilter::method_path("POST", "/api/data/v9.2/phonecalls")
        }
        (CrmKind::Dataverse, Write::Note) => {
            RequestFilter::method_path("POST", "/api/data/v9.2/annotations")
        }
        (CrmKind::Dataverse, Write::Deal) => {
            RequestFilter::method_path("POST", "/api/data/v9.2/opportunities")
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Write {
    CallRecord,
    Note,
    Deal,
}

/// The first delivery meets `fault` on `write`; then Ringostat's three re-sends and the replay.
async fn written_once(kind: CrmKind, write: Write, fault: Fault) {
    let rig = Rig::new(kind).await;
    let client = rig.seed_existing_client();
    let file = match write {
        Write::CallRecord => CALL,
        Write::Note => ANALYSIS,
        Write::Deal => NEW_CLIENT,
    };
    rig.sandbox.inject_matching(fault, 1, filter(kind, write));
    let first = rig.invoke(file).await;
    assert_eq!(rig.sandbox.pending_faults(), 0, "the fault was met");
    let mut answers: Vec<Answer> = vec![first];
    for _ in 0..3 {
        answers.push(rig.invoke(file).await);
    }
    let report = rig
        .stack
        .delivery
        .replay(100, Deadline::after(Duration::from_secs(60)))
        .await;
    assert_eq!(report.still_failing, 0, "{report:?}");
    let last = answers.last().expect("answers");
    assert_eq!(last.status, 200, "{write:?} {fault:?}: {answers:?}");

    let crm = rig.crm();
    match write {
        Write::CallRecord => {
            assert_eq!(crm.call_texts(&client).len(), 1, "{answers:?}");
            assert_eq!(crm.call_count(), 1);
        }
        Write::Note => assert_eq!(crm.notes_of(&client).len(), 1, "{answers:?}"),
        Write::Deal => {
            let contact = last.field("contact_id").to_owned();
            assert!(!contact.is_empty(), "{answers:?}");
            assert_eq!(crm.deals_of(&contact).len(), 1, "{answers:?}");
            assert_eq!(crm.contact_count(), 2, "the seeded client and the new one");
        }
    }
}

async fn a_call_record_written_then_502(kind: CrmKind) {
    written_once(kind, Write::CallRecord, Fault::AfterWrite { status: 502 }).await;
}

async fn a_call_record_written_then_reset(kind: CrmKind) {
    written_once(kind, Write::CallRecord, Fault::AfterWriteReset).await;
}

async fn a_note_written_then_502(kind: CrmKind) {
    written_once(kind, Write::Note, Fault::AfterWrite { status: 502 }).await;
}

async fn a_note_written_then_reset(kind: CrmKind) {
    written_once(kind, Write::Note, Fault::AfterWriteReset).await;
}

async fn a_deal_written_then_502(kind: CrmKind) {
    written_once(kind, Write::Deal, Fault::AfterWrite { status: 502 }).await;
}

async fn a_deal_written_then_reset(kind: CrmKind) {
    written_once(kind, Write::Deal, Fault::AfterWriteReset).await;
}

/// The deal create fails twice for a new number: one contact and one deal after the re-sends.
async fn a_deal_create_failing_twice(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    // Two failed creates: two deliveries where the CRM cannot be retried blindly (NetHunt), the
    // adapter's own retries where it can (Dataverse: the deal's id is deterministic).
    rig.sandbox.inject_matching(
        Fault::ServerError { status: 503 },
        2,
        filter(kind, Write::Deal),
    );
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(rig.invoke(NEW_CLIENT).await);
    }
    assert_eq!(rig.sandbox.pending_faults(), 0, "both failures were met");
    let last = answers.last().expect("answers").clone();
    assert_eq!(last.status, 200, "{answers:?}");
    let contact = last.field("contact_id").to_owned();
    assert_eq!(rig.crm().contact_count(), 1, "one contact");
    assert_eq!(rig.crm().deals_of(&contact).len(), 1, "one deal");
}

bridge_tests::for_both_crms!(
    a_call_record_written_then_502,
    a_call_record_written_then_reset,
    a_note_written_then_502,
    a_note_written_then_reset,
    a_deal_written_then_502,
    a_deal_written_then_reset,
    a_deal_create_failing_twice,
);
