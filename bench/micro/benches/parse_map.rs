//! Parse + map of one webhook: `CallEvent::from_request` (payload → normalised call event) and
//! `call_activity` (call event → the CRM's call record), the pure CPU work every call webhook
//! does before its CRM requests. Target: ≤ 50 µs (docs/benchmarks.md).
//!
//! The bodies are those of `events/`: what API Gateway hands the function. The time zone
//! (`ParseOptions`) is built once, as the functions build it once per cold start.
//!
//! `phone_parse`: `PhoneNumber::parse` alone, steady state.

use std::hint::black_box;

use bridge_core::phone::STORED_NOTATIONS;
use bridge_core::ringostat::{CallEvent, EventKind, ParseOptions};
use bridge_core::{ContactRef, CrmUser, Language, PhoneNumber, ResolvedContact, call_activity};
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::Request;

/// An `events/` file: (the whole API Gateway event, its content type, body and query).
struct Sample {
    event: &'static str,
    content_type: Option<String>,
    body: Vec<u8>,
    query: Option<String>,
}

/// What the function's handler reads from the request: content type, body (API Gateway's
/// base64 already decoded by lambda_http) and query string.
fn sample(event: &'static str) -> Sample {
    let request: Request = lambda_http::request::from_str(event).expect("API Gateway event");
    Sample {
        event,
        content_type: request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: request.body().as_ref().to_vec(),
        query: request.uri().query().map(str::to_owned),
    }
}

fn manager() -> CrmUser {
    CrmUser {
        id: "olena.kovalenko@smart-crm.example".into(),
        name: Some("Олена Коваленко".into()),
    }
}

fn system_user() -> CrmUser {
    CrmUser {
        id: "bridge@example.com".into(),
        name: Some("Ringostat Bridge".into()),
    }
}

fn contact() -> ResolvedContact {
    ResolvedContact::Existing(ContactRef {
        id: "contact-1".into(),
        name: Some("Марія Шевченко".into()),
        owner_id: Some("olena.kovalenko@smart-crm.example".into()),
        card_url: Some("https://crm.example/contacts/contact-1".into()),
    })
}

fn parse_map(c: &mut Criterion) {
    let options = ParseOptions::default();
    let (manager, system_user, contact) = (manager(), system_user(), contact());
    let samples = [
        (
            "after-call json",
            sample(include_str!(
                "../../../events/after-call-1-answered-existing.json"
            )),
        ),
        (
            "after-call form",
            sample(include_str!(
                "../../../events/after-call-form-urlencoded.json"
            )),
        ),
        (
            "after-outgoing-call json",
            sample(include_str!(
                "../../../events/after-outgoing-call-5-answered-existing.json"
            )),
        ),
    ];

    let mut group = c.benchmark_group("parse_map");
    for (name, s) in &samples {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let event = CallEvent::from_request(
                    EventKind::AfterCall,
                    s.content_type.as_deref(),
                    black_box(&s.body),
                    s.query.as_deref(),
                    &options,
                )
                .expect("the sample parses");
                call_activity(&event, &contact, Some(&manager), &system_user, Language::Uk)
            })
        });
    }
    group.finish();

    // The same, starting from the API Gateway event JSON as the runtime receives it
    // (lambda_http's deserialisation into an `http::Request` included).
    let (_, s) = &samples[0];
    let mut group = c.benchmark_group("apigw_event_to_activity");
    group.bench_function("after-call json", |b| {
        b.iter(|| {
            let request: Request =
                lambda_http::request::from_str(black_box(s.event)).expect("API Gateway event");
            let content_type = request
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            let event = CallEvent::from_request(
                EventKind::AfterCall,
                content_type,
                request.body().as_ref(),
                request.uri().query(),
                &options,
            )
            .expect("the sample parses");
            call_activity(&event, &contact, Some(&manager), &system_user, Language::Uk)
        })
    });
    group.finish();
}

/// Steady `PhoneNumber::parse` (metadata loaded, patterns compiled): every notation of
/// `STORED_NOTATIONS` in turn (Ukraine's metadata), and a foreign number as Ringostat writes it
/// (read with Ukraine's first, then the world's). bench/phone-parsers.md compares the parsers.
fn phone_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("phone_parse");
    group.bench_function("ukrainian notations (each)", |b| {
        let mut notations = STORED_NOTATIONS.iter().cycle();
        b.iter(|| PhoneNumber::parse(black_box(notations.next().expect("cycles"))))
    });
    group.bench_function("foreign without plus (48…)", |b| {
        b.iter(|| PhoneNumber::parse(black_box("48221234567")))
    });
    group.finish();
}

criterion_group!(benches, parse_map, phone_parse);
criterion_main!(benches);
