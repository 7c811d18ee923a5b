//! Click-to-call requests as a manager's browser sends them, signed with the local key.

use bridge_core::config::LOCAL_CLICK_TO_CALL_KEY;
use bridge_core::secret::Secret;
use bridge_core::services::LinkKey;
use bridge_core::services::click_to_call::Purpose;
use lambda_http::{Body, Request};

use crate::rig::{Answer, Rig};

/// The host the API Gateway events name.
pub const HOST: &str = "abc123.execute-api.eu-central-1.amazonaws.com";
/// The local staff list's manager, by the reference both CRMs' profiles share.
pub const MANAGER: &str = "olena.kovalenko@smart-crm.example";

/// The local run's click-to-call key.
pub fn key() -> LinkKey {
    LinkKey::new(&Secret::new(LOCAL_CLICK_TO_CALL_KEY)).expect("the local key is long enough")
}

pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn url(query: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("https://{HOST}/click-to-call?{query}")
}

/// `GET /click-to-call?<query>`, with the browser credential `cookie` (`name=value`) if any.
pub fn get(query: &[(&str, &str)], cookie: Option<&str>) -> Request {
    let mut request = lambda_http::http::Request::builder()
        .method("GET")
        .uri(url(query))
        .header("host", HOST);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::Empty).expect("a request")
}

/// `POST /click-to-call` with `fields` as a form, as the pages' buttons send them.
pub fn post(fields: &[(&str, &str)]) -> Request {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://{HOST}/click-to-call"))
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("a request")
}

/// A personal set-up link's query for `manager`, valid until `expires_at`.
pub fn set_up_link(manager: &str, expires_at: i64) -> Vec<(String, String)> {
    vec![
        ("enrol".into(), manager.into()),
        ("exp".into(), expires_at.to_string()),
        (
            "sig".into(),
            key().sign(Purpose::Enrol, &[manager], expires_at),
        ),
    ]
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Sets a browser up for `manager` (the set-up link, then its page's button) and returns its
/// credential as a `Cookie` header value.
pub async fn set_up(rig: &Rig, manager: &str) -> String {
    let link = set_up_link(manager, now() + 3600);
    let page = rig.send(get(&pairs(&link), None)).await;
    assert_eq!(page.status, 200, "set-up page: {:?}", page.json);
    let enrolled = rig.send(post(&form_of(&page))).await;
    assert_eq!(enrolled.status, 200, "set-up: {:?}", enrolled.json);
    let cookie = enrolled.header("set-cookie").expect("a credential");
    cookie.split(';').next().expect("name=value").to_owned()
}

/// The fields the page in `answer` (its JSON) has its button post.
pub fn form_of(answer: &Answer) -> Vec<(&str, &str)> {
    answer.json["confirm"]
        .as_object()
        .unwrap_or_else(|| panic!("no confirmation in {:?}", answer.json))
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
        .collect()
}

/// The CRM button's request for `phone` from a browser set up with `cookie`.
pub async fn confirm(rig: &Rig, cookie: &str, phone: &str) -> Answer {
    rig.send(get(&[("phone", phone)], Some(cookie))).await
}

/// The CRM button, then the confirmation's button.
pub async fn call(rig: &Rig, cookie: &str, phone: &str) -> Answer {
    let page = confirm(rig, cookie, phone).await;
    if page.status != 200 {
        return page;
    }
    rig.send(post(&form_of(&page))).await
}

/// The requests Ringostat's API received to start calls.
pub fn ringostat_calls(rig: &Rig) -> usize {
    rig.sandbox
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/callback"))
        .count()
}
