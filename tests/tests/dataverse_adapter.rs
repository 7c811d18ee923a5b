//! The Dataverse (Smart CRM) adapter against the CRM sandbox: token handling, the contact
//! lookup quirks (`+` as `%2B`, doubled quotes, other notations), phone calls for every
//! direction and outcome with their parties and final state, idempotent retries, notes,
//! opportunities, owners, UTM columns, errors, throttling and deadlines.
//!
//! Every test starts its own sandbox and asserts the exact CRM requests it caused. The
//! minimum per operation: find = 1 (+1 token request on first use) for a number stored in a
//! whole notation, 2 otherwise (the search by the last seven digits), create contact = 1
//! (under the number's deterministic `contactid`; fences are in `crm_fences.rs`),
//! log call = 2 (POST + PATCH that closes it; 1 when a missed call is left open by the
//! `CallBack`/`Open` policies), note = 1, deal = 1, owner = 1, deal owner = 1, UTM = 1,
//! responsible manager = 1.

use std::time::Duration;

use bridge_core::Deadline;
use bridge_core::adapters::dataverse::{self, Dataverse, MissedCallState};
use bridge_core::ports::{Crm, CrmError, NewDeal};
use bridge_core::ringostat::Utm;
use bridge_core::{CallActivity, CallStatus, ContactRef, CrmUser, Direction, Party, PhoneNumber};
use bridge_tests::dataverse_env::{dataverse_config_for, dataverse_for, dataverse_with};
use crm_sandbox::dataverse::{MANAGER_NAME, MANAGER_USER_ID, SYSTEM_USER_ID, SYSTEM_USER_NAME};
use crm_sandbox::{Fault, Sandbox};
use serde_json::Value;
use tokio::time::Instant;

const CLIENT: &str = "+380501234567";

async fn start() -> Sandbox {
    Sandbox::start().await.expect("sandbox starts")
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).expect("test numbers are valid")
}

fn manager() -> CrmUser {
    CrmUser {
        id: MANAGER_USER_ID.into(),
        name: Some(MANAGER_NAME.into()),
    }
}

fn system_user() -> CrmUser {
    CrmUser {
        id: SYSTEM_USER_ID.into(),
        name: Some(SYSTEM_USER_NAME.into()),
    }
}

/// A contact stored in the sandbox, and the reference the bridge would hold for it.
fn seed_client(sandbox: &Sandbox, stored_phone: &str, name: &str, owner: &str) -> ContactRef {
    let id = sandbox
        .state()
        .dataverse
        .seed_contact(stored_phone, name, owner);
    ContactRef {
        id,
        name: Some(name.into()),
        owner_id: Some(owner.into()),
        card_url: None,
    }
}

/// The call record the mapping builds (`call_activity`), for one direction and outcome.
fn activity(
    call_id: &str,
    direction: Direction,
    status: CallStatus,
    client: &ContactRef,
) -> CallActivity {
    let (from, to) = match direction {
        Direction::Incoming => (Party::Contact(client.clone()), Party::User(manager())),
        Direction::Outgoing => (Party::User(manager()), Party::Contact(client.clone())),
    };
    CallActivity {
        call_id: call_id.into(),
        direction,
        status,
        from,
        to,
        phone_number: phone(CLIENT),
        regarding: client.clone(),
        owner: manager(),
        subject: format!("{direction:?} call {CLIENT} ({status:?})"),
        description: "Status: answered\nDuration: 2:15\nRingostat ID: test".into(),
        started_at: Some("2024-05-01T10:00:00Z".parse().expect("timestamp")),
        ended_at: Some("2024-05-01T10:02:15Z".parse().expect("timestamp")),
        duration_secs: 135,
        talk_secs: 120,
        wait_secs: 15,
        recording_url: None,
        new_contact: false,
        recheck: false,
    }
}

/// `METHOD /path STATUS` of every CRM request, with record ids shown as `(id)` and the
/// token endpoint as `token`.
fn requests(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .map(|r| {
            let path = if r.path.ends_with("/oauth2/v2.0/token") {
                "token".to_owned()
            } else {
                let path = r.path.trim_start_matches("/api/data/v9.2");
                match path.split_once('(') {
                    Some((set, _)) => format!("{set}(id)"),
                    None => path.to_owned(),
                }
            };
            format!("{} {path} {}", r.method, r.status)
        })
        .collect()
}

fn phonecall(sandbox: &Sandbox, id: &str) -> Value {
    sandbox
        .state()
        .dataverse
        .phonecall(id)
        .expect("the phone call exists")
}

fn state_of(call: &Value) -> (i64, i64) {
    (
        call["statecode"].as_i64().unwrap_or(-1),
        call["statuscode"].as_i64().unwrap_or(-1),
    )
}

fn parties(sandbox: &Sandbox, id: &str) -> Vec<(i64, String, String)> {
    sandbox.state().dataverse.phonecall_parties(id)
}

// --- token ------------------------------------------------------------------------------------

