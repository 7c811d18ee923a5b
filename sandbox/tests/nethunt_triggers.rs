//! The NetHunt polling triggers a writer uses to check whether an ambiguous write landed:
//! `new-record`, `new-comment` and `new-call-log` with `since` and `limit`, newest first, only
//! the folder's records, Basic auth like every other route.
#![allow(clippy::unwrap_used)]

use crm_sandbox::nethunt::{CONTACTS_FOLDER_ID, DEALS_FOLDER_ID, fields};
use crm_sandbox::{Credentials, Sandbox};
use serde_json::{Value, json};

struct Api {
    sandbox: Sandbox,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            sandbox: Sandbox::start().await.unwrap(),
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, tail: &str) -> String {
        format!("{}{tail}", self.sandbox.nethunt_base_url())
    }

    async fn get(&self, tail: &str) -> (u16, String) {
        let credentials = Credentials::default();
        let response = self
            .client
            .get(self.url(tail))
            .basic_auth(credentials.nethunt_email, Some(credentials.nethunt_api_key))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn list(&self, tail: &str) -> Vec<Value> {
        let (status, body) = self.get(tail).await;
        assert_eq!(status, 200, "{tail}: {body}");
        serde_json::from_str::<Vec<Value>>(&body).unwrap()
    }

    async fn post(&self, tail: &str, body: Value) -> Value {
        let credentials = Credentials::default();
        let response = self
            .client
            .post(self.url(tail))
            .basic_auth(credentials.nethunt_email, Some(credentials.nethunt_api_key))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }
}

