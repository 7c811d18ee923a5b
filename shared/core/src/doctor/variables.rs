//! The variables: every missing or invalid one at once, each naming the variable and the fix.
//!
//! [`Config::load`] stops at its first error, so the sweep reads the configuration again after
//! setting each problem aside (an invalid value unset so its default applies, a missing one
//! given a placeholder), until it loads; then the optional settings it switched off
//! (`Config::disabled`: a bad `STAFF` entry, Smart Phone sync without a project id) are
//! reported too. Placeholders never reach another check: each check reads the variables as
//! given.

use std::collections::HashMap;

use bridge_adapters::env::{ConfigError, Lookup};
use bridge_adapters::secret_store::{
    DEFAULT_EXTENSION_PORT, PORT_VARIABLE, SECRET_ID_SUFFIX, SSM_PARAMETER_SUFFIX, SecretStore,
    SecretStoreError,
};

use tracing::instrument::WithSubscriber;
use tracing::subscriber::NoSubscriber;

use super::{Check, Inputs};
use crate::config::Config;

/// Rounds of the sweep at most: far more than there are variables that can be wrong at once.
const MAX_ROUNDS: usize = 60;

/// What the sweep found.
pub(super) struct Sweep {
    pub checks: Vec<Check>,
    /// The variables reported as broken.
    pub broken: Vec<String>,
}

/// One problem with one variable.
struct Problem {
    variable: String,
    detail: String,
    fix: String,
}

/// Reads the configuration again and again, setting each problem aside, until it loads.
pub(super) async fn sweep(lookup: &Lookup<'_>, secrets: &SecretStore) -> Sweep {
    let extension = format!(
        "http://localhost:{}",
        lookup(PORT_VARIABLE)
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| DEFAULT_EXTENSION_PORT.to_string())
    );
    let mut overlay: HashMap<String, Option<String>> = HashMap::new();
    let mut checks = Vec::new();
    let mut broken: Vec<String> = Vec::new();
    // `CRM` missing or unknown: the NetHunt placeholder's own variables are not the user's
    // problem, so they are set aside without being reported.
    let mut crm_unknown = false;
    let mut loaded = false;
    for _ in 0..MAX_ROUNDS {
        let view = |name: &str| match overlay.get(name) {
            Some(value) => value.clone(),
            None => lookup(name),
        };
        // The loader logs what it disables; this report says it instead.
        let loading = Config::load(&view, secrets).with_subscriber(NoSubscriber::default());
        let error = match loading.await {
            Ok(config) => {
                for disabled in &config.disabled {
                    let problem = problem_of(&disabled.error, &extension);
                    let detail = format!("{} ({})", problem.detail, disabled.feature.as_str());
                    report(
                        &mut checks,
                        &mut broken,
                        problem.variable,
                        detail,
                        problem.fix,
                    );
                }
                loaded = true;
                break;
            }
            Err(error) => error,
        };
        let mut problem = problem_of(&error, &extension);
        if crm_unknown && problem.variable == "SYSTEM_USER_ID" {
            // The hint came from the placeholder CRM's profile.
            problem.detail =
                "`SYSTEM_USER_ID` is required (who owns the contacts nobody took)".to_owned();
            problem.fix = "set SYSTEM_USER_ID: a NetHunt user's e-mail, or a Smart CRM \
                systemuserid (GUID)"
                .to_owned();
        }
        let placeholder_only = crm_unknown && problem.variable.starts_with("NETHUNT_");
        if !placeholder_only {
            report(
                &mut checks,
                &mut broken,
                problem.variable.clone(),
                problem.detail,
                problem.fix,
            );
        }
        if problem.variable == "CRM" {
            crm_unknown = true;
        }
        if !set_aside(&mut overlay, &problem.variable, &error) {
            checks.push(Check::skipped(
                "configuration",
                format!(
                    "`{}` could not be set aside: fix it and run doctor again to see the \
                     variables read after it",
                    problem.variable
                ),
            ));
            break;
        }
    }
    if !loaded && !checks.iter().any(|c| c.verdict == super::Verdict::Skipped) {
        checks.push(Check::skipped(
            "configuration",
            "too many problems: fix these and run doctor again",
        ));
    }
    if checks.is_empty() {
        checks.push(Check::ok("configuration", "every variable reads"));
    }
    Sweep { checks, broken }
}

fn report(
    checks: &mut Vec<Check>,
    broken: &mut Vec<String>,
    variable: String,
    detail: String,
    fix: String,
) {
    if broken.contains(&variable) && variable != "STAFF" {
        return;
    }
    checks.push(
        Check::failed("configuration", detail)
            .variable(variable.clone())
            .fix(fix),
    );
    if !broken.contains(&variable) {
        broken.push(variable);
    }
}

