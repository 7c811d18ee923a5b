//! Configuration: read once per cold start from the environment (and, for secrets, from SSM
//! Parameter Store or Secrets Manager through [`SecretStore`]).
//!
//! Every variable is documented in `docs/configuration.md`; `template.yaml` sets them from its
//! parameters. [`local_defaults`] holds the embedded defaults of the local run: the CRM sandbox
//! on `127.0.0.1:4010`, the in-memory cache and the token `local-dev-token`.

use std::collections::HashMap;
use std::time::Duration;

use jiff::tz::TimeZone;

use crate::activity::{CrmUser, Language};
use crate::adapters::dataverse::{DataverseConfig, MissedCallState};
use crate::adapters::nethunt::{DurationUnit, NetHuntConfig};
use crate::phone::PhoneNumber;
use crate::ports::crm::CrmKind;
use crate::ringostat::api::{self, RingostatApiConfig};
use crate::ringostat::{CallStatus, Direction, EventKind, ParseOptions};
use crate::secret::Secret;
use crate::secret_store::{SecretStore, SecretStoreError};
use crate::staff::{Staff, StaffError};

/// Reads one variable; `std::env::var` in production, a map in tests.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + Send + Sync + 'a;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: `{variable}` is required ({hint})")]
    Missing {
        variable: &'static str,
        hint: &'static str,
    },
    #[error("configuration: `{variable}` {reason}")]
    Invalid {
        variable: &'static str,
        reason: String,
    },
    #[error("configuration: {0}")]
    Secret(#[from] SecretStoreError),
    #[error("configuration: `STAFF`: {0}")]
    Staff(#[from] StaffError),
}

/// Who a contact created by the bridge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewContactOwner {
    /// The system user, always (the Smart CRM seed).
    SystemUser,
    /// The manager who took or made the call; the system user until one is known (the NetHunt
    /// seed: contact and deal are linked to the manager who took the call).
    AnsweringManager,
}

impl NewContactOwner {
    /// Each seed's rule.
    pub fn default_for(crm: CrmKind) -> Self {
        match crm {
            CrmKind::Dataverse => Self::SystemUser,
            CrmKind::NetHunt => Self::AnsweringManager,
        }
    }
}

/// The deal created for a new client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealSettings {
    /// `{phone}` is replaced by the client's number.
    pub name_template: String,
    pub stage: Option<String>,
}

impl DealSettings {
    pub fn name_for(&self, phone: &str) -> String {
        self.name_template.replace("{phone}", phone)
    }
}

/// Which calls an event handles: the options of NetHunt's "New VoIP call" trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Empty: every direction.
    pub directions: Vec<Direction>,
    /// Empty: every status.
    pub statuses: Vec<CallStatus>,
}

impl EventFilter {
    pub fn accepts(&self, direction: Direction, status: CallStatus) -> bool {
        (self.directions.is_empty() || self.directions.contains(&direction))
            && (self.statuses.is_empty() || self.statuses.contains(&status))
    }
}

/// How the webhook number answers Ringostat ("Data import type").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardFormat {
    /// The destination as the whole body.
    Raw,
    /// `{"<key>": "<destination>"}` ("Name in response for destination").
    Json { key: String },
    /// `{"jsonrpc": "2.0", "id": …, "result": "<destination>"}`.
    JsonRpc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardSettings {
    pub format: ForwardFormat,
    /// Answered when the manager is unknown or the lookup fails; `None`: an empty answer, so
    /// the scheme goes on to its next step.
    pub fallback: Option<String>,
    /// The whole lookup must fit in it: Ringostat is holding a ringing call.
    pub budget: Duration,
}

/// What the flows need besides the adapters.
#[derive(Debug, Clone)]
pub struct Settings {
    pub crm: CrmKind,
    /// Owner of contacts nobody else owns yet, and stand-in party of calls nobody took.
    pub system_user: CrmUser,
    pub staff: Staff,
    pub new_contact_owner: NewContactOwner,
    /// `None`: no deals.
    pub deals: Option<DealSettings>,
    pub write_utm: bool,
    pub language: Language,
    pub parse: ParseOptions,
    pub filters: HashMap<EventKind, EventFilter>,
    pub contact_ttl: Duration,
    pub forward: ForwardSettings,
    /// Push new and found contacts to Ringostat Smart Phone (needs the Ringostat API key).
    pub smart_phone_sync: bool,
    /// Time a webhook may take when the Lambda deadline is unknown (local runs, tests).
    pub webhook_budget: Duration,
    /// Project number click-to-call calls from when the manager has no `extension` of their own.
    pub click_to_call_extension: Option<PhoneNumber>,
    /// How far back each scheduled reconciliation looks (overlapping runs are harmless).
    pub reconcile_window: Duration,
    /// How recent calls it leaves to their webhooks.
    pub reconcile_lag: Duration,
}

