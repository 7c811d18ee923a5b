//! NetHunt: the system user and the staff are e-mails; the API key answers; the Contacts
//! (and Deals) folder exists and the API user may write to it; every field the bridge reads or
//! writes exists in its folder (each finding names its `NETHUNT_FIELD_*` variable); the
//! workspace accepts the grouped search of a number's other notations.

use bridge_adapters::http::RetryPolicy;
use bridge_adapters::nethunt::inspect::{FieldFacts, FolderFacts};
use bridge_adapters::nethunt::{ConfiguredField, FieldRole, NetHunt, NetHuntConfig, PhoneSearch};
use bridge_adapters::registry::ReadSection;
use bridge_domain::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::{Crm, CrmError};

use super::variables::is_email;
use super::{Check, Inputs, PROBE_TIME};

/// A number no CRM holds, for a harmless search.
pub(super) const PROBE_NUMBER: &str = "+380440000000";

pub(super) async fn checks(inputs: &Inputs<'_, '_>) -> Vec<Check> {
    let mut checks = users(inputs).await;
    let Ok(config) = NetHuntConfig::read(inputs.lookup, inputs.secrets).await else {
        checks.push(Check::skipped(
            "CRM",
            "NetHunt is not checked until its variables above are fixed",
        ));
        return checks;
    };
    let crm = match NetHunt::new(config.clone(), RetryPolicy::default()) {
        Ok(crm) => crm,
        Err(error) => {
            let variable = if error.to_string().contains("base URL") {
                "NETHUNT_BASE_URL"
            } else {
                "NETHUNT_API_KEY"
            };
            checks.push(
                Check::failed("CRM", format!("the NetHunt adapter cannot start: {error}"))
                    .variable(variable)
                    .fix("correct the NetHunt variables (docs/configuration.md, “NetHunt”)"),
            );
            return checks;
        }
    };
    let credentials = credentials(&crm).await;
    // Reached and signed in; a search that failed on the phone field still lets the
    // layout be checked (it says which name is wrong).
    let reachable = credentials.verdict == super::Verdict::Ok
        || credentials.variable.as_deref() == Some("NETHUNT_FIELD_PHONE");
    checks.push(credentials);
    if reachable {
        checks.extend(layout(inputs, &crm, &config).await);
        checks.push(phone_search(&crm, &config).await);
    }
    checks
}

/// `SYSTEM_USER_ID` and each `STAFF` id must be e-mails: NetHunt's person fields take users by
/// e-mail, and its Integration API lists no users to check them against.
async fn users(inputs: &Inputs<'_, '_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let name = "CRM users";
    if let Some(id) = inputs.env().get("SYSTEM_USER_ID")
        && !is_email(&id)
    {
        checks.push(
            Check::failed(
                name,
                format!(
                    "SYSTEM_USER_ID is `{id}`, not an e-mail: NetHunt person fields take \
                         users by e-mail, so every contact nobody took would fail to be created"
                ),
            )
            .variable("SYSTEM_USER_ID")
            .fix(
                "set SYSTEM_USER_ID to the e-mail of the NetHunt user that owns contacts \
                     nobody took (often NETHUNT_EMAIL, the API user)",
            ),
        );
    }
    let staff = inputs.staff().await.unwrap_or_default();
    for (index, member) in staff.members().iter().enumerate() {
        let id = &member.crm_user.id;
        if !is_email(id) {
            checks.push(
                Check::failed(
                    name,
                    format!(
                        "STAFF entry {index} has crm_user_id `{id}`, not an e-mail: that \
                         manager's calls cannot be handed to them in NetHunt"
                    ),
                )
                .variable("STAFF")
                .fix(format!(
                    "set entry {index}'s crm_user_id to the manager's NetHunt login e-mail"
                )),
            );
        }
    }
    if checks.is_empty() && inputs.env().get("SYSTEM_USER_ID").is_some() {
        checks.push(Check::ok(
            name,
            format!(
                "SYSTEM_USER_ID and {} STAFF ids are e-mails (NetHunt's API lists no users: \
                 check they are workspace members)",
                staff.members().len()
            ),
        ));
    }
    checks
}

