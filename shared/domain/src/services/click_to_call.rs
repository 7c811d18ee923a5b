//! Click-to-call: a CRM button asks Ringostat to connect a manager with a client, on the
//! company's bill. So nothing dials on a link alone:
//!
//! 1. The manager is known from a credential the bridge signed: the browser credential a
//!    personal set-up link leaves ([`ClickToCall::enrol`], [`ClickToCall::device_manager`]),
//!    or a call link signed by an integration that holds the key
//!    ([`ClickToCall::call_link`]). The CRM's button carries only the client's number.
//! 2. [`ClickToCall::confirm`] checks the destination ([`DestinationPolicy`]) and answers what
//!    the confirmation page shows, with a short-lived signed token binding manager, number and
//!    expiry.
//! 3. Only [`ClickToCall::dial`] with that token calls Ringostat: once per token, within the
//!    per-manager and per-deployment limits.
//!
//! The threat model (what this does and does not prevent) is in the setup guides, section 4.

pub mod links;
pub mod policy;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::Clock;
use crate::deadline::Deadline;
use crate::phone::{PhoneError, PhoneNumber};
use crate::ports::rate_limit::{Admission, RateLimitError, RateLimiter, keys};
use crate::ports::ringostat::{Dialer, RingostatApiError};
use crate::ringostat::fields::MAX_PHONE_CHARS;
use crate::staff::{Staff, StaffMember};

pub use links::{KeyError, LinkError, LinkKey, MIN_KEY_CHARS, Purpose};
pub use policy::{DestinationPolicy, NumberKind, Refusal};

/// How long a confirmation page's button works.
pub const CONFIRMATION_LIFETIME: Duration = Duration::from_secs(120);
/// Longest manager identifier read (an e-mail address is at most 254 characters).
pub const MAX_MANAGER_CHARS: usize = 254;

/// How many calls the bridge starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    pub per_manager: u32,
    pub per_deployment: u32,
    /// The sliding window both limits count in.
    pub window: Duration,
}

impl Default for CallLimits {
    fn default() -> Self {
        Self {
            per_manager: 30,
            per_deployment: 300,
            window: Duration::from_secs(600),
        }
    }
}

pub struct ClickToCall {
    pub staff: Staff,
    /// Project number to call from when the manager has no `extension` of their own.
    pub default_extension: Option<PhoneNumber>,
    /// `None`: no Ringostat API key configured.
    pub dialer: Option<Arc<dyn Dialer>>,
    pub key: LinkKey,
    pub policy: DestinationPolicy,
    pub limits: CallLimits,
    pub limiter: Arc<dyn RateLimiter>,
    pub clock: Arc<dyn Clock>,
    /// How long a browser stays set up after its personal set-up link was used.
    pub device_lifetime: Duration,
}

/// A signed link or token as it travels: the signed fields, the expiry (epoch seconds, as
/// sent) and the signature (hex). A confirmation's nonce keeps its signature (its single-use
/// key) its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub manager: String,
    /// The client's number (a call link: as sent; a confirmation: E.164); empty for set-up
    /// links and browser credentials.
    pub phone: String,
    pub expires_at: String,
    pub signature: String,
    /// A confirmation's own number, so two confirmations of one number in one second are two
    /// (each is spent once); empty for everything else.
    pub nonce: String,
}

/// What the confirmation page shows, and the token its button posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub manager: StaffMember,
    pub phone: PhoneNumber,
    /// The project number Ringostat calls from.
    pub line: PhoneNumber,
    pub token: Signed,
}

/// The credential a set-up leaves in the manager's browser (a cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCredential {
    pub value: String,
    pub lifetime: Duration,
}

/// A call Ringostat accepted to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calling {
    /// The manager's CRM user id.
    pub manager: String,
    pub phone: PhoneNumber,
}

/// Which limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    Manager,
    Deployment,
}