impl Settings {
    pub fn filter(&self, kind: EventKind) -> EventFilter {
        self.filters.get(&kind).cloned().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub enum CrmConfig {
    NetHunt(NetHuntConfig),
    Dataverse(DataverseConfig),
}

/// Everything read at cold start.
#[derive(Debug, Clone)]
pub struct Config {
    pub settings: Settings,
    pub crm: CrmConfig,
    /// DynamoDB table of the cache and the idempotency records; `None` (or no
    /// `parked_table`): in-memory cache and ledger (local runs).
    pub cache_table: Option<String>,
    /// DynamoDB table of the events parked for replay.
    pub parked_table: Option<String>,
    /// A DynamoDB endpoint other than AWS's (local runs, tests).
    pub dynamodb_endpoint: Option<String>,
    pub ringostat: Option<RingostatApiConfig>,
    /// The shared secret every request must carry.
    pub webhook_token: Secret,
    /// The secret of click-to-call links (they sit in the CRM, seen by every user); `None`:
    /// the webhook token.
    pub click_to_call_token: Option<Secret>,
    /// Rows one `calls/list` request returns at most (Ringostat documents 6 500).
    pub calls_per_request: usize,
}

impl Config {
    /// Reads the process environment. With `BRIDGE_PROFILE=local`, [`local_defaults`] fill in
    /// whatever the environment leaves unset.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let local = std::env::var("BRIDGE_PROFILE").is_ok_and(|p| p == "local");
        let defaults = if local {
            let crm = std::env::var("CRM").unwrap_or_else(|_| "nethunt".into());
            local_defaults(&crm)
        } else {
            HashMap::new()
        };
        let lookup = move |name: &str| {
            std::env::var(name)
                .ok()
                .or_else(|| defaults.get(name).cloned())
        };
        Self::load(&lookup, &SecretStore::from_env()).await
    }

    /// Reads every variable through `lookup`; secrets through `secrets` when given by reference.
    pub async fn load(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let crm_kind = match env.get("CRM").as_deref() {
            Some("nethunt") => CrmKind::NetHunt,
            Some("dataverse") => CrmKind::Dataverse,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "CRM",
                    reason: format!("is `{other}`; expected `nethunt` or `dataverse`"),
                });
            }
            None => {
                return Err(ConfigError::Missing {
                    variable: "CRM",
                    hint: "`nethunt` or `dataverse`",
                });
            }
        };

        let webhook_token = secrets
            .resolve("WEBHOOK_TOKEN", lookup)
            .await?
            .filter(|t| !t.is_blank())
            .ok_or(ConfigError::Missing {
                variable: "WEBHOOK_TOKEN",
                hint: "the shared secret Ringostat sends as `?token=`; or WEBHOOK_TOKEN_SSM_PARAMETER / WEBHOOK_TOKEN_SECRET_ID",
            })?;
        if webhook_token.expose().len() < 12 {
            return Err(ConfigError::Invalid {
                variable: "WEBHOOK_TOKEN",
                reason: "is shorter than 12 characters: use a long random value".into(),
            });
        }

        let click_to_call_token = secrets
            .resolve("CLICK_TO_CALL_TOKEN", lookup)
            .await?
            .filter(|t| !t.is_blank());
        if click_to_call_token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 12)
        {
            return Err(ConfigError::Invalid {
                variable: "CLICK_TO_CALL_TOKEN",
                reason: "is shorter than 12 characters: use a long random value".into(),
            });
        }

        let staff_json = secrets.resolve("STAFF", lookup).await?;
        let staff = Staff::from_json(staff_json.as_ref().map_or("", Secret::expose))?;

        let system_user = CrmUser {
            id: env.required(
                "SYSTEM_USER_ID",
                match crm_kind {
                    CrmKind::NetHunt => "e-mail of the NetHunt user that owns contacts nobody took",
                    CrmKind::Dataverse => {
                        "systemuserid (GUID) of the Smart CRM user that owns new contacts"
                    }
                },
            )?,
            name: env.get("SYSTEM_USER_NAME"),
        };

        let crm = match crm_kind {
            CrmKind::NetHunt => CrmConfig::NetHunt(nethunt_config(&env, lookup, secrets).await?),
            CrmKind::Dataverse => {
                CrmConfig::Dataverse(dataverse_config(&env, lookup, secrets).await?)
            }
        };

        let ringostat = match secrets.resolve("RINGOSTAT_AUTH_KEY", lookup).await? {
            Some(key) if !key.is_blank() => {
                let mut config = RingostatApiConfig::new(
                    key,
                    env.get("RINGOSTAT_PROJECT_ID"),
                    match crm_kind {
                        CrmKind::NetHunt => "NetHunt CRM",
                        CrmKind::Dataverse => "Smart CRM",
                    },
                );
                config.base_url = env
                    .get("RINGOSTAT_API_URL")
                    .unwrap_or_else(|| api::DEFAULT_BASE_URL.into());
                Some(config)
            }
            _ => None,
        };
        let smart_phone_sync = env.flag("SMART_PHONE_SYNC", ringostat.is_some())?;
        if smart_phone_sync && ringostat.as_ref().is_none_or(|r| r.project_id.is_none()) {
            return Err(ConfigError::Invalid {
                variable: "SMART_PHONE_SYNC",
                reason: "needs RINGOSTAT_AUTH_KEY and RINGOSTAT_PROJECT_ID".into(),
            });
        }

        let new_contact_owner = match env.get("NEW_CONTACT_OWNER").as_deref() {
            None => NewContactOwner::default_for(crm_kind),
            Some("system_user") => NewContactOwner::SystemUser,
            Some("answering_manager") => NewContactOwner::AnsweringManager,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "NEW_CONTACT_OWNER",
                    reason: format!("is `{other}`; expected `system_user` or `answering_manager`"),
                });
            }
        };

        let deals = env.flag("CREATE_DEAL", false)?.then(|| DealSettings {
            name_template: env
                .get("DEAL_NAME")
                .unwrap_or_else(|| "Дзвінок з {phone}".into()),
            stage: env.get("DEAL_STAGE"),
        });

        let language = match env.get("LANGUAGE").as_deref() {
            None | Some("uk") => Language::Uk,
            Some("en") => Language::En,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "LANGUAGE",
                    reason: format!("is `{other}`; expected `uk` or `en`"),
                });
            }
        };
        let parse = match env.get("TIME_ZONE") {
            None => ParseOptions::default(),
            Some(name) => ParseOptions {
                time_zone: TimeZone::get(&name).map_err(|_| ConfigError::Invalid {
                    variable: "TIME_ZONE",
                    reason: format!("`{name}` is not an IANA time zone (e.g. Europe/Kyiv)"),
                })?,
            },
        };

        let mut filters = HashMap::new();
        for kind in [
            EventKind::BeforeCall,
            EventKind::AfterCall,
            EventKind::AfterOutgoingCall,
            EventKind::CallAnalysis,
        ] {
            filters.insert(kind, event_filter(&env, kind)?);
        }

        let forward = ForwardSettings {
            format: match env.get("FORWARD_RESPONSE_FORMAT").as_deref() {
                None | Some("json") => ForwardFormat::Json {
                    key: env
                        .get("FORWARD_JSON_KEY")
                        .unwrap_or_else(|| "destination".into()),
                },
                Some("raw") => ForwardFormat::Raw,
                Some("jsonrpc") => ForwardFormat::JsonRpc,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        variable: "FORWARD_RESPONSE_FORMAT",
                        reason: format!("is `{other}`; expected `json`, `raw` or `jsonrpc`"),
                    });
                }
            },
            fallback: env.get("FORWARD_FALLBACK"),
            budget: env.millis("FORWARD_BUDGET_MS", 1500)?,
        };

        let settings = Settings {
            crm: crm_kind,
            system_user,
            staff,
            new_contact_owner,
            deals,
            write_utm: env.flag("WRITE_UTM", true)?,
            language,
            parse,
            filters,
            contact_ttl: env.seconds("CONTACT_CACHE_TTL_SECS", 3600)?,
            forward,
            smart_phone_sync,
            webhook_budget: env.millis("WEBHOOK_BUDGET_MS", 8000)?,
            reconcile_window: env.seconds("RECONCILE_WINDOW_MINUTES", 120)? * 60,
            reconcile_lag: env.seconds("RECONCILE_LAG_MINUTES", 15)? * 60,
            click_to_call_extension: match env.get("CLICK_TO_CALL_EXTENSION") {
                None => None,
                Some(raw) => Some(PhoneNumber::parse(&raw).map_err(|_| ConfigError::Invalid {
                    variable: "CLICK_TO_CALL_EXTENSION",
                    reason: format!("`{raw}` is not a phone number (a project number, 380…)"),
                })?),
            },
        };
        let (cache_table, parked_table) = (env.get("CACHE_TABLE"), env.get("PARKED_TABLE"));
        if cache_table.is_some() != parked_table.is_some() {
            return Err(ConfigError::Invalid {
                variable: "PARKED_TABLE",
                reason: "and CACHE_TABLE go together: set both (DynamoDB) or neither (in memory)"
                    .into(),
            });
        }
        Ok(Self {
            settings,
            crm,
            cache_table,
            parked_table,
            calls_per_request: env
                .number("RINGOSTAT_CALLS_PER_REQUEST", api::CALLS_PER_REQUEST as u64)?
                .max(1) as usize,
            dynamodb_endpoint: env.get("DYNAMODB_ENDPOINT_URL"),
            ringostat,
            webhook_token,
            click_to_call_token,
        })
    }
}

