//! `CallEvent`: one Ringostat call, normalised, whatever keys and formats the webhook used.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::fields::{self, Field};
use super::payload::{Fields, PayloadError};
use crate::phone::{PhoneError, PhoneNumber};

/// Which Ringostat webhook delivered the event (known from the URL it was sent to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// "Перед дзвінком": an incoming call is ringing.
    BeforeCall,
    /// "Після дзвінка": an incoming call has ended.
    AfterCall,
    /// "Після вихідного дзвінка": an outgoing call has ended.
    AfterOutgoingCall,
    /// "Call processed by AI".
    CallAnalysis,
}

impl EventKind {
    /// The direction a webhook implies when the payload carries no `call_type`.
    pub fn implied_direction(self) -> Direction {
        match self {
            Self::AfterOutgoingCall => Direction::Outgoing,
            Self::BeforeCall | Self::AfterCall | Self::CallAnalysis => Direction::Incoming,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeCall => "before_call",
            Self::AfterCall => "after_call",
            Self::AfterOutgoingCall => "after_outgoing_call",
            Self::CallAnalysis => "call_analysis",
        }
    }
}

use super::classification::normalise_word;
pub use super::classification::{CallStatus, CallType, Direction, Disposition};

/// Seconds, as Ringostat counts them: `total = wait + talk`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durations {
    pub total: Option<u32>,
    pub talk: Option<u32>,
    pub wait: Option<u32>,
}

/// The Ringostat employee on the call (who took it, or who dialled out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Employee {
    /// Ringostat employee id (`employee_number`, the `staffId` of the API).
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    /// SIP login, e.g. `mycompanycom_ivan`, from `"Name" <login>` on outgoing calls.
    pub sip_login: Option<String>,
    /// The number or SIP account that answered (`connected_with`).
    pub connected_with: Option<String>,
    pub department: Option<String>,
}

impl Employee {
    pub fn is_known(&self) -> bool {
        self.id.is_some() || self.email.is_some() || self.sip_login.is_some()
    }
}

/// UTM tags of the visit that led to the call (Ringostat's call tracking).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    /// `utm_term`; NetHunt's seed calls it "keyword".
    pub term: Option<String>,
    pub content: Option<String>,
}

impl Utm {
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.medium.is_none()
            && self.campaign.is_none()
            && self.term.is_none()
            && self.content.is_none()
    }
}

/// What Ringostat's AI said about the call ("Call processed by AI").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AiAnalysis {
    pub summary: Option<String>,
    pub client_mood: Option<String>,
    pub employee_mood: Option<String>,
    pub overall_mood: Option<String>,
    pub recommendations: Option<String>,
    pub transcript_url: Option<String>,
}

impl AiAnalysis {
    pub fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.client_mood.is_none()
            && self.employee_mood.is_none()
            && self.overall_mood.is_none()
            && self.recommendations.is_none()
            && self.transcript_url.is_none()
    }
}

/// One call, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    pub kind: EventKind,
    /// Ringostat's `uniqueid`: the key of every dedup decision.
    pub call_id: String,
    pub direction: Direction,
    pub call_type: Option<CallType>,
    /// The client's number: the caller of an incoming call, the destination of an outgoing one.
    pub client_phone: PhoneNumber,
    /// The company number the client called (tracking line) on incoming calls.
    pub line_phone: Option<PhoneNumber>,
    pub started_at: Option<Timestamp>,
    pub disposition: Option<Disposition>,
    pub durations: Durations,
    pub recording_url: Option<String>,
    pub call_card_url: Option<String>,
    pub employee: Employee,
    pub pool_name: Option<String>,
    pub utm: Utm,
    pub client_id: Option<String>,
    pub landing: Option<String>,
    pub analysis: AiAnalysis,
    /// Optional fields that were present but unusable and so were left out (canonical names).
    pub ignored_fields: Vec<&'static str>,
}

