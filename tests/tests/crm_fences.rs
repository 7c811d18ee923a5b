//! Fences against double writes, in both CRMs over the sandbox: what the adapters do when a
//! write lands and its answer is lost (the sandbox performs it, then answers 502 or drops the
//! connection), and when two creators race for one number.
//!
//! - **NetHunt** takes no client ids: such a write is `CrmError::Ambiguous`, and the retry
//!   marked `recheck` looks for the earlier write first (call logs through new-call-log,
//!   comments through new-comment, the contact's deal through find-record in Deals), so the
//!   sandbox ends with exactly one record. After a contact create the number is searched once
//!   more: of several contacts, every creator returns the oldest.
//! - **Dataverse** contacts, notes and deals carry deterministic ids (UUID v5 in the
//!   deployment's namespace): a repeat is refused with 412 and answered with the existing row,
//!   so the retry is harmless and two concurrent creators of one number share one contact.
//!
//! Each test asserts the records in the sandbox and the requests made, recheck requests
//! included.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::Deadline;
use bridge_core::ports::{Crm, CrmError, NewDeal, NewNote};
use bridge_core::ringostat::Utm;
use bridge_core::{CallActivity, ContactRef, CrmUser};
use bridge_tests::dataverse_env::{dataverse_config_for, dataverse_for, dataverse_with};
use bridge_tests::fixtures::{self, NUMBER, OLENA, olena, phone, sandbox, within};
use bridge_tests::nethunt_env::nethunt_for;
use crm_sandbox::dataverse::{MANAGER_USER_ID, SYSTEM_USER_ID};
use crm_sandbox::nethunt::{CONTACTS_FOLDER_ID, DEALS_FOLDER_ID};
use crm_sandbox::{Fault, RequestFilter, Sandbox};
use jiff::{SignedDuration, Timestamp};

fn deadline() -> Deadline {
    within(10)
}

fn after_write_502() -> Fault {
    Fault::AfterWrite { status: 502 }
}

/// `METHOD action status` of every CRM request (the token endpoint left out): the last path
/// segment but one for NetHunt (`GET new-call-log 200`), the entity set for Dataverse
/// (`POST contacts 412`, `GET contacts(id) 200`).
fn requests(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .filter(|r| !r.path.contains("/oauth2/"))
        .map(|r| {
            let action = match r.path.strip_prefix("/api/data/v9.2/") {
                Some(rest) => match rest.split_once('(') {
                    Some((set, _)) => format!("{set}(id)"),
                    None => rest.to_owned(),
                },
                None => r
                    .path
                    .split('/')
                    .rev()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned(),
            };
            format!("{} {action} {}", r.method, r.status)
        })
        .collect()
}

/// An answered incoming call from `NUMBER` on the contact, as the functions map it, started a
/// minute ago.
fn call_on(contact_id: &str, call_id: &str) -> CallActivity {
    let contact = ContactRef {
        id: contact_id.into(),
        name: None,
        owner_id: None,
        card_url: None,
    };
    let mut activity = fixtures::answered_call(contact, call_id);
    activity.started_at = Timestamp::now()
        .checked_sub(SignedDuration::from_mins(1))
        .ok();
    activity
}

/// The AI note of a call, as the call-analysis flow writes it (the text ends with the call's
/// `Ringostat ID`).
fn note_on(contact_id: &str, call_id: &str, recheck: bool) -> NewNote {
    NewNote {
        contact_id: contact_id.into(),
        call_id: call_id.into(),
        title: "AI-аналіз дзвінка".into(),
        text: format!("Підсумок: клієнт хоче знижку\nRingostat ID: {call_id}"),
        recheck,
    }
}

/// The new client's deal, owned by `owner`.
fn deal_for(owner: CrmUser, recheck: bool) -> NewDeal {
    NewDeal {
        name: format!("Дзвінок з {NUMBER}"),
        stage: None,
        owner: Some(owner),
        recheck,
    }
}

/// The deal NetHunt gets, owned by Olena.
fn deal(recheck: bool) -> NewDeal {
    deal_for(olena(), recheck)
}

