//! Lambda glue: API Gateway requests in, the domain's services, JSON answers out.
//!
//! Each Lambda binary builds its app (the services it needs, wired by `bridge-core`'s
//! bootstrap) and hands one of these handlers to [`run::http`] (the call webhooks:
//! [`run::call_webhook`]). They authenticate, bound and parse the request, run the service
//! within the time left, log one line per event and answer:
//!
//! | Case | Status | Why |
//! |---|---|---|
//! | done, filtered, no analysis | 200 | Ringostat must not re-send it |
//! | the same event again (a re-send) | 200, the first answer | it took effect once already |
//! | the same event while its first delivery still runs | 409 `in_progress` | Ringostat re-sends it later and then gets the stored answer |
//! | a method the function does not take | 405, `Allow` | checked first (the API routes `ANY`) |
//! | wrong or missing token | 401 | says nothing about what was expected |
//! | body over 64 KiB | 413 | |
//! | unreadable payload, missing or invalid field | 400 | names the field; no re-send can fix it |
//! | CRM throttled or unavailable after the retries | 503, `parked: true` | kept for replay **and** re-sent by Ringostat: whichever lands first wins, the other finds it done |
//! | CRM refused the request, CRM credentials wrong | 502, `parked: true` | kept for replay after the cause is fixed |
//! | bridge misconfigured, authenticated call webhook | 503 `not_configured`, `parked: true` | the raw event waits in the parked-events table for the fixed configuration and the replay (`parked: false` when no `PARKED_TABLE` is readable: only Ringostat's re-sends are left); an unreadable payload is still 400, with the error in `not_configured` |
//! | bridge misconfigured, authenticated smart-forward | 500 `configuration` | names the variable |
//! | click-to-call misconfigured | 401 to everyone | it takes no token, so nobody is authenticated; the log says why |
//! | bridge misconfigured, wrong or missing token (or the tokens themselves unreadable) | 401 | the same answer as always: nothing about the configuration, which is logged in full |
//!
//! With DynamoDB unreachable (or slower than the deadline allows) the event still runs for an
//! existing client (no cache, no idempotency); an event that would create a contact answers 503
//! instead of creating it without its per-number claim. Such failures cannot be parked: the 5xx
//! leaves them with Ringostat's re-sends.
//!
//! The webhook number (`smart-forward`) always answers 200 with a destination or the
//! fallback once authenticated: a ringing call must never wait on an error. Its budget counts
//! from API Gateway's receipt of the request ([`request::arrival_of`]).
//!
//! A direct invocation whose whole event is the keep-warm ping ([`keep_warm`]) is answered
//! `{"warm": true}` without any handler; no request through API Gateway can be one.
//!
//! Click-to-call ([`click_to_call`]) has answers of its own: pages or JSON, 401 for a missing,
//! forged or expired credential, link or confirmation (and for any token), 403 for a refused
//! destination, 409 for a spent confirmation, 429 with `Retry-After` over a limit.

pub mod answer;
pub mod auth;
pub mod call_event;
pub mod click_to_call;
pub mod keep_warm;
pub mod logging;
pub mod metrics;
pub mod request;
pub mod routes;
pub mod run;
pub mod smart_forward;

pub use auth::{MAX_BODY_BYTES, TOKEN_HEADER, TOKEN_PARAMETER};
pub use call_event::{WebhookApp, call_event};
pub use click_to_call::{ClickToCallApp, DEVICE_COOKIE, click_to_call};
pub use routes::{ROUTES, Route, RouteTarget};
pub use smart_forward::{SmartForwardApp, smart_forward};
