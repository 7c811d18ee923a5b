//! The flows: what the bridge does with each Ringostat event, over the CRM and cache ports.
//!
//! No HTTP here ([`crate::webhook`] does that): every flow takes a parsed [`CallEvent`] and a
//! deadline and returns what it did. The cache only ever saves CRM requests: each flow works
//! (slower) when it misses or is unreachable.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::activity::{ContactRef, CrmUser, ResolvedContact, call_activity};
use crate::adapters::http::RetryPolicy;
use crate::adapters::{
    Dataverse, DynamoDbCache, DynamoDbLedger, MemoryCache, MemoryLedger, NetHunt,
};
use crate::config::{Config, CrmConfig, NewContactOwner, Settings};
use crate::phone::PhoneNumber;
use crate::ports::cache::Cache;
use crate::ports::crm::{Crm, CrmError, NewDeal};
use crate::ports::ledger::Ledger;
use crate::ringostat::api::{RingostatApi, RingostatApiError, SmartPhoneContact};
use crate::ringostat::{CallEvent, CallStatus, Direction, EventKind};
use crate::secret::Secret;

/// How long the per-number lock is held at most (a contact creation with its retries).
const LOCK_TTL: Duration = Duration::from_secs(10);
/// How long an event waits for another event's contact before giving up (and being re-sent).
const LOCK_WAIT: Duration = Duration::from_secs(4);
const LOCK_POLL: Duration = Duration::from_millis(100);

/// The adapters and settings every function works with, built once per cold start.
pub struct Bridge {
    pub crm: Arc<dyn Crm>,
    pub cache: Arc<dyn Cache>,
    pub ledger: Arc<dyn Ledger>,
    pub ringostat: Option<RingostatApi>,
    pub settings: Settings,
    pub webhook_token: Secret,
    /// Click-to-call's own token; `None`: the webhook token.
    pub click_to_call_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Crm(#[from] CrmError),
    #[error(transparent)]
    Ringostat(#[from] RingostatApiError),
}

impl Bridge {
    /// The bridge of this execution environment, built from the environment on first use.
    ///
    /// Built on the first invocation, not at INIT: the Parameters and Secrets extension answers
    /// only during invocations. A failed build is retried by the next invocation.
    pub async fn shared() -> Result<&'static Bridge, BuildError> {
        static BRIDGE: tokio::sync::OnceCell<Bridge> = tokio::sync::OnceCell::const_new();
        BRIDGE
            .get_or_try_init(|| async {
                let config = Config::from_env().await?;
                Self::from_config(config).await
            })
            .await
            .inspect_err(|error| tracing::error!(%error, "the bridge could not start"))
    }

    /// Wires the adapters the configuration names.
    pub async fn from_config(config: Config) -> Result<Self, BuildError> {
        let policy = RetryPolicy::default();
        let crm: Arc<dyn Crm> = match config.crm {
            CrmConfig::NetHunt(c) => Arc::new(NetHunt::new(c, policy.clone())?),
            CrmConfig::Dataverse(c) => Arc::new(Dataverse::new(c, policy.clone())?),
        };
        let (cache, ledger): (Arc<dyn Cache>, Arc<dyn Ledger>) =
            match (config.cache_table, config.parked_table) {
                (Some(cache_table), Some(parked_table)) => {
                    let client =
                        DynamoDbCache::client_for(config.dynamodb_endpoint.as_deref()).await;
                    (
                        Arc::new(DynamoDbCache::new(client.clone(), cache_table.clone())),
                        Arc::new(DynamoDbLedger::new(client, cache_table, parked_table)),
                    )
                }
                _ => (Arc::new(MemoryCache::new()), Arc::new(MemoryLedger::new())),
            };
        let ringostat = config
            .ringostat
            .map(|c| RingostatApi::new(c, policy))
            .transpose()?
            .map(|api| api.with_calls_limit(config.calls_per_request));
        Ok(Self {
            crm,
            cache,
            ledger,
            ringostat,
            settings: config.settings,
            webhook_token: config.webhook_token,
            click_to_call_token: config.click_to_call_token,
        })
    }
}

/// What a flow did, as the webhook answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub outcome: OutcomeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new_contact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Before call: the caller's contact is known (found or created).
    ContactReady,
    /// The call record was written.
    CallLogged,
    /// The call record already existed (a re-sent webhook): nothing new was written.
    AlreadyLogged,
    /// The AI analysis was added as a comment.
    AnalysisAdded,
    /// The AI event carried no analysis: nothing was written.
    NoAnalysis,
    /// The event's filter excludes this call: nothing was written.
    Filtered,
    /// The call is still running: nothing is written until its final event.
    InProgress,
}