#[tokio::test]
async fn one_token_serves_every_operation() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", SYSTEM_USER_ID);
    let crm = dataverse_for(&sandbox);

    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    crm.create_contact(&phone("0671112233"), &system_user(), deadline())
        .await
        .unwrap();
    let call = activity("c-1", Direction::Incoming, CallStatus::Answered, &client);
    crm.log_call(&call, deadline()).await.unwrap();
    crm.add_note(
        &bridge_core::ports::NewNote {
            contact_id: client.id.to_string(),
            call_id: "test-call".into(),
            title: "AI".to_string(),
            text: "Summary".to_string(),
            recheck: false,
        },
        deadline(),
    )
    .await
    .unwrap();
    crm.set_contact_owner(&client.id, &manager(), deadline())
        .await
        .unwrap();
    crm.responsible_manager(&client.id, deadline())
        .await
        .unwrap();

    assert_eq!(sandbox.state().dataverse.token_requests(), 1);
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "GET /contacts 200",
            "POST /contacts 201",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204",
            "POST /annotations 204",
            "PATCH /contacts(id) 204",
            "GET /contacts(id) 200",
        ]
    );
    // Accept, OData-MaxVersion, OData-Version and Content-Type on every request.
    assert_eq!(
        sandbox.state().dataverse.header_problems(),
        &[] as &[String]
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_request_repeated() {
    let sandbox = start().await;
    seed_client(&sandbox, CLIENT, "Olha Petrenko", SYSTEM_USER_ID);
    let crm = dataverse_for(&sandbox);
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    sandbox.state().dataverse.expire_tokens();
    sandbox.clear_requests();

    let found = crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();

    assert!(found.is_some());
    assert_eq!(sandbox.state().dataverse.token_requests(), 2);
    // Minimum after a revocation: the refused request, one token, the repeat.
    assert_eq!(
        requests(&sandbox),
        ["GET /contacts 401", "POST token 200", "GET /contacts 200"]
    );
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires_without_a_401() {
    let sandbox = start().await;
    // A 2-second token is reused for half its life.
    sandbox.state().dataverse.token_lifetime_secs = 2;
    seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();

    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "GET /contacts 200",
            "GET /contacts 200",
            "POST token 200",
            "GET /contacts 200",
        ]
    );
}

#[tokio::test]
async fn a_wrong_secret_is_an_auth_error_that_does_not_repeat_the_secret() {
    let sandbox = start().await;
    let mut config = dataverse_config_for(&sandbox);
    config.client_secret = "not-the-secret".into();
    let crm = dataverse_with(config);

    let error = crm
        .find_contact(&phone(CLIENT), deadline())
        .await
        .unwrap_err();

    match &error {
        CrmError::Auth(message) => {
            assert!(message.contains("invalid_client"), "{message}");
            assert!(message.contains("AADSTS7000215"), "{message}");
            assert!(!message.contains("not-the-secret"), "{message}");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    // No API request without a token; the token request is not retried.
    assert_eq!(requests(&sandbox), ["POST token 400"]);
}

#[tokio::test]
async fn a_wrong_tenant_is_an_auth_error() {
    let sandbox = start().await;
    let mut config = dataverse_config_for(&sandbox);
    config.tenant = "other-tenant".into();
    let crm = dataverse_with(config);

    let error = crm
        .responsible_manager("5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c3", deadline())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, CrmError::Auth(m) if m.contains("AADSTS90002")),
        "{error:?}"
    );
    assert_eq!(requests(&sandbox), ["POST token 400"]);
}

// --- find -------------------------------------------------------------------------------------

#[tokio::test]
async fn find_sends_plus_as_percent_2b_and_returns_the_contact() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);

    let found = crm
        .find_contact(&phone("050 123 45 67"), deadline())
        .await
        .unwrap()
        .expect("found");

    assert_eq!(found.id, client.id);
    assert_eq!(found.name.as_deref(), Some("Olha Petrenko"));
    assert_eq!(found.owner_id.as_deref(), Some(MANAGER_USER_ID));
    assert_eq!(
        found.card_url,
        Some(crm.contact_card_url(&client.id)),
        "the card link comes with the contact"
    );
    assert_eq!(requests(&sandbox), ["POST token 200", "GET /contacts 200"]);
    let query = sandbox.requests()[1].query.clone().unwrap_or_default();
    assert!(query.contains("%2B380501234567"), "{query}");
    assert!(
        !query.contains('+'),
        "a raw + would reach the server as a space: {query}"
    );
    assert!(query.contains("$filter="), "{query}");
}

/// A number in no contact costs both searches; a contact whose number merely ends in the same
/// seven digits (another operator code) is returned by the second and dropped by the re-check.
#[tokio::test]
async fn an_unknown_number_is_none_even_when_another_ends_in_its_digits() {
    let sandbox = start().await;
    seed_client(&sandbox, "+380671112233", "Somebody Else", MANAGER_USER_ID);
    seed_client(
        &sandbox,
        "+38 (067) 123-45-67",
        "Neighbour",
        MANAGER_USER_ID,
    );
    seed_client(&sandbox, "380661234567", "Other Neighbour", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);

    let found = crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();

    assert_eq!(found, None);
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "GET /contacts 200", "GET /contacts 200"]
    );
    let fragments = sandbox.requests()[2].query.clone().unwrap_or_default();
    assert!(
        fragments.contains("contains(telephone1,%27123-45-67%27)"),
        "{fragments}"
    );
}

