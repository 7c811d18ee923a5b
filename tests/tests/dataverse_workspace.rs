//! Smart CRM in a real workspace (issue 16): every name the bridge reads or writes is the
//! tenant's, set through environment variables only, and existing clients are found in every
//! notation people type.
//!
//! - A Dataverse environment whose contacts keep their numbers in custom columns, typed by
//!   hand (`+38 (050) 123-45-67`), with custom UTM and stage columns and its own card links,
//!   passes the eight seed scenarios, the deal, UTM and Smart Phone flows (the same flows as
//!   `functions_e2e.rs`, from `bridge_tests::flows`), and `bridge-ops doctor`, which names
//!   the variable of every configured column the tenant does not have.
//! - The notation table (`bridge_tests::fixtures::STORED_NOTATIONS`): for each row, one contact
//!   whose phone column holds that notation; a call from `+380501234567` through the functions
//!   finds it, logs on it and creates nothing. The requests each lookup costs are counted.
//! - A call on a contact deleted since it was found: Dataverse refuses the phone call with
//!   "Does Not Exist", and the bridge finds or creates the client again.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::doctor::{Check, Report, Verdict};
use bridge_core::ports::CrmKind;
use bridge_tests::fixtures::{NUMBER, STORED_NOTATIONS};
use bridge_tests::flows;
use bridge_tests::rig::Rig;
use crm_sandbox::Sandbox;
use crm_sandbox::dataverse::MANAGER_USER_ID;
use serde_json::Value;

/// A tenant that named everything itself, configured through the environment only.
const WORKSPACE: &[(&str, &str)] = &[
    ("DATAVERSE_PHONE_COLUMN", "cr1a2_mobile"),
    ("DATAVERSE_SEARCH_COLUMNS", "cr1a2_work,cr1a2_home"),
    ("DATAVERSE_DIGITS_COLUMN", "cr1a2_digits"),
    ("DATAVERSE_CONTACT_NAME_COLUMN", "firstname"),
    ("DATAVERSE_UTM_SOURCE_COLUMN", "cr1a2_source"),
    ("DATAVERSE_UTM_MEDIUM_COLUMN", "cr1a2_medium"),
    ("DATAVERSE_UTM_CAMPAIGN_COLUMN", "cr1a2_campaign"),
    ("DATAVERSE_UTM_TERM_COLUMN", "-"),
    ("DATAVERSE_UTM_CONTENT_COLUMN", "cr1a2_content"),
    ("DATAVERSE_UTM_MAX_CHARS", "60"),
    ("DATAVERSE_DEAL_STAGE_COLUMN", "cr1a2_stage"),
    ("DEAL_STAGE", "Новий дзвінок"),
    (
        "DATAVERSE_CARD_URL_TEMPLATE",
        "https://smart.example.com/crm/contact/{id}",
    ),
];

/// The tenant's custom columns: (table, column, length).
const CUSTOM_COLUMNS: [(&str, &str, usize); 9] = [
    ("contact", "cr1a2_mobile", 50),
    ("contact", "cr1a2_work", 50),
    ("contact", "cr1a2_home", 50),
    ("contact", "cr1a2_digits", 20),
    ("contact", "cr1a2_source", 100),
    ("contact", "cr1a2_medium", 100),
    ("contact", "cr1a2_campaign", 100),
    ("contact", "cr1a2_content", 100),
    ("opportunity", "cr1a2_stage", 100),
];

/// The existing client, as somebody typed it into the work phone column.
const TYPED_BY_HAND: &str = "+38 (050) 123-45-67";

fn add_custom_columns(sandbox: &Sandbox) {
    let mut state = sandbox.state();
    for (table, column, length) in CUSTOM_COLUMNS {
        state
            .dataverse
            .add_custom_column(table, column, length)
            .unwrap();
    }
}

/// The bridge on the tenant above, its CRM empty.
async fn empty_workspace() -> Rig {
    Rig::on_sandbox(CrmKind::Dataverse, WORKSPACE, add_custom_columns).await
}

