//! Phone calls: one `phonecall` per Ringostat call under a deterministic `activityid`, closed
//! afterwards in the state the call ended in.

use bridge_domain::activity::{CallActivity, Party};
use bridge_domain::deadline::Deadline;
use bridge_domain::ports::crm::{CrmError, LoggedCall};
use bridge_domain::ringostat::{CallStatus, Direction};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::odata::{contact_gone, error_of, guid, success_json, truncate, user_guid};
use super::web_api::ApiRequest;
use super::{CALL_ID_NAMESPACE, Dataverse, MissedCallState};
use crate::http::Replay;

/// Column lengths of the standard `phonecall` table (`docs/vendor-contracts.md`, "Smart CRM:
/// Microsoft Dataverse Web API and Entra ID", DV18).
const SUBJECT_MAX_CHARS: usize = 200;
const DESCRIPTION_MAX_CHARS: usize = 2000;

/// The `activityid` of the phone call logged for a Ringostat call.
pub fn activity_id(call_id: &str) -> Uuid {
    Uuid::new_v5(&CALL_ID_NAMESPACE, call_id.as_bytes())
}

impl Dataverse {
    /// The state/status the call ends in; `None` leaves it Open.
    fn final_state(&self, activity: &CallActivity) -> Option<(u8, u8)> {
        const RECEIVED: (u8, u8) = (1, 4);
        const MADE: (u8, u8) = (1, 2);
        const CANCELED: (u8, u8) = (2, 3);
        match (activity.status, activity.direction) {
            (CallStatus::Answered, Direction::Incoming) => Some(RECEIVED),
            (CallStatus::Answered, Direction::Outgoing) => Some(MADE),
            (CallStatus::Missed, direction) => match (self.config.missed_call_state, direction) {
                (MissedCallState::Canceled, _)
                | (MissedCallState::CallBack, Direction::Outgoing) => Some(CANCELED),
                (MissedCallState::Open, _) | (MissedCallState::CallBack, Direction::Incoming) => {
                    None
                }
            },
        }
    }

    fn phonecall_body(
        &self,
        activity: &CallActivity,
        id: &str,
        left_open: bool,
    ) -> Result<Value, CrmError> {
        let regarding = guid(&activity.regarding.id, "contact")?;
        let owner = user_guid(&activity.owner)?;
        let mut body = Map::new();
        body.insert("activityid".into(), json!(id));
        body.insert(
            "subject".into(),
            json!(truncate(&activity.subject, SUBJECT_MAX_CHARS)),
        );
        body.insert(
            "description".into(),
            json!(truncate(&activity.description, DESCRIPTION_MAX_CHARS)),
        );
        body.insert("phonenumber".into(), json!(activity.phone_number.e164()));
        // true = Outgoing (public code gets this backwards; `docs/vendor-contracts.md`,
        // "Smart CRM: Microsoft Dataverse Web API and Entra ID", DV18, DV21).
        body.insert(
            "directioncode".into(),
            json!(activity.direction == Direction::Outgoing),
        );
        if let Some(start) = activity.started_at {
            body.insert("actualstart".into(), json!(start.to_string()));
        }
        if let Some(end) = activity.ended_at {
            body.insert("actualend".into(), json!(end.to_string()));
            // Due: for an open call-back to-do, it is overdue from the moment the call ended.
            body.insert("scheduledend".into(), json!(end.to_string()));
        }
        // Whole minutes, rounded up: a 10-second call still took the manager's minute. The
        // exact seconds are in the description.
        body.insert(
            "actualdurationminutes".into(),
            json!(activity.duration_secs.div_ceil(60)),
        );
        if left_open {
            body.insert("prioritycode".into(), json!(2));
        }
        body.insert(
            "regardingobjectid_contact_phonecall@odata.bind".into(),
            json!(format!("/contacts({regarding})")),
        );
        body.insert(
            "ownerid@odata.bind".into(),
            json!(format!("/systemusers({owner})")),
        );
        body.insert(
            "phonecall_activity_parties".into(),
            json!([party_json(&activity.from, 1)?, party_json(&activity.to, 2)?,]),
        );
        Ok(Value::Object(body))
    }

