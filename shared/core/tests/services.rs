//! The services on the in-memory fakes: no sandbox, no DynamoDB, no network.
//!
//! Every call webhook goes the way production wires it (`bootstrap::delivery` over
//! `MemoryCrm`, `MemoryCache` and `MemoryLedger`), from a Ringostat JSON body through the real
//! parser; smart forwarding is `bootstrap::smart_forwarding`; click-to-call and reconciliation
//! run over a recording dialer and a canned call log defined here. Each test checks what a user
//! would see in the CRM (contacts, calls, notes, deals, owners) and what Ringostat is answered.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bridge_core::adapters::MemoryRateLimiter;
use bridge_core::adapters::memory::crm::Operation;
use bridge_core::adapters::{MemoryCache, MemoryCrm, MemoryLedger};
use bridge_core::bootstrap::{self, Adapters};
use bridge_core::clock::ManualClock;
use bridge_core::ports::{
    Cache, CallRow, CallWindow, Crm, CrmError, CrmKind, DealRef, Dialer, Ledger, LoggedCall,
    ManagerRoute, NewDeal, RingostatApiError, RingostatCallLog,
};
use bridge_core::ringostat::{CallEvent, EventKind, ParseOptions, Utm};
use bridge_core::secret::Secret;
use bridge_core::services::click_to_call::Purpose;
use bridge_core::services::{
    CallLimits, Calling, ClickToCall, ClickToCallError, Delivery, DeliveryResult,
    DestinationPolicy, ForwardReason, LimitScope, LinkKey, RawEvent, ReconcileError,
    ReconcileReport, Reconciler, ReplayReport, Signed,
};
use bridge_core::settings::{
    DealSettings, EventFilter, ForwardFormat, ForwardSettings, NewContactOwner, Settings,
};
use bridge_core::staff::Staff;
use bridge_core::{CallActivity, CallStatus, ContactRef, CrmUser, Deadline, Language, PhoneNumber};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The cast
// ---------------------------------------------------------------------------------------------

const SYSTEM_USER: &str = "bridge@acme.ua";
const OLENA: &str = "olena@acme.ua";
const IVAN: &str = "ivan@acme.ua";
const PETRO: &str = "petro@acme.ua";
/// The existing client (seeded in the CRM where a test says so).
const CLIENT: &str = "380501234567";
/// A number no contact has.
const NEW_CLIENT: &str = "380671110003";

/// Olena (employee 111, SIP login, her own click-to-call extension), Ivan (222, rung on his
/// mobile), Petro (333, no route, no extension).
const STAFF: &str = r#"[
    {"crm_user_id": "olena@acme.ua", "name": "Олена Коваленко", "ringostat_employee_id": 111,
     "email": "olena@acme.ua", "sip_login": "acmeua_olena", "extension": "+380441112233"},
    {"crm_user_id": "ivan@acme.ua", "name": "Іван", "ringostat_employee_id": 222,
     "email": "ivan@acme.ua", "forward_to": "+380671112233"},
    {"crm_user_id": "petro@acme.ua", "ringostat_employee_id": 333}
]"#;

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).unwrap()
}

fn deadline() -> Deadline {
    Deadline::after(Duration::from_secs(10))
}

/// Long enough for replay and reconciliation, which stop when less than 10 s are left.
fn long_deadline() -> Deadline {
    Deadline::after(Duration::from_secs(120))
}

fn settings() -> Settings {
    Settings {
        crm: CrmKind::NetHunt,
        system_user: CrmUser {
            id: SYSTEM_USER.into(),
            name: Some("Ringostat Bridge".into()),
        },
        staff: Staff::from_json(STAFF).unwrap(),
        new_contact_owner: NewContactOwner::SystemUser,
        deals: None,
        write_utm: true,
        language: Language::Uk,
        parse: ParseOptions::default(),
        filters: HashMap::new(),
        contact_ttl: Duration::from_secs(3600),
        forward: ForwardSettings {
            format: ForwardFormat::Raw,
            fallback: None,
            budget: Duration::from_secs(2),
        },
        smart_phone_sync: false,
        webhook_budget: Duration::from_secs(10),
        click_to_call_extension: None,
        reconcile_window: Duration::from_secs(3600),
        reconcile_lag: Duration::from_secs(600),
    }
}

/// The NetHunt seed's rule: new contacts and their deals go to the manager who took the call.
fn answering_manager_settings() -> Settings {
    Settings {
        new_contact_owner: NewContactOwner::AnsweringManager,
        deals: Some(DealSettings {
            name_template: "Угода: {phone}".into(),
            stage: Some("Новий".into()),
        }),
        ..settings()
    }
}

// ---------------------------------------------------------------------------------------------
// Ringostat's webhooks (the `events/` bodies, one call id per test)
// ---------------------------------------------------------------------------------------------

/// "Після дзвінка": an incoming call, answered by Olena (employee 111) or missed.
fn after_call(call_id: &str, client: &str, answered: bool) -> Value {
    if answered {
        json!({
            "uniqueid": call_id, "calldate": "2024-04-05 14:30:00", "call_type": "in",
            "caller": client, "dst": "380441112233", "disposition": "ANSWERED",
            "duration": 95, "billsec": 83, "waittime": "12", "employee_number": 111,
            "employee_fio": "Олена Коваленко", "connected_with": "acmeua_olena",
            "has_recording": "1",
            "recording": format!("https://app.ringostat.com/recordings/{call_id}.mp3?token=rec-token"),
            "pool_name": "Google Ads",
        })
    } else {
        json!({
            "uniqueid": call_id, "calldate": "2024-04-05 14:30:00", "call_type": "in",
            "caller": client, "dst": "380441112233", "disposition": "NO ANSWER",
            "duration": 36, "billsec": 0, "waittime": "36", "employee_number": -1,
            "connected_with": "", "has_recording": "0", "pool_name": "Google Ads",
        })
    }
}

/// "Після вихідного дзвінка": Olena called the client, who answered.
fn after_outgoing_call(call_id: &str, client: &str) -> Value {
    json!({
        "uniqueid": call_id, "calldate": "2024-04-05 14:30:00", "call_type": "out",
        "caller": "\"Олена Коваленко\" <acmeua_olena>", "dst": client,
        "disposition": "ANSWERED", "duration": 95, "billsec": 83, "waittime": "12",
        "employee_number": 111, "employee_fio": "Олена Коваленко",
    })
}

/// "Перед дзвінком": the client is ringing, from a Google Ads visit.
fn before_call(call_id: &str, client: &str) -> Value {
    json!({
        "uniqueid": call_id, "calldate": "2024-04-05 14:30:00", "call_type": "in",
        "caller": client, "dst": "380441112233", "pool_name": "Google Ads",
        "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand",
        "utm_term": "вікна київ", "utm_content": "ad-1",
    })
}

