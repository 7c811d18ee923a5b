//! NetHunt's configuration section: the variables, their defaults and their errors.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use bridge_domain::ports::crm::{Crm, CrmError, CrmKind};
use bridge_domain::settings::{NewContactOwner, UnknownWord};

use super::{DurationUnit, NetHunt, NetHuntConfig, PersonFormat, PhoneSearch};
use crate::env::{ConfigError, Env, Lookup};
use crate::http::RetryPolicy;
use crate::registry::{CrmProfile, CrmSection, ReadSection};
use crate::secret_store::SecretStore;

pub static PROFILE: CrmProfile = CrmProfile {
    kind: CrmKind::NetHunt,
    display_name: "NetHunt CRM",
    // The NetHunt seed: contact and deal belong to the manager who took the call.
    default_owner: NewContactOwner::AnsweringManager,
    system_user_hint: "e-mail of the NetHunt user that owns contacts nobody took",
    local_defaults: &[
        ("NETHUNT_BASE_URL", "http://127.0.0.1:4010/api/v1/zapier"),
        ("NETHUNT_EMAIL", "bridge@example.com"),
        ("NETHUNT_API_KEY", "sandbox-nethunt-key"),
        ("NETHUNT_CONTACTS_FOLDER_ID", "contacts-folder"),
        ("NETHUNT_DEALS_FOLDER_ID", "deals-folder"),
        ("SYSTEM_USER_ID", "bridge@example.com"),
        ("SYSTEM_USER_NAME", "Ringostat Bridge"),
    ],
    local_manager_id: "olena.kovalenko@smart-crm.example",
};

impl CrmSection for NetHuntConfig {
    fn kind(&self) -> CrmKind {
        CrmKind::NetHunt
    }

    fn connect(&self, policy: &RetryPolicy) -> Result<Arc<dyn Crm>, CrmError> {
        Ok(Arc::new(NetHunt::new(self.clone(), policy.clone())?))
    }
}

impl FromStr for PersonFormat {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "name_and_email" => Ok(Self::NameAndEmail),
            "email" => Ok(Self::Email),
            _ => Err(UnknownWord::expected("`name_and_email` or `email`")),
        }
    }
}

impl FromStr for PhoneSearch {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "grouped" => Ok(Self::Grouped),
            "separate" => Ok(Self::Separate),
            _ => Err(UnknownWord::expected("`grouped` or `separate`")),
        }
    }
}

impl FromStr for DurationUnit {
    type Err = UnknownWord;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        match word {
            "minutes" => Ok(Self::Minutes),
            "seconds" => Ok(Self::Seconds),
            _ => Err(UnknownWord::expected("`minutes` or `seconds`")),
        }
    }
}

#[async_trait]
impl ReadSection for NetHuntConfig {
    const PROFILE: &'static CrmProfile = &PROFILE;

    /// Reads the NetHunt variables (the API key through `secrets` when given by reference).
    async fn read(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let api_key = secrets.resolve("NETHUNT_API_KEY", lookup).await?.ok_or(
            ConfigError::Missing {
                variable: "NETHUNT_API_KEY",
                hint: "NetHunt → Settings → Integrations → API key; or NETHUNT_API_KEY_SSM_PARAMETER",
            },
        )?;
        let mut config = NetHuntConfig::new(
            env.required("NETHUNT_EMAIL", "the NetHunt user the API key belongs to")?,
            api_key,
            env.required(
                "NETHUNT_CONTACTS_FOLDER_ID",
                "id of the Contacts folder, from GET /triggers/readable-folder",
            )?,
        );
        if let Some(url) = env.get("NETHUNT_BASE_URL") {
            config.base_url = url;
        }
        config.deals_folder_id = env.get("NETHUNT_DEALS_FOLDER_ID");
        config.call_log_duration_unit =
            env.parsed_or("NETHUNT_DURATION_UNIT", DurationUnit::Minutes)?;
        config.person_format = env.parsed_or("NETHUNT_PERSON_FORMAT", PersonFormat::default())?;
        config.phone_search = env.parsed_or("NETHUNT_PHONE_SEARCH", PhoneSearch::default())?;
        if let Some(zone) = env.get("NETHUNT_TIME_ZONE") {
            if jiff::tz::TimeZone::get(&zone).is_err() {
                return Err(ConfigError::invalid(
                    "NETHUNT_TIME_ZONE",
                    format!("is `{zone}`, not an IANA time zone (e.g. Europe/Kyiv)"),
                ));
            }
            config.time_zone = zone;
        }
        if let Some(template) = env.get("NETHUNT_CARD_URL_TEMPLATE") {
            if !template.contains("{record_id}") {
                return Err(ConfigError::invalid(
                    "NETHUNT_CARD_URL_TEMPLATE",
                    format!(
                        "is `{template}`, without `{{record_id}}`: copy a record card's address \
                         and put `{{folder_id}}` and `{{record_id}}` in it"
                    ),
                ));
            }
            config.card_url_template = template;
        }
        let fields = &mut config.fields;
        for (variable, field) in [
            ("NETHUNT_FIELD_CONTACT_NAME", &mut fields.contact_name),
            ("NETHUNT_FIELD_PHONE", &mut fields.phone),
            ("NETHUNT_FIELD_OWNER", &mut fields.owner),
            ("NETHUNT_FIELD_UTM_SOURCE", &mut fields.utm_source),
            ("NETHUNT_FIELD_UTM_MEDIUM", &mut fields.utm_medium),
            ("NETHUNT_FIELD_UTM_CAMPAIGN", &mut fields.utm_campaign),
            ("NETHUNT_FIELD_UTM_TERM", &mut fields.utm_term),
            ("NETHUNT_FIELD_DEAL_NAME", &mut fields.deal_name),
            ("NETHUNT_FIELD_DEAL_STAGE", &mut fields.deal_stage),
            ("NETHUNT_FIELD_DEAL_OWNER", &mut fields.deal_owner),
            ("NETHUNT_FIELD_DEAL_CONTACT", &mut fields.deal_contact),
        ] {
            if let Some(name) = env.get(variable) {
                *field = name;
            }
        }
        if let Some(name) = env.get("NETHUNT_FIELD_UTM_CONTENT") {
            fields.utm_content = Some(name);
        }
        Ok(config)
    }
}
