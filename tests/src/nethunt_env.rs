//! Builds a NetHunt adapter wired to a running CRM sandbox.

use std::time::Duration;

use bridge_core::adapters::http::RetryPolicy;
use bridge_core::adapters::nethunt::{NetHunt, NetHuntConfig};
use crm_sandbox::Sandbox;
use crm_sandbox::nethunt::{CONTACTS_FOLDER_ID, DEALS_FOLDER_ID};

/// Short backoff so retry tests take milliseconds; same attempt count as production.
pub fn fast_retry_policy() -> RetryPolicy {
    RetryPolicy {
        request_timeout: Duration::from_secs(2),
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_attempts: 5,
        ..RetryPolicy::default()
    }
}

/// The adapter's defaults pointed at the sandbox: its credentials and both seeded folders.
/// The default field names are the sandbox's seeded ones.
pub fn nethunt_config_for(sandbox: &Sandbox) -> NetHuntConfig {
    let credentials = sandbox.credentials();
    let mut config = NetHuntConfig::new(
        credentials.nethunt_email,
        credentials.nethunt_api_key,
        CONTACTS_FOLDER_ID,
    );
    config.base_url = sandbox.nethunt_base_url();
    config.deals_folder_id = Some(DEALS_FOLDER_ID.into());
    config
}

pub fn nethunt_with(config: NetHuntConfig) -> NetHunt {
    NetHunt::new(config, fast_retry_policy()).expect("the sandbox configuration is valid")
}

pub fn nethunt_for(sandbox: &Sandbox) -> NetHunt {
    nethunt_with(nethunt_config_for(sandbox))
}
