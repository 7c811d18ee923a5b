//! Ringostat's webhooks: payloads in, normalised [`CallEvent`]s out. (The API the bridge calls
//! is a port, [`crate::ports::ringostat`].)

pub mod classification;
pub mod event;
pub mod fields;
pub mod payload;

pub use event::{
    AiAnalysis, CallEvent, CallStatus, CallType, Direction, Disposition, Durations, Employee,
    EventError, EventKind, ParseOptions, SipParty, Utm,
};
pub use payload::{BodyFormat, Fields, PayloadError};
