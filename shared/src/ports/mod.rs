//! Ports: what the core needs from the outside world, as traits.

pub mod cache;
pub mod crm;
pub mod ledger;

pub use cache::{Cache, CacheError, ManagerRoute};
pub use crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal};
pub use ledger::{Claim, Ledger, ParkedEvent, StoredAnswer};
