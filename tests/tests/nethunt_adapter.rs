//! The NetHunt adapter against the CRM sandbox's NetHunt Integration API (fuzzy search, 404 or
//! `[]` for no match, Basic auth, injected 429/5xx), each test on its own sandbox.
//!
//! Every test that talks to the CRM asserts the exact requests it made: each operation is one
//! request (find, call log, comment, UTM, owner, deal, deal owner, responsible manager), a
//! contact create two (create-record, then the number's search again: NetHunt has no
//! uniqueness, so duplicates are looked for after each create), plus only the retries the
//! test provokes. Rechecks after ambiguous writes are in `crm_fences.rs`.

use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::adapters::nethunt::{DurationUnit, NetHuntConfig, PersonFormat};
use bridge_core::ports::{Crm, CrmError, NewDeal};
use bridge_core::ringostat::Utm;
use bridge_core::{CallActivity, ContactRef, CrmUser};
use bridge_tests::fixtures::{self, NUMBER, OLENA, olena, phone, sandbox, within};
use bridge_tests::nethunt_env::{fast_retry_policy, nethunt_config_for, nethunt_for, nethunt_with};
use crm_sandbox::nethunt::{CONTACTS_FOLDER_ID, DEALS_FOLDER_ID, FieldKind, fields};
use crm_sandbox::{Fault, Sandbox};
use serde_json::{Value, json};
use tokio::time::Instant;

fn deadline() -> Deadline {
    within(5)
}

/// The CRM requests so far as `METHOD action status` (`GET find-record 200`), action being
/// the endpoint's name without folder or record id.
fn requests(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .map(|r| {
            let action = r.path.split('/').rev().nth(1).unwrap_or_default();
            format!("{} {action} {}", r.method, r.status)
        })
        .collect()
}

fn contact_ref(id: &str) -> ContactRef {
    ContactRef {
        id: id.into(),
        name: None,
        owner_id: None,
        card_url: None,
    }
}

/// A 95-second incoming call from `NUMBER` answered by Olena at 13:00 Kyiv time
/// (10:00 UTC), mapped the way the functions map it.
fn answered_call(contact: ContactRef) -> CallActivity {
    fixtures::answered_call(contact, "1714557600.1234")
}

/// find-record straight on the sandbox, as the adapter's query would be, to show what the
/// fuzzy search returns before the adapter filters it. Clears the request log afterwards.
async fn raw_find(sandbox: &Sandbox, query: &str) -> Vec<Value> {
    let credentials = sandbox.credentials();
    let client = bridge_core::adapters::http::shared_client().expect("client");
    let url = format!(
        "{}/searches/find-record/{CONTACTS_FOLDER_ID}?query={}&limit=20",
        sandbox.nethunt_base_url(),
        query
            .replace('"', "%22")
            .replace('+', "%2B")
            .replace(' ', "%20")
    );
    let response = client
        .get(url)
        .basic_auth(credentials.nethunt_email, Some(credentials.nethunt_api_key))
        .send()
        .await
        .expect("sandbox answers");
    let records = response.json().await.expect("a JSON array");
    sandbox.clear_requests();
    records
}

// --- find_contact --------------------------------------------------------------------------

#[tokio::test]
async fn finds_a_contact_by_its_number_with_name_owner_and_card() {
    let sandbox = sandbox().await;
    let id = sandbox
        .state()
        .nethunt
        .seed_contact(NUMBER, "Іван Петренко", OLENA);
    let nethunt = nethunt_for(&sandbox);

    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();

    assert_eq!(
        found,
        Some(ContactRef {
            id: id.clone(),
            name: Some("Іван Петренко".into()),
            owner_id: Some(OLENA.into()),
            card_url: Some(format!(
                "https://nethunt.com/app/records/{CONTACTS_FOLDER_ID}/{id}"
            )),
        })
    );
    assert_eq!(requests(&sandbox), ["GET find-record 200"]);
    let query = sandbox.requests()[0].query.clone().unwrap_or_default();
    // `"Телефон":"+380501234567"`, every reserved character encoded, and room for near misses.
    assert!(
        query.starts_with(
            "query=%22%D0%A2%D0%B5%D0%BB%D0%B5%D1%84%D0%BE%D0%BD%22%3A%22%2B380501234567%22"
        ),
        "{query}"
    );
    assert!(query.ends_with("&limit=20"), "{query}");
}