async fn nethunt_config(
    env: &Env<'_, '_>,
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
) -> Result<NetHuntConfig, ConfigError> {
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
    config.call_log_duration_unit = match env.get("NETHUNT_DURATION_UNIT").as_deref() {
        None | Some("minutes") => DurationUnit::Minutes,
        Some("seconds") => DurationUnit::Seconds,
        Some(other) => {
            return Err(ConfigError::Invalid {
                variable: "NETHUNT_DURATION_UNIT",
                reason: format!("is `{other}`; expected `minutes` or `seconds`"),
            });
        }
    };
    let fields = &mut config.fields;
    for (variable, field) in [
        ("NETHUNT_FIELD_PHONE", &mut fields.phone),
        ("NETHUNT_FIELD_OWNER", &mut fields.owner),
        ("NETHUNT_FIELD_UTM_SOURCE", &mut fields.utm_source),
        ("NETHUNT_FIELD_UTM_MEDIUM", &mut fields.utm_medium),
        ("NETHUNT_FIELD_UTM_CAMPAIGN", &mut fields.utm_campaign),
        ("NETHUNT_FIELD_UTM_TERM", &mut fields.utm_term),
    ] {
        if let Some(name) = env.get(variable) {
            *field = name;
        }
    }
    Ok(config)
}

