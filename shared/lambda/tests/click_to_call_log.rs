//! Every click-to-call attempt, allowed or refused, leaves one log line with the step, the
//! manager, the masked number and the decision; no line holds the whole number or a signature.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bridge_domain::activity::Language;
use bridge_domain::clock::SystemClock;
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::rate_limit::{Admission, RateLimitError, RateLimiter};
use bridge_domain::ports::ringostat::{Dialer, RingostatApiError};
use bridge_domain::secret::Secret;
use bridge_domain::services::click_to_call::Purpose;
use bridge_domain::services::{CallLimits, ClickToCall, DestinationPolicy, LinkKey};
use bridge_domain::staff::Staff;
use bridge_lambda::logging::LogCapture;
use bridge_lambda::{ClickToCallApp, click_to_call};
use lambda_http::{Body, Request};
use serde_json::Value;

const KEY: &str = "a-click-to-call-key-of-at-least-32-characters";
const MANAGER: &str = "olena@acme.ua";

struct Dialled(Mutex<usize>);

#[async_trait]
impl Dialer for Dialled {
    async fn outward_call(&self, _: &str, _: &str, _: Deadline) -> Result<(), RingostatApiError> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

/// Admits `limit` events per key, with no window (enough for one test).
struct Counting {
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl RateLimiter for Counting {
    async fn admit(&self, key: &str, limit: u32, _: Duration) -> Result<Admission, RateLimitError> {
        let mut seen = self.seen.lock().unwrap();
        if seen.iter().filter(|k| *k == key).count() >= usize::try_from(limit).unwrap() {
            return Ok(Admission::Refused {
                retry_after: Duration::from_secs(60),
            });
        }
        seen.push(key.to_owned());
        Ok(Admission::Admitted)
    }
}

fn app() -> ClickToCallApp {
    let staff =
        r#"[{"crm_user_id": "olena@acme.ua", "name": "Олена", "extension": "380441112233"}]"#;
    ClickToCallApp {
        service: ClickToCall {
            staff: Staff::from_json(staff).unwrap(),
            default_extension: None,
            dialer: Some(Arc::new(Dialled(Mutex::new(0)))),
            key: LinkKey::new(&Secret::new(KEY)).unwrap(),
            policy: DestinationPolicy::default(),
            limits: CallLimits::default(),
            limiter: Arc::new(Counting {
                seen: Mutex::new(Vec::new()),
            }),
            clock: Arc::new(SystemClock),
            device_lifetime: Duration::from_secs(86_400),
        },
        language: Language::En,
        budget: Duration::from_secs(5),
    }
}

fn get(query: &str, cookie: Option<&str>) -> Request {
    let mut request = lambda_http::http::Request::builder()
        .method("GET")
        .uri(format!("https://bridge.example/click-to-call?{query}"));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(Body::Empty).unwrap()
}

fn post(form: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://bridge.example/click-to-call")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn json(response: &lambda_http::Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

/// The confirmation's button as a form.
fn button(page: &Value) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in page["confirm"].as_object().unwrap() {
        form.append_pair(name, value.as_str().unwrap());
    }
    form.finish()
}

#[tokio::test]
async fn every_attempt_is_logged_once_with_manager_masked_number_and_decision() {
    let captured = LogCapture::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = app();
    let key = LinkKey::new(&Secret::new(KEY)).unwrap();
    let exp = jiff::Timestamp::now().as_second() + 600;
    let credential = format!(
        "__Host-ringostat-bridge-click-to-call=olena%40acme%2Eua|{exp}|{}",
        key.sign(Purpose::Device, &[MANAGER], exp)
    );
    let mut expected = Vec::new();
    let page = click_to_call(&app, get("phone=0501234567", Some(&credential))).await;
    assert_eq!(page.status(), 200);
    expected.push(("confirm", "confirm", "+********4567"));
    let page = json(&page);
    let calling = click_to_call(&app, post(&button(&page))).await;
    assert_eq!(calling.status(), 200);
    expected.push(("call", "calling", "+********4567"));
    let again = click_to_call(&app, post(&button(&page))).await;
    assert_eq!(again.status(), 409);
    expected.push(("call", "already_used", "+********4567"));
    let premium = click_to_call(&app, get("phone=%2B380900212345", Some(&credential))).await;
    assert_eq!(premium.status(), 403);
    expected.push(("confirm", "destination_refused", "+********2345"));
    let stranger = click_to_call(&app, get("phone=0501234567", None)).await;
    assert_eq!(stranger.status(), 401);
    expected.push(("confirm", "not_enrolled", "+********4567"));

    let log = captured.text();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["fields"]["event"] == "click_to_call")
        .collect();
    assert_eq!(lines.len(), expected.len(), "{log}");
    for (line, (step, decision, phone)) in lines.iter().zip(&expected) {
        let fields = &line["fields"];
        assert_eq!(fields["step"], *step, "{line}");
        assert_eq!(fields["decision"], *decision, "{line}");
        assert!(
            fields["phone"]
                .as_str()
                .unwrap()
                .ends_with(&phone[phone.len() - 4..]),
            "{line}"
        );
        assert!(fields["phone"].as_str().unwrap().contains('*'), "{line}");
        if *decision != "not_enrolled" {
            assert_eq!(fields["manager"], MANAGER, "{line}");
        }
    }
    for secret in ["0501234567", "380501234567", "900212345"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    let signature = page["confirm"]["sig"].as_str().unwrap();
    assert!(!log.contains(signature), "a signature in the log");
}
