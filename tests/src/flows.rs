//! End-to-end flows of the functions on a running [`Rig`], shared by the suites that run them
//! on different workspaces: `functions_e2e.rs` on each CRM's seeded one, `nethunt_workspace.rs`
//! on a NetHunt workspace whose every folder and field has another name. What a flow checks is
//! read through [`Rig::crm`], which knows the workspace's names.

use bridge_core::ports::CrmKind;

use crate::rig::Rig;

/// The SIP login of the manager of the local staff list (`STAFF`).
pub const MANAGER_SIP: &str = "acmeua_olena";

/// One seed scenario as fed from its file, and what the CRM must then hold.
struct Scenario {
    file: &'static str,
    existing: bool,
    /// Start of the subject of the call record.
    subject: &'static str,
    recording: bool,
    /// Owner of a contact created for the call, per CRM: Smart CRM gives it to the system
    /// user; NetHunt to the manager who took or made the call.
    manager_owns_new_contact_in_nethunt: bool,
}

const SCENARIOS: [Scenario; 8] = [
    Scenario {
        file: "after-call-1-answered-existing.json",
        existing: true,
        subject: "Вхідний дзвінок від +380501234567 (прийнятий)",
        recording: true,
        manager_owns_new_contact_in_nethunt: true,
    },
    Scenario {
        file: "after-call-2-missed-existing.json",
        existing: true,
        subject: "Вхідний дзвінок від +380501234567 (пропущений)",
        recording: false,
        manager_owns_new_contact_in_nethunt: false,
    },
    Scenario {
        file: "after-call-3-answered-new.json",
        existing: false,
        subject: "Вхідний дзвінок від +380671110003 (прийнятий)",
        recording: true,
        manager_owns_new_contact_in_nethunt: true,
    },
    Scenario {
        file: "after-call-4-missed-new.json",
        existing: false,
        subject: "Вхідний дзвінок від +380671110004 (пропущений)",
        recording: false,
        manager_owns_new_contact_in_nethunt: false,
    },
    Scenario {
        file: "after-outgoing-call-5-answered-existing.json",
        existing: true,
        subject: "Вихідний дзвінок на +380501234567 (прийнятий)",
        recording: true,
        manager_owns_new_contact_in_nethunt: true,
    },
    Scenario {
        file: "after-outgoing-call-6-missed-existing.json",
        existing: true,
        subject: "Вихідний дзвінок на +380501234567 (пропущений)",
        recording: false,
        manager_owns_new_contact_in_nethunt: true,
    },
    Scenario {
        file: "after-outgoing-call-7-answered-new.json",
        existing: false,
        subject: "Вихідний дзвінок на +380671110007 (прийнятий)",
        recording: true,
        manager_owns_new_contact_in_nethunt: true,
    },
    Scenario {
        file: "after-outgoing-call-8-missed-new.json",
        existing: false,
        subject: "Вихідний дзвінок на +380671110008 (пропущений)",
        recording: false,
        manager_owns_new_contact_in_nethunt: true,
    },
];

pub async fn eight_seed_scenarios(rig: &Rig, existing: &str) {
    for scenario in &SCENARIOS {
        let answer = rig.invoke(scenario.file).await;
        answer.assert_outcome("call_logged");
        let contact = answer.field("contact_id").to_owned();
        let calls = rig.crm().call_texts(&contact);
        let record = calls
            .iter()
            .find(|text| text.starts_with(scenario.subject))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no call record `{}` in {calls:?}",
                    scenario.file, scenario.subject
                )
            });
        let call_id = answer.field("call_id");
        assert!(
            record.contains(call_id),
            "{}: the record names the Ringostat call",
            scenario.file
        );
        assert_eq!(
            record.contains("https://app.ringostat.com/recordings/"),
            scenario.recording,
            "{}: recording link only on answered calls",
            scenario.file
        );
        if scenario.existing {
            assert_eq!(
                contact, existing,
                "{}: attached to the existing contact",
                scenario.file
            );
            assert!(answer.json.get("new_contact").is_none());
            assert_eq!(
                rig.crm().owner_of(existing),
                Some(rig.manager()),
                "owner kept"
            );
        } else {
            assert_ne!(contact, existing);
            assert_eq!(answer.json["new_contact"], true, "{}", scenario.file);
            assert_eq!(
                calls.len(),
                1,
                "{}: one call on the new contact",
                scenario.file
            );
            let owner = match rig.kind {
                CrmKind::NetHunt if scenario.manager_owns_new_contact_in_nethunt => rig.manager(),
                _ => rig.system_user(),
            };
            assert_eq!(
                rig.crm().owner_of(&contact).map(|o| o.to_ascii_lowercase()),
                Some(owner.to_ascii_lowercase()),
                "{}: owner of the new contact",
                scenario.file
            );
            // The local defaults create a deal for every new client, owned like the contact.
            let client = scenario
                .subject
                .split_whitespace()
                .find(|w| w.starts_with('+'));
            let client = client.expect("the subject names the client");
            assert_eq!(
                rig.crm().deals_of(&contact),
                vec![format!("Дзвінок з {client}")]
            );
            assert_eq!(
                rig.crm()
                    .deal_owner_of(answer.field("deal_id"))
                    .map(|o| o.to_ascii_lowercase()),
                Some(owner.to_ascii_lowercase()),
                "{}: owner of the new deal",
                scenario.file
            );
        }
    }
    assert_eq!(
        rig.crm().call_texts(existing).len(),
        4,
        "scenarios 1, 2, 5, 6"
    );
    assert_eq!(
        rig.crm().contact_count(),
        5,
        "the existing client and four new ones"
    );
    assert_eq!(rig.crm().call_count(), 8);
}

