//! One behavioural suite for the CRM port, run against both adapters and the CRM sandbox:
//! what a user sees in either CRM after the bridge's operations, and how many requests each
//! operation costs (the minimum the API allows; the Dataverse token request is counted apart).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::Deadline;
use bridge_core::activity::{Language, ResolvedContact, call_activity};
use bridge_core::ports::{Crm, CrmError, NewDeal};
use bridge_core::ringostat::{CallEvent, EventKind, ParseOptions};
use bridge_core::{ContactRef, CrmUser, PhoneNumber};
use bridge_tests::dataverse_env::dataverse_for;
use bridge_tests::nethunt_env::nethunt_for;
use crm_sandbox::{Fault, Sandbox};
use tokio::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    NetHunt,
    Dataverse,
}

/// Minimum CRM requests per operation, as each API allows them.
struct Costs {
    /// Finding a contact whose number is stored in a whole notation (E.164, digits, national).
    find: usize,
    /// Finding out that no contact has the number: every notation is searched (NetHunt: the
    /// E.164 search, then the other notations, NH31; Smart CRM: the last seven digits).
    find_unknown: usize,
    create_contact: usize,
    log_call: usize,
    note: usize,
    deal: usize,
    set_owner: usize,
    set_deal_owner: usize,
    responsible_manager: usize,
}

struct Rig {
    kind: Kind,
    sandbox: Sandbox,
    crm: Box<dyn Crm>,
    system_user: CrmUser,
    manager: CrmUser,
}

impl Rig {
    async fn new(kind: Kind) -> Self {
        let sandbox = Sandbox::start().await.expect("sandbox starts");
        let (crm, system_user, manager): (Box<dyn Crm>, _, _) = match kind {
            Kind::NetHunt => (
                Box::new(nethunt_for(&sandbox)),
                CrmUser {
                    id: "bridge@example.com".into(),
                    name: Some("Ringostat Bridge".into()),
                },
                CrmUser {
                    id: "olena@acme.ua".into(),
                    name: Some("Олена Коваленко".into()),
                },
            ),
            Kind::Dataverse => (
                Box::new(dataverse_for(&sandbox)),
                CrmUser {
                    id: crm_sandbox::dataverse::SYSTEM_USER_ID.into(),
                    name: Some(crm_sandbox::dataverse::SYSTEM_USER_NAME.into()),
                },
                CrmUser {
                    id: crm_sandbox::dataverse::MANAGER_USER_ID.into(),
                    name: Some(crm_sandbox::dataverse::MANAGER_NAME.into()),
                },
            ),
        };
        Self {
            kind,
            sandbox,
            crm,
            system_user,
            manager,
        }
    }

    fn costs(&self) -> Costs {
        match self.kind {
            // NetHunt: one Integration API call per operation, but a contact create is searched
            // again (NetHunt has no fence against a second contact for the number: the oldest
            // is kept).
            Kind::NetHunt => Costs {
                find: 1,
                find_unknown: 2,
                create_contact: 2,
                log_call: 1,
                note: 1,
                deal: 1,
                set_owner: 1,
                set_deal_owner: 1,
                responsible_manager: 1,
            },
            // Dataverse: a phone call is created open and closed by a second request
            // (`statecode` is ignored on create); a number found in no whole notation is
            // searched once more by its last seven digits.
            Kind::Dataverse => Costs {
                find: 1,
                find_unknown: 2,
                create_contact: 1,
                log_call: 2,
                note: 1,
                deal: 1,
                set_owner: 1,
                set_deal_owner: 1,
                responsible_manager: 1,
            },
        }
    }

    /// CRM API requests since the last call, the OAuth token endpoint left out.
    fn take_api_requests(&self) -> usize {
        let count = self
            .sandbox
            .requests()
            .iter()
            .filter(|r| !r.path.contains("/oauth2/"))
            .count();
        self.sandbox.clear_requests();
        count
    }

