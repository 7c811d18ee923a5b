//! What a user would see in either CRM of the sandbox, behind one interface, so a test reads
//! the same for NetHunt and Dataverse.

use bridge_core::ports::CrmKind;
use crm_sandbox::Sandbox;

pub struct CrmView<'a> {
    pub kind: CrmKind,
    pub sandbox: &'a Sandbox,
    /// The Dataverse column of the UTM source (`DATAVERSE_UTM_SOURCE_COLUMN`).
    dataverse_utm_source: String,
}

impl<'a> CrmView<'a> {
    pub fn new(kind: CrmKind, sandbox: &'a Sandbox) -> Self {
        Self {
            kind,
            sandbox,
            dataverse_utm_source: "new_utmsource".into(),
        }
    }

    /// Reads the UTM source from the column the bridge was configured with.
    pub fn with_dataverse_utm_source(mut self, column: &str) -> Self {
        self.dataverse_utm_source = column.to_owned();
        self
    }

    /// Stores a contact with the number as a person typed it; returns its id.
    pub fn seed_contact(&self, phone_as_stored: &str, name: &str, owner_id: &str) -> String {
        let mut state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.seed_contact(phone_as_stored, name, owner_id),
            CrmKind::Dataverse => state
                .dataverse
                .seed_contact(phone_as_stored, name, owner_id),
        }
    }

    pub fn contact_count(&self) -> usize {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.contact_count(),
            CrmKind::Dataverse => state.dataverse.contact_count(),
        }
    }

    pub fn call_count(&self) -> usize {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.call_count(),
            CrmKind::Dataverse => state.dataverse.call_count(),
        }
    }

    /// Every call record on the contact as one text each: subject, then description.
    pub fn call_texts(&self, contact_id: &str) -> Vec<String> {
        self.call_texts_where(Some(contact_id))
    }

    /// Every call record in the CRM, as [`CrmView::call_texts`] writes them.
    pub fn all_call_texts(&self) -> Vec<String> {
        self.call_texts_where(None)
    }

    fn call_texts_where(&self, contact_id: Option<&str>) -> Vec<String> {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state
                .nethunt
                .all_call_logs()
                .iter()
                .filter(|log| contact_id.is_none_or(|id| log.record_id == id))
                .map(|log| log.text.clone())
                .collect(),
            CrmKind::Dataverse => {
                let dataverse = &state.dataverse;
                dataverse
                    .phonecall_ids()
                    .iter()
                    .filter_map(|id| dataverse.phonecall(id))
                    .filter(|call| {
                        contact_id.is_none_or(|id| {
                            call["_regardingobjectid_value"]
                                .as_str()
                                .is_some_and(|r| r.eq_ignore_ascii_case(id))
                        })
                    })
                    .map(|call| {
                        format!(
                            "{}\n{}",
                            call["subject"].as_str().unwrap_or_default(),
                            call["description"].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            }
        }
    }

    pub fn notes_of(&self, contact_id: &str) -> Vec<String> {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.notes_of(contact_id),
            CrmKind::Dataverse => state.dataverse.notes_of(contact_id),
        }
    }

    pub fn deals_of(&self, contact_id: &str) -> Vec<String> {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.deals_of(contact_id),
            CrmKind::Dataverse => state.dataverse.deals_of(contact_id),
        }
    }

    pub fn owner_of(&self, contact_id: &str) -> Option<String> {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.owner_of(contact_id),
            CrmKind::Dataverse => state.dataverse.owner_of(contact_id),
        }
    }

    pub fn deal_owner_of(&self, deal_id: &str) -> Option<String> {
        let state = self.sandbox.state();
        match self.kind {
            CrmKind::NetHunt => state.nethunt.deal_owner_of(deal_id),
            CrmKind::Dataverse => state.dataverse.deal_owner_of(deal_id),
        }
    }

    /// The UTM source as written on the contact (NetHunt: the workspace's source field,
    /// "Джерело" when seeded; Dataverse: column `new_utmsource` or the configured one).
    pub fn utm_source_of(&self, contact_id: &str) -> Option<String> {
        let state = self.sandbox.state();
        let value = match self.kind {
            CrmKind::NetHunt => state
                .nethunt
                .field_of(contact_id, &state.nethunt.layout().fields.source),
            CrmKind::Dataverse => state
                .dataverse
                .contact(contact_id)
                .and_then(|c| c.get(&self.dataverse_utm_source).cloned()),
        };
        value.and_then(|v| v.as_str().map(str::to_owned))
    }

    /// CRM API requests since the last call (the OAuth token endpoint and Ringostat's API
    /// left out), clearing the log.
    pub fn take_crm_requests(&self) -> usize {
        let count = self
            .sandbox
            .requests()
            .iter()
            .filter(|r| {
                !r.path.contains("/oauth2/")
                    && (r.path.starts_with("/api/v1/zapier") || r.path.starts_with("/api/data"))
            })
            .count();
        self.sandbox.clear_requests();
        count
    }
}
