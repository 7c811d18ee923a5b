//! The instants `reconcile --from/--to` accept: RFC 3339 (`2026-12-01T08:00:00Z`,
//! `2026-12-01T10:00:00+02:00`), a civil time or a date in the project's time zone
//! (`2026-12-01 08:00`, `2026-12-01`), `now`, `today`, `yesterday` (midnight in the project's
//! time zone), and a time before now (`-2h`, `-90m`, `-1d`, `-1h30m`, `2h ago`).

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// An instant as given on the command line; [`When::resolve`] fixes it against a clock and a
/// time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    At(Timestamp),
    Civil(DateTime),
    Now,
    /// Midnight `days` days before today.
    Midnight {
        days_ago: i64,
    },
    Ago(SignedDuration),
}

pub const FORMS: &str = "an RFC 3339 instant (2026-12-01T08:00:00Z), a time or date in the \
    project's TIME_ZONE (2026-12-01 08:00, 2026-12-01), now, today, yesterday, or a time \
    before now (-2h, -90m, -1d, -1h30m, 2h ago)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhenError(String);

impl fmt::Display for WhenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an instant; use {FORMS}", self.0)
    }
}

impl std::error::Error for WhenError {}

impl FromStr for When {
    type Err = WhenError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let error = || WhenError(trimmed.to_owned());
        match trimmed.to_ascii_lowercase().as_str() {
            "now" => return Ok(Self::Now),
            "today" => return Ok(Self::Midnight { days_ago: 0 }),
            "yesterday" => return Ok(Self::Midnight { days_ago: 1 }),
            _ => {}
        }
        if let Some(span) = trimmed
            .strip_prefix('-')
            .or_else(|| trimmed.strip_suffix(" ago"))
        {
            return duration(span.trim()).map(Self::Ago).ok_or_else(error);
        }
        if let Ok(instant) = trimmed.parse::<Timestamp>() {
            return Ok(Self::At(instant));
        }
        if let Ok(civil) = trimmed.parse::<DateTime>() {
            return Ok(Self::Civil(civil));
        }
        if let Ok(date) = trimmed.parse::<Date>() {
            return Ok(Self::Civil(date.to_datetime(jiff::civil::Time::midnight())));
        }
        Err(error())
    }
}

/// `1h30m`, `90m`, `2d`, `45s`, `1w`: positive whole numbers with units, in any order.
fn duration(text: &str) -> Option<SignedDuration> {
    if text.is_empty() {
        return None;
    }
    let mut total = SignedDuration::ZERO;
    let mut digits = String::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let amount: i64 = digits.parse().ok()?;
        digits.clear();
        let seconds = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(SignedDuration::from_secs(amount.checked_mul(seconds)?))?;
    }
    digits.is_empty().then_some(total)
}

impl When {
    /// The instant, with `now` and `zone` for the forms that need them.
    pub fn resolve(&self, now: Timestamp, zone: &TimeZone) -> Result<Timestamp, jiff::Error> {
        match self {
            Self::At(instant) => Ok(*instant),
            Self::Now => Ok(now),
            Self::Civil(civil) => Ok(civil.to_zoned_datetime(zone.clone())?.timestamp()),
            Self::Midnight { days_ago } => {
                let today = now.to_zoned_datetime(zone.clone()).start_of_day()?;
                let day = today.checked_sub(jiff::Span::new().try_days(*days_ago)?)?;
                Ok(day.start_of_day()?.timestamp())
            }
            Self::Ago(span) => now.checked_sub(*span),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kyiv() -> TimeZone {
        TimeZone::get("Europe/Kyiv").expect("zone")
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("instant")
    }

    #[test]
    fn every_form_resolves() {
        let now = at("2026-12-03T14:30:00Z");
        let zone = kyiv();
        let cases = [
            ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z"),
            ("2026-12-01T10:00:00+02:00", "2026-12-01T08:00:00Z"),
            ("2026-12-01 10:00", "2026-12-01T08:00:00Z"),
            ("2026-12-01", "2026-11-30T22:00:00Z"),
            ("now", "2026-12-03T14:30:00Z"),
            ("today", "2026-12-02T22:00:00Z"),
            ("yesterday", "2026-12-01T22:00:00Z"),
            ("Yesterday", "2026-12-01T22:00:00Z"),
            ("-2h", "2026-12-03T12:30:00Z"),
            ("-90m", "2026-12-03T13:00:00Z"),
            ("-1h30m", "2026-12-03T13:00:00Z"),
            ("-1d", "2026-12-02T14:30:00Z"),
            ("2h ago", "2026-12-03T12:30:00Z"),
        ];
        for (text, expected) in cases {
            let when: When = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                when.resolve(now, &zone).expect(text),
                at(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn nonsense_is_refused_with_the_forms() {
        for text in ["", "-", "-2x", "-h", "2h ago ago", "tomorrowish", "-2h5"] {
            let error = text.parse::<When>().expect_err(text);
            assert!(error.to_string().contains("RFC 3339"), "{error}");
        }
    }
}