/// The bridge on the tenant above, with the existing client stored by hand; its id.
async fn workspace() -> (Rig, String) {
    let mut existing = None;
    let rig = Rig::on_sandbox(CrmKind::Dataverse, WORKSPACE, |sandbox| {
        add_custom_columns(sandbox);
        existing = Some(
            sandbox
                .state()
                .dataverse
                .seed_contact_with(
                    &[("cr1a2_work", TYPED_BY_HAND)],
                    "Марія Шевченко",
                    MANAGER_USER_ID,
                )
                .unwrap(),
        );
    })
    .await;
    (rig, existing.unwrap())
}

fn contact(rig: &Rig, id: &str) -> Value {
    rig.sandbox
        .state()
        .dataverse
        .contact(id)
        .unwrap_or_else(|| panic!("contact {id} exists"))
}

/// `GET /contacts` requests (the lookups) since the last call, the log cleared.
fn take_contact_searches(sandbox: &Sandbox) -> usize {
    let searches = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/api/data/v9.2/contacts"))
        .count();
    sandbox.clear_requests();
    searches
}

/// The contacts whose `column` holds `value`.
fn contacts_with(rig: &Rig, column: &str, value: &str) -> Vec<Value> {
    rig.sandbox
        .state()
        .dataverse
        .contacts()
        .into_iter()
        .filter(|c| c[column] == value)
        .collect()
}

#[tokio::test]
async fn the_eight_seed_scenarios_pass_in_a_workspace_with_its_own_names() {
    let (rig, existing) = workspace().await;
    flows::eight_seed_scenarios(&rig, &existing).await;

    // The existing client, typed by hand, kept its number as it was.
    assert_eq!(contact(&rig, &existing)["cr1a2_work"], TYPED_BY_HAND);
    // The new clients' numbers went where this tenant keeps them, and nowhere else.
    for number in [
        "+380671110003",
        "+380671110004",
        "+380671110007",
        "+380671110008",
    ] {
        let found = contacts_with(&rig, "cr1a2_mobile", number);
        assert_eq!(found.len(), 1, "{number}: one contact");
        let new = &found[0];
        assert_eq!(new["cr1a2_digits"], number.trim_start_matches('+'));
        assert_eq!(new["firstname"], number, "the name column");
        for standard in ["mobilephone", "telephone1", "lastname"] {
            assert_eq!(new[standard], Value::Null, "{number}: {standard}");
        }
    }
}

/// Before call for a new number: the contact, the deal with its stage, the UTM tags in the
/// tenant's columns (cut to its length, the term left out), and Smart Phone's link from the
/// tenant's card template.
#[tokio::test]
async fn a_new_client_gets_contact_deal_utm_and_smart_phone_in_the_tenants_columns() {
    let rig = empty_workspace().await;
    flows::new_client_from_ringing_to_answered(&rig).await;

    let new = contacts_with(&rig, "cr1a2_mobile", "+380671110001");
    assert_eq!(new.len(), 1);
    let new = &new[0];
    let id = new["contactid"].as_str().unwrap();
    assert_eq!(new["cr1a2_source"], "google");
    assert_eq!(new["cr1a2_medium"], "cpc");
    assert_eq!(new["cr1a2_campaign"], "brand");
    assert_eq!(new["cr1a2_content"], "ad-1");
    for default in ["new_utmsource", "new_utmterm"] {
        assert_eq!(new[default], Value::Null, "{default}");
    }
    let deals = rig.sandbox.state().dataverse.opportunities();
    assert_eq!(deals.len(), 1);
    assert_eq!(deals[0]["cr1a2_stage"], "Новий дзвінок");
    assert_eq!(deals[0]["stepname"], Value::Null);
    let synced = rig.sandbox.state().ringostat.synced_contacts();
    assert_eq!(
        synced[0]["contactLink"],
        format!("https://smart.example.com/crm/contact/{id}")
    );
}

/// The existing client rings: found in the work column where it was typed by hand, its UTM
/// source written to the tenant's column, no deal, Smart Phone shows its name.
#[tokio::test]
async fn a_known_client_typed_by_hand_rings() {
    let (rig, existing) = workspace().await;
    flows::existing_client_rings(&rig, &existing).await;
    assert_eq!(contact(&rig, &existing)["cr1a2_source"], "(direct)");
}