#[tokio::test]
async fn fuzzy_false_positives_are_rejected_and_a_new_contact_is_created() {
    let sandbox = sandbox().await;
    {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        // A longer number that contains the searched one.
        nethunt.seed_contact("+3805012345678", "Longer number", OLENA);
        // The same digits with an extension.
        nethunt.seed_contact("+380501234567 доб. 12", "Extension", OLENA);
        // Another client whose name quotes the number.
        nethunt.seed_contact("+380671112233", "Передзвонити 380501234567", OLENA);
    }
    // The sandbox's search, like NetHunt's, returns the two that contain the E.164 number,
    // and all three for the national digits the second search asks for.
    let near_misses = raw_find(&sandbox, "\"Телефон\":\"+380501234567\"").await;
    assert_eq!(near_misses.len(), 2);
    let near_misses = raw_find(&sandbox, "\"Телефон\":\"380501234567\"").await;
    assert_eq!(near_misses.len(), 3);
    let nethunt = nethunt_for(&sandbox);

    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();
    assert_eq!(found, None);

    let created = nethunt
        .create_contact(&phone(NUMBER), &olena(), deadline())
        .await
        .unwrap();
    // Nothing exact for the E.164 number, nor for its other notations; the search after the
    // create (duplicate check, E.164 only: the bridge writes E.164) also meets near misses,
    // and keeps the new contact.
    assert_eq!(
        requests(&sandbox),
        [
            "GET find-record 200",
            "GET find-record 200",
            "POST create-record 200",
            "GET find-record 200"
        ]
    );
    let state = sandbox.state();
    assert_eq!(state.nethunt.contact_count(), 4);
    assert_eq!(
        state.nethunt.field_of(&created.id, fields::PHONE),
        Some(json!([NUMBER]))
    );
}

#[tokio::test]
async fn the_exact_number_is_picked_out_of_near_misses() {
    let sandbox = sandbox().await;
    let real = {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        nethunt.seed_contact("+3805012345678", "Longer number", OLENA);
        let real = nethunt.seed_contact(NUMBER, "Real client", OLENA);
        nethunt.seed_contact("+380501234567 доб. 12", "Extension", OLENA);
        real
    };
    let nethunt = nethunt_for(&sandbox);

    let found = nethunt
        .find_contact(&phone("0501234567"), deadline())
        .await
        .unwrap();

    assert_eq!(found.map(|c| c.id), Some(real));
    assert_eq!(requests(&sandbox), ["GET find-record 200"]);
}

#[tokio::test]
async fn no_match_is_none_whether_nethunt_answers_an_empty_array_or_404() {
    let sandbox = sandbox().await;
    sandbox
        .state()
        .nethunt
        .seed_contact("+380671112233", "Somebody else", OLENA);
    let nethunt = nethunt_for(&sandbox);

    let as_empty_array = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();
    sandbox.state().nethunt.not_found_as_404 = true;
    let as_404 = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();

    assert_eq!(as_empty_array, None);
    assert_eq!(as_404, None);
    // Each lookup: the E.164 search, then the other notations'.
    assert_eq!(
        requests(&sandbox),
        [
            "GET find-record 200",
            "GET find-record 200",
            "GET find-record 404",
            "GET find-record 404"
        ]
    );
}

#[tokio::test]
async fn a_number_stored_in_another_notation_is_still_found() {
    for stored in [
        "+38 (050) 123-45-67",
        "380501234567",
        "+380 50 123 45 67",
        // Two numbers typed into one value.
        "+380671112233, +38 050 123 45 67",
    ] {
        let sandbox = sandbox().await;
        let id = sandbox
            .state()
            .nethunt
            .seed_contact(stored, "Іван Петренко", OLENA);
        let nethunt = nethunt_for(&sandbox);

        let found = nethunt
            .find_contact(&phone("050 123 45 67"), deadline())
            .await
            .unwrap();

        assert_eq!(found.map(|c| c.id), Some(id), "{stored}");
        // Not E.164 as typed: found by the second search, of the other notations (the full
        // table is nethunt_notations.rs).
        assert_eq!(
            requests(&sandbox),
            ["GET find-record 200", "GET find-record 200"],
            "{stored}"
        );
    }
}

#[tokio::test]
async fn of_several_exact_matches_the_most_recently_updated_wins() {
    let sandbox = sandbox().await;
    let (older, newer) = {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        (
            nethunt.seed_contact(NUMBER, "Worked on lately", OLENA),
            nethunt.seed_contact(NUMBER, "Duplicate", OLENA),
        )
    };
    // The sandbox returns the newer record first; make the older one the most recently
    // updated (timestamps have milliseconds).
    tokio::time::sleep(Duration::from_millis(5)).await;
    sandbox
        .state()
        .nethunt
        .set_field(&older, fields::SOURCE, json!("google"));
    assert_eq!(
        raw_find(&sandbox, "\"Телефон\":\"+380501234567\"")
            .await
            .len(),
        2
    );
    let nethunt = nethunt_for(&sandbox);

    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();

    assert_ne!(older, newer);
    assert_eq!(found.map(|c| c.id), Some(older));
    assert_eq!(requests(&sandbox), ["GET find-record 200"]);
}

