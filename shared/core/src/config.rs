//! Configuration: read once per cold start from the environment (and, for secrets, from SSM
//! Parameter Store or Secrets Manager through [`SecretStore`]).
//!
//! Every variable is documented in `docs/configuration.md`; `template.yaml` sets them from its
//! parameters. [`local_defaults`] holds the embedded defaults of the local run: the CRM sandbox
//! on `127.0.0.1:4010`, the in-memory cache and the token `local-dev-token`.

pub mod crm_names;

use std::collections::HashMap;
use std::time::Duration;

pub use bridge_adapters::env::{ConfigError, Env, Lookup};
use bridge_adapters::registry::{self, CrmSection};
use bridge_adapters::ringostat::{CALLS_PER_REQUEST, DEFAULT_BASE_URL, RingostatApiConfig};
use bridge_adapters::secret_store::SecretStore;
use bridge_domain::activity::{CrmUser, Language};
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::CrmKind;
use bridge_domain::ringostat::{EventKind, ParseOptions};
use bridge_domain::secret::Secret;
use bridge_domain::settings::{
    DealSettings, EventFilter, ForwardFormat, ForwardSettings, Settings,
};
use bridge_domain::staff::Staff;
use jiff::tz::TimeZone;

/// Everything the webhooks, smart forwarding, replay and reconciliation read at cold start.
#[derive(Debug)]
pub struct Config {
    pub settings: Settings,
    /// The CRM's own section (folders, fields, credentials), read by its registry module.
    pub crm: Box<dyn CrmSection>,
    pub tables: Tables,
    pub ringostat: Option<RingostatApiConfig>,
    pub tokens: Tokens,
    /// Rows one `calls/list` request returns at most (Ringostat documents 6 500).
    pub calls_per_request: usize,
    /// Optional settings found invalid: their feature is off and everything else runs. Each was
    /// logged (`ERROR`) when the configuration was read.
    pub disabled: Vec<Disabled>,
}

/// An optional feature an invalid variable turned off (or, for `STAFF`, one entry dropped).
#[derive(Debug)]
pub struct Disabled {
    pub feature: Feature,
    /// Names the variable and what is wrong with it.
    pub error: ConfigError,
}

/// The optional features: an invalid variable of one of them disables that feature, never the
/// call logging. Every other variable must be valid for the function to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `STAFF`: the invalid entry is dropped, the others are kept (text that is not a JSON
    /// list maps nobody).
    Staff,
    /// `SMART_PHONE_SYNC` (and the `RINGOSTAT_PROJECT_ID` it needs): no sync.
    SmartPhoneSync,
    /// `FORWARD_*`: unused by the other functions; the smart-forward function refuses to start.
    SmartForwarding,
    /// `CLICK_TO_CALL_EXTENSION`: unused by the other functions; click-to-call refuses to start.
    ClickToCall,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff entry dropped",
            Self::SmartPhoneSync => "Smart Phone sync off",
            Self::SmartForwarding => "smart forwarding settings ignored",
            Self::ClickToCall => "click-to-call settings ignored",
        }
    }
}

/// Records and logs (loudly: it is a configuration to fix) a feature turned off.
fn disable(disabled: &mut Vec<Disabled>, feature: Feature, error: ConfigError) {
    let what = feature.as_str();
    tracing::error!(feature = what, %error, "optional setting invalid: {what}");
    disabled.push(Disabled { feature, error });
}

/// The shared secrets requests must carry.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Every webhook's.
    pub webhook: Secret,
    /// Click-to-call links' (they sit in the CRM, seen by every user); `None`: the webhook's.
    pub click_to_call: Option<Secret>,
}

impl Tokens {
    /// The token click-to-call requests must carry.
    pub fn for_click_to_call(&self) -> &Secret {
        self.click_to_call.as_ref().unwrap_or(&self.webhook)
    }
}

/// Where the cache, the ledger and the parked events live.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// DynamoDB table of the cache and the idempotency records; `None` (with no
    /// `parked`): in-memory cache and ledger (local runs).
    pub cache: Option<String>,
    /// DynamoDB table of the events parked for replay.
    pub parked: Option<String>,
    /// A DynamoDB endpoint other than AWS's (local runs, tests).
    pub dynamodb_endpoint: Option<String>,
}

/// What click-to-call reads: no CRM, no tables.
#[derive(Debug, Clone)]
pub struct ClickToCallConfig {
    pub tokens: Tokens,
    pub staff: Staff,
    pub default_extension: Option<PhoneNumber>,
    pub ringostat: Option<RingostatApiConfig>,
    pub budget: Duration,
}