#[derive(Debug, thiserror::Error)]
pub enum ClickToCallError {
    #[error(
        "this browser is not set up for click-to-call: open the personal set-up link your \
         administrator sent you, then click the CRM button again"
    )]
    NotEnrolled,
    #[error(
        "the link is not valid ({0}): use the CRM button or a new link from your administrator"
    )]
    InvalidLink(LinkError),
    #[error("the link has expired: click the CRM button again")]
    Expired,
    #[error("this confirmation was already used: click the CRM button again to call once more")]
    AlreadyUsed,
    #[error("field `{field}` {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error(
        "this manager is not in the staff list (STAFF): add their CRM user id, e-mail and SIP login"
    )]
    UnknownManager,
    #[error("{0}")]
    Refused(Refusal),
    #[error("{} calls in {} minutes reached{}: try again in {} s", .limit, .window.as_secs() / 60, match .scope { LimitScope::Manager => " for this manager", LimitScope::Deployment => " for the whole company" }, .retry_after.as_secs())]
    RateLimited {
        scope: LimitScope,
        limit: u32,
        window: Duration,
        retry_after: Duration,
    },
    #[error("the call limits cannot be checked, so no call is started: {0}")]
    LimiterUnavailable(RateLimitError),
    #[error(
        "no project number to call from: set the manager's `extension` in STAFF or CLICK_TO_CALL_EXTENSION"
    )]
    NoExtension,
    #[error("click-to-call needs RINGOSTAT_AUTH_KEY")]
    NotConfigured,
    #[error(transparent)]
    Ringostat(#[from] RingostatApiError),
}

impl ClickToCallError {
    /// The name of the decision in logs and JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotEnrolled => "not_enrolled",
            Self::InvalidLink(_) => "invalid_link",
            Self::Expired => "link_expired",
            Self::AlreadyUsed => "already_used",
            Self::InvalidField { .. } => "invalid_field",
            Self::UnknownManager => "unknown_manager",
            Self::Refused(_) => "destination_refused",
            Self::RateLimited { .. } => "rate_limited",
            Self::LimiterUnavailable(_) => "limits_unavailable",
            Self::NoExtension => "no_extension",
            Self::NotConfigured => "not_configured",
            Self::Ringostat(_) => "ringostat_error",
        }
    }

    fn from_link(error: LinkError) -> Self {
        match error {
            LinkError::Expired => Self::Expired,
            other => Self::InvalidLink(other),
        }
    }
}

impl ClickToCall {
    /// The manager a personal set-up link names, once its signature and expiry are checked.
    pub fn enrol(&self, link: &Signed) -> Result<&StaffMember, ClickToCallError> {
        let manager = manager_field(&link.manager)?;
        self.verify(Purpose::Enrol, &[manager], link)?;
        self.staff
            .find(manager)
            .ok_or(ClickToCallError::UnknownManager)
    }

    /// The credential that keeps a browser set up for [`Self::device_lifetime`], for the
    /// manager a set-up link named (`manager`: as the link wrote it, so the credential names
    /// whom the staff list finds by that reference).
    pub fn device_credential(&self, manager: &str) -> DeviceCredential {
        let expires_at = self.expiry_in(self.device_lifetime);
        let signature = self.key.sign(Purpose::Device, &[manager], expires_at);
        DeviceCredential {
            value: device::encode(manager, expires_at, &signature),
            lifetime: self.device_lifetime,
        }
    }

    /// The manager a browser credential names; `None` credential: the browser was never set up.
    pub fn device_manager(
        &self,
        credential: Option<&str>,
    ) -> Result<&StaffMember, ClickToCallError> {
        let signed = credential
            .and_then(device::decode)
            .ok_or(ClickToCallError::NotEnrolled)?;
        self.verify(Purpose::Device, &[&signed.manager], &signed)
            .map_err(|error| match error {
                // A credential past its lifetime means: set the browser up again.
                ClickToCallError::Expired => ClickToCallError::NotEnrolled,
                other => other,
            })?;
        self.staff
            .find(&signed.manager)
            .ok_or(ClickToCallError::UnknownManager)
    }

    /// The manager of a call link an integration signed with the key (manager, number as sent,
    /// expiry).
    pub fn call_link(&self, link: &Signed) -> Result<&StaffMember, ClickToCallError> {
        let manager = manager_field(&link.manager)?;
        let phone = phone_field(&link.phone)?;
        self.verify(Purpose::Call, &[manager, phone], link)?;
        self.staff
            .find(manager)
            .ok_or(ClickToCallError::UnknownManager)
    }