impl Outcome {
    fn new(outcome: OutcomeKind, event: &CallEvent) -> Self {
        Self {
            outcome,
            call_id: Some(event.call_id.clone()),
            contact_id: None,
            new_contact: false,
            deal_id: None,
            activity_id: None,
        }
    }

    fn with_contact(mut self, contact: &ResolvedContact) -> Self {
        self.contact_id = Some(contact.contact().id.clone());
        self.new_contact = contact.is_new();
        self
    }
}

/// Where the webhook number sends a call, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardDecision {
    /// The manager's SIP login or number; `None`: the fallback.
    pub destination: Option<String>,
    pub reason: ForwardReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardReason {
    /// The responsible manager's route.
    Manager,
    UnknownCaller,
    /// The contact has no owner, or the system user owns it.
    NoManager,
    /// The owner has no route in the staff list.
    NoRoute,
    /// The CRM failed; the call goes on by the fallback.
    CrmError,
    /// The budget ran out.
    Timeout,
}

impl ForwardReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manager => "manager",
            Self::UnknownCaller => "unknown_caller",
            Self::NoManager => "no_manager",
            Self::NoRoute => "no_route",
            Self::CrmError => "crm_error",
            Self::Timeout => "timeout",
        }
    }
}

impl Bridge {
    /// "Перед дзвінком": make sure the ringing caller has a contact (and the new client a
    /// deal), write the UTM tags, and tell Smart Phone who is calling.
    pub async fn before_call(
        &self,
        event: &CallEvent,
        deadline: Instant,
    ) -> Result<Outcome, CrmError> {
        if let Some(outcome) = self.filtered(event) {
            return Ok(outcome);
        }
        let system_user = &self.settings.system_user;
        let contact = self
            .find_or_create(&event.client_phone, system_user, deadline)
            .await?;
        let mut outcome = Outcome::new(OutcomeKind::ContactReady, event).with_contact(&contact);
        if contact.is_new() {
            outcome.deal_id = self
                .create_deal(
                    &event.client_phone,
                    contact.contact(),
                    system_user,
                    deadline,
                )
                .await?;
            // The manager is known only after the call: remember the deal to hand it over.
            if let (Some(deal), NewContactOwner::AnsweringManager) =
                (&outcome.deal_id, self.settings.new_contact_owner)
            {
                let ttl = self.settings.contact_ttl;
                if let Err(e) = self
                    .cache
                    .put_pending_deal(&event.client_phone, deal, ttl)
                    .await
                {
                    tracing::warn!(error = %e, "cache: pending deal not stored");
                }
            }
        }
        let (utm, ()) = tokio::join!(
            self.write_utm(event, contact.contact(), deadline),
            self.sync_smart_phone(&event.client_phone, contact.contact(), deadline),
        );
        match utm {
            // Worth a re-send: the tags are written then.
            Err(error) if error.is_transient() => return Err(error),
            // A missing UTM field or column must not cost the call its contact: no re-send
            // would fix it, the log says what to fix.
            Err(error) => tracing::error!(%error, "UTM tags not written: check the UTM fields"),
            Ok(()) => {}
        }
        Ok(outcome)
    }

