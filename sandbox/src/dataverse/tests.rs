use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::datetime::{looks_like_datetime, rfc3339_utc};
use super::schema::{Entity, is_custom_column};
use super::*;

#[test]
fn dates_are_printed_in_utc() {
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339_utc(1_714_557_735), "2024-05-01T10:02:15Z");
    assert!(looks_like_datetime("2024-05-01T10:02:15Z"));
    assert!(looks_like_datetime("2024-05-01T10:02:15.123+03:00"));
    assert!(!looks_like_datetime("2024-05-01 10:02"));
}

#[test]
fn custom_columns_have_a_prefix() {
    assert!(is_custom_column("new_utmsource"));
    assert!(is_custom_column("smart_utm_campaign"));
    // The default publisher of an environment has a prefix like `cr1a2`.
    assert!(is_custom_column("cr1a2_mobile"));
    assert!(!is_custom_column("utmsource"));
    assert!(!is_custom_column("_ownerid_value"));
    assert!(!is_custom_column("New_Utm"));
    assert!(
        !is_custom_column("x_mobile"),
        "a prefix has 2 to 8 characters"
    );
    assert!(!is_custom_column("publisher1_mobile"));
    assert!(
        !is_custom_column("1cr_mobile"),
        "a prefix starts with a letter"
    );
    assert!(!is_custom_column("mscrm_mobile"));
}

#[test]
fn seeded_users_and_contacts_are_inspectable() {
    let mut state = DataverseState::default();
    let id = state.seed_contact("+380501234567", "Olha Petrenko", MANAGER_USER_ID);
    assert_eq!(state.contact_count(), 1);
    assert_eq!(state.owner_of(&id).as_deref(), Some(MANAGER_USER_ID));
    let contact = state.contact(&id).expect("stored");
    assert_eq!(contact["fullname"], "Olha Petrenko");
    assert_eq!(contact["lastname"], "Petrenko");
    assert_eq!(contact["telephone1"], "+380501234567");
    assert_eq!(
        contact["_ownerid_value@OData.Community.Display.V1.FormattedValue"],
        MANAGER_NAME
    );
    assert!(html_section(&state).contains("Olha Petrenko"));
}

#[test]
fn an_opportunity_changes_owner_through_a_patch_and_never_upserts() {
    let mut state = DataverseState::default();
    let contact = state.seed_contact("+380501234567", "Olha Petrenko", SYSTEM_USER_ID);
    let mut body = Map::new();
    body.insert("name".into(), json!("New client"));
    body.insert(
        "customerid_contact@odata.bind".into(),
        json!(format!("/contacts({contact})")),
    );
    let deal = state
        .create(Entity::Opportunity, None, &body)
        .expect("created");
    // Created as the caller: the application user.
    assert_eq!(state.deal_owner_of(&deal).as_deref(), Some(SYSTEM_USER_ID));

    let mut if_match = HeaderMap::new();
    if_match.insert(header::IF_MATCH, HeaderValue::from_static("*"));
    let mut owner = Map::new();
    owner.insert(
        "ownerid@odata.bind".into(),
        json!(format!("/systemusers({MANAGER_USER_ID})")),
    );
    state
        .patch(Entity::Opportunity, &deal, &owner, &if_match)
        .expect("updated");
    assert_eq!(state.deal_owner_of(&deal).as_deref(), Some(MANAGER_USER_ID));
    assert_eq!(state.opportunities()[0]["_ownerid_value"], MANAGER_USER_ID);
    assert_eq!(
        state.owner_of(&contact).as_deref(),
        Some(SYSTEM_USER_ID),
        "the contact keeps its own owner"
    );

    let missing = "3f0e6c1a-1111-4222-8333-944455556666";
    let error = state
        .patch(Entity::Opportunity, missing, &owner, &if_match)
        .expect_err("If-Match: * never creates");
    assert_eq!(error.status, StatusCode::NOT_FOUND);
    assert_eq!(state.opportunities().len(), 1);
    assert_eq!(state.deal_owner_of(missing), None);
}

