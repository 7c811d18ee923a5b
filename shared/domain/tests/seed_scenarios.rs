//! The eight call scenarios of the Smart CRM seed (the integration document quoted in README.md; the facts behind them are in docs/vendor-contracts.md):
//! incoming/outgoing × answered/missed × existing/new client.
//!
//! Every row starts from a realistic Ringostat Webhooks 2.0 JSON body, goes through the real
//! parser (`CallEvent::from_request`) and the pure mapping (`call_activity`), and checks every
//! field the seed fills automatically on the call record (Call From, Call To, Phone Number,
//! Direction, Regarding), the existing/new client rule, and the rest of the record.
//!
//! Phone Number is the client's number in every row: a product decision (the number to call
//! back); the company's tracking line of an incoming call goes into the description
//! (`Лінія: +380441112233`).

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_domain::ringostat::{CallEvent, EventKind, ParseOptions};
use bridge_domain::{
    CallActivity, CallStatus, ContactRef, CrmUser, Direction, Language, Party, ResolvedContact,
    call_activity,
};
use jiff::Timestamp;
use serde_json::{Value, json};

const CLIENT_RAW: &str = "0501234567";
const CLIENT_E164: &str = "+380501234567";
const LINE_RAW: &str = "380441112233";
const LINE_E164: &str = "+380441112233";
const RECORDING: &str = "https://records.ringostat.net/mycompanycom/2024/04/05/1712316600.1234.mp3";
const CALL_DATE: &str = "2024-04-05 14:30:00";
/// `CALL_DATE` in Ringostat's cabinet time (Europe/Kyiv, UTC+3 in April).
const STARTED_AT: &str = "2024-04-05T11:30:00Z";

/// Who a party of the record is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Client,
    Manager,
    SystemUser,
}

