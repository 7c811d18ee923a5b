//! The Lambda apps of each function kind, built from the environment.
//!
//! A build that fails still yields what [`bridge_lambda::run`] needs to answer meanwhile
//! ([`Unstarted`]): the function's token, read from the tokens section alone, and for the call
//! webhooks the parked-events table, so that no call is lost to a configuration error.

use std::sync::Arc;

use bridge_adapters::env::ConfigError;
use bridge_adapters::env::Lookup;
use bridge_adapters::memory::MemoryRateLimiter;
use bridge_adapters::secret_store::SecretStore;
use bridge_domain::clock::SystemClock;
use bridge_domain::ports::{Ledger, RateLimiter};
use bridge_domain::services::{ClickToCall, LinkKey};
use bridge_lambda::auth::unauthorized;
use bridge_lambda::routes::{RouteTarget, route_for_path};
use bridge_lambda::run::Unstarted;
use bridge_lambda::{
    ClickToCallApp, SmartForwardApp, WebhookApp, call_event, click_to_call, smart_forward,
};
use lambda_http::{Body, Request, Response};

use super::{Adapters, BuildError, Stack};
use crate::config::{ClickToCallConfig, Config, Feature, Tables, Tokens, process_lookup};

/// A call webhook's app (for `run::call_webhook`).
pub async fn webhook_app() -> Result<WebhookApp, Unstarted> {
    webhook_app_from(&process_lookup(), &SecretStore::from_env()).await
}

/// A call webhook's app from `lookup`; when it cannot be built, the token and the
/// parked-events table as far as they can be read.
pub async fn webhook_app_from(
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
) -> Result<WebhookApp, Unstarted> {
    let built = async { Stack::from_config(Config::load(lookup, secrets).await?).await };
    match built.await {
        Ok(stack) => {
            stack.adapters.prepare().await;
            Ok(stack.webhook_app())
        }
        Err(error) => Err(unstarted(error, lookup, secrets, Door::CallWebhook).await),
    }
}

/// The webhook number's app: the CRM and the cache, nothing else (no ledger, no Ringostat).
/// Its `FORWARD_*` variables, optional elsewhere, must be valid here.
pub async fn smart_forward_app() -> Result<SmartForwardApp, Unstarted> {
    let (lookup, secrets) = (process_lookup(), SecretStore::from_env());
    match smart_forward_app_from(&lookup, &secrets).await {
        Ok(app) => Ok(app),
        Err(error) => Err(unstarted(error, &lookup, &secrets, Door::SmartForward).await),
    }
}

async fn smart_forward_app_from(
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
) -> Result<SmartForwardApp, BuildError> {
    let mut config = Config::load(lookup, secrets).await?;
    let invalid = config
        .disabled
        .iter()
        .position(|d| d.feature == Feature::SmartForwarding);
    if let Some(index) = invalid {
        return Err(config.disabled.swap_remove(index).error.into());
    }
    // The webhook number never calls Ringostat: no client to build.
    config.ringostat = None;
    let adapters = Adapters::connect(&config).await?;
    adapters.prepare().await;
    Ok(SmartForwardApp {
        token: config.tokens.webhook,
        forwarding: super::smart_forwarding(&config.settings, &adapters),
        settings: config.settings.forward,
    })
}

/// Click-to-call's app: Ringostat's dialer and the counters in the cache table; no CRM, no
/// webhook token. It refuses to start without `CLICK_TO_CALL_KEY`.
pub async fn click_to_call_app() -> Result<ClickToCallApp, Unstarted> {
    let (lookup, secrets) = (process_lookup(), SecretStore::from_env());
    let built =
        async { click_to_call_app_from(ClickToCallConfig::load(&lookup, &secrets).await?).await };
    match built.await {
        Ok(app) => Ok(app),
        Err(error) => Err(unstarted(error, &lookup, &secrets, Door::ClickToCall).await),
    }
}

/// Which function failed to start: which token it takes, whether it parks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    CallWebhook,
    SmartForward,
    ClickToCall,
}

/// What a function whose build failed still knows: its token, from the tokens section read
/// alone, and for a call webhook the parked-events table.
async fn unstarted(
    error: BuildError,
    lookup: &Lookup<'_>,
    secrets: &SecretStore,
    door: Door,
) -> Unstarted {
    let token = match door {
        // Click-to-call admits no token, only signed links, which need the whole (failed)
        // configuration: every request gets 401 until it is fixed.
        Door::ClickToCall => Err(format!(
            "click-to-call did not start and admits nobody meanwhile: {error}"
        )),
        Door::CallWebhook | Door::SmartForward => Tokens::load(lookup, secrets)
            .await
            .map(|tokens| tokens.webhook)
            .map_err(|e| e.to_string()),
    };
    let parking = match door {
        Door::CallWebhook => parking(&Tables::as_named(lookup)).await,
        Door::SmartForward | Door::ClickToCall => None,
    };
    Unstarted {
        error: error.to_string(),
        token,
        parking,
    }
}

