//! `bridge-ops doctor`: checks the configuration, the CRM credentials, the Ringostat key and
//! the tables, and says what is wrong in plain words.

use std::time::Duration;

use crate::bootstrap::Adapters;
use crate::config::{Config, ConfigError};
use bridge_domain::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::CrmError;
use bridge_domain::ports::ringostat::{CallWindow, RingostatApiError};
use bridge_domain::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Warning,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            name,
            verdict,
            detail: detail.into(),
        }
    }
}

/// A number no CRM holds, for a harmless read.
const PROBE_NUMBER: &str = "+380440000000";
const PROBE_TIME: Duration = Duration::from_secs(10);

/// Runs every check it can: a configuration that does not load stops the others.
pub async fn doctor(config: Result<Config, ConfigError>) -> Vec<Check> {
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            let mut detail = error.to_string();
            if matches!(error, ConfigError::Secret(_)) {
                detail.push_str(
                    ". Outside Lambda there is no Parameters and Secrets extension: give the value \
                     itself, e.g. export NETHUNT_API_KEY=\"$(aws ssm get-parameter --with-decryption \
                     --name /bridge/nethunt-api-key --query Parameter.Value --output text)\"",
                );
            }
            return vec![Check::new("configuration", Verdict::Failed, detail)];
        }
    };
    let mut checks = vec![Check::new(
        "configuration",
        Verdict::Ok,
        format!("loaded for {}", config.settings.crm.as_str()),
    )];
    checks.push(staff_check(&config));
    let in_dynamodb = config.tables.cache.is_some();
    let adapters = match Adapters::connect(&config).await {
        Ok(adapters) => adapters,
        Err(error) => {
            checks.push(Check::new("adapters", Verdict::Failed, error.to_string()));
            return checks;
        }
    };
    checks.push(crm_check(&adapters).await);
    checks.push(ringostat_check(&adapters, &config.settings).await);
    checks.push(if in_dynamodb {
        tables_check(&adapters).await
    } else {
        Check::new(
            "DynamoDB tables",
            Verdict::Warning,
            "none configured (CACHE_TABLE, PARKED_TABLE): cache, idempotency records and \
             parked events live in memory and die with the process; fine for a local run only",
        )
    });
    checks
}

fn staff_check(config: &Config) -> Check {
    let staff = config.settings.staff.members();
    if staff.is_empty() {
        return Check::new(
            "staff list",
            Verdict::Warning,
            "STAFF is empty: calls are logged without their manager, smart forwarding always \
             answers the fallback and click-to-call knows nobody",
        );
    }
    let without_route = staff.iter().filter(|m| m.route.is_none()).count();
    if without_route > 0 {
        return Check::new(
            "staff list",
            Verdict::Warning,
            format!(
                "{} managers, {without_route} without `sip_login` or `forward_to`: smart \
                 forwarding cannot ring them",
                staff.len()
            ),
        );
    }
    Check::new(
        "staff list",
        Verdict::Ok,
        format!("{} managers", staff.len()),
    )
}

async fn crm_check(bridge: &Adapters) -> Check {
    let name = "CRM";
    let Ok(probe) = PhoneNumber::parse(PROBE_NUMBER) else {
        return Check::new(name, Verdict::Failed, "internal: probe number");
    };
    let deadline = Deadline::after(PROBE_TIME);
    match bridge.crm.find_contact(&probe, deadline).await {
        Ok(_) => Check::new(
            name,
            Verdict::Ok,
            format!(
                "{} accepted the credentials (a contact search ran)",
                bridge.crm.kind().as_str()
            ),
        ),
        Err(CrmError::Auth(message)) => Check::new(
            name,
            Verdict::Failed,
            format!("the CRM refused the credentials: {message}"),
        ),
        Err(CrmError::Config(message)) => Check::new(
            name,
            Verdict::Failed,
            format!("the CRM does not match the configuration: {message}"),
        ),
        Err(error) if error.is_transient() => Check::new(
            name,
            Verdict::Failed,
            format!("the CRM could not be reached: {error}"),
        ),
        Err(error) => Check::new(name, Verdict::Failed, error.to_string()),
    }
}

async fn ringostat_check(bridge: &Adapters, settings: &Settings) -> Check {
    let name = "Ringostat API";
    let Some(api) = &bridge.ringostat else {
        return Check::new(
            name,
            Verdict::Warning,
            "no RINGOSTAT_AUTH_KEY: no click-to-call, no Smart Phone sync, no reconciliation",
        );
    };
    let now = jiff::Timestamp::now();
    let zone = &settings.parse.time_zone;
    let window = CallWindow {
        from: zone.to_datetime(
            now.saturating_sub(jiff::SignedDuration::from_secs(60))
                .unwrap_or(now),
        ),
        to: zone.to_datetime(now),
    };
    match api.calls(window, Deadline::after(PROBE_TIME)).await {
        Ok(calls) => Check::new(
            name,
            Verdict::Ok,
            format!(
                "the Auth-key works ({} calls in the last minute)",
                calls.len()
            ),
        ),
        Err(RingostatApiError::Auth(message)) => Check::new(
            name,
            Verdict::Failed,
            format!("Ringostat refused the Auth-key: {message}"),
        ),
        Err(error) => Check::new(name, Verdict::Failed, error.to_string()),
    }
}

async fn tables_check(bridge: &Adapters) -> Check {
    let name = "DynamoDB tables";
    let Ok(probe) = PhoneNumber::parse(PROBE_NUMBER) else {
        return Check::new(name, Verdict::Failed, "internal: probe number");
    };
    if let Err(error) = bridge.cache.contact(&probe).await {
        return Check::new(
            name,
            Verdict::Failed,
            format!("the cache table cannot be read: {error}"),
        );
    }
    match bridge.ledger.parked(1000).await {
        Ok(parked) if parked.is_empty() => {
            Check::new(name, Verdict::Ok, "both readable, no parked events")
        }
        Ok(parked) => Check::new(
            name,
            Verdict::Warning,
            format!(
                "{} parked events wait for replay (oldest error: {}); run `bridge-ops replay` \
                 once the cause is fixed",
                parked.len(),
                parked[0].error
            ),
        ),
        Err(error) => Check::new(
            name,
            Verdict::Failed,
            format!("the parked-events table cannot be read: {error}"),
        ),
    }
}
