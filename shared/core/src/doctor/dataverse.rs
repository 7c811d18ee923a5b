//! Dataverse (Smart CRM): the app registration gets a token and reads; every column the bridge
//! reads or writes exists (a `$top=1` read selecting it), each configured one named by its
//! variable, with a text type where the metadata says; the contact search by phone runs, each
//! of its steps timed; `SYSTEM_USER_ID` and each `STAFF` id are GUIDs of existing, enabled
//! `systemuser`s.

use std::time::Duration;

use bridge_adapters::dataverse::inspect::{ColumnProbe, SearchProbe, UserFacts};
use bridge_adapters::dataverse::{Dataverse, DataverseConfig, SearchStep};
use bridge_adapters::http::RetryPolicy;
use bridge_adapters::registry::ReadSection;
use bridge_domain::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::CrmError;

use super::nethunt::PROBE_NUMBER;
use super::variables::is_email;
use super::{Check, Inputs, PROBE_TIME, Verdict};

pub(super) async fn checks(inputs: &Inputs<'_, '_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let Ok(config) = DataverseConfig::read(inputs.lookup, inputs.secrets).await else {
        checks.extend(users(inputs, None).await);
        checks.push(Check::skipped(
            "CRM",
            "Smart CRM is not checked until its variables above are fixed",
        ));
        return checks;
    };
    let crm = match Dataverse::new(config.clone(), RetryPolicy::default()) {
        Ok(crm) => crm,
        Err(error) => {
            let text = error.to_string();
            let variable = if text.contains("environment URL") {
                "DATAVERSE_URL"
            } else if text.contains("authority") {
                "DATAVERSE_AUTHORITY"
            } else if text.contains("tenant") {
                "DATAVERSE_TENANT_ID"
            } else if text.contains("card link") {
                "DATAVERSE_CARD_URL_TEMPLATE"
            } else if text.contains("app URL") {
                "DATAVERSE_APP_URL"
            } else if text.contains("column") {
                "DATAVERSE_PHONE_COLUMN"
            } else {
                "DATAVERSE_CLIENT_ID"
            };
            checks.extend(users(inputs, None).await);
            checks.push(
                Check::failed("CRM", format!("the Smart CRM adapter cannot start: {text}"))
                    .variable(variable)
                    .fix("correct it (docs/configuration.md, “Dataverse (Smart CRM)”)"),
            );
            return checks;
        }
    };
    let credentials = credentials(&crm).await;
    let reachable = credentials.verdict == Verdict::Ok;
    checks.push(credentials);
    if reachable {
        checks.extend(users(inputs, Some(&crm)).await);
        checks.extend(columns(inputs, &crm, &config).await);
        checks.push(search(&crm, &config).await);
    } else {
        checks.extend(users(inputs, None).await);
    }
    checks
}

/// A token, and a read of the contact table.
async fn credentials(crm: &Dataverse) -> Check {
    let name = "CRM";
    let api = crm.api_url().to_owned();
    let result = crm
        .probe_column("contacts", "contactid", Deadline::after(PROBE_TIME))
        .await;
    match result {
        Ok(ColumnProbe::Present) => Check::ok(
            name,
            format!("Smart CRM at {api} accepted the credentials (the contact table was read)"),
        ),
        Ok(ColumnProbe::Missing(message)) => Check::failed(
            name,
            format!("Smart CRM at {api} could not read the contact table: {message}"),
        )
        .variable("DATAVERSE_URL")
        .fix("DATAVERSE_URL must be the environment's URL (Power Platform admin center → Environments → the environment → Environment URL)"),
        Err(CrmError::Auth(message)) => Check::failed(
            name,
            format!(
                "the CRM refused the credentials: {message} (token from {}, API {api})",
                crm.token_url()
            ),
        )
        .variable("DATAVERSE_CLIENT_SECRET")
        .fix(
            "DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID and DATAVERSE_CLIENT_SECRET must be the \
             app registration's, and the app must be an application user of the environment \
             (Power Platform admin center → Environment → Users → App users)",
        ),
        Err(error) => Check::failed(
            name,
            format!(
                "the CRM could not be reached (token from {}, API {api}): {error}",
                crm.token_url()
            ),
        )
        .variable("DATAVERSE_URL")
        .fix("check the network, DATAVERSE_URL and DATAVERSE_AUTHORITY"),
    }
}

