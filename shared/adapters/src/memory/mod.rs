//! The ports in one process: for unit tests, local tools and runs without DynamoDB.

pub mod cache;
pub mod crm;
pub mod ledger;
pub mod rate_limit;

pub use cache::MemoryCache;
pub use crm::MemoryCrm;
pub use ledger::MemoryLedger;
pub use rate_limit::MemoryRateLimiter;
