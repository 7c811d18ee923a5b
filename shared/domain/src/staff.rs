//! Who is who: the CRM user behind each Ringostat employee, and where to ring them.
//!
//! Neither CRM knows Ringostat employee ids or SIP logins, so the mapping is configuration:
//! a JSON list, one entry per manager.
//!
//! ```json
//! [{"crm_user_id": "olena@acme.ua", "name": "Олена Петренко", "ringostat_employee_id": "111",
//!   "email": "olena@acme.ua", "sip_login": "acmeua_olena", "forward_to": "acmeua_olena"}]
//! ```

use serde::Deserialize;

use crate::activity::CrmUser;
use crate::phone::PhoneNumber;
use crate::ports::cache::ManagerRoute;
use crate::ringostat::Employee;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub crm_user: CrmUser,
    pub ringostat_employee_id: Option<String>,
    pub email: Option<String>,
    pub sip_login: Option<String>,
    /// Where smart forwarding rings this manager.
    pub route: Option<ManagerRoute>,
    /// The project number click-to-call calls from for this manager (its forwarding scheme
    /// rings the manager); the configured default when absent.
    pub extension: Option<PhoneNumber>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staff {
    members: Vec<StaffMember>,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// The text is not JSON at all.
    #[error("the staff list is not valid JSON: {0}")]
    Json(serde_json::Error),
    /// Valid JSON, but not a list of entries.
    #[error("the staff list must be a JSON list ([{{\"crm_user_id\": …}}, …]), not {found}")]
    NotAList { found: &'static str },
    /// An entry with an unknown key, a value of the wrong type, or no `crm_user_id`.
    #[error("staff entry {index}{id}: {reason}", id = named(.id))]
    InvalidEntry {
        index: usize,
        id: Option<String>,
        reason: String,
    },
    #[error("staff entry {index}: `crm_user_id` is empty")]
    EmptyUserId { index: usize },
    #[error("staff entry {index} (`{id}`): `extension` is not a phone number")]
    InvalidExtension { index: usize, id: String },
    #[error("staff entry {index}: CRM user `{id}` is listed twice")]
    Duplicate { index: usize, id: String },
}

impl StaffError {
    /// The entry the error is about (counted from 0); `None` for the whole list.
    pub fn entry(&self) -> Option<usize> {
        match self {
            Self::Json(_) | Self::NotAList { .. } => None,
            Self::InvalidEntry { index, .. }
            | Self::EmptyUserId { index }
            | Self::InvalidExtension { index, .. }
            | Self::Duplicate { index, .. } => Some(*index),
        }
    }
}

fn named(id: &Option<String>) -> String {
    id.as_deref()
        .map(|id| format!(" (`{id}`)"))
        .unwrap_or_default()
}

/// A staff list read entry by entry: the valid entries, and why each other one was dropped.
#[derive(Debug, Default)]
pub struct StaffReading {
    pub staff: Staff,
    /// One error per dropped entry, or one for the whole list (then `staff` is empty).
    pub dropped: Vec<StaffError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    crm_user_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ringostat_employee_id: Option<serde_json::Value>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    sip_login: Option<String>,
    /// A SIP login or a phone number; defaults to the SIP login.
    #[serde(default)]
    forward_to: Option<String>,
    /// A project phone number (Virtual PBX → Connect phone numbers) for click-to-call.
    #[serde(default)]
    extension: Option<String>,
}

impl Staff {
    pub fn new(members: Vec<StaffMember>) -> Self {
        Self { members }
    }

    /// Parses the JSON list (empty text means nobody is mapped); the first invalid entry
    /// refuses the whole list. [`Staff::read`] keeps the valid entries instead.
    pub fn from_json(text: &str) -> Result<Self, StaffError> {
        let reading = Self::read(text);
        match reading.dropped.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(reading.staff),
        }
    }

    /// Parses the JSON list entry by entry: an invalid entry (an unknown key, a wrong type, no
    /// `crm_user_id`, a bad `extension`, a CRM user listed again) is dropped and the others are
    /// kept; text that is not a JSON list maps nobody. Empty text means nobody is mapped.
    pub fn read(text: &str) -> StaffReading {
        if text.trim().is_empty() {
            return StaffReading::default();
        }
        let entries = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Array(entries)) => entries,
            Ok(other) => {
                let found = match other {
                    serde_json::Value::Object(_) => "an object (wrap it in [ ])",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                return StaffReading {
                    staff: Self::default(),
                    dropped: vec![StaffError::NotAList { found }],
                };
            }
            Err(error) => {
                return StaffReading {
                    staff: Self::default(),
                    dropped: vec![StaffError::Json(error)],
                };
            }
        };
        let mut reading = StaffReading::default();
        for (index, entry) in entries.into_iter().enumerate() {
            match member(index, entry, &reading.staff.members) {
                Ok(member) => reading.staff.members.push(member),
                Err(error) => reading.dropped.push(error),
            }
        }
        reading
    }

    pub fn members(&self) -> &[StaffMember] {
        &self.members
    }

    /// The CRM user behind a Ringostat employee: by employee id, then e-mail, then SIP login.
    pub fn crm_user_for(&self, employee: &Employee) -> Option<&CrmUser> {
        let by_id = employee.id.as_deref().and_then(|id| {
            self.members
                .iter()
                .find(|m| m.ringostat_employee_id.as_deref() == Some(id))
        });
        let by_email = || {
            employee.email.as_deref().and_then(|email| {
                self.members.iter().find(|m| {
                    m.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
            })
        };
        let by_sip = || {
            employee.sip_login.as_deref().and_then(|login| {
                self.members
                    .iter()
                    .find(|m| m.sip_login.as_deref() == Some(login))
            })
        };
        by_id.or_else(by_email).or_else(by_sip).map(|m| &m.crm_user)
    }

    /// The member a CRM button names: by CRM user id, e-mail or SIP login.
    pub fn find(&self, reference: &str) -> Option<&StaffMember> {
        let reference = reference.trim();
        self.member(reference).or_else(|| {
            self.members.iter().find(|m| {
                m.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(reference))
                    || m.sip_login.as_deref() == Some(reference)
            })
        })
    }

    /// The member for a CRM user id (compared case-insensitively: NetHunt ids are e-mails).
    pub fn member(&self, crm_user_id: &str) -> Option<&StaffMember> {
        self.members
            .iter()
            .find(|m| m.crm_user.id.eq_ignore_ascii_case(crm_user_id))
    }
}