fn texts(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["text"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn new_call_logs_come_newest_first_from_the_folders_records_since_the_given_time() {
    let api = Api::start().await;
    let (contact, deal) = {
        let mut state = api.sandbox.state();
        let contact = state.nethunt.seed_contact("+380501234567", "Іван", "");
        let deal = state
            .nethunt
            .seed_record(DEALS_FOLDER_ID, json!({ fields::NAME: "Угода" }))
            .unwrap();
        (contact, deal)
    };
    let mut ids = Vec::new();
    for text in ["old", "first", "second"] {
        let answer = api
            .post(
                &format!("/actions/create-call-log/{contact}"),
                json!({"text": text, "time": "2024-05-01T10:00:00.000Z", "duration": 1.5}),
            )
            .await;
        ids.push(answer["callLogId"].as_str().unwrap().to_owned());
    }
    api.post(
        &format!("/actions/create-call-log/{deal}"),
        json!({"text": "on a deal"}),
    )
    .await;
    api.sandbox
        .state()
        .nethunt
        .set_created_at(&ids[0], "2024-01-01T00:00:00.000Z");
    let since = "2024-06-01T00:00:00.000Z";

    let recent = api
        .list(&format!(
            "/triggers/new-call-log/{CONTACTS_FOLDER_ID}?since={since}&limit=10"
        ))
        .await;

    assert_eq!(texts(&recent), ["second", "first"]);
    let newest = &recent[0];
    assert_eq!(newest["callLogId"], ids[2].as_str());
    assert_eq!(newest["recordId"], contact.as_str());
    assert_eq!(newest["time"], "2024-05-01T10:00:00.000Z");
    assert_eq!(newest["duration"], 1.5);
    assert!(newest["createdAt"].as_str().unwrap().ends_with('Z'));

    // Without since: everything on the folder's records; limit cuts the oldest.
    let all = api
        .list(&format!("/triggers/new-call-log/{CONTACTS_FOLDER_ID}"))
        .await;
    assert_eq!(texts(&all), ["second", "first", "old"]);
    let one = api
        .list(&format!(
            "/triggers/new-call-log/{CONTACTS_FOLDER_ID}?limit=1"
        ))
        .await;
    assert_eq!(texts(&one), ["second"]);
    let deals = api
        .list(&format!("/triggers/new-call-log/{DEALS_FOLDER_ID}"))
        .await;
    assert_eq!(texts(&deals), ["on a deal"]);

    // since is inclusive, to the millisecond.
    api.sandbox
        .state()
        .nethunt
        .set_created_at(&ids[1], "2024-06-01T00:00:00.000Z");
    let at_since = api
        .list(&format!(
            "/triggers/new-call-log/{CONTACTS_FOLDER_ID}?since=2024-06-01T00%3A00%3A00Z"
        ))
        .await;
    assert_eq!(texts(&at_since), ["second", "first"]);
    let after = api
        .list(&format!(
            "/triggers/new-call-log/{CONTACTS_FOLDER_ID}?since=2024-06-01T00:00:00.001Z"
        ))
        .await;
    assert_eq!(texts(&after), ["second"]);
}

#[tokio::test]
async fn new_comments_match_the_create_answer() {
    let api = Api::start().await;
    let contact = api
        .sandbox
        .state()
        .nethunt
        .seed_contact("+380501234567", "Іван", "");
    let created = api
        .post(
            &format!("/actions/create-comment/{contact}"),
            json!({"text": "AI: клієнт задоволений"}),
        )
        .await;
    api.post(
        &format!("/actions/create-comment/{contact}"),
        json!({"text": "later"}),
    )
    .await;

    let recent = api
        .list(&format!(
            "/triggers/new-comment/{CONTACTS_FOLDER_ID}?since=2024-01-01T00:00:00.000Z&limit=5"
        ))
        .await;

    assert_eq!(texts(&recent), ["later", "AI: клієнт задоволений"]);
    assert_eq!(
        recent[1], created,
        "the same object create-comment answered"
    );
    let deals = api
        .list(&format!("/triggers/new-comment/{DEALS_FOLDER_ID}"))
        .await;
    assert!(deals.is_empty());
}

#[tokio::test]
async fn new_records_are_the_folders_records_since_newest_first() {
    let api = Api::start().await;
    let (old, newer, newest) = {
        let mut state = api.sandbox.state();
        let old = state.nethunt.seed_contact("+380500000001", "Old", "");
        let newer = state.nethunt.seed_contact("+380500000002", "Newer", "");
        let newest = state.nethunt.seed_contact("+380500000003", "Newest", "");
        state
            .nethunt
            .seed_record(DEALS_FOLDER_ID, json!({ fields::NAME: "Угода" }))
            .unwrap();
        state
            .nethunt
            .set_created_at(&old, "2020-01-01T00:00:00.000Z");
        (old, newer, newest)
    };

    let recent = api
        .list(&format!(
            "/triggers/new-record/{CONTACTS_FOLDER_ID}?since=2024-01-01T00:00:00Z"
        ))
        .await;

    let ids: Vec<&str> = recent
        .iter()
        .map(|r| r["recordId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [newest.as_str(), newer.as_str()]);
    assert_eq!(recent[0]["fields"][fields::NAME], "Newest");
    assert!(recent[0]["updatedAt"].is_string());
    let all = api
        .list(&format!("/triggers/new-record/{CONTACTS_FOLDER_ID}"))
        .await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["recordId"], old.as_str());
}

#[tokio::test]
async fn the_triggers_check_auth_folder_since_and_limit() {
    let api = Api::start().await;
    for trigger in ["new-record", "new-comment", "new-call-log"] {
        let unauthorized = api
            .client
            .get(api.url(&format!("/triggers/{trigger}/{CONTACTS_FOLDER_ID}")))
            .basic_auth("bridge@example.com", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthorized.status().as_u16(), 401, "{trigger}");
        for (query, status) in [
            ("", 200),
            ("?since=2024-05-01T10:00:00.000Z&limit=3", 200),
            ("?since=2024-05-01T10:00:00.000%2B00:00", 200),
            // A raw `+` is a space once decoded: not UTC any more.
            ("?since=2024-05-01T10:00:00.000+00:00", 400),
            ("?since=2024-05-01", 400),
            ("?since=yesterday", 400),
            ("?limit=ten", 400),
        ] {
            let (got, body) = api
                .get(&format!("/triggers/{trigger}/{CONTACTS_FOLDER_ID}{query}"))
                .await;
            assert_eq!(got, status, "{trigger}{query}: {body}");
        }
        let (missing, _) = api
            .get(&format!("/triggers/{trigger}/no-such-folder"))
            .await;
        assert_eq!(missing, 404, "{trigger}");
    }
}
