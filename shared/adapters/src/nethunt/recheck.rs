//! Checks where NetHunt has no fence of its own (no client-supplied ids, no uniqueness): before
//! writing again after an ambiguous failure, look for the earlier write (call logs and comments
//! through the polling triggers, deals through find-record); after creating a contact, look
//! for other contacts with the number (`docs/vendor-contracts.md`, "NetHunt CRM Integration
//! API", NH22, NH28, NH29, NH30).
//!
//! Each check costs requests only when it is needed: a recheck (`recheck: true` on the call,
//! note or deal) or a contact just created.

use bridge_domain::activity::ContactRef;
use bridge_domain::deadline::Deadline;
use bridge_domain::phone::PhoneNumber;
use bridge_domain::ports::crm::CrmError;
use bridge_domain::ports::ledger::AMBIGUITY_MEMORY;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::NetHunt;
use super::call_log::iso_utc;
use super::records::{created_at, field_value, record_id_of, texts};

/// One page of a polling trigger; a full page with no match is read again this wide, once
/// (`docs/vendor-contracts.md`, NH28: newest first, so older items only fit a wider page).
const TRIGGER_PAGES: [usize; 2] = [100, 1000];

/// How far before the call's start a call log of it is looked for: clocks differ.
const CLOCK_SLACK: SignedDuration = SignedDuration::from_mins(10);

/// Deals find-record may return for one name: generic deal names are shared by many deals.
const DEAL_FIND_LIMIT: usize = 100;

/// A record's timeline, as the polling triggers list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timeline {
    CallLogs,
    Comments,
}

impl Timeline {
    fn trigger(self) -> &'static str {
        match self {
            Self::CallLogs => "triggers/new-call-log",
            Self::Comments => "triggers/new-comment",
        }
    }

    /// The item's id key in the trigger's answer (the create answer's; `id` as a fallback).
    fn id_keys(self) -> [&'static str; 2] {
        match self {
            Self::CallLogs => ["callLogId", "id"],
            Self::Comments => ["commentId", "id"],
        }
    }
}