impl CallEvent {
    /// Answered when the status says so, or when anybody talked (`billsec > 0`), because some
    /// configurations send no status or a custom one.
    pub fn status(&self) -> CallStatus {
        let by_status = self
            .disposition
            .as_ref()
            .is_some_and(Disposition::is_answered);
        let by_talk = self.durations.talk.is_some_and(|s| s > 0);
        if by_status || by_talk {
            CallStatus::Answered
        } else {
            CallStatus::Missed
        }
    }

    pub fn is_in_progress(&self) -> bool {
        self.disposition
            .as_ref()
            .is_some_and(Disposition::is_in_progress)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("missing field `{field}` ({hint})")]
    MissingField {
        field: &'static str,
        hint: &'static str,
    },
    #[error("field `{field}` {reason}")]
    InvalidField { field: &'static str, reason: String },
}

impl EventError {
    /// The canonical name of the field at fault, for error bodies.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Payload(_) => None,
            Self::MissingField { field, .. } | Self::InvalidField { field, .. } => Some(field),
        }
    }
}

/// How to read values that the payload leaves open.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Time zone of `calldate` values written without an offset (Ringostat's cabinet time).
    pub time_zone: TimeZone,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            time_zone: TimeZone::get("Europe/Kyiv").unwrap_or(TimeZone::UTC),
        }
    }
}

impl CallEvent {
    /// Parses a webhook request straight into a call.
    pub fn from_request(
        kind: EventKind,
        content_type: Option<&str>,
        body: &[u8],
        query: Option<&str>,
        options: &ParseOptions,
    ) -> Result<Self, EventError> {
        let fields = Fields::from_request(content_type, body, query)?;
        Self::from_fields(kind, &fields, options)
    }