/// Without the fragment search, a lookup is one request and finds the whole notations only.
#[tokio::test]
async fn the_fragment_search_can_be_turned_off() {
    let sandbox = start().await;
    seed_client(
        &sandbox,
        "+38 (050) 123-45-67",
        "Formatted",
        MANAGER_USER_ID,
    );
    let mut config = dataverse_config_for(&sandbox);
    config.fragment_search = false;
    let crm = dataverse_with(config);

    let found = crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();

    assert_eq!(found, None);
    assert_eq!(requests(&sandbox), ["POST token 200", "GET /contacts 200"]);
}

#[tokio::test]
async fn whole_notations_take_one_request_formatted_ones_two() {
    let sandbox = start().await;
    let digits = seed_client(&sandbox, "380671112233", "Digits Only", MANAGER_USER_ID);
    let national = seed_client(&sandbox, "0931112233", "National", MANAGER_USER_ID);
    let formatted = seed_client(
        &sandbox,
        "+38 (050) 765-43-21",
        "Formatted",
        MANAGER_USER_ID,
    );
    let crm = dataverse_for(&sandbox);

    let by_digits = crm
        .find_contact(&phone("+380671112233"), deadline())
        .await
        .unwrap();
    let by_national = crm
        .find_contact(&phone("+380931112233"), deadline())
        .await
        .unwrap();
    let by_fragment = crm
        .find_contact(&phone("+380507654321"), deadline())
        .await
        .unwrap();

    assert_eq!(by_digits.map(|c| c.id), Some(digits.id));
    assert_eq!(by_national.map(|c| c.id), Some(national.id));
    assert_eq!(by_fragment.map(|c| c.id), Some(formatted.id));
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "GET /contacts 200",
            "GET /contacts 200",
            "GET /contacts 200",
            "GET /contacts 200"
        ]
    );
}

#[tokio::test]
async fn a_number_on_several_contacts_resolves_to_the_oldest() {
    let sandbox = start().await;
    let first = seed_client(&sandbox, CLIENT, "First Contact", MANAGER_USER_ID);
    seed_client(&sandbox, "380501234567", "Later Duplicate", SYSTEM_USER_ID);
    let crm = dataverse_for(&sandbox);

    for _ in 0..3 {
        let found = crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
        assert_eq!(found.map(|c| c.id), Some(first.id.clone()));
    }
    assert_eq!(requests(&sandbox).len(), 4);
}

#[tokio::test]
async fn quotes_in_filter_values_are_doubled() {
    let sandbox = start().await;
    let email = "shane.o'brien@smart-crm.example";
    let user_id = sandbox.state().dataverse.seed_user("Shane O'Brien", email);
    let crm = dataverse_for(&sandbox);

    let user = crm.find_user_by_email(email, deadline()).await.unwrap();
    let nobody = crm
        .find_user_by_email("o'nobody@smart-crm.example", deadline())
        .await
        .unwrap();

    assert_eq!(
        user,
        Some(CrmUser {
            id: user_id,
            name: Some("Shane O'Brien".into())
        })
    );
    assert_eq!(nobody, None);
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "GET /systemusers 200",
            "GET /systemusers 200"
        ]
    );
    let query = sandbox.requests()[1].query.clone().unwrap_or_default();
    assert!(
        query.contains("shane.o%27%27brien%40smart-crm.example"),
        "{query}"
    );
}

// --- contacts -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_contact_has_only_the_number_and_the_system_user_as_owner() {
    let sandbox = start().await;
    let crm = dataverse_for(&sandbox);

    let created = crm
        .create_contact(&phone("0501234567"), &system_user(), deadline())
        .await
        .unwrap();

    assert_eq!(created.name, None);
    assert_eq!(created.owner_id.as_deref(), Some(SYSTEM_USER_ID));
    assert_eq!(created.card_url, Some(crm.contact_card_url(&created.id)));
    // The contactid is the number's, in this deployment's namespace.
    assert_eq!(created.id, crm.contact_id_for(&phone(CLIENT)));
    assert_eq!(requests(&sandbox), ["POST token 200", "POST /contacts 201"]);
    let stored = sandbox
        .state()
        .dataverse
        .contact(&created.id)
        .expect("stored");
    assert_eq!(stored["mobilephone"], CLIENT);
    // lastname is ApplicationRequired in the UI: the number stands in for a name.
    assert_eq!(stored["lastname"], CLIENT);
    assert_eq!(stored["firstname"], Value::Null);
    assert_eq!(stored["telephone1"], Value::Null);
    assert_eq!(stored["_ownerid_value"], SYSTEM_USER_ID);
    assert_eq!(sandbox.state().dataverse.contact_count(), 1);

    // The next lookup finds it, still without a name.
    sandbox.clear_requests();
    let found = crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    assert_eq!(found, Some(created));
    assert_eq!(requests(&sandbox), ["GET /contacts 200"]);
}

