//! Dataverse's (Smart CRM's) configuration section: the variables, their defaults and their
//! errors.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind};
use bridge_domain::settings::{NewContactOwner, UnknownWord};

use super::{
    Dataverse, DataverseConfig, MissedCallState, base_url, check_card_url_template, is_column_name,
};
use crate::env::{ConfigError, Env, Lookup};
use crate::http::RetryPolicy;
use crate::registry::{CrmProfile, CrmSection, ReadSection};
use crate::secret_store::SecretStore;

const SANDBOX: &str = "http://127.0.0.1:4010";

pub static PROFILE: CrmProfile = CrmProfile {
    kind: CrmKind::Dataverse,
    display_name: "Smart CRM",
    // The Smart CRM seed: new contacts belong to the system user.
    default_owner: NewContactOwner::SystemUser,
    system_user_hint: "systemuserid (GUID) of the Smart CRM user that owns new contacts",
    local_defaults: &[
        ("DATAVERSE_URL", SANDBOX),
        ("DATAVERSE_AUTHORITY", SANDBOX),
        ("DATAVERSE_TENANT_ID", "sandbox-tenant"),
        ("DATAVERSE_CLIENT_ID", "sandbox-client"),
        ("DATAVERSE_CLIENT_SECRET", "sandbox-secret"),
        ("SYSTEM_USER_ID", "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1"),
        ("SYSTEM_USER_NAME", "# Ringostat Bridge"),
    ],
    local_manager_id: "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2",
};

impl CrmSection for DataverseConfig {
    fn kind(&self) -> CrmKind {
        CrmKind::Dataverse
    }

    fn connect(&self, policy: &RetryPolicy) -> Result<Arc<dyn Crm>, CrmError> {
        Ok(Arc::new(Dataverse::new(self.clone(), policy.clone())?))
    }
}

impl FromStr for MissedCallState {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "canceled" => Ok(Self::Canceled),
            "callback" => Ok(Self::CallBack),
            "open" => Ok(Self::Open),
            _ => Err(UnknownWord::expected("`canceled`, `callback` or `open`")),
        }
    }
}

#[async_trait]
impl ReadSection for DataverseConfig {
    const PROFILE: &'static CrmProfile = &PROFILE;

    /// Reads the Dataverse variables (the client secret through `secrets` when given by reference).
    async fn read(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let secret = secrets
            .resolve("DATAVERSE_CLIENT_SECRET", lookup)
            .await?
            .ok_or(ConfigError::Missing {
                variable: "DATAVERSE_CLIENT_SECRET",
                hint: "the client secret of the Entra app registration; or DATAVERSE_CLIENT_SECRET_SSM_PARAMETER",
            })?;
        let mut config = DataverseConfig::new(
            env.required(
                "DATAVERSE_URL",
                "the environment URL, https://<org>.crm4.dynamics.com",
            )?,
            env.required("DATAVERSE_TENANT_ID", "the Entra directory (tenant) id")?,
            env.required(
                "DATAVERSE_CLIENT_ID",
                "the application (client) id of the app registration",
            )?,
            secret,
        );
        if let Some(authority) = env.get("DATAVERSE_AUTHORITY") {
            config.authority = authority;
        }
        read_columns(&env, &mut config)?;
        config.missed_call_state =
            env.parsed_or("DATAVERSE_MISSED_CALL_STATE", MissedCallState::Canceled)?;
        if let Some(url) = env.get("DATAVERSE_APP_URL") {
            base_url(&url, "app URL").map_err(|e| invalid("DATAVERSE_APP_URL", &e))?;
            config.app_url = Some(url);
        }
        config.app_id = env.get("DATAVERSE_APP_ID");
        if let Some(template) = env.get("DATAVERSE_CARD_URL_TEMPLATE") {
            check_card_url_template(&template)
                .map_err(|e| invalid("DATAVERSE_CARD_URL_TEMPLATE", &e))?;
            config.card_url_template = Some(template);
        }
        config.id_namespace = env.parsed::<uuid::Uuid>("DATAVERSE_ID_NAMESPACE")?;
        Ok(config)
    }
}

/// The value of a column variable that leaves the value out (blank counts as unset, so it
/// cannot say that).
pub const LEAVE_OUT: &str = "-";