/// One seed scenario and everything its call record must hold.
struct Scenario {
    name: &'static str,
    kind: EventKind,
    direction: Direction,
    status: CallStatus,
    new_client: bool,
    /// The CRM user behind the Ringostat employee is known (the manager answered or dialled).
    manager_known: bool,
    call_id: &'static str,
    /// `duration`, `billsec`, `waittime` of the payload.
    duration: u32,
    talk: u32,
    wait: u32,
    /// `STARTED_AT` + `duration`.
    ended_at: &'static str,
    from: Who,
    to: Who,
    owner: Who,
    subject_uk: &'static str,
    subject_en: &'static str,
    /// `<total> (<talk>, <wait>)` as clock text, without labels.
    clocks: (&'static str, &'static str, &'static str),
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "1 incoming answered existing client",
            kind: EventKind::AfterCall,
            direction: Direction::Incoming,
            status: CallStatus::Answered,
            new_client: false,
            manager_known: true,
            call_id: "1712316600.1001",
            duration: 95,
            talk: 83,
            wait: 12,
            ended_at: "2024-04-05T11:31:35Z",
            from: Who::Client,
            to: Who::Manager,
            owner: Who::Manager,
            subject_uk: "Вхідний дзвінок від +380501234567 (прийнятий)",
            subject_en: "Incoming call from +380501234567 (answered)",
            clocks: ("1:35", "1:23", "0:12"),
        },
        Scenario {
            name: "2 incoming missed existing client",
            kind: EventKind::AfterCall,
            direction: Direction::Incoming,
            status: CallStatus::Missed,
            new_client: false,
            manager_known: false,
            call_id: "1712316600.1002",
            duration: 25,
            talk: 0,
            wait: 25,
            ended_at: "2024-04-05T11:30:25Z",
            from: Who::Client,
            to: Who::SystemUser,
            owner: Who::SystemUser,
            subject_uk: "Вхідний дзвінок від +380501234567 (пропущений)",
            subject_en: "Incoming call from +380501234567 (missed)",
            clocks: ("0:25", "0:00", "0:25"),
        },
        Scenario {
            name: "3 incoming answered new client",
            kind: EventKind::AfterCall,
            direction: Direction::Incoming,
            status: CallStatus::Answered,
            new_client: true,
            manager_known: true,
            call_id: "1712316600.1003",
            duration: 95,
            talk: 83,
            wait: 12,
            ended_at: "2024-04-05T11:31:35Z",
            from: Who::Client,
            to: Who::Manager,
            owner: Who::Manager,
            subject_uk: "Вхідний дзвінок від +380501234567 (прийнятий)",
            subject_en: "Incoming call from +380501234567 (answered)",
            clocks: ("1:35", "1:23", "0:12"),
        },
        Scenario {
            name: "4 incoming missed new client",
            kind: EventKind::AfterCall,
            direction: Direction::Incoming,
            status: CallStatus::Missed,
            new_client: true,
            manager_known: false,
            call_id: "1712316600.1004",
            duration: 25,
            talk: 0,
            wait: 25,
            ended_at: "2024-04-05T11:30:25Z",
            from: Who::Client,
            to: Who::SystemUser,
            owner: Who::SystemUser,
            subject_uk: "Вхідний дзвінок від +380501234567 (пропущений)",
            subject_en: "Incoming call from +380501234567 (missed)",
            clocks: ("0:25", "0:00", "0:25"),
        },
        Scenario {
            name: "5 outgoing answered existing client",
            kind: EventKind::AfterOutgoingCall,
            direction: Direction::Outgoing,
            status: CallStatus::Answered,
            new_client: false,
            manager_known: true,
            call_id: "1712316600.1005",
            duration: 95,
            talk: 83,
            wait: 12,
            ended_at: "2024-04-05T11:31:35Z",
            from: Who::Manager,
            to: Who::Client,
            owner: Who::Manager,
            subject_uk: "Вихідний дзвінок на +380501234567 (прийнятий)",
            subject_en: "Outgoing call to +380501234567 (answered)",
            clocks: ("1:35", "1:23", "0:12"),
        },
        Scenario {
            name: "6 outgoing missed existing client",
            kind: EventKind::AfterOutgoingCall,
            direction: Direction::Outgoing,
            status: CallStatus::Missed,
            new_client: false,
            manager_known: true,
            call_id: "1712316600.1006",
            duration: 30,
            talk: 0,
            wait: 30,
            ended_at: "2024-04-05T11:30:30Z",
            from: Who::Manager,
            to: Who::Client,
            owner: Who::Manager,
            subject_uk: "Вихідний дзвінок на +380501234567 (пропущений)",
            subject_en: "Outgoing call to +380501234567 (missed)",
            clocks: ("0:30", "0:00", "0:30"),
        },
        Scenario {
            name: "7 outgoing answered new client",
            kind: EventKind::AfterOutgoingCall,
            direction: Direction::Outgoing,
            status: CallStatus::Answered,
            new_client: true,
            manager_known: true,
            call_id: "1712316600.1007",
            duration: 95,
            talk: 83,
            wait: 12,
            ended_at: "2024-04-05T11:31:35Z",
            from: Who::Manager,
            to: Who::Client,
            owner: Who::Manager,
            subject_uk: "Вихідний дзвінок на +380501234567 (прийнятий)",
            subject_en: "Outgoing call to +380501234567 (answered)",
            clocks: ("1:35", "1:23", "0:12"),
        },
        Scenario {
            name: "8 outgoing missed new client",
            kind: EventKind::AfterOutgoingCall,
            direction: Direction::Outgoing,
            status: CallStatus::Missed,
            new_client: true,
            manager_known: true,
            call_id: "1712316600.1008",
            duration: 30,
            talk: 0,
            wait: 30,
            ended_at: "2024-04-05T11:30:30Z",
            from: Who::Manager,
            to: Who::Client,
            owner: Who::Manager,
            subject_uk: "Вихідний дзвінок на +380501234567 (пропущений)",
            subject_en: "Outgoing call to +380501234567 (missed)",
            clocks: ("0:30", "0:00", "0:30"),
        },
    ]
}

fn manager() -> CrmUser {
    CrmUser {
        id: "user-olena".to_owned(),
        name: Some("Олена Петренко".to_owned()),
    }
}

fn system_user() -> CrmUser {
    CrmUser {
        id: "user-system".to_owned(),
        name: Some("Ringostat Integration".to_owned()),
    }
}