// --- create_contact ------------------------------------------------------------------------

#[tokio::test]
async fn a_created_contact_has_only_the_number_and_the_owner_and_is_found_again() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);

    let created = nethunt
        .create_contact(&phone("0501234567"), &olena(), deadline())
        .await
        .unwrap();
    let found = nethunt
        .find_contact(&phone("+38 050 123 45 67"), deadline())
        .await
        .unwrap();

    assert_eq!(created.name, None);
    assert_eq!(created.owner_id.as_deref(), Some(OLENA));
    assert_eq!(
        created.card_url.as_deref(),
        Some(
            format!(
                "https://nethunt.com/app/records/{CONTACTS_FOLDER_ID}/{}",
                created.id
            )
            .as_str()
        )
    );
    assert_eq!(found, Some(created.clone()));
    // create-record, the duplicate check after it, then the find.
    assert_eq!(
        requests(&sandbox),
        [
            "POST create-record 200",
            "GET find-record 200",
            "GET find-record 200"
        ]
    );
    let state = sandbox.state();
    let record = state.nethunt.record(&created.id).expect("stored");
    assert_eq!(record.folder_id, CONTACTS_FOLDER_ID);
    assert_eq!(
        record.fields,
        [
            (
                fields::MANAGER.to_owned(),
                json!(["Олена Коваль <olena.koval@acme.ua>"])
            ),
            (fields::PHONE.to_owned(), json!([NUMBER])),
        ]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>()
    );
    assert_eq!(state.nethunt.owner_of(&created.id).as_deref(), Some(OLENA));
}

#[tokio::test]
async fn the_owner_can_be_written_as_a_bare_email() {
    let sandbox = sandbox().await;
    let mut config = nethunt_config_for(&sandbox);
    config.person_format = PersonFormat::Email;
    let nethunt = nethunt_with(config);

    let created = nethunt
        .create_contact(&phone(NUMBER), &olena(), deadline())
        .await
        .unwrap();

    // create-record, then the duplicate check after every create.
    assert_eq!(
        requests(&sandbox),
        ["POST create-record 200", "GET find-record 200"]
    );
    assert_eq!(
        sandbox
            .state()
            .nethunt
            .field_of(&created.id, fields::MANAGER),
        Some(json!([OLENA]))
    );
}

#[tokio::test]
async fn a_user_id_that_is_not_an_email_is_a_configuration_error_before_any_request() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);
    let not_an_email = CrmUser {
        id: "a1b2c3-guid".into(),
        name: Some("Olena".into()),
    };

    let result = nethunt
        .create_contact(&phone(NUMBER), &not_an_email, deadline())
        .await;

    assert!(matches!(result, Err(CrmError::Config(_))), "{result:?}");
    assert!(requests(&sandbox).is_empty());
}

// --- set_contact_owner, set_contact_utm ----------------------------------------------------

#[tokio::test]
async fn a_new_owner_replaces_the_old_one() {
    let sandbox = sandbox().await;
    let id = sandbox
        .state()
        .nethunt
        .seed_contact(NUMBER, "Іван", "ivan.sydorenko@acme.ua");
    let nethunt = nethunt_for(&sandbox);

    nethunt
        .set_contact_owner(&id, &olena(), deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST update-record 200"]);
    let state = sandbox.state();
    assert_eq!(state.nethunt.owner_of(&id).as_deref(), Some(OLENA));
    assert_eq!(
        state.nethunt.field_of(&id, fields::MANAGER),
        Some(json!(["Олена Коваль <olena.koval@acme.ua>"]))
    );
}

#[tokio::test]
async fn updating_a_missing_contact_is_not_found() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);

    let result = nethunt
        .set_contact_owner("6650a1b2ffffffffffffffff", &olena(), deadline())
        .await;

    assert!(matches!(result, Err(CrmError::NotFound(_))), "{result:?}");
    assert_eq!(requests(&sandbox), ["POST update-record 404"]);
}