/// A search step slower than this makes every call from a new client wait as long.
const SLOW_SEARCH: Duration = Duration::from_secs(2);

/// The contact search by phone, each step timed, for a number that is in no CRM.
async fn search(crm: &Dataverse, config: &DataverseConfig) -> Check {
    let name = "Smart CRM contact search";
    let Ok(probe) = PhoneNumber::parse(PROBE_NUMBER) else {
        return Check::skipped(name, "no probe number");
    };
    let probes = crm.probe_search(&probe, Deadline::after(PROBE_TIME)).await;
    let describe = |p: &SearchProbe| {
        let what = match p.step {
            SearchStep::Whole => "whole notations (eq)",
            SearchStep::Fragments => "last seven digits (contains)",
        };
        format!("{what}: {} ms", p.took.as_millis())
    };
    let summary = probes.iter().map(describe).collect::<Vec<_>>().join(", ");
    for probe in &probes {
        match (&probe.outcome, probe.step) {
            // A searched column the tenant does not have: the column checks name its variable.
            (Err(CrmError::Config(_)), _) => {
                return Check::skipped(
                    name,
                    "not run: a searched column does not exist (see the column checks)",
                );
            }
            (Err(error), SearchStep::Whole) => {
                return Check::failed(name, format!("the search by whole number failed: {error}"))
                    .variable("DATAVERSE_SEARCH_COLUMNS")
                    .fix("every searched column must be a text column of the contact table the application user can read");
            }
            (Err(error), SearchStep::Fragments) => {
                return Check::failed(
                    name,
                    format!(
                        "the search by the last seven digits (a leading-wildcard `contains`, which \
                         Dataverse may throttle or time out on a large contact table) failed: {error}"
                    ),
                )
                .variable("DATAVERSE_FRAGMENT_SEARCH")
                .fix(
                    "set DATAVERSE_FRAGMENT_SEARCH=false and add a digits-only column \
                     (DATAVERSE_DIGITS_COLUMN) that holds every contact's number as digits",
                );
            }
            (Ok(_), SearchStep::Fragments) if probe.took > SLOW_SEARCH => {
                return Check::warning(
                    name,
                    format!(
                        "the search by the last seven digits scans the contact table and took \
                         {} ms ({summary}); every call from a new client waits as long",
                        probe.took.as_millis()
                    ),
                )
                .variable("DATAVERSE_FRAGMENT_SEARCH")
                .fix(
                    "keep it if numbers are typed by hand in many notations; otherwise set \
                     DATAVERSE_FRAGMENT_SEARCH=false, and add a digits-only column \
                     (DATAVERSE_DIGITS_COLUMN) for the numbers stored with separators",
                );
            }
            _ => {}
        }
    }
    let columns = config.search_columns.len();
    Check::ok(
        name,
        format!(
            "a number not in the CRM costs {} request(s) over the searched columns ({summary}); \
             {columns} column(s) from DATAVERSE_SEARCH_COLUMNS plus the phone{} column",
            probes.len(),
            if config.digits_column.is_some() {
                " and digits"
            } else {
                ""
            },
        ),
    )
}

/// One column the bridge reads or writes, and the variable that names it (none for the standard
/// columns every environment has).
struct ColumnUse {
    entity_set: &'static str,
    logical: &'static str,
    column: String,
    variable: Option<&'static str>,
}

impl ColumnUse {
    fn new(entity_set: &'static str, logical: &'static str, column: &str) -> Self {
        Self {
            entity_set,
            logical,
            column: column.to_owned(),
            variable: None,
        }
    }
}