#[test]
fn a_client_supplied_key_creates_once_then_is_a_412_that_changes_nothing() {
    let mut state = DataverseState::default();
    let contact = state.seed_contact("+380501234567", "Olha Petrenko", MANAGER_USER_ID);
    let bind = json!(format!("/contacts({contact})"));
    for (entity, key, id, column) in [
        (
            Entity::Contact,
            "contactid",
            "7c1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b21",
            "lastname",
        ),
        (
            Entity::Annotation,
            "annotationid",
            "8d1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b31",
            "notetext",
        ),
        (
            Entity::Opportunity,
            "opportunityid",
            "9e1d2f0e-6a1c-5d7e-9f00-2a9c3c1e7b41",
            "name",
        ),
    ] {
        let body = |value: &str| {
            let mut body = Map::new();
            body.insert(key.into(), json!(id));
            body.insert(column.into(), json!(value));
            match entity {
                Entity::Annotation => {
                    body.insert("objectid_contact@odata.bind".into(), bind.clone());
                }
                Entity::Opportunity => {
                    body.insert("customerid_contact@odata.bind".into(), bind.clone());
                }
                _ => {}
            }
            body
        };
        let created = state.create(entity, None, &body("first"));
        assert_eq!(created.as_deref().ok(), Some(id), "{key}");
        let rows = state.table(entity).len();
        let version = state.find(entity, id).map(|r| r.version);

        let error = state
            .create(entity, None, &body("second"))
            .expect_err("a duplicate key");

        assert_eq!(error.status, StatusCode::PRECONDITION_FAILED, "{key}");
        let answer = axum::response::IntoResponse::into_response(error);
        assert_eq!(answer.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(state.table(entity).len(), rows, "{key}: no new row");
        let stored = state.find(entity, id).expect("kept");
        assert_eq!(Some(stored.version), version, "{key}: untouched");
        assert_eq!(stored.columns[column], "first", "{key}");
    }
}

/// A phone call as the bridge writes it: subject, description, the call's own start, whole
/// minutes, regarding the contact, owned by `owner`.
fn phonecall_body(contact: &str, owner: &str, description: &str) -> Map<String, Value> {
    let body = json!({
        "subject": "Вихідний дзвінок на +380501234567 (пропущений)",
        "description": description,
        "phonenumber": "+380501234567",
        "directioncode": true,
        "actualstart": "2024-04-05T11:30:00Z",
        "actualdurationminutes": 1,
        "regardingobjectid_contact_phonecall@odata.bind": format!("/contacts({contact})"),
        "ownerid@odata.bind": format!("/systemusers({owner})"),
    });
    match body {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

#[test]
fn a_card_shows_the_calls_own_time_and_people_by_name() {
    let mut state = DataverseState::default();
    let contact = state.seed_contact("+380501234567", "Марія Шевченко", MANAGER_USER_ID);
    state.contacts[0]
        .columns
        .insert("new_utmsource".into(), json!("google"));
    state
        .create(
            Entity::PhoneCall,
            None,
            &phonecall_body(
                &contact,
                MANAGER_USER_ID,
                "Статус: пропущений (NO ANSWER)\nТривалість: 0:25 (розмова 0:00, очікування 0:25)",
            ),
        )
        .expect("created");
    let mut without_text = phonecall_body(&contact, SYSTEM_USER_ID, "");
    without_text.insert("subject".into(), json!("Call"));
    without_text.remove("actualstart");
    state
        .create(Entity::PhoneCall, None, &without_text)
        .expect("created");
    let mut note = Map::new();
    note.insert("subject".into(), json!("AI-аналіз дзвінка"));
    note.insert("notetext".into(), json!("Підсумок: …"));
    note.insert(
        "objectid_contact@odata.bind".into(),
        json!(format!("/contacts({contact})")),
    );
    state
        .create(Entity::Annotation, None, &note)
        .expect("created");

    let cards = cards(&state);
    let card = &cards[0];
    assert_eq!(card.name, "Марія Шевченко");
    assert_eq!(card.phones, ["+380501234567"]);
    assert_eq!(
        card.facts,
        [("Owner".to_owned(), MANAGER_NAME.to_owned())],
        "the systemuser's name, not its GUID"
    );
    assert_eq!(card.tags, ["new_utmsource: google"]);
    let calls = card.calls();
    let (at, call) = calls[0];
    assert_eq!(
        at.map(|t| t.to_string()).as_deref(),
        Some("2024-04-05T11:30:00Z"),
        "actualstart, not createdon"
    );
    assert_eq!(call.incoming, Some(false), "directioncode true is Outgoing");
    assert_eq!(call.answered, Some(false));
    assert_eq!(
        call.duration.as_deref(),
        Some("0:25"),
        "from the description"
    );
    assert_eq!(call.manager, None, "the text names nobody");
    assert_eq!(call.owner.as_deref(), Some(MANAGER_NAME));
    assert_eq!(call.state.as_deref(), Some("Open (Open)"));
    let (created_at, bare) = calls[1];
    assert_eq!(
        created_at.map(|t| t.to_string()),
        Some(state.phonecalls[1].created.clone()),
        "no start: when it was written"
    );
    assert_eq!(
        bare.duration.as_deref(),
        Some("1 min"),
        "whole minutes only"
    );
    assert_eq!(bare.owner.as_deref(), Some(SYSTEM_USER_NAME));
    assert!(card.timeline.iter().any(|entry| matches!(
        &entry.what,
        crate::page::What::Note { title, .. } if title == "AI-аналіз дзвінка"
    )));
    assert_eq!(
        state.user_name(MANAGER_USER_ID).as_deref(),
        Some(MANAGER_NAME)
    );
    assert_eq!(state.user_name("not-a-guid"), None);
}
