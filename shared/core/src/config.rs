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
use bridge_domain::services::CallLimits;
use bridge_domain::services::click_to_call::LinkKey;
use bridge_domain::services::click_to_call::policy::{
    DEFAULT_REFUSED, DestinationPolicy, NumberKind, country_named,
};
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
    /// `CLICK_TO_CALL_EXTENSION`: unused by the other functions; click-to-call refuses to start
    /// (as it does without a valid `CLICK_TO_CALL_KEY`, which only it reads).
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

/// The shared secret requests must carry.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Every webhook's and the webhook number's. Never click-to-call's: click-to-call takes
    /// no token, only links signed with its own key ([`ClickToCallConfig::key`]).
    pub webhook: Secret,
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

/// What click-to-call reads: its own key, the staff list, the default extension, Ringostat's
/// key, where it may dial and how often, and the cache table its counters live in. No CRM, and
/// not the webhook token.
#[derive(Debug, Clone)]
pub struct ClickToCallConfig {
    /// `CLICK_TO_CALL_KEY`: signs the set-up links, the browser credentials and the
    /// confirmations. Required, at least 32 characters, never the webhook token.
    pub key: Secret,
    pub staff: Staff,
    pub default_extension: Option<PhoneNumber>,
    pub ringostat: Option<RingostatApiConfig>,
    pub budget: Duration,
    pub settings: ClickToCallSettings,
    /// The cache table of the counters (`CACHE_TABLE`, `AWS_ENDPOINT_URL_DYNAMODB`); none: in
    /// memory, which counts per execution environment only (local runs).
    pub tables: Tables,
}

/// Click-to-call's destinations, limits, browser set-up lifetime and page language.
#[derive(Debug, Clone)]
pub struct ClickToCallSettings {
    pub policy: DestinationPolicy,
    pub limits: CallLimits,
    pub device_lifetime: Duration,
    pub language: Language,
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

    /// Reads only what click-to-call uses. Refuses to start without a valid
    /// `CLICK_TO_CALL_KEY`.
    pub async fn load(lookup: &Lookup<'_>, secrets: &SecretStore) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let origin = registry::module_from(lookup)
            .map(|m| m.profile().display_name)
            .unwrap_or("CRM");
        let key = secrets
            .resolve("CLICK_TO_CALL_KEY", lookup)
            .await?
            .filter(|k| !k.is_blank())
            .ok_or(ConfigError::Missing {
                variable: "CLICK_TO_CALL_KEY",
                hint: "click-to-call's own signing key: at least 32 random characters \
                       (`openssl rand -hex 32`), never the webhook token; or \
                       CLICK_TO_CALL_KEY_SSM_PARAMETER / CLICK_TO_CALL_KEY_SECRET_ID",
            })?;
        LinkKey::new(&key).map_err(|e| ConfigError::invalid("CLICK_TO_CALL_KEY", e.to_string()))?;
        // Only a webhook token given directly is compared: the click-to-call function has no
        // right to read the webhook token's parameter (and needs none).
        if env.get("WEBHOOK_TOKEN").as_deref() == Some(key.expose().trim()) {
            return Err(ConfigError::invalid(
                "CLICK_TO_CALL_KEY",
                "is the webhook token: give click-to-call a key of its own, so that neither \
                 secret opens the other's door",
            ));
        }
        for stale in [
            "CLICK_TO_CALL_TOKEN",
            "CLICK_TO_CALL_TOKEN_SSM_PARAMETER",
            "CLICK_TO_CALL_TOKEN_SECRET_ID",
        ] {
            if env.get(stale).is_some() {
                tracing::warn!(
                    variable = stale,
                    "no longer read: click-to-call takes no token; its links are signed with \
                     CLICK_TO_CALL_KEY (docs/configuration.md)"
                );
            }
        }
        Ok(Self {
            key,
            // A dropped entry is logged: that manager's links get "unknown manager".
            staff: staff(lookup, secrets, &mut Vec::new()).await?,
            default_extension: click_to_call_extension(&env)?,
            ringostat: ringostat(lookup, secrets, origin).await?,
            budget: env.millis("WEBHOOK_BUDGET_MS", 8000)?,
            settings: click_to_call_settings(&env)?,
            tables: Tables {
                cache: env.get("CACHE_TABLE"),
                parked: None,
                dynamodb_endpoint: env.get("AWS_ENDPOINT_URL_DYNAMODB"),
            },
        })
    }
}

