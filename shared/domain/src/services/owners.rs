//! Who is who on a call: the system user, the staff list and the rule for new contacts.

use crate::activity::CrmUser;
use crate::ringostat::{CallEvent, CallStatus, Direction};
use crate::settings::NewContactOwner;
use crate::staff::Staff;

#[derive(Debug, Clone)]
pub struct Owners {
    /// Owner of contacts nobody else owns yet, and stand-in party of calls nobody took.
    pub system_user: CrmUser,
    pub staff: Staff,
    pub new_contact_owner: NewContactOwner,
}

impl Owners {
    /// The CRM user who took (incoming) or made (outgoing) the call.
    pub fn manager_on_call(&self, event: &CallEvent) -> Option<&CrmUser> {
        let took_part =
            event.direction == Direction::Outgoing || event.status() == CallStatus::Answered;
        took_part
            .then(|| self.staff.crm_user_for(&event.employee))
            .flatten()
    }

    /// Who a contact created for this call belongs to.
    pub fn owner_of_new<'a>(&'a self, manager: Option<&'a CrmUser>) -> &'a CrmUser {
        match self.new_contact_owner {
            NewContactOwner::SystemUser => &self.system_user,
            NewContactOwner::AnsweringManager => manager.unwrap_or(&self.system_user),
        }
    }

    pub fn is_system_user(&self, user_id: &str) -> bool {
        user_id.eq_ignore_ascii_case(&self.system_user.id)
    }
}
