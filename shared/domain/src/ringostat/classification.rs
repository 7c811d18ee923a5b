//! How Ringostat classifies a call: direction, call type, disposition, and the answered /
//! missed status CRMs record.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Ringostat's `call_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallType {
    In,
    Out,
    /// A callback ordered on the website: Ringostat counts it as incoming.
    Callback,
    TransitIn,
    TransitOut,
    Other(String),
}

impl CallType {
    pub fn parse(raw: &str) -> Self {
        match normalise_word(raw).as_str() {
            "IN" | "INCOMING" | "INBOUND" => Self::In,
            "OUT" | "OUTGOING" | "OUTBOUND" => Self::Out,
            "CALLBACK" => Self::Callback,
            "TRANSITIN" | "TRANSIT IN" => Self::TransitIn,
            "TRANSITOUT" | "TRANSIT OUT" => Self::TransitOut,
            _ => Self::Other(raw.trim().to_owned()),
        }
    }

    pub fn direction(&self) -> Option<Direction> {
        match self {
            Self::In | Self::Callback | Self::TransitIn => Some(Direction::Incoming),
            Self::Out | Self::TransitOut => Some(Direction::Outgoing),
            Self::Other(_) => None,
        }
    }
}

/// Ringostat's `disposition` (call status), after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Answered,
    /// A target ("proper") answered call.
    Proper,
    /// A repeated answered call within the sale cycle.
    Repeated,
    NoAnswer,
    Busy,
    Failed,
    Voicemail,
    NoForward,
    NoExtension,
    WrongExtension,
    ClientNoAnswer,
    FailedForbiddenDestination,
    /// The call is still running (seen in exports, never final).
    InProgress,
    Calling,
    /// A status this version does not know, kept as sent (normalised).
    Other(String),
}

impl Disposition {
    /// Accepts `NO ANSWER`, `no_answer`, `No-Answer`, `NO+ANSWER` and `NO%20ANSWER` alike.
    pub fn parse(raw: &str) -> Self {
        let word = normalise_word(raw);
        match word.as_str() {
            "ANSWERED" | "ANSWER" => Self::Answered,
            "PROPER" => Self::Proper,
            "REPEATED" | "REPEAT" => Self::Repeated,
            "NO ANSWER" | "NOANSWER" | "MISSED" => Self::NoAnswer,
            "BUSY" => Self::Busy,
            "FAILED" => Self::Failed,
            "VOICEMAIL" | "VOICE MAIL" => Self::Voicemail,
            "NO FORWARD" => Self::NoForward,
            "NO EXTENSION" => Self::NoExtension,
            "WRONG EXTENSION" => Self::WrongExtension,
            "CLIENT NO ANSWER" => Self::ClientNoAnswer,
            "FAILED FORBIDDEN DESTINATION" => Self::FailedForbiddenDestination,
            "IN PROGRESS" => Self::InProgress,
            "CALLING" => Self::Calling,
            _ => Self::Other(word),
        }
    }

    pub fn is_answered(&self) -> bool {
        matches!(self, Self::Answered | Self::Proper | Self::Repeated)
    }

    /// Calls still running: not final, must not be logged yet.
    pub fn is_in_progress(&self) -> bool {
        matches!(self, Self::InProgress | Self::Calling)
    }

    /// The machine string, as Ringostat writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Answered => "ANSWERED",
            Self::Proper => "PROPER",
            Self::Repeated => "REPEATED",
            Self::NoAnswer => "NO ANSWER",
            Self::Busy => "BUSY",
            Self::Failed => "FAILED",
            Self::Voicemail => "VOICEMAIL",
            Self::NoForward => "NO FORWARD",
            Self::NoExtension => "NO EXTENSION",
            Self::WrongExtension => "WRONG EXTENSION",
            Self::ClientNoAnswer => "CLIENT NO ANSWER",
            Self::FailedForbiddenDestination => "FAILED FORBIDDEN DESTINATION",
            Self::InProgress => "IN PROGRESS",
            Self::Calling => "CALLING",
            Self::Other(word) => word,
        }
    }
}

/// The outcome that CRMs record: the client and a manager talked, or they did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Answered,
    Missed,
}

/// Upper-case, percent-decoded, with `+`, `_` and `-` read as spaces and runs of spaces folded.
pub(crate) fn normalise_word(raw: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    decoded
        .replace(['+', '_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}
