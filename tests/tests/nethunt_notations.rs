//! Existing NetHunt clients are found in whatever notation a person typed their number
//! (`bridge_tests::fixtures::STORED_NOTATIONS`), and nothing that merely shares digits with it
//! is taken for them.
//!
//! The sandbox's search is a plain substring match by default, separators as typed: the
//! bridge does not rely on NetHunt normalising `050 123 45 67` (`docs/vendor-contracts.md`,
//! NH8, NH31). Requests per lookup are counted from the sandbox's request log: one find-record
//! when the number is stored in E.164, two otherwise (`grouped`); with `separate`, one per
//! notation until one finds it (`docs/benchmarks.md`, "Finding existing clients in any
//! notation — NetHunt").

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::Deadline;
use bridge_core::adapters::nethunt::{NetHunt, PhoneSearch};
use bridge_core::doctor::{Verdict, doctor};
use bridge_core::ports::{Crm, CrmKind};
use bridge_core::secret::Secret;
use bridge_core::secret_store::SecretStore;
use bridge_tests::fixtures::{NUMBER, OLENA, STORED_NOTATIONS, phone, sandbox, within};
use bridge_tests::nethunt_env::{nethunt_config_for, nethunt_with};
use bridge_tests::rig::Rig;
use crm_sandbox::Sandbox;
use crm_sandbox::nethunt::CONTACTS_FOLDER_ID;

fn deadline() -> Deadline {
    within(5)
}

/// The phone searches (find-record with a `query`, not a read by `recordId`) since the log
/// was last cleared, as their statuses; clears the log.
fn take_finds(sandbox: &Sandbox) -> Vec<u16> {
    let finds = sandbox
        .requests()
        .iter()
        .filter(|r| {
            r.path.contains("/searches/find-record/")
                && r.query.as_deref().is_some_and(|q| q.contains("query="))
        })
        .map(|r| r.status)
        .collect();
    sandbox.clear_requests();
    finds
}

/// find-record requests of one lookup of `NUMBER` with the default (`grouped`) search.
fn grouped_finds(stored: &str) -> usize {
    if stored == NUMBER { 1 } else { 2 }
}

/// The call from +380501234567 through the functions (after call), for each notation the
/// one existing contact is stored in: found, the call logged on it, no contact created, in
/// one find-record (E.164) or two (any other notation).
#[tokio::test]
async fn every_stored_notation_finds_the_one_existing_contact_and_creates_nothing() {
    let mut failures = Vec::new();
    for stored in STORED_NOTATIONS {
        let rig = Rig::new(CrmKind::NetHunt).await;
        let existing = rig
            .crm()
            .seed_contact(stored, "Марія Шевченко", &rig.manager());
        rig.sandbox.clear_requests();

        let answer = rig.invoke("after-call-1-answered-existing.json").await;

        let finds = take_finds(&rig.sandbox);
        let crm = rig.crm();
        let found = answer.status == 200 && answer.field("contact_id") == existing;
        let row = format!(
            "{stored:?}: status {}, contact {} ({}), {} contact(s), {} call(s) on it, finds {finds:?}",
            answer.status,
            answer.field("contact_id"),
            if found {
                "the existing one"
            } else {
                "NOT the existing one"
            },
            crm.contact_count(),
            crm.call_texts(&existing).len(),
        );
        if !found
            || answer.json.get("new_contact").is_some()
            || crm.contact_count() != 1
            || crm.call_texts(&existing).len() != 1
            || finds != vec![200; grouped_finds(stored)]
        {
            failures.push(row);
        }
    }
    assert!(
        failures.is_empty(),
        "rows that failed:\n{}",
        failures.join("\n")
    );
}

