//! The sandbox page as a person reads it: after the eight seed scenarios and an AI analysis
//! went through the real handlers, `GET /` shows each scenario's contact card with its call at
//! the call's time in Europe/Kyiv, its length as m:ss and the manager by name, and the AI
//! comment on the existing client's card, for NetHunt and for Dataverse.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use bridge_core::ports::CrmKind;
use bridge_tests::flows;
use bridge_tests::rig::Rig;
use crm_sandbox::RunCrm;

/// One seed scenario as the page must show it.
struct Shown {
    call_id: &'static str,
    /// Digits of the client's number.
    client: &'static str,
    /// `None`: a contact created for the call, with no name yet.
    name: Option<&'static str>,
    headline: &'static str,
    duration: &'static str,
    manager_on_call: bool,
}

const EXISTING: &str = "380501234567";

const SCENARIOS: [Shown; 8] = [
    Shown {
        call_id: "ua0_-1712316600.1001",
        client: EXISTING,
        name: Some("Марія Шевченко"),
        headline: "Incoming call, answered",
        duration: "1:35",
        manager_on_call: true,
    },
    Shown {
        call_id: "ua0_-1712316600.1002",
        client: EXISTING,
        name: Some("Марія Шевченко"),
        headline: "Incoming call, missed",
        duration: "0:36",
        manager_on_call: false,
    },
    Shown {
        call_id: "ua0_-1712316600.1003",
        client: "380671110003",
        name: None,
        headline: "Incoming call, answered",
        duration: "1:35",
        manager_on_call: true,
    },
    Shown {
        call_id: "ua0_-1712316600.1004",
        client: "380671110004",
        name: None,
        headline: "Incoming call, missed",
        duration: "0:36",
        manager_on_call: false,
    },
    Shown {
        call_id: "ua0_-1712316600.1005",
        client: EXISTING,
        name: Some("Марія Шевченко"),
        headline: "Outgoing call, answered",
        duration: "1:35",
        manager_on_call: true,
    },
    Shown {
        call_id: "ua0_-1712316600.1006",
        client: EXISTING,
        name: Some("Марія Шевченко"),
        headline: "Outgoing call, missed",
        duration: "0:25",
        manager_on_call: true,
    },
    Shown {
        call_id: "ua0_-1712316600.1007",
        client: "380671110007",
        name: None,
        headline: "Outgoing call, answered",
        duration: "1:35",
        manager_on_call: true,
    },
    Shown {
        call_id: "ua0_-1712316600.1008",
        client: "380671110008",
        name: None,
        headline: "Outgoing call, missed",
        duration: "0:25",
        manager_on_call: true,
    },
];

/// The `<section class="card">` elements of the page.
fn cards(html: &str) -> Vec<&str> {
    html.split("<section class=\"card\"")
        .skip(1)
        .map(|rest| rest.split("</section>").next().unwrap_or(rest))
        .collect()
}

/// The card's title: name and number.
fn title(card: &str) -> &str {
    let start = card.find("<h3>").expect("a card has a title");
    let end = card.find("</h3>").expect("a closed title");
    &card[start..end]
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// The one card whose title shows the number.
fn card_of<'a>(html: &'a str, client: &str) -> &'a str {
    let matching: Vec<&str> = cards(html)
        .into_iter()
        .filter(|card| digits(title(card)).contains(client))
        .collect();
    assert_eq!(matching.len(), 1, "one card for {client} in {html}");
    matching[0]
}

/// The call on the card's timeline that names the Ringostat call (its AI comment names it too).
fn entry_of<'a>(card: &'a str, call_id: &str) -> &'a str {
    card.split("<li ")
        .filter(|entry| entry.starts_with("class=\"call"))
        .find(|entry| entry.contains(&format!("Ringostat ID: {call_id}")))
        .unwrap_or_else(|| panic!("no entry of {call_id} in {card}"))
}