fn existing_contact() -> ContactRef {
    ContactRef {
        id: "contact-ivan-koval".to_owned(),
        name: Some("Іван Коваль".to_owned()),
        owner_id: Some("user-olena".to_owned()),
        card_url: Some("https://smart.crm.example.com/contacts/contact-ivan-koval".to_owned()),
    }
}

/// The seed: "a contact with the phone number and no name; the system user is responsible".
fn created_contact() -> ContactRef {
    ContactRef {
        id: "contact-new-0501234567".to_owned(),
        name: None,
        owner_id: Some(system_user().id),
        card_url: Some("https://smart.crm.example.com/contacts/contact-new-0501234567".to_owned()),
    }
}

/// The Webhooks 2.0 body Ringostat sends after the call of `s`.
fn webhook_body(s: &Scenario) -> Value {
    let answered = s.status == CallStatus::Answered;
    let disposition = if answered { "ANSWERED" } else { "NO ANSWER" };
    // Ringostat sends an empty `recording` when there is nothing to listen to.
    let recording = if answered { RECORDING } else { "" };
    match s.direction {
        Direction::Incoming => json!({
            "uniqueid": s.call_id,
            "calldate": CALL_DATE,
            "caller": CLIENT_RAW,
            "dst": LINE_RAW,
            "call_type": "in",
            "disposition": disposition,
            "duration": s.duration,
            "waittime": s.wait,
            "billsec": s.talk,
            "recording": recording,
            // Nobody picked up a missed incoming call: Ringostat writes -1 and no name.
            "employee_number": if answered { "1234" } else { "-1" },
            "employee_fio": if answered { "Олена Петренко" } else { "" },
            "pool_name": null,
            "utm_source": "google",
            "utm_medium": "cpc",
        }),
        Direction::Outgoing => json!({
            "uniqueid": s.call_id,
            "calldate": CALL_DATE,
            "caller": "\"Олена Петренко\" <mycompanycom_olena>",
            "dst": CLIENT_RAW,
            "call_type": "out",
            "disposition": disposition,
            "duration": s.duration,
            "waittime": s.wait,
            "billsec": s.talk,
            "recording": recording,
        }),
    }
}

fn parse(s: &Scenario) -> CallEvent {
    let body = serde_json::to_vec(&webhook_body(s)).expect("serialise body");
    CallEvent::from_request(
        s.kind,
        Some("application/json"),
        &body,
        None,
        &ParseOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}: the webhook does not parse: {e}", s.name))
}

fn contact_for(s: &Scenario) -> ResolvedContact {
    if s.new_client {
        ResolvedContact::Created(created_contact())
    } else {
        ResolvedContact::Existing(existing_contact())
    }
}

fn activity(s: &Scenario, language: Language) -> CallActivity {
    let event = parse(s);
    let manager = manager();
    let manager = s.manager_known.then_some(&manager);
    call_activity(&event, &contact_for(s), manager, &system_user(), language)
}

fn party(who: Who, client: &ContactRef) -> Party {
    match who {
        Who::Client => Party::Contact(client.clone()),
        Who::Manager => Party::User(manager()),
        Who::SystemUser => Party::User(system_user()),
    }
}

fn user(who: Who) -> CrmUser {
    match who {
        Who::Manager => manager(),
        Who::SystemUser => system_user(),
        Who::Client => panic!("the owner of a call record is a CRM user"),
    }
}

/// Every label the description uses, per language.
struct Expected {
    status: &'static str,
    answered: &'static str,
    missed: &'static str,
    duration: &'static str,
    talk: &'static str,
    wait: &'static str,
    manager: &'static str,
    line: &'static str,
    recording: &'static str,
    new_client: &'static str,
}

const UK: Expected = Expected {
    status: "Статус",
    answered: "прийнятий",
    missed: "пропущений",
    duration: "Тривалість",
    talk: "розмова",
    wait: "очікування",
    manager: "Менеджер",
    line: "Лінія",
    recording: "Запис",
    new_client: "Новий клієнт: контакт створено під час цього дзвінка",
};