/// Numbers that share digits with the client's, and texts that quote it: the searches return
/// some of them, the exact re-check keeps none, and the call creates the client's contact.
#[tokio::test]
async fn nothing_that_merely_shares_digits_is_taken_for_the_client() {
    let sandbox = sandbox().await;
    {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        for (stored, name) in [
            // Same last seven digits, another operator code.
            ("067 123 45 67", "Other operator"),
            ("+380671234567", "Other operator, E.164"),
            ("(044) 123-45-67", "Kyiv landline"),
            // Longer numbers that contain the client's.
            ("+3805012345678", "Longer"),
            ("050 123 45 678", "Longer, grouped"),
            ("+380501234567 доб. 12", "Extension"),
            // Shorter: a digit missing.
            ("050 123 45 6", "Cut short"),
            // Another client whose name quotes the number.
            ("+380931112233", "Передзвонити 050 123 45 67"),
        ] {
            nethunt.seed_contact(stored, name, OLENA);
        }
    }
    let nethunt = nethunt_with(nethunt_config_for(&sandbox));
    assert_eq!(take_finds(&sandbox), Vec::<u16>::new());

    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();

    assert_eq!(found, None);
    assert_eq!(take_finds(&sandbox), [200, 200], "E.164, then grouped");
    let created = nethunt
        .create_contact(&phone(NUMBER), &bridge_tests::fixtures::olena(), deadline())
        .await
        .unwrap();
    assert_eq!(sandbox.state().nethunt.contact_count(), 9);
    assert_eq!(
        nethunt
            .find_contact(&phone("050 123 45 67"), deadline())
            .await
            .unwrap()
            .map(|c| c.id),
        Some(created.id)
    );
}

/// One lookup of `NUMBER` with `nethunt` on a workspace holding the contact stored as
/// `stored`: the contact's id if found, and the find-record statuses.
async fn lookup(
    sandbox: &Sandbox,
    nethunt: &NetHunt,
    stored: &str,
) -> (Option<String>, String, Vec<u16>) {
    let existing = sandbox
        .state()
        .nethunt
        .seed_contact(stored, "Марія Шевченко", OLENA);
    sandbox.clear_requests();
    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap()
        .map(|c| c.id);
    (found, existing, take_finds(sandbox))
}

/// `NETHUNT_PHONE_SEARCH=separate`: one find-record per notation, in the adapter's order
/// (whole numbers `380…`, `00380…`, `0…`, `80…`, then the last seven digits `1234567`,
/// `123 45 67`, `123-45-67`, `123.45.67`, `123 4567`, `123-4567`), until one finds it.
#[tokio::test]
async fn separate_searches_find_every_notation_one_request_per_notation() {
    let expected_finds = [
        ("+380501234567", 1),
        ("380501234567", 2),
        ("0501234567", 4),
        ("050 123 45 67", 7),
        ("050-123-45-67", 8),
        ("(050) 123-45-67", 8),
        ("+38 (050) 123-45-67", 8),
        ("+38 050 123 45 67", 7),
        ("8 050 123 45 67", 7),
        ("80501234567", 4),
        ("050.123.45.67", 9),
        ("+380 50 123 45 67", 7),
        ("+38-050-123-45-67", 8),
        ("38 (050) 1234567", 6),
    ];
    assert_eq!(
        expected_finds.map(|(stored, _)| stored),
        STORED_NOTATIONS,
        "the whole table"
    );
    for (stored, finds) in expected_finds {
        let sandbox = sandbox().await;
        let mut config = nethunt_config_for(&sandbox);
        config.phone_search = PhoneSearch::Separate;
        let nethunt = nethunt_with(config);
        let (found, existing, statuses) = lookup(&sandbox, &nethunt, stored).await;
        assert_eq!(found, Some(existing), "{stored}");
        assert_eq!(statuses, vec![200; finds], "{stored}");
    }
    // A number nobody has: the E.164 search and all ten notations.
    let sandbox = sandbox().await;
    let mut config = nethunt_config_for(&sandbox);
    config.phone_search = PhoneSearch::Separate;
    let nethunt = nethunt_with(config);
    assert_eq!(
        nethunt
            .find_contact(&phone("+380931234567"), deadline())
            .await
            .unwrap(),
        None
    );
    assert_eq!(take_finds(&sandbox), vec![200; 11]);
}