#[tokio::test]
async fn a_contact_for_an_unknown_owner_is_refused() {
    let sandbox = start().await;
    let crm = dataverse_for(&sandbox);
    let stranger = CrmUser {
        id: "00000000-0000-4000-8000-00000000dead".into(),
        name: None,
    };

    let error = crm
        .create_contact(&phone(CLIENT), &stranger, deadline())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, CrmError::Rejected { status: 400, message } if message.contains("Does Not Exist")),
        "{error:?}"
    );
    assert_eq!(sandbox.state().dataverse.contact_count(), 0);
    assert_eq!(requests(&sandbox), ["POST token 200", "POST /contacts 400"]);

    // An id that is not a GUID never leaves the adapter.
    sandbox.clear_requests();
    let bad = CrmUser {
        id: "olena".into(),
        name: None,
    };
    let error = crm
        .create_contact(&phone(CLIENT), &bad, deadline())
        .await
        .unwrap_err();
    assert!(matches!(error, CrmError::Config(_)), "{error:?}");
    assert!(requests(&sandbox).is_empty());
}

#[tokio::test]
async fn the_owner_changes_with_one_patch() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", SYSTEM_USER_ID);
    let crm = dataverse_for(&sandbox);

    crm.set_contact_owner(&client.id, &manager(), deadline())
        .await
        .unwrap();

    assert_eq!(
        sandbox.state().dataverse.owner_of(&client.id).as_deref(),
        Some(MANAGER_USER_ID)
    );
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "PATCH /contacts(id) 204"]
    );
}

#[tokio::test]
async fn an_owner_change_never_creates_a_missing_contact() {
    let sandbox = start().await;
    let crm = dataverse_for(&sandbox);

    // If-Match: * keeps PATCH from upserting a contact that does not exist.
    let missing = crm
        .set_contact_owner(
            "3f0e6c1a-1111-4222-8333-944455556666",
            &manager(),
            deadline(),
        )
        .await
        .unwrap_err();
    assert!(matches!(missing, CrmError::NotFound(_)), "{missing:?}");
    assert_eq!(sandbox.state().dataverse.contact_count(), 0);
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "PATCH /contacts(id) 404"]
    );

    sandbox.clear_requests();
    let not_a_guid = crm
        .set_contact_owner("rec-123", &manager(), deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(not_a_guid, CrmError::NotFound(_)),
        "{not_a_guid:?}"
    );
    assert!(requests(&sandbox).is_empty());
}

#[tokio::test]
async fn utm_tags_fill_only_their_columns() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let utm = Utm {
        source: Some("google".into()),
        medium: Some("cpc".into()),
        campaign: Some("spring'24".into()),
        term: None,
        content: Some("x".repeat(150)),
    };

    crm.set_contact_utm(&client.id, &utm, deadline())
        .await
        .unwrap();
    // Nothing to write: no request at all.
    crm.set_contact_utm(&client.id, &Utm::default(), deadline())
        .await
        .unwrap();

    let stored = sandbox
        .state()
        .dataverse
        .contact(&client.id)
        .expect("stored");
    assert_eq!(stored["new_utmsource"], "google");
    assert_eq!(stored["new_utmmedium"], "cpc");
    assert_eq!(stored["new_utmcampaign"], "spring'24");
    assert_eq!(stored["new_utmterm"], Value::Null);
    assert_eq!(
        stored["new_utmcontent"].as_str().map(|s| s.chars().count()),
        Some(100)
    );
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "PATCH /contacts(id) 204"]
    );
}

#[tokio::test]
async fn a_utm_column_the_tenant_does_not_have_is_a_configuration_error() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let mut config = dataverse_config_for(&sandbox);
    config.utm_columns.source = Some("utmsource".into());
    let crm = dataverse_with(config);
    let utm = Utm {
        source: Some("google".into()),
        ..Utm::default()
    };

    let error = crm
        .set_contact_utm(&client.id, &utm, deadline())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, CrmError::Config(m) if m.contains("utmsource")),
        "{error:?}"
    );
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "PATCH /contacts(id) 400"]
    );
}

#[tokio::test]
async fn the_responsible_manager_comes_with_the_name_in_one_request() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);

    let owner = crm
        .responsible_manager(&client.id, deadline())
        .await
        .unwrap();

    assert_eq!(owner, Some(manager()));
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "GET /contacts(id) 200"]
    );

    sandbox.clear_requests();
    let missing = crm
        .responsible_manager("3f0e6c1a-1111-4222-8333-944455556666", deadline())
        .await
        .unwrap_err();
    assert!(matches!(missing, CrmError::NotFound(_)), "{missing:?}");
    assert_eq!(requests(&sandbox), ["GET /contacts(id) 404"]);
}

// --- phone calls --------------------------------------------------------------------------------