/// The process environment, with the local run's embedded defaults under
/// `BRIDGE_PROFILE=local`.
pub fn process_lookup() -> impl Fn(&str) -> Option<String> + Send + Sync {
    let local = std::env::var("BRIDGE_PROFILE").is_ok_and(|p| p == "local");
    let defaults = if local {
        let crm = std::env::var("CRM").unwrap_or_else(|_| "nethunt".into());
        local_defaults(&crm)
    } else {
        HashMap::new()
    };
    move |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| defaults.get(name).cloned())
    }
}

impl Config {
    /// Reads the process environment. With `BRIDGE_PROFILE=local`, [`local_defaults`] fill in
    /// whatever the environment leaves unset.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::load(&process_lookup(), &SecretStore::from_env()).await
    }

    /// Reads every variable through `lookup`; secrets through `secrets` when given by reference.
    pub async fn load(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let names = crm_names::read(lookup)?;
        let lookup = &|name: &str| lookup(name).or_else(|| names.get(name).cloned());
        let env = Env(lookup);
        let module = registry::module_from(lookup)?;
        let profile = module.profile();
        let tokens = Tokens::load(lookup, secrets).await?;
        let mut disabled = Vec::new();
        let staff = staff(lookup, secrets, &mut disabled).await?;
        let system_user = CrmUser {
            id: env.required("SYSTEM_USER_ID", profile.system_user_hint)?,
            name: env.get("SYSTEM_USER_NAME"),
        };
        let crm = module.read_section(lookup, secrets).await?;
        let ringostat = ringostat(lookup, secrets, profile.display_name).await?;
        // One rule with the template's `auto`: on when the key and the project id are set.
        let can_sync = ringostat.as_ref().is_some_and(|r| r.project_id.is_some());
        let smart_phone_sync = match env.flag("SMART_PHONE_SYNC", can_sync) {
            Ok(true) if ringostat.as_ref().is_none_or(|r| r.project_id.is_none()) => {
                let error = ConfigError::invalid(
                    "SMART_PHONE_SYNC",
                    "needs RINGOSTAT_AUTH_KEY and RINGOSTAT_PROJECT_ID",
                );
                disable(&mut disabled, Feature::SmartPhoneSync, error);
                false
            }
            Ok(on) => on,
            Err(error) => {
                disable(&mut disabled, Feature::SmartPhoneSync, error);
                false
            }
        };
        let deals = env.flag("CREATE_DEAL", false)?.then(|| DealSettings {
            name_template: env
                .get("DEAL_NAME")
                .unwrap_or_else(|| "Дзвінок з {phone}".into()),
            stage: env.get("DEAL_STAGE"),
        });
        let parse = match env.get("TIME_ZONE") {
            None => ParseOptions::default(),
            Some(name) => ParseOptions {
                time_zone: TimeZone::get(&name).map_err(|_| {
                    ConfigError::invalid(
                        "TIME_ZONE",
                        format!("`{name}` is not an IANA time zone (e.g. Europe/Kyiv)"),
                    )
                })?,
            },
        };
        let mut filters = HashMap::new();
        for (kind, directions, statuses) in FILTER_VARIABLES {
            let filter = EventFilter {
                directions: env.list(directions)?,
                statuses: env.list(statuses)?,
            };
            filters.insert(kind, filter);
        }
        let forward = forward(&env).unwrap_or_else(|error| {
            disable(&mut disabled, Feature::SmartForwarding, error);
            ForwardSettings {
                format: ForwardFormat::Json {
                    key: FORWARD_JSON_KEY.into(),
                },
                fallback: None,
                budget: Duration::from_millis(FORWARD_BUDGET_MS),
            }
        });
        let settings = Settings {
            crm: profile.kind,
            system_user,
            staff,
            new_contact_owner: env.parsed_or("NEW_CONTACT_OWNER", profile.default_owner)?,
            deals,
            write_utm: env.flag("WRITE_UTM", true)?,
            language: env.parsed_or("LANGUAGE", Language::Uk)?,
            parse,
            filters,
            contact_ttl: env.seconds("CONTACT_CACHE_TTL_SECS", 3600)?,
            forward,
            smart_phone_sync,
            webhook_budget: env.millis("WEBHOOK_BUDGET_MS", 8000)?,
            reconcile_window: env.seconds("RECONCILE_WINDOW_MINUTES", 120)? * 60,
            reconcile_lag: env.seconds("RECONCILE_LAG_MINUTES", 15)? * 60,
            click_to_call_extension: click_to_call_extension(&env).unwrap_or_else(|error| {
                disable(&mut disabled, Feature::ClickToCall, error);
                None
            }),
        };
        Ok(Self {
            settings,
            crm,
            tables: tables(&env)?,
            calls_per_request: usize::try_from(
                env.number("RINGOSTAT_CALLS_PER_REQUEST", CALLS_PER_REQUEST as u64)?
                    .max(1),
            )
            .unwrap_or(CALLS_PER_REQUEST),
            ringostat,
            tokens,
            disabled,
        })
    }

    /// The first error that disables `feature`, if any.
    pub fn disabled(&self, feature: Feature) -> Option<&ConfigError> {
        self.disabled
            .iter()
            .find(|d| d.feature == feature)
            .map(|d| &d.error)
    }
}