const EN: Expected = Expected {
    status: "Status",
    answered: "answered",
    missed: "missed",
    duration: "Duration",
    talk: "talk",
    wait: "wait",
    manager: "Manager",
    line: "Line",
    recording: "Recording",
    new_client: "New client: contact created for this call",
};

fn check(s: &Scenario, language: Language) {
    let row = format!("{} [{language:?}]", s.name);
    let a = activity(s, language);
    let client = if s.new_client {
        created_contact()
    } else {
        existing_contact()
    };

    // The five fields the seed fills automatically.
    assert_eq!(a.from, party(s.from, &client), "{row}: Call From");
    assert_eq!(a.to, party(s.to, &client), "{row}: Call To");
    assert_eq!(a.phone_number.e164(), CLIENT_E164, "{row}: Phone Number");
    assert_eq!(a.direction, s.direction, "{row}: Direction");
    assert_eq!(a.regarding.id, client.id, "{row}: Regarding");
    assert_eq!(a.regarding, client, "{row}: Regarding contact");

    // Existing vs new client.
    assert_eq!(a.new_contact, s.new_client, "{row}: new_contact");
    if s.new_client {
        assert_eq!(
            a.regarding.owner_id.as_deref(),
            Some(system_user().id.as_str()),
            "{row}: the system user is responsible for the created contact"
        );
        assert_eq!(
            a.regarding.name, None,
            "{row}: the created contact has no name"
        );
    } else {
        assert_eq!(
            a.regarding.name.as_deref(),
            Some("Іван Коваль"),
            "{row}: the call is attached to the existing contact"
        );
    }

    // The rest of the record.
    assert_eq!(a.call_id, s.call_id, "{row}: call_id");
    assert_eq!(a.status, s.status, "{row}: status");
    assert_eq!(a.owner, user(s.owner), "{row}: owner");
    let subject = match language {
        Language::Uk => s.subject_uk,
        Language::En => s.subject_en,
    };
    assert_eq!(a.subject, subject, "{row}: subject");
    let started: Timestamp = STARTED_AT.parse().unwrap();
    let ended: Timestamp = s.ended_at.parse().unwrap();
    assert_eq!(a.started_at, Some(started), "{row}: started_at");
    assert_eq!(a.ended_at, Some(ended), "{row}: ended_at");
    assert_eq!(
        ended.duration_since(started).as_secs(),
        i64::from(s.duration),
        "{row}: ended_at = started_at + duration"
    );
    assert_eq!(a.duration_secs, s.duration, "{row}: duration_secs");
    assert_eq!(a.talk_secs, s.talk, "{row}: talk_secs");
    assert_eq!(a.wait_secs, s.wait, "{row}: wait_secs");
    let answered = s.status == CallStatus::Answered;
    assert_eq!(
        a.recording_url.as_deref(),
        answered.then_some(RECORDING),
        "{row}: recording_url"
    );

    // The description.
    let l = match language {
        Language::Uk => &UK,
        Language::En => &EN,
    };
    let d = &a.description;
    let lines: Vec<&str> = d.lines().collect();
    let has_line = |line: &str| lines.contains(&line);
    let starts = |prefix: &str| lines.iter().any(|x| x.starts_with(prefix));

    let status_line = if answered {
        format!("{}: {} (ANSWERED)", l.status, l.answered)
    } else {
        format!("{}: {} (NO ANSWER)", l.status, l.missed)
    };
    assert!(has_line(&status_line), "{row}: `{status_line}` in\n{d}");
    let (total, talk, wait) = s.clocks;
    let duration_line = format!(
        "{}: {total} ({} {talk}, {} {wait})",
        l.duration, l.talk, l.wait
    );
    assert!(has_line(&duration_line), "{row}: `{duration_line}` in\n{d}");

    let recording_line = format!("{}: {RECORDING}", l.recording);
    if answered {
        assert!(
            has_line(&recording_line),
            "{row}: `{recording_line}` in\n{d}"
        );
    } else {
        for label in [UK.recording, EN.recording] {
            assert!(!starts(label), "{row}: no `{label}` line in\n{d}");
        }
    }

    let line_line = format!("{}: {LINE_E164}", l.line);
    match s.direction {
        Direction::Incoming => assert!(has_line(&line_line), "{row}: `{line_line}` in\n{d}"),
        Direction::Outgoing => {
            assert!(
                !starts(l.line),
                "{row}: no tracking line on outgoing in\n{d}"
            )
        }
    }

    let manager_line = format!("{}: Олена Петренко", l.manager);
    if s.manager_known {
        assert!(has_line(&manager_line), "{row}: `{manager_line}` in\n{d}");
    } else {
        assert!(!starts(l.manager), "{row}: no manager line in\n{d}");
    }

    assert_eq!(
        has_line(l.new_client),
        s.new_client,
        "{row}: the new-client line is there exactly for new contacts in\n{d}"
    );
    let id_line = format!("Ringostat ID: {}", s.call_id);
    assert!(has_line(&id_line), "{row}: `{id_line}` in\n{d}");
}