    /// What `member`'s confirmation page for `phone` (as the CRM sent it) shows: the number
    /// once the destination policy allows it, the line, and the token of the page's button.
    pub fn confirm(
        &self,
        member: &StaffMember,
        phone: &str,
    ) -> Result<Confirmation, ClickToCallError> {
        let phone = parse_phone(phone)?;
        self.policy
            .check(&phone)
            .map_err(ClickToCallError::Refused)?;
        let line = self.line(member)?.clone();
        let manager = member.crm_user.id.clone();
        let expires_at = self.expiry_in(CONFIRMATION_LIFETIME);
        let nonce = next_nonce(self.clock.now_epoch_ms());
        let signature = self
            .key
            .sign(Purpose::Dial, &[&manager, phone.e164(), &nonce], expires_at);
        Ok(Confirmation {
            manager: member.clone(),
            token: Signed {
                manager,
                phone: phone.e164().to_owned(),
                expires_at: expires_at.to_string(),
                signature,
                nonce,
            },
            phone,
            line,
        })
    }

    /// Starts the call a confirmation `token` names: a genuine, unexpired token, spent once,
    /// for an allowed destination, within the limits. Nothing reaches Ringostat otherwise.
    pub async fn dial(
        &self,
        token: &Signed,
        deadline: Deadline,
    ) -> Result<Calling, ClickToCallError> {
        let manager = manager_field(&token.manager)?;
        let raw_phone = phone_field(&token.phone)?;
        self.verify(Purpose::Dial, &[manager, raw_phone, &token.nonce], token)?;
        let member = self
            .staff
            .find(manager)
            .ok_or(ClickToCallError::UnknownManager)?;
        let phone = parse_phone(raw_phone)?;
        // The policy may have changed since the page was shown.
        self.policy
            .check(&phone)
            .map_err(ClickToCallError::Refused)?;
        let extension = self.line(member)?;
        let dialer = self
            .dialer
            .as_ref()
            .ok_or(ClickToCallError::NotConfigured)?;
        self.spend(token).await?;
        let limits = self.limits;
        let manager_id = member.crm_user.id.as_str();
        for (scope, key, limit) in [
            (
                LimitScope::Manager,
                keys::manager(manager_id),
                limits.per_manager,
            ),
            (
                LimitScope::Deployment,
                keys::deployment(),
                limits.per_deployment,
            ),
        ] {
            match self.limiter.admit(&key, limit, limits.window).await {
                Ok(Admission::Admitted) => {}
                Ok(Admission::Refused { retry_after }) => {
                    return Err(ClickToCallError::RateLimited {
                        scope,
                        limit,
                        window: limits.window,
                        retry_after,
                    });
                }
                Err(error) => return Err(ClickToCallError::LimiterUnavailable(error)),
            }
        }
        dialer
            .outward_call(extension.digits(), phone.digits(), deadline)
            .await?;
        Ok(Calling {
            manager: manager_id.to_owned(),
            phone,
        })
    }

    /// Marks the confirmation used; a second use is refused. The mark lives as long as the
    /// token could still be used.
    async fn spend(&self, token: &Signed) -> Result<(), ClickToCallError> {
        let now = self.clock.now_epoch_secs();
        let left = token
            .expires_at
            .parse::<i64>()
            .unwrap_or(now)
            .saturating_sub(now)
            .max(1);
        let lifetime = Duration::from_secs(u64::try_from(left).unwrap_or(1));
        match self
            .limiter
            .admit(
                &keys::confirmation(&token.signature.to_ascii_lowercase()),
                1,
                lifetime,
            )
            .await
        {
            Ok(Admission::Admitted) => Ok(()),
            Ok(Admission::Refused { .. }) => Err(ClickToCallError::AlreadyUsed),
            Err(error) => Err(ClickToCallError::LimiterUnavailable(error)),
        }
    }

    fn verify(
        &self,
        purpose: Purpose,
        fields: &[&str],
        signed: &Signed,
    ) -> Result<(), ClickToCallError> {
        self.key
            .verify(
                purpose,
                fields,
                &signed.expires_at,
                &signed.signature,
                self.clock.now_epoch_secs(),
            )
            .map_err(ClickToCallError::from_link)
    }

