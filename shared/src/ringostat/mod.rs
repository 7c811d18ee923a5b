//! Ringostat's side: webhook payloads in, normalised [`CallEvent`]s out.

pub mod api;
pub mod event;
pub mod fields;
pub mod payload;

pub use api::{RingostatApi, RingostatApiConfig, RingostatApiError, SmartPhoneContact};
pub use event::{
    AiAnalysis, CallEvent, CallStatus, CallType, Direction, Disposition, Durations, Employee,
    EventError, EventKind, ParseOptions, SipParty, Utm,
};
pub use payload::{BodyFormat, Fields, PayloadError};
