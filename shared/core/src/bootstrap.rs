//! The wiring: each function kind builds only what it uses, here and nowhere else.
//!
//! | Function | Builds |
//! |---|---|
//! | the four call webhooks | CRM, cache, ledger, Ringostat (Smart Phone) → [`Stack`] → `WebhookApp` |
//! | smart-forward | CRM, cache → `SmartForwardApp` |
//! | click-to-call | Ringostat's dialer and its counters (cache table) → `ClickToCallApp` |
//! | replay, reconcile, `bridge-ops` | the whole [`Stack`] |

use std::sync::Arc;

use bridge_adapters::env::ConfigError;
use bridge_adapters::http::RetryPolicy;
use bridge_adapters::memory::{MemoryCache, MemoryLedger};
use bridge_adapters::ringostat::RingostatApi;
use bridge_domain::EventKind;
use bridge_domain::ports::crm::{Crm, CrmError};
use bridge_domain::ports::ringostat::RingostatApiError;
use bridge_domain::ports::{Cache, Ledger};
use bridge_domain::services::{
    AnalysisNotes, BeforeCall, CallLogging, ContactResolver, DealDesk, Delivery, EventHandlers,
    GuardedCache, GuardedLedger, MeteredCrm, Owners, Reconciler, SmartForwarding, SmartPhoneSync,
};
use bridge_domain::settings::Settings;