#[tokio::test]
async fn utm_writes_only_the_tags_present_and_overwrites_old_values() {
    let sandbox = sandbox().await;
    let id = {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        let id = nethunt.seed_contact(NUMBER, "Іван", OLENA);
        nethunt.set_field(&id, fields::SOURCE, json!("facebook"));
        nethunt.set_field(&id, fields::CAMPAIGN, json!("spring-sale"));
        id
    };
    let nethunt = nethunt_for(&sandbox);
    let utm = Utm {
        source: Some("google".into()),
        medium: Some("cpc".into()),
        campaign: None,
        term: Some("купити диван".into()),
        // No content field in the seed: not configured, not sent.
        content: Some("banner-1".into()),
    };

    nethunt
        .set_contact_utm(&id, &utm, deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST update-record 200"]);
    assert_eq!(
        sandbox.requests()[0].query.as_deref(),
        Some("overwrite=true")
    );
    let state = sandbox.state();
    let value = |field| state.nethunt.field_of(&id, field);
    assert_eq!(value(fields::SOURCE), Some(json!("google")));
    assert_eq!(value(fields::MEDIUM), Some(json!("cpc")));
    assert_eq!(value(fields::CAMPAIGN), Some(json!("spring-sale")));
    assert_eq!(value(fields::KEYWORD), Some(json!("купити диван")));
    assert_eq!(value(fields::PHONE), Some(json!([NUMBER])));
}

#[tokio::test]
async fn utm_content_is_written_when_its_field_is_configured() {
    let sandbox = sandbox().await;
    let id = {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        nethunt.add_folder_field(CONTACTS_FOLDER_ID, "Вміст", FieldKind::Text);
        nethunt.seed_contact(NUMBER, "Іван", OLENA)
    };
    let mut config = nethunt_config_for(&sandbox);
    config.fields.utm_content = Some("Вміст".into());
    let nethunt = nethunt_with(config);
    let utm = Utm {
        content: Some("banner-1".into()),
        ..Utm::default()
    };

    nethunt
        .set_contact_utm(&id, &utm, deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST update-record 200"]);
    let state = sandbox.state();
    assert_eq!(
        state.nethunt.field_of(&id, "Вміст"),
        Some(json!("banner-1"))
    );
    assert_eq!(state.nethunt.field_of(&id, fields::SOURCE), None);
}

#[tokio::test]
async fn no_utm_tags_means_no_request() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    let blank = Utm {
        source: Some("  ".into()),
        ..Utm::default()
    };

    nethunt
        .set_contact_utm(&id, &Utm::default(), deadline())
        .await
        .unwrap();
    nethunt
        .set_contact_utm(&id, &blank, deadline())
        .await
        .unwrap();

    assert!(requests(&sandbox).is_empty());
}

// --- log_call, add_note --------------------------------------------------------------------

#[tokio::test]
async fn a_call_log_carries_text_start_time_and_duration_in_minutes() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    let call = answered_call(contact_ref(&id));

    let logged = nethunt.log_call(&call, deadline()).await.unwrap();

    assert_eq!(requests(&sandbox), ["POST create-call-log 200"]);
    assert!(!logged.already_existed);
    let state = sandbox.state();
    let logs = state.nethunt.call_logs_of(&id);
    assert_eq!(logs.len(), 1);
    assert_eq!(logged.id.as_deref(), Some(logs[0].id.as_str()));
    assert_eq!(
        logs[0].text,
        format!("{}\n{}", call.subject, call.description)
    );
    assert!(
        logs[0]
            .text
            .starts_with("Вхідний дзвінок від +380501234567 (прийнятий)\n")
    );
    assert_eq!(logs[0].time.as_deref(), Some("2024-05-01T10:00:00.000Z"));
    assert_eq!(logs[0].duration, Some(1.58));
    assert_eq!(state.nethunt.calls_of(&id), [logs[0].text.clone()]);
    assert_eq!(state.nethunt.call_count(), 1);
}

#[tokio::test]
async fn call_log_duration_can_be_sent_in_seconds() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let mut config = nethunt_config_for(&sandbox);
    config.call_log_duration_unit = DurationUnit::Seconds;
    let nethunt = nethunt_with(config);

    nethunt
        .log_call(&answered_call(contact_ref(&id)), deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST create-call-log 200"]);
    let logs = sandbox.state().nethunt.call_logs_of(&id);
    assert_eq!(
        logs.iter().map(|l| l.duration).collect::<Vec<_>>(),
        [Some(95.0)]
    );
}

#[tokio::test]
async fn a_call_on_a_missing_contact_is_not_found() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);

    let result = nethunt
        .log_call(
            &answered_call(contact_ref("6650a1b2ffffffffffffffff")),
            deadline(),
        )
        .await;

    assert!(matches!(result, Err(CrmError::NotFound(_))), "{result:?}");
    assert_eq!(requests(&sandbox), ["POST create-call-log 404"]);
    assert_eq!(sandbox.state().nethunt.call_count(), 0);
}

#[tokio::test]
async fn a_note_is_a_comment_with_the_title_on_its_first_line() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);

    nethunt
        .add_note(
            &bridge_core::ports::NewNote {
                contact_id: id.to_string(),
                call_id: "test-call".into(),
                title: "AI-аналіз дзвінка".to_string(),
                text: "Клієнт хоче диван до п'ятниці.".to_string(),
                recheck: false,
            },
            deadline(),
        )
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST create-comment 200"]);
    assert_eq!(
        sandbox.state().nethunt.notes_of(&id),
        ["AI-аналіз дзвінка\nКлієнт хоче диван до п'ятниці."]
    );
}

