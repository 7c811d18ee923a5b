//! The cache, the event ledger and click-to-call's counters over DynamoDB (one table for all
//! three, one for parked events).

pub mod cache;
pub mod inspect;
pub mod ledger;
pub mod rate_limit;

pub use cache::DynamoDbCache;
pub use ledger::DynamoDbLedger;
pub use rate_limit::DynamoDbRateLimiter;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use bridge_domain::ports::cache::CacheError;
use bridge_domain::ports::ledger::Held;

/// A write conditioned on its owner (or state): `Held::No` when DynamoDB refused the condition,
/// an error when it could not be asked.
pub(crate) fn held<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Held, CacheError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(Held::Yes),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(Held::No)
        }
        Err(e) => Err(cache::unavailable(e)),
    }
}
