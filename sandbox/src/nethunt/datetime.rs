//! Timestamps as NetHunt writes them, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// `2024-05-01T10:00:00Z` or with fractions / `+00:00`: a date-time in UTC.
pub(super) fn is_iso_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes.get(4) == Some(&b'-')
        && bytes.get(10) == Some(&b'T')
        && (text.ends_with('Z') || text.ends_with("+00:00"))
}

/// Now as NetHunt writes `createdAt`: `2024-05-01T10:00:00.000Z`.
pub(super) fn now_iso() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso_from_unix_millis(i64::try_from(now.as_millis()).unwrap_or(i64::MAX))
}

pub(super) fn iso_from_unix_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let (days, in_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        millis.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm),
/// so the sandbox needs no date crate.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
