//! `bridge-ops doctor`: checks, before the first call needs it, everything a call will use,
//! and says in plain words what is wrong, which variable to change and how.
//!
//! - **Variables** (`variables`): every missing or invalid variable at once, not only the
//!   first (the configuration is read again with each problem set aside), plus what reading
//!   alone cannot see: a NetHunt `SYSTEM_USER_ID` that is no e-mail, a Dataverse one that is no
//!   GUID, `STAFF` ids of the wrong kind, `PARKED_TABLE` equal to `CACHE_TABLE`.
//! - **The CRM** (`nethunt`, `dataverse`): the credentials, every configured folder, field,
//!   table and column (NetHunt: the folder triggers and `folder-field`; Dataverse: a `$top=1`
//!   read per column, its type from `EntityDefinitions` where served), and every configured
//!   user (Dataverse: a real, enabled `systemuser`).
//! - **Ringostat and the tables** (`services`): the Auth-key answers; both tables exist, differ,
//!   have the bridge's key, can be read; how many events wait for replay.
//! - **Click-to-call** (`click_to_call`): its own configuration as the function reads it, its key
//!   different from the webhook token, no stale `CLICK_TO_CALL_TOKEN`.
//!
//! Each check runs on its own inputs, so a broken variable stops only the checks that need it.
//! Nothing here writes to the CRM, Ringostat or the tables.

mod click_to_call;
mod dataverse;
mod nethunt;
mod services;
mod variables;

use std::time::Duration;

use bridge_adapters::env::{Env, Lookup};
use bridge_adapters::registry;
use bridge_adapters::secret_store::SecretStore;
use bridge_domain::ports::CrmKind;
use bridge_domain::secret::Secret;
use bridge_domain::staff::Staff;

use crate::config::process_lookup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Warning,
    Failed,
    /// Not run: what it needs is broken (reported by another check) or not configured.
    Skipped,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// What was checked: `configuration`, `CRM`, `NetHunt folders`, `DynamoDB tables`, …
    pub name: String,
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// The variable to change, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn new(name: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verdict,
            detail: detail.into(),
            variable: None,
            fix: None,
        }
    }

    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Verdict::Ok, detail)
    }

    pub fn warning(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Verdict::Warning, detail)
    }

    pub fn failed(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Verdict::Failed, detail)
    }

    pub fn skipped(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(name, Verdict::Skipped, detail)
    }

    /// Names the variable to change.
    pub fn variable(mut self, variable: impl Into<String>) -> Self {
        self.variable = Some(variable.into());
        self
    }

    /// Says what to do.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Every finding, in the order the checks ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// No check failed.
    pub ok: bool,
    pub failures: usize,
    pub warnings: usize,
    pub checks: Vec<Check>,
}

impl Report {
    fn of(checks: Vec<Check>) -> Self {
        let count = |verdict| checks.iter().filter(|c| c.verdict == verdict).count();
        let failures = count(Verdict::Failed);
        Self {
            ok: failures == 0,
            failures,
            warnings: count(Verdict::Warning),
            checks,
        }
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Failed)
    }

    /// The first check called `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// Time one probe may take (retries included).
pub(crate) const PROBE_TIME: Duration = Duration::from_secs(10);

/// What the checks share: the variables as given, and what the configuration sweep found.
pub(crate) struct Inputs<'a, 'l> {
    pub lookup: &'a Lookup<'l>,
    pub secrets: &'a SecretStore,
    /// `None`: `CRM` is missing or unknown.
    pub crm: Option<CrmKind>,
    /// Variables the sweep reported as broken.
    pub broken: Vec<String>,
}

impl Inputs<'_, '_> {
    pub fn env(&self) -> Env<'_, '_> {
        Env(self.lookup)
    }

    pub fn is_broken(&self, variable: &str) -> bool {
        self.broken.iter().any(|v| v == variable)
    }

    /// `STAFF` as the functions read it (its valid entries); `None` when it cannot be read.
    pub async fn staff(&self) -> Option<Staff> {
        let json = self.secrets.resolve("STAFF", self.lookup).await.ok()?;
        let text = json.as_ref().map_or("", Secret::expose);
        Some(Staff::read(text).staff)
    }