/// Each stored notation of the number, alone in the phone column of an otherwise empty
/// environment: the after-call of a call from +380501234567 finds that contact, logs on it
/// and creates nothing. A number stored as bare digits (with or without `+`, `0`, `8 0`)
/// is found by the first request; one with separators by the second.
#[tokio::test]
async fn the_stored_notation_table_finds_the_one_contact_in_every_row() {
    let mut costs = Vec::new();
    for notation in STORED_NOTATIONS {
        let mut stored = None;
        let rig = Rig::on_sandbox(CrmKind::Dataverse, &[], |sandbox| {
            stored = Some(
                sandbox
                    .state()
                    .dataverse
                    .seed_contact_with(
                        &[("mobilephone", notation)],
                        "Марія Шевченко",
                        MANAGER_USER_ID,
                    )
                    .unwrap(),
            );
        })
        .await;
        let stored = stored.unwrap();
        rig.sandbox.clear_requests();

        let answer = rig.invoke("after-call-1-answered-existing.json").await;

        answer.assert_outcome("call_logged");
        assert_eq!(answer.field("contact_id"), stored, "{notation}");
        assert!(answer.json.get("new_contact").is_none(), "{notation}");
        let crm = rig.crm();
        assert_eq!(crm.contact_count(), 1, "{notation}: nothing created");
        assert!(crm.deals_of(&stored).is_empty(), "{notation}: no deal");
        let calls = crm.call_texts(&stored);
        assert_eq!(calls.len(), 1, "{notation}: {calls:?}");
        assert!(calls[0].contains(NUMBER), "{notation}: {calls:?}");
        let searches = take_contact_searches(&rig.sandbox);
        let bare = notation
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit());
        assert_eq!(searches, if bare { 1 } else { 2 }, "{notation}: lookups");
        costs.push((notation, searches));
    }
    // docs/benchmarks.md, "Finding existing clients in any notation — Smart CRM".
    println!("requests per lookup: {costs:?}");
}

/// A client deleted in Smart CRM after the bridge found (and cached) it: the phone call is
/// refused ("Does Not Exist"), the bridge finds the client again, creates it, and logs the
/// call there; nothing is parked or lost.
#[tokio::test]
async fn a_call_on_a_contact_deleted_since_it_was_found_recreates_it() {
    let rig = Rig::new(CrmKind::Dataverse).await;
    let existing = rig.seed_existing_client();
    rig.invoke("after-call-1-answered-existing.json")
        .await
        .assert_outcome("call_logged");
    assert!(rig.sandbox.state().dataverse.delete_contact(&existing));

    let answer = rig.invoke("after-call-2-missed-existing.json").await;

    answer.assert_outcome("call_logged");
    let recreated = answer.field("contact_id").to_owned();
    assert_ne!(recreated, existing);
    let crm = rig.crm();
    assert_eq!(crm.contact_count(), 1, "the client again, once");
    let calls = crm.call_texts(&recreated);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].starts_with("Вхідний дзвінок від +380501234567 (пропущений)"),
        "{calls:?}"
    );
    assert_eq!(contacts_with(&rig, "mobilephone", NUMBER).len(), 1);
}

// --- doctor ----------------------------------------------------------------------------------

fn check<'a>(report: &'a Report, name: &str) -> &'a Check {
    report
        .check(name)
        .unwrap_or_else(|| panic!("no `{name}` check in {:#?}", report.checks))
}

/// `bridge-ops doctor` on the tenant: every configured column found, the search timed.
#[tokio::test]
async fn doctor_passes_the_workspace() {
    let (rig, _) = workspace().await;
    let report = rig.doctor(&[]).await;
    assert!(report.ok, "{:#?}", report.checks);
    let columns = check(&report, "Smart CRM columns");
    assert_eq!(columns.verdict, Verdict::Ok);
    for (_, column, _) in CUSTOM_COLUMNS {
        assert!(columns.detail.contains(column), "{column}: {columns:?}");
    }
    let search = check(&report, "Smart CRM contact search");
    assert_eq!(search.verdict, Verdict::Ok, "{search:?}");
    assert!(search.detail.contains("2 request(s)"), "{search:?}");
}

