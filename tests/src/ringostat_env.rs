//! Builds a Ringostat API client wired to a running sandbox.

use bridge_core::ringostat::{RingostatApi, RingostatApiConfig};
use crm_sandbox::Sandbox;

use crate::nethunt_env::fast_retry_policy;

/// The sandbox's Auth-key and project id, and its address.
pub fn ringostat_config_for(sandbox: &Sandbox) -> RingostatApiConfig {
    let credentials = sandbox.credentials();
    let mut config = RingostatApiConfig::new(
        credentials.ringostat_auth_key,
        Some(credentials.ringostat_project_id),
        "NetHunt CRM",
    );
    config.base_url = sandbox.ringostat_api_url();
    config
}

pub fn ringostat_with(config: RingostatApiConfig) -> RingostatApi {
    RingostatApi::new(config, fast_retry_policy()).expect("the sandbox configuration is valid")
}

pub fn ringostat_for(sandbox: &Sandbox) -> RingostatApi {
    ringostat_with(ringostat_config_for(sandbox))
}
