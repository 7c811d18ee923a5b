//! Shared helpers of the integration tests: real services on loopback, never stand-ins.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};

/// Environment variable with the loopback DynamoDB endpoint (a moto server) that the test
/// command starts.
pub const DYNAMODB_ENDPOINT_VAR: &str = "BRIDGE_TEST_DYNAMODB_ENDPOINT";

/// The moto endpoint, or a panic that says how to get one.
pub fn dynamodb_endpoint() -> String {
    match std::env::var(DYNAMODB_ENDPOINT_VAR) {
        Ok(url) if url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:") => {
            url
        }
        Ok(url) => panic!("{DYNAMODB_ENDPOINT_VAR}={url} is not a loopback URL"),
        Err(_) => panic!(
            "{DYNAMODB_ENDPOINT_VAR} is not set: run the tests with `scripts/test`, which starts a \
             moto DynamoDB server on loopback"
        ),
    }
}

/// The AWS SDK's settings for a loopback API (moto), with dummy credentials: the SDK must
/// never go looking for real ones (it would call the instance metadata service). Any service
/// client is made from it (`aws_sdk_ssm::Client::new(&loopback_sdk_config(…))`).
pub fn loopback_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new("eu-central-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "test",
                "test",
                None,
                None,
                "bridge-tests",
            )),
        )
        .endpoint_url(endpoint)
        .build()
}

/// A DynamoDB client for the loopback endpoint ([`loopback_sdk_config`]).
pub fn dynamodb_client(endpoint: &str) -> Client {
    Client::new(&loopback_sdk_config(endpoint))
}

/// A table name no other test uses, so tests run in parallel without resetting moto.
pub fn unique_table_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub mod click_to_call;
pub mod crm_view;
pub mod dataverse_env;
pub mod dynamo_proxy;
pub mod emf;
pub mod fixtures;
pub mod flows;
pub mod gated_crm;
pub mod live;
pub mod nethunt_env;
pub mod ops_cli;
pub mod rig;
pub mod ringostat_env;
pub mod served;

/// One `#[tokio::test]` per CRM for each behaviour `$test(kind)`, in `mod nethunt` and
/// `mod dataverse`; `multi_thread:` first for suites whose events run concurrently.
#[macro_export]
macro_rules! for_both_crms {
    (multi_thread: $($test:ident),+ $(,)?) => {
        $crate::for_both_crms!(@with #[tokio::test(flavor = "multi_thread", worker_threads = 4)] $($test),+);
    };
    (@with #[$attr:meta] $($test:ident),+) => {
        mod nethunt {
            $(
                #[$attr]
                async fn $test() {
                    super::$test(bridge_core::ports::CrmKind::NetHunt).await;
                }
            )+
        }
        mod dataverse {
            $(
                #[$attr]
                async fn $test() {
                    super::$test(bridge_core::ports::CrmKind::Dataverse).await;
                }
            )+
        }
    };
    ($($test:ident),+ $(,)?) => {
        $crate::for_both_crms!(@with #[tokio::test] $($test),+);
    };
}