    fn seed_contact(&self, phone_as_stored: &str, name: &str, owner: &CrmUser) -> String {
        let mut state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.seed_contact(phone_as_stored, name, &owner.id),
            Kind::Dataverse => state
                .dataverse
                .seed_contact(phone_as_stored, name, &owner.id),
        }
    }

    fn contact_count(&self) -> usize {
        let state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.contact_count(),
            Kind::Dataverse => state.dataverse.contact_count(),
        }
    }

    fn calls_of(&self, contact_id: &str) -> Vec<String> {
        let state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.calls_of(contact_id),
            Kind::Dataverse => state.dataverse.calls_of(contact_id),
        }
    }

    fn notes_of(&self, contact_id: &str) -> Vec<String> {
        let state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.notes_of(contact_id),
            Kind::Dataverse => state.dataverse.notes_of(contact_id),
        }
    }

    fn deals_of(&self, contact_id: &str) -> Vec<String> {
        let state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.deals_of(contact_id),
            Kind::Dataverse => state.dataverse.deals_of(contact_id),
        }
    }

    fn owner_of(&self, contact_id: &str) -> Option<String> {
        let state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.owner_of(contact_id),
            Kind::Dataverse => state.dataverse.owner_of(contact_id),
        }
    }

    fn deal_owner_of(&self, deal_id: &str) -> Option<String> {
        let state = self.sandbox.state();
        match self.kind {
            Kind::NetHunt => state.nethunt.deal_owner_of(deal_id),
            Kind::Dataverse => state.dataverse.deal_owner_of(deal_id),
        }
    }

    /// A well-formed id of a record the CRM does not hold.
    fn missing_id(&self) -> &'static str {
        match self.kind {
            Kind::NetHunt => "6650a1b2ffffffffffffffff",
            Kind::Dataverse => "3f0e6c1a-1111-4222-8333-944455556666",
        }
    }
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).expect("valid test number")
}

/// A Ringostat after-call webhook for one of the seed's scenarios.
fn seed_event(incoming: bool, answered: bool, client: &str, call_id: &str) -> CallEvent {
    let caller = if incoming {
        client.to_owned()
    } else {
        "\"Олена Коваленко\" <acmeua_olena>".to_owned()
    };
    let dst = if incoming { "380441112233" } else { client };
    let body = serde_json::json!({
        "uniqueid": call_id,
        "calldate": "2026-03-02 10:15:00",
        "call_type": if incoming { "in" } else { "out" },
        "caller": caller,
        "dst": dst,
        "disposition": if answered { "ANSWERED" } else { "NO ANSWER" },
        "duration": if answered { 95 } else { 20 },
        "waittime": if answered { 12 } else { 20 },
        "billsec": if answered { 83 } else { 0 },
        "recording": if answered {
            format!("https://app.ringostat.com/recordings/{call_id}.mp3?token=t")
        } else {
            String::new()
        },
        "employee_number": "111",
        "employee_fio": "Олена Коваленко",
    });
    let kind = if incoming {
        EventKind::AfterCall
    } else {
        EventKind::AfterOutgoingCall
    };
    CallEvent::from_request(
        kind,
        Some("application/json"),
        body.to_string().as_bytes(),
        None,
        &ParseOptions::default(),
    )
    .expect("seed webhook parses")
}