async fn dataverse_config(
    env: &Env<'_, '_>,
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
) -> Result<DataverseConfig, ConfigError> {
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
    if let Some(column) = env.get("DATAVERSE_PHONE_COLUMN") {
        config.contact_phone_column = column;
    }
    config.missed_call_state = match env.get("DATAVERSE_MISSED_CALL_STATE").as_deref() {
        None | Some("canceled") => MissedCallState::Canceled,
        Some("callback") => MissedCallState::CallBack,
        Some("open") => MissedCallState::Open,
        Some(other) => {
            return Err(ConfigError::Invalid {
                variable: "DATAVERSE_MISSED_CALL_STATE",
                reason: format!("is `{other}`; expected `canceled`, `callback` or `open`"),
            });
        }
    };
    config.app_id = env.get("DATAVERSE_APP_ID");
    Ok(config)
}

fn event_filter(env: &Env<'_, '_>, kind: EventKind) -> Result<EventFilter, ConfigError> {
    let (directions_var, statuses_var) = match kind {
        EventKind::BeforeCall => ("BEFORE_CALL_DIRECTIONS", "BEFORE_CALL_STATUSES"),
        EventKind::AfterCall => ("AFTER_CALL_DIRECTIONS", "AFTER_CALL_STATUSES"),
        EventKind::AfterOutgoingCall => (
            "AFTER_OUTGOING_CALL_DIRECTIONS",
            "AFTER_OUTGOING_CALL_STATUSES",
        ),
        EventKind::CallAnalysis => ("CALL_ANALYSIS_DIRECTIONS", "CALL_ANALYSIS_STATUSES"),
    };
    let directions = env
        .list(directions_var)
        .map(|word| match word.as_str() {
            "incoming" => Ok(Direction::Incoming),
            "outgoing" => Ok(Direction::Outgoing),
            other => Err(ConfigError::Invalid {
                variable: directions_var,
                reason: format!("lists `{other}`; expected `incoming` and/or `outgoing`"),
            }),
        })
        .collect::<Result<_, _>>()?;
    let statuses = env
        .list(statuses_var)
        .map(|word| match word.as_str() {
            "answered" => Ok(CallStatus::Answered),
            "missed" => Ok(CallStatus::Missed),
            other => Err(ConfigError::Invalid {
                variable: statuses_var,
                reason: format!("lists `{other}`; expected `answered` and/or `missed`"),
            }),
        })
        .collect::<Result<_, _>>()?;
    Ok(EventFilter {
        directions,
        statuses,
    })
}

