//! Every name under which a Ringostat value has been seen, canonical name first.
//!
//! The canonical names are those of the `calls/list` export, which Webhooks 2.0 mirrors; the
//! aliases come from real receivers (see the reference notes) and from the NetHunt seed
//! (`callerId`, `source`, `medium`, `campaign`, `keyword`). Keys are compared after
//! [`super::payload::normalise_key`], so `caller_id`, `callerId` and `Caller-ID` are one name.

/// One logical field: the canonical name (used in error messages) and every accepted key.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub canonical: &'static str,
    pub keys: &'static [&'static str],
}

macro_rules! field {
    ($name:ident, $($key:literal),+) => {
        pub const $name: Field = Field { canonical: first!($($key),+), keys: &[$($key),+] };
    };
}
macro_rules! first {
    ($head:literal $(, $tail:literal)*) => {
        $head
    };
}

field!(CALL_ID, "uniqueid", "call_id", "cdr_id");
field!(CALL_DATE, "calldate", "call_date", "date");
// `userfield`: the client's number under the names the current cabinet suggests (reference §0,
// §1.4 c).
field!(CALLER, "caller", "callerId", "phone", "userfield");
field!(DESTINATION, "dst", "callee", "destination");
field!(CALL_TYPE, "call_type", "type");
field!(DISPOSITION, "disposition", "call_status", "status");
field!(DURATION, "duration", "call_duration");
field!(TALK_TIME, "billsec", "dialog", "talk_time");
field!(WAIT_TIME, "waittime", "waiting");
field!(
    RECORDING,
    "recording",
    "recording_wav",
    "record",
    "call_recording"
);
field!(HAS_RECORDING, "has_recording");
field!(CALL_CARD, "call_card", "call_card_link");
field!(EMPLOYEE_NUMBER, "employee_number", "staffid", "employee_id");
field!(EMPLOYEE_NAME, "employee_fio", "employee");
field!(EMPLOYEE_EMAIL, "employee_email");
field!(CONNECTED_WITH, "connected_with");
field!(DEPARTMENT, "department");
field!(POOL_NAME, "pool_name");
field!(UTM_SOURCE, "utm_source", "source");
field!(UTM_MEDIUM, "utm_medium", "medium");
field!(UTM_CAMPAIGN, "utm_campaign", "campaign");
field!(UTM_TERM, "utm_term", "keyword", "utm_keyword");
field!(UTM_CONTENT, "utm_content");
field!(CLIENT_ID, "client_id");
field!(LANDING, "landing");
// "Call processed by AI" (help article 9281387); key names are the integrator's choice.
field!(AI_SUMMARY, "summary", "brief_summary", "ai_summary");
field!(AI_CLIENT_MOOD, "client_mood", "customer_mood");
field!(AI_EMPLOYEE_MOOD, "employee_mood", "manager_mood");
field!(AI_OVERALL_MOOD, "overall_mood", "mood");
field!(AI_RECOMMENDATIONS, "recommendations", "recommended_actions");
field!(
    AI_TRANSCRIPT,
    "vtt_url",
    "vtt",
    "transcript",
    "transcription"
);