/// The 8 scenarios of the Smart CRM seed, through the real mapping and each real adapter:
/// find the client (1 request; 2 for a new number), create a phone-only contact
/// owned by the system user when the number is new, log the call on it; then the CRM holds
/// exactly one call on the right contact.
async fn seed_scenarios_land_on_the_right_contact(kind: Kind) {
    let rig = Rig::new(kind).await;
    let costs = rig.costs();
    let existing_id = rig.seed_contact("+380501234567", "Іван Клієнт", &rig.manager);
    let new_numbers = ["0671110003", "0671110004", "0671110007", "0671110008"];
    let scenarios = [
        (1, true, true, "0501234567"),
        (2, true, false, "0501234567"),
        (3, true, true, new_numbers[0]),
        (4, true, false, new_numbers[1]),
        (5, false, true, "0501234567"),
        (6, false, false, "0501234567"),
        (7, false, true, new_numbers[2]),
        (8, false, false, new_numbers[3]),
    ];
    rig.take_api_requests();
    for (number, incoming, answered, client) in scenarios {
        let name = format!("{kind:?} scenario {number}");
        let event = seed_event(incoming, answered, client, &format!("ua0_-17000.{number}"));
        let found = rig
            .crm
            .find_contact(&event.client_phone, deadline())
            .await
            .unwrap_or_else(|e| panic!("{name}: find: {e}"));
        let mut expected_requests = costs.find;
        let contact = match found {
            Some(contact) => {
                assert_eq!(contact.id, existing_id, "{name}: the existing client");
                ResolvedContact::Existing(contact)
            }
            None => {
                expected_requests += costs.find_unknown - costs.find + costs.create_contact;
                let created = rig
                    .crm
                    .create_contact(&event.client_phone, &rig.system_user, deadline())
                    .await
                    .unwrap_or_else(|e| panic!("{name}: create: {e}"));
                assert_eq!(
                    rig.owner_of(&created.id).as_deref(),
                    Some(rig.system_user.id.as_str()),
                    "{name}: the system user owns a new contact"
                );
                ResolvedContact::Created(created)
            }
        };
        assert_eq!(
            contact.is_new(),
            [3, 4, 7, 8].contains(&number),
            "{name}: new client or not"
        );
        let manager = (answered || !incoming).then_some(&rig.manager);
        let activity = call_activity(&event, &contact, manager, &rig.system_user, Language::Uk);
        let logged = rig
            .crm
            .log_call(&activity, deadline())
            .await
            .unwrap_or_else(|e| panic!("{name}: log call: {e}"));
        assert!(!logged.already_existed, "{name}: a first delivery is new");
        expected_requests += costs.log_call;
        assert_eq!(
            rig.take_api_requests(),
            expected_requests,
            "{name}: CRM requests"
        );
        let calls = rig.calls_of(&contact.contact().id);
        assert!(
            calls.iter().any(|c| c.contains(&activity.subject)),
            "{name}: the call is on the contact: {calls:?}"
        );
    }
    assert_eq!(rig.contact_count(), 5, "{kind:?}: one existing + four new");
    assert_eq!(
        rig.calls_of(&existing_id).len(),
        4,
        "{kind:?}: scenarios 1, 2, 5, 6"
    );
}

/// A contact created by the bridge is found again under every notation of its number.
async fn created_contact_is_found_under_every_notation(kind: Kind) {
    let rig = Rig::new(kind).await;
    let costs = rig.costs();
    assert!(
        rig.crm
            .find_contact(&phone("0931234567"), deadline())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(rig.take_api_requests(), costs.find_unknown);
    let created: ContactRef = rig
        .crm
        .create_contact(&phone("+38 (093) 123-45-67"), &rig.system_user, deadline())
        .await
        .unwrap();
    assert_eq!(rig.take_api_requests(), costs.create_contact);
    assert_eq!(
        created.owner_id.as_deref(),
        Some(rig.system_user.id.as_str())
    );
    assert_eq!(
        created.card_url.as_deref(),
        Some(rig.crm.contact_card_url(&created.id).as_str())
    );
    for notation in ["0931234567", "380931234567", "8 093 123 45 67"] {
        let found = rig
            .crm
            .find_contact(&phone(notation), deadline())
            .await
            .unwrap();
        assert_eq!(found.map(|c| c.id), Some(created.id.clone()), "{notation}");
        assert_eq!(rig.take_api_requests(), costs.find, "{notation}");
    }
    assert_eq!(rig.contact_count(), 1);
}

/// Notes (AI summaries), deals for new clients, and the responsible manager.
async fn notes_deals_and_owners(kind: Kind) {
    let rig = Rig::new(kind).await;
    let costs = rig.costs();
    let contact = rig
        .crm
        .create_contact(&phone("0951112233"), &rig.system_user, deadline())
        .await
        .unwrap();
    rig.take_api_requests();

    rig.crm
        .add_note(
            &bridge_core::ports::NewNote {
                contact_id: contact.id.to_string(),
                call_id: "test-call".into(),
                title: "Ringostat AI".to_string(),
                text: "Клієнт хоче знижку".to_string(),
                recheck: false,
            },
            deadline(),
        )
        .await
        .unwrap();
    assert_eq!(rig.take_api_requests(), costs.note);
    let notes = rig.notes_of(&contact.id);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("Клієнт хоче знижку"), "{notes:?}");

    let deal = NewDeal {
        name: "Угода: +380951112233".into(),
        stage: None,
        owner: Some(rig.manager.clone()),
        recheck: false,
    };
    rig.crm
        .create_deal(&contact, &deal, deadline())
        .await
        .unwrap();
    assert_eq!(rig.take_api_requests(), costs.deal);
    assert_eq!(rig.deals_of(&contact.id), vec![deal.name.clone()]);

    assert_eq!(
        rig.crm
            .responsible_manager(&contact.id, deadline())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(rig.system_user.id.clone())
    );
    assert_eq!(rig.take_api_requests(), costs.responsible_manager);
    rig.crm
        .set_contact_owner(&contact.id, &rig.manager, deadline())
        .await
        .unwrap();
    assert_eq!(rig.take_api_requests(), costs.set_owner);
    assert_eq!(
        rig.owner_of(&contact.id).as_deref(),
        Some(rig.manager.id.as_str())
    );
    let responsible = rig
        .crm
        .responsible_manager(&contact.id, deadline())
        .await
        .unwrap();
    assert_eq!(responsible.map(|u| u.id), Some(rig.manager.id.clone()));
}