    /// The call's `statecode`, `None` when it does not exist.
    async fn phonecall_state(&self, id: &str, deadline: Deadline) -> Result<Option<i64>, CrmError> {
        let request = ApiRequest::get(format!("phonecalls({id})?$select=statecode"));
        let response = self.execute(&request, deadline).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = success_json(response).await?;
        Ok(body.get("statecode").and_then(Value::as_i64))
    }

    /// Completes or cancels the call. A call found closed already counts as done.
    async fn close_phonecall(
        &self,
        id: &str,
        (state, status): (u8, u8),
        deadline: Deadline,
    ) -> Result<(), CrmError> {
        let request = ApiRequest::update(
            format!("phonecalls({id})"),
            &json!({"statecode": state, "statuscode": status}),
        );
        let response = self.execute(&request, deadline).await?;
        if response.status().is_success() {
            return Ok(());
        }
        let refused = response.status() == StatusCode::BAD_REQUEST;
        let error = error_of(response).await;
        // Closed in the meantime (read-only error): another delivery finished the job.
        if refused && matches!(self.phonecall_state(id, deadline).await, Ok(Some(s)) if s != 0) {
            return Ok(());
        }
        Err(error)
    }

    /// `Crm::log_call`: create the call (idempotent by its `activityid`), then close it.
    pub(super) async fn log_phonecall(
        &self,
        activity: &CallActivity,
        deadline: Deadline,
    ) -> Result<LoggedCall, CrmError> {
        let id = activity_id(&activity.call_id).hyphenated().to_string();
        let final_state = self.final_state(activity);
        let body = self.phonecall_body(activity, &id, final_state.is_none())?;
        // The fixed activityid makes the POST idempotent: retry it like a read.
        let request = ApiRequest::post("phonecalls".into(), &body, Replay::Safe);
        let created = match self.execute(&request, deadline).await {
            Ok(response) if response.status().is_success() => true,
            // 412 0x80040237 "A record with matching key values already exists."
            Ok(response) if response.status() == StatusCode::PRECONDITION_FAILED => false,
            // The contact was deleted since it was found: NotFound, so it is found again.
            Ok(response) => {
                let regarding = guid(&activity.regarding.id, "contact")?;
                return Err(contact_gone(error_of(response).await, &regarding));
            }
            // A duplicate can also come back as a 500 (`docs/vendor-contracts.md`, "Smart CRM:
            // Microsoft Dataverse Web API and Entra ID", DV23), or an earlier attempt
            // may have been written before its answer got lost: look before giving up.
            Err(error) if error.is_transient() => match self.phonecall_state(&id, deadline).await {
                Ok(Some(_)) => false,
                _ => return Err(error),
            },
            Err(error) => return Err(error),
        };
        if let Some(state) = final_state {
            if created {
                self.close_phonecall(&id, state, deadline).await?;
            } else {
                // A retried delivery: close the call only if the earlier one did not get to it.
                match self.phonecall_state(&id, deadline).await? {
                    Some(0) => self.close_phonecall(&id, state, deadline).await?,
                    Some(_) => {}
                    None => {
                        return Err(CrmError::Rejected {
                            status: 412,
                            message: format!(
                                "Dataverse reported phone call {id} as existing, but it cannot be read"
                            ),
                        });
                    }
                }
            }
        }
        tracing::debug!(
            activity_id = %id,
            already_existed = !created,
            phone = %activity.phone_number.masked(),
            "Dataverse phone call logged"
        );
        Ok(LoggedCall {
            id: Some(id),
            already_existed: !created,
        })
    }
}

fn party_json(party: &Party, mask: u8) -> Result<Value, CrmError> {
    Ok(match party {
        Party::Contact(contact) => json!({
            "participationtypemask": mask,
            "partyid_contact@odata.bind": format!("/contacts({})", guid(&contact.id, "contact")?),
        }),
        Party::User(user) => json!({
            "participationtypemask": mask,
            "partyid_systemuser@odata.bind": format!("/systemusers({})", user_guid(user)?),
        }),
    })
}