#[tokio::test]
async fn an_answered_incoming_call_is_received_from_the_client_to_the_manager() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let call = activity("in-1", Direction::Incoming, CallStatus::Answered, &client);

    let logged = crm.log_call(&call, deadline()).await.unwrap();

    let id = dataverse::activity_id("in-1").hyphenated().to_string();
    assert_eq!(logged.id.as_deref(), Some(id.as_str()));
    assert!(!logged.already_existed);
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
    let stored = phonecall(&sandbox, &id);
    assert_eq!(stored["directioncode"], false);
    assert_eq!(state_of(&stored), (1, 4), "Completed / Received");
    assert_eq!(stored["phonenumber"], CLIENT);
    assert_eq!(stored["_regardingobjectid_value"], client.id.as_str());
    assert_eq!(stored["_ownerid_value"], MANAGER_USER_ID);
    assert_eq!(stored["actualdurationminutes"], 3, "135 s rounds up");
    assert_eq!(stored["actualstart"], "2024-05-01T10:00:00Z");
    assert_eq!(stored["actualend"], "2024-05-01T10:02:15Z");
    assert_eq!(stored["subject"], call.subject.as_str());
    assert_eq!(stored["description"], call.description.as_str());
    assert_eq!(
        parties(&sandbox, &id),
        [
            (1, "contact".into(), client.id.clone()),
            (2, "systemuser".into(), MANAGER_USER_ID.into()),
        ]
    );
    assert_eq!(
        sandbox.state().dataverse.calls_of(&client.id),
        [call.subject.as_str()]
    );
}

#[tokio::test]
async fn an_answered_outgoing_call_is_made_from_the_manager_to_the_client() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let call = activity("out-1", Direction::Outgoing, CallStatus::Answered, &client);

    let logged = crm.log_call(&call, deadline()).await.unwrap();

    let id = logged.id.expect("id");
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
    let stored = phonecall(&sandbox, &id);
    assert_eq!(stored["directioncode"], true);
    assert_eq!(state_of(&stored), (1, 2), "Completed / Made");
    assert_eq!(stored["_regardingobjectid_value"], client.id.as_str());
    assert_eq!(
        parties(&sandbox, &id),
        [
            (1, "systemuser".into(), MANAGER_USER_ID.into()),
            (2, "contact".into(), client.id.clone()),
        ]
    );
}

#[tokio::test]
async fn a_missed_incoming_call_is_canceled_by_default() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let call = activity(
        "in-missed",
        Direction::Incoming,
        CallStatus::Missed,
        &client,
    );

    let logged = crm.log_call(&call, deadline()).await.unwrap();

    let id = logged.id.expect("id");
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
    let stored = phonecall(&sandbox, &id);
    assert_eq!(state_of(&stored), (2, 3), "Canceled");
    assert_eq!(stored["directioncode"], false);
    assert_eq!(stored["prioritycode"], Value::Null);
    assert_eq!(
        parties(&sandbox, &id),
        [
            (1, "contact".into(), client.id.clone()),
            (2, "systemuser".into(), MANAGER_USER_ID.into()),
        ]
    );
    assert_eq!(
        sandbox.state().dataverse.calls_of(&client.id),
        [call.subject.as_str()]
    );
}

#[tokio::test]
async fn a_missed_outgoing_call_is_canceled() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let call = activity(
        "out-missed",
        Direction::Outgoing,
        CallStatus::Missed,
        &client,
    );

    let logged = crm.log_call(&call, deadline()).await.unwrap();

    let id = logged.id.expect("id");
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
    let stored = phonecall(&sandbox, &id);
    assert_eq!(state_of(&stored), (2, 3), "Canceled");
    assert_eq!(stored["directioncode"], true);
    assert_eq!(
        parties(&sandbox, &id),
        [
            (1, "systemuser".into(), MANAGER_USER_ID.into()),
            (2, "contact".into(), client.id.clone()),
        ]
    );
}

fn call_back_adapter(sandbox: &Sandbox) -> Dataverse {
    let mut config = dataverse_config_for(sandbox);
    config.missed_call_state = MissedCallState::CallBack;
    dataverse_with(config)
}

#[tokio::test]
async fn with_the_call_back_policy_a_missed_incoming_call_stays_open_as_a_to_do() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = call_back_adapter(&sandbox);
    let incoming = activity("in-todo", Direction::Incoming, CallStatus::Missed, &client);
    let outgoing = activity(
        "out-attempt",
        Direction::Outgoing,
        CallStatus::Missed,
        &client,
    );

    let todo = crm.log_call(&incoming, deadline()).await.unwrap();
    let attempt = crm.log_call(&outgoing, deadline()).await.unwrap();

    // The to-do needs no closing request; the outgoing attempt is canceled.
    assert_eq!(
        requests(&sandbox),
        [
            "POST token 200",
            "POST /phonecalls 204",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
    let todo = phonecall(&sandbox, &todo.id.expect("id"));
    assert_eq!(state_of(&todo), (0, 1), "Open");
    assert_eq!(todo["prioritycode"], 2, "High");
    assert_eq!(todo["scheduledend"], "2024-05-01T10:02:15Z", "due");
    let attempt = phonecall(&sandbox, &attempt.id.expect("id"));
    assert_eq!(state_of(&attempt), (2, 3));
}

#[tokio::test]
async fn with_the_open_policy_every_missed_call_stays_open() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let mut config = dataverse_config_for(&sandbox);
    config.missed_call_state = MissedCallState::Open;
    let crm = dataverse_with(config);
    let outgoing = activity("out-open", Direction::Outgoing, CallStatus::Missed, &client);

    let logged = crm.log_call(&outgoing, deadline()).await.unwrap();

    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "POST /phonecalls 204"]
    );
    assert_eq!(
        state_of(&phonecall(&sandbox, &logged.id.expect("id"))),
        (0, 1)
    );
}