    /// "Після дзвінка" and "Після вихідного дзвінка": log the call on the client's contact
    /// (all eight seed scenarios), creating the contact for a new number.
    pub async fn after_call(
        &self,
        event: &CallEvent,
        deadline: Instant,
    ) -> Result<Outcome, CrmError> {
        if let Some(outcome) = self.filtered(event) {
            return Ok(outcome);
        }
        if event.is_in_progress() {
            return Ok(Outcome::new(OutcomeKind::InProgress, event));
        }
        let manager = self.manager_on_call(event);
        let owner_of_new = match self.settings.new_contact_owner {
            NewContactOwner::SystemUser => &self.settings.system_user,
            NewContactOwner::AnsweringManager => manager.unwrap_or(&self.settings.system_user),
        };
        let phone = &event.client_phone;
        let mut contact = self.find_or_create(phone, owner_of_new, deadline).await?;
        let mut deal_id = None;
        if contact.is_new() {
            deal_id = self
                .create_deal(phone, contact.contact(), owner_of_new, deadline)
                .await?;
        } else if let (NewContactOwner::AnsweringManager, Some(manager)) =
            (self.settings.new_contact_owner, manager)
        {
            contact = self.hand_over(phone, contact, manager, deadline).await?;
        }

        let system_user = &self.settings.system_user;
        let language = self.settings.language;
        let activity = call_activity(event, &contact, manager, system_user, language);
        let logged = match self.crm.log_call(&activity, deadline).await {
            // A cached contact deleted or merged in the CRM since: find it again, once.
            Err(CrmError::NotFound(_)) if !contact.is_new() => {
                self.forget_contact(phone).await;
                contact = self.find_or_create(phone, owner_of_new, deadline).await?;
                let activity = call_activity(event, &contact, manager, system_user, language);
                self.crm.log_call(&activity, deadline).await?
            }
            other => other?,
        };
        let kind = if logged.already_existed {
            OutcomeKind::AlreadyLogged
        } else {
            OutcomeKind::CallLogged
        };
        let mut outcome = Outcome::new(kind, event).with_contact(&contact);
        outcome.deal_id = deal_id;
        outcome.activity_id = logged.id;
        Ok(outcome)
    }

    /// "Call processed by AI": the summary and the other AI fields as a comment on the
    /// client's contact; nothing at all when the analysis is empty.
    pub async fn call_analysis(
        &self,
        event: &CallEvent,
        deadline: Instant,
    ) -> Result<Outcome, CrmError> {
        if let Some(outcome) = self.filtered(event) {
            return Ok(outcome);
        }
        if event.analysis.is_empty() {
            return Ok(Outcome::new(OutcomeKind::NoAnalysis, event));
        }
        let contact = self
            .find_or_create(&event.client_phone, &self.settings.system_user, deadline)
            .await?;
        let (title, text) = analysis_note(event, self.settings.language);
        self.crm
            .add_note(&contact.contact().id, &title, &text, deadline)
            .await?;
        Ok(Outcome::new(OutcomeKind::AnalysisAdded, event).with_contact(&contact))
    }

    /// The webhook number: the responsible manager's route for `caller`, within the budget.
    /// Never fails: any problem is a decision for the fallback.
    pub async fn smart_forward(&self, caller: &PhoneNumber, deadline: Instant) -> ForwardDecision {
        let decision = tokio::time::timeout_at(deadline, self.route_for(caller, deadline)).await;
        match decision {
            Ok(Ok(decision)) => decision,
            Ok(Err(error)) => {
                tracing::warn!(%error, "smart forward: CRM lookup failed");
                ForwardDecision {
                    destination: None,
                    reason: ForwardReason::CrmError,
                }
            }
            Err(_) => ForwardDecision {
                destination: None,
                reason: ForwardReason::Timeout,
            },
        }
    }