/// Each column variable naming a column the tenant does not have is a failure naming that
/// variable, with a fix.
#[tokio::test]
async fn doctor_names_the_variable_of_every_missing_column() {
    let (rig, _) = workspace().await;
    for variable in [
        "DATAVERSE_PHONE_COLUMN",
        "DATAVERSE_SEARCH_COLUMNS",
        "DATAVERSE_DIGITS_COLUMN",
        "DATAVERSE_CONTACT_NAME_COLUMN",
        "DATAVERSE_UTM_SOURCE_COLUMN",
        "DATAVERSE_UTM_MEDIUM_COLUMN",
        "DATAVERSE_UTM_CAMPAIGN_COLUMN",
        "DATAVERSE_UTM_TERM_COLUMN",
        "DATAVERSE_UTM_CONTENT_COLUMN",
        "DATAVERSE_DEAL_STAGE_COLUMN",
    ] {
        let report = rig.doctor(&[(variable, "cr1a2_nothere")]).await;
        let failures: Vec<&Check> = report
            .failed()
            .filter(|c| c.variable.as_deref() == Some(variable))
            .collect();
        assert_eq!(failures.len(), 1, "{variable}: {:#?}", report.checks);
        assert!(
            failures[0].detail.contains("cr1a2_nothere") && failures[0].fix.is_some(),
            "{variable}: {:?}",
            failures[0]
        );
        // The search is not blamed for a searched column that is missing, and runs when
        // only a written one is.
        let searched = ["PHONE", "SEARCH", "DIGITS"]
            .iter()
            .any(|part| variable.contains(part));
        assert_eq!(
            check(&report, "Smart CRM contact search").verdict,
            if searched {
                Verdict::Skipped
            } else {
                Verdict::Ok
            },
            "{variable}"
        );
    }
}

/// With a digits column and the fragment search off, a number typed with separators is found
/// by its digits in the first request; one whose digits column is empty is not (the tenant
/// chose one request per lookup).
#[tokio::test]
async fn a_digits_column_finds_a_formatted_number_in_one_request() {
    let mut ids = Vec::new();
    let rig = Rig::on_sandbox(
        CrmKind::Dataverse,
        &[
            ("DATAVERSE_DIGITS_COLUMN", "cr1a2_digits"),
            ("DATAVERSE_FRAGMENT_SEARCH", "false"),
        ],
        |sandbox| {
            add_custom_columns(sandbox);
            let mut state = sandbox.state();
            for (phone, digits) in [(TYPED_BY_HAND, "380501234567"), ("067 111 00 03", "")] {
                let mut values = vec![("mobilephone", phone)];
                if !digits.is_empty() {
                    values.push(("cr1a2_digits", digits));
                }
                ids.push(
                    state
                        .dataverse
                        .seed_contact_with(&values, "Марія Шевченко", MANAGER_USER_ID)
                        .unwrap(),
                );
            }
        },
    )
    .await;
    rig.sandbox.clear_requests();

    let answer = rig.invoke("after-call-1-answered-existing.json").await;
    answer.assert_outcome("call_logged");
    assert_eq!(answer.field("contact_id"), ids[0]);
    assert_eq!(take_contact_searches(&rig.sandbox), 1);

    let answer = rig.invoke("after-call-3-answered-new.json").await;
    answer.assert_outcome("call_logged");
    assert_eq!(answer.json["new_contact"], true);
    assert_ne!(answer.field("contact_id"), ids[1]);
    assert_eq!(take_contact_searches(&rig.sandbox), 1);
    assert_eq!(
        contacts_with(&rig, "cr1a2_digits", "380671110003").len(),
        1,
        "the bridge fills the digits column of the contacts it creates"
    );
}

/// A column variable that is no logical name, or a link template without `{id}`, is a
/// configuration failure naming it; the other variables are still checked.
#[tokio::test]
async fn doctor_names_a_column_variable_that_is_no_column_name() {
    let (rig, _) = workspace().await;
    let report = rig
        .doctor(&[
            ("DATAVERSE_SEARCH_COLUMNS", "cr1a2_work,Business Phone"),
            (
                "DATAVERSE_CARD_URL_TEMPLATE",
                "https://smart.example.com/contact",
            ),
        ])
        .await;
    for variable in ["DATAVERSE_SEARCH_COLUMNS", "DATAVERSE_CARD_URL_TEMPLATE"] {
        let failure = report
            .failed()
            .find(|c| c.variable.as_deref() == Some(variable))
            .unwrap_or_else(|| panic!("{variable}: {:#?}", report.checks));
        assert_eq!(failure.name, "configuration", "{failure:?}");
        assert!(failure.fix.is_some(), "{failure:?}");
    }
    assert_eq!(check(&report, "Ringostat API").verdict, Verdict::Ok);
}
