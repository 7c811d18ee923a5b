//! What `bridge-ops doctor` asks of the tables before the first call needs them: does each
//! one exist, with the key `pk` (S) and TTL on `expires_at`, as `template.yaml` declares it.
//! Errors are plain text (code and message, or where the connection failed), never the SDK's
//! `Debug` dump.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{TableStatus, TimeToLiveStatus};

use super::cache::{EXPIRES_AT, KEY};

/// A table as DynamoDB describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFacts {
    /// `ACTIVE`, `CREATING`, …
    pub status: String,
    /// Whether the key schema is the bridge's: partition key `pk` of type S, no sort key.
    pub key_is_pk: bool,
    /// Whether TTL is on and reads `expires_at`; `None` when DynamoDB did not say.
    pub ttl_on_expires_at: Option<bool>,
}

impl TableFacts {
    pub fn is_active(&self) -> bool {
        self.status == TableStatus::Active.as_str()
    }
}

/// Why a table could not be described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableProblem {
    #[error("table `{table}` does not exist in {endpoint}")]
    NotFound { table: String, endpoint: String },
    #[error("access to table `{table}` was denied: {reason}")]
    Denied { table: String, reason: String },
    #[error("could not reach DynamoDB at {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("DynamoDB refused to describe table `{table}`: {reason}")]
    Other { table: String, reason: String },
}

/// The endpoint requests go to, for messages: `endpoint` when one is configured, else AWS's
/// regional one.
pub fn endpoint_name(client: &Client, endpoint: Option<&str>) -> String {
    match endpoint {
        Some(url) => url.to_owned(),
        None => match client.config().region() {
            Some(region) => format!("https://dynamodb.{region}.amazonaws.com"),
            None => "DynamoDB (no AWS region configured: set AWS_REGION)".to_owned(),
        },
    }
}

/// DescribeTable and DescribeTimeToLive of `table`.
pub async fn describe_table(
    client: &Client,
    table: &str,
    endpoint: &str,
) -> Result<TableFacts, TableProblem> {
    let output = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|error| problem(table, endpoint, error))?;
    let Some(description) = output.table() else {
        return Err(TableProblem::Other {
            table: table.to_owned(),
            reason: "the answer has no table description".into(),
        });
    };
    let status = description
        .table_status()
        .map_or_else(|| "UNKNOWN".to_owned(), |s| s.as_str().to_owned());
    let keys = description.key_schema();
    let pk_is_string = description
        .attribute_definitions()
        .iter()
        .any(|a| a.attribute_name() == KEY && a.attribute_type().as_str() == "S");
    let key_is_pk = keys.len() == 1 && keys[0].attribute_name() == KEY && pk_is_string;
    let ttl_on_expires_at = match client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        Ok(ttl) => ttl.time_to_live_description().map(|d| {
            d.time_to_live_status() == Some(&TimeToLiveStatus::Enabled)
                && d.attribute_name() == Some(EXPIRES_AT)
        }),
        Err(_) => None,
    };
    Ok(TableFacts {
        status,
        key_is_pk,
        ttl_on_expires_at,
    })
}

fn problem<E, R>(table: &str, endpoint: &str, error: SdkError<E, R>) -> TableProblem
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let table = table.to_owned();
    match &error {
        SdkError::ServiceError(context) => {
            let service = context.err();
            let code = service.code().unwrap_or("error");
            let message = service.message().unwrap_or("");
            let reason = if message.is_empty() {
                code.to_owned()
            } else {
                format!("{code}: {message}")
            };
            if code == "ResourceNotFoundException" {
                TableProblem::NotFound {
                    table,
                    endpoint: endpoint.to_owned(),
                }
            } else if code.contains("AccessDenied")
                || code.contains("UnrecognizedClient")
                || code.contains("InvalidSignature")
                || code.contains("ExpiredToken")
            {
                TableProblem::Denied { table, reason }
            } else {
                TableProblem::Other { table, reason }
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            TableProblem::Unreachable {
                endpoint: endpoint.to_owned(),
                reason: plain_chain(&error),
            }
        }
        _ => TableProblem::Other {
            table,
            reason: plain_chain(&error),
        },
    }
}

/// An error and its sources, each by its `Display`, without repeats.
pub fn plain_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    if parts.is_empty() {
        "unknown error".to_owned()
    } else {
        parts.join(": ")
    }
}
