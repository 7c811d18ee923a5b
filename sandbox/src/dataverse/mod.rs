//! Dataverse Web API (`/api/data/v9.2`) and the Entra ID token endpoint, as the fake-server
//! contract for Dataverse in `docs/vendor-contracts.md` describes them, quirks included:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials only; a wrong tenant, client,
//!   secret or a scope without `/.default` is a 400 with Entra's `error`/`error_codes` body.
//!   Tokens are opaque and expire; [`DataverseState::expire_tokens`] revokes them all at once.
//! - Every API route answers 401 (empty body, `WWW-Authenticate`) without a live Bearer token.
//! - The query string is decoded as the real server does it: `%2B` is `+`, but a raw `+` is a
//!   space, so an unencoded `+380…` matches nothing. `$filter` understands `eq`/`ne`, `and`,
//!   `or`, `not`, parentheses and `contains`/`startswith`/`endswith`; strings compare without
//!   case; `''` is a quote inside a literal.
//! - Reads (`$select`, `$filter`, `$orderby`) and writes reject every column the table does not
//!   have, standard or custom, with 400 (`Could not find a property named …` / `Invalid property
//!   …`), unknown `@odata.bind` navigation properties with 400 `0x80060888`, binds to records
//!   that do not exist with 400 `0x80040217` (`contact With Id = … Does Not Exist`), over-long
//!   text with 400. The tenant's custom columns (`<publisher prefix>_<name>`) are its own: the
//!   seed tenant has the UTM columns `new_utmsource` … `new_utmcontent` on contacts, and a test
//!   adds others with [`DataverseState::add_custom_column`].
//! - `statecode`/`statuscode` in a create body are ignored (IsValidForCreate = false); a phone
//!   call is closed by a PATCH with a valid state/status pair, after which it is read-only.
//! - A POST may carry the row's primary key (`contactid`, `annotationid`, `opportunityid`,
//!   `activityid`); the row gets that id. A second create with the same primary key is a 412
//!   `0x80040237` that changes nothing.
//! - PATCH without `If-Match` on a missing record creates it (upsert); with `If-Match: *` it is
//!   a 404 `… With Id = … Does Not Exist`.
//! - `DELETE <set>(<id>)` removes the row: 204 without a body, 404 `0x80040217` when there is
//!   none (what the smoke test and the live suite clean up with; users cannot be deleted).

mod datetime;
mod error;
mod filter;
mod handlers;
mod page;
mod query;
mod represent;
mod schema;
mod store;
#[cfg(test)]
mod tests;
mod token;
mod write;

use axum::Router;
use axum::routing::{any, post};

use crate::AppState;

pub(crate) use page::cards;
pub use page::html_section;
pub use store::{DataverseState, SchemaError};

/// The Web API root under the environment URL.
pub const API_PREFIX: &str = "/api/data/v9.2";

/// The application user the bridge's Entra app acts as: the seed's "system user".
pub const SYSTEM_USER_ID: &str = "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c1";
pub const SYSTEM_USER_NAME: &str = "# Ringostat Bridge";
pub const SYSTEM_USER_EMAIL: &str = "ringostat-bridge@smart-crm.example";
/// A sales manager with a licence.
pub const MANAGER_USER_ID: &str = "5a0c1e2d-3b4f-4a5e-8c6d-7e8f90a1b2c2";
/// As the events and the local staff list (`STAFF`) name her.
pub const MANAGER_NAME: &str = "Олена Коваленко";
pub const MANAGER_EMAIL: &str = "olena.kovalenko@smart-crm.example";

/// Entra's usual lifetime of an app-only token.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3599;

/// The message Dataverse gives for a duplicate primary key (microsoft/coe-starter-kit#1334).
pub const DUPLICATE_KEY_MESSAGE: &str = "A record with matching key values already exists.";
/// What Dataverse says on an update of a completed or canceled activity.
pub const CLOSED_ACTIVITY_MESSAGE: &str = "Cannot update Closed or Cancelled Activity";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/api/data/v9.2/{resource}", any(handlers::api))
}