/// The API key answers (the folder list) and a contact search by phone runs.
async fn credentials(crm: &NetHunt) -> Check {
    let name = "CRM";
    let base = crm.base_url().to_owned();
    let folders = crm.readable_folders(Deadline::after(PROBE_TIME)).await;
    let searched = match folders {
        Ok(_) => match PhoneNumber::parse(PROBE_NUMBER) {
            Ok(probe) => crm
                .find_contact(&probe, Deadline::after(PROBE_TIME))
                .await
                .map(|_| ()),
            Err(_) => Ok(()),
        },
        Err(error) => Err(error),
    };
    match searched {
        Ok(()) => Check::ok(
            name,
            format!(
                "NetHunt CRM at {base} accepted the credentials (folders listed, a contact search ran)"
            ),
        ),
        Err(CrmError::Auth(message)) => Check::failed(
            name,
            format!("the CRM refused the credentials: {message} (NetHunt at {base})"),
        )
        .variable("NETHUNT_API_KEY")
        .fix(
            "NETHUNT_EMAIL must be the NetHunt user whose API key NETHUNT_API_KEY holds \
             (NetHunt → Settings → Integrations → API key)",
        ),
        Err(error) if error.is_transient() => Check::failed(
            name,
            format!("the CRM could not be reached at {base}: {error}"),
        )
        .variable("NETHUNT_BASE_URL")
        .fix("check the network, or NETHUNT_BASE_URL (default https://nethunt.com/api/v1/zapier)"),
        Err(error) => Check::failed(
            name,
            format!("a contact search in NetHunt at {base} failed: {error}"),
        )
        .variable("NETHUNT_FIELD_PHONE")
        .fix("the phone field must exist in the Contacts folder (see the field checks)"),
    }
}

/// The search of a number's other notations (a number typed `050 123 45 67`): the grouped
/// query must be accepted, or every lookup of a number not stored in E.164 falls back to one
/// request per notation.
async fn phone_search(crm: &NetHunt, config: &NetHuntConfig) -> Check {
    let name = "NetHunt phone search";
    if config.phone_search == PhoneSearch::Separate {
        return Check::ok(
            name,
            "NETHUNT_PHONE_SEARCH=separate: a number not stored in E.164 is searched with one \
             request per notation (up to ten more per lookup)",
        );
    }
    let Ok(probe) = PhoneNumber::parse(PROBE_NUMBER) else {
        return Check::skipped(name, "no probe number");
    };
    match crm
        .probe_other_notations(&probe, Deadline::after(PROBE_TIME))
        .await
    {
        Ok(()) => Check::ok(
            name,
            "NetHunt accepted the grouped search of a number's other notations \
             (NETHUNT_PHONE_SEARCH=grouped); that it finds a number typed `050 123 45 67` is \
             confirmed once on a real contact (docs/vendor-contracts.md, NH31)",
        ),
        Err(CrmError::Rejected { status, message }) => Check::failed(
            name,
            format!(
                "NetHunt refused the grouped search of a number's other notations ({status}: \
                 {message}); each lookup of a number not stored in E.164 falls back to one \
                 request per notation"
            ),
        )
        .variable("NETHUNT_PHONE_SEARCH")
        .fix("set NETHUNT_PHONE_SEARCH=separate"),
        Err(error) => Check::failed(
            name,
            format!("the grouped search of a number's other notations failed: {error}"),
        )
        .variable("NETHUNT_PHONE_SEARCH"),
    }
}

/// The folders and their fields.
async fn layout(inputs: &Inputs<'_, '_>, crm: &NetHunt, config: &NetHuntConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    let deadline = || Deadline::after(PROBE_TIME);
    let (readable, writable) = match (
        crm.readable_folders(deadline()).await,
        crm.writable_folders(deadline()).await,
    ) {
        (Ok(readable), Ok(writable)) => (readable, writable),
        (Err(error), _) | (_, Err(error)) => {
            checks.push(Check::failed(
                "NetHunt folders",
                format!(
                    "the folder lists could not be read at {}: {error}",
                    crm.base_url()
                ),
            ));
            return checks;
        }
    };
    let contacts_ok = folder_check(
        &mut checks,
        "Contacts",
        "NETHUNT_CONTACTS_FOLDER_ID",
        &config.contacts_folder_id,
        &readable,
        &writable,
    );
    let configured = config.fields.configured();
    let used = |roles: &[FieldRole]| -> Vec<ConfiguredField<'_>> {
        configured
            .iter()
            .filter(|field| roles.contains(&field.role))
            .copied()
            .collect()
    };
    if contacts_ok {
        let uses = if inputs.writes_utm() {
            used(&[FieldRole::Contact, FieldRole::Utm])
        } else {
            used(&[FieldRole::Contact])
        };
        checks.extend(fields_check(crm, "Contacts", &config.contacts_folder_id, &uses).await);
    } else {
        checks.push(Check::skipped(
            "NetHunt Contacts fields",
            "not checked until NETHUNT_CONTACTS_FOLDER_ID names a folder",
        ));
    }
    let creates_deals = inputs.creates_deals();
    match (&config.deals_folder_id, creates_deals) {
        (None, true) => checks.push(
            Check::failed(
                "NetHunt folders",
                "CREATE_DEAL=true but no Deals folder is configured: every new client's deal \
                 would fail",
            )
            .variable("NETHUNT_DEALS_FOLDER_ID")
            .fix(format!(
                "set NETHUNT_DEALS_FOLDER_ID to the Deals folder's id ({}), or CREATE_DEAL=false",
                listing(&readable)
            )),
        ),
        (Some(deals), _) => {
            let deals_ok = folder_check(
                &mut checks,
                "Deals",
                "NETHUNT_DEALS_FOLDER_ID",
                deals,
                &readable,
                &writable,
            );
            if deals_ok && creates_deals {
                let uses = if inputs.env().get("DEAL_STAGE").is_some() {
                    used(&[FieldRole::Deal, FieldRole::DealStage])
                } else {
                    used(&[FieldRole::Deal])
                };
                checks.extend(fields_check(crm, "Deals", deals, &uses).await);
            }
        }
        (None, false) => {}
    }
    checks
}