// --- create_deal, set_deal_owner, responsible_manager --------------------------------------

#[tokio::test]
async fn a_deal_is_linked_to_the_contact_and_owned_by_the_manager() {
    let sandbox = sandbox().await;
    let contact_id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    let deal = NewDeal {
        name: "Дзвінок +380501234567".into(),
        stage: Some("Новий лід".into()),
        owner: Some(olena()),
        recheck: false,
    };

    let created = nethunt
        .create_deal(&contact_ref(&contact_id), &deal, deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST create-record 200"]);
    assert_eq!(
        sandbox.requests()[0].path,
        format!("/api/v1/zapier/actions/create-record/{DEALS_FOLDER_ID}")
    );
    let state = sandbox.state();
    assert_eq!(
        state.nethunt.deals_of(&contact_id),
        ["Дзвінок +380501234567"]
    );
    assert_eq!(
        state.nethunt.deal_ids_of(&contact_id),
        [created.id.as_str()]
    );
    assert_eq!(state.nethunt.owner_of(&created.id).as_deref(), Some(OLENA));
    let value = |field| state.nethunt.field_of(&created.id, field);
    assert_eq!(value(fields::STAGE), Some(json!("Новий лід")));
    assert_eq!(value(fields::CONTACT), Some(json!([contact_id])));
    assert_eq!(state.nethunt.contact_count(), 1);
}

#[tokio::test]
async fn a_deal_without_a_deals_folder_is_a_configuration_error() {
    let sandbox = sandbox().await;
    let mut config = nethunt_config_for(&sandbox);
    config.deals_folder_id = None;
    let nethunt = nethunt_with(config);
    let deal = NewDeal {
        name: "Угода".into(),
        stage: None,
        owner: None,
        recheck: false,
    };

    let result = nethunt
        .create_deal(&contact_ref("6650a1b2ffffffffffffffff"), &deal, deadline())
        .await;

    assert!(matches!(result, Err(CrmError::Config(_))), "{result:?}");
    assert!(requests(&sandbox).is_empty());
}

/// A deal as the bridge leaves it at "before call": linked to the new contact, owned by the
/// bridge's own user until the manager who answers is known.
fn seed_pending_deal(sandbox: &Sandbox, contact_id: &str) -> String {
    sandbox
        .state()
        .nethunt
        .seed_record(
            DEALS_FOLDER_ID,
            json!({
                fields::NAME: "Дзвінок +380501234567",
                fields::MANAGER: ["Ringostat Bridge <bridge@acme.ua>"],
                fields::CONTACT: [contact_id],
            }),
        )
        .expect("the Deals folder exists")
}

#[tokio::test]
async fn a_deal_passes_to_the_manager_with_one_update() {
    let sandbox = sandbox().await;
    let contact_id = sandbox
        .state()
        .nethunt
        .seed_contact(NUMBER, "", "bridge@acme.ua");
    let deal_id = seed_pending_deal(&sandbox, &contact_id);
    let nethunt = nethunt_for(&sandbox);

    nethunt
        .set_deal_owner(&deal_id, &olena(), deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST update-record 200"]);
    assert_eq!(
        sandbox.requests()[0].path,
        format!("/api/v1/zapier/actions/update-record/{deal_id}")
    );
    let state = sandbox.state();
    assert_eq!(
        state.nethunt.deal_owner_of(&deal_id).as_deref(),
        Some(OLENA)
    );
    assert_eq!(
        state.nethunt.field_of(&deal_id, fields::MANAGER),
        Some(json!(["Олена Коваль <olena.koval@acme.ua>"])),
        "the old owner is replaced, not joined"
    );
    assert_eq!(
        state.nethunt.owner_of(&contact_id).as_deref(),
        Some("bridge@acme.ua"),
        "the contact's owner is a separate write"
    );
    assert_eq!(
        state.nethunt.field_of(&deal_id, fields::CONTACT),
        Some(json!([contact_id])),
        "the link to the contact is kept"
    );
}

#[tokio::test]
async fn the_deal_owner_goes_into_the_configured_deal_field() {
    let sandbox = sandbox().await;
    let contact_id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", "");
    let deal_id = seed_pending_deal(&sandbox, &contact_id);
    sandbox
        .state()
        .nethunt
        .add_folder_field(DEALS_FOLDER_ID, "Відповідальний", FieldKind::Person);
    let mut config = nethunt_config_for(&sandbox);
    config.fields.deal_owner = "Відповідальний".into();
    config.person_format = PersonFormat::Email;
    let nethunt = nethunt_with(config);

    nethunt
        .set_deal_owner(&deal_id, &olena(), deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["POST update-record 200"]);
    let state = sandbox.state();
    assert_eq!(
        state.nethunt.field_of(&deal_id, "Відповідальний"),
        Some(json!([OLENA]))
    );
    assert_eq!(
        state.nethunt.field_of(&deal_id, fields::MANAGER),
        Some(json!(["Ringostat Bridge <bridge@acme.ua>"])),
        "the contact's owner field name is not used for deals"
    );
}

#[tokio::test]
async fn a_deal_owner_change_on_a_missing_deal_is_not_found() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);

    let result = nethunt
        .set_deal_owner("6650a1b2ffffffffffffffff", &olena(), deadline())
        .await;

    assert!(matches!(result, Err(CrmError::NotFound(_))), "{result:?}");
    assert_eq!(requests(&sandbox), ["POST update-record 404"]);
    assert_eq!(sandbox.state().nethunt.deal_count(), 0);
}