impl ClickToCallConfig {
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::load(&process_lookup(), &SecretStore::from_env()).await
    }

    /// Reads only what click-to-call uses: the tokens, the staff list, the default extension,
    /// the Ringostat key and the time budget.
    pub async fn load(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let origin = registry::module_from(lookup)
            .map(|m| m.profile().display_name)
            .unwrap_or("CRM");
        Ok(Self {
            tokens: Tokens::load(lookup, secrets).await?,
            // A dropped entry is logged: that manager's buttons get "unknown manager".
            staff: staff(lookup, secrets, &mut Vec::new()).await?,
            default_extension: click_to_call_extension(&env)?,
            ringostat: ringostat(lookup, secrets, origin).await?,
            budget: env.millis("WEBHOOK_BUDGET_MS", 8000)?,
        })
    }
}

/// The filter variables of each call event: NetHunt's "New VoIP call" trigger options.
const FILTER_VARIABLES: [(EventKind, &str, &str); 4] = [
    (
        EventKind::BeforeCall,
        "BEFORE_CALL_DIRECTIONS",
        "BEFORE_CALL_STATUSES",
    ),
    (
        EventKind::AfterCall,
        "AFTER_CALL_DIRECTIONS",
        "AFTER_CALL_STATUSES",
    ),
    (
        EventKind::AfterOutgoingCall,
        "AFTER_OUTGOING_CALL_DIRECTIONS",
        "AFTER_OUTGOING_CALL_STATUSES",
    ),
    (
        EventKind::CallAnalysis,
        "CALL_ANALYSIS_DIRECTIONS",
        "CALL_ANALYSIS_STATUSES",
    ),
];

/// A token long enough to resist guessing.
fn long_enough(variable: &'static str, token: &Secret) -> Result<(), ConfigError> {
    if token.expose().len() < 12 {
        return Err(ConfigError::invalid(
            variable,
            "is shorter than 12 characters: use a long random value",
        ));
    }
    Ok(())
}

impl Tokens {
    /// Reads only the tokens section (`WEBHOOK_TOKEN`, `CLICK_TO_CALL_TOKEN`, directly or by
    /// reference): what a function needs to authenticate a request even when the rest of its
    /// configuration is broken.
    pub async fn load(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let webhook = secrets
            .resolve("WEBHOOK_TOKEN", lookup)
            .await?
            .filter(|t| !t.is_blank())
            .ok_or(ConfigError::Missing {
                variable: "WEBHOOK_TOKEN",
                hint: "the shared secret Ringostat sends as `?token=`; or WEBHOOK_TOKEN_SSM_PARAMETER / WEBHOOK_TOKEN_SECRET_ID",
            })?;
        long_enough("WEBHOOK_TOKEN", &webhook)?;
        let click_to_call = secrets
            .resolve("CLICK_TO_CALL_TOKEN", lookup)
            .await?
            .filter(|t| !t.is_blank());
        if let Some(token) = &click_to_call {
            long_enough("CLICK_TO_CALL_TOKEN", token)?;
        }
        Ok(Self {
            webhook,
            click_to_call,
        })
    }
}

/// `STAFF`, entry by entry: an invalid entry is dropped (and recorded in `disabled`), the
/// others are kept. A reference that cannot be read is an error.
async fn staff(
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
    disabled: &mut Vec<Disabled>,
) -> Result<Staff, ConfigError> {
    let json = secrets.resolve("STAFF", lookup).await?;
    let reading = Staff::read(json.as_ref().map_or("", Secret::expose));
    for error in reading.dropped {
        disable(disabled, Feature::Staff, ConfigError::Staff(error));
    }
    Ok(reading.staff)
}