/// The record ids of the Contacts folder, newest first, straight from the sandbox's
/// new-record trigger.
async fn contacts_newest_first(sandbox: &Sandbox) -> Vec<String> {
    let credentials = sandbox.credentials();
    let client = bridge_core::adapters::http::shared_client().expect("client");
    let records: Vec<serde_json::Value> = client
        .get(format!(
            "{}/triggers/new-record/{CONTACTS_FOLDER_ID}",
            sandbox.nethunt_base_url()
        ))
        .basic_auth(credentials.nethunt_email, Some(credentials.nethunt_api_key))
        .send()
        .await
        .expect("sandbox answers")
        .json()
        .await
        .expect("a JSON array");
    records
        .iter()
        .filter_map(|r| r["recordId"].as_str().map(str::to_owned))
        .collect()
}

// --- NetHunt: ambiguous writes, then the recheck ----------------------------------------------

#[tokio::test]
async fn nethunt_call_log_landed_behind_a_502_is_found_by_the_recheck() {
    let sandbox = sandbox().await;
    let contact = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject_matching(
        after_write_502(),
        1,
        RequestFilter::method_path("POST", "create-call-log"),
    );
    let mut call = call_on(&contact, "ua0_-1714557600.1234");

    let first = nethunt.log_call(&call, deadline()).await;

    assert!(matches!(first, Err(CrmError::Ambiguous(_))), "{first:?}");
    assert_eq!(sandbox.state().nethunt.call_count(), 1, "the write landed");
    assert_eq!(requests(&sandbox), ["POST create-call-log 502"]);
    sandbox.clear_requests();

    call.recheck = true;
    let again = nethunt.log_call(&call, deadline()).await.unwrap();

    let logs = sandbox.state().nethunt.call_logs_of(&contact);
    assert_eq!(logs.len(), 1, "exactly one call log");
    assert!(again.already_existed);
    assert_eq!(again.id.as_deref(), Some(logs[0].id.as_str()));
    assert_eq!(requests(&sandbox), ["GET new-call-log 200"]);
    let query = sandbox.requests()[0].query.clone().unwrap_or_default();
    assert!(query.contains("limit=100"), "{query}");
    assert!(query.contains("since="), "{query}");
}

#[tokio::test]
async fn nethunt_call_log_lost_before_the_write_is_written_by_the_recheck() {
    let sandbox = sandbox().await;
    let contact = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    // Another call's log on the same record, whose id starts like this call's.
    let other = call_on(&contact, "ua0_-1714557600.123");
    nethunt.log_call(&other, deadline()).await.unwrap();
    // A 500 the sandbox answers without serving: nothing landed, but the adapter cannot know.
    sandbox.inject_matching(
        Fault::ServerError { status: 500 },
        1,
        RequestFilter::method_path("POST", "create-call-log"),
    );
    let mut call = call_on(&contact, "ua0_-1714557600.1234");

    let first = nethunt.log_call(&call, deadline()).await;
    assert!(matches!(first, Err(CrmError::Ambiguous(_))), "{first:?}");
    sandbox.clear_requests();
    call.recheck = true;
    let again = nethunt.log_call(&call, deadline()).await.unwrap();

    assert!(!again.already_existed);
    let logs = sandbox.state().nethunt.calls_of(&contact);
    assert_eq!(logs.len(), 2, "the other call's and this one's: {logs:?}");
    assert_eq!(
        logs.iter()
            .filter(|text| text.ends_with("Ringostat ID: ua0_-1714557600.1234"))
            .count(),
        1
    );
    assert_eq!(
        requests(&sandbox),
        ["GET new-call-log 200", "POST create-call-log 200"]
    );
}

