//! NetHunt Integration API (`/api/v1/zapier`), as the fake-server contract for NetHunt in
//! `docs/vendor-contracts.md` describes it, quirks included:
//!
//! - Basic auth with the workspace e-mail and API key; anything else is 401.
//! - Only GET and POST (other methods are 405).
//! - find-record is **fuzzy**: the query's value matches any field value that contains it,
//!   case-insensitively, as typed: separators are not normalised, so `0501234567` finds
//!   `0501234567` and `+380501234567` but not `050 123 45 67` (the stricter reading; an adapter
//!   that passes here does not depend on NetHunt normalising them, and
//!   [`NetHuntState::search_ignores_separators`] switches to the lenient one). A search for
//!   `"Телефон":"+380501234567"` therefore also returns `+3805012345678` or
//!   `+380501234567 доб. 12`, which is why the adapter re-checks the number exactly.
//! - [INFERRED] A query's value may be a group of alternatives, NetHunt's advanced-search
//!   style: `"Телефон":("0501234567" OR "123 45 67")` matches a record that contains any of
//!   them. A group that is not closed, or empty, is 400; so is every group when
//!   [`NetHuntState::refuses_grouped_search`] is on (a workspace that does not take it).
//! - "No match" is `[]`, or 404 when [`NetHuntState::not_found_as_404`] is on (both are seen in
//!   the wild).
//! - Error bodies are plain text: NetHunt's error format is undocumented, so the adapter
//!   must treat them as opaque.
//!
//! Choices where the contract is silent ([INFERRED], kept strict so adapter bugs surface):
//! - Field names must exist in the folder (`/triggers/folder-field`); a write naming unknown
//!   ones is 400 `Unknown field(s) in folder "…": "…"` (the wording a live workspace gave for
//!   it). A workspace whose folders and fields have other names than the seeded ones is made
//!   with [`NetHuntState::with_layout`].
//! - Single-value fields (text, person) keep their value on `add` unless the action also says
//!   `overwrite`; that is why writers send `{"overwrite": true, "add": value}`. Multi-value
//!   fields (phone, e-mail, record links) append.
//! - Person values must carry an e-mail (`"Name <email>"` or a bare e-mail).
//! - Records come back newest first; `limit` defaults to 10 and is capped at 100.
//! - The polling triggers `new-record`, `new-comment` and `new-call-log` (`/triggers/…/
//!   {folderId}?since=<ISO UTC>&limit=<n>`) return what was created at or after `since` (all
//!   of it without `since`) on the folder's records, newest first, `limit` 100 by default.
//!   `since` must be UTC (`Z` or `+00:00`, so a raw `+` in the query is a 400); comments and
//!   call logs come in the shape create-comment and create-call-log answer
//!   (`commentId`/`callLogId`, `recordId`, `createdAt`, `text`, and `time`/`duration`).
//!
//! `tests/tests/live_contract.rs` asks a real workspace each [INFERRED] choice the API can show
//! (NH8 substring search and newest first, NH14, NH15 overwrite, NH19/NH27/NH28 trigger and
//! answer shapes, NH31 grouping, NH32 unknown fields) when `LIVE_NETHUNT_*` is set.

mod datetime;
mod handlers;
mod page;
mod search;
mod store;
#[cfg(test)]
mod tests;
mod values;

pub use handlers::{Authorized, routes, set_not_found_404};
pub(crate) use page::cards;
pub use page::html_section;
pub use search::{search_terms, squash};
pub use store::{
    CallLog, Comment, FieldKind, FieldNames, Folder, FolderField, Layout, NetHuntState, Record,
};
pub use values::person_email;

/// Where the API lives on the sandbox, as on `https://nethunt.com`.
pub const API_PREFIX: &str = "/api/v1/zapier";
pub const CONTACTS_FOLDER_ID: &str = "contacts-folder";
pub const DEALS_FOLDER_ID: &str = "deals-folder";

/// Field names of the seeded folders: a Ukrainian workspace set up as the NetHunt seed says.
pub mod fields {
    pub const NAME: &str = "Name";
    pub const PHONE: &str = "Телефон";
    pub const EMAIL: &str = "Email";
    /// The person field of the responsible user ("Manager (or Assignee)" in NetHunt's help).
    pub const MANAGER: &str = "Менеджер";
    pub const SOURCE: &str = "Джерело";
    pub const MEDIUM: &str = "Канал";
    pub const CAMPAIGN: &str = "Кампанія";
    pub const KEYWORD: &str = "Ключове слово";
    pub const STAGE: &str = "Етап";
    /// Deal → contact record-list field.
    pub const CONTACT: &str = "Контакт";
}
