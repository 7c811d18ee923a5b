//! The cache and the event ledger over DynamoDB (one table for both, one for parked events).

pub mod cache;
pub mod ledger;

pub use cache::DynamoDbCache;
pub use ledger::DynamoDbLedger;
