//! Smart Phone's contact book: the caller's CRM name and card link, shown while it rings.

use std::sync::Arc;

use crate::activity::ContactRef;
use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::crm::Crm;
use crate::ports::ringostat::{SmartPhoneContact, SmartPhoneDirectory};

pub struct SmartPhoneSync {
    directory: Arc<dyn SmartPhoneDirectory>,
    /// For the card URL of contacts the CRM gave none.
    crm: Arc<dyn Crm>,
}

impl SmartPhoneSync {
    pub fn new(directory: Arc<dyn SmartPhoneDirectory>, crm: Arc<dyn Crm>) -> Self {
        Self { directory, crm }
    }

    /// Best effort: Smart Phone only shows the name; the call goes on without it.
    pub async fn sync(&self, phone: &PhoneNumber, contact: &ContactRef, deadline: Deadline) {
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
        if let Err(e) = self.directory.sync_contact(&card, deadline).await {
            tracing::warn!(error = %e, "Smart Phone contact sync failed");
        }
    }
}