    pub fn creates_deals(&self) -> bool {
        self.env().flag("CREATE_DEAL", false).unwrap_or(false)
    }

    pub fn writes_utm(&self) -> bool {
        self.env().flag("WRITE_UTM", true).unwrap_or(true)
    }
}

/// Runs every check it can on the process environment (with the local defaults under
/// `BRIDGE_PROFILE=local`); secrets by reference through the Parameters and Secrets extension.
pub async fn doctor_from_env() -> Report {
    doctor(&process_lookup(), &SecretStore::from_env()).await
}

/// The checks of one CRM's own configuration (folders, fields, columns, users).
type CrmChecks =
    for<'i, 'a, 'l> fn(
        &'i Inputs<'a, 'l>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Vec<Check>> + Send + 'i>>;

/// Each CRM's checks, looked up by kind: a new CRM adds its row here (the registry knows the
/// rest).
const CRM_CHECKS: [(CrmKind, CrmChecks); 2] = [
    (CrmKind::NetHunt, |inputs| Box::pin(nethunt::checks(inputs))),
    (CrmKind::Dataverse, |inputs| {
        Box::pin(dataverse::checks(inputs))
    }),
];

fn crm_checks(kind: CrmKind) -> Option<CrmChecks> {
    CRM_CHECKS
        .iter()
        .find(|(known, _)| *known == kind)
        .map(|(_, run)| *run)
}

/// Runs every check it can on the variables `lookup` gives.
pub async fn doctor(lookup: &Lookup<'_>, secrets: &SecretStore) -> Report {
    let sweep = variables::sweep(lookup, secrets).await;
    let mut checks = sweep.checks;
    let inputs = Inputs {
        lookup,
        secrets,
        crm: registry::module_from(lookup).ok().map(|m| m.profile().kind),
        broken: sweep.broken,
    };
    checks.push(variables::staff_routes(&inputs).await);
    match inputs.crm.and_then(crm_checks) {
        Some(run) => checks.extend(run(&inputs).await),
        None => checks
            .push(Check::skipped("CRM", "no CRM checks without a valid `CRM`").variable("CRM")),
    }
    checks.push(services::ringostat(&inputs).await);
    checks.push(click_to_call::check(&inputs).await);
    checks.extend(services::tables(&inputs).await);
    Report::of(checks)
}

/// An error text for people: without the `Debug` dump the AWS SDK's `DisplayErrorContext`
/// appends in parentheses, and without a `: part` repeated right after itself.
pub fn readable_error(text: &str) -> String {
    let cut = without_debug_dump(text.trim_end());
    let mut parts: Vec<&str> = cut.split(": ").collect();
    let mut i = 0;
    while i < parts.len() {
        let repeat = (1..=3)
            .find(|&k| i + 2 * k <= parts.len() && parts[i..i + k] == parts[i + k..i + 2 * k]);
        match repeat {
            Some(k) => {
                parts.drain(i + k..i + 2 * k);
            }
            None => i += 1,
        }
    }
    parts.join(": ")
}

/// Cuts at the first ` (Name(` or ` (Name {`: where a `Debug` dump of an error starts.
fn without_debug_dump(text: &str) -> &str {
    for (index, _) in text.match_indices(" (") {
        let rest = &text[index + 2..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        let after = &rest[name_len..];
        if name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && (after.starts_with('(') || after.starts_with(" {"))
        {
            return text[..index].trim_end();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::readable_error;

    #[test]
    fn the_sdk_debug_dump_and_repeats_are_cut() {
        assert_eq!(
            readable_error(
                "cache unavailable: service error: ResourceNotFoundException: Requested resource \
                 not found: ResourceNotFoundException: Requested resource not found \
                 (ServiceError(ServiceError { source: ResourceNotFoundException { message: \
                 Some(\"x\") }, raw: Response { body: b\"(\" } }))"
            ),
            "cache unavailable: service error: ResourceNotFoundException: Requested resource not found"
        );
        assert_eq!(readable_error("a (b)"), "a (b)");
        assert_eq!(readable_error("timeout: timeout"), "timeout");
    }
}