#[tokio::test]
async fn a_retried_delivery_writes_nothing_new() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let call = activity("again", Direction::Incoming, CallStatus::Answered, &client);
    let first = crm.log_call(&call, deadline()).await.unwrap();
    sandbox.clear_requests();

    let second = crm.log_call(&call, deadline()).await.unwrap();

    assert_eq!(second.id, first.id);
    assert!(second.already_existed);
    assert_eq!(sandbox.state().dataverse.call_count(), 1);
    // 412 on the fixed activityid, then a look: already closed, nothing to do.
    assert_eq!(
        requests(&sandbox),
        ["POST /phonecalls 412", "GET /phonecalls(id) 200"]
    );
    let stored = phonecall(&sandbox, &first.id.expect("id"));
    assert_eq!(state_of(&stored), (1, 4));
}

#[tokio::test]
async fn a_retry_closes_a_call_the_first_delivery_left_open() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let call = activity("half", Direction::Outgoing, CallStatus::Answered, &client);
    let first = crm.log_call(&call, deadline()).await.unwrap();
    let id = first.id.expect("id");
    // As if the first delivery had died between the POST and the PATCH.
    assert!(sandbox.state().dataverse.reopen_phonecall(&id));
    sandbox.clear_requests();

    let second = crm.log_call(&call, deadline()).await.unwrap();

    assert!(second.already_existed);
    assert_eq!(sandbox.state().dataverse.call_count(), 1);
    assert_eq!(state_of(&phonecall(&sandbox, &id)), (1, 2));
    assert_eq!(
        requests(&sandbox),
        [
            "POST /phonecalls 412",
            "GET /phonecalls(id) 200",
            "PATCH /phonecalls(id) 204"
        ]
    );
}

#[tokio::test]
async fn a_retried_missed_call_to_do_is_left_as_it_is() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = call_back_adapter(&sandbox);
    let call = activity("todo", Direction::Incoming, CallStatus::Missed, &client);
    crm.log_call(&call, deadline()).await.unwrap();
    sandbox.clear_requests();

    let second = crm.log_call(&call, deadline()).await.unwrap();

    assert!(second.already_existed);
    assert_eq!(sandbox.state().dataverse.call_count(), 1);
    assert_eq!(requests(&sandbox), ["POST /phonecalls 412"]);
}

// --- notes and deals ----------------------------------------------------------------------------

#[tokio::test]
async fn a_note_is_an_annotation_on_the_contact() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);

    crm.add_note(
        &bridge_core::ports::NewNote {
            contact_id: client.id.to_string(),
            call_id: "test-call".into(),
            title: "Ringostat AI".to_string(),
            text: "The client wants a quote for 3 rooms.".to_string(),
            recheck: false,
        },
        deadline(),
    )
    .await
    .unwrap();

    assert_eq!(
        sandbox.state().dataverse.notes_of(&client.id),
        ["The client wants a quote for 3 rooms."]
    );
    let notes = sandbox.state().dataverse.notes();
    assert_eq!(notes[0]["subject"], "Ringostat AI");
    assert_eq!(notes[0]["_objectid_value"], client.id.as_str());
    // The note's id comes from the call id: a repeat is refused instead of doubled.
    assert_eq!(
        notes[0]["annotationid"],
        crm.note_id_for("test-call").as_str()
    );
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "POST /annotations 204"]
    );
}

#[tokio::test]
async fn a_deal_is_an_opportunity_of_the_contact() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", SYSTEM_USER_ID);
    let crm = dataverse_for(&sandbox);
    let deal = NewDeal {
        name: "Call from +380501234567".into(),
        stage: Some("Qualify".into()),
        owner: Some(manager()),
        recheck: false,
    };

    let created = crm.create_deal(&client, &deal, deadline()).await.unwrap();

    assert_eq!(
        sandbox.state().dataverse.deals_of(&client.id),
        ["Call from +380501234567"]
    );
    let stored = sandbox.state().dataverse.opportunities()[0].clone();
    assert_eq!(stored["opportunityid"], created.id.as_str());
    // The deal's id comes from the contact's: one bridge deal per contact.
    assert_eq!(Some(created.id.clone()), crm.deal_id_for(&client.id));
    assert_eq!(stored["_customerid_value"], client.id.as_str());
    assert_eq!(stored["_ownerid_value"], MANAGER_USER_ID);
    assert_eq!(stored["stepname"], "Qualify");
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "POST /opportunities 201"]
    );
}