#[test]
fn all_eight_seed_scenarios_are_covered_once() {
    let rows = scenarios();
    assert_eq!(rows.len(), 8);
    for (i, s) in rows.iter().enumerate() {
        assert!(
            s.name.starts_with(&format!("{} ", i + 1)),
            "row {i} is named after seed scenario {}: {}",
            i + 1,
            s.name
        );
    }
    let mut combos: Vec<_> = rows
        .iter()
        .map(|s| (s.direction, s.status, s.new_client))
        .collect();
    combos.sort_by_key(|c| format!("{c:?}"));
    combos.dedup();
    assert_eq!(
        combos.len(),
        8,
        "every direction × outcome × client combination"
    );
}

#[test]
fn seed_scenarios_in_ukrainian() {
    for s in &scenarios() {
        check(s, Language::Uk);
    }
}

#[test]
fn seed_scenarios_in_english() {
    for s in &scenarios() {
        check(s, Language::En);
    }
}

/// Pins the layout of the whole description once per direction and language.
#[test]
fn full_descriptions_of_scenarios_1_and_8() {
    let rows = scenarios();

    let first = activity(&rows[0], Language::Uk);
    assert_eq!(
        first.description,
        format!(
            "Статус: прийнятий (ANSWERED)\n\
             Тривалість: 1:35 (розмова 1:23, очікування 0:12)\n\
             Менеджер: Олена Петренко\n\
             Лінія: +380441112233\n\
             Запис: {RECORDING}\n\
             Ringostat ID: 1712316600.1001"
        ),
        "{}",
        rows[0].name
    );

    let eighth = activity(&rows[7], Language::En);
    assert_eq!(
        eighth.description,
        "Status: missed (NO ANSWER)\n\
         Duration: 0:30 (talk 0:00, wait 0:30)\n\
         Manager: Олена Петренко\n\
         New client: contact created for this call\n\
         Ringostat ID: 1712316600.1008",
        "{}",
        rows[7].name
    );
}

/// The parser reads who is who from the Ringostat fields, whatever the mapping then does.
#[test]
fn webhooks_put_the_client_on_the_right_side() {
    for s in &scenarios() {
        let event = parse(s);
        let row = s.name;
        assert_eq!(event.direction, s.direction, "{row}: direction");
        assert_eq!(
            event.client_phone.e164(),
            CLIENT_E164,
            "{row}: client_phone"
        );
        assert_eq!(event.status(), s.status, "{row}: status");
        assert!(
            event.ignored_fields.is_empty(),
            "{row}: {:?}",
            event.ignored_fields
        );
        match s.direction {
            Direction::Incoming => {
                assert_eq!(
                    event.line_phone.as_ref().map(|p| p.e164()),
                    Some(LINE_E164),
                    "{row}: the tracking line"
                );
            }
            Direction::Outgoing => {
                assert_eq!(event.line_phone, None, "{row}: no tracking line");
                assert_eq!(
                    event.employee.sip_login.as_deref(),
                    Some("mycompanycom_olena"),
                    "{row}: the manager's SIP login"
                );
                assert_eq!(
                    event.employee.name.as_deref(),
                    Some("Олена Петренко"),
                    "{row}: the manager's name"
                );
            }
        }
    }
}
