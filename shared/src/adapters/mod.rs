//! Adapters: the ports implemented over real services.

pub mod dataverse;
pub mod dynamodb_cache;
pub mod dynamodb_ledger;
pub mod http;
pub mod memory_cache;
pub mod memory_ledger;
pub mod nethunt;

pub use dataverse::{Dataverse, DataverseConfig};
pub use dynamodb_cache::DynamoDbCache;
pub use dynamodb_ledger::DynamoDbLedger;
pub use memory_cache::MemoryCache;
pub use memory_ledger::MemoryLedger;
pub use nethunt::{NetHunt, NetHuntConfig};
