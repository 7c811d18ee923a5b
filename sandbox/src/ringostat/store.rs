//! What the bridge sent to Ringostat, the call log tests seed, and the secrets of the fake
//! extension.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use crate::SandboxState;

/// What the bridge sent to Ringostat, and the secrets seeded for the extension.
#[derive(Debug, Default)]
pub struct RingostatState {
    /// Synced contacts by key (`externalId`, else `lead:<leadId>`), in first-sync order.
    pub(super) contacts: Vec<(String, Value)>,
    /// Accepted click-to-call requests: (extension, destination).
    pub(super) outward_calls: Vec<(String, String)>,
    /// When each of `outward_calls` came, for the page's timelines.
    pub(super) outward_call_times: Vec<Timestamp>,
    /// Every contact of every sync as received, oldest first: (when, key, contact).
    pub(super) sync_log: Vec<(Timestamp, String, Value)>,
    pub(super) parameters: BTreeMap<String, String>,
    pub(super) secrets: BTreeMap<String, String>,
    /// The call log `calls/list` serves, as seeded.
    pub(super) call_log: Vec<Value>,
    /// Calls per `calls/list` answer; `None` for [`CALLS_LIST_LIMIT`](super::CALLS_LIST_LIMIT).
    pub(super) calls_list_limit: Option<usize>,
    /// While set, `calls/list` answers HTTP 200 with this error.
    pub(super) calls_list_error: Option<String>,
    /// The decoded query of every `calls/list` request that reached the route, oldest first.
    pub(super) calls_list_requests: Vec<BTreeMap<String, String>>,
}

impl RingostatState {
    /// Every synced contact as last sent, in first-sync order.
    pub fn synced_contacts(&self) -> Vec<Value> {
        self.contacts.iter().map(|(_, c)| c.clone()).collect()
    }

    /// The contact last synced under `external_id`.
    pub fn synced_contact(&self, external_id: &str) -> Option<Value> {
        self.contacts
            .iter()
            .find(|(key, _)| key == external_id)
            .map(|(_, c)| c.clone())
    }

    /// Accepted click-to-call requests as (extension, destination), oldest first.
    pub fn outward_calls(&self) -> Vec<(String, String)> {
        self.outward_calls.clone()
    }

    /// Stores an SSM SecureString parameter for the fake extension.
    pub fn seed_parameter(&mut self, name: &str, value: &str) {
        self.parameters.insert(name.to_owned(), value.to_owned());
    }

    /// Stores a Secrets Manager secret (its `SecretString`) for the fake extension.
    pub fn seed_secret(&mut self, id: &str, value: &str) {
        self.secrets.insert(id.to_owned(), value.to_owned());
    }

    /// Adds calls to the log `calls/list` serves: objects with call-log columns as keys and a
    /// `calldate` as `YYYY-MM-DD HH:MM:SS` (the export's `2019-06-02T09:30:47+0300` form is read
    /// too, by its local part). Rows without a readable `calldate` are never served.
    pub fn seed_call_log(&mut self, rows: Vec<Value>) {
        self.call_log.extend(rows);
    }

    /// Sets how many calls one `calls/list` answer carries at most (default 6 500).
    pub fn set_calls_list_limit(&mut self, limit: usize) {
        self.calls_list_limit = Some(limit);
    }

    /// Makes `calls/list` answer HTTP 200 with `{"error":{"code":"export_failed","message":…}}`
    /// (the JSON-RPC habit) until cleared with `None`.
    pub fn set_calls_list_error(&mut self, message: Option<&str>) {
        self.calls_list_error = message.map(str::to_owned);
    }

    /// The decoded query parameters of each `calls/list` request that reached the route (401s
    /// and 400s included, injected faults not), oldest first.
    pub fn calls_list_requests(&self) -> Vec<BTreeMap<String, String>> {
        self.calls_list_requests.clone()
    }

    /// Every sync as received, oldest first: (when, key, contact as sent).
    pub fn sync_history(&self) -> &[(Timestamp, String, Value)] {
        &self.sync_log
    }

    /// Accepted click-to-call requests as (when, extension, destination), oldest first.
    pub fn outward_call_history(&self) -> Vec<(Timestamp, &str, &str)> {
        self.outward_call_times
            .iter()
            .zip(&self.outward_calls)
            .map(|(at, (extension, destination))| (*at, extension.as_str(), destination.as_str()))
            .collect()
    }

    pub(super) fn record_outward_call(&mut self, extension: String, destination: String) {
        self.outward_call_times.push(Timestamp::now());
        self.outward_calls.push((extension, destination));
    }

    pub(super) fn upsert(&mut self, key: String, contact: Value) {
        self.sync_log
            .push((Timestamp::now(), key.clone(), contact.clone()));
        match self.contacts.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = contact,
            None => self.contacts.push((key, contact)),
        }
    }
}

impl SandboxState {
    /// Stores an SSM SecureString parameter for the fake secrets extension.
    pub fn seed_parameter(&mut self, name: &str, value: &str) {
        self.ringostat.seed_parameter(name, value);
    }

    /// Stores a Secrets Manager secret for the fake secrets extension.
    pub fn seed_secret(&mut self, id: &str, value: &str) {
        self.ringostat.seed_secret(id, value);
    }

    /// Adds calls to the log Ringostat's `calls/list` serves.
    pub fn seed_call_log(&mut self, rows: Vec<Value>) {
        self.ringostat.seed_call_log(rows);
    }

    /// Sets how many calls one `calls/list` answer carries at most (default 6 500).
    pub fn set_calls_list_limit(&mut self, limit: usize) {
        self.ringostat.set_calls_list_limit(limit);
    }
}