/// Every column name of the tenant's schema the bridge reads or writes; unset ones keep the
/// seed's defaults.
fn read_columns(env: &Env<'_, '_>, config: &mut DataverseConfig) -> Result<(), ConfigError> {
    match column(env, "DATAVERSE_PHONE_COLUMN")? {
        Some(Some(name)) => config.contact_phone_column = name,
        Some(None) => {
            return Err(ConfigError::invalid(
                "DATAVERSE_PHONE_COLUMN",
                "cannot be left out: a new contact's number has to go somewhere",
            ));
        }
        None => {}
    }
    if let Some(list) = env.get("DATAVERSE_SEARCH_COLUMNS") {
        config.search_columns = if list == LEAVE_OUT {
            Vec::new()
        } else {
            list.split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| column_name("DATAVERSE_SEARCH_COLUMNS", name))
                .collect::<Result<_, _>>()?
        };
    }
    if let Some(digits) = column(env, "DATAVERSE_DIGITS_COLUMN")? {
        config.digits_column = digits;
    }
    config.fragment_search = env.flag("DATAVERSE_FRAGMENT_SEARCH", true)?;
    if let Some(name) = column(env, "DATAVERSE_CONTACT_NAME_COLUMN")? {
        config.contact_name_column = name;
    }
    let utm = &mut config.utm_columns;
    for (variable, column_of) in [
        ("DATAVERSE_UTM_SOURCE_COLUMN", &mut utm.source),
        ("DATAVERSE_UTM_MEDIUM_COLUMN", &mut utm.medium),
        ("DATAVERSE_UTM_CAMPAIGN_COLUMN", &mut utm.campaign),
        ("DATAVERSE_UTM_TERM_COLUMN", &mut utm.term),
        ("DATAVERSE_UTM_CONTENT_COLUMN", &mut utm.content),
    ] {
        if let Some(name) = column(env, variable)? {
            *column_of = name;
        }
    }
    let max_chars = env.number("DATAVERSE_UTM_MAX_CHARS", MAX_CHARS_DEFAULT)?;
    if !(1..=TEXT_COLUMN_MAX_CHARS).contains(&max_chars) {
        return Err(ConfigError::invalid(
            "DATAVERSE_UTM_MAX_CHARS",
            format!(
                "is `{max_chars}`; a text column holds 1 to {TEXT_COLUMN_MAX_CHARS} characters"
            ),
        ));
    }
    utm.max_chars = usize::try_from(max_chars).unwrap_or(usize::MAX);
    if let Some(stage) = column(env, "DATAVERSE_DEAL_STAGE_COLUMN")? {
        config.deal_stage_column = stage;
    }
    Ok(())
}

/// Dataverse's default length of a new text column, the seed's cut of UTM values.
const MAX_CHARS_DEFAULT: u64 = 100;
/// The longest single line of text Dataverse has.
const TEXT_COLUMN_MAX_CHARS: u64 = 4000;

/// A column variable: `None` unset, `Some(None)` left out (`-`), `Some(Some(name))` a logical
/// name (lower-cased: a schema name such as `cr1a2_Mobile` is accepted as written).
fn column(
    env: &Env<'_, '_>,
    variable: &'static str,
) -> Result<Option<Option<String>>, ConfigError> {
    match env.get(variable) {
        None => Ok(None),
        Some(value) if value == LEAVE_OUT => Ok(Some(None)),
        Some(value) => column_name(variable, &value).map(|name| Some(Some(name))),
    }
}

fn column_name(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let name = value.trim().to_ascii_lowercase();
    if is_column_name(&name) {
        Ok(name)
    } else {
        Err(ConfigError::invalid(
            variable,
            format!(
                "names `{value}`, which is not a column's logical name (letters, digits and `_`, \
                 such as `mobilephone` or `cr1a2_mobile`; `{LEAVE_OUT}` leaves it out)"
            ),
        ))
    }
}

fn invalid(variable: &'static str, error: &CrmError) -> ConfigError {
    let reason = match error {
        CrmError::Config(message) => message.clone(),
        other => other.to_string(),
    };
    ConfigError::invalid(variable, format!("is not usable: {reason}"))
}