/// "A new contact and its deal belong to the manager who took the call": both are created at
/// "before call" owned by the system user, and handed to the manager at "after call", one
/// request each.
async fn new_clients_contact_and_deal_pass_to_the_manager(kind: Kind) {
    let rig = Rig::new(kind).await;
    let costs = rig.costs();
    let contact = rig
        .crm
        .create_contact(&phone("0961112233"), &rig.system_user, deadline())
        .await
        .unwrap();
    let deal = NewDeal {
        name: "Угода: +380961112233".into(),
        stage: None,
        owner: Some(rig.system_user.clone()),
        recheck: false,
    };
    let deal = rig
        .crm
        .create_deal(&contact, &deal, deadline())
        .await
        .unwrap();
    assert_eq!(
        rig.deal_owner_of(&deal.id).as_deref(),
        Some(rig.system_user.id.as_str()),
        "the system user holds the deal until the manager is known"
    );
    rig.take_api_requests();

    rig.crm
        .set_contact_owner(&contact.id, &rig.manager, deadline())
        .await
        .unwrap();
    assert_eq!(rig.take_api_requests(), costs.set_owner);
    rig.crm
        .set_deal_owner(&deal.id, &rig.manager, deadline())
        .await
        .unwrap();
    assert_eq!(rig.take_api_requests(), costs.set_deal_owner);

    assert_eq!(
        rig.owner_of(&contact.id).as_deref(),
        Some(rig.manager.id.as_str())
    );
    assert_eq!(
        rig.deal_owner_of(&deal.id).as_deref(),
        Some(rig.manager.id.as_str())
    );
    assert_eq!(rig.deals_of(&contact.id).len(), 1, "no second deal");

    // A deal deleted in the meantime: NotFound, and nothing is created in its place.
    let gone = rig
        .crm
        .set_deal_owner(rig.missing_id(), &rig.manager, deadline())
        .await;
    assert!(matches!(gone, Err(CrmError::NotFound(_))), "{gone:?}");
    assert_eq!(rig.take_api_requests(), costs.set_deal_owner);
    assert_eq!(rig.deal_owner_of(rig.missing_id()), None);
}

/// A throttling window and a 5xx window on reads are ridden out within the deadline.
async fn reads_recover_from_throttling_and_server_errors(kind: Kind) {
    let rig = Rig::new(kind).await;
    let id = rig.seed_contact("+380501234567", "Іван", &rig.manager);
    // Warm the Dataverse token first, so the faults hit the API call itself.
    rig.crm
        .find_contact(&phone("0500000001"), deadline())
        .await
        .unwrap();
    rig.take_api_requests();
    rig.sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 0,
        },
        2,
    );
    let found = rig
        .crm
        .find_contact(&phone("0501234567"), deadline())
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id), Some(id.clone()));
    assert_eq!(rig.take_api_requests(), 3, "two 429s, then the answer");
    rig.sandbox.inject(Fault::ServerError { status: 503 }, 2);
    let found = rig
        .crm
        .find_contact(&phone("0501234567"), deadline())
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.id), Some(id));
    assert_eq!(rig.take_api_requests(), 3, "two 503s, then the answer");
}

macro_rules! for_both_crms {
    ($($test:ident),+ $(,)?) => {
        mod nethunt {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Kind::NetHunt).await;
                }
            )+
        }
        mod dataverse {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Kind::Dataverse).await;
                }
            )+
        }
    };
}

for_both_crms!(
    seed_scenarios_land_on_the_right_contact,
    created_contact_is_found_under_every_notation,
    notes_deals_and_owners,
    new_clients_contact_and_deal_pass_to_the_manager,
    reads_recover_from_throttling_and_server_errors,
);
