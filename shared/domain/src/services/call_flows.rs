//! The call webhooks' flows: before call, after call (incoming and outgoing), call analysis.

use std::sync::Arc;

use async_trait::async_trait;

use crate::activity::{Language, call_activity};
use crate::deadline::Deadline;
use crate::ports::crm::{Crm, CrmError, NewNote};
use crate::ringostat::CallEvent;
use crate::services::contacts::ContactResolver;
use crate::services::deals::DealDesk;
use crate::services::handlers::{Attempt, EventHandler};
use crate::services::outcome::{Outcome, OutcomeKind};
use crate::services::owners::Owners;
use crate::services::smart_phone::SmartPhoneSync;
use crate::settings::NewContactOwner;

/// "Перед дзвінком": make sure the ringing caller has a contact (and the new client a deal),
/// write the UTM tags, and tell Smart Phone who is calling.
pub struct BeforeCall {
    pub contacts: Arc<ContactResolver>,
    pub deals: Arc<DealDesk>,
    pub owners: Arc<Owners>,
    pub crm: Arc<dyn Crm>,
    pub write_utm: bool,
    /// `None`: no Smart Phone sync.
    pub smart_phone: Option<Arc<SmartPhoneSync>>,
}

#[async_trait]
impl EventHandler for BeforeCall {
    async fn handle(
        &self,
        event: &CallEvent,
        attempt: Attempt,
        deadline: Deadline,
    ) -> Result<Outcome, CrmError> {
        let system_user = &self.owners.system_user;
        let phone = &event.client_phone;
        let contact = self
            .contacts
            .find_or_create(phone, system_user, deadline)
            .await?;
        let mut outcome = Outcome::new(OutcomeKind::ContactReady, event).with_contact(&contact);
        // The manager is known only after the call: a deal made now waits to be handed over.
        let hand_over_later = self.owners.new_contact_owner == NewContactOwner::AnsweringManager;
        outcome.deal_id = self
            .deals
            .ensure_deal(
                phone,
                &contact,
                system_user,
                hand_over_later,
                attempt.recheck,
                deadline,
            )
            .await?;
        let write_utm = async {
            if !self.write_utm || event.utm.is_empty() {
                return Ok(());
            }
            self.crm
                .set_contact_utm(&contact.contact().id, &event.utm, deadline)
                .await
        };
        let sync = async {
            if let Some(sync) = &self.smart_phone {
                sync.sync(phone, contact.contact(), deadline).await;
            }
        };
        let (utm, ()) = tokio::join!(write_utm, sync);
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
}

/// "Після дзвінка" and "Після вихідного дзвінка": log the call on the client's contact (all
/// eight seed scenarios), creating the contact for a new number.
pub struct CallLogging {
    pub contacts: Arc<ContactResolver>,
    pub deals: Arc<DealDesk>,
    pub owners: Arc<Owners>,
    pub crm: Arc<dyn Crm>,
    pub language: Language,
}

#[async_trait]
impl EventHandler for CallLogging {
    async fn handle(
        &self,
        event: &CallEvent,
        attempt: Attempt,
        deadline: Deadline,
    ) -> Result<Outcome, CrmError> {
        if event.is_in_progress() {
            return Ok(Outcome::new(OutcomeKind::InProgress, event));
        }
        let owners = &self.owners;
        let manager = owners.manager_on_call(event);
        let owner_of_new = owners.owner_of_new(manager);
        let phone = &event.client_phone;
        let mut contact = self
            .contacts
            .find_or_create(phone, owner_of_new, deadline)
            .await?;
        let deal_id = self
            .deals
            .ensure_deal(
                phone,
                &contact,
                owner_of_new,
                false,
                attempt.recheck,
                deadline,
            )
            .await?;
        if let (NewContactOwner::AnsweringManager, Some(manager), false) =
            (owners.new_contact_owner, manager, contact.is_new())
        {
            contact = self
                .deals
                .hand_over(&self.contacts, owners, phone, contact, manager, deadline)
                .await?;
        }

        let (system_user, language) = (&owners.system_user, self.language);
        let mut activity = call_activity(event, &contact, manager, system_user, language);
        activity.recheck = attempt.recheck;
        let logged = match self.crm.log_call(&activity, deadline).await {
            // A cached contact deleted or merged in the CRM since: find it again, once.
            Err(CrmError::NotFound(_)) if !contact.is_new() => {
                self.contacts.forget(phone).await;
                contact = self
                    .contacts
                    .find_or_create(phone, owner_of_new, deadline)
                    .await?;
                let mut activity = call_activity(event, &contact, manager, system_user, language);
                activity.recheck = attempt.recheck;
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
}

/// "Call processed by AI": the summary and the other AI fields as a comment on the client's
/// contact; nothing at all when the analysis is empty.
pub struct AnalysisNotes {
    pub contacts: Arc<ContactResolver>,
    pub owners: Arc<Owners>,
    pub crm: Arc<dyn Crm>,
    pub language: Language,
}

#[async_trait]
impl EventHandler for AnalysisNotes {
    async fn handle(
        &self,
        event: &CallEvent,
        attempt: Attempt,
        deadline: Deadline,
    ) -> Result<Outcome, CrmError> {
        if event.analysis.is_empty() {
            return Ok(Outcome::new(OutcomeKind::NoAnalysis, event));
        }
        let contact = self
            .contacts
            .find_or_create(&event.client_phone, &self.owners.system_user, deadline)
            .await?;
        let (title, text) = analysis_note(event, self.language);
        let note = NewNote {
            contact_id: contact.contact().id.clone(),
            call_id: event.call_id.clone(),
            title,
            text,
            recheck: attempt.recheck,
        };
        self.crm.add_note(&note, deadline).await?;
        Ok(Outcome::new(OutcomeKind::AnalysisAdded, event).with_contact(&contact))
    }
}

/// Title and text of the AI comment: every AI field that is present, labelled.
fn analysis_note(event: &CallEvent, language: Language) -> (String, String) {
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
