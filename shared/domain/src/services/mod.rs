//! The flows, as small services that each hold only the ports they use.
//!
//! A webhook's way through them: [`delivery::Delivery`] claims the event in the ledger and
//! hands it to the [`handlers::EventHandler`] registered for its kind ([`call_flows`]), which
//! resolves the contact ([`contacts`]), creates or hands over the deal ([`deals`]) and writes
//! to the CRM. The webhook number ([`smart_forwarding`]), click-to-call ([`click_to_call`]) and
//! reconciliation ([`reconciler`]) are services of their own.

pub mod call_flows;
pub mod click_to_call;
pub mod contacts;
pub mod deals;
pub mod delivery;
pub mod guard;
pub mod handlers;
pub mod metered;
pub mod outcome;
pub mod owners;
pub mod reconciler;
pub mod smart_forwarding;
pub mod smart_phone;

pub use call_flows::{AnalysisNotes, BeforeCall, CallLogging};
pub use click_to_call::{
    CallLimits, Calling, ClickToCall, ClickToCallError, Confirmation, DestinationPolicy,
    DeviceCredential, LimitScope, LinkKey, Signed,
};
pub use contacts::ContactResolver;
pub use deals::DealDesk;
pub use delivery::{Delivery, DeliveryResult, RawEvent, ReplayReport};
pub use guard::{GuardedCache, GuardedLedger, within};
pub use handlers::{EventHandler, EventHandlers};
pub use metered::MeteredCrm;
pub use outcome::{Outcome, OutcomeKind};
pub use owners::Owners;
pub use reconciler::{ReconcileError, ReconcileReport, Reconciler};
pub use smart_forwarding::{ForwardDecision, ForwardReason, SmartForwarding};
pub use smart_phone::SmartPhoneSync;