/// The parked-events table, when the environment names one (the cache table is not needed to
/// park).
#[cfg_attr(
    not(feature = "dynamodb"),
    allow(clippy::unused_async, unused_variables)
)]
async fn parking(tables: &Tables) -> Option<Arc<dyn Ledger>> {
    #[cfg(feature = "dynamodb")]
    if let Some(parked) = &tables.parked {
        use bridge_adapters::dynamodb::{DynamoDbCache, DynamoDbLedger};
        let client = DynamoDbCache::client_for(tables.dynamodb_endpoint.as_deref()).await;
        let cache = tables.cache.clone().unwrap_or_else(|| parked.clone());
        return Some(Arc::new(DynamoDbLedger::new(client, cache, parked.clone())));
    }
    None
}

/// Click-to-call's app from its configuration: the counters in the cache table when one is
/// named (else in memory, counted per execution environment only).
pub async fn click_to_call_app_from(
    config: ClickToCallConfig,
) -> Result<ClickToCallApp, BuildError> {
    let dialer = config
        .ringostat
        .map(|c| bridge_adapters::ringostat::RingostatApi::new(c, Default::default()))
        .transpose()?;
    if let Some(api) = &dialer {
        api.prepare(bridge_domain::Deadline::after(super::PREPARE_BUDGET))
            .await;
    }
    let dialer = dialer.map(|api| Arc::new(api) as Arc<dyn bridge_domain::ports::Dialer>);
    let key = LinkKey::new(&config.key).map_err(|e| {
        BuildError::Config(ConfigError::invalid("CLICK_TO_CALL_KEY", e.to_string()))
    })?;
    let settings = config.settings;
    Ok(ClickToCallApp {
        service: ClickToCall {
            staff: config.staff,
            default_extension: config.default_extension,
            dialer,
            key,
            policy: settings.policy,
            limits: settings.limits,
            limiter: rate_limiter(&config.tables).await,
            clock: Arc::new(SystemClock),
            device_lifetime: settings.device_lifetime,
        },
        language: settings.language,
        budget: config.budget,
    })
}

/// Click-to-call's counters: DynamoDB when the cache table is named, else memory.
#[cfg_attr(not(feature = "dynamodb"), allow(clippy::unused_async))]
async fn rate_limiter(tables: &Tables) -> Arc<dyn RateLimiter> {
    #[cfg(feature = "dynamodb")]
    if let Some(table) = &tables.cache {
        use bridge_adapters::dynamodb::{DynamoDbCache, DynamoDbRateLimiter};
        let client = DynamoDbCache::client_for(tables.dynamodb_endpoint.as_deref()).await;
        return Arc::new(DynamoDbRateLimiter::new(client, table.clone()));
    }
    #[cfg(not(feature = "dynamodb"))]
    if tables.cache.is_some() {
        tracing::warn!("this function was built without DynamoDB: call limits in memory");
    }
    tracing::warn!(
        "no CACHE_TABLE: click-to-call's limits count in this execution environment only"
    );
    Arc::new(MemoryRateLimiter::new())
}

impl Stack {
    pub fn webhook_app(&self) -> WebhookApp {
        WebhookApp {
            token: self.tokens.webhook.clone(),
            delivery: self.delivery.clone(),
            parse: self.settings.parse.clone(),
            budget: self.settings.webhook_budget,
        }
    }

    pub fn smart_forward_app(&self) -> SmartForwardApp {
        SmartForwardApp {
            token: self.tokens.webhook.clone(),
            forwarding: self.smart_forwarding(),
            settings: self.settings.forward.clone(),
        }
    }
}

/// Every HTTP function of a stack in one process, routed by the route table (the test rig,
/// one-process local tools).
pub struct HttpApps {
    pub webhook: WebhookApp,
    pub smart_forward: SmartForwardApp,
    /// Built from its own configuration ([`click_to_call_app_from`]); `None`: not configured,
    /// and every click-to-call request gets 401.
    pub click_to_call: Option<ClickToCallApp>,
}

impl HttpApps {
    pub fn of(stack: &Stack) -> Self {
        Self {
            webhook: stack.webhook_app(),
            smart_forward: stack.smart_forward_app(),
            click_to_call: None,
        }
    }

    /// These apps with click-to-call's.
    pub fn with_click_to_call(self, click_to_call: Option<ClickToCallApp>) -> Self {
        Self {
            click_to_call,
            ..self
        }
    }

    /// Answers `request` as the function its path routes to would; `None` for a path no
    /// function serves.
    pub async fn serve(&self, request: Request) -> Option<Response<Body>> {
        let route = route_for_path(request.uri().path())?;
        Some(match route.target {
            RouteTarget::CallEvent(kind) => call_event(&self.webhook, kind, request).await,
            RouteTarget::SmartForward => smart_forward(&self.smart_forward, request).await,
            RouteTarget::ClickToCall => match &self.click_to_call {
                Some(app) => click_to_call(app, request).await,
                None => unauthorized(),
            },
            RouteTarget::Replay | RouteTarget::Reconcile => return None,
        })
    }
}
