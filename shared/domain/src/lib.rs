//! The bridge's domain: what happens to a Ringostat call, independent of Lambda, AWS and HTTP.
//!
//! The modules follow the data: a webhook's fields ([`ringostat`]) become a normalised
//! [`CallEvent`]; [`activity`] maps it to the CRM's call record; the [`services`] run each
//! webhook's flow over the [`ports`] (CRM, cache, ledger, Ringostat's API), which the adapters
//! crate implements. Nothing here knows an HTTP status code: the services answer typed
//! outcomes and errors, and the Lambda glue turns them into answers.

pub mod activity;
pub mod clock;
pub mod deadline;
pub mod phone;
pub mod ports;
pub mod redact;
pub mod ringostat;
pub mod secret;
pub mod services;
pub mod settings;
pub mod staff;
pub mod telemetry;

pub use activity::{
    CallActivity, ContactRef, CrmUser, Language, Party, ResolvedContact, call_activity,
};
pub use deadline::Deadline;
pub use phone::{PhoneError, PhoneNumber};
pub use ringostat::{CallEvent, CallStatus, Direction, EventKind};