#[tokio::test]
async fn nethunt_call_log_recheck_reads_a_wider_page_when_the_first_is_full() {
    let sandbox = sandbox().await;
    let contact = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let busy = sandbox
        .state()
        .nethunt
        .seed_contact("+380671112233", "Busy", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject_matching(
        Fault::AfterWriteReset,
        1,
        RequestFilter::method_path("POST", "create-call-log"),
    );
    let mut call = call_on(&contact, "ua0_-1714557600.1234");
    let first = nethunt.log_call(&call, deadline()).await;
    assert!(matches!(first, Err(CrmError::Ambiguous(_))), "{first:?}");
    // A busy workspace: 100 newer call logs push it off the first page.
    for n in 0..100 {
        let other = call_on(&busy, &format!("ua0_-1714557700.{n}"));
        nethunt.log_call(&other, deadline()).await.unwrap();
    }
    sandbox.clear_requests();

    call.recheck = true;
    let again = nethunt.log_call(&call, deadline()).await.unwrap();

    assert!(again.already_existed);
    assert_eq!(sandbox.state().nethunt.calls_of(&contact).len(), 1);
    assert_eq!(
        requests(&sandbox),
        ["GET new-call-log 200", "GET new-call-log 200"]
    );
    let wide = sandbox.requests()[1].query.clone().unwrap_or_default();
    assert!(wide.contains("limit=1000"), "{wide}");
}

#[tokio::test]
async fn nethunt_comment_landed_behind_a_reset_is_found_by_the_recheck() {
    let sandbox = sandbox().await;
    let contact = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject_matching(
        Fault::AfterWriteReset,
        1,
        RequestFilter::method_path("POST", "create-comment"),
    );

    let first = nethunt
        .add_note(&note_on(&contact, "ua0_-1714557600.77", false), deadline())
        .await;

    assert!(matches!(first, Err(CrmError::Ambiguous(_))), "{first:?}");
    assert_eq!(sandbox.state().nethunt.notes_of(&contact).len(), 1);
    sandbox.clear_requests();

    nethunt
        .add_note(&note_on(&contact, "ua0_-1714557600.77", true), deadline())
        .await
        .unwrap();

    assert_eq!(sandbox.state().nethunt.notes_of(&contact).len(), 1);
    assert_eq!(requests(&sandbox), ["GET new-comment 200"]);
}

#[tokio::test]
async fn nethunt_comment_behind_a_502_is_found_and_a_new_call_gets_its_own() {
    let sandbox = sandbox().await;
    let contact = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject_matching(
        after_write_502(),
        1,
        RequestFilter::method_path("POST", "create-comment"),
    );
    let first = nethunt
        .add_note(&note_on(&contact, "ua0_-1714557600.77", false), deadline())
        .await;
    assert!(matches!(first, Err(CrmError::Ambiguous(_))), "{first:?}");
    sandbox.clear_requests();

    nethunt
        .add_note(&note_on(&contact, "ua0_-1714557600.77", true), deadline())
        .await
        .unwrap();
    // Another call's note with recheck: nothing of it is there yet, so it is written.
    nethunt
        .add_note(&note_on(&contact, "ua0_-1714557600.7", true), deadline())
        .await
        .unwrap();

    assert_eq!(sandbox.state().nethunt.notes_of(&contact).len(), 2);
    assert_eq!(
        requests(&sandbox),
        [
            "GET new-comment 200",
            "GET new-comment 200",
            "POST create-comment 200"
        ]
    );
}

#[tokio::test]
async fn nethunt_deal_landed_behind_a_502_is_found_by_the_recheck() {
    let sandbox = sandbox().await;
    let contact_id = sandbox.state().nethunt.seed_contact(NUMBER, "", "");
    let contact = ContactRef {
        id: contact_id.clone(),
        name: None,
        owner_id: None,
        card_url: None,
    };
    // A deal of the same name on another contact must not be taken for this one's.
    let other = sandbox
        .state()
        .nethunt
        .seed_contact("+380671112233", "", "");
    let nethunt = nethunt_for(&sandbox);
    nethunt
        .create_deal(
            &ContactRef {
                id: other,
                ..contact.clone()
            },
            &deal(false),
            deadline(),
        )
        .await
        .unwrap();
    sandbox.inject_matching(
        after_write_502(),
        1,
        RequestFilter::method_path("POST", &format!("create-record/{DEALS_FOLDER_ID}")),
    );

    let first = nethunt
        .create_deal(&contact, &deal(false), deadline())
        .await;

    assert!(matches!(first, Err(CrmError::Ambiguous(_))), "{first:?}");
    let landed = sandbox.state().nethunt.deal_ids_of(&contact_id);
    assert_eq!(landed.len(), 1);
    sandbox.clear_requests();

    let again = nethunt
        .create_deal(&contact, &deal(true), deadline())
        .await
        .unwrap();

    assert_eq!(again.id, landed[0]);
    assert_eq!(sandbox.state().nethunt.deal_ids_of(&contact_id), landed);
    assert_eq!(sandbox.state().nethunt.deal_count(), 2, "one per contact");
    assert_eq!(requests(&sandbox), ["GET find-record 200"]);
    assert!(sandbox.requests()[0].path.ends_with(DEALS_FOLDER_ID));
}

#[tokio::test]
async fn nethunt_deal_recheck_that_finds_nothing_creates_one() {
    let sandbox = sandbox().await;
    let contact_id = sandbox.state().nethunt.seed_contact(NUMBER, "", "");
    let contact = ContactRef {
        id: contact_id.clone(),
        name: None,
        owner_id: None,
        card_url: None,
    };
    let nethunt = nethunt_for(&sandbox);

    let created = nethunt
        .create_deal(&contact, &deal(true), deadline())
        .await
        .unwrap();

    assert_eq!(
        sandbox.state().nethunt.deal_ids_of(&contact_id),
        [created.id]
    );
    assert_eq!(
        requests(&sandbox),
        ["GET find-record 200", "POST create-record 200"]
    );
}

#[tokio::test]
async fn nethunt_contact_create_behind_a_502_or_a_reset_is_ambiguous() {
    for fault in [after_write_502(), Fault::AfterWriteReset] {
        let sandbox = sandbox().await;
        let nethunt = nethunt_for(&sandbox);
        sandbox.inject_matching(
            fault,
            1,
            RequestFilter::method_path("POST", &format!("create-record/{CONTACTS_FOLDER_ID}")),
        );

        let result = nethunt
            .create_contact(&phone(NUMBER), &olena(), deadline())
            .await;

        assert!(
            matches!(result, Err(CrmError::Ambiguous(_))),
            "{fault:?}: {result:?}"
        );
        assert_eq!(sandbox.state().nethunt.contact_count(), 1, "{fault:?}");
        // Not repeated, and no duplicate check without a known new id.
        assert_eq!(requests(&sandbox).len(), 1, "{fault:?}");
    }
}

#[tokio::test]
async fn nethunt_two_creators_of_one_number_both_return_the_oldest() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);

    let first = nethunt
        .create_contact(&phone(NUMBER), &olena(), deadline())
        .await
        .unwrap();
    // A second creator without the lock (or after an ambiguous create the search missed).
    let second = nethunt
        .create_contact(&phone("050 123 45 67"), &olena(), deadline())
        .await
        .unwrap();

    assert_eq!(sandbox.state().nethunt.contact_count(), 2);
    assert_eq!(second.id, first.id, "the oldest is the contact");
    assert_eq!(second.owner_id.as_deref(), Some(OLENA));
    assert_eq!(
        requests(&sandbox),
        [
            "POST create-record 200",
            "GET find-record 200",
            "POST create-record 200",
            "GET find-record 200"
        ]
    );
}