    pub fn from_fields(
        kind: EventKind,
        fields: &Fields,
        options: &ParseOptions,
    ) -> Result<Self, EventError> {
        let mut ignored = Vec::new();

        let call_id = fields
            .get(&fields::CALL_ID)
            .ok_or(EventError::MissingField {
                field: fields::CALL_ID.canonical,
                hint: "Ringostat's call id; also read from `call_id`, `cdr_id`",
            })?
            .to_owned();
        if call_id.len() > 200 || call_id.chars().any(char::is_control) {
            return Err(EventError::InvalidField {
                field: fields::CALL_ID.canonical,
                reason: "is not a Ringostat call id".to_owned(),
            });
        }

        let call_type = fields.get(&fields::CALL_TYPE).map(CallType::parse);
        let direction = call_type
            .as_ref()
            .and_then(CallType::direction)
            .unwrap_or(kind.implied_direction());

        let caller = fields.get(&fields::CALLER).map(SipParty::parse);
        let destination = fields.get(&fields::DESTINATION).map(SipParty::parse);
        let (client_party, client_field, employee_party, line_party) = match direction {
            Direction::Incoming => (caller, fields::CALLER, None, destination),
            Direction::Outgoing => (destination, fields::DESTINATION, caller, None),
        };
        // Refused before any parsing: a number is never this long, and libphonenumber's work
        // grows with its input. (The display name of `"Name" <number>` is free text.)
        if let Some(party) = &client_party
            && party.address.chars().count() > fields::MAX_PHONE_CHARS
        {
            return Err(EventError::InvalidField {
                field: client_field.canonical,
                reason: format!("is longer than {} characters", fields::MAX_PHONE_CHARS),
            });
        }
        let line_party =
            line_party.filter(|p| p.address.chars().count() <= fields::MAX_PHONE_CHARS);
        let client_party = client_party.ok_or(EventError::MissingField {
            field: client_field.canonical,
            hint: match direction {
                Direction::Incoming => {
                    "the client's number on an incoming call; also read from `callerId`, `caller_id`, `phone`, `userfield`"
                }
                Direction::Outgoing => {
                    "the client's number on an outgoing call; also read from `callee`, `destination`"
                }
            },
        })?;
        let client_phone =
            PhoneNumber::parse(&client_party.address).map_err(|e| EventError::InvalidField {
                field: client_field.canonical,
                reason: match e {
                    PhoneError::Empty => "is empty".to_owned(),
                    PhoneError::NotANumber => "is not a phone number".to_owned(),
                    PhoneError::Invalid => "is not a valid phone number".to_owned(),
                },
            })?;
        let line_phone = line_party.and_then(|p| PhoneNumber::parse(&p.address).ok());

        let mut employee = Employee {
            id: fields
                .get(&fields::EMPLOYEE_NUMBER)
                // The export writes -1 (and some setups 0) for "no employee".
                .filter(|id| !matches!(*id, "-1" | "0"))
                .map(str::to_owned),
            name: text(fields, &fields::EMPLOYEE_NAME),
            email: text(fields, &fields::EMPLOYEE_EMAIL),
            sip_login: None,
            connected_with: text(fields, &fields::CONNECTED_WITH),
            department: text(fields, &fields::DEPARTMENT),
        };
        // `<>`: Ringostat named nobody.
        if let Some(party) = employee_party.filter(|p| !p.address.is_empty()) {
            if party.address.chars().count() > fields::MAX_PHONE_CHARS
                || PhoneNumber::parse(&party.address).is_err()
            {
                employee.sip_login =
                    Some(fields::capped(&party.address, fields::MAX_SHORT_TEXT_CHARS));
            } else if employee.connected_with.is_none() {
                employee.connected_with = Some(party.address);
            }
            if employee.name.is_none() {
                employee.name = party
                    .display_name
                    .map(|name| fields::capped(&name, fields::MAX_SHORT_TEXT_CHARS));
            }
        }

        let durations = derive_durations(Durations {
            total: seconds(fields, &fields::DURATION, &mut ignored),
            talk: seconds(fields, &fields::TALK_TIME, &mut ignored),
            wait: seconds(fields, &fields::WAIT_TIME, &mut ignored),
        });

        let started_at = fields.get(&fields::CALL_DATE).and_then(|raw| {
            let parsed = parse_call_date(raw, &options.time_zone);
            if parsed.is_none() {
                ignored.push(fields::CALL_DATE.canonical);
            }
            parsed
        });

        let has_recording = fields
            .get(&fields::HAS_RECORDING)
            .map(|v| !matches!(normalise_word(v).as_str(), "0" | "FALSE" | "NO"))
            .unwrap_or(true);
        let recording_url =
            link(fields, &fields::RECORDING, &mut ignored).filter(|_| has_recording);

        Ok(Self {
            kind,
            call_id,
            direction,
            call_type,
            client_phone,
            line_phone,
            started_at,
            disposition: fields.get(&fields::DISPOSITION).map(Disposition::parse),
            durations,
            recording_url,
            call_card_url: link(fields, &fields::CALL_CARD, &mut ignored),
            employee,
            pool_name: text(fields, &fields::POOL_NAME),
            utm: Utm {
                source: utm(fields, &fields::UTM_SOURCE),
                medium: utm(fields, &fields::UTM_MEDIUM),
                campaign: utm(fields, &fields::UTM_CAMPAIGN),
                term: utm(fields, &fields::UTM_TERM),
                content: utm(fields, &fields::UTM_CONTENT),
            },
            client_id: text(fields, &fields::CLIENT_ID),
            landing: fields
                .get(&fields::LANDING)
                .map(|v| fields::capped(v, fields::MAX_LINK_CHARS)),
            analysis: AiAnalysis {
                summary: long_text(fields, &fields::AI_SUMMARY),
                client_mood: text(fields, &fields::AI_CLIENT_MOOD),
                employee_mood: text(fields, &fields::AI_EMPLOYEE_MOOD),
                overall_mood: text(fields, &fields::AI_OVERALL_MOOD),
                recommendations: long_text(fields, &fields::AI_RECOMMENDATIONS),
                transcript_url: link(fields, &fields::AI_TRANSCRIPT, &mut ignored),
            },
            ignored_fields: ignored,
        })
    }
}

/// `"Name" <login>` (how Ringostat writes SIP parties), or a bare value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipParty {
    pub display_name: Option<String>,
    pub address: String,
}