/// Typed reads over a lookup; blank values count as unset.
struct Env<'l, 'a>(&'l Lookup<'a>);

impl Env<'_, '_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str, hint: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing {
            variable: name,
            hint,
        })
    }

    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                variable: name,
                reason: format!("is `{other}`; expected `true` or `false`"),
            }),
        }
    }

    fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
                variable: name,
                reason: format!("is `{v}`; expected a whole number"),
            }),
        }
    }

    fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default).map(Duration::from_millis)
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default).map(Duration::from_secs)
    }

    /// A comma-separated list, lower-cased; empty when unset.
    fn list(&self, name: &str) -> impl Iterator<Item = String> {
        self.get(name)
            .unwrap_or_default()
            .split(',')
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .into_iter()
    }
}

/// Port of the CRM sandbox in local runs (`cargo run -p crm-sandbox`).
pub const LOCAL_SANDBOX: &str = "http://127.0.0.1:4010";
/// The shared secret of local runs and of the `events/` files.
pub const LOCAL_WEBHOOK_TOKEN: &str = "local-dev-token";

/// The embedded defaults of a local run against the CRM sandbox (`crm` = `nethunt` or
/// `dataverse`). They match the sandbox's seeded credentials and users.
pub fn local_defaults(crm: &str) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = [
        ("CRM", crm),
        ("WEBHOOK_TOKEN", LOCAL_WEBHOOK_TOKEN),
        ("RINGOSTAT_API_URL", LOCAL_SANDBOX),
        ("RINGOSTAT_AUTH_KEY", "sandbox-ringostat-key"),
        ("RINGOSTAT_PROJECT_ID", "12345"),
        ("CREATE_DEAL", "true"),
        ("CLICK_TO_CALL_EXTENSION", "380441112233"),
        ("NETHUNT_BASE_URL", "http://127.0.0.1:4010/api/v1/zapier"),
        ("NETHUNT_EMAIL", "bridge@example.com"),
        ("NETHUNT_API_KEY", "sandbox-nethunt-key"),
        ("NETHUNT_CONTACTS_FOLDER_ID", "contacts-folder"),
        ("NETHUNT_DEALS_FOLDER_ID", "deals-folder"),
        ("DATAVERSE_URL", LOCAL_SANDBOX),
        ("DATAVERSE_AUTHORITY", LOCAL_SANDBOX),
        ("DATAVERSE_TENANT_ID", "sandbox-tenant"),
        ("DATAVERSE_CLIENT_ID", "sandbox-client"),
        ("DATAVERSE_CLIENT_SECRET", "sandbox-secret"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let (system_user, system_name, manager) = if crm == "dataverse" {
        (
            "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1",
            "# Ringostat Bridge",
            "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2",
        )
    } else {
        (
            "bridge@example.com",
            "Ringostat Bridge",
            "olena.kovalenko@smart-crm.example",
        )
    };
    map.insert("SYSTEM_USER_ID".into(), system_user.into());
    map.insert("SYSTEM_USER_NAME".into(), system_name.into());
    map.insert(
        "STAFF".into(),
        serde_json::json!([{
            "crm_user_id": manager,
            "name": "Олена Коваленко",
            "ringostat_employee_id": "111",
            "email": "olena.kovalenko@smart-crm.example",
            "sip_login": "acmeua_olena",
        }])
        .to_string(),
    );
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads the local defaults of `crm` with `changes` applied (empty value = unset).
    async fn load(crm: &str, changes: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars = local_defaults(crm);
        for (name, value) in changes {
            vars.insert((*name).into(), (*value).into());
        }
        let lookup = move |name: &str| vars.get(name).cloned();
        // Every value is given directly: the store is never asked.
        let store = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
        Config::load(&lookup, &store).await
    }

    #[tokio::test]
    async fn each_crm_gets_its_seeds_owner_rule() {
        let nethunt = load("nethunt", &[]).await.unwrap();
        assert_eq!(
            nethunt.settings.new_contact_owner,
            NewContactOwner::AnsweringManager
        );
        assert!(matches!(nethunt.crm, CrmConfig::NetHunt(_)));
        let dataverse = load("dataverse", &[]).await.unwrap();
        assert_eq!(
            dataverse.settings.new_contact_owner,
            NewContactOwner::SystemUser
        );
        let overridden = load("dataverse", &[("NEW_CONTACT_OWNER", "answering_manager")])
            .await
            .unwrap();
        assert_eq!(
            overridden.settings.new_contact_owner,
            NewContactOwner::AnsweringManager
        );
    }

    #[tokio::test]
    async fn errors_name_the_variable() {
        let cases: [(&[(&str, &str)], &str); 7] = [
            (&[("CRM", "")], "`CRM` is required"),
            (&[("CRM", "pipedrive")], "`CRM` is `pipedrive`"),
            (&[("WEBHOOK_TOKEN", "")], "`WEBHOOK_TOKEN` is required"),
            (&[("WEBHOOK_TOKEN", "short")], "`WEBHOOK_TOKEN` is shorter"),
            (
                &[("AFTER_CALL_STATUSES", "answered,lost")],
                "`AFTER_CALL_STATUSES` lists `lost`",
            ),
            (
                &[("FORWARD_BUDGET_MS", "soon")],
                "`FORWARD_BUDGET_MS` is `soon`",
            ),
            (&[("RINGOSTAT_PROJECT_ID", "")], "`SMART_PHONE_SYNC` needs"),
        ];
        for (changes, expected) in cases {
            let error = load("nethunt", changes).await.unwrap_err().to_string();
            assert!(error.contains(expected), "{changes:?}: {error}");
        }
        let error = load("dataverse", &[("DATAVERSE_URL", "")])
            .await
            .unwrap_err();
        assert!(error.to_string().contains("`DATAVERSE_URL` is required"));
    }

    #[tokio::test]
    async fn secrets_do_not_leak_into_debug_output() {
        let config = load("nethunt", &[]).await.unwrap();
        let debug = format!("{config:?}");
        for secret in [
            LOCAL_WEBHOOK_TOKEN,
            "sandbox-nethunt-key",
            "sandbox-ringostat-key",
        ] {
            assert!(!debug.contains(secret), "{secret} in Debug output");
        }
    }

    #[tokio::test]
    async fn filters_and_forwarding_are_read() {
        let config = load(
            "nethunt",
            &[
                ("AFTER_CALL_DIRECTIONS", "incoming"),
                ("AFTER_CALL_STATUSES", "Answered, missed"),
                ("FORWARD_RESPONSE_FORMAT", "raw"),
                ("FORWARD_FALLBACK", "acmeua_reception"),
            ],
        )
        .await
        .unwrap();
        let filter = config.settings.filter(EventKind::AfterCall);
        assert_eq!(filter.directions, vec![Direction::Incoming]);
        assert_eq!(
            filter.statuses,
            vec![CallStatus::Answered, CallStatus::Missed]
        );
        assert!(!filter.accepts(Direction::Outgoing, CallStatus::Answered));
        assert_eq!(
            config.settings.filter(EventKind::CallAnalysis),
            EventFilter::default()
        );
        assert_eq!(config.settings.forward.format, ForwardFormat::Raw);
        assert_eq!(
            config.settings.forward.fallback.as_deref(),
            Some("acmeua_reception")
        );
        assert_eq!(config.settings.forward.budget, Duration::from_millis(1500));
    }
}
