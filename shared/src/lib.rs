//! Core of the Ringostat ⇄ CRM bridge.
//!
//! The modules follow the data: a Ringostat webhook ([`ringostat::payload`]) becomes a
//! normalised [`ringostat::CallEvent`]; [`activity`] maps it to the CRM's call record; the
//! [`ports`] say what the functions need from a CRM and a cache, and [`adapters`] provide it.

pub mod activity;
pub mod adapters;
pub mod bridge;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod doctor;
pub mod phone;
pub mod ports;
pub mod reconcile;
pub mod ringostat;
pub mod secret;
pub mod secret_store;
pub mod staff;
pub mod webhook;

pub use activity::{
    CallActivity, ContactRef, CrmUser, Language, Party, ResolvedContact, call_activity,
};
pub use phone::{PhoneError, PhoneNumber};
pub use ringostat::{CallEvent, CallStatus, Direction, EventKind};