/// Text columns: what the bridge writes into each.
const TEXT_TYPES: [&str; 2] = ["String", "Memo"];

async fn columns(inputs: &Inputs<'_, '_>, crm: &Dataverse, config: &DataverseConfig) -> Vec<Check> {
    let contact = |column: &str, variable: &'static str| ColumnUse {
        variable: Some(variable),
        ..ColumnUse::new("contacts", "contact", column)
    };
    let mut uses = vec![contact(
        &config.contact_phone_column,
        "DATAVERSE_PHONE_COLUMN",
    )];
    for column in &config.search_columns {
        if *column != config.contact_phone_column {
            uses.push(contact(column, "DATAVERSE_SEARCH_COLUMNS"));
        }
    }
    if let Some(column) = &config.digits_column {
        uses.push(contact(column, "DATAVERSE_DIGITS_COLUMN"));
    }
    if let Some(column) = &config.contact_name_column {
        uses.push(contact(column, "DATAVERSE_CONTACT_NAME_COLUMN"));
    }
    uses.push(ColumnUse::new("phonecalls", "phonecall", "subject"));
    uses.push(ColumnUse::new("annotations", "annotation", "notetext"));
    if inputs.writes_utm() {
        let utm = &config.utm_columns;
        for (column, variable) in [
            (&utm.source, "DATAVERSE_UTM_SOURCE_COLUMN"),
            (&utm.medium, "DATAVERSE_UTM_MEDIUM_COLUMN"),
            (&utm.campaign, "DATAVERSE_UTM_CAMPAIGN_COLUMN"),
            (&utm.term, "DATAVERSE_UTM_TERM_COLUMN"),
            (&utm.content, "DATAVERSE_UTM_CONTENT_COLUMN"),
        ] {
            if let Some(column) = column {
                uses.push(contact(column, variable));
            }
        }
    }
    if inputs.creates_deals() {
        uses.push(ColumnUse::new("opportunities", "opportunity", "name"));
        if let (Some(stage), Some(_)) = (&config.deal_stage_column, inputs.env().get("DEAL_STAGE"))
        {
            uses.push(ColumnUse {
                variable: Some("DATAVERSE_DEAL_STAGE_COLUMN"),
                ..ColumnUse::new("opportunities", "opportunity", stage)
            });
        }
    }
    let mut checks = Vec::new();
    let mut found = Vec::new();
    for column in &uses {
        let name = "Smart CRM columns";
        let probe = crm
            .probe_column(
                column.entity_set,
                &column.column,
                Deadline::after(PROBE_TIME),
            )
            .await;
        let what = format!("`{}.{}`", column.logical, column.column);
        let check = match probe {
            Ok(ColumnProbe::Present) => {
                let kind = crm
                    .column_type(column.logical, &column.column, Deadline::after(PROBE_TIME))
                    .await;
                match kind {
                    Some(kind) if !TEXT_TYPES.contains(&kind.as_str()) => Some(
                        Check::failed(
                            name,
                            format!(
                                "{what} is of type {kind}; the bridge writes text into it \
                                 (String or Memo)"
                            ),
                        )
                        .fix(format!(
                            "use a text column of the {} table instead",
                            column.logical
                        )),
                    ),
                    kind => {
                        found.push(match kind {
                            Some(kind) => format!("{what} ({kind})"),
                            None => what,
                        });
                        None
                    }
                }
            }
            Ok(ColumnProbe::Missing(message)) => Some(
                Check::failed(
                    name,
                    format!(
                        "{what} does not exist: {}; every write naming it would fail",
                        message.trim_end_matches('.')
                    ),
                )
                .fix(format!(
                    "create the column on the {} table (Power Apps → Tables → {} → Columns) or \
                     configure the column your tenant has",
                    column.logical, column.logical
                )),
            ),
            Err(error) => Some(Check::failed(
                name,
                format!("{what} could not be checked at {}: {error}", crm.api_url()),
            )),
        };
        if let Some(mut check) = check {
            if let Some(variable) = column.variable {
                check = check.variable(variable);
            }
            checks.push(check);
        }
    }
    if checks.is_empty() {
        checks.push(Check::ok(
            "Smart CRM columns",
            format!("{} columns found: {}", found.len(), found.join(", ")),
        ));
    }
    checks
}