#[tokio::test]
async fn a_deal_owner_that_is_not_an_email_is_refused_before_any_request() {
    let sandbox = sandbox().await;
    let contact_id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", "");
    let deal_id = seed_pending_deal(&sandbox, &contact_id);
    let nethunt = nethunt_for(&sandbox);
    let not_an_email = CrmUser {
        id: "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2".into(),
        name: Some("Олена".into()),
    };

    let result = nethunt
        .set_deal_owner(&deal_id, &not_an_email, deadline())
        .await;

    assert!(matches!(result, Err(CrmError::Config(_))), "{result:?}");
    assert!(requests(&sandbox).is_empty());
    assert_eq!(
        sandbox.state().nethunt.deal_owner_of(&deal_id).as_deref(),
        Some("bridge@acme.ua")
    );
}

#[tokio::test]
async fn the_responsible_manager_is_read_from_either_person_format() {
    let sandbox = sandbox().await;
    let (named, bare, unowned) = {
        let mut state = sandbox.state();
        let nethunt = &mut state.nethunt;
        let named = nethunt.seed_contact(NUMBER, "Іван", OLENA);
        let bare = nethunt.seed_contact("+380671112233", "Петро", "");
        nethunt.set_field(&bare, fields::MANAGER, json!(["ivan.sydorenko@acme.ua"]));
        let unowned = nethunt.seed_contact("+380931112233", "Нічий", "");
        (named, bare, unowned)
    };
    let nethunt = nethunt_for(&sandbox);

    let from_named = nethunt
        .responsible_manager(&named, deadline())
        .await
        .unwrap();
    let from_bare = nethunt
        .responsible_manager(&bare, deadline())
        .await
        .unwrap();
    let from_unowned = nethunt
        .responsible_manager(&unowned, deadline())
        .await
        .unwrap();
    let from_missing = nethunt
        .responsible_manager("6650a1b2ffffffffffffffff", deadline())
        .await
        .unwrap();

    assert_eq!(
        from_named,
        Some(CrmUser {
            id: OLENA.into(),
            name: Some("Olena Koval".into()),
        })
    );
    assert_eq!(
        from_bare,
        Some(CrmUser {
            id: "ivan.sydorenko@acme.ua".into(),
            name: None,
        })
    );
    assert_eq!(from_unowned, None);
    assert_eq!(from_missing, None);
    assert_eq!(requests(&sandbox), ["GET find-record 200"; 4]);
    let first_query = sandbox.requests()[0].query.clone().unwrap_or_default();
    assert_eq!(first_query, format!("recordId={named}&limit=1"));
}

// --- Authentication, throttling, failures, deadline ----------------------------------------

#[tokio::test]
async fn wrong_credentials_are_an_auth_error_and_not_retried() {
    let sandbox = sandbox().await;
    let mut config = nethunt_config_for(&sandbox);
    config.api_key = "revoked-key".into();
    let nethunt = nethunt_with(config);

    let result = nethunt.find_contact(&phone(NUMBER), deadline()).await;

    assert!(matches!(result, Err(CrmError::Auth(_))), "{result:?}");
    assert_eq!(requests(&sandbox), ["GET find-record 401"]);
}

#[tokio::test]
async fn a_read_rides_out_a_throttling_window() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        2,
    );

    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();

    assert_eq!(found.map(|c| c.id), Some(id));
    assert_eq!(
        requests(&sandbox),
        [
            "GET find-record 429",
            "GET find-record 429",
            "GET find-record 200"
        ]
    );
}

#[tokio::test]
async fn a_read_honours_retry_after() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 1,
        },
        1,
    );
    let started = Instant::now();

    let manager = nethunt.responsible_manager(&id, deadline()).await.unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(manager.map(|m| m.id).as_deref(), Some(OLENA));
    assert_eq!(
        requests(&sandbox),
        ["GET find-record 429", "GET find-record 200"]
    );
}