#[tokio::test]
async fn a_deal_without_an_owner_goes_to_the_contact_owner() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    let deal = NewDeal {
        name: "New client".into(),
        stage: None,
        owner: None,
        recheck: false,
    };

    crm.create_deal(&client, &deal, deadline()).await.unwrap();

    let stored = sandbox.state().dataverse.opportunities()[0].clone();
    assert_eq!(stored["_ownerid_value"], MANAGER_USER_ID);
    assert_eq!(stored["stepname"], Value::Null);
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "POST /opportunities 201"]
    );
}

#[tokio::test]
async fn a_deal_passes_to_the_manager_with_one_patch() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", SYSTEM_USER_ID);
    let crm = dataverse_for(&sandbox);
    // As at "before call": the deal of a new client belongs to the application user.
    let deal = NewDeal {
        name: "New client".into(),
        stage: None,
        owner: Some(system_user()),
        recheck: false,
    };
    let created = crm.create_deal(&client, &deal, deadline()).await.unwrap();
    assert_eq!(
        sandbox
            .state()
            .dataverse
            .deal_owner_of(&created.id)
            .as_deref(),
        Some(SYSTEM_USER_ID)
    );
    sandbox.clear_requests();

    crm.set_deal_owner(&created.id, &manager(), deadline())
        .await
        .unwrap();

    assert_eq!(requests(&sandbox), ["PATCH /opportunities(id) 204"]);
    assert_eq!(
        sandbox.requests()[0].path,
        format!("/api/data/v9.2/opportunities({})", created.id)
    );
    let state = sandbox.state();
    assert_eq!(
        state.dataverse.deal_owner_of(&created.id).as_deref(),
        Some(MANAGER_USER_ID)
    );
    let stored = state.dataverse.opportunities()[0].clone();
    assert_eq!(stored["_ownerid_value"], MANAGER_USER_ID);
    assert_eq!(
        stored["_ownerid_value@OData.Community.Display.V1.FormattedValue"],
        MANAGER_NAME
    );
    assert_eq!(stored["name"], "New client", "nothing else is touched");
    assert_eq!(stored["_customerid_value"], client.id.as_str());
    assert_eq!(
        state.dataverse.owner_of(&client.id).as_deref(),
        Some(SYSTEM_USER_ID),
        "the contact's owner is a separate write"
    );
}

#[tokio::test]
async fn a_deal_owner_change_never_creates_a_missing_opportunity() {
    let sandbox = start().await;
    let crm = dataverse_for(&sandbox);

    // If-Match: * keeps PATCH from upserting an opportunity that does not exist.
    let missing = crm
        .set_deal_owner(
            "3f0e6c1a-1111-4222-8333-944455556666",
            &manager(),
            deadline(),
        )
        .await
        .unwrap_err();
    assert!(matches!(missing, CrmError::NotFound(_)), "{missing:?}");
    assert!(sandbox.state().dataverse.opportunities().is_empty());
    assert_eq!(
        requests(&sandbox),
        ["POST token 200", "PATCH /opportunities(id) 404"]
    );

    sandbox.clear_requests();
    let not_a_guid = crm
        .set_deal_owner("deal-123", &manager(), deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(not_a_guid, CrmError::NotFound(_)),
        "{not_a_guid:?}"
    );
    let not_a_user = crm
        .set_deal_owner(
            "3f0e6c1a-1111-4222-8333-944455556666",
            &CrmUser {
                id: "olena@acme.ua".into(),
                name: None,
            },
            deadline(),
        )
        .await
        .unwrap_err();
    assert!(matches!(not_a_user, CrmError::Config(_)), "{not_a_user:?}");
    assert!(requests(&sandbox).is_empty());
}

// --- throttling, outages, deadlines ---------------------------------------------------------------

#[tokio::test]
async fn throttling_is_waited_out_without_a_duplicate() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    // A token first, so the faults land on the API.
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    sandbox.clear_requests();
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 1,
        },
        2,
    );
    let call = activity("busy", Direction::Incoming, CallStatus::Answered, &client);
    let started = Instant::now();

    let logged = crm.log_call(&call, deadline()).await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    assert!(!logged.already_existed);
    assert_eq!(sandbox.state().dataverse.call_count(), 1);
    assert_eq!(
        requests(&sandbox),
        [
            "POST /phonecalls 429",
            "POST /phonecalls 429",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
}

#[tokio::test]
async fn a_5xx_window_on_the_idempotent_call_create_is_retried_without_a_duplicate() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    let crm = dataverse_for(&sandbox);
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    sandbox.clear_requests();
    sandbox.inject(Fault::ServerError { status: 503 }, 1);
    sandbox.inject(Fault::ServerError { status: 500 }, 1);
    let call = activity("outage", Direction::Outgoing, CallStatus::Answered, &client);

    let logged = crm.log_call(&call, deadline()).await.unwrap();

    assert!(!logged.already_existed);
    assert_eq!(sandbox.state().dataverse.call_count(), 1);
    assert_eq!(
        requests(&sandbox),
        [
            "POST /phonecalls 503",
            "POST /phonecalls 500",
            "POST /phonecalls 204",
            "PATCH /phonecalls(id) 204"
        ]
    );
}

