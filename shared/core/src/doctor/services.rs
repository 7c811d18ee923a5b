//! Ringostat's API (the Auth-key answers a one-minute call-log read) and the DynamoDB tables
//! (both exist, differ, have the bridge's key and can be read; how many events are parked).

use bridge_adapters::dynamodb::inspect::{TableProblem, describe_table, endpoint_name};
use bridge_adapters::dynamodb::{DynamoDbCache, DynamoDbLedger};
use bridge_adapters::http::RetryPolicy;
use bridge_adapters::ringostat::{DEFAULT_BASE_URL, RingostatApi, RingostatApiConfig};
use bridge_domain::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::ringostat::{CallWindow, RingostatApiError};
use bridge_domain::ports::{Cache, Ledger};
use bridge_domain::ringostat::ParseOptions;
use jiff::tz::TimeZone;

use super::nethunt::PROBE_NUMBER;
use super::{Check, Inputs, PROBE_TIME, readable_error};

pub(super) async fn ringostat(inputs: &Inputs<'_, '_>) -> Check {
    let name = "Ringostat API";
    let key = match inputs
        .secrets
        .resolve("RINGOSTAT_AUTH_KEY", inputs.lookup)
        .await
    {
        Ok(Some(key)) if !key.is_blank() => key,
        Ok(_) => {
            return Check::warning(
                name,
                "no RINGOSTAT_AUTH_KEY: no click-to-call, no Smart Phone sync, no \
                 reconciliation",
            )
            .variable("RINGOSTAT_AUTH_KEY");
        }
        Err(_) => {
            return Check::skipped(name, "RINGOSTAT_AUTH_KEY cannot be read (see above)")
                .variable("RINGOSTAT_AUTH_KEY");
        }
    };
    let env = inputs.env();
    let base = env
        .get("RINGOSTAT_API_URL")
        .unwrap_or_else(|| DEFAULT_BASE_URL.into());
    let mut config = RingostatApiConfig::new(key, env.get("RINGOSTAT_PROJECT_ID"), "doctor");
    config.base_url = base.clone();
    let api = match RingostatApi::new(config, RetryPolicy::default()) {
        Ok(api) => api,
        Err(error) => {
            let text = error.to_string();
            let variable = if text.contains("base URL") {
                "RINGOSTAT_API_URL"
            } else if text.contains("project") {
                "RINGOSTAT_PROJECT_ID"
            } else {
                "RINGOSTAT_AUTH_KEY"
            };
            return Check::failed(name, format!("the Ringostat client cannot start: {text}"))
                .variable(variable)
                .fix(format!("correct {variable}"));
        }
    };
    let zone = env
        .get("TIME_ZONE")
        .and_then(|name| TimeZone::get(&name).ok())
        .unwrap_or_else(|| ParseOptions::default().time_zone);
    let now = jiff::Timestamp::now();
    let window = CallWindow {
        from: zone.to_datetime(
            now.saturating_sub(jiff::SignedDuration::from_secs(60))
                .unwrap_or(now),
        ),
        to: zone.to_datetime(now),
    };
    match api.calls(window, Deadline::after(PROBE_TIME)).await {
        Ok(calls) => Check::ok(
            name,
            format!(
                "the Auth-key works at {base} ({} calls in the last minute)",
                calls.len()
            ),
        ),
        Err(RingostatApiError::Auth(message)) => Check::failed(
            name,
            format!("Ringostat refused the Auth-key: {message} ({base})"),
        )
        .variable("RINGOSTAT_AUTH_KEY")
        .fix("copy the Auth-key from Ringostat (Integrations → Ringostat API) into RINGOSTAT_AUTH_KEY"),
        Err(error) if error.is_transient() => Check::failed(
            name,
            format!("Ringostat could not be reached at {base}: {error}"),
        )
        .variable("RINGOSTAT_API_URL")
        .fix(format!(
            "check the network, or RINGOSTAT_API_URL (default {DEFAULT_BASE_URL})"
        )),
        Err(error) => Check::failed(name, format!("Ringostat at {base}: {error}"))
            .variable("RINGOSTAT_AUTH_KEY"),
    }
}

