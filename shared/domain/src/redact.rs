//! Text that may reach a log: vendor error messages, configuration errors, request echoes. CRMs
//! and Ringostat quote what they were sent (a number in a search, a token in a URL), so every
//! such text passes [`log_text`] before it is logged or answered.

use crate::phone::mask_long_numbers;

/// Words after which a credential follows, compared without case. The value runs to the next
/// space, quote, `&`, `,` or `;`.
const CREDENTIAL_MARKERS: [&str; 9] = [
    "token=",
    "key=",
    "secret=",
    "password=",
    "authorization:",
    "x-bridge-token:",
    "bearer ",
    "basic ",
    "auth-key:",
];

/// What stands in for a removed credential.
pub const REDACTED: &str = "[redacted]";

/// `text` with every run of seven or more digits masked but its last four
/// ([`mask_long_numbers`]) and every credential after a marker (`token=`, `Authorization:`,
/// `Bearer `, …) replaced by [`REDACTED`].
pub fn log_text(text: &str) -> String {
    mask_long_numbers(&without_credentials(text))
}

fn without_credentials(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some((start, marker)) = next_marker(&lower, at) {
        let value_start = start + marker.len();
        // `Authorization: Bearer x`: the scheme word is not the secret; skip spaces first.
        let value_start = value_start + count_spaces(&text[value_start..]);
        if ["basic ", "bearer "]
            .iter()
            .any(|scheme| lower[value_start..].starts_with(scheme))
        {
            // The scheme's own marker removes the credential after it.
            out.push_str(&text[at..value_start]);
            at = value_start;
            continue;
        }
        let value_end = value_start
            + text[value_start..]
                .find(|c: char| c.is_whitespace() || "\"'&,;".contains(c))
                .unwrap_or(text.len() - value_start);
        out.push_str(&text[at..value_start]);
        if value_end > value_start {
            out.push_str(REDACTED);
        }
        at = value_end;
    }
    out.push_str(&text[at..]);
    out
}

/// The first marker at or after `from`: its byte offset and the marker.
fn next_marker(lower: &str, from: usize) -> Option<(usize, &'static str)> {
    CREDENTIAL_MARKERS
        .iter()
        .filter_map(|marker| lower[from..].find(marker).map(|i| (from + i, *marker)))
        .min_by_key(|(i, _)| *i)
}

fn count_spaces(text: &str) -> usize {
    text.len() - text.trim_start_matches(' ').len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_credentials_are_removed_and_the_rest_stays_readable() {
        assert_eq!(
            log_text("GET /find-record?query=%2B380501234567&token=s3cr3t failed: 400"),
            "GET /find-record?query=%2B********4567&token=[redacted] failed: 400"
        );
        assert_eq!(
            log_text("Authorization: Basic Ym9iOnNlY3JldA== was refused"),
            "Authorization: Basic [redacted] was refused"
        );
        assert_eq!(
            log_text(r#"{"authorization":"Bearer xyz","token=":""}"#),
            r#"{"authorization":"Bearer [redacted]","token=":""}"#
        );
        assert_eq!(
            log_text("bearer eyJhbGciOi.x.y expired"),
            "bearer [redacted] expired"
        );
        assert_eq!(log_text("code -32602, id 17"), "code -32602, id 17");
    }
}
