//! What every function of the Ringostat ⇄ CRM bridge depends on.
//!
//! It re-exports the three crates that hold the design — [`bridge_domain`] (events, mapping,
//! ports, services), [`bridge_adapters`] (NetHunt, Dataverse, Ringostat, DynamoDB, memory) and,
//! with the `lambda` feature, `bridge_lambda` (HTTP glue) — and adds what ties them together:
//! [`config`] (the environment, per section) and [`bootstrap`] (the wiring of each function
//! kind, in one place). Cargo features choose which adapters a function links.

pub mod bootstrap;
pub mod config;
pub mod doctor;

pub use bridge_adapters as adapters;
pub use bridge_adapters::secret_store;
pub use bridge_domain::{
    CallActivity, CallEvent, CallStatus, ContactRef, CrmUser, Deadline, Direction, EventKind,
    Language, Party, PhoneError, PhoneNumber, ResolvedContact, activity, call_activity, clock,
    deadline, phone, ports, secret, services, settings, staff,
};
#[cfg(feature = "lambda")]
pub use bridge_lambda as webhook;

/// Ringostat: the webhooks' payloads and events (domain), the API's ports (domain) and its
/// client (adapters, `api`).
pub mod ringostat {
    pub use bridge_adapters::ringostat as api;
    pub use bridge_adapters::ringostat::{RingostatApi, RingostatApiConfig};
    pub use bridge_domain::ports::ringostat::{
        CallRow, CallWindow, RingostatApiError, SmartPhoneContact,
    };
    pub use bridge_domain::ringostat::*;
}