impl SipParty {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if let (Some(open), true) = (raw.rfind('<'), raw.ends_with('>')) {
            let address = raw[open + 1..raw.len() - 1].trim();
            let address = address.strip_prefix("sip:").unwrap_or(address);
            let address = address.split('@').next().unwrap_or(address).trim();
            let name = raw[..open].trim().trim_matches('"').trim();
            return Self {
                display_name: (!name.is_empty()).then(|| name.to_owned()),
                address: address.to_owned(),
            };
        }
        Self {
            display_name: None,
            address: raw.to_owned(),
        }
    }
}

/// Short free text, cut to [`fields::MAX_SHORT_TEXT_CHARS`] with the truncation marker.
fn text(fields: &Fields, field: &Field) -> Option<String> {
    fields
        .get(field)
        .map(|v| fields::capped(v, fields::MAX_SHORT_TEXT_CHARS))
}

/// Long free text (the AI's), cut to [`fields::MAX_LONG_TEXT_CHARS`] with the marker.
fn long_text(fields: &Fields, field: &Field) -> Option<String> {
    fields
        .get(field)
        .map(|v| fields::capped(v, fields::MAX_LONG_TEXT_CHARS))
}

/// Google Analytics writes `(not set)` for "no value"; it is not a tag.
fn utm(fields: &Fields, field: &Field) -> Option<String> {
    fields
        .get(field)
        .filter(|v| !v.eq_ignore_ascii_case("(not set)"))
        .map(|v| fields::capped(v, fields::MAX_SHORT_TEXT_CHARS))
}

/// A link, left out (and noted) when it is not http(s) or longer than
/// [`fields::MAX_LINK_CHARS`].
fn link(fields: &Fields, field: &Field, ignored: &mut Vec<&'static str>) -> Option<String> {
    let value = fields.get(field)?;
    if (value.starts_with("https://") || value.starts_with("http://"))
        && value.chars().count() <= fields::MAX_LINK_CHARS
    {
        Some(value.to_owned())
    } else {
        ignored.push(field.canonical);
        None
    }
}

/// Whole seconds from `23`, `"23"` or `"23.0"`; anything else is left out and noted.
fn seconds(fields: &Fields, field: &Field, ignored: &mut Vec<&'static str>) -> Option<u32> {
    let raw = fields.get(field)?;
    let parsed = raw.parse::<u32>().ok().or_else(|| {
        raw.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0 && *v < f64::from(u32::MAX))
            // In range and non-negative by the filter above: the cast cannot truncate.
            .map(|v| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = v.round() as u32;
                whole
            })
    });
    if parsed.is_none() {
        ignored.push(field.canonical);
    }
    parsed
}

/// Fills the one missing duration from the other two.
fn derive_durations(mut d: Durations) -> Durations {
    match (d.total, d.talk, d.wait) {
        (None, Some(talk), Some(wait)) => d.total = Some(talk.saturating_add(wait)),
        (Some(total), None, Some(wait)) => d.talk = Some(total.saturating_sub(wait)),
        (Some(total), Some(talk), None) => d.wait = Some(total.saturating_sub(talk)),
        _ => {}
    }
    d
}

/// Ringostat's date format is a per-webhook setting: accept the usual ones. Values without an
/// offset are in the project's time zone.
fn parse_call_date(raw: &str, zone: &TimeZone) -> Option<Timestamp> {
    let raw = raw.trim();
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        let number: i64 = raw.parse().ok()?;
        return match raw.len() {
            9 | 10 => Timestamp::from_second(number).ok(),
            12 | 13 => Timestamp::from_millisecond(number).ok(),
            _ => None,
        };
    }
    if let Ok(ts) = raw.parse::<Timestamp>() {
        return Some(ts);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S %z",
    ] {
        if let Ok(ts) = Timestamp::strptime(format, raw) {
            return Some(ts);
        }
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(civil) = jiff::civil::DateTime::strptime(format, raw) {
            return zone.to_timestamp(civil).ok();
        }
    }
    None
}
