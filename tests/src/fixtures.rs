//! Small fixtures the adapter suites share: a sandbox, the test client's number, the manager.

use std::time::Duration;

use bridge_core::{CrmUser, Deadline, PhoneNumber};
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
