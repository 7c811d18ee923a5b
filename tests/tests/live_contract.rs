//! The live contract suite: each behaviour of NetHunt, Dataverse and Ringostat that
//! docs/vendor-contracts.md marks inferred and the sandbox fakes one way, asked of the API
//! itself. Every test runs against the sandbox (where it passes: the sandbox follows our
//! reading) and, when `LIVE_*` credentials are set, against the real service, where it tells
//! whether our reading holds (`tests/src/live.rs`; the guides, "Live contract suite"). Tests
//! are named after the rows they confirm or refute.
//!
//! Live runs write only test records: the reserved numbers of `live::TEST_NUMBERS`, texts
//! holding `live::MARKER`. Dataverse rows are deleted at the end; NetHunt records and
//! Ringostat's Smart Phone contacts cannot be deleted through their APIs and are printed.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::Deadline;
use bridge_core::PhoneNumber;
use bridge_core::adapters::NetHunt;
use bridge_core::adapters::test_records::TestRecord;
use bridge_core::adapters::test_records::TestRecords;
use bridge_core::ports::Crm;
use bridge_core::ringostat::SmartPhoneContact;
use bridge_core::ringostat::{CallEvent, EventKind, Fields, ParseOptions};
use bridge_core::{CallActivity, ContactRef, Language, ResolvedContact, call_activity};
use bridge_tests::live::{
    MARKER, TEST_NUMBERS, Target, dataverse_targets, nethunt_targets, ringostat_targets, run_number,
};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

fn deadline() -> Deadline {
    Deadline::after(std::time::Duration::from_secs(30))
}