use crate::config::{Config, Tables, Tokens};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Crm(#[from] CrmError),
    #[error(transparent)]
    Ringostat(#[from] RingostatApiError),
}

/// The adapters a configuration names.
pub struct Adapters {
    pub crm: Arc<dyn Crm>,
    pub cache: Arc<dyn Cache>,
    pub ledger: Arc<dyn Ledger>,
    pub ringostat: Option<Arc<RingostatApi>>,
}

impl Adapters {
    /// Connects the CRM, the tables and Ringostat's API.
    pub async fn connect(config: &Config) -> Result<Self, BuildError> {
        let policy = RetryPolicy::default();
        // Every CRM call counted and timed (`CrmRequests`, `CrmLatency`, `CrmErrors`).
        let crm: Arc<dyn Crm> = Arc::new(MeteredCrm(config.crm.connect(&policy)?));
        let (cache, ledger) = stores(&config.tables).await;
        // Every store call bounded by the invocation's deadline, skipped after a failure.
        let cache: Arc<dyn Cache> = Arc::new(GuardedCache(cache));
        let ledger: Arc<dyn Ledger> = Arc::new(GuardedLedger(ledger));
        let ringostat = config
            .ringostat
            .clone()
            .map(|c| RingostatApi::new(c, policy))
            .transpose()?
            .map(|api| Arc::new(api.with_calls_limit(config.calls_per_request)));
        Ok(Self {
            crm,
            cache,
            ledger,
            ringostat,
        })
    }
}

/// How long a function's start may spend on [`Adapters::prepare`].
pub(crate) const PREPARE_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

impl Adapters {
    /// Connections (and Dataverse's token) opened at once while the function starts, so that
    /// its first call finds them ready (docs/benchmarks.md). Bounded by [`PREPARE_BUDGET`];
    /// what fails is the first real request's to try again.
    pub async fn prepare(&self) {
        let deadline = bridge_domain::Deadline::after(PREPARE_BUDGET);
        let ringostat = async {
            if let Some(api) = &self.ringostat {
                api.prepare(deadline).await;
            }
        };
        tokio::join!(
            self.crm.prepare(deadline),
            self.cache.prepare(deadline),
            ringostat
        );
    }
}

/// DynamoDB when both tables are configured, else memory (local runs).
async fn stores(tables: &Tables) -> (Arc<dyn Cache>, Arc<dyn Ledger>) {
    #[cfg(feature = "dynamodb")]
    if let (Some(cache_table), Some(parked_table)) = (&tables.cache, &tables.parked) {
        use bridge_adapters::dynamodb::{DynamoDbCache, DynamoDbLedger};
        let client = DynamoDbCache::client_for(tables.dynamodb_endpoint.as_deref()).await;
        return (
            Arc::new(DynamoDbCache::new(client.clone(), cache_table.clone())),
            Arc::new(DynamoDbLedger::new(
                client,
                cache_table.clone(),
                parked_table.clone(),
            )),
        );
    }
    #[cfg(not(feature = "dynamodb"))]
    if tables.cache.is_some() {
        tracing::warn!("this function was built without DynamoDB: cache and ledger in memory");
    }
    (Arc::new(MemoryCache::new()), Arc::new(MemoryLedger::new()))
}

/// Every service of one deployment in one process: the call webhooks, replay,
/// reconciliation, the test rig and `bridge-ops`.
pub struct Stack {
    pub adapters: Adapters,
    pub settings: Settings,
    pub tokens: Tokens,
    pub delivery: Arc<Delivery>,
    pub reconciler: Reconciler,
}

impl Stack {
    /// The stack of this process's environment.
    pub async fn from_env() -> Result<Self, BuildError> {
        Self::from_config(Config::from_env().await?).await
    }

    pub async fn from_config(config: Config) -> Result<Self, BuildError> {
        let adapters = Adapters::connect(&config).await?;
        Ok(Self::wire(config, adapters))
    }

    /// Wires the services over `adapters`.
    pub fn wire(config: Config, adapters: Adapters) -> Self {
        let settings = config.settings;
        let delivery = Arc::new(delivery(&settings, &adapters));
        let reconciler = Reconciler {
            call_log: adapters
                .ringostat
                .clone()
                .map(|api| api as Arc<dyn bridge_domain::ports::RingostatCallLog>),
            delivery: delivery.clone(),
            parse: settings.parse.clone(),
            window: settings.reconcile_window,
            lag: settings.reconcile_lag,
        };
        Self {
            adapters,
            settings,
            tokens: config.tokens,
            delivery,
            reconciler,
        }
    }

    /// Smart forwarding over this stack's CRM and cache.
    pub fn smart_forwarding(&self) -> SmartForwarding {
        smart_forwarding(&self.settings, &self.adapters)
    }
}

fn owners(settings: &Settings) -> Arc<Owners> {
    Arc::new(Owners {
        system_user: settings.system_user.clone(),
        staff: settings.staff.clone(),
        new_contact_owner: settings.new_contact_owner,
    })
}

fn contacts(settings: &Settings, adapters: &Adapters) -> Arc<ContactResolver> {
    Arc::new(ContactResolver::new(
        adapters.crm.clone(),
        adapters.cache.clone(),
        settings.contact_ttl,
    ))
}

/// The call webhooks' delivery: the ledger and a handler per event kind.
pub fn delivery(settings: &Settings, adapters: &Adapters) -> Delivery {
    let (crm, owners, contacts) = (
        adapters.crm.clone(),
        owners(settings),
        contacts(settings, adapters),
    );
    let deals = Arc::new(DealDesk::new(
        crm.clone(),
        adapters.cache.clone(),
        settings.deals.clone(),
        settings.contact_ttl,
    ));
    let smart_phone = adapters
        .ringostat
        .clone()
        .filter(|_| settings.smart_phone_sync)
        .map(|api| Arc::new(SmartPhoneSync::new(api, crm.clone())));
    let logging = Arc::new(CallLogging {
        contacts: contacts.clone(),
        deals: deals.clone(),
        owners: owners.clone(),
        crm: crm.clone(),
        language: settings.language,
    });
    let handlers = EventHandlers::new(settings.filters.clone())
        .with(
            EventKind::BeforeCall,
            Arc::new(BeforeCall {
                contacts: contacts.clone(),
                deals,
                owners: owners.clone(),
                crm: crm.clone(),
                write_utm: settings.write_utm,
                smart_phone,
            }),
        )
        .with(EventKind::AfterCall, logging.clone())
        .with(EventKind::AfterOutgoingCall, logging)
        .with(
            EventKind::CallAnalysis,
            Arc::new(AnalysisNotes {
                contacts,
                owners,
                crm,
                language: settings.language,
            }),
        );
    Delivery {
        ledger: adapters.ledger.clone(),
        handlers,
        parse: settings.parse.clone(),
    }
}

/// The webhook number's service.
pub fn smart_forwarding(settings: &Settings, adapters: &Adapters) -> SmartForwarding {
    SmartForwarding {
        contacts: contacts(settings, adapters),
        crm: adapters.crm.clone(),
        cache: adapters.cache.clone(),
        owners: owners(settings),
    }
}

#[cfg(feature = "lambda")]
mod lambda;
#[cfg(feature = "lambda")]
pub use lambda::*;

/// Why a scheduled reconciliation did not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileEventError {
    #[error("`{field}` is not an instant (e.g. 2026-12-01T08:00:00Z): {source}")]
    Instant {
        field: &'static str,
        source: jiff::Error,
    },
    #[error(transparent)]
    Reconcile(#[from] bridge_domain::services::ReconcileError),
}

/// The reconcile function's event: `{"from": …, "to": …}` for a window given by hand, else
/// the configured recent window.
pub async fn reconcile_event(
    stack: &Stack,
    event: serde_json::Value,
    deadline: bridge_domain::Deadline,
) -> Result<bridge_domain::services::ReconcileReport, ReconcileEventError> {
    let instant = |field: &'static str| {
        event[field].as_str().map(|text| {
            text.parse::<jiff::Timestamp>()
                .map_err(|source| ReconcileEventError::Instant { field, source })
        })
    };
    let report = match (instant("from"), instant("to")) {
        (Some(from), Some(to)) => stack.reconciler.reconcile(from?, to?, deadline).await?,
        _ => {
            stack
                .reconciler
                .reconcile_recent(jiff::Timestamp::now(), deadline)
                .await?
        }
    };
    tracing::info!(
        listed = report.listed,
        recovered = report.recovered,
        already_done = report.already_done,
        failed = report.failed,
        "reconciliation done"
    );
    Ok(report)
}