/// "Call processed by AI": `summary` empty means an analysis with nothing in it.
fn call_analysis(call_id: &str, client: &str, summary: &str) -> Value {
    let filled = !summary.is_empty();
    let or_empty = |text: &str| {
        if filled {
            text.to_owned()
        } else {
            String::new()
        }
    };
    json!({
        "uniqueid": call_id, "calldate": "2024-04-05 14:30:00", "call_type": "in",
        "caller": client, "dst": "380441112233", "disposition": "ANSWERED",
        "duration": 95, "billsec": 83, "waittime": "12",
        "summary": summary,
        "client_mood": or_empty("позитивний"),
        "employee_mood": or_empty("доброзичливий"),
        "overall_mood": "",
        "recommendations": or_empty("Надіслати комерційну пропозицію до п'ятниці"),
        "vtt_url": "",
    })
}

fn raw(body: &Value) -> RawEvent {
    RawEvent {
        content_type: Some("application/json".into()),
        body: body.to_string().into_bytes(),
        query: None,
    }
}

fn parse(kind: EventKind, body: &Value) -> CallEvent {
    CallEvent::from_request(
        kind,
        Some("application/json"),
        body.to_string().as_bytes(),
        None,
        &ParseOptions::default(),
    )
    .unwrap()
}

/// The outcome the webhook answered, as JSON; panics unless the handler ran now.
fn done(result: &DeliveryResult) -> Value {
    match result {
        DeliveryResult::Done(answer) => serde_json::from_str(&answer.body).unwrap(),
        other => panic!("expected Done, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The bridge over the fakes
// ---------------------------------------------------------------------------------------------

struct World {
    crm: Arc<MemoryCrm>,
    cache: Arc<MemoryCache>,
    ledger: Arc<MemoryLedger>,
    adapters: Adapters,
    settings: Settings,
    delivery: Arc<Delivery>,
}

impl World {
    fn new(settings: Settings) -> Self {
        Self::over(MemoryCrm::default(), settings)
    }

    fn over(crm: MemoryCrm, settings: Settings) -> Self {
        let crm = Arc::new(crm);
        Self::through(crm.clone(), crm, settings)
    }

    /// The services talk to `port`; the test looks at `crm` (the same fake, or what `port`
    /// wraps).
    fn through(port: Arc<dyn Crm>, crm: Arc<MemoryCrm>, settings: Settings) -> Self {
        let cache = Arc::new(MemoryCache::new());
        let ledger = Arc::new(MemoryLedger::new());
        let adapters = Adapters {
            crm: port,
            cache: cache.clone(),
            ledger: ledger.clone(),
            ringostat: None,
        };
        let delivery = Arc::new(bootstrap::delivery(&settings, &adapters));
        Self {
            crm,
            cache,
            ledger,
            adapters,
            settings,
            delivery,
        }
    }

    async fn deliver(&self, kind: EventKind, body: &Value) -> DeliveryResult {
        self.delivery
            .deliver(&raw(body), &parse(kind, body), deadline(), 1)
            .await
    }

    fn seed(&self, number: &str, name: &str, owner: &str) -> ContactRef {
        self.crm.seed_contact(&phone(number), name, owner)
    }

    fn contact(&self, id: &str) -> ContactRef {
        self.crm
            .contacts()
            .into_iter()
            .find(|c| c.contact.id == id)
            .unwrap_or_else(|| panic!("no contact {id}"))
            .contact
    }

    fn call_ids(&self) -> Vec<String> {
        self.crm.calls().into_iter().map(|c| c.call_id).collect()
    }

    fn reconciler(&self, call_log: Option<Arc<dyn RingostatCallLog>>) -> Reconciler {
        Reconciler {
            call_log,
            delivery: self.delivery.clone(),
            parse: ParseOptions::default(),
            window: Duration::from_secs(3600),
            lag: Duration::from_secs(600),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// After call: contacts and calls
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_after_call_from_a_new_number_creates_one_contact_and_logs_one_call() {
    let world = World::new(settings());
    let body = after_call("ua0_-1712316600.1003", NEW_CLIENT, true);

    let answer = done(&world.deliver(EventKind::AfterCall, &body).await);

    let contacts = world.crm.contacts();
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let contact = &contacts[0];
    assert_eq!(contact.phone, phone(NEW_CLIENT));
    assert_eq!(contact.contact.name, None, "a phone-only contact");
    assert_eq!(contact.contact.owner_id.as_deref(), Some(SYSTEM_USER));
    let calls = world.crm.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].call_id, "ua0_-1712316600.1003");
    assert_eq!(calls[0].regarding.id, contact.contact.id);
    assert_eq!(calls[0].status, CallStatus::Answered);
    assert_eq!(calls[0].owner.id, OLENA, "the manager who took the call");
    assert!(calls[0].new_contact);
    assert!(world.crm.deals().is_empty(), "deals are off");

    assert_eq!(answer["outcome"], "call_logged");
    assert_eq!(answer["call_id"], "ua0_-1712316600.1003");
    assert_eq!(answer["contact_id"], contact.contact.id.as_str());
    assert_eq!(answer["new_contact"], true);
    assert_eq!(answer["activity_id"], "call-0");
}

#[tokio::test]
async fn an_existing_clients_calls_land_on_their_contact_found_once() {
    let world = World::new(settings());
    let client = world.seed(CLIENT, "Іван Клієнт", IVAN);

    let first = done(
        &world
            .deliver(
                EventKind::AfterCall,
                &after_call("ua0_-1712316600.1001", "0501234567", true),
            )
            .await,
    );
    let after_first = world.crm.requests();
    let second = done(
        &world
            .deliver(
                EventKind::AfterOutgoingCall,
                &after_outgoing_call("ua0_-1712316600.1005", "+38 050 123 45 67"),
            )
            .await,
    );

    assert_eq!(world.crm.contacts().len(), 1, "no contact created");
    let calls = world.crm.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls.iter().all(|c| c.regarding.id == client.id),
        "{calls:?}"
    );
    assert!(calls.iter().all(|c| !c.new_contact));
    for answer in [&first, &second] {
        assert_eq!(answer["outcome"], "call_logged");
        assert_eq!(answer["contact_id"], client.id.as_str());
        assert_eq!(answer.get("new_contact"), None, "an existing client");
    }
    assert_eq!(after_first, 2, "one search, one call record");
    assert_eq!(
        world.crm.requests() - after_first,
        1,
        "the second call finds the contact in the cache"
    );
    assert_eq!(
        world.contact(&client.id).owner_id.as_deref(),
        Some(IVAN),
        "the client stays Ivan's"
    );
}

#[tokio::test]
async fn a_resent_event_is_written_once_and_answers_the_stored_outcome() {
    // A CRM that cannot dedupe calls itself (NetHunt): only the ledger stands in the way.
    let world = World::over(MemoryCrm::default().without_call_dedup(), settings());
    world.seed(CLIENT, "Іван Клієнт", OLENA);
    let body = after_call("ua0_-1712316600.3001", CLIENT, true);

    let first = world.deliver(EventKind::AfterCall, &body).await;
    let requests = world.crm.requests();
    let second = world.deliver(EventKind::AfterCall, &body).await;
    // The cabinet may send the same call to the outgoing webhook too: one key per call.
    let outgoing = world.deliver(EventKind::AfterOutgoingCall, &body).await;

    let DeliveryResult::Done(answer) = first else {
        panic!("{first:?}");
    };
    assert_eq!(second, DeliveryResult::Duplicate(answer.clone()));
    assert_eq!(outgoing, DeliveryResult::Duplicate(answer));
    assert_eq!(world.call_ids(), ["ua0_-1712316600.3001"]);
    assert_eq!(
        world.crm.requests(),
        requests,
        "a duplicate costs no CRM request"
    );
}

#[tokio::test]
async fn a_crm_outage_parks_the_event_and_replay_lands_it_exactly_once() {
    let world = World::new(settings());
    let body = after_call("ua0_-1712316600.3002", NEW_CLIENT, true);
    world.crm.fail_next(Operation::LogCall, 1, || {
        CrmError::Transient("503 Service Unavailable".into())
    });

    let failed = world.deliver(EventKind::AfterCall, &body).await;
    assert!(
        matches!(
            failed,
            DeliveryResult::Failed {
                transient: true,
                parked: true,
                ..
            }
        ),
        "{failed:?}"
    );
    assert!(world.crm.calls().is_empty());
    let parked = world.ledger.parked(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key, "after_call#ua0_-1712316600.3002");
    assert_eq!(parked[0].attempts, 1);
    assert_eq!(parked[0].body, body.to_string().into_bytes());
    assert!(
        parked[0].error.contains("temporarily unavailable"),
        "{parked:?}"
    );

    let report = world.delivery.replay(10, long_deadline()).await;
    assert_eq!(
        report,
        ReplayReport {
            landed: 1,
            ..ReplayReport::default()
        }
    );
    assert_eq!(world.call_ids(), ["ua0_-1712316600.3002"]);
    assert_eq!(
        world.crm.contacts().len(),
        1,
        "the contact of the first try is reused"
    );
    assert!(world.ledger.parked(10).await.unwrap().is_empty());

    // Ringostat's own re-send, and another replay run, find it done.
    let resent = world.deliver(EventKind::AfterCall, &body).await;
    assert!(matches!(resent, DeliveryResult::Duplicate(_)), "{resent:?}");
    assert_eq!(
        world.delivery.replay(10, long_deadline()).await,
        ReplayReport::default()
    );
    assert_eq!(world.crm.calls().len(), 1);
}

#[tokio::test]
async fn a_resend_that_lands_first_leaves_replay_nothing_to_write() {
    let world = World::new(settings());
    let body = after_call("ua0_-1712316600.3003", CLIENT, false);
    world
        .crm
        .fail_next(Operation::FindContact, 1, || CrmError::Throttled {
            retry_after: Some(Duration::from_secs(1)),
        });

    let failed = world.deliver(EventKind::AfterCall, &body).await;
    assert!(matches!(
        failed,
        DeliveryResult::Failed { parked: true, .. }
    ));
    // Ringostat re-sends before the replay runs: the claim was released, so it runs.
    assert_eq!(
        done(&world.deliver(EventKind::AfterCall, &body).await)["outcome"],
        "call_logged"
    );

    let report = world.delivery.replay(10, long_deadline()).await;

    assert_eq!(
        report,
        ReplayReport {
            already_done: 1,
            ..ReplayReport::default()
        }
    );
    assert_eq!(world.call_ids(), ["ua0_-1712316600.3003"]);
    assert!(world.ledger.parked(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_write_is_parked_but_not_called_transient() {
    let world = World::new(settings());
    world
        .crm
        .fail_next(Operation::LogCall, 1, || CrmError::Rejected {
            status: 422,
            message: "field Телефон is read-only".into(),
        });

    let failed = world
        .deliver(
            EventKind::AfterCall,
            &after_call("ua0_-1712316600.3004", CLIENT, true),
        )
        .await;

    let DeliveryResult::Failed {
        error,
        transient,
        parked,
    } = failed
    else {
        panic!("{failed:?}");
    };
    assert!(!transient);
    assert!(parked, "kept, so it can be replayed once the CRM is fixed");
    assert!(error.contains("422"), "{error}");
    assert!(world.crm.calls().is_empty());
}

#[tokio::test]
async fn filters_skip_events_without_a_crm_request() {
    let answered_only = EventFilter {
        directions: Vec::new(),
        statuses: vec![CallStatus::Answered],
    };
    let world = World::new(Settings {
        filters: HashMap::from([
            (EventKind::AfterCall, answered_only.clone()),
            (EventKind::BeforeCall, answered_only),
        ]),
        ..settings()
    });

    let missed = done(
        &world
            .deliver(
                EventKind::AfterCall,
                &after_call("ua0_-1712316600.3005", NEW_CLIENT, false),
            )
            .await,
    );
    assert_eq!(missed["outcome"], "filtered");
    assert_eq!(world.crm.requests(), 0);
    assert!(world.crm.contacts().is_empty());

    let answered = done(
        &world
            .deliver(
                EventKind::AfterCall,
                &after_call("ua0_-1712316600.3006", NEW_CLIENT, true),
            )
            .await,
    );
    assert_eq!(answered["outcome"], "call_logged");
    assert_eq!(world.call_ids(), ["ua0_-1712316600.3006"]);

    // A ringing call has no status yet: a status filter does not apply to "before call".
    let ringing = done(
        &world
            .deliver(
                EventKind::BeforeCall,
                &before_call("ua0_-1712316600.2002", "380671110004"),
            )
            .await,
    );
    assert_eq!(ringing["outcome"], "contact_ready");
    assert_eq!(world.crm.contacts().len(), 2);
}

#[tokio::test]
async fn an_incoming_only_filter_skips_outgoing_calls() {
    let world = World::new(Settings {
        filters: HashMap::from([(
            EventKind::AfterOutgoingCall,
            EventFilter {
                directions: vec![bridge_core::Direction::Incoming],
                statuses: Vec::new(),
            },
        )]),
        ..settings()
    });
    let answer = done(
        &world
            .deliver(
                EventKind::AfterOutgoingCall,
                &after_outgoing_call("ua0_-1712316600.3007", CLIENT),
            )
            .await,
    );
    assert_eq!(answer["outcome"], "filtered");
    assert_eq!(world.crm.requests(), 0);
}

/// A call still running is not logged now; its final event (same call id) is.
#[tokio::test]
async fn a_call_in_progress_is_logged_by_its_final_event() {
    let world = World::new(settings());
    let mut running = after_call("ua0_-1712316600.3008", CLIENT, true);
    running["disposition"] = json!("IN PROGRESS");
    running["billsec"] = json!(0);

    let answer = done(&world.deliver(EventKind::AfterCall, &running).await);
    assert_eq!(answer["outcome"], "in_progress");
    assert_eq!(world.crm.requests(), 0);

    let finished = world
        .deliver(
            EventKind::AfterCall,
            &after_call("ua0_-1712316600.3008", CLIENT, true),
        )
        .await;
    assert_eq!(done(&finished)["outcome"], "call_logged");
    assert_eq!(world.call_ids(), ["ua0_-1712316600.3008"]);
}

// ---------------------------------------------------------------------------------------------
// Before call, deals and the answering manager
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_clients_contact_and_deal_go_to_the_manager_who_answers() {
    let world = World::new(answering_manager_settings());
    let number = "380671110001";

    let ringing = done(
        &world
            .deliver(
                EventKind::BeforeCall,
                &before_call("ua0_-1712316600.2001", number),
            )
            .await,
    );

    assert_eq!(ringing["outcome"], "contact_ready");
    assert_eq!(ringing["new_contact"], true);
    let contacts = world.crm.contacts();
    assert_eq!(contacts.len(), 1);
    let contact_id = contacts[0].contact.id.clone();
    assert_eq!(ringing["contact_id"], contact_id.as_str());
    assert_eq!(
        contacts[0].contact.owner_id.as_deref(),
        Some(SYSTEM_USER),
        "nobody has answered yet"
    );
    assert_eq!(
        contacts[0].utm,
        Some(Utm {
            source: Some("google".into()),
            medium: Some("cpc".into()),
            campaign: Some("brand".into()),
            term: Some("вікна київ".into()),
            content: Some("ad-1".into()),
        })
    );
    let deals = world.crm.deals();
    assert_eq!(deals.len(), 1);
    assert_eq!(ringing["deal_id"], deals[0].id.as_str());
    assert_eq!(deals[0].contact_id, contact_id);
    assert_eq!(deals[0].deal.name, "Угода: +380671110001");
    assert_eq!(deals[0].deal.stage.as_deref(), Some("Новий"));
    assert_eq!(deals[0].deal.owner, Some(settings().system_user));
    assert!(world.crm.calls().is_empty());

    let answered = done(
        &world
            .deliver(
                EventKind::AfterCall,
                &after_call("ua0_-1712316600.2001", number, true),
            )
            .await,
    );

    assert_eq!(answered["outcome"], "call_logged");
    assert_eq!(answered["contact_id"], contact_id.as_str());
    assert_eq!(world.crm.contacts().len(), 1, "the same contact");
    assert_eq!(world.contact(&contact_id).owner_id.as_deref(), Some(OLENA));
    let deals = world.crm.deals();
    assert_eq!(deals.len(), 1, "no second deal");
    assert_eq!(
        deals[0].deal.owner.as_ref().map(|o| o.id.as_str()),
        Some(OLENA)
    );
    let calls = world.crm.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].regarding.id, contact_id);
    assert_eq!(
        world.cache.pending_deal(&phone(number)).await.unwrap(),
        None,
        "the deal is handed over once"
    );
}

#[tokio::test]
async fn a_new_number_answered_at_once_is_the_managers_with_its_deal() {
    let world = World::new(answering_manager_settings());

    let answer = done(
        &world
            .deliver(
                EventKind::AfterCall,
                &after_call("ua0_-1712316600.1003", NEW_CLIENT, true),
            )
            .await,
    );

    let contacts = world.crm.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].contact.owner_id.as_deref(), Some(OLENA));
    let deals = world.crm.deals();
    assert_eq!(deals.len(), 1);
    assert_eq!(answer["deal_id"], deals[0].id.as_str());
    assert_eq!(
        deals[0].deal.owner.as_ref().map(|o| o.id.as_str()),
        Some(OLENA)
    );
}

#[tokio::test]
async fn another_managers_client_is_not_taken_over() {
    let world = World::new(answering_manager_settings());
    let client = world.seed(CLIENT, "Іван Клієнт", IVAN);

    done(
        &world
            .deliver(
                EventKind::AfterCall,
                &after_call("ua0_-1712316600.1001", CLIENT, true),
            )
            .await,
    );

    assert_eq!(world.contact(&client.id).owner_id.as_deref(), Some(IVAN));
    assert!(
        world.crm.deals().is_empty(),
        "no deal for an existing client"
    );
    assert_eq!(world.crm.calls()[0].owner.id, OLENA, "Olena took the call");
}

#[tokio::test]
async fn a_before_call_for_a_known_client_creates_nothing() {
    let world = World::new(answering_manager_settings());
    let client = world.seed(CLIENT, "Іван Клієнт", IVAN);

    let answer = done(
        &world
            .deliver(
                EventKind::BeforeCall,
                &before_call("ua0_-1712316600.2003", "0501234567"),
            )
            .await,
    );

    assert_eq!(answer["outcome"], "contact_ready");
    assert_eq!(answer["contact_id"], client.id.as_str());
    assert_eq!(answer.get("deal_id"), None);
    assert_eq!(world.crm.contacts().len(), 1);
    assert!(world.crm.deals().is_empty());
    assert_eq!(
        world.crm.contacts()[0]
            .utm
            .as_ref()
            .and_then(|u| u.source.clone()),
        Some("google".into()),
        "the visit's tags are still written"
    );
}

/// A before-call and an AI analysis of a new number arriving together: one contact, which
/// both use.
#[tokio::test]
async fn events_arriving_together_for_a_new_number_create_one_contact() {
    let memory = Arc::new(MemoryCrm::default());
    let slow = Arc::new(SlowCrm {
        inner: memory.clone(),
        slow: Operation::CreateContact,
        delay: Duration::from_millis(300),
    });
    let world = World::through(slow, memory, settings());
    let number = "380671110011";

    let ringing = before_call("ua0_-1712316600.2011", number);
    let analysis = call_analysis(
        "ua0_-1712316600.2011",
        number,
        "Клієнт просить передзвонити",
    );

    let (ringing, analysed) = tokio::join!(
        world.deliver(EventKind::BeforeCall, &ringing),
        world.deliver(EventKind::CallAnalysis, &analysis),
    );

    let contacts = world.crm.contacts();
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let (ringing, analysed) = (done(&ringing), done(&analysed));
    assert_eq!(ringing["contact_id"], contacts[0].contact.id.as_str());
    assert_eq!(analysed["contact_id"], contacts[0].contact.id.as_str());
    assert_eq!(world.crm.notes().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Call analysis
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_call_analysis_becomes_one_note_on_the_clients_contact() {
    let world = World::new(settings());
    let client = world.seed(CLIENT, "Іван Клієнт", OLENA);
    let summary = "Клієнт замовляє вікна, замір у понеділок.";

    let answer = done(
        &world
            .deliver(
                EventKind::CallAnalysis,
                &call_analysis("ua0_-1712316600.4001", CLIENT, summary),
            )
            .await,
    );

    assert_eq!(answer["outcome"], "analysis_added");
    assert_eq!(answer["contact_id"], client.id.as_str());
    let notes = world.crm.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].contact_id, client.id);
    assert_eq!(notes[0].title, "AI-аналіз дзвінка");
    assert!(
        notes[0].text.contains(&format!("Підсумок: {summary}")),
        "{notes:?}"
    );
    assert!(notes[0].text.contains("Настрій клієнта: позитивний"));
    assert!(notes[0].text.contains("Ringostat ID: ua0_-1712316600.4001"));
    assert!(
        !notes[0].text.contains("Загальний настрій"),
        "empty fields are left out"
    );
    assert!(
        world.crm.calls().is_empty(),
        "an analysis is no call record"
    );
}

#[tokio::test]
async fn an_empty_call_analysis_writes_nothing() {
    let world = World::new(settings());

    let answer = done(
        &world
            .deliver(
                EventKind::CallAnalysis,
                &call_analysis("ua0_-1712316600.4003", CLIENT, ""),
            )
            .await,
    );

    assert_eq!(answer["outcome"], "no_analysis");
    assert_eq!(world.crm.requests(), 0);
    assert!(world.crm.notes().is_empty());
    assert!(
        world.crm.contacts().is_empty(),
        "no contact for nothing to say"
    );
}

#[tokio::test]
async fn a_call_analysis_in_english_has_english_labels() {
    let world = World::new(Settings {
        language: Language::En,
        ..settings()
    });
    world.seed(CLIENT, "Ivan", OLENA);

    done(
        &world
            .deliver(
                EventKind::CallAnalysis,
                &call_analysis("ua0_-1712316600.4002", CLIENT, "Wants windows"),
            )
            .await,
    );

    let notes = world.crm.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].title, "AI call analysis");
    assert!(
        notes[0].text.starts_with("Summary: Wants windows"),
        "{notes:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Smart forwarding
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn smart_forwarding_rings_the_clients_own_manager() {
    let world = World::new(settings());
    world.seed(CLIENT, "Іван Клієнт", OLENA);
    world.seed("380931234567", "Марія", "IVAN@acme.ua");
    let forwarding = bootstrap::smart_forwarding(&world.settings, &world.adapters);

    let olenas = forwarding.route(&phone("0501234567"), deadline()).await;
    let ivans = forwarding.route(&phone("0931234567"), deadline()).await;

    assert_eq!(olenas.reason, ForwardReason::Manager);
    assert_eq!(
        olenas.destination.as_deref(),
        Some("acmeua_olena"),
        "her SIP login"
    );
    assert_eq!(ivans.reason, ForwardReason::Manager);
    assert_eq!(
        ivans.destination.as_deref(),
        Some("380671112233"),
        "his number, as digits"
    );
}

#[tokio::test]
async fn smart_forwarding_falls_back_when_there_is_no_manager_to_ring() {
    let world = World::new(settings());
    world.seed(CLIENT, "Клієнт бота", "Bridge@Acme.ua");
    world.seed("380931234567", "Клієнт Петра", PETRO);
    world.seed("380931234568", "Клієнт новенької", "new@acme.ua");
    world
        .cache
        .put_manager_route(
            "new@acme.ua",
            &ManagerRoute::SipLogin("acmeua_new".into()),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let forwarding = bootstrap::smart_forwarding(&world.settings, &world.adapters);

    let unknown = forwarding.route(&phone(NEW_CLIENT), deadline()).await;
    assert_eq!(unknown.reason, ForwardReason::UnknownCaller);
    assert_eq!(unknown.destination, None);

    let system = forwarding.route(&phone(CLIENT), deadline()).await;
    assert_eq!(
        system.reason,
        ForwardReason::NoManager,
        "the system user is nobody"
    );
    assert_eq!(system.destination, None);

    let no_route = forwarding.route(&phone("380931234567"), deadline()).await;
    assert_eq!(no_route.reason, ForwardReason::NoRoute);
    assert_eq!(no_route.destination, None);

    // A manager outside the staff list, whose route the cache knows.
    let cached = forwarding.route(&phone("380931234568"), deadline()).await;
    assert_eq!(cached.reason, ForwardReason::Manager);
    assert_eq!(cached.destination.as_deref(), Some("acmeua_new"));

    assert_eq!(
        world.crm.contacts().len(),
        3,
        "forwarding never creates contacts"
    );
}

#[tokio::test]
async fn smart_forwarding_falls_back_when_the_crm_fails() {
    let world = World::new(settings());
    world.seed(CLIENT, "Іван Клієнт", OLENA);
    world.crm.fail_next(Operation::FindContact, 1, || {
        CrmError::Transient("502 Bad Gateway".into())
    });
    let forwarding = bootstrap::smart_forwarding(&world.settings, &world.adapters);

    let failed = forwarding.route(&phone(CLIENT), deadline()).await;
    assert_eq!(failed.reason, ForwardReason::CrmError);
    assert_eq!(failed.destination, None);

    // The next call, with the CRM back, is routed.
    let routed = forwarding.route(&phone(CLIENT), deadline()).await;
    assert_eq!(routed.destination.as_deref(), Some("acmeua_olena"));
}

#[tokio::test]
async fn smart_forwarding_falls_back_when_the_budget_runs_out() {
    let memory = Arc::new(MemoryCrm::default());
    memory.seed_contact(&phone(CLIENT), "Іван Клієнт", OLENA);
    let slow = Arc::new(SlowCrm {
        inner: memory.clone(),
        slow: Operation::FindContact,
        delay: Duration::from_secs(5),
    });
    let world = World::through(slow, memory, settings());
    let forwarding = bootstrap::smart_forwarding(&world.settings, &world.adapters);

    let started = tokio::time::Instant::now();
    let decision = forwarding
        .route(&phone(CLIENT), Deadline::after(Duration::from_millis(200)))
        .await;

    assert_eq!(decision.reason, ForwardReason::Timeout);
    assert_eq!(decision.destination, None);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at the budget"
    );
}

// ---------------------------------------------------------------------------------------------
// Click-to-call
// ---------------------------------------------------------------------------------------------

/// Remembers every call it was asked to start; fails once when told to.
#[derive(Default)]
struct RecordingDialer {
    calls: Mutex<Vec<(String, String)>>,
    fail_next: Mutex<Option<RingostatApiError>>,
}

impl RecordingDialer {
    fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Dialer for RecordingDialer {
    async fn outward_call(
        &self,
        extension: &str,
        destination: &str,
        _deadline: Deadline,
    ) -> Result<(), RingostatApiError> {
        self.calls
            .lock()
            .unwrap()
            .push((extension.to_owned(), destination.to_owned()));
        match self.fail_next.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The key the tests sign with.
const CLICK_TO_CALL_KEY: &str = "a-click-to-call-key-of-at-least-32-characters";
/// The tests' "now" (epoch seconds); the clock moves only when a test says so.
const NOW: i64 = 1_800_000_000;

fn click_to_call(dialer: &Arc<RecordingDialer>, default_extension: Option<&str>) -> ClickToCall {
    click_to_call_at(
        dialer,
        default_extension,
        Arc::new(ManualClock::starting_at(NOW)),
    )
}

fn click_to_call_at(
    dialer: &Arc<RecordingDialer>,
    default_extension: Option<&str>,
    clock: Arc<ManualClock>,
) -> ClickToCall {
    ClickToCall {
        staff: Staff::from_json(STAFF).unwrap(),
        default_extension: default_extension.map(phone),
        dialer: Some(dialer.clone()),
        key: LinkKey::new(&Secret::new(CLICK_TO_CALL_KEY)).unwrap(),
        policy: DestinationPolicy::default(),
        limits: CallLimits::default(),
        limiter: Arc::new(MemoryRateLimiter::with_clock(clock.clone())),
        clock,
        device_lifetime: Duration::from_secs(90 * 86_400),
    }
}

/// A personal set-up link for `manager`, as the administrator's recipe signs it.
fn set_up_link(manager: &str, expires_at: i64) -> Signed {
    let key = LinkKey::new(&Secret::new(CLICK_TO_CALL_KEY)).unwrap();
    Signed {
        manager: manager.to_owned(),
        phone: String::new(),
        expires_at: expires_at.to_string(),
        signature: key.sign(Purpose::Enrol, &[manager], expires_at),
        nonce: String::new(),
    }
}

/// The whole flow of a manager's click: set-up link → browser credential → confirmation →
/// the call.
async fn click(
    service: &ClickToCall,
    manager: &str,
    number: &str,
) -> Result<Calling, ClickToCallError> {
    let member = service.enrol(&set_up_link(manager, NOW + 3600))?;
    assert!(service.staff.find(manager) == Some(member));
    let credential = service.device_credential(manager);
    let member = service.device_manager(Some(&credential.value))?;
    let confirmation = service.confirm(member, number)?;
    service.dial(&confirmation.token, deadline()).await
}

#[tokio::test]
async fn click_to_call_refuses_a_manager_outside_the_staff_list() {
    let dialer = Arc::new(RecordingDialer::default());
    let service = click_to_call(&dialer, Some("+380441110000"));

    let result = click(&service, "stranger@acme.ua", NEW_CLIENT).await;

    assert!(
        matches!(result, Err(ClickToCallError::UnknownManager)),
        "{result:?}"
    );
    assert!(dialer.calls().is_empty(), "nobody is rung");
}

#[tokio::test]
async fn click_to_call_rings_the_manager_from_their_extension() {
    let dialer = Arc::new(RecordingDialer::default());
    let service = click_to_call(&dialer, Some("+380441110000"));

    // The set-up link may name the manager by CRM id, e-mail or SIP login.
    for reference in [OLENA, "OLENA@acme.ua", "acmeua_olena"] {
        let calling = click(&service, reference, "0671110021").await.unwrap();
        assert_eq!(calling.manager, OLENA, "{reference}");
        assert_eq!(calling.phone, phone("380671110021"));
    }
    // Ivan has no extension of his own: the project default.
    click(&service, IVAN, "0671110021").await.unwrap();

    assert_eq!(
        dialer.calls(),
        [
            ("380441112233".to_owned(), "380671110021".to_owned()),
            ("380441112233".to_owned(), "380671110021".to_owned()),
            ("380441112233".to_owned(), "380671110021".to_owned()),
            ("380441110000".to_owned(), "380671110021".to_owned()),
        ]
    );
}

#[tokio::test]
async fn click_to_call_explains_what_is_missing() {
    let dialer = Arc::new(RecordingDialer::default());

    let no_extension = click(&click_to_call(&dialer, None), PETRO, NEW_CLIENT).await;
    assert!(
        matches!(no_extension, Err(ClickToCallError::NoExtension)),
        "{no_extension:?}"
    );

    let no_key = ClickToCall {
        dialer: None,
        ..click_to_call(&dialer, None)
    };
    let no_key = click(&no_key, OLENA, NEW_CLIENT).await;
    assert!(
        matches!(no_key, Err(ClickToCallError::NotConfigured)),
        "{no_key:?}"
    );
    assert!(dialer.calls().is_empty());

    *dialer.fail_next.lock().unwrap() = Some(RingostatApiError::Rejected {
        status: 200,
        message: "extension is not a project number".into(),
    });
    let refused = click(&click_to_call(&dialer, None), OLENA, NEW_CLIENT).await;
    assert!(
        matches!(
            refused,
            Err(ClickToCallError::Ringostat(
                RingostatApiError::Rejected { .. }
            ))
        ),
        "{refused:?}"
    );
    assert_eq!(dialer.calls().len(), 1);
}

/// A confirmation starts one call, for its manager and number, within its two minutes.
#[tokio::test]
async fn a_confirmation_is_bound_to_its_manager_number_and_time_and_spent_once() {
    let dialer = Arc::new(RecordingDialer::default());
    let clock = Arc::new(ManualClock::starting_at(NOW));
    let service = click_to_call_at(&dialer, None, clock.clone());
    let olena = service.staff.find(OLENA).unwrap();
    let confirmation = service.confirm(olena, "050 123 45 67").unwrap();
    assert_eq!(confirmation.line, phone("+380441112233"));

    let altered = [
        Signed {
            phone: "+380671110021".into(),
            ..confirmation.token.clone()
        },
        Signed {
            manager: IVAN.into(),
            ..confirmation.token.clone()
        },
        Signed {
            expires_at: (NOW + 3600).to_string(),
            ..confirmation.token.clone()
        },
        Signed {
            nonce: "another".into(),
            ..confirmation.token.clone()
        },
    ];
    for token in &altered {
        let result = service.dial(token, deadline()).await;
        assert!(
            matches!(result, Err(ClickToCallError::InvalidLink(_))),
            "{token:?}: {result:?}"
        );
    }
    service.dial(&confirmation.token, deadline()).await.unwrap();
    let again = service.dial(&confirmation.token, deadline()).await;
    assert!(
        matches!(again, Err(ClickToCallError::AlreadyUsed)),
        "{again:?}"
    );

    let late = service.confirm(olena, "050 123 45 67").unwrap();
    clock.advance(121);
    let result = service.dial(&late.token, deadline()).await;
    assert!(
        matches!(result, Err(ClickToCallError::Expired)),
        "{result:?}"
    );
    assert_eq!(
        dialer.calls().len(),
        1,
        "only the genuine, fresh confirmation dialled"
    );
}

/// A browser credential (or set-up link) signed with another key, or past its time, names
/// nobody.
#[tokio::test]
async fn browser_credentials_are_checked_like_links() {
    let dialer = Arc::new(RecordingDialer::default());
    let clock = Arc::new(ManualClock::starting_at(NOW));
    let service = click_to_call_at(&dialer, None, clock.clone());
    let olena = service.staff.find(OLENA).unwrap();
    let credential = service.device_credential(OLENA);
    assert_eq!(
        service.device_manager(Some(&credential.value)).unwrap(),
        olena
    );

    let other_deployment = ClickToCall {
        key: LinkKey::new(&Secret::new("another-deployment-key-0123456789abcdef")).unwrap(),
        ..click_to_call(&dialer, None)
    };
    assert!(matches!(
        other_deployment.device_manager(Some(&credential.value)),
        Err(ClickToCallError::InvalidLink(_))
    ));
    assert!(matches!(
        service.device_manager(None),
        Err(ClickToCallError::NotEnrolled)
    ));
    assert!(matches!(
        service.enrol(&set_up_link(OLENA, NOW - 1)),
        Err(ClickToCallError::Expired)
    ));
    clock.advance(91 * 86_400);
    assert!(matches!(
        service.device_manager(Some(&credential.value)),
        Err(ClickToCallError::NotEnrolled)
    ));
}

#[tokio::test]
async fn premium_rate_and_foreign_destinations_are_never_dialled() {
    let dialer = Arc::new(RecordingDialer::default());
    let service = click_to_call(&dialer, None);
    for number in ["+380900212345", "+48221234567", "+79161234567"] {
        let result = click(&service, OLENA, number).await;
        assert!(
            matches!(result, Err(ClickToCallError::Refused(_))),
            "{number}: {result:?}"
        );
    }
    assert!(dialer.calls().is_empty());
}

#[tokio::test]
async fn each_manager_and_the_deployment_have_a_call_limit() {
    let dialer = Arc::new(RecordingDialer::default());
    let clock = Arc::new(ManualClock::starting_at(NOW));
    let service = ClickToCall {
        limits: CallLimits {
            per_manager: 3,
            per_deployment: 4,
            window: Duration::from_secs(600),
        },
        ..click_to_call_at(&dialer, Some("+380441110000"), clock.clone())
    };
    for _ in 0..3 {
        click(&service, OLENA, NEW_CLIENT).await.unwrap();
        clock.advance(10);
    }
    let fourth = click(&service, OLENA, NEW_CLIENT).await;
    assert!(
        matches!(
            fourth,
            Err(ClickToCallError::RateLimited {
                scope: LimitScope::Manager,
                retry_after,
                ..
            }) if retry_after == Duration::from_secs(570)
        ),
        "{fourth:?}"
    );
    // Ivan still may, once: then the deployment's four are spent.
    click(&service, IVAN, NEW_CLIENT).await.unwrap();
    let fifth = click(&service, IVAN, NEW_CLIENT).await;
    assert!(
        matches!(
            fifth,
            Err(ClickToCallError::RateLimited {
                scope: LimitScope::Deployment,
                ..
            })
        ),
        "{fifth:?}"
    );
    assert_eq!(dialer.calls().len(), 4);
    clock.advance(600);
    click(&service, OLENA, NEW_CLIENT).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Reconciliation
// ---------------------------------------------------------------------------------------------

/// Ringostat's call log for the window: canned rows; remembers the windows it was asked for.
struct CannedCallLog {
    rows: Vec<CallRow>,
    windows: Mutex<Vec<CallWindow>>,
}

impl CannedCallLog {
    fn new(rows: Vec<Value>) -> Arc<Self> {
        Arc::new(Self {
            rows: rows
                .into_iter()
                .map(|row| row.as_object().unwrap().clone())
                .collect(),
            windows: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl RingostatCallLog for CannedCallLog {
    async fn calls_in_slices(
        &self,
        window: CallWindow,
        _deadline: Deadline,
    ) -> Result<Vec<CallRow>, RingostatApiError> {
        self.windows.lock().unwrap().push(window);
        Ok(self.rows.clone())
    }
}

fn instant(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

#[tokio::test]
async fn reconciliation_recovers_only_the_calls_whose_webhook_was_lost() {
    let world = World::new(settings());
    world.seed(CLIENT, "Іван Клієнт", OLENA);
    // This call's webhook arrived.
    let arrived = after_call("ua0_-1712316600.6001", CLIENT, true);
    done(&world.deliver(EventKind::AfterCall, &arrived).await);
    let mut running = after_call("ua0_-1712316600.6004", CLIENT, true);
    running["disposition"] = json!("IN PROGRESS");
    let log = CannedCallLog::new(vec![
        arrived,
        after_call("ua0_-1712316600.6002", NEW_CLIENT, false),
        after_outgoing_call("ua0_-1712316600.6003", CLIENT),
        running,
        json!({"calldate": "2024-04-05 14:30:00", "caller": CLIENT}),
    ]);
    let reconciler = world.reconciler(Some(log.clone()));
    let (from, to) = (
        instant("2024-04-05T11:00:00Z"),
        instant("2024-04-05T12:00:00Z"),
    );

    let report = reconciler
        .reconcile(from, to, long_deadline())
        .await
        .unwrap();

    assert_eq!(
        report,
        ReconcileReport {
            listed: 5,
            in_progress: 1,
            already_done: 1,
            recovered: 2,
            unreadable: 1,
            ..ReconcileReport::default()
        }
    );
    let mut ids = world.call_ids();
    ids.sort();
    assert_eq!(
        ids,
        [
            "ua0_-1712316600.6001",
            "ua0_-1712316600.6002",
            "ua0_-1712316600.6003"
        ]
    );
    let outgoing = world
        .crm
        .calls()
        .into_iter()
        .find(|c| c.call_id == "ua0_-1712316600.6003")
        .unwrap();
    assert_eq!(outgoing.direction, bridge_core::Direction::Outgoing);
    assert_eq!(
        world.crm.contacts().len(),
        2,
        "the lost new client got a contact"
    );
    // The window is asked in the cabinet's time (Kyiv, UTC+3).
    let windows = log.windows.lock().unwrap().clone();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0].from_param(), "2024-04-05 14:00:00");
    assert_eq!(windows[0].to_param(), "2024-04-05 15:00:00");

    // An overlapping run writes nothing more.
    let again = reconciler
        .reconcile(from, to, long_deadline())
        .await
        .unwrap();
    assert_eq!(again.recovered, 0);
    assert_eq!(again.already_done, 3);
    assert_eq!(world.crm.calls().len(), 3);
}

#[tokio::test]
async fn a_call_reconciliation_cannot_write_is_parked_for_replay() {
    let world = World::new(settings());
    let log = CannedCallLog::new(vec![after_call("ua0_-1712316600.6005", CLIENT, true)]);
    world.crm.fail_next(Operation::FindContact, 1, || {
        CrmError::Transient("timeout".into())
    });
    let reconciler = world.reconciler(Some(log));

    let report = reconciler
        .reconcile(
            instant("2024-04-05T11:00:00Z"),
            instant("2024-04-05T12:00:00Z"),
            long_deadline(),
        )
        .await
        .unwrap();

    assert_eq!(report.failed, 1);
    assert_eq!(report.recovered, 0);
    assert!(world.crm.calls().is_empty());
    let parked = world.ledger.parked(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].key, "after_call#ua0_-1712316600.6005");
    assert_eq!(
        world.delivery.replay(10, long_deadline()).await.landed,
        1,
        "the parked row replays like a webhook"
    );
    assert_eq!(world.call_ids(), ["ua0_-1712316600.6005"]);
}

#[tokio::test]
async fn reconciliation_needs_a_call_log_and_a_window() {
    let world = World::new(settings());
    let at = instant("2024-04-05T12:00:00Z");

    let unconfigured = world
        .reconciler(None)
        .reconcile(instant("2024-04-05T11:00:00Z"), at, long_deadline())
        .await;
    assert!(
        matches!(unconfigured, Err(ReconcileError::NotConfigured)),
        "{unconfigured:?}"
    );

    let log = CannedCallLog::new(Vec::new());
    let empty = world
        .reconciler(Some(log.clone()))
        .reconcile(at, at, long_deadline())
        .await;
    assert!(
        matches!(empty, Err(ReconcileError::EmptyWindow)),
        "{empty:?}"
    );
    assert!(
        log.windows.lock().unwrap().is_empty(),
        "Ringostat is not asked"
    );
}

#[tokio::test]
async fn the_scheduled_run_looks_back_its_window_ending_its_lag_ago() {
    let world = World::new(settings());
    let log = CannedCallLog::new(Vec::new());

    let report = world
        .reconciler(Some(log.clone()))
        .reconcile_recent(instant("2024-04-05T12:10:00Z"), long_deadline())
        .await
        .unwrap();

    assert_eq!(report, ReconcileReport::default());
    let windows = log.windows.lock().unwrap().clone();
    assert_eq!(windows.len(), 1);
    // One hour back, ending ten minutes before now, in Kyiv time.
    assert_eq!(windows[0].from_param(), "2024-04-05 14:00:00");
    assert_eq!(windows[0].to_param(), "2024-04-05 15:00:00");
}

// ---------------------------------------------------------------------------------------------
// A CRM that takes its time over one operation
// ---------------------------------------------------------------------------------------------

/// `MemoryCrm` with a delay before one operation: a slow CRM API.
struct SlowCrm {
    inner: Arc<MemoryCrm>,
    slow: Operation,
    delay: Duration,
}

impl SlowCrm {
    async fn pause(&self, operation: Operation) {
        if operation == self.slow {
            tokio::time::sleep(self.delay).await;
        }
    }
}

#[async_trait]
impl Crm for SlowCrm {
    fn kind(&self) -> CrmKind {
        self.inner.kind()
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        self.pause(Operation::FindContact).await;
        self.inner.find_contact(phone, deadline).await
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        self.pause(Operation::CreateContact).await;
        self.inner.create_contact(phone, owner, deadline).await
    }

    async fn set_contact_owner(
        &self,
        contact_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.pause(Operation::SetContactOwner).await;
        self.inner
            .set_contact_owner(contact_id, owner, deadline)
            .await
    }

    async fn set_contact_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.pause(Operation::SetContactUtm).await;
        self.inner.set_contact_utm(contact_id, utm, deadline).await
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        self.pause(Operation::LogCall).await;
        self.inner.log_call(activity, deadline).await
    }

    async fn add_note(
        &self,
        note: &bridge_core::ports::NewNote,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.pause(Operation::AddNote).await;
        self.inner.add_note(note, deadline).await
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        self.pause(Operation::CreateDeal).await;
        self.inner.create_deal(contact, deal, deadline).await
    }

    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.pause(Operation::SetDealOwner).await;
        self.inner.set_deal_owner(deal_id, owner, deadline).await
    }

    async fn responsible_manager(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        self.pause(Operation::ResponsibleManager).await;
        self.inner.responsible_manager(contact_id, deadline).await
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        self.inner.contact_card_url(contact_id)
    }
}

// ---------------------------------------------------------------------------------------------
// Steps that check their own postcondition (exactly once under partial failures)
// ---------------------------------------------------------------------------------------------

/// The deal create fails twice after the contact was created: Ringostat's re-sends find the
/// contact existing, and still make its one deal.
#[tokio::test]
async fn a_deal_that_failed_twice_is_made_once_by_the_resends() {
    let world = World::new(Settings {
        deals: Some(DealSettings {
            name_template: "Угода: {phone}".into(),
            stage: None,
        }),
        ..settings()
    });
    world.crm.fail_next(Operation::CreateDeal, 2, || {
        CrmError::Transient("HTTP 503".into())
    });
    let body = after_call("ua0_-1712316600.4101", "0931112233", true);
    for attempt in 1..=2 {
        let result = world.deliver(EventKind::AfterCall, &body).await;
        assert!(
            matches!(
                result,
                DeliveryResult::Failed {
                    transient: true,
                    ..
                }
            ),
            "attempt {attempt}: {result:?}"
        );
    }
    let third = done(&world.deliver(EventKind::AfterCall, &body).await);
    assert_eq!(third["outcome"], "call_logged");
    assert_eq!(world.crm.contacts().len(), 1, "one contact");
    assert_eq!(world.crm.deals().len(), 1, "one deal");
    assert_eq!(world.crm.calls().len(), 1, "one call record");
    assert_eq!(
        world.crm.deals()[0].contact_id,
        world.crm.contacts()[0].contact.id
    );
    // A fourth delivery (a manual re-send) finds the answer stored: nothing new.
    assert!(matches!(
        world.deliver(EventKind::AfterCall, &body).await,
        DeliveryResult::Duplicate(_)
    ));
    assert_eq!(world.crm.deals().len(), 1);
}

/// Contact handed over, deal hand-over failed: the re-send hands the deal over too.
#[tokio::test]
async fn a_failed_deal_hand_over_is_completed_by_the_resend() {
    let world = World::new(answering_manager_settings());
    let client = "0931112244";
    done(
        &world
            .deliver(
                EventKind::BeforeCall,
                &before_call("ua0_-1712316600.4201", client),
            )
            .await,
    );
    assert_eq!(world.crm.deals().len(), 1);
    world.crm.fail_next(Operation::SetDealOwner, 1, || {
        CrmError::Transient("HTTP 503".into())
    });
    let body = after_call("ua0_-1712316600.4201", client, true);
    let failed = world.deliver(EventKind::AfterCall, &body).await;
    assert!(
        matches!(failed, DeliveryResult::Failed { .. }),
        "{failed:?}"
    );
    let contact = &world.crm.contacts()[0];
    assert_eq!(
        contact.contact.owner_id.as_deref(),
        Some(OLENA),
        "the contact was handed over"
    );
    assert_ne!(
        world.crm.deals()[0]
            .deal
            .owner
            .as_ref()
            .map(|o| o.id.as_str()),
        Some(OLENA),
        "the deal was not"
    );
    done(&world.deliver(EventKind::AfterCall, &body).await);
    assert_eq!(
        world.crm.deals()[0]
            .deal
            .owner
            .as_ref()
            .map(|o| o.id.as_str()),
        Some(OLENA),
        "the re-send handed the deal over"
    );
    assert_eq!(world.crm.deals().len(), 1);
    assert_eq!(world.crm.calls().len(), 1);
}

/// A call record that the CRM wrote but answered ambiguously (a 502 after the write): the next
/// run rechecks and writes nothing new, on a CRM without a fence of its own.
#[tokio::test]
async fn an_ambiguous_call_record_is_not_written_twice() {
    let world = World::over(MemoryCrm::default().without_call_dedup(), settings());
    let client = "0931112255";
    world.seed(client, "Марія Шевченко", OLENA);
    let body = after_call("ua0_-1712316600.4301", client, true);
    // The first run writes the record, then hears a 502: the write may have happened.
    world.crm.fail_after_next(Operation::LogCall, || {
        CrmError::Ambiguous("HTTP 502".into())
    });
    let failed = world.deliver(EventKind::AfterCall, &body).await;
    assert!(
        matches!(failed, DeliveryResult::Failed { .. }),
        "{failed:?}"
    );
    assert_eq!(world.crm.calls().len(), 1, "the write happened");
    // Ringostat's three re-sends and the replay.
    for _ in 0..3 {
        let again = world.deliver(EventKind::AfterCall, &body).await;
        assert!(
            matches!(
                again,
                DeliveryResult::Done(_) | DeliveryResult::Duplicate(_)
            ),
            "{again:?}"
        );
    }
    let report = world.delivery.replay(10, long_deadline()).await;
    assert_eq!(report.still_failing, 0, "{report:?}");
    assert_eq!(world.crm.calls().len(), 1, "exactly one record");
}