#[tokio::test]
async fn a_5xx_on_a_contact_create_is_repeated_without_a_duplicate() {
    let sandbox = start().await;
    let crm = dataverse_for(&sandbox);
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    sandbox.clear_requests();
    sandbox.inject(Fault::ServerError { status: 502 }, 1);

    let created = crm
        .create_contact(&phone(CLIENT), &system_user(), deadline())
        .await
        .unwrap();

    // Changed with the deterministic contactid: the POST is now safe to repeat (a second one
    // would be a 412), so a 502 is retried like a read instead of being handed back.
    assert_eq!(created.id, crm.contact_id_for(&phone(CLIENT)));
    assert_eq!(sandbox.state().dataverse.contact_count(), 1);
    assert_eq!(
        requests(&sandbox),
        ["POST /contacts 502", "POST /contacts 201"]
    );
}

#[tokio::test]
async fn the_deadline_stops_retries() {
    let sandbox = start().await;
    let crm = dataverse_for(&sandbox);
    crm.find_contact(&phone(CLIENT), deadline()).await.unwrap();
    sandbox.clear_requests();
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 5,
        },
        3,
    );
    let started = Instant::now();

    let error = crm
        .find_contact(&phone(CLIENT), Deadline::after(Duration::from_millis(500)))
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            error,
            CrmError::Throttled {
                retry_after: Some(d)
            } if d == Duration::from_secs(5)
        ),
        "{error:?}"
    );
    // Waiting 5 s would overrun the deadline: one attempt, no more.
    assert_eq!(requests(&sandbox), ["GET /contacts 429"]);
}

#[test]
fn card_links_point_at_the_contact_form() {
    let crm = Dataverse::new(
        bridge_core::adapters::dataverse::DataverseConfig::new(
            "https://org.crm4.dynamics.com",
            "tenant",
            "client",
            "secret",
        ),
        bridge_tests::dataverse_env::dataverse_retry_policy(),
    )
    .expect("valid");
    assert_eq!(
        crm.contact_card_url("3f0e6c1a-1111-4222-8333-944455556666"),
        "https://org.crm4.dynamics.com/main.aspx?etn=contact&id=3f0e6c1a-1111-4222-8333-944455556666&pagetype=entityrecord"
    );
}

// --- a contact deleted since it was found -------------------------------------------------------

/// Dataverse refuses a phone call, note or deal bound to a deleted contact with 400 "Does Not
/// Exist": the adapter says NotFound, which makes the caller find or create the client again.
/// A missing user stays a refusal.
#[tokio::test]
async fn a_call_note_or_deal_on_a_deleted_contact_is_not_found() {
    let sandbox = start().await;
    let client = seed_client(&sandbox, CLIENT, "Olha Petrenko", MANAGER_USER_ID);
    assert!(sandbox.state().dataverse.delete_contact(&client.id));
    let crm = dataverse_for(&sandbox);

    let call = crm
        .log_call(
            &activity(
                "ua0_-1.1",
                Direction::Incoming,
                CallStatus::Answered,
                &client,
            ),
            deadline(),
        )
        .await;
    let note = crm
        .add_note(
            &bridge_core::ports::NewNote {
                contact_id: client.id.clone(),
                call_id: "ua0_-1.1".into(),
                title: "AI".into(),
                text: "Summary".into(),
                recheck: false,
            },
            deadline(),
        )
        .await;
    let deal = crm
        .create_deal(
            &client,
            &NewDeal {
                name: "Дзвінок з +380501234567".into(),
                stage: None,
                owner: None,
                recheck: false,
            },
            deadline(),
        )
        .await;

    for (what, result) in [
        ("call", call.map(|_| ())),
        ("note", note),
        ("deal", deal.map(|_| ())),
    ] {
        assert!(
            matches!(&result, Err(CrmError::NotFound(m)) if m.contains("Does Not Exist")),
            "{what}: {result:?}"
        );
    }
    assert_eq!(sandbox.state().dataverse.call_count(), 0);

    // The contact is there, the owner is not: a refusal, not a missing client.
    let alive = seed_client(&sandbox, "+380671112233", "Somebody", MANAGER_USER_ID);
    let mut by_stranger = activity(
        "ua0_-1.2",
        Direction::Incoming,
        CallStatus::Answered,
        &alive,
    );
    by_stranger.owner = CrmUser {
        id: "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2ff".into(),
        name: None,
    };
    let refused = crm.log_call(&by_stranger, deadline()).await;
    assert!(
        matches!(&refused, Err(CrmError::Rejected { status: 400, .. })),
        "{refused:?}"
    );
}