    async fn route_for(
        &self,
        caller: &PhoneNumber,
        deadline: Instant,
    ) -> Result<ForwardDecision, CrmError> {
        let decision = |destination: Option<String>, reason| ForwardDecision {
            destination,
            reason,
        };
        let Some(contact) = self.find(caller, deadline).await? else {
            return Ok(decision(None, ForwardReason::UnknownCaller));
        };
        let owner = match contact.owner_id.clone() {
            Some(owner) => Some(owner),
            None => self
                .crm
                .responsible_manager(&contact.id, deadline)
                .await?
                .map(|user| user.id),
        };
        let Some(owner) = owner.filter(|o| !self.is_system_user(o)) else {
            return Ok(decision(None, ForwardReason::NoManager));
        };
        let route = match self
            .settings
            .staff
            .member(&owner)
            .and_then(|m| m.route.clone())
        {
            Some(route) => Some(route),
            None => self.cache.manager_route(&owner).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cache: manager route not read");
                None
            }),
        };
        Ok(match route {
            Some(route) => decision(Some(route.destination().to_owned()), ForwardReason::Manager),
            None => decision(None, ForwardReason::NoRoute),
        })
    }

    fn filtered(&self, event: &CallEvent) -> Option<Outcome> {
        let mut filter = self.settings.filter(event.kind);
        // A ringing call has no status yet: only its direction can be filtered.
        if event.kind == EventKind::BeforeCall {
            filter.statuses.clear();
        }
        (!filter.accepts(event.direction, event.status()))
            .then(|| Outcome::new(OutcomeKind::Filtered, event))
    }

    /// The CRM user who took (incoming) or made (outgoing) the call.
    fn manager_on_call(&self, event: &CallEvent) -> Option<&CrmUser> {
        let took_part =
            event.direction == Direction::Outgoing || event.status() == CallStatus::Answered;
        took_part
            .then(|| self.settings.staff.crm_user_for(&event.employee))
            .flatten()
    }

    fn is_system_user(&self, user_id: &str) -> bool {
        user_id.eq_ignore_ascii_case(&self.settings.system_user.id)
    }

    /// The contact of `phone`: cache, then CRM. Cache failures are logged and skipped.
    async fn find(
        &self,
        phone: &PhoneNumber,
        deadline: Instant,
    ) -> Result<Option<ContactRef>, CrmError> {
        match self.cache.contact(phone).await {
            Ok(Some(contact)) => return Ok(Some(contact)),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache: contact not read"),
        }
        let found = self.crm.find_contact(phone, deadline).await?;
        if let Some(contact) = &found {
            self.remember(phone, contact).await;
        }
        Ok(found)
    }

    /// The contact of `phone`, created (phone only, owned by `owner`) when there is none.
    async fn find_or_create(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Instant,
    ) -> Result<ResolvedContact, CrmError> {
        if let Some(contact) = self.find(phone, deadline).await? {
            return Ok(ResolvedContact::Existing(contact));
        }
        // One creator per number: events arriving together for a new number (before-call,
        // AI, a second line) would otherwise each create a contact. The others wait for the
        // winner's contact, which it caches before it lets go of the lock.
        let give_up = deadline.min(Instant::now() + LOCK_WAIT);
        let mut contended = false;
        loop {
            match self.cache.try_lock(phone, LOCK_TTL).await {
                Ok(true) => break,
                Ok(false) => contended = true,
                Err(e) => {
                    tracing::warn!(error = %e, "cache: no per-number lock, creating without it");
                    return self.create(phone, owner, deadline).await;
                }
            }
            tokio::time::sleep(LOCK_POLL).await;
            if let Ok(Some(contact)) = self.cache.contact(phone).await {
                return Ok(ResolvedContact::Existing(contact));
            }
            if Instant::now() >= give_up {
                return Err(CrmError::Transient(
                    "another event is creating this number's contact".into(),
                ));
            }
        }
        // The lock was busy: its holder may have created the contact and gone.
        let existing = if contended {
            self.find(phone, deadline).await
        } else {
            Ok(None)
        };
        let result = match existing {
            Ok(Some(contact)) => Ok(ResolvedContact::Existing(contact)),
            Ok(None) => self.create(phone, owner, deadline).await,
            Err(e) => Err(e),
        };
        if let Err(e) = self.cache.unlock(phone).await {
            tracing::warn!(error = %e, "cache: per-number lock not released (it expires)");
        }
        result
    }

    async fn create(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Instant,
    ) -> Result<ResolvedContact, CrmError> {
        let created = self.crm.create_contact(phone, owner, deadline).await?;
        tracing::info!(contact_id = %created.id, "contact created");
        self.remember(phone, &created).await;
        Ok(ResolvedContact::Created(created))
    }

    /// Gives a contact still owned by the system user (created before the call, or by an
    /// earlier missed call) to the manager who took this call, with its pending deal.
    async fn hand_over(
        &self,
        phone: &PhoneNumber,
        contact: ResolvedContact,
        manager: &CrmUser,
        deadline: Instant,
    ) -> Result<ResolvedContact, CrmError> {
        let current = contact.contact();
        let unowned = current
            .owner_id
            .as_deref()
            .is_none_or(|owner| self.is_system_user(owner));
        if !unowned {
            return Ok(contact);
        }
        self.crm
            .set_contact_owner(&current.id, manager, deadline)
            .await?;
        let mut updated = current.clone();
        updated.owner_id = Some(manager.id.clone());
        self.remember(phone, &updated).await;
        match self.cache.pending_deal(phone).await {
            Ok(Some(deal_id)) => {
                self.crm.set_deal_owner(&deal_id, manager, deadline).await?;
                if let Err(e) = self.cache.forget_pending_deal(phone).await {
                    tracing::warn!(error = %e, "cache: pending deal not dropped");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cache: pending deal not read"),
        }
        Ok(ResolvedContact::Existing(updated))
    }

    async fn create_deal(
        &self,
        phone: &PhoneNumber,
        contact: &ContactRef,
        owner: &CrmUser,
        deadline: Instant,
    ) -> Result<Option<String>, CrmError> {
        let Some(deals) = &self.settings.deals else {
            return Ok(None);
        };
        let deal = NewDeal {
            name: deals.name_for(phone.e164()),
            stage: deals.stage.clone(),
            owner: Some(owner.clone()),
        };
        let created = self.crm.create_deal(contact, &deal, deadline).await?;
        Ok(Some(created.id))
    }

    async fn write_utm(
        &self,
        event: &CallEvent,
        contact: &ContactRef,
        deadline: Instant,
    ) -> Result<(), CrmError> {
        if !self.settings.write_utm || event.utm.is_empty() {
            return Ok(());
        }
        self.crm
            .set_contact_utm(&contact.id, &event.utm, deadline)
            .await
    }

    /// Best effort: Smart Phone only shows the name; the call goes on without it.
    async fn sync_smart_phone(&self, phone: &PhoneNumber, contact: &ContactRef, deadline: Instant) {
        let Some(api) = self
            .ringostat
            .as_ref()
            .filter(|_| self.settings.smart_phone_sync)
        else {
            return;
        };
        let card = SmartPhoneContact {
            external_id: contact.id.clone(),
            full_name: contact
                .name
                .clone()
                .unwrap_or_else(|| phone.e164().to_owned()),
            phone: phone.clone(),
            email: None,
            responsible: contact.owner_id.clone(),
            contact_link: Some(
                contact
                    .card_url
                    .clone()
                    .unwrap_or_else(|| self.crm.contact_card_url(&contact.id)),
            ),
        };
        if let Err(e) = api.sync_contact(&card, deadline).await {
            tracing::warn!(error = %e, "Smart Phone contact sync failed");
        }
    }

    async fn remember(&self, phone: &PhoneNumber, contact: &ContactRef) {
        let ttl = self.settings.contact_ttl;
        if let Err(e) = self.cache.put_contact(phone, contact, ttl).await {
            tracing::warn!(error = %e, "cache: contact not stored");
        }
    }

    async fn forget_contact(&self, phone: &PhoneNumber) {
        if let Err(e) = self.cache.forget_contact(phone).await {
            tracing::warn!(error = %e, "cache: contact not dropped");
        }
    }
}

/// Title and text of the AI comment: every AI field that is present, labelled.
fn analysis_note(event: &CallEvent, language: crate::activity::Language) -> (String, String) {
    use crate::activity::Language;
    let ai = &event.analysis;
    let labels: [&str; 7] = match language {
        Language::Uk => [
            "AI-аналіз дзвінка",
            "Підсумок",
            "Настрій клієнта",
            "Настрій співробітника",
            "Загальний настрій",
            "Рекомендації",
            "Розшифровка",
        ],
        Language::En => [
            "AI call analysis",
            "Summary",
            "Client mood",
            "Employee mood",
            "Overall mood",
            "Recommendations",
            "Transcript",
        ],
    };
    let lines: Vec<String> = [
        (labels[1], &ai.summary),
        (labels[2], &ai.client_mood),
        (labels[3], &ai.employee_mood),
        (labels[4], &ai.overall_mood),
        (labels[5], &ai.recommendations),
        (labels[6], &ai.transcript_url),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.as_ref().map(|v| format!("{label}: {v}")))
    .chain(std::iter::once(format!("Ringostat ID: {}", event.call_id)))
    .collect();
    (labels[0].to_owned(), lines.join("\n"))
}
