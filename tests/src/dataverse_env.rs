//! Builds a Dataverse adapter wired to a running CRM sandbox.

use std::time::Duration;

use bridge_core::adapters::dataverse::{Dataverse, DataverseConfig};
use bridge_core::adapters::http::RetryPolicy;
use crm_sandbox::Sandbox;

/// Short backoff so retry tests take milliseconds; the production attempt count.
pub fn dataverse_retry_policy() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_secs(2),
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_attempts: 5,
        ..RetryPolicy::default()
    }
}

/// The adapter's defaults pointed at the sandbox: its environment, authority and credentials.
pub fn dataverse_config_for(sandbox: &Sandbox) -> DataverseConfig {
    let credentials = sandbox.credentials();
    let mut config = DataverseConfig::new(
        sandbox.dataverse_url(),
        credentials.dataverse_tenant,
        credentials.dataverse_client_id,
        credentials.dataverse_client_secret,
    );
    config.authority = sandbox.authority_url();
    config
}

pub fn dataverse_with(config: DataverseConfig) -> Dataverse {
    Dataverse::new(config, dataverse_retry_policy()).expect("the sandbox configuration is valid")
}

pub fn dataverse_for(sandbox: &Sandbox) -> Dataverse {
    dataverse_with(dataverse_config_for(sandbox))
}