/// Sets `variable` aside for the next round: an invalid value is unset (its default applies),
/// then given a placeholder; a missing one gets a placeholder. `false`: nothing more can be
/// tried.
fn set_aside(
    overlay: &mut HashMap<String, Option<String>>,
    variable: &str,
    error: &ConfigError,
) -> bool {
    let target = match error {
        ConfigError::Secret(_) | ConfigError::Staff(_) => secret_base(variable),
        _ => variable,
    };
    let next = match (error, overlay.get(target)) {
        // Already a placeholder, and still wrong: give up.
        (_, Some(Some(_))) => return false,
        (ConfigError::Invalid { .. }, None) => None,
        _ => Some(placeholder(target)),
    };
    overlay.insert(target.to_owned(), next);
    true
}

/// `NAME` of `NAME_SSM_PARAMETER` / `NAME_SECRET_ID`; the variable itself otherwise.
fn secret_base(variable: &str) -> &str {
    variable
        .strip_suffix(SSM_PARAMETER_SUFFIX)
        .or_else(|| variable.strip_suffix(SECRET_ID_SUFFIX))
        .unwrap_or(variable)
}

/// A value that reads as valid, for the sweep only.
fn placeholder(variable: &str) -> String {
    let value = match variable {
        "CRM" => "nethunt",
        "SMART_PHONE_SYNC" | "CREATE_DEAL" | "WRITE_UTM" => "false",
        "STAFF" => "[]",
        "TIME_ZONE" => "Europe/Kyiv",
        v if v.ends_with("_URL") || v == "DATAVERSE_AUTHORITY" => "https://placeholder.invalid",
        v if v.ends_with("_MS")
            || v.ends_with("_SECS")
            || v.ends_with("_MINUTES")
            || v.ends_with("_PER_REQUEST") =>
        {
            "1"
        }
        _ => "doctor-placeholder-value",
    };
    value.to_owned()
}

/// The problem an error stands for: its variable, the message without the
/// `configuration:` prefix, and what to do.
fn problem_of(error: &ConfigError, extension: &str) -> Problem {
    let text = error.to_string();
    let detail = text
        .strip_prefix("configuration: ")
        .unwrap_or(&text)
        .to_owned();
    #[allow(unreachable_patterns)]
    let (variable, fix) = match error {
        ConfigError::Missing { variable, hint } => {
            ((*variable).to_owned(), format!("set {variable}: {hint}"))
        }
        ConfigError::Invalid { variable, reason } => {
            ((*variable).to_owned(), invalid_fix(variable, reason))
        }
        ConfigError::Secret(secret) => secret_problem(secret, extension),
        ConfigError::Staff(_) => ("STAFF".to_owned(), STAFF_FIX.to_owned()),
        _ => (
            "configuration".to_owned(),
            "see docs/configuration.md".to_owned(),
        ),
    };
    Problem {
        variable,
        detail,
        fix,
    }
}

const STAFF_FIX: &str = "correct or remove that entry of STAFF: a JSON list of \
    {\"crm_user_id\", \"name\", \"ringostat_employee_id\", \"email\", \"sip_login\", \
    \"forward_to\", \"extension\"} (docs/configuration.md, “The staff list”)";

fn invalid_fix(variable: &str, reason: &str) -> String {
    match variable {
        "CRM" => "set CRM to `nethunt` or `dataverse`".to_owned(),
        "SMART_PHONE_SYNC" if reason.starts_with("needs") => "set RINGOSTAT_PROJECT_ID \
             (Ringostat → project settings) and RINGOSTAT_AUTH_KEY, or SMART_PHONE_SYNC=false"
            .to_owned(),
        "PARKED_TABLE" | "CACHE_TABLE" => "set both CACHE_TABLE and PARKED_TABLE (the stack \
             outputs CacheTableName and ParkedEventsTableName), or neither for an in-memory \
             local run"
            .to_owned(),
        "WEBHOOK_TOKEN" => format!(
            "store a long random value in {variable} (e.g. `openssl rand -hex 24`) and put \
             the same token in Ringostat's URLs"
        ),
        "CLICK_TO_CALL_KEY" => "store a random value of at least 32 characters in \
             CLICK_TO_CALL_KEY (e.g. `openssl rand -hex 32`), different from WEBHOOK_TOKEN; it \
             signs click-to-call's links and never goes into a URL or the CRM"
            .to_owned(),
        "STAFF" => STAFF_FIX.to_owned(),
        _ => format!(
            "correct {variable}, or unset it to use its default (docs/configuration.md lists \
             its values)"
        ),
    }
}