#[tokio::test]
async fn a_read_rides_out_server_errors() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(Fault::ServerError { status: 502 }, 1);
    sandbox.inject(Fault::ServerError { status: 503 }, 1);

    let found = nethunt
        .find_contact(&phone(NUMBER), deadline())
        .await
        .unwrap();

    assert_eq!(found.map(|c| c.id), Some(id));
    assert_eq!(
        requests(&sandbox),
        [
            "GET find-record 502",
            "GET find-record 503",
            "GET find-record 200"
        ]
    );
}

#[tokio::test]
async fn a_create_hit_by_a_503_is_not_retried_so_nothing_is_duplicated() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(Fault::ServerError { status: 503 }, 1);

    let result = nethunt
        .create_contact(&phone(NUMBER), &olena(), deadline())
        .await;

    // A 503 without Retry-After may come after NetHunt acted: the outcome is unknown
    // (Ambiguous, still worth a later try), and the create is not repeated here.
    assert!(matches!(result, Err(CrmError::Ambiguous(_))), "{result:?}");
    assert!(result.is_err_and(|e| e.is_transient()));
    assert_eq!(requests(&sandbox), ["POST create-record 503"]);
    assert_eq!(sandbox.state().nethunt.contact_count(), 0);
}

#[tokio::test]
async fn a_call_log_hit_by_a_500_is_not_retried() {
    let sandbox = sandbox().await;
    let id = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(Fault::ServerError { status: 500 }, 1);

    let result = nethunt
        .log_call(&answered_call(contact_ref(&id)), deadline())
        .await;

    // Ambiguous, not Transient: a 500 after sending may follow a write (`crm_fences.rs`
    // shows the recheck that follows).
    assert!(matches!(result, Err(CrmError::Ambiguous(_))), "{result:?}");
    assert_eq!(requests(&sandbox), ["POST create-call-log 500"]);
    assert_eq!(sandbox.state().nethunt.call_count(), 0);
}

#[tokio::test]
async fn a_throttled_create_is_retried_because_nethunt_did_not_act_on_it() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        1,
    );

    nethunt
        .create_contact(&phone(NUMBER), &olena(), deadline())
        .await
        .unwrap();

    // The search after it is the duplicate check every create ends with.
    assert_eq!(
        requests(&sandbox),
        [
            "POST create-record 429",
            "POST create-record 200",
            "GET find-record 200"
        ]
    );
    assert_eq!(sandbox.state().nethunt.contact_count(), 1);
}

#[tokio::test]
async fn a_long_throttling_window_ends_at_the_deadline() {
    let sandbox = sandbox().await;
    let nethunt = nethunt_for(&sandbox);
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 30,
        },
        10,
    );
    let started = Instant::now();

    let result = nethunt
        .find_contact(&phone(NUMBER), Deadline::after(Duration::from_millis(300)))
        .await;

    assert!(started.elapsed() < Duration::from_millis(300));
    assert!(
        matches!(
            result,
            Err(CrmError::Throttled {
                retry_after: Some(d)
            }) if d == Duration::from_secs(30)
        ),
        "{result:?}"
    );
    assert_eq!(requests(&sandbox), ["GET find-record 429"]);
}

// --- Configuration -------------------------------------------------------------------------

#[test]
fn invalid_configuration_is_refused_up_front() {
    let valid = || {
        let mut config = NetHuntConfig::new("bridge@acme.ua", "key", "folder");
        config.base_url = "http://127.0.0.1:9/api/v1/zapier".into();
        config
    };
    let refused = |config: NetHuntConfig| {
        matches!(
            bridge_core::adapters::nethunt::NetHunt::new(config, fast_retry_policy()),
            Err(CrmError::Config(_))
        )
    };
    assert!(!refused(valid()));
    assert!(refused(NetHuntConfig {
        api_key: " ".into(),
        ..valid()
    }));
    assert!(refused(NetHuntConfig {
        contacts_folder_id: String::new(),
        ..valid()
    }));
    assert!(refused(NetHuntConfig {
        time_zone: "Europe/Atlantis".into(),
        ..valid()
    }));
    assert!(refused(NetHuntConfig {
        base_url: "nethunt.com/api".into(),
        ..valid()
    }));
    let mut no_phone_field = valid();
    no_phone_field.fields.phone = String::new();
    assert!(refused(no_phone_field));
}

#[tokio::test]
async fn the_card_url_follows_the_configured_template() {
    let sandbox = sandbox().await;
    let mut config = nethunt_config_for(&sandbox);
    config.card_url_template = "https://acme.nethunt.com/#/record/{record_id}".into();
    let nethunt = nethunt_with(config);

    assert_eq!(
        nethunt.contact_card_url("6650a1b2000000000000002a"),
        "https://acme.nethunt.com/#/record/6650a1b2000000000000002a"
    );
    assert!(requests(&sandbox).is_empty());
}

