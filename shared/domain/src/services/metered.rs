//! The CRM, counted: every port call is one `CrmRequests` by CRM and operation, its time one
//! `CrmLatency` value, its failure one `CrmErrors` ([`crate::telemetry`]). An operation is a
//! port method, the same word for every CRM, so one dashboard fits both.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::activity::{CallActivity, ContactRef, CrmUser};
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::crm::{Crm, CrmError, CrmKind, DealRef, LoggedCall, NewDeal, NewNote};
use crate::ringostat::Utm;
use crate::telemetry;

/// A CRM whose calls are counted and timed.
pub struct MeteredCrm(pub Arc<dyn Crm>);

impl MeteredCrm {
    async fn measure<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, CrmError>>,
    ) -> Result<T, CrmError> {
        let started = Instant::now();
        let result = call.await;
        telemetry::crm_request(
            self.0.kind().as_str(),
            operation,
            started.elapsed(),
            result.is_ok(),
        );
        result
    }
}

#[async_trait]
impl Crm for MeteredCrm {
    fn kind(&self) -> CrmKind {
        self.0.kind()
    }

    // Not a CRM operation of a call: not counted.
    async fn prepare(&self, deadline: Deadline) {
        self.0.prepare(deadline).await;
    }

    async fn find_contact(
        &self,
        phone: &PhoneNumber,
        deadline: Deadline,
    ) -> Result<Option<ContactRef>, CrmError> {
        self.measure("find_contact", self.0.find_contact(phone, deadline))
            .await
    }

    async fn create_contact(
        &self,
        phone: &PhoneNumber,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<ContactRef, CrmError> {
        self.measure(
            "create_contact",
            self.0.create_contact(phone, owner, deadline),
        )
        .await
    }

    async fn set_contact_owner(
        &self,
        contact_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.measure(
            "set_contact_owner",
            self.0.set_contact_owner(contact_id, owner, deadline),
        )
        .await
    }

    async fn set_contact_utm(
        &self,
        contact_id: &str,
        utm: &Utm,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.measure(
            "set_contact_utm",
            self.0.set_contact_utm(contact_id, utm, deadline),
        )
        .await
    }

    async fn log_call(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        self.measure("log_call", self.0.log_call(activity, deadline))
            .await
    }

    async fn add_note(&self, note: &NewNote, deadline: Deadline) -> Result<(), CrmError> {
        self.measure("add_note", self.0.add_note(note, deadline))
            .await
    }

    async fn create_deal(
        &self,
        contact: &ContactRef,
        deal: &NewDeal,
        deadline: Deadline,
    ) -> Result<DealRef, CrmError> {
        self.measure("create_deal", self.0.create_deal(contact, deal, deadline))
            .await
    }

    async fn set_deal_owner(
        &self,
        deal_id: &str,
        owner: &CrmUser,
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        self.measure(
            "set_deal_owner",
            self.0.set_deal_owner(deal_id, owner, deadline),
        )
        .await
    }

    async fn responsible_manager(
        &self,
        contact_id: &str,
        deadline: Deadline,
    ) -> Result<Option<CrmUser>, CrmError> {
        self.measure(
            "responsible_manager",
            self.0.responsible_manager(contact_id, deadline),
        )
        .await
    }

    fn contact_card_url(&self, contact_id: &str) -> String {
        self.0.contact_card_url(contact_id)
    }
}
