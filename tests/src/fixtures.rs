//! Small fixtures the adapter suites share: a sandbox, the test client's number, the manager.

use std::time::Duration;

use bridge_core::ringostat::{CallEvent, EventKind, Fields, ParseOptions};
use bridge_core::{
    CallActivity, ContactRef, CrmUser, Deadline, Language, PhoneNumber, ResolvedContact,
    call_activity,
};
use crm_sandbox::Sandbox;

/// The existing client's number in the adapter suites.
pub const NUMBER: &str = "+380501234567";
/// The manager the adapter suites hand contacts to (a NetHunt e-mail id).
pub const OLENA: &str = "olena.koval@acme.ua";

pub async fn sandbox() -> Sandbox {
    Sandbox::start().await.expect("sandbox starts")
}

pub fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::parse(raw).expect("test numbers are valid")
}

pub fn olena() -> CrmUser {
    CrmUser {
        id: OLENA.into(),
        name: Some("Олена Коваль".into()),
    }
}

/// `secs` from now.
pub fn within(secs: u64) -> Deadline {
    Deadline::after(Duration::from_secs(secs))
}

/// How people store [`NUMBER`] in a CRM they filled by hand: each must find the one existing
/// contact, for every CRM (the notation tests).
pub use bridge_core::phone::STORED_NOTATIONS;

/// A 95-second incoming call from [`NUMBER`] answered by Olena at 13:00 Kyiv time (10:00 UTC)
/// on `contact`, with Ringostat's call id `call_id`, mapped the way the functions map it.
pub fn answered_call(contact: ContactRef, call_id: &str) -> CallActivity {
    let mut payload = Fields::default();
    for (key, value) in [
        ("uniqueid", call_id),
        ("calldate", "2024-05-01 13:00:00"),
        ("caller", NUMBER),
        ("dst", "acme_olena"),
        ("call_type", "in"),
        ("disposition", "ANSWERED"),
        ("duration", "95"),
        ("billsec", "80"),
        ("waittime", "15"),
    ] {
        payload.insert(key, value);
    }
    let event = CallEvent::from_fields(EventKind::AfterCall, &payload, &ParseOptions::default())
        .expect("valid webhook");
    call_activity(
        &event,
        &ResolvedContact::Existing(contact),
        Some(&olena()),
        &CrmUser {
            id: "bridge@acme.ua".into(),
            name: None,
        },
        Language::Uk,
    )
}
