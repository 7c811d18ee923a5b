//! Faults as a real client (reqwest) sees them: filters leave other requests alone,
//! `AfterWrite` lands the write and answers an error, `AfterWriteReset` lands the write and
//! gives the client a connection error instead of a response.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;

fn contacts_url(sandbox: &Sandbox, tail: &str) -> String {
    format!("{}{tail}", sandbox.nethunt_base_url())
}

fn nethunt(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
) -> reqwest::RequestBuilder {
    let credentials = Credentials::default();
    client
        .request(method, url)
        .basic_auth(credentials.nethunt_email, Some(credentials.nethunt_api_key))
}

async fn seeded() -> (Sandbox, String) {
    let sandbox = Sandbox::start().await.unwrap();
    let contact = sandbox
        .state()
        .nethunt
        .seed_contact("+380501234567", "Іван", "olena@acme.ua");
    (sandbox, contact)
}

async fn create_call_log(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    contact: &str,
) -> reqwest::Result<reqwest::Response> {
    let url = contacts_url(sandbox, &format!("/actions/create-call-log/{contact}"));
    nethunt(client, reqwest::Method::POST, &url)
        .json(&json!({"text": "Вхідний дзвінок", "duration": 1.5}))
        .send()
        .await
}

async fn find_contact(client: &reqwest::Client, sandbox: &Sandbox, contact: &str) -> u16 {
    let url = contacts_url(
        sandbox,
        &format!(
            "/searches/find-record/{}?recordId={contact}",
            nethunt::CONTACTS_FOLDER_ID
        ),
    );
    nethunt(client, reqwest::Method::GET, &url)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn after_write_lands_the_write_and_answers_the_status_to_matching_requests_only() {
    let (sandbox, contact) = seeded().await;
    let client = reqwest::Client::new();
    sandbox.inject_matching(
        Fault::AfterWrite { status: 502 },
        1,
        RequestFilter::path_contains("create-call-log"),
    );

    // Not matched: served as usual, the fault stays queued.
    assert_eq!(find_contact(&client, &sandbox, &contact).await, 200);
    assert_eq!(sandbox.pending_faults(), 1);

    let failed = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(failed.status().as_u16(), 502);
    let body = failed.text().await.unwrap();
    assert!(body.contains("injected"), "{body}");
    assert!(
        !body.contains("callLogId"),
        "the real answer is withheld: {body}"
    );
    // ...yet the write landed.
    assert_eq!(
        sandbox.state().nethunt.calls_of(&contact),
        ["Вхідний дзвінок"]
    );
    assert_eq!(sandbox.pending_faults(), 0);

    // The next one is served normally and answers the real body.
    let ok = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: Value = ok.json().await.unwrap();
    assert!(body["callLogId"].is_string(), "{body}");
    assert_eq!(sandbox.state().nethunt.call_count(), 2);

    let statuses: Vec<(String, u16)> = sandbox
        .requests()
        .into_iter()
        .map(|r| (r.method, r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("GET".to_owned(), 200),
            ("POST".to_owned(), 502),
            ("POST".to_owned(), 200)
        ]
    );
}

#[tokio::test]
async fn after_write_reset_lands_the_write_and_gives_the_client_an_error_not_a_response() {
    let (sandbox, contact) = seeded().await;
    let client = reqwest::Client::new();
    // A kept-alive connection first, so the reset hits a reused connection: the client must
    // not silently re-send the POST on a fresh one.
    assert_eq!(find_contact(&client, &sandbox, &contact).await, 200);
    sandbox.inject_matching(
        Fault::AfterWriteReset,
        1,
        RequestFilter::method_path("POST", "/actions/create-call-log/"),
    );

    let outcome = create_call_log(&client, &sandbox, &contact).await;

    let error = match outcome {
        Ok(response) => panic!("expected a connection error, got {}", response.status()),
        Err(error) => error,
    };
    assert!(error.is_request() && !error.is_status(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(
        sandbox.state().nethunt.calls_of(&contact),
        ["Вхідний дзвінок"],
        "the write landed exactly once"
    );
    let last = sandbox.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("POST", 0));

    // The server lives on; the same client reconnects.
    let ok = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(sandbox.state().nethunt.call_count(), 2);
}

#[tokio::test]
async fn a_method_and_path_filter_leaves_other_dataverse_requests_alone() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{}/sandbox-tenant/oauth2/v2.0/token", sandbox.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=sandbox-client&client_secret=sandbox-secret&scope=http%3A%2F%2F127.0.0.1%2F.default")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let contact = sandbox.state().dataverse.seed_contact(
        "+380501234567",
        "Olha Petrenko",
        dataverse::MANAGER_USER_ID,
    );
    let api = |method: reqwest::Method, set: &str| {
        client
            .request(
                method,
                format!("{}/api/data/v9.2/{set}", sandbox.base_url()),
            )
            .header("authorization", &bearer)
            .header("accept", "application/json")
            .header("odata-maxversion", "4.0")
            .header("odata-version", "4.0")
    };
    let note = json!({
        "subject": "AI",
        "notetext": "summary",
        "objectid_contact@odata.bind": format!("/contacts({contact})"),
    });
    sandbox.inject_matching(
        Fault::AfterWrite { status: 504 },
        1,
        RequestFilter::method_path("post", "/api/data/v9.2/annotations"),
    );

    let read = api(reqwest::Method::GET, "annotations")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status().as_u16(), 200, "a GET is not a POST");
    let other = api(reqwest::Method::POST, "contacts")
        .json(&json!({"lastname": "Koval"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 204, "another entity set");
    assert_eq!(sandbox.pending_faults(), 1);

    let failed = api(reqwest::Method::POST, "annotations")
        .json(&note)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status().as_u16(), 504);
    let body: Value = failed.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(sandbox.state().dataverse.notes_of(&contact), ["summary"]);
}