// --- The sandbox's own contract (`docs/vendor-contracts.md`, "NetHunt CRM Integration API") ---

/// A raw request with the sandbox's credentials (or none), → (status, body text).
async fn raw(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    body: Option<Value>,
    authorised: bool,
) -> (u16, String) {
    let client = bridge_core::adapters::http::shared_client().expect("client");
    let url = format!("{}{path}", sandbox.nethunt_base_url());
    let mut request = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PUT" => client.put(url),
        other => panic!("unexpected method {other}"),
    };
    if authorised {
        let credentials = sandbox.credentials();
        request = request.basic_auth(credentials.nethunt_email, Some(credentials.nethunt_api_key));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("sandbox answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn sandbox_lists_folders_and_fields_behind_basic_auth() {
    let sandbox = sandbox().await;

    let (status, readable) = raw(&sandbox, "GET", "/triggers/readable-folder", None, true).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&readable).unwrap(),
        json!([
            {"id": CONTACTS_FOLDER_ID, "name": "Контакти"},
            {"id": DEALS_FOLDER_ID, "name": "Угоди"}
        ])
    );
    let (status, _) = raw(&sandbox, "GET", "/triggers/writable-folder", None, true).await;
    assert_eq!(status, 200);
    let (status, deal_fields) = raw(
        &sandbox,
        "GET",
        &format!("/triggers/folder-field/{DEALS_FOLDER_ID}"),
        None,
        true,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&deal_fields).unwrap(),
        json!([{"name": "Name"}, {"name": "Етап"}, {"name": "Менеджер"}, {"name": "Контакт"}])
    );
    let (status, _) = raw(&sandbox, "GET", "/triggers/folder-field/nope", None, true).await;
    assert_eq!(status, 404);
    let (status, _) = raw(&sandbox, "GET", "/triggers/readable-folder", None, false).await;
    assert_eq!(status, 401);

    assert_eq!(
        requests(&sandbox),
        [
            "GET triggers 200",
            "GET triggers 200",
            "GET folder-field 200",
            "GET folder-field 404",
            "GET triggers 401"
        ]
    );
}

#[tokio::test]
async fn sandbox_validates_writes_like_a_strict_nethunt() {
    let sandbox = sandbox().await;
    let contact = sandbox.state().nethunt.seed_contact(NUMBER, "Іван", OLENA);
    let create = format!("/actions/create-record/{CONTACTS_FOLDER_ID}");

    let (no_time_zone, _) = raw(
        &sandbox,
        "POST",
        &create,
        Some(json!({"fields": {"Телефон": [NUMBER]}})),
        true,
    )
    .await;
    let (no_fields, _) = raw(
        &sandbox,
        "POST",
        &create,
        Some(json!({"timeZone": "Europe/Kyiv"})),
        true,
    )
    .await;
    let (unknown_field, message) = raw(
        &sandbox,
        "POST",
        &create,
        Some(json!({"timeZone": "Europe/Kyiv", "fields": {"Phone": [NUMBER]}})),
        true,
    )
    .await;
    let (put, _) = raw(&sandbox, "PUT", &create, None, true).await;
    let (added, _) = raw(
        &sandbox,
        "POST",
        &format!("/actions/update-record/{contact}"),
        Some(json!({"fieldActions": {
            "Телефон": {"add": "+380671112233"},
            // Single-value field without overwrite: kept as it was.
            "Name": {"add": "Not applied"},
        }})),
        true,
    )
    .await;
    let (removed, _) = raw(
        &sandbox,
        "POST",
        &format!("/actions/update-record/{contact}?overwrite=false"),
        Some(json!({"fieldActions": {"Телефон": {"remove": NUMBER}}})),
        true,
    )
    .await;
    let (missing_record, _) = raw(
        &sandbox,
        "POST",
        "/actions/create-comment/6650a1b2ffffffffffffffff",
        Some(json!({"text": "x"})),
        true,
    )
    .await;

    assert_eq!(
        [
            no_time_zone,
            no_fields,
            unknown_field,
            put,
            added,
            removed,
            missing_record
        ],
        [400, 400, 400, 405, 200, 200, 404]
    );
    assert!(message.contains("Unknown field(s) in folder"), "{message}");
    assert!(message.contains("Phone"), "{message}");
    let state = sandbox.state();
    assert_eq!(
        state.nethunt.field_of(&contact, fields::PHONE),
        Some(json!(["+380671112233"]))
    );
    assert_eq!(
        state.nethunt.field_of(&contact, fields::NAME),
        Some(json!("Іван"))
    );
    assert_eq!(state.nethunt.contact_count(), 1);
    drop(state);
    assert_eq!(sandbox.requests().len(), 7);
}