async fn page(rig: &Rig) -> String {
    let response = reqwest::get(rig.sandbox.base_url()).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

async fn each_scenario_has_its_card_and_call(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    let run = match kind {
        CrmKind::NetHunt => RunCrm::NetHunt,
        CrmKind::Dataverse => RunCrm::Dataverse,
    };
    rig.sandbox.state().page.crm = Some(run);
    let existing = rig.seed_existing_client();
    flows::eight_seed_scenarios(&rig, &existing).await;
    rig.invoke("call-analysis-summary.json")
        .await
        .assert_outcome("analysis_added");

    let html = page(&rig).await;
    assert!(
        html.contains(&format!("writes to <strong>{}</strong>", run.label())),
        "the run's CRM is named at the top"
    );
    assert_eq!(
        cards(&html).len(),
        5,
        "the existing client and four new ones"
    );
    for scenario in &SCENARIOS {
        let card = card_of(&html, scenario.client);
        match scenario.name {
            Some(name) => assert!(title(card).contains(name), "{}", title(card)),
            // NetHunt leaves the name empty; Smart CRM names the contact by its number.
            None => match kind {
                CrmKind::NetHunt => assert!(title(card).contains("No name yet"), "{}", title(card)),
                CrmKind::Dataverse => assert!(
                    title(card).starts_with(&format!("<h3>+{}<", scenario.client)),
                    "{}",
                    title(card)
                ),
            },
        }
        let entry = entry_of(card, scenario.call_id);
        for expected in [
            // 2024-04-05 14:30:00 Kyiv time, as Ringostat sent it (11:30 UTC).
            "<time datetime=\"2024-04-05T11:30:00Z\">2024-04-05 14:30:00</time>",
            &format!("<strong>{}</strong>", scenario.headline),
            &format!("<span class=\"duration\">{}</span>", scenario.duration),
        ] {
            assert!(
                entry.contains(expected),
                "{}: `{expected}` in {entry}",
                scenario.call_id
            );
        }
        if scenario.manager_on_call {
            assert!(
                entry.contains("<span class=\"manager\">Олена Коваленко</span>"),
                "{}: the manager by name in {entry}",
                scenario.call_id
            );
        }
        if scenario.headline.ends_with("answered") {
            assert!(
                entry.contains(&format!(
                    "<a href=\"https://app.ringostat.com/recordings/{}.mp3?token=rec-token\">recording</a>",
                    scenario.call_id
                )),
                "{}: the recording link in {entry}",
                scenario.call_id
            );
        }
    }
    let client = card_of(&html, EXISTING);
    assert!(
        client.contains("<dd>Олена Коваленко</dd>"),
        "the owner by name"
    );
    let comment = client
        .split("<li ")
        .find(|entry| entry.starts_with("class=\"note\""))
        .expect("the AI comment on the client's card");
    for part in ["AI-аналіз дзвінка", "Настрій клієнта: позитивний"]
    {
        assert!(comment.contains(part), "`{part}` in {comment}");
    }
    assert!(!html.contains("1.58"), "no decimal minutes on the cards");
}

/// A new number rings: its card shows the UTM tags, the deal and the Smart Phone sync with the
/// responsible user by name, not by id.
async fn a_new_client_card_shows_tags_deal_and_sync(kind: CrmKind) {
    let rig = Rig::new(kind).await;
    rig.invoke("before-call-new-client.json")
        .await
        .assert_outcome("contact_ready");
    let html = page(&rig).await;
    let card = card_of(&html, "380671110001");
    let source_tag = match kind {
        CrmKind::NetHunt => "<span class=\"tag\">Джерело: google</span>",
        CrmKind::Dataverse => "<span class=\"tag\">new_utmsource: google</span>",
    };
    let system_user = match kind {
        CrmKind::NetHunt => "Ringostat Bridge",
        CrmKind::Dataverse => crm_sandbox::dataverse::SYSTEM_USER_NAME,
    };
    for expected in [
        source_tag,
        "<dt>Deal</dt><dd>Дзвінок з +380671110001",
        "Synced to Ringostat Smart Phone",
        &format!("responsible: {system_user}"),
        &format!("<dt>Owner</dt><dd>{system_user}</dd>"),
    ] {
        assert!(card.contains(expected), "`{expected}` in {card}");
    }
}

bridge_tests::for_both_crms!(
    each_scenario_has_its_card_and_call,
    a_new_client_card_shows_tags_deal_and_sync
);