/// What an earlier write is recognised by: the text's `Ringostat ID: <call id>` line, or the
/// whole text when it carries none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mark<'a> {
    Call(&'a str),
    Text(&'a str),
}

impl<'a> Mark<'a> {
    /// The mark of a write of `text` for the Ringostat call `call_id`.
    pub(super) fn of(call_id: &'a str, text: &'a str) -> Self {
        if !call_id.trim().is_empty() && mentions_call(text, call_id) {
            Self::Call(call_id)
        } else {
            Self::Text(text)
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Self::Call(call_id) => mentions_call(text, call_id),
            Self::Text(own) => text.trim() == own.trim(),
        }
    }
}

/// Whether `text` holds `Ringostat ID: <call_id>` with nothing of a longer id after it
/// (`1712316600.1` is not `1712316600.12`).
pub(super) fn mentions_call(text: &str, call_id: &str) -> bool {
    let marker = format!("Ringostat ID: {call_id}");
    text.match_indices(&marker).any(|(at, _)| {
        text[at + marker.len()..]
            .chars()
            .next()
            .is_none_or(|next| !(next.is_alphanumeric() || matches!(next, '_' | '-' | '.')))
    })
}

/// Whether a trigger item is the earlier write: on `record_id`, with the mark.
pub(super) fn is_earlier_write(item: &Value, record_id: &str, mark: &Mark<'_>) -> bool {
    item.get("recordId").and_then(Value::as_str) == Some(record_id)
        && item
            .get("text")
            .and_then(Value::as_str)
            .is_some_and(|text| mark.matches(text))
}

/// Where a trigger read for a call that started at `started` begins: 10 minutes before the
/// start (never after now); without a start, as far back as a recheck can come.
pub(super) fn since_for(started: Option<Timestamp>, now: Timestamp) -> Timestamp {
    let from = started.map_or_else(
        || {
            let memory = SignedDuration::try_from(AMBIGUITY_MEMORY).unwrap_or(SignedDuration::MAX);
            now.checked_sub(memory).unwrap_or(Timestamp::MIN)
        },
        |started| started.min(now),
    );
    from.checked_sub(CLOCK_SLACK).unwrap_or(Timestamp::MIN)
}

/// The oldest record: earliest `createdAt`, then the lower id (NetHunt's ids grow with time);
/// by id alone when a record has no readable `createdAt`.
pub(super) fn oldest(records: &[Value]) -> Option<&Value> {
    let dated = records.iter().all(|r| created_at(r).is_some());
    records
        .iter()
        .filter(|r| record_id_of(r).is_some())
        .min_by(|a, b| {
            let by_id = record_id_of(a).cmp(&record_id_of(b));
            if dated {
                created_at(a).cmp(&created_at(b)).then(by_id)
            } else {
                by_id
            }
        })
}

impl NetHunt {
    /// The earlier write on `record_id`'s timeline marked by `mark`, created since `since`:
    /// `Some(id)` when found (the id when the answer carries one). A trigger the workspace
    /// refuses (404, 400) does not stop the write: the log says so, and it is written as
    /// before the check; transient failures are returned, to be retried.
    pub(super) async fn find_earlier_write(
        &self,
        timeline: Timeline,
        record_id: &str,
        mark: &Mark<'_>,
        since: Timestamp,
        deadline: Deadline,
    ) -> Result<Option<Option<String>>, CrmError> {
        let since = iso_utc(since);
        for limit in TRIGGER_PAGES {
            let limit_text = limit.to_string();
            let url = self.url(
                timeline.trigger(),
                &self.config.contacts_folder_id,
                &[("since", &since), ("limit", &limit_text)],
            );
            let items = match self
                .get_list(timeline.trigger(), &url, false, deadline)
                .await
            {
                Ok(items) => items,
                Err(error) if error.is_transient() || matches!(error, CrmError::Auth(_)) => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::warn!(%error, ?timeline, "NetHunt recheck not possible; writing again");
                    return Ok(None);
                }
            };
            if let Some(item) = items
                .iter()
                .find(|item| is_earlier_write(item, record_id, mark))
            {
                let id = timeline
                    .id_keys()
                    .iter()
                    .find_map(|key| item.get(*key).and_then(|id| texts(id).into_iter().next()));
                return Ok(Some(id));
            }
            if items.len() < limit {
                return Ok(None);
            }
        }
        tracing::warn!(
            ?timeline,
            "NetHunt recheck: more items since the call than one wide page holds; an earlier write beyond them is not seen"
        );
        Ok(None)
    }

    /// The deal of `contact_id` named `name` in `folder_id`, if one exists: find-record by the
    /// name, then the deal whose contact link holds the contact (the oldest of several).
    pub(super) async fn find_deal_of(
        &self,
        folder_id: &str,
        contact_id: &str,
        name: &str,
        deadline: Deadline,
    ) -> Result<Option<String>, CrmError> {
        let fields = &self.config.fields;
        let query = format!("\"{}\":\"{}\"", fields.deal_name, name.replace('"', " "));
        let limit = DEAL_FIND_LIMIT.to_string();
        let records = match self
            .find_records_in(folder_id, &[("query", &query), ("limit", &limit)], deadline)
            .await
        {
            Ok(records) => records,
            Err(error) if error.is_transient() || matches!(error, CrmError::Auth(_)) => {
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(%error, "NetHunt deal recheck not possible; creating again");
                return Ok(None);
            }
        };
        let linked: Vec<Value> = records
            .into_iter()
            .filter(|deal| {
                field_value(deal, &fields.deal_contact)
                    .is_some_and(|link| texts(link).iter().any(|id| id == contact_id))
            })
            .collect();
        Ok(oldest(&linked).and_then(record_id_of).map(str::to_owned))
    }

    /// After creating `created`: the number's contacts once more. One alone is the new one;
    /// of several (another creator raced this one), the oldest is the contact, for every
    /// creator alike. A failed search keeps the new contact.
    pub(super) async fn oldest_contact_after_create(
        &self,
        phone: &PhoneNumber,
        created: ContactRef,
        deadline: Deadline,
    ) -> ContactRef {
        let records = match self.exact_contacts(phone, deadline).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, phone = %phone.masked(), "NetHunt duplicate check after create failed; keeping the new contact");
                return created;
            }
        };
        // Not listed yet (a search index behind the write): it is the newest, unless an id
        // says otherwise.
        let listed = records
            .iter()
            .any(|r| record_id_of(r) == Some(created.id.as_str()));
        let kept = if listed {
            oldest(&records)
        } else {
            records
                .iter()
                .filter(|r| record_id_of(r).is_some_and(|id| id < created.id.as_str()))
                .min_by_key(|r| record_id_of(r))
        };
        let kept_id = kept.and_then(record_id_of).unwrap_or(created.id.as_str());
        let others: Vec<&str> = records
            .iter()
            .filter_map(record_id_of)
            .chain(std::iter::once(created.id.as_str()))
            .filter(|id| *id != kept_id)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if others.is_empty() {
            return created;
        }
        tracing::warn!(
            event = "duplicate_contact",
            phone = %phone.masked(),
            kept_id,
            created_id = %created.id,
            others = %others.join(","),
            "NetHunt holds several contacts with the number; using the oldest"
        );
        match kept.filter(|_| kept_id != created.id) {
            Some(kept) => self.contact_ref(kept).unwrap_or(created),
            None => created,
        }
    }
}