/// Whether the folder `id` exists and the API user can write to it; pushes the finding.
fn folder_check(
    checks: &mut Vec<Check>,
    what: &str,
    variable: &str,
    id: &str,
    readable: &[FolderFacts],
    writable: &[FolderFacts],
) -> bool {
    let name = "NetHunt folders";
    let Some(folder) = readable.iter().find(|f| f.id == id) else {
        checks.push(
            Check::failed(
                name,
                format!(
                    "{variable} is `{id}`, but the API user can read no folder with that id: \
                     every call would fail"
                ),
            )
            .variable(variable)
            .fix(format!(
                "set {variable} to the {what} folder's id; the folders are: {}",
                listing(readable)
            )),
        );
        return false;
    };
    if !writable.iter().any(|f| f.id == id) {
        checks.push(
            Check::failed(
                name,
                format!(
                    "the {what} folder `{}` ({id}) is read-only for the API user",
                    folder.name
                ),
            )
            .variable(variable)
            .fix("give the NETHUNT_EMAIL user write access to the folder in NetHunt"),
        );
        return false;
    }
    checks.push(Check::ok(
        name,
        format!("{what}: `{}` ({id}), readable and writable", folder.name),
    ));
    true
}

fn listing(folders: &[FolderFacts]) -> String {
    if folders.is_empty() {
        return "none is shared with the API user".to_owned();
    }
    folders
        .iter()
        .take(12)
        .map(|f| format!("`{}` = {}", f.name, f.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every field of `uses` in the folder's field list (by exact name, as NetHunt compares):
/// one finding per missing field.
async fn fields_check(
    crm: &NetHunt,
    folder: &str,
    id: &str,
    uses: &[ConfiguredField<'_>],
) -> Vec<Check> {
    let name = format!("NetHunt {folder} fields");
    let fields: Vec<FieldFacts> = match crm.folder_fields(id, Deadline::after(PROBE_TIME)).await {
        Ok(Some(fields)) => fields,
        Ok(None) => {
            return vec![Check::failed(
                name,
                format!("NetHunt knows no folder `{id}`"),
            )];
        }
        Err(error) => {
            return vec![Check::failed(
                name,
                format!("the field list could not be read: {error}"),
            )];
        }
    };
    let known = fields
        .iter()
        .map(|f| format!("`{}`", f.name))
        .collect::<Vec<_>>()
        .join(", ");
    let missing: Vec<Check> = uses
        .iter()
        .filter(|u| !fields.iter().any(|f| f.name == u.name))
        .map(|u| {
            let check = Check::failed(
                name.clone(),
                format!(
                    "the {folder} folder has no {} field `{}`: NetHunt refuses every write \
                     that names it, and a read of it finds nothing",
                    u.what, u.name
                ),
            );
            check.variable(u.variable).fix(format!(
                "set {} to the field's name in your workspace, or add a field `{}`; the \
                 {folder} folder's fields are: {known}",
                u.variable, u.name
            ))
        })
        .collect();
    if !missing.is_empty() {
        return missing;
    }
    vec![Check::ok(
        name,
        format!(
            "{} fields found ({}); NetHunt's API lists names only, so types are not checked",
            uses.len(),
            uses.iter()
                .map(|u| format!("`{}`", u.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )]
}