async fn ringostat(
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
    origin: &str,
) -> Result<Option<RingostatApiConfig>, ConfigError> {
    let env = Env(lookup);
    Ok(match secrets.resolve("RINGOSTAT_AUTH_KEY", lookup).await? {
        Some(key) if !key.is_blank() => {
            let mut config = RingostatApiConfig::new(key, env.get("RINGOSTAT_PROJECT_ID"), origin);
            config.base_url = env
                .get("RINGOSTAT_API_URL")
                .unwrap_or_else(|| DEFAULT_BASE_URL.into());
            Some(config)
        }
        _ => None,
    })
}

/// Ringostat's default "Name in response for destination".
const FORWARD_JSON_KEY: &str = "destination";
/// Time the webhook number's lookup may take by default.
const FORWARD_BUDGET_MS: u64 = 1500;

/// The webhook number's answer format, fallback and budget.
fn forward(env: &Env<'_, '_>) -> Result<ForwardSettings, ConfigError> {
    let key = env
        .get("FORWARD_JSON_KEY")
        .unwrap_or_else(|| FORWARD_JSON_KEY.into());
    let word = env
        .get("FORWARD_RESPONSE_FORMAT")
        .unwrap_or_else(|| "json".into());
    Ok(ForwardSettings {
        format: ForwardFormat::named(&word, key).map_err(|e| {
            ConfigError::invalid("FORWARD_RESPONSE_FORMAT", format!("is `{word}`; {e}"))
        })?,
        fallback: env.get("FORWARD_FALLBACK"),
        budget: env.millis("FORWARD_BUDGET_MS", FORWARD_BUDGET_MS)?,
    })
}

fn click_to_call_extension(env: &Env<'_, '_>) -> Result<Option<PhoneNumber>, ConfigError> {
    env.get("CLICK_TO_CALL_EXTENSION")
        .map(|raw| {
            PhoneNumber::parse(&raw).map_err(|_| {
                ConfigError::invalid(
                    "CLICK_TO_CALL_EXTENSION",
                    format!("`{raw}` is not a phone number (a project number, 380…)"),
                )
            })
        })
        .transpose()
}

impl Tables {
    /// Whatever the environment names, unchecked: where a function whose configuration is
    /// broken still parks the events it receives (`PARKED_TABLE`, `AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn as_named(lookup: &Lookup<'_>) -> Self {
        let env = Env(lookup);
        Self {
            cache: env.get("CACHE_TABLE"),
            parked: env.get("PARKED_TABLE"),
            dynamodb_endpoint: env.get("AWS_ENDPOINT_URL_DYNAMODB"),
        }
    }
}

fn tables(env: &Env<'_, '_>) -> Result<Tables, ConfigError> {
    let (cache, parked) = (env.get("CACHE_TABLE"), env.get("PARKED_TABLE"));
    if cache.is_some() != parked.is_some() {
        return Err(ConfigError::invalid(
            "PARKED_TABLE",
            "and CACHE_TABLE go together: set both (DynamoDB) or neither (in memory)",
        ));
    }
    Ok(Tables {
        cache,
        parked,
        dynamodb_endpoint: env.get("AWS_ENDPOINT_URL_DYNAMODB"),
    })
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let Some(module) = crm
        .parse::<CrmKind>()
        .ok()
        .and_then(|kind| registry::module(kind).ok())
    else {
        return map;
    };
    let profile = module.profile();
    for (name, value) in profile.local_defaults {
        map.insert((*name).to_owned(), (*value).to_owned());
    }
    map.insert(
        "STAFF".into(),
        serde_json::json!([{
            "crm_user_id": profile.local_manager_id,
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
    use bridge_domain::ringostat::{CallStatus, Direction};
    use bridge_domain::settings::NewContactOwner;

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
        assert_eq!(nethunt.crm.kind(), CrmKind::NetHunt);
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
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("CRM", "")], "`CRM` is required"),
            (&[("CRM", "pipedrive")], "`CRM` is `pipedrive`"),
            (&[("WEBHOOK_TOKEN", "")], "`WEBHOOK_TOKEN` is required"),
            (&[("WEBHOOK_TOKEN", "short")], "`WEBHOOK_TOKEN` is shorter"),
            (
                &[("AFTER_CALL_STATUSES", "answered,lost")],
                "`AFTER_CALL_STATUSES` lists `lost`",
            ),
            (&[("TIME_ZONE", "Kyiv")], "`TIME_ZONE` `Kyiv` is not"),
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