pub(super) async fn tables(inputs: &Inputs<'_, '_>) -> Vec<Check> {
    let name = "DynamoDB tables";
    let env = inputs.env();
    let endpoint = env.get("AWS_ENDPOINT_URL_DYNAMODB");
    let (cache, parked) = match (env.get("CACHE_TABLE"), env.get("PARKED_TABLE")) {
        (None, None) => {
            return vec![Check::warning(
                name,
                "none configured (CACHE_TABLE, PARKED_TABLE): cache, idempotency records and \
                 parked events live in memory and die with the process; fine for a local run \
                 only",
            )];
        }
        (Some(cache), Some(parked)) => (cache, parked),
        _ => {
            return vec![Check::skipped(
                name,
                "CACHE_TABLE and PARKED_TABLE go together (see above)",
            )];
        }
    };
    let mut checks = Vec::new();
    let same = cache == parked;
    if same {
        checks.push(
            Check::failed(
                name,
                format!(
                    "PARKED_TABLE and CACHE_TABLE are both `{cache}`: parked events would be \
                     mixed with the cache, and replay would find none of them"
                ),
            )
            .variable("PARKED_TABLE")
            .fix(
                "set PARKED_TABLE to the parked-events table (stack output \
                 ParkedEventsTableName), CACHE_TABLE to the cache table (CacheTableName)",
            ),
        );
    }
    let client = DynamoDbCache::client_for(endpoint.as_deref()).await;
    let where_ = endpoint_name(&client, endpoint.as_deref());
    let mut readable = true;
    let mut pairs = vec![("CACHE_TABLE", "CacheTableName", &cache)];
    if !same {
        pairs.push(("PARKED_TABLE", "ParkedEventsTableName", &parked));
    }
    for (variable, output, table) in pairs {
        match describe_table(&client, table, &where_).await {
            Ok(facts) => {
                if !facts.key_is_pk {
                    readable = false;
                    checks.push(
                        Check::failed(
                            name,
                            format!(
                                "`{table}` ({variable}) does not have the bridge's key \
                                 (partition key `pk` of type S, no sort key)"
                            ),
                        )
                        .variable(variable)
                        .fix(format!("set {variable} to the stack output {output}")),
                    );
                } else if !facts.is_active() {
                    checks.push(Check::warning(
                        name,
                        format!("`{table}` ({variable}) is {}, not ACTIVE yet", facts.status),
                    ));
                }
                if facts.ttl_on_expires_at == Some(false) {
                    checks.push(
                        Check::warning(
                            name,
                            format!(
                                "`{table}` ({variable}) has no TTL on `expires_at`: old \
                                 entries are never deleted"
                            ),
                        )
                        .variable(variable)
                        .fix(format!(
                            "aws dynamodb update-time-to-live --table-name {table} \
                             --time-to-live-specification Enabled=true,AttributeName=expires_at"
                        )),
                    );
                }
            }
            Err(problem) => {
                readable = false;
                checks.push(table_problem(
                    variable,
                    output,
                    &problem,
                    endpoint.is_some(),
                ));
            }
        }
    }
    if !readable || same {
        return checks;
    }
    let reader = DynamoDbCache::new(client.clone(), cache.as_str());
    let ledger = DynamoDbLedger::new(client, cache.as_str(), parked.as_str());
    checks.push(reads(&reader, &ledger, &cache, &parked).await);
    checks
}

fn table_problem(variable: &str, output: &str, problem: &TableProblem, custom: bool) -> Check {
    let name = "DynamoDB tables";
    let check = Check::failed(name, format!("{problem} ({variable})"));
    match problem {
        TableProblem::NotFound { .. } => check.variable(variable).fix(format!(
            "set {variable} to the stack output {output} (and AWS_REGION to the stack's region)"
        )),
        TableProblem::Denied { .. } => check.fix(
            "use credentials allowed to read the tables (dynamodb:DescribeTable, GetItem, Scan)",
        ),
        TableProblem::Unreachable { .. } if custom => check
            .variable("AWS_ENDPOINT_URL_DYNAMODB")
            .fix("correct AWS_ENDPOINT_URL_DYNAMODB or start the local DynamoDB it names"),
        TableProblem::Unreachable { .. } => check
            .variable("AWS_REGION")
            .fix("check the network and AWS_REGION"),
        TableProblem::Other { .. } => check,
    }
}

/// A cache read and the parked events, through the adapters the functions use.
async fn reads(
    cache: &DynamoDbCache,
    ledger: &DynamoDbLedger,
    cache_table: &str,
    parked_table: &str,
) -> Check {
    let name = "DynamoDB tables";
    if let Ok(probe) = PhoneNumber::parse(PROBE_NUMBER)
        && let Err(error) = cache.contact(&probe).await
    {
        return Check::failed(
            name,
            format!(
                "the cache table `{cache_table}` cannot be read: {}",
                readable_error(&error.to_string())
            ),
        )
        .variable("CACHE_TABLE");
    }
    match ledger.parked(1000).await {
        Ok(parked) if parked.is_empty() => Check::ok(
            name,
            format!("`{cache_table}` and `{parked_table}` exist and read; no parked events"),
        ),
        Ok(parked) => Check::warning(
            name,
            format!(
                "{} parked events wait for replay (oldest error: {})",
                parked.len(),
                parked[0].error
            ),
        )
        .fix("run `bridge-ops replay` once the cause is fixed"),
        Err(error) => Check::failed(
            name,
            format!(
                "the parked-events table `{parked_table}` cannot be read: {}",
                readable_error(&error.to_string())
            ),
        )
        .variable("PARKED_TABLE"),
    }
}