/// Ukraine only unless `CLICK_TO_CALL_COUNTRIES` says otherwise.
const CLICK_TO_CALL_COUNTRIES: &str = "UA";

/// `CLICK_TO_CALL_COUNTRIES`, `CLICK_TO_CALL_REFUSED_TYPES`, the limits, the browser set-up
/// lifetime and `LANGUAGE`.
pub fn click_to_call_settings(env: &Env<'_, '_>) -> Result<ClickToCallSettings, ConfigError> {
    let countries_text = env
        .get("CLICK_TO_CALL_COUNTRIES")
        .unwrap_or_else(|| CLICK_TO_CALL_COUNTRIES.into());
    let countries = words(&countries_text)
        .map(|code| {
            country_named(code).ok_or_else(|| {
                ConfigError::invalid(
                    "CLICK_TO_CALL_COUNTRIES",
                    format!("lists `{code}`; expected two-letter country codes such as UA, PL"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if countries.is_empty() {
        return Err(ConfigError::invalid(
            "CLICK_TO_CALL_COUNTRIES",
            "lists no country: click-to-call could call nobody",
        ));
    }
    let refused = match env.get("CLICK_TO_CALL_REFUSED_TYPES") {
        None => DEFAULT_REFUSED.map(NumberKind).to_vec(),
        Some(text) if text.eq_ignore_ascii_case("none") => Vec::new(),
        Some(text) => words(&text)
            .map(|name| {
                NumberKind::named(name).ok_or_else(|| {
                    ConfigError::invalid(
                        "CLICK_TO_CALL_REFUSED_TYPES",
                        format!(
                            "lists `{name}`; expected `none` or some of: {}",
                            NumberKind::names().collect::<Vec<_>>().join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let defaults = CallLimits::default();
    let limits = CallLimits {
        per_manager: bounded(
            env,
            "CLICK_TO_CALL_MANAGER_LIMIT",
            defaults.per_manager,
            1000,
        )?,
        per_deployment: bounded(
            env,
            "CLICK_TO_CALL_DEPLOYMENT_LIMIT",
            defaults.per_deployment,
            5000,
        )?,
        window: Duration::from_secs(
            u64::from(bounded(env, "CLICK_TO_CALL_WINDOW_MINUTES", 10, 1440)?) * 60,
        ),
    };
    Ok(ClickToCallSettings {
        policy: DestinationPolicy::new(countries, refused),
        limits,
        device_lifetime: Duration::from_secs(
            u64::from(bounded(env, "CLICK_TO_CALL_DEVICE_DAYS", 90, 400)?) * 86_400,
        ),
        language: env.parsed_or("LANGUAGE", Language::Uk)?,
    })
}

/// A whole number from 1 to `max`, `default` when unset.
fn bounded(
    env: &Env<'_, '_>,
    name: &'static str,
    default: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let value = env.number(name, u64::from(default))?;
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=max).contains(v))
        .ok_or_else(|| ConfigError::invalid(name, format!("is {value}; expected 1 to {max}")))
}

/// The items of a comma- or space-separated list.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', ' ', ';'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
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
    /// Reads only the tokens section (`WEBHOOK_TOKEN`, directly or by reference): what a
    /// function needs to authenticate a request even when the rest of its configuration is
    /// broken.
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
        Ok(Self { webhook })
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
/// Click-to-call's key in local runs: the `events/` files' links and confirmations are signed
/// with it. Never use it anywhere else.
pub const LOCAL_CLICK_TO_CALL_KEY: &str = "local-click-to-call-key-for-the-sandbox-only";

/// The embedded defaults of a local run against the CRM sandbox (`crm` = `nethunt` or
/// `dataverse`). They match the sandbox's seeded credentials and users.
pub fn local_defaults(crm: &str) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = [
        ("CRM", crm),
        ("WEBHOOK_TOKEN", LOCAL_WEBHOOK_TOKEN),
        ("CLICK_TO_CALL_KEY", LOCAL_CLICK_TO_CALL_KEY),
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

    async fn load_click_to_call(
        changes: &[(&str, &str)],
    ) -> Result<ClickToCallConfig, ConfigError> {
        let mut vars = local_defaults("nethunt");
        for (name, value) in changes {
            vars.insert((*name).into(), (*value).into());
        }
        let lookup = move |name: &str| vars.get(name).cloned();
        let store = SecretStore::new("http://127.0.0.1:9", Secret::new("unused"));
        ClickToCallConfig::load(&lookup, &store).await
    }

    #[tokio::test]
    async fn click_to_call_refuses_to_start_without_a_key_of_its_own() {
        let cases: [(&[(&str, &str)], &str); 3] = [
            (
                &[("CLICK_TO_CALL_KEY", "")],
                "`CLICK_TO_CALL_KEY` is required",
            ),
            (
                &[("CLICK_TO_CALL_KEY", "short-key")],
                "`CLICK_TO_CALL_KEY` is shorter than 32",
            ),
            (
                &[
                    ("WEBHOOK_TOKEN", "the-same-long-random-value-0123456789"),
                    ("CLICK_TO_CALL_KEY", "the-same-long-random-value-0123456789"),
                ],
                "`CLICK_TO_CALL_KEY` is the webhook token",
            ),
        ];
        for (changes, expected) in cases {
            let error = load_click_to_call(changes).await.unwrap_err().to_string();
            assert!(error.contains(expected), "{changes:?}: {error}");
        }
        let config = load_click_to_call(&[]).await.unwrap();
        assert!(!format!("{config:?}").contains(LOCAL_CLICK_TO_CALL_KEY));
    }

    #[tokio::test]
    async fn click_to_call_destinations_and_limits_are_read() {
        let defaults = load_click_to_call(&[]).await.unwrap().settings;
        assert_eq!(defaults.policy, DestinationPolicy::default());
        assert_eq!(defaults.limits, CallLimits::default());
        assert_eq!(defaults.device_lifetime, Duration::from_secs(90 * 86_400));
        let set = load_click_to_call(&[
            ("CLICK_TO_CALL_COUNTRIES", "ua, pl"),
            ("CLICK_TO_CALL_REFUSED_TYPES", "premium_rate voip"),
            ("CLICK_TO_CALL_MANAGER_LIMIT", "5"),
            ("CLICK_TO_CALL_WINDOW_MINUTES", "2"),
        ])
        .await
        .unwrap()
        .settings;
        assert_eq!(set.policy.countries().len(), 2);
        assert_eq!(
            set.policy
                .refused()
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>(),
            ["premium_rate", "voip"]
        );
        assert_eq!(set.limits.per_manager, 5);
        assert_eq!(set.limits.window, Duration::from_secs(120));
        let none = load_click_to_call(&[("CLICK_TO_CALL_REFUSED_TYPES", "none")])
            .await
            .unwrap();
        assert!(none.settings.policy.refused().is_empty());
        for (changes, expected) in [
            (
                ("CLICK_TO_CALL_COUNTRIES", "Ukraine"),
                "`CLICK_TO_CALL_COUNTRIES` lists `Ukraine`",
            ),
            (
                ("CLICK_TO_CALL_REFUSED_TYPES", "premium"),
                "`CLICK_TO_CALL_REFUSED_TYPES` lists `premium`",
            ),
            (
                ("CLICK_TO_CALL_MANAGER_LIMIT", "0"),
                "`CLICK_TO_CALL_MANAGER_LIMIT` is 0",
            ),
        ] {
            let error = load_click_to_call(&[changes])
                .await
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{changes:?}: {error}");
        }
    }
}