/// `…Z` with milliseconds, as NetHunt's triggers take `since`.
fn iso(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn minute_ago() -> Timestamp {
    Timestamp::now()
        .checked_sub(SignedDuration::from_mins(1))
        .unwrap()
}

/// A unique tag for this run's texts.
fn run_tag() -> String {
    format!("{MARKER} {}", Timestamp::now().as_millisecond())
}

// --- NetHunt -----------------------------------------------------------------------------

/// Creates a contact holding `phone` and the marker in its name; its record id.
async fn nethunt_contact(target: &Target<NetHunt>, phone: &str, name: &str) -> String {
    let (phone_field, name_field) = &target.fields;
    let (status, body) = target
        .send(
            Method::POST,
            &format!("/actions/create-record/{}", target.folder),
            &json!({
                "timeZone": "Europe/Kyiv",
                "fields": { phone_field: [phone], name_field: name },
            }),
        )
        .await;
    assert_eq!(status, 200, "{}: create-record: {body}", target.label);
    let id = body["recordId"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no recordId in {body}", target.label))
        .to_owned();
    target.created(TestRecord::Contact { id: id.clone() });
    id
}

/// find-record's answer to `query` (up to 20 records).
async fn find_records(target: &Target<NetHunt>, query: &str) -> (u16, Value) {
    target
        .get(&format!(
            "/searches/find-record/{}?query={}&limit=20",
            target.folder,
            percent(query)
        ))
        .await
}

async fn find_ids(target: &Target<NetHunt>, query: &str) -> Vec<String> {
    let (status, body) = find_records(target, query).await;
    if status == 404 {
        return Vec::new(); // "no match" (NH9)
    }
    assert_eq!(status, 200, "{}: find-record {query}: {body}", target.label);
    body.as_array()
        .unwrap_or_else(|| panic!("{}: find-record answered {body}", target.label))
        .iter()
        .filter_map(|r| r["recordId"].as_str().map(str::to_owned))
        .collect()
}

fn percent(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// NH14: `timeZone: "Europe/Kyiv"` is accepted by create-record.
#[tokio::test]
async fn nh14_create_record_accepts_europe_kyiv() {
    for target in nethunt_targets().await {
        nethunt_contact(&target, TEST_NUMBERS[0], &run_tag()).await;
        target.clean_up().await;
    }
}

/// NH8 (and the order NH5 leaves open): a search for a number also returns a record whose
/// number merely contains it; records come newest first.
#[tokio::test]
async fn nh8_search_returns_records_that_contain_the_number_newest_first() {
    for target in nethunt_targets().await {
        let tag = run_tag();
        let exact = nethunt_contact(&target, TEST_NUMBERS[0], &tag).await;
        let longer = nethunt_contact(&target, &format!("{}9", TEST_NUMBERS[0]), &tag).await;
        let query = format!("\"{}\":\"{}\"", target.fields.0, TEST_NUMBERS[0]);
        let found = find_ids(&target, &query).await;
        let (at_exact, at_longer) = (
            found.iter().position(|id| *id == exact),
            found.iter().position(|id| *id == longer),
        );
        assert!(at_exact.is_some(), "{}: {found:?}", target.label);
        assert!(
            at_longer.is_some(),
            "{}: NH8 refuted: the longer number is not returned ({found:?})",
            target.label
        );
        assert!(
            at_longer < at_exact,
            "{}: not newest first: {found:?}",
            target.label
        );
        target.clean_up().await;
    }
}

/// NH29: two contacts created one after the other come back from find-record with
/// `createdAt`, the later one no earlier and with the greater id.
#[tokio::test]
async fn nh29_ids_and_created_at_grow_with_creation() {
    for target in nethunt_targets().await {
        let number = run_number();
        let tag = run_tag();
        let first = nethunt_contact(&target, &number, &tag).await;
        let second = nethunt_contact(&target, &number, &tag).await;
        let query = format!("\"{}\":\"{number}\"", target.fields.0);
        let (status, body) = find_records(&target, &query).await;
        assert_eq!(status, 200, "{}: {body}", target.label);
        let created = |id: &str| {
            body.as_array()
                .and_then(|rows| rows.iter().find(|r| r["recordId"] == json!(id)))
                .and_then(|r| r["createdAt"].as_str())
                .and_then(|t| t.parse::<Timestamp>().ok())
                .unwrap_or_else(|| {
                    panic!("{}: NH29: no createdAt for {id} in {body}", target.label)
                })
        };
        // Equal within a millisecond is allowed: the adapter breaks ties by the id.
        assert!(
            created(&first) <= created(&second),
            "{}: NH29: {body}",
            target.label
        );
        assert!(
            first < second,
            "{}: NH29: ids {first} then {second}",
            target.label
        );
        target.clean_up().await;
    }
}

/// NH31: `"<phone field>":("a" OR "b")` finds a record holding any alternative, and no
/// record holding none.
#[tokio::test]
async fn nh31_a_grouped_or_query_finds_any_alternative() {
    for target in nethunt_targets().await {
        let id = nethunt_contact(&target, TEST_NUMBERS[0], &run_tag()).await;
        let phone = &target.fields.0;
        let hit = format!("\"{phone}\":(\"0449999999\" OR \"{}\")", TEST_NUMBERS[0]);
        assert!(
            find_ids(&target, &hit).await.contains(&id),
            "{}: NH31 refuted: the grouped query misses the record",
            target.label
        );
        let miss = format!("\"{phone}\":(\"0449999998\" OR \"0449999997\")");
        assert!(
            !find_ids(&target, &miss).await.contains(&id),
            "{}",
            target.label
        );
        target.clean_up().await;
    }
}

/// NH15 and the sandbox's overwrite reading: `add` on a single-value text field keeps the old
/// value unless the action also says `overwrite: true`.
#[tokio::test]
async fn nh15_add_replaces_a_text_field_only_with_overwrite() {
    for target in nethunt_targets().await {
        let tag = run_tag();
        let id = nethunt_contact(&target, TEST_NUMBERS[0], &tag).await;
        let name_field = target.fields.1.clone();
        let name_of = async |target: &Target<NetHunt>| {
            let (status, body) = target
                .get(&format!(
                    "/searches/find-record/{}?recordId={id}&limit=1",
                    target.folder
                ))
                .await;
            assert_eq!(status, 200, "{}: {body}", target.label);
            body[0]["fields"][&name_field].clone()
        };
        let update = async |action: Value| {
            let (status, body) = target
                .send(
                    Method::POST,
                    &format!("/actions/update-record/{id}"),
                    &json!({ "fieldActions": { &name_field: action } }),
                )
                .await;
            assert_eq!(status, 200, "{}: update-record: {body}", target.label);
        };
        update(json!({ "add": format!("{tag} added") })).await;
        assert_eq!(name_of(&target).await, json!(tag), "{}", target.label);
        update(json!({ "overwrite": true, "add": format!("{tag} overwritten") })).await;
        assert_eq!(
            name_of(&target).await,
            json!(format!("{tag} overwritten")),
            "{}",
            target.label
        );
        target.clean_up().await;
    }
}

/// NH19, NH27, NH28: create-comment and create-call-log answer their ids; the polling
/// triggers list what was created since `since`, newest first, in the create answers' shape.
#[tokio::test]
async fn nh19_nh27_nh28_the_polling_triggers_list_new_items_in_the_create_shape() {
    for target in nethunt_targets().await {
        let tag = run_tag();
        let since = iso(minute_ago());
        let id = nethunt_contact(&target, TEST_NUMBERS[0], &tag).await;
        let mut call_logs = Vec::new();
        for n in 1..=2 {
            let (status, body) = target
                .send(
                    Method::POST,
                    &format!("/actions/create-call-log/{id}"),
                    &json!({ "text": format!("{tag}\nRingostat ID: live-{n}"), "duration": 1 }),
                )
                .await;
            assert_eq!(status, 200, "{}: create-call-log: {body}", target.label);
            call_logs.push(body["callLogId"].clone());
            target.created(TestRecord::Call {
                contact_id: id.clone(),
                call_id: format!("live-{n}"),
            });
        }
        let (status, comment) = target
            .send(
                Method::POST,
                &format!("/actions/create-comment/{id}"),
                &json!({ "text": tag }),
            )
            .await;
        assert_eq!(status, 200, "{}: create-comment: {comment}", target.label);
        assert!(
            comment["commentId"].is_string(),
            "{}: NH19: {comment}",
            target.label
        );
        assert!(
            call_logs.iter().all(Value::is_string),
            "{}: NH19: {call_logs:?}",
            target.label
        );

        let trigger = async |name: &str| {
            let (status, body) = target
                .get(&format!(
                    "/triggers/{name}/{}?since={}&limit=5",
                    target.folder,
                    percent(&since)
                ))
                .await;
            assert_eq!(status, 200, "{}: {name}: {body}", target.label);
            let items: Vec<Value> = body
                .as_array()
                .unwrap_or_else(|| panic!("{}: {name} is no array: {body}", target.label))
                .iter()
                .filter(|item| item["recordId"] == json!(id))
                .cloned()
                .collect();
            items
        };
        let logs = trigger("new-call-log").await;
        assert_eq!(
            logs.len(),
            2,
            "{}: NH28 new-call-log: {logs:#?}",
            target.label
        );
        assert_eq!(
            [&logs[0]["callLogId"], &logs[1]["callLogId"]],
            [&call_logs[1], &call_logs[0]],
            "{}: NH28: not newest first, or no callLogId",
            target.label
        );
        for log in &logs {
            assert!(log["createdAt"].is_string(), "{}: {log}", target.label);
            assert!(
                log["text"].as_str().is_some_and(|t| t.contains(&tag)),
                "{}: {log}",
                target.label
            );
        }
        let comments = trigger("new-comment").await;
        assert_eq!(
            comments.len(),
            1,
            "{}: NH28 new-comment: {comments:#?}",
            target.label
        );
        assert_eq!(comments[0]["commentId"], comment["commentId"]);
        let (status, records) = target
            .get(&format!(
                "/triggers/new-record/{}?since={}&limit=5",
                target.folder,
                percent(&since)
            ))
            .await;
        assert_eq!(status, 200, "{}: new-record: {records}", target.label);
        assert!(
            records
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["recordId"] == json!(id))),
            "{}: NH27: {records}",
            target.label
        );
        target.clean_up().await;
    }
}

/// NH32: a create naming a field the folder lacks is a 400 naming it, and writes nothing.
#[tokio::test]
async fn nh32_a_field_the_folder_lacks_is_refused() {
    for target in nethunt_targets().await {
        let before = target
            .sandbox
            .as_ref()
            .map(|s| s.state().nethunt.contact_count());
        let unknown = format!("{MARKER} no such field");
        let (status, body) = target
            .send(
                Method::POST,
                &format!("/actions/create-record/{}", target.folder),
                &json!({
                    "timeZone": "Europe/Kyiv",
                    "fields": { &target.fields.0: [TEST_NUMBERS[0]], &unknown: "x" },
                }),
            )
            .await;
        if let Some(id) = body["recordId"].as_str() {
            target.created(TestRecord::Contact { id: id.into() });
        }
        assert_eq!(status, 400, "{}: NH32: {body}", target.label);
        assert!(
            body.to_string().contains("Unknown field"),
            "{}: NH32: {body}",
            target.label
        );
        if let (Some(sandbox), Some(before)) = (&target.sandbox, before) {
            assert_eq!(sandbox.state().nethunt.contact_count(), before);
        }
        target.clean_up().await;
    }
}

// --- Dataverse ---------------------------------------------------------------------------

/// DV41: `DELETE contacts(<id>)` answers 204; the row is gone (404), and a second DELETE is
/// 404 too.
#[tokio::test]
async fn dv41_delete_removes_a_row_and_a_second_delete_is_404() {
    for target in dataverse_targets().await {
        let (status, row) = target
            .answer(
                target
                    .request(Method::POST, "/contacts")
                    .header("prefer", "return=representation")
                    .json(&json!({ "lastname": run_tag(), "telephone1": TEST_NUMBERS[0] })),
            )
            .await;
        assert_eq!(status, 201, "{}: {row}", target.label);
        let id = row["contactid"].as_str().unwrap().to_owned();
        target.created(TestRecord::Contact { id: id.clone() });
        let path = format!("/contacts({id})");
        let (status, body) = target.send(Method::DELETE, &path, &json!(null)).await;
        assert_eq!(status, 204, "{}: DV41 delete: {body}", target.label);
        assert_eq!(target.get(&path).await.0, 404, "{}", target.label);
        let (status, body) = target.send(Method::DELETE, &path, &json!(null)).await;
        assert_eq!(status, 404, "{}: DV41 second delete: {body}", target.label);
        assert!(target.clean_up().await.is_empty(), "{}", target.label);
    }
}

/// DV36: a second POST of a contact with the same `contactid` is 412 `0x80040237`, and the
/// row keeps its first values.
#[tokio::test]
async fn dv36_a_second_create_with_the_same_key_is_412() {
    for target in dataverse_targets().await {
        let tag = run_tag();
        let id = target.adapter.note_id_for(&tag);
        let body = |name: &str| json!({ "contactid": id, "lastname": name, "telephone1": TEST_NUMBERS[1] });
        let (status, first) = target.send(Method::POST, "/contacts", &body(&tag)).await;
        assert!(matches!(status, 201 | 204), "{}: {first}", target.label);
        target.created(TestRecord::Contact { id: id.clone() });
        let (status, second) = target
            .send(Method::POST, "/contacts", &body("changed"))
            .await;
        assert_eq!(status, 412, "{}: DV36: {second}", target.label);
        assert_eq!(
            second["error"]["code"], "0x80040237",
            "{}: {second}",
            target.label
        );
        let (_, row) = target
            .get(&format!("/contacts({id})?$select=lastname"))
            .await;
        assert_eq!(row["lastname"], json!(tag), "{}", target.label);
        assert!(target.clean_up().await.is_empty(), "{}", target.label);
    }
}

// --- The adapters --------------------------------------------------------------------------

/// A missed incoming call from `number` on `contact`, the marker in its "Line" row, mapped as
/// the functions map it.
fn marked_call(
    number: &str,
    contact: ContactRef,
    owner: &bridge_core::CrmUser,
    call_id: &str,
) -> CallActivity {
    let mut payload = Fields::default();
    for (key, value) in [
        ("uniqueid", call_id),
        (
            "calldate",
            &Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap()
                .to_string(),
        ),
        ("caller", number),
        ("dst", number),
        ("call_type", "in"),
        ("disposition", "NO ANSWER"),
        ("duration", "5"),
        ("billsec", "0"),
        ("waittime", "5"),
        ("pool_name", MARKER),
    ] {
        payload.insert(key, value);
    }
    let event =
        CallEvent::from_fields(EventKind::AfterCall, &payload, &ParseOptions::default()).unwrap();
    call_activity(
        &event,
        &ResolvedContact::Created(contact),
        None,
        owner,
        Language::Uk,
    )
}

/// The adapter as the bridge uses it, against the target: a contact created for a number is
/// found by it, and a call logged on it is there with its text.
async fn the_adapter_creates_finds_and_logs<A: Crm + TestRecords>(target: &Target<A>) {
    let Some(owner) = target.owner.clone() else {
        eprintln!(
            "live {}: adapter test skipped (set LIVE_DATAVERSE_SYSTEM_USER_ID to the systemuserid \
             that owns test contacts)",
            target.label
        );
        return;
    };
    let number = run_number();
    let phone = PhoneNumber::parse(&number).unwrap();
    let since = minute_ago();
    let contact = target
        .adapter
        .create_contact(&phone, &owner, deadline())
        .await
        .unwrap();
    target.created(TestRecord::Contact {
        id: contact.id.clone(),
    });
    let found = target
        .adapter
        .find_contact(&phone, deadline())
        .await
        .unwrap();
    assert_eq!(
        found.map(|c| c.id),
        Some(contact.id.clone()),
        "{}",
        target.label
    );

    let call_id = format!("bridge-live-test-{}", Timestamp::now().as_millisecond());
    let call = marked_call(&number, contact.clone(), &owner, &call_id);
    target.adapter.log_call(&call, deadline()).await.unwrap();
    target.created(TestRecord::Call {
        contact_id: contact.id.clone(),
        call_id: call_id.clone(),
    });
    let text = target
        .adapter
        .logged_call_text(&contact.id, &call_id, since, deadline())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{}: the call logged is not found", target.label));
    assert!(text.contains(MARKER), "{}: {text}", target.label);
    assert!(
        text.contains(&format!("Ringostat ID: {call_id}")),
        "{}: {text}",
        target.label
    );
    let left = target.clean_up().await;
    if target.adapter.kind() == bridge_core::ports::CrmKind::Dataverse {
        assert!(left.is_empty(), "{}: {left:?}", target.label);
        let gone = target
            .adapter
            .find_contact(&phone, deadline())
            .await
            .unwrap();
        assert_eq!(
            gone, None,
            "{}: the test contact is still there",
            target.label
        );
    }
}

#[tokio::test]
async fn nethunt_adapter_creates_finds_and_logs() {
    for target in nethunt_targets().await {
        the_adapter_creates_finds_and_logs(&target).await;
    }
}

#[tokio::test]
async fn dataverse_adapter_creates_finds_and_logs() {
    for target in dataverse_targets().await {
        the_adapter_creates_finds_and_logs(&target).await;
    }
}

// --- Ringostat ---------------------------------------------------------------------------

/// RA13: syncing one `externalId` twice is an upsert: both answers succeed, and (where it can
/// be seen: the sandbox) one contact holds the second name. The API cannot delete a synced
/// contact: a live run prints the one it left.
#[tokio::test]
async fn ra13_a_second_sync_of_one_external_id_updates_the_contact() {
    for target in ringostat_targets().await {
        let tag = run_tag();
        let external_id = format!("bridge-live-test-{}", Timestamp::now().as_millisecond());
        for name in [format!("{tag} 1"), format!("{tag} 2")] {
            let contact = SmartPhoneContact {
                external_id: external_id.clone(),
                full_name: name,
                phone: PhoneNumber::parse(TEST_NUMBERS[1]).unwrap(),
                email: None,
                responsible: None,
                contact_link: None,
            };
            target
                .adapter
                .sync_contact(&contact, deadline())
                .await
                .unwrap_or_else(|e| panic!("{}: RA13 sync: {e}", target.label));
        }
        match &target.sandbox {
            Some(sandbox) => {
                let state = sandbox.state();
                let synced = state.ringostat.synced_contact(&external_id).unwrap();
                assert_eq!(synced["fullName"], json!(format!("{tag} 2")));
                let same: Vec<Value> = state
                    .ringostat
                    .synced_contacts()
                    .into_iter()
                    .filter(|c| c["externalId"] == json!(external_id))
                    .collect();
                assert_eq!(same.len(), 1);
            }
            None => eprintln!(
                "live Ringostat: Smart Phone contact externalId {external_id} (\"{tag} 2\") \
                 left: check in Smart Phone that it shows once, with the second name, and \
                 delete it there"
            ),
        }
    }
}

/// RA5, RA6: a `calls/list` export (last 24 h, two columns) answers a JSON array, not an
/// object wrapping one.
#[tokio::test]
async fn ra5_ra6_calls_list_answers_a_json_array() {
    for target in ringostat_targets().await {
        // The project's local time (RA4); a day's window.
        let kyiv = jiff::tz::TimeZone::get("Europe/Kyiv").unwrap();
        let now = Timestamp::now();
        let to = kyiv.to_datetime(now);
        let from = kyiv.to_datetime(now.checked_sub(SignedDuration::from_hours(24)).unwrap());
        let format = |t: &jiff::civil::DateTime| t.strftime("%Y-%m-%d %H:%M:%S").to_string();
        let (status, body) = target
            .get(&format!(
                "/calls/list?export_type=json&from={}&to={}&fields=uniqueid,calldate",
                percent(&format(&from)),
                percent(&format(&to))
            ))
            .await;
        assert_eq!(status, 200, "{}: {body}", target.label);
        assert!(
            body.is_array(),
            "{}: RA6: the export is wrapped: {}",
            target.label,
            body.to_string().chars().take(300).collect::<String>()
        );
    }
}
