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

// Input caps. A webhook body is at most 64 KiB (`bridge_lambda::MAX_BODY_BYTES`); these bound
// each value, so one field can neither make parsing expensive nor flood a CRM record.

/// Longest phone value read (the client's number of a call event, smart forwarding's caller,
/// click-to-call's number). A longer value is refused before any parsing, naming the field.
pub const MAX_PHONE_CHARS: usize = 64;
/// Longest short text copied into the CRM or matched against the staff list (names, e-mails,
/// departments, UTM tags, pool names, moods, client ids).
pub const MAX_SHORT_TEXT_CHARS: usize = 256;
/// Longest long text copied into the CRM (the AI summary and recommendations).
pub const MAX_LONG_TEXT_CHARS: usize = 4000;
/// Longest link kept (recordings, call cards, transcripts, landing pages); a longer link is
/// left out, since a cut link leads nowhere.
pub const MAX_LINK_CHARS: usize = 2048;
/// What ends a text that was cut to its cap.
pub const TRUNCATION_MARKER: &str = "… [truncated]";

/// `text` cut to `max` characters, the marker included, when it is longer.
pub fn capped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(TRUNCATION_MARKER.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(TRUNCATION_MARKER);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_to_its_cap_with_the_marker() {
        assert_eq!(capped("short", 10), "short");
        let cut = capped(&"я".repeat(300), MAX_SHORT_TEXT_CHARS);
        assert_eq!(cut.chars().count(), MAX_SHORT_TEXT_CHARS);
        assert!(cut.ends_with(TRUNCATION_MARKER));
        assert!(cut.starts_with("яяя"));
        assert_eq!(capped(&"a".repeat(256), 256), "a".repeat(256));
    }
}
