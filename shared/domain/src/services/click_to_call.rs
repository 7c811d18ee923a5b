//! Click-to-call: a CRM button asks Ringostat to connect a manager with a client.

use std::sync::Arc;

use crate::deadline::Deadline;
use crate::phone::PhoneNumber;
use crate::ports::ringostat::{Dialer, RingostatApiError};
use crate::staff::Staff;

pub struct ClickToCall {
    pub staff: Staff,
    /// Project number to call from when the manager has no `extension` of their own.
    pub default_extension: Option<PhoneNumber>,
    /// `None`: no Ringostat API key configured.
    pub dialer: Option<Arc<dyn Dialer>>,
}

/// A call Ringostat accepted to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calling {
    /// The manager's CRM user id.
    pub manager: String,
    pub phone: PhoneNumber,
}

#[derive(Debug, thiserror::Error)]
pub enum ClickToCallError {
    #[error(
        "this manager is not in the staff list (STAFF): add their CRM user id, e-mail and SIP login"
    )]
    UnknownManager,
    #[error(
        "no project number to call from: set the manager's `extension` in STAFF or CLICK_TO_CALL_EXTENSION"
    )]
    NoExtension,
    #[error("click-to-call needs RINGOSTAT_AUTH_KEY")]
    NotConfigured,
    #[error(transparent)]
    Ringostat(#[from] RingostatApiError),
}

impl ClickToCall {
    /// Asks Ringostat to ring the manager (`manager`: CRM user id, e-mail or SIP login) and
    /// then `phone`.
    pub async fn call(
        &self,
        manager: &str,
        phone: PhoneNumber,
        deadline: Deadline,
    ) -> Result<Calling, ClickToCallError> {
        let member = self
            .staff
            .find(manager)
            .ok_or(ClickToCallError::UnknownManager)?;
        let extension = member
            .extension
            .as_ref()
            .or(self.default_extension.as_ref())
            .ok_or(ClickToCallError::NoExtension)?;
        let dialer = self
            .dialer
            .as_ref()
            .ok_or(ClickToCallError::NotConfigured)?;
        dialer
            .outward_call(extension.digits(), phone.digits(), deadline)
            .await?;
        Ok(Calling {
            manager: member.crm_user.id.clone(),
            phone,
        })
    }
}
