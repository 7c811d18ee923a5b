//! The page as HTML: escaping, the time zone, ordering, the run's CRM and the raw tables.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use super::*;
use crate::Sandbox;

fn at(text: &str) -> Option<Timestamp> {
    Some(text.parse().unwrap())
}

fn call_entry(when: &str, subject: &str, description: &str) -> Entry {
    Entry {
        at: at(when),
        what: What::Call(Call::from_text(subject, description)),
    }
}

#[test]
fn a_card_is_escaped_and_shows_times_in_the_run_time_zone() {
    let card = Card {
        id: "c1".into(),
        name: "<b>Іван</b> & Co".into(),
        phones: vec!["+380501234567".into()],
        facts: vec![("Owner".into(), "Олена Коваленко".into())],
        tags: vec!["utm_source: <script>".into()],
        deals: vec![Deal {
            name: "Дзвінок з +380501234567".into(),
            stage: Some("Новий".into()),
            owner: None,
        }],
        timeline: vec![
            call_entry(
                "2024-04-05T11:30:00Z",
                "Incoming call from +380501234567 (answered)",
                "Duration: 1:35 (talk 1:23, wait 0:12)\nManager: Olena\n\
                 Recording: https://example.com/r.mp3?a=1&b=\"2\"",
            ),
            call_entry(
                "2024-01-15T08:00:00Z",
                "Outgoing call to +380501234567 (missed)",
                "Recording: javascript:alert(1)",
            ),
        ],
        created: None,
    };
    let mut settings = PageSettings::default();
    let html = render_card(&card, &settings);
    for expected in [
        "&lt;b&gt;Іван&lt;/b&gt; &amp; Co",
        "utm_source: &lt;script&gt;",
        // 11:30 UTC is 14:30 in Kyiv in April (summer time), 10:00 in January.
        "<time datetime=\"2024-04-05T11:30:00Z\">2024-04-05 14:30:00</time>",
        "2024-01-15 10:00:00",
        "<strong>Incoming call, answered</strong>",
        "<strong>Outgoing call, missed</strong>",
        "<span class=\"duration\">1:35</span>",
        "<span class=\"manager\">Olena</span>",
        "<a href=\"https://example.com/r.mp3?a=1&amp;b=&quot;2&quot;\">recording</a>",
        "stage Новий",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
    assert!(!html.contains("<b>Іван"));
    assert!(!html.contains("<script>"));
    assert!(
        !html.contains("href=\"javascript:"),
        "only web links become links"
    );

    settings.set_time_zone("America/New_York").unwrap();
    let html = render_card(&card, &settings);
    assert!(html.contains("2024-04-05 07:30:00"), "{html}");
    assert_eq!(
        settings.set_time_zone("Kyiv"),
        Err(UnknownTimeZone("Kyiv".into()))
    );
    assert_eq!(settings.time_zone_name(), "America/New_York", "kept");
}

#[test]
fn the_call_text_is_read_in_either_language() {
    let uk = Call::from_text(
        "Вихідний дзвінок на +380671110008 (пропущений)",
        "Статус: пропущений (NO ANSWER)\nТривалість: 0:25 (розмова 0:00, очікування 0:25)\n\
         Менеджер: Олена Коваленко",
    );
    assert_eq!(
        (uk.incoming, uk.answered, uk.duration.as_deref()),
        (Some(false), Some(false), Some("0:25"))
    );
    assert_eq!(uk.manager.as_deref(), Some("Олена Коваленко"));
    assert_eq!(uk.recording, None);
    let unknown = Call::from_text("Дзвінок", "Тривалість: довго");
    assert_eq!(
        (unknown.incoming, unknown.answered, unknown.duration),
        (None, None, None)
    );
    assert_eq!(clock(0), "0:00");
    assert_eq!(clock(95), "1:35");
    assert_eq!(clock(3725), "1:02:05");
}

#[test]
fn numbers_match_across_notations() {
    assert!(same_number("380501234567", "+380501234567"));
    assert!(same_number("0501234567", "+38 (050) 123-45-67"));
    assert!(!same_number("380501234567", "380501234568"));
    assert!(
        !same_number("", "380501234567"),
        "nothing matches no number"
    );
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_page_names_the_run_crm_and_keeps_the_other_a_click_away() {
    let sandbox = Sandbox::start().await.unwrap();
    {
        let mut state = sandbox.state();
        state.seed_demo();
    }
    let base = sandbox.base_url();

    let (status, both) = get(&format!("{base}/")).await;
    assert_eq!(status, 200);
    assert!(both.contains("started without <code>--crm</code>"));
    assert!(both.contains("<h2>NetHunt: 1 contact</h2>"));
    assert!(both.contains("<h2>Smart CRM (Dataverse): 1 contact</h2>"));

    sandbox.state().page.crm = Some(RunCrm::Dataverse);
    let (_, run) = get(&format!("{base}/")).await;
    assert!(run.contains("writes to <strong>Smart CRM (Dataverse)</strong>"));
    assert!(run.contains("<h2>Smart CRM (Dataverse): 1 contact</h2>"));
    assert!(!run.contains("<h2>NetHunt"), "the other CRM is not shown");
    assert!(run.contains("<a href=\"/?crm=nethunt\">NetHunt (not used by this run)</a>"));
    assert!(run.contains("<a href=\"/raw\">Raw tables</a>"));
    assert!(run.contains("Times in Europe/Kyiv"));
    // The demo client, owned by the manager as the events name her.
    assert!(run.contains("Марія Шевченко"));
    assert!(run.contains("<dd>Олена Коваленко</dd>"));

    let (_, other) = get(&format!("{base}/?crm=nethunt")).await;
    assert!(other.contains("<h2>NetHunt: 1 contact</h2>"));
    assert!(other.contains("Back to Smart CRM (Dataverse) (this run)"));
    assert!(other.contains("<dd>Олена Коваленко</dd>"));

    let (status, refused) = get(&format!("{base}/?crm=pipedrive")).await;
    assert_eq!(status, 400);
    assert!(refused.contains("`pipedrive` is no CRM"), "{refused}");

    let (status, raw) = get(&format!("{base}/raw")).await;
    assert_eq!(status, 200);
    for section in [
        "<h2>NetHunt</h2>",
        "<h2>Dataverse (Smart CRM)</h2>",
        "Smart Phone",
    ] {
        assert!(raw.contains(section), "{section}");
    }
    assert!(
        sandbox.requests().is_empty(),
        "the pages are no CRM requests"
    );
}

#[tokio::test]
async fn contacts_with_the_latest_activity_come_first() {
    let sandbox = Sandbox::start().await.unwrap();
    let (old, new) = {
        let mut state = sandbox.state();
        state.page.crm = Some(RunCrm::NetHunt);
        let old = state.nethunt.seed_contact("+380501111111", "Перший", "");
        let new = state.nethunt.seed_contact("+380502222222", "Другий", "");
        (old, new)
    };
    let (_, html) = get(&sandbox.base_url()).await;
    let first = html.find("Перший").unwrap();
    let second = html.find("Другий").unwrap();
    assert!(
        second < first,
        "the newer contact first ({new} before {old})"
    );
}

#[tokio::test]
async fn syncs_and_click_to_call_requests_join_the_contacts_timeline() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = {
        let mut state = sandbox.state();
        state.page.crm = Some(RunCrm::NetHunt);
        state
            .nethunt
            .seed_contact("+380501234567", "Марія Шевченко", "")
    };
    let key = sandbox.credentials().ringostat_auth_key;
    let http = reqwest::Client::new();
    let synced = http
        .post(format!("{}/minicrm/contacts/sync", sandbox.base_url()))
        .header("auth-key", &key)
        .header("x-project-id", "12345")
        .json(&serde_json::json!({"contacts": [{
            "projectId": 12345, "fullName": "Марія Шевченко", "origin": "NetHunt",
            "externalId": client, "leadId": null, "responsible": crate::DEMO_MANAGER_EMAIL,
            "staffId": null, "contactLink": null, "leadLink": null, "dealLink": null,
            "googleClientId": null,
            "contactDirections": [{"type": "phone", "name": "personal", "value": "+380501234567"}],
            "organizations": []
        }]}))
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200, "{}", synced.text().await.unwrap());
    let called = http
        .post(format!("{}/callback/outward_call", sandbox.base_url()))
        .header("Auth-key", &key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("extension=380441112233&destination=380501234567")
        .send()
        .await
        .unwrap();
    assert_eq!(called.status(), 200);

    let (_, html) = get(&sandbox.base_url()).await;
    for expected in [
        "Synced to Ringostat Smart Phone</strong> as “Марія Шевченко”, responsible: Олена Коваленко",
        "<strong>Click-to-call</strong>: Ringostat rings 380441112233 first, then dials 380501234567",
    ] {
        assert!(html.contains(expected), "{expected} missing from {html}");
    }
}

#[test]
fn a_calls_owner_is_shown_only_when_it_is_not_the_manager() {
    let settings = PageSettings::default();
    let render = |manager: Option<&str>, owner: &str| {
        let mut call = Call::from_text("Incoming call from +380501234567 (missed)", "");
        call.manager = manager.map(str::to_owned);
        call.owner = Some(owner.to_owned());
        render_entry(
            &Entry {
                at: None,
                what: What::Call(call),
            },
            &settings,
        )
    };
    let nobody_took_it = render(None, "# Ringostat Bridge");
    assert!(nobody_took_it.contains("<span class=\"owner\">owner # Ringostat Bridge</span>"));
    let taken = render(Some("Олена Коваленко"), "Олена Коваленко");
    assert!(taken.contains("<span class=\"manager\">Олена Коваленко</span>"));
    assert!(!taken.contains("owner"), "{taken}");
}
