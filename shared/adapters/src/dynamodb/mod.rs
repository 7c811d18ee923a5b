//! The cache and the event ledger over DynamoDB (one table for both, one for parked events).

pub mod cache;
pub mod inspect;
pub mod ledger;

pub use cache::DynamoDbCache;
pub use ledger::DynamoDbLedger;

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