    /// The project number `member`'s calls start from.
    pub fn line<'a>(
        &'a self,
        member: &'a StaffMember,
    ) -> Result<&'a PhoneNumber, ClickToCallError> {
        member
            .extension
            .as_ref()
            .or(self.default_extension.as_ref())
            .ok_or(ClickToCallError::NoExtension)
    }

    fn expiry_in(&self, lifetime: Duration) -> i64 {
        self.clock
            .now_epoch_secs()
            .saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A confirmation's nonce: the time and a per-process counter, unique enough that two
/// confirmations never share one (its secrecy is not needed: the signature covers it).
fn next_nonce(now_ms: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{now_ms:x}{:04x}",
        COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff
    )
}

/// The manager identifier, refused when missing, too long or holding control characters.
fn manager_field(raw: &str) -> Result<&str, ClickToCallError> {
    let raw = raw.trim();
    let reason = if raw.is_empty() {
        "is required: the manager's CRM user id or e-mail".to_owned()
    } else if raw.chars().count() > MAX_MANAGER_CHARS {
        format!("is longer than {MAX_MANAGER_CHARS} characters")
    } else if raw.chars().any(char::is_control) {
        "holds control characters".to_owned()
    } else {
        return Ok(raw);
    };
    Err(ClickToCallError::InvalidField {
        field: "manager",
        reason,
    })
}

/// The client's number as sent, refused before any parsing when missing or too long.
fn phone_field(raw: &str) -> Result<&str, ClickToCallError> {
    let reason = if raw.trim().is_empty() {
        "is required: the client's number".to_owned()
    } else if raw.chars().count() > MAX_PHONE_CHARS {
        format!("is longer than {MAX_PHONE_CHARS} characters")
    } else if raw.chars().any(char::is_control) {
        "holds control characters".to_owned()
    } else {
        return Ok(raw);
    };
    Err(ClickToCallError::InvalidField {
        field: "phone",
        reason,
    })
}

fn parse_phone(raw: &str) -> Result<PhoneNumber, ClickToCallError> {
    let raw = phone_field(raw)?;
    PhoneNumber::parse(raw).map_err(|e| ClickToCallError::InvalidField {
        field: "phone",
        reason: match e {
            PhoneError::Empty => "is empty".to_owned(),
            PhoneError::NotANumber => "is not a phone number (one number per link)".to_owned(),
            PhoneError::Invalid => "is not a valid phone number".to_owned(),
        },
    })
}

/// The browser credential's text: `<manager, percent-encoded>|<expiry>|<signature>`, which
/// holds no character a cookie value may not.
mod device {
    use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

    use super::Signed;

    pub fn encode(manager: &str, expires_at: i64, signature: &str) -> String {
        format!(
            "{}|{expires_at}|{signature}",
            utf8_percent_encode(manager, NON_ALPHANUMERIC)
        )
    }

    pub fn decode(value: &str) -> Option<Signed> {
        let mut parts = value.trim().trim_matches('"').split('|');
        let (manager, expires_at, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Signed {
            manager: percent_decode_str(manager).decode_utf8().ok()?.into_owned(),
            phone: String::new(),
            expires_at: expires_at.to_owned(),
            signature: signature.to_owned(),
            nonce: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_credential_survives_any_manager_id() {
        for manager in [
            "olena@acme.ua",
            "a|b;c d,\"é\"",
            "00000000-0000-0000-0000-000000000001",
        ] {
            let value = device::encode(manager, 1_800_000_000, "ab12");
            assert!(
                value
                    .chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\\')),
                "{value}"
            );
            let decoded = device::decode(&value).unwrap();
            assert_eq!(decoded.manager, manager);
            assert_eq!(decoded.expires_at, "1800000000");
            assert_eq!(decoded.signature, "ab12");
        }
        assert_eq!(device::decode("only|two"), None);
        assert_eq!(device::decode("a|b|c|d"), None);
    }

    #[test]
    fn oversized_fields_are_refused_before_parsing() {
        let long = "0".repeat(MAX_PHONE_CHARS + 1);
        assert!(matches!(
            parse_phone(&long),
            Err(ClickToCallError::InvalidField { field: "phone", reason }) if reason.contains("longer than 64")
        ));
        assert!(matches!(
            manager_field(&"m".repeat(MAX_MANAGER_CHARS + 1)),
            Err(ClickToCallError::InvalidField {
                field: "manager",
                ..
            })
        ));
        assert!(parse_phone("+38 (050) 123-45-67").is_ok());
    }
}