/// A workspace that refuses the grouped query (400): each lookup falls back to one request per
/// notation and still finds the client; `bridge-ops doctor` names `NETHUNT_PHONE_SEARCH`.
#[tokio::test]
async fn a_refused_grouped_search_falls_back_to_separate_searches() {
    for (stored, finds) in [
        (
            "050 123 45 67",
            &[200, 400, 200, 200, 200, 200, 200, 200][..],
        ),
        ("0501234567", &[200, 400, 200, 200, 200]),
        ("+380501234567", &[200]),
    ] {
        let sandbox = sandbox().await;
        sandbox.state().nethunt.refuses_grouped_search = true;
        let nethunt = nethunt_with(nethunt_config_for(&sandbox));
        let (found, existing, statuses) = lookup(&sandbox, &nethunt, stored).await;
        assert_eq!(found, Some(existing), "{stored}");
        assert_eq!(statuses, finds, "{stored}");
    }

    let rig = Rig::on_sandbox(CrmKind::NetHunt, &[], |sandbox| {
        sandbox.state().nethunt.refuses_grouped_search = true;
    })
    .await;
    let vars = rig.vars.clone();
    let lookup = move |name: &str| vars.get(name).cloned().filter(|v| !v.is_empty());
    let secrets = SecretStore::new(
        rig.sandbox.secrets_extension_url(),
        Secret::new("test-session-token"),
    );
    let report = doctor(&lookup, &secrets).await;
    let check = report.check("NetHunt phone search").unwrap();
    assert_eq!(check.verdict, Verdict::Failed, "{check:?}");
    assert_eq!(check.variable.as_deref(), Some("NETHUNT_PHONE_SEARCH"));
    assert!(
        check
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("separate"),
        "{check:?}"
    );
    // Everything else about the workspace is fine: the search fell back and ran.
    assert_eq!(report.failures, 1, "{:#?}", report.checks);
}

/// Should NetHunt's search ignore separators after all (the lenient reading), every notation
/// is still found, in at most the same two requests.
#[tokio::test]
async fn a_search_that_ignores_separators_finds_every_notation_too() {
    for stored in STORED_NOTATIONS {
        let sandbox = sandbox().await;
        sandbox.state().nethunt.search_ignores_separators = true;
        let nethunt = nethunt_with(nethunt_config_for(&sandbox));
        let (found, existing, statuses) = lookup(&sandbox, &nethunt, stored).await;
        assert_eq!(found, Some(existing), "{stored}");
        assert!(
            !statuses.is_empty() && statuses.len() <= 2,
            "{stored}: {statuses:?}"
        );
    }
}

/// The sandbox's side of the grouped query (`crm_sandbox::nethunt`): any alternative matches,
/// as typed; a broken group is 400.
#[tokio::test]
async fn the_sandbox_matches_any_alternative_of_a_group_and_refuses_a_broken_one() {
    let sandbox = sandbox().await;
    let (spaced, dashed) = {
        let mut state = sandbox.state();
        (
            state.nethunt.seed_contact("050 123 45 67", "", OLENA),
            state.nethunt.seed_contact("050-123-45-67", "", OLENA),
        )
    };
    let credentials = sandbox.credentials();
    let client = reqwest::Client::new();
    let find = |query: &str| {
        let url = reqwest::Url::parse_with_params(
            &format!(
                "{}/searches/find-record/{CONTACTS_FOLDER_ID}",
                sandbox.nethunt_base_url()
            ),
            &[("query", query), ("limit", "20")],
        )
        .unwrap();
        client
            .get(url)
            .basic_auth(
                &credentials.nethunt_email,
                Some(&credentials.nethunt_api_key),
            )
            .send()
    };
    let ids = |body: serde_json::Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|r| r["recordId"].as_str().unwrap().to_owned())
            .collect()
    };

    let both = find(r#""Телефон":("123 45 67" OR "123-45-67")"#)
        .await
        .unwrap();
    assert_eq!(both.status(), 200);
    assert_eq!(
        ids(both.json().await.unwrap()),
        [dashed.clone(), spaced.clone()]
    );
    let one = find(r#""Телефон":"123 45 67""#).await.unwrap();
    assert_eq!(ids(one.json().await.unwrap()), [spaced]);
    let none = find(r#""Телефон":"0501234567""#).await.unwrap();
    assert_eq!(ids(none.json().await.unwrap()), Vec::<String>::new());
    let broken = find(r#""Телефон":("123 45 67" OR "123-45-67""#)
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
}
