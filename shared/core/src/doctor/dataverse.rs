//! Dataverse (Smart CRM): the app registration gets a token and reads; every table and column
//! the bridge writes exists (a `$top=1` read selecting it) with a text type where the metadata
//! says; `SYSTEM_USER_ID` and each `STAFF` id are GUIDs of existing, enabled `systemuser`s.

use bridge_adapters::dataverse::inspect::{ColumnProbe, UserFacts};
use bridge_adapters::dataverse::{Dataverse, DataverseConfig};
use bridge_adapters::http::RetryPolicy;
use bridge_adapters::registry::ReadSection;
use bridge_domain::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError};

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
    // Reached and signed in; a search that failed on the phone column still lets the
    // layout be checked (it says which name is wrong).
    let reachable = credentials.verdict == Verdict::Ok
        || credentials.variable.as_deref() == Some("DATAVERSE_PHONE_COLUMN");
    checks.push(credentials);
    if reachable {
        checks.extend(users(inputs, Some(&crm)).await);
        checks.extend(columns(inputs, &crm, &config).await);
    } else {
        checks.extend(users(inputs, None).await);
    }
    checks
}

/// A token, and a contact search by phone (the phone columns must exist for it).
async fn credentials(crm: &Dataverse) -> Check {
    let name = "CRM";
    let api = crm.api_url().to_owned();
    let result = match PhoneNumber::parse(PROBE_NUMBER) {
        Ok(probe) => crm
            .find_contact(&probe, Deadline::after(PROBE_TIME))
            .await
            .map(|_| ()),
        Err(_) => Ok(()),
    };
    match result {
        Ok(()) => Check::ok(
            name,
            format!("Smart CRM at {api} accepted the credentials (a contact search ran)"),
        ),
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
        Err(error) if error.is_transient() => Check::failed(
            name,
            format!(
                "the CRM could not be reached (token from {}, API {api}): {error}",
                crm.token_url()
            ),
        )
        .variable("DATAVERSE_URL")
        .fix("check the network, DATAVERSE_URL and DATAVERSE_AUTHORITY"),
        Err(error) => Check::failed(
            name,
            format!("a contact search in Smart CRM at {api} failed: {error}"),
        )
        .variable("DATAVERSE_PHONE_COLUMN")
        .fix("the phone column must exist on the contact table (see the column checks)"),
    }
}

/// One column the bridge writes.
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
    let mut uses = vec![
        ColumnUse {
            variable: Some("DATAVERSE_PHONE_COLUMN"),
            ..ColumnUse::new("contacts", "contact", &config.contact_phone_column)
        },
        ColumnUse::new("contacts", "contact", "lastname"),
        ColumnUse::new("phonecalls", "phonecall", "subject"),
        ColumnUse::new("annotations", "annotation", "notetext"),
    ];
    if inputs.writes_utm() {
        let utm = &config.utm_columns;
        for column in [
            &utm.source,
            &utm.medium,
            &utm.campaign,
            &utm.term,
            &utm.content,
        ]
        .into_iter()
        .flatten()
        {
            uses.push(ColumnUse::new("contacts", "contact", column));
        }
    }
    if inputs.creates_deals() {
        uses.push(ColumnUse::new("opportunities", "opportunity", "name"));
        if let (Some(stage), Some(_)) = (&config.deal_stage_column, inputs.env().get("DEAL_STAGE"))
        {
            uses.push(ColumnUse::new("opportunities", "opportunity", stage));
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