/// `SYSTEM_USER_ID` and each `STAFF` id: a GUID (always checked), of an existing, enabled
/// `systemuser` (with `crm`).
async fn users(inputs: &Inputs<'_, '_>, crm: Option<&Dataverse>) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut people: Vec<(String, String, &'static str)> = Vec::new();
    if let Some(id) = inputs.env().get("SYSTEM_USER_ID") {
        people.push(("SYSTEM_USER_ID".to_owned(), id, "SYSTEM_USER_ID"));
    }
    let staff = inputs.staff().await.unwrap_or_default();
    for (index, member) in staff.members().iter().enumerate() {
        people.push((
            format!("STAFF entry {index}'s crm_user_id"),
            member.crm_user.id.clone(),
            "STAFF",
        ));
    }
    let mut fine = 0;
    for (who, id, variable) in &people {
        match user_problem(who, id, crm).await {
            None => fine += 1,
            Some((detail, fix)) => checks.push(
                Check::failed("CRM users", detail)
                    .variable(*variable)
                    .fix(fix),
            ),
        }
    }
    if checks.is_empty() && !people.is_empty() {
        let how = if crm.is_some() {
            "existing, enabled systemusers"
        } else {
            "GUIDs (not looked up: the CRM cannot be reached)"
        };
        checks.push(Check::ok(
            "CRM users",
            format!("{fine} user ids (SYSTEM_USER_ID, STAFF) are {how}"),
        ));
    }
    checks
}

/// What is wrong with user `id`, and the fix; `None` when it is a real, enabled user (or a
/// GUID, without `crm`).
async fn user_problem(who: &str, id: &str, crm: Option<&Dataverse>) -> Option<(String, String)> {
    let deadline = || Deadline::after(PROBE_TIME);
    if !is_guid(id) {
        let detail = format!(
            "{who} is `{id}`, not a systemuserid (a GUID): Dataverse refuses it as an owner, so \
             calls would be parked instead of logged"
        );
        let mut fix = "use the user's systemuserid (Power Apps → Settings → Users → the user: \
             the id in the address; or GET systemusers?$filter=internalemailaddress eq '…')"
            .to_owned();
        if let Some(crm) = crm.filter(|_| is_email(id))
            && let Ok(found) = crm.system_users_by_email(id, deadline()).await
            && let Some(user) = found.iter().find(|u| !u.disabled).or(found.first())
        {
            fix = format!("use `{}`, the systemuserid of {}", user.id, describe(user));
        }
        return Some((detail, fix));
    }
    let crm = crm?;
    match crm.system_user(id, deadline()).await {
        Ok(Some(user)) if user.disabled => Some((
            format!("{who} `{id}` is {}, a disabled user", describe(&user)),
            "enable the user in Smart CRM, or name another one".to_owned(),
        )),
        Ok(Some(_)) => None,
        Ok(None) => Some((
            format!("{who} `{id}` is no systemuser of this environment"),
            "use the systemuserid of a user of this environment (Power Apps → Settings → Users)"
                .to_owned(),
        )),
        Err(error) => Some((
            format!("{who} `{id}` could not be looked up: {error}"),
            "run doctor again once the CRM answers".to_owned(),
        )),
    }
}

fn describe(user: &UserFacts) -> String {
    match (&user.full_name, &user.email) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name.clone(),
        (None, Some(email)) => email.clone(),
        (None, None) => "a user".to_owned(),
    }
}

/// 8-4-4-4-12 hexadecimal digits.
fn is_guid(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(part, len)| part.len() == len && part.chars().all(|c| c.is_ascii_hexdigit()))
}
