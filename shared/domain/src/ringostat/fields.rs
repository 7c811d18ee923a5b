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

/// `field!(pub NAME, "canonical", "alias", …)`: a [`Field`] constant, the first key canonical.
/// Exported for the other request readers (click-to-call's form fields).
#[macro_export]
macro_rules! field {
    ($vis:vis $name:ident, $($key:literal),+ $(,)?) => {
        $vis const $name: $crate::ringostat::fields::Field = $crate::ringostat::fields::Field {
            canonical: [$($key),+][0],
            keys: &[$($key),+],
        };
    };
}

field!(pub CALL_ID, "uniqueid", "call_id", "cdr_id");
field!(pub CALL_DATE, "calldate", "call_date", "date");
// `userfield`: the client's number under the names the current cabinet suggests (reference §0,
// §1.4 c).
field!(pub CALLER, "caller", "callerId", "phone", "userfield");
field!(pub DESTINATION, "dst", "callee", "destination");
field!(pub CALL_TYPE, "call_type", "type");
field!(pub DISPOSITION, "disposition", "call_status", "status");
field!(pub DURATION, "duration", "call_duration");
field!(pub TALK_TIME, "billsec", "dialog", "talk_time");
field!(pub WAIT_TIME, "waittime", "waiting");
field!(pub
    RECORDING,
    "recording",
    "recording_wav",
    "record",
    "call_recording"
);
field!(pub HAS_RECORDING, "has_recording");
field!(pub CALL_CARD, "call_card", "call_card_link");
field!(pub EMPLOYEE_NUMBER, "employee_number", "staffid", "employee_id");
field!(pub EMPLOYEE_NAME, "employee_fio", "employee");
field!(pub EMPLOYEE_EMAIL, "employee_email");
field!(pub CONNECTED_WITH, "connected_with");
field!(pub DEPARTMENT, "department");
field!(pub POOL_NAME, "pool_name");
field!(pub UTM_SOURCE, "utm_source", "source");
field!(pub UTM_MEDIUM, "utm_medium", "medium");
field!(pub UTM_CAMPAIGN, "utm_campaign", "campaign");
field!(pub UTM_TERM, "utm_term", "keyword", "utm_keyword");
field!(pub UTM_CONTENT, "utm_content");
field!(pub CLIENT_ID, "client_id");
field!(pub LANDING, "landing");
// "Call processed by AI" (help article 9281387); key names are the integrator's choice.
field!(pub AI_SUMMARY, "summary", "brief_summary", "ai_summary");
field!(pub AI_CLIENT_MOOD, "client_mood", "customer_mood");
field!(pub AI_EMPLOYEE_MOOD, "employee_mood", "manager_mood");
field!(pub AI_OVERALL_MOOD, "overall_mood", "mood");
field!(pub AI_RECOMMENDATIONS, "recommendations", "recommended_actions");
field!(pub
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
