//! Adapters: the domain's ports implemented over real services, each behind a Cargo feature so
//! a function links only what it uses.
//!
//! | Folder | Port(s) | Feature |
//! |---|---|---|
//! | [`nethunt`] | `Crm` over NetHunt's Integration API | `nethunt` |
//! | [`dataverse`] | `Crm` over the Dataverse Web API (Smart CRM) | `dataverse` |
//! | [`ringostat`] | `RingostatCallLog`, `SmartPhoneDirectory`, `Dialer` over Ringostat's API | `ringostat-api` |
//! | [`dynamodb`] | `Cache`, `Ledger`, `RateLimiter` over DynamoDB | `dynamodb` |
//! | [`memory`] | `Cache`, `Ledger`, `RateLimiter`, `Crm` in one process (tests, local tools) | always |
//! | [`secret_store`] | secrets by reference (Parameter Store, Secrets Manager) | `secrets` |
//! | [`http`] | one HTTP client, one retry policy, its own error type | `http` |
//! | [`aws`] | the AWS SDK over that client, configured from the Lambda environment | `aws` (with `dynamodb`, `secrets`) |
//!
//! [`env`] reads configuration sections; [`registry`] is the one place that knows every CRM.

pub mod env;
pub mod memory;
pub mod registry;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "dataverse")]
pub mod dataverse;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "nethunt")]
pub mod nethunt;
#[cfg(feature = "ringostat-api")]
pub mod ringostat;
#[cfg(feature = "secrets")]
pub mod secret_store;
#[cfg(feature = "http")]
pub mod test_records;

#[cfg(feature = "dataverse")]
pub use dataverse::{Dataverse, DataverseConfig};
#[cfg(feature = "dynamodb")]
pub use dynamodb::{DynamoDbCache, DynamoDbLedger, DynamoDbRateLimiter};
pub use memory::{MemoryCache, MemoryCrm, MemoryLedger, MemoryRateLimiter};
#[cfg(feature = "nethunt")]
pub use nethunt::{NetHunt, NetHuntConfig};
#[cfg(feature = "ringostat-api")]
pub use ringostat::{RingostatApi, RingostatApiConfig};