#[tokio::test]
async fn unfiltered_faults_keep_their_order_and_skip_nothing() {
    let (sandbox, contact) = seeded().await;
    let client = reqwest::Client::new();
    sandbox.inject(
        Fault::Throttle {
            retry_after_secs: 7,
        },
        1,
    );
    sandbox.inject(Fault::ServerError { status: 503 }, 1);

    let first = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(first.status().as_u16(), 429);
    assert_eq!(first.headers()["retry-after"], "7");
    let second = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(second.status().as_u16(), 503);
    assert_eq!(
        sandbox.state().nethunt.call_count(),
        0,
        "faults before the request serve nothing"
    );
    let third = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(third.status().as_u16(), 200);
}

#[tokio::test]
async fn a_filtered_fault_waits_while_an_older_one_for_other_requests_is_taken_in_turn() {
    let (sandbox, contact) = seeded().await;
    let client = reqwest::Client::new();
    sandbox.inject_matching(
        Fault::ServerError { status: 500 },
        1,
        RequestFilter::path_contains("create-comment"),
    );
    sandbox.inject(Fault::ServerError { status: 503 }, 1);

    // The call log skips the comment's fault and takes the unfiltered one behind it.
    let log = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(log.status().as_u16(), 503);
    let queued: Vec<QueuedFault> = sandbox.state().faults.iter().cloned().collect();
    assert_eq!(
        queued,
        [QueuedFault {
            fault: Fault::ServerError { status: 500 },
            filter: RequestFilter::path_contains("create-comment"),
        }]
    );
}

#[tokio::test]
async fn the_control_route_takes_the_new_faults_and_the_optional_filter() {
    let (sandbox, contact) = seeded().await;
    let client = reqwest::Client::new();
    let push = |body: Value| {
        client
            .post(format!("{}/_sandbox/faults", sandbox.base_url()))
            .json(&body)
            .send()
    };
    for body in [
        json!({"fault": {"kind": "server_error", "status": 503}}),
        json!({"fault": {"kind": "after_write", "status": 502}, "count": 2, "path_contains": "create-comment"}),
        json!({"fault": {"kind": "after_write_reset"}, "method": "POST", "path_contains": "create-call-log"}),
    ] {
        let answer = push(body.clone()).await.unwrap();
        assert_eq!(answer.status().as_u16(), 204, "{body}");
    }
    let bad = push(json!({"fault": {"kind": "after_write_reset"}, "method": 5}))
        .await
        .unwrap();
    assert!(bad.status().is_client_error());

    let queued: Vec<QueuedFault> = sandbox.state().faults.iter().cloned().collect();
    let comment_fault = QueuedFault {
        fault: Fault::AfterWrite { status: 502 },
        filter: RequestFilter::path_contains("create-comment"),
    };
    assert_eq!(
        queued,
        [
            QueuedFault {
                fault: Fault::ServerError { status: 503 },
                filter: RequestFilter::any(),
            },
            comment_fault.clone(),
            comment_fault,
            QueuedFault {
                fault: Fault::AfterWriteReset,
                filter: RequestFilter::method_path("POST", "create-call-log"),
            },
        ]
    );

    // 503 first (unfiltered), then the reset for the call log.
    let first = create_call_log(&client, &sandbox, &contact).await.unwrap();
    assert_eq!(first.status().as_u16(), 503);
    assert!(create_call_log(&client, &sandbox, &contact).await.is_err());
    assert_eq!(sandbox.state().nethunt.call_count(), 1);
    assert_eq!(sandbox.pending_faults(), 2);
}

#[test]
fn filters_compare_methods_without_case_and_paths_by_substring() {
    let filter = RequestFilter::method_path("post", "/annotations");
    assert!(filter.matches("POST", "/api/data/v9.2/annotations"));
    assert!(!filter.matches("GET", "/api/data/v9.2/annotations"));
    assert!(!filter.matches("POST", "/api/data/v9.2/contacts"));
    assert!(RequestFilter::any().matches("DELETE", "/anything"));
    assert_eq!(
        serde_json::to_value(Fault::AfterWriteReset).unwrap(),
        json!({"kind": "after_write_reset"})
    );
    assert_eq!(
        serde_json::from_value::<Fault>(json!({"kind": "after_write", "status": 502})).unwrap(),
        Fault::AfterWrite { status: 502 }
    );
}