/// The variable holding the reference, and the fix: outside Lambda there is no Parameters and
/// Secrets extension, so the value itself must be given under the secret's own name.
fn secret_problem(error: &SecretStoreError, extension: &str) -> (String, String) {
    let (variable, reference) = match error {
        SecretStoreError::NotFound {
            variable,
            reference,
        }
        | SecretStoreError::Denied {
            variable,
            reference,
            ..
        }
        | SecretStoreError::Unavailable {
            variable,
            reference,
            ..
        }
        | SecretStoreError::Malformed {
            variable,
            reference,
            ..
        } => (variable.clone(), reference.clone()),
    };
    let base = secret_base(&variable).to_owned();
    let id = reference
        .split('`')
        .nth(1)
        .unwrap_or(reference.as_str())
        .to_owned();
    let by_secret_id = variable.ends_with(SECRET_ID_SUFFIX);
    let fetch = if by_secret_id {
        format!(
            "aws secretsmanager get-secret-value --secret-id {id} --query SecretString --output text"
        )
    } else {
        format!(
            "aws ssm get-parameter --with-decryption --name {id} --query Parameter.Value --output text"
        )
    };
    let fix = match error {
        SecretStoreError::NotFound { .. } => {
            format!("create {reference} (`{fetch}` must print it), or correct {variable}")
        }
        SecretStoreError::Denied { .. } => format!(
            "allow the role to read {reference} (ssm:GetParameter or \
             secretsmanager:GetSecretValue, and kms:Decrypt), or correct {variable}"
        ),
        SecretStoreError::Malformed { .. } => {
            format!("store the value of {base} as text in {reference}")
        }
        SecretStoreError::Unavailable { .. } => format!(
            "the Parameters and Secrets extension ({extension}) answers only inside Lambda: \
             outside it, give the value itself, e.g. export {base}=\"$({fetch})\""
        ),
    };
    (variable, fix)
}

/// How many managers `STAFF` maps, and whether smart forwarding can ring each.
pub(super) async fn staff_routes(inputs: &Inputs<'_, '_>) -> Check {
    let name = "staff list";
    let Some(staff) = inputs.staff().await else {
        return Check::skipped(name, "STAFF cannot be read (see above)").variable("STAFF");
    };
    let members = staff.members();
    if members.is_empty() {
        let check = Check::warning(
            name,
            "STAFF maps nobody: calls are logged without their manager, smart forwarding \
             always answers the fallback and click-to-call knows nobody",
        )
        .variable("STAFF");
        return if inputs.is_broken("STAFF") {
            check
        } else {
            check.fix("list each manager in STAFF (docs/configuration.md, “The staff list”)")
        };
    }
    let without_route = members.iter().filter(|m| m.route.is_none()).count();
    if without_route > 0 {
        return Check::warning(
            name,
            format!(
                "{} managers, {without_route} without `sip_login` or `forward_to`: smart \
                 forwarding cannot ring them",
                members.len()
            ),
        )
        .variable("STAFF")
        .fix("add each manager's `sip_login` (or `forward_to`) to STAFF");
    }
    Check::ok(name, format!("{} managers", members.len()))
}

/// Whether `text` has the shape of an e-mail address.
pub(super) fn is_email(text: &str) -> bool {
    let text = text.trim();
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.contains(char::is_whitespace)
        && !text.contains(['<', '>'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_told_from_other_ids() {
        assert!(is_email("olena@acme.ua"));
        for not in [
            "olena",
            "olena@acme",
            "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1",
            "Olena <olena@acme.ua>",
            "@acme.ua",
        ] {
            assert!(!is_email(not), "{not}");
        }
    }

    #[test]
    fn the_ssm_hint_names_the_secret_of_the_reference() {
        let error = SecretStoreError::Unavailable {
            variable: "RINGOSTAT_AUTH_KEY_SSM_PARAMETER".into(),
            reference: "SSM parameter `/bridge/ringostat-key`".into(),
            reason: "connection failed".into(),
        };
        let (variable, fix) = secret_problem(&error, "http://localhost:2773");
        assert_eq!(variable, "RINGOSTAT_AUTH_KEY_SSM_PARAMETER");
        assert!(
            fix.contains("export RINGOSTAT_AUTH_KEY=\"$(aws ssm get-parameter --with-decryption --name /bridge/ringostat-key"),
            "{fix}"
        );
    }

    #[test]
    fn messages_lose_the_configuration_prefix() {
        let problem = problem_of(
            &ConfigError::Missing {
                variable: "SYSTEM_USER_ID",
                hint: "who owns new contacts",
            },
            "http://localhost:2773",
        );
        assert_eq!(
            problem.detail,
            "`SYSTEM_USER_ID` is required (who owns new contacts)"
        );
        assert_eq!(problem.variable, "SYSTEM_USER_ID");
    }
}