/// A new number rings (before call): a phone-only contact and its deal for the system user,
/// the UTM tags, Smart Phone told; the manager who answers then gets contact and deal in
/// NetHunt, while Smart CRM keeps them with the system user.
pub async fn new_client_from_ringing_to_answered(rig: &Rig) {
    let answer = rig.invoke("before-call-new-client.json").await;
    answer.assert_outcome("contact_ready");
    assert_eq!(answer.json["new_contact"], true);
    let contact = answer.field("contact_id").to_owned();
    let deal = answer.field("deal_id").to_owned();
    assert!(
        !deal.is_empty(),
        "a deal for the new client: {:?}",
        answer.json
    );
    let crm = rig.crm();
    assert_eq!(
        crm.owner_of(&contact).map(|o| o.to_ascii_lowercase()),
        Some(rig.system_user().to_ascii_lowercase())
    );
    assert_eq!(
        crm.deals_of(&contact),
        vec!["Дзвінок з +380671110001".to_owned()]
    );
    assert_eq!(crm.utm_source_of(&contact).as_deref(), Some("google"));
    let synced = rig.sandbox.state().ringostat.synced_contacts();
    assert_eq!(synced.len(), 1, "Smart Phone got the contact");
    assert_eq!(synced[0]["externalId"], contact.as_str());
    assert_eq!(synced[0]["contactDirections"][0]["value"], "+380671110001");
    assert!(
        synced[0]["contactLink"]
            .as_str()
            .is_some_and(|l| l.contains(&contact))
    );

    let answer = rig
        .invoke("after-call-answered-after-before-call.json")
        .await;
    answer.assert_outcome("call_logged");
    assert_eq!(
        answer.field("contact_id"),
        contact,
        "the same contact, not a second one"
    );
    assert!(answer.json.get("new_contact").is_none());
    let expected_owner = match rig.kind {
        CrmKind::NetHunt => rig.manager(),
        CrmKind::Dataverse => rig.system_user(),
    }
    .to_ascii_lowercase();
    let crm = rig.crm();
    assert_eq!(
        crm.owner_of(&contact).map(|o| o.to_ascii_lowercase()),
        Some(expected_owner.clone())
    );
    assert_eq!(
        crm.deal_owner_of(&deal).map(|o| o.to_ascii_lowercase()),
        Some(expected_owner)
    );
    assert_eq!(crm.contact_count(), 1);
    assert_eq!(crm.call_texts(&contact).len(), 1);
}

/// A known caller rings: the contact is found (national notation in the payload), its UTM
/// source updated, no deal, and Smart Phone shows the client's name.
pub async fn existing_client_rings(rig: &Rig, existing: &str) {
    let answer = rig.invoke("before-call-existing-client.json").await;
    answer.assert_outcome("contact_ready");
    assert_eq!(answer.field("contact_id"), existing);
    assert!(answer.json.get("deal_id").is_none());
    let crm = rig.crm();
    assert_eq!(crm.contact_count(), 1);
    assert!(crm.deals_of(existing).is_empty());
    assert_eq!(crm.utm_source_of(existing).as_deref(), Some("(direct)"));
    let synced = rig.sandbox.state().ringostat.synced_contacts();
    assert_eq!(synced[0]["fullName"], "Марія Шевченко");
}

/// The webhook number answers the responsible manager's SIP login; the second call comes
/// from the cache without a CRM request; an unknown caller gets an empty answer.
pub async fn smart_forward_routes_to_the_responsible_manager(rig: &Rig) {
    rig.seed_existing_client();
    let answer = rig.invoke("smart-forward-known-client.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json, serde_json::json!({"destination": MANAGER_SIP}));
    assert_eq!(answer.reason.as_deref(), Some("manager"));

    rig.crm().take_crm_requests();
    let answer = rig.invoke("smart-forward-get-query.json").await;
    assert_eq!(answer.json, serde_json::json!({"destination": MANAGER_SIP}));
    assert_eq!(
        rig.crm().take_crm_requests(),
        0,
        "a cache hit makes no CRM request"
    );

    let answer = rig.invoke("smart-forward-unknown-client.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json, serde_json::json!({}));
    assert_eq!(answer.reason.as_deref(), Some("unknown_caller"));
}

/// A crowd of before-calls for one new number: every answer is the same contact, exactly one
/// created it, and the CRM holds one contact with one deal. The contact's id.
pub fn assert_one_new_contact(rig: &Rig, answers: &[crate::rig::Answer]) -> String {
    let contact = answers
        .iter()
        .find(|a| a.json["new_contact"] == true)
        .map(|a| a.field("contact_id").to_owned())
        .expect("one event created the contact");
    for answer in answers {
        answer.assert_outcome("contact_ready");
        assert_eq!(
            answer.field("contact_id"),
            contact,
            "one contact for everybody"
        );
    }
    let created = answers
        .iter()
        .filter(|a| a.json["new_contact"] == true)
        .count();
    assert_eq!(created, 1, "exactly one event created it");
    assert_eq!(rig.crm().contact_count(), 1);
    assert_eq!(rig.crm().deals_of(&contact).len(), 1);
    contact
}