/// One entry of the list, checked against the entries kept before it.
fn member(
    index: usize,
    entry: serde_json::Value,
    kept: &[StaffMember],
) -> Result<StaffMember, StaffError> {
    let id_of_entry = entry
        .get("crm_user_id")
        .and_then(serde_json::Value::as_str)
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty());
    let entry: RawMember =
        serde_json::from_value(entry).map_err(|error| StaffError::InvalidEntry {
            index,
            id: id_of_entry,
            reason: error.to_string(),
        })?;
    let id = entry.crm_user_id.trim().to_owned();
    if id.is_empty() {
        return Err(StaffError::EmptyUserId { index });
    }
    // Both CRMs' user ids (e-mails, GUIDs) ignore case.
    if kept.iter().any(|m| m.crm_user.id.eq_ignore_ascii_case(&id)) {
        return Err(StaffError::Duplicate { index, id });
    }
    let sip_login = non_empty(entry.sip_login);
    let route = non_empty(entry.forward_to)
        .or_else(|| sip_login.clone())
        .map(|target| match PhoneNumber::parse(&target) {
            Ok(number) => ManagerRoute::Number(number),
            Err(_) => ManagerRoute::SipLogin(target),
        });
    let extension = match non_empty(entry.extension) {
        Some(raw) => Some(
            PhoneNumber::parse(&raw).map_err(|_| StaffError::InvalidExtension {
                index,
                id: id.clone(),
            })?,
        ),
        None => None,
    };
    Ok(StaffMember {
        crm_user: CrmUser {
            id,
            name: non_empty(entry.name),
        },
        ringostat_employee_id: entry.ringostat_employee_id.and_then(|v| match v {
            serde_json::Value::String(s) => non_empty(Some(s)),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        email: non_empty(entry.email),
        sip_login,
        route,
        extension,
    })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAFF: &str = r#"[
        {"crm_user_id": "olena@acme.ua", "name": "Олена", "ringostat_employee_id": 111,
         "email": "olena@acme.ua", "sip_login": "acmeua_olena"},
        {"crm_user_id": "9a1b0000-0000-0000-0000-000000000002", "email": "ivan@acme.ua",
         "forward_to": "+380671112233"}
    ]"#;

    #[test]
    fn employees_map_by_id_then_email_then_sip_login() {
        let staff = Staff::from_json(STAFF).unwrap();
        let by_id = Employee {
            id: Some("111".into()),
            ..Employee::default()
        };
        assert_eq!(staff.crm_user_for(&by_id).unwrap().id, "olena@acme.ua");
        let by_email = Employee {
            email: Some("IVAN@acme.ua".into()),
            ..Employee::default()
        };
        assert_eq!(
            staff.crm_user_for(&by_email).unwrap().id,
            "9a1b0000-0000-0000-0000-000000000002"
        );
        let by_sip = Employee {
            sip_login: Some("acmeua_olena".into()),
            ..Employee::default()
        };
        assert_eq!(staff.crm_user_for(&by_sip).unwrap().id, "olena@acme.ua");
        assert!(staff.crm_user_for(&Employee::default()).is_none());
    }

    #[test]
    fn forwarding_defaults_to_the_sip_login_and_accepts_numbers() {
        let staff = Staff::from_json(STAFF).unwrap();
        assert_eq!(
            staff.member("OLENA@acme.ua").unwrap().route,
            Some(ManagerRoute::SipLogin("acmeua_olena".into()))
        );
        assert_eq!(
            staff
                .member("9a1b0000-0000-0000-0000-000000000002")
                .unwrap()
                .route
                .as_ref()
                .map(ManagerRoute::destination),
            Some("380671112233")
        );
    }

    #[test]
    fn bad_lists_are_refused_with_the_entry_named() {
        assert!(matches!(
            Staff::from_json(r#"[{"crm_user_id": " "}]"#),
            Err(StaffError::EmptyUserId { index: 0 })
        ));
        assert!(matches!(
            Staff::from_json(r#"[{"crm_user_id": "a"}, {"crm_user_id": "a"}]"#),
            Err(StaffError::Duplicate { index: 1, .. })
        ));
        assert!(matches!(
            Staff::from_json(r#"[{"crm_user_id": "a", "sip": "x"}]"#),
            Err(StaffError::InvalidEntry { index: 0, .. })
        ));
        assert!(matches!(
            Staff::from_json(r#"[{"crm_user_id": "a""#),
            Err(StaffError::Json(_))
        ));
        assert!(matches!(
            Staff::from_json(r#"{"crm_user_id": "a"}"#),
            Err(StaffError::NotAList { .. })
        ));
        assert!(Staff::from_json("").unwrap().members().is_empty());
    }

    #[test]
    fn an_extra_key_is_named_as_such_not_as_invalid_json() {
        let error = Staff::from_json(r#"[{"crm_user_id": "a@acme.ua", "sip": "x"}]"#)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("not valid JSON"), "{error}");
        assert!(error.contains("staff entry 0 (`a@acme.ua`)"), "{error}");
        assert!(error.contains("unknown field `sip`"), "{error}");
    }

    #[test]
    fn reading_keeps_the_valid_entries_and_says_why_each_other_was_dropped() {
        let reading = Staff::read(
            r#"[
            {"crm_user_id": "olena@acme.ua", "sip_login": "acmeua_olena"},
            {"crm_user_id": "ivan@acme.ua", "sip": "acmeua_ivan"},
            {"crm_user_id": "petro@acme.ua", "extension": "not a number"},
            {"crm_user_id": "OLENA@acme.ua"},
            {"crm_user_id": " "},
            {"crm_user_id": 7},
            {"crm_user_id": "anna@acme.ua", "ringostat_employee_id": 114}
        ]"#,
        );
        let kept: Vec<_> = reading
            .staff
            .members()
            .iter()
            .map(|m| m.crm_user.id.as_str())
            .collect();
        assert_eq!(kept, ["olena@acme.ua", "anna@acme.ua"]);
        let dropped: Vec<_> = reading.dropped.iter().map(StaffError::entry).collect();
        assert_eq!(dropped, [Some(1), Some(2), Some(3), Some(4), Some(5)]);
        assert!(reading.dropped[0].to_string().contains("(`ivan@acme.ua`)"));
        assert!(reading.dropped[1].to_string().contains("(`petro@acme.ua`)"));
        assert!(
            Staff::read("[1, 2")
                .dropped
                .first()
                .is_some_and(|e| e.to_string().contains("not valid JSON"))
        );
    }
}
