//! Ports: what the services need from the outside world, as traits. The adapters crate
//! implements them over real services, and in memory for tests.

pub mod cache;
pub mod crm;
pub mod ledger;
pub mod rate_limit;
pub mod ringostat;

pub use cache::{Cache, CacheError, ContactSlot, ManagerRoute};
pub use crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal, NewNote};
pub use ledger::{Claim, Held, Ledger, Owner, ParkedEvent, StoredAnswer};
pub use rate_limit::{Admission, RateLimitError, RateLimiter};
pub use ringostat::{
    CallRow, CallWindow, Dialer, RingostatApiError, RingostatCallLog, SmartPhoneContact,
    SmartPhoneDirectory,
};