#[tokio::test]
async fn nethunt_concurrent_creators_of_one_number_agree_on_the_oldest() {
    let sandbox = sandbox().await;
    let (a, b) = (nethunt_for(&sandbox), nethunt_for(&sandbox));

    let (number, owner) = (phone(NUMBER), olena());
    let (one, two) = tokio::join!(
        a.create_contact(&number, &owner, deadline()),
        b.create_contact(&number, &owner, deadline()),
    );
    let (one, two) = (one.unwrap(), two.unwrap());

    assert_eq!(sandbox.state().nethunt.contact_count(), 2);
    assert_eq!(two.id, one.id, "both return the same contact");
    // The oldest of the two, as the new-record trigger lists them (newest first).
    let listed = contacts_newest_first(&sandbox).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(Some(&one.id), listed.last());
}

// --- Dataverse: deterministic ids ---------------------------------------------------------------

#[tokio::test]
async fn dataverse_note_written_behind_a_502_and_written_again_is_one_note() {
    let sandbox = sandbox().await;
    let contact = sandbox
        .state()
        .dataverse
        .seed_contact(NUMBER, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    sandbox.inject_matching(
        after_write_502(),
        1,
        RequestFilter::method_path("POST", "/api/data/v9.2/annotations"),
    );

    // The 502 is retried (the id makes the POST safe to repeat) and refused as a duplicate.
    crm.add_note(&note_on(&contact, "ua0_-1714557600.77", false), deadline())
        .await
        .unwrap();
    // The same note again, as a retried delivery would write it.
    crm.add_note(&note_on(&contact, "ua0_-1714557600.77", true), deadline())
        .await
        .unwrap();

    assert_eq!(sandbox.state().dataverse.notes_of(&contact).len(), 1);
    assert_eq!(
        sandbox.state().dataverse.notes()[0]["annotationid"],
        crm.note_id_for("ua0_-1714557600.77").as_str()
    );
    assert_eq!(
        requests(&sandbox),
        [
            "POST annotations 502",
            "POST annotations 412",
            "POST annotations 412"
        ]
    );
}

#[tokio::test]
async fn dataverse_deal_written_behind_a_502_and_created_again_is_one_deal() {
    let sandbox = sandbox().await;
    let id = sandbox
        .state()
        .dataverse
        .seed_contact(NUMBER, "Olha Petrenko", MANAGER_USER_ID);
    let contact = ContactRef {
        id: id.clone(),
        name: None,
        owner_id: Some(MANAGER_USER_ID.into()),
        card_url: None,
    };
    let crm = dataverse_for(&sandbox);
    sandbox.inject_matching(
        after_write_502(),
        1,
        RequestFilter::method_path("POST", "/api/data/v9.2/opportunities"),
    );

    let manager = CrmUser {
        id: MANAGER_USER_ID.into(),
        name: None,
    };
    let first = crm
        .create_deal(&contact, &deal_for(manager.clone(), false), deadline())
        .await
        .unwrap();
    let second = crm
        .create_deal(&contact, &deal_for(manager, true), deadline())
        .await
        .unwrap();

    assert_eq!(first.id, second.id);
    assert_eq!(Some(first.id.clone()), crm.deal_id_for(&id));
    assert_eq!(sandbox.state().dataverse.deals_of(&id).len(), 1);
    assert_eq!(
        requests(&sandbox),
        [
            "POST opportunities 502",
            "POST opportunities 412",
            "POST opportunities 412"
        ]
    );
}

#[tokio::test]
async fn dataverse_contact_written_behind_a_502_or_a_reset_and_created_again_is_one_contact() {
    for fault in [after_write_502(), Fault::AfterWriteReset] {
        let sandbox = sandbox().await;
        let crm = dataverse_for(&sandbox);
        let system_user = CrmUser {
            id: SYSTEM_USER_ID.into(),
            name: None,
        };
        sandbox.inject_matching(
            fault,
            1,
            RequestFilter::method_path("POST", "/api/data/v9.2/contacts"),
        );

        let first = crm
            .create_contact(&phone(NUMBER), &system_user, deadline())
            .await
            .unwrap();
        let second = crm
            .create_contact(&phone(NUMBER), &system_user, deadline())
            .await
            .unwrap();

        assert_eq!(first, second, "{fault:?}");
        assert_eq!(first.id, crm.contact_id_for(&phone(NUMBER)));
        assert_eq!(first.owner_id.as_deref(), Some(SYSTEM_USER_ID));
        assert_eq!(sandbox.state().dataverse.contact_count(), 1, "{fault:?}");
        let seen = requests(&sandbox);
        assert!(
            seen.starts_with(&["POST contacts 502".to_owned()])
                || seen.starts_with(&["POST contacts 0".to_owned()]),
            "{fault:?}: {seen:?}"
        );
        // The repeat is refused and the contact read; the second create the same.
        assert_eq!(
            &seen[1..],
            [
                "POST contacts 412",
                "GET contacts(id) 200",
                "POST contacts 412",
                "GET contacts(id) 200"
            ],
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn dataverse_a_duplicate_answered_as_a_500_is_found_by_its_id() {
    let sandbox = sandbox().await;
    let crm = dataverse_for(&sandbox);
    let owner = CrmUser {
        id: SYSTEM_USER_ID.into(),
        name: None,
    };
    let created = crm
        .create_contact(&phone(NUMBER), &owner, deadline())
        .await
        .unwrap();
    sandbox.clear_requests();
    // Every attempt of the repeat fails with a 500 (as a duplicate may, DV23).
    sandbox.inject_matching(
        Fault::ServerError { status: 500 },
        5,
        RequestFilter::method_path("POST", "/api/data/v9.2/contacts"),
    );

    let again = crm
        .create_contact(&phone(NUMBER), &owner, deadline())
        .await
        .unwrap();

    assert_eq!(again, created);
    assert_eq!(sandbox.state().dataverse.contact_count(), 1);
    let seen = requests(&sandbox);
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[5], "GET contacts(id) 200");
}

#[tokio::test]
async fn dataverse_concurrent_creators_of_one_number_share_one_contact() {
    let sandbox = sandbox().await;
    let (a, b) = (dataverse_for(&sandbox), dataverse_for(&sandbox));
    let owner = CrmUser {
        id: SYSTEM_USER_ID.into(),
        name: None,
    };

    let (e164, national) = (phone(NUMBER), phone("0501234567"));
    let (one, two) = tokio::join!(
        a.create_contact(&e164, &owner, deadline()),
        b.create_contact(&national, &owner, deadline()),
    );
    let (one, two) = (one.unwrap(), two.unwrap());

    assert_eq!(one.id, two.id);
    assert_eq!(one.id, a.contact_id_for(&phone(NUMBER)));
    assert_eq!(sandbox.state().dataverse.contact_count(), 1);
    let mut seen = requests(&sandbox);
    seen.sort();
    assert_eq!(
        seen,
        [
            "GET contacts(id) 200",
            "POST contacts 201",
            "POST contacts 412"
        ]
    );
}

#[tokio::test]
async fn dataverse_a_key_taken_by_a_contact_with_another_number_gets_a_new_contact() {
    let sandbox = sandbox().await;
    let owner = CrmUser {
        id: SYSTEM_USER_ID.into(),
        name: None,
    };
    let crm = dataverse_for(&sandbox);
    let first = crm
        .create_contact(&phone(NUMBER), &owner, deadline())
        .await
        .unwrap();
    // Someone changes that contact's number (written here through a UTM column mapped onto
    // the phone column, the API way an edit takes).
    let mut config = dataverse_config_for(&sandbox);
    config.utm_columns.source = Some("mobilephone".into());
    dataverse_with(config)
        .set_contact_utm(
            &first.id,
            &Utm {
                source: Some("+380671112233".into()),
                ..Utm::default()
            },
            deadline(),
        )
        .await
        .unwrap();
    sandbox.clear_requests();

    let second = crm
        .create_contact(&phone(NUMBER), &owner, deadline())
        .await
        .unwrap();

    assert_ne!(second.id, first.id);
    assert_eq!(sandbox.state().dataverse.contact_count(), 2);
    assert_eq!(
        sandbox.state().dataverse.contact(&second.id).unwrap()["mobilephone"],
        NUMBER
    );
    assert_eq!(
        requests(&sandbox),
        [
            "POST contacts 412",
            "GET contacts(id) 200",
            "POST contacts 201"
        ]
    );
}
