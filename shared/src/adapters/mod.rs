//! Adapters: the ports implemented over real services.

pub mod dataverse;
pub mod dynamodb_cache;
pub mod http;
pub mod memory_cache;
pub mod nethunt;

pub use dataverse::{Dataverse, DataverseConfig};
pub use dynamodb_cache::DynamoDbCache;
pub use memory_cache::MemoryCache;
pub use nethunt::{NetHunt, NetHuntConfig};
