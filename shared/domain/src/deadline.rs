//! One representation of "by when": a monotonic instant every port call and flow honours.
//!
//! Lambda gives its deadline as epoch milliseconds; cargo-lambda's local runtime sends a
//! duration in the same field. [`Deadline::from_lambda_ms`] reads both, once, at the edge.

use std::time::Duration;

use tokio::time::Instant;

/// The moment a piece of work must be done by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(Instant);

/// 2001-09-09 in epoch milliseconds: any real Lambda deadline is later, anything smaller is a
/// local runtime's duration.
const EPOCH_FLOOR_MS: u64 = 1_000_000_000_000;

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self(Instant::now() + budget)
    }

    /// A Lambda context's deadline (epoch milliseconds, or a local runtime's duration).
    /// `None` for a zero (default) context.
    pub fn from_lambda_ms(deadline_ms: u64) -> Option<Self> {
        match deadline_ms {
            0 => None,
            ms if ms < EPOCH_FLOOR_MS => Some(Self::after(Duration::from_millis(ms))),
            ms => Self::from_epoch_ms(ms),
        }
    }

    /// A deadline given as epoch milliseconds; `None` for anything that is not one (a default
    /// context's zero, a local runtime's duration).
    pub fn from_epoch_ms(deadline_ms: u64) -> Option<Self> {
        (deadline_ms >= EPOCH_FLOOR_MS).then(|| {
            Self::after(Duration::from_millis(
                deadline_ms.saturating_sub(epoch_ms()),
            ))
        })
    }

    pub fn instant(self) -> Instant {
        self.0
    }

    pub fn time_left(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    pub fn is_past(self) -> bool {
        Instant::now() >= self.0
    }

    /// The earlier of the two.
    pub fn min(self, other: Self) -> Self {
        Self(self.0.min(other.0))
    }

    /// This deadline moved earlier by `margin` (time kept to answer and log).
    pub fn less(self, margin: Duration) -> Self {
        Self::after(self.time_left().saturating_sub(margin))
    }

    /// The deadline as epoch milliseconds, for records other processes read (ledger claims).
    pub fn epoch_ms(self) -> i64 {
        i64::try_from(epoch_ms().saturating_add(duration_ms(self.time_left()))).unwrap_or(i64::MAX)
    }
}

impl From<Instant> for Deadline {
    fn from(instant: Instant) -> Self {
        Self(instant)
    }
}

/// Whole milliseconds of `duration`, saturating.
pub fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(duration_ms)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lambda_deadlines_are_epoch_milliseconds_or_a_local_runtimes_duration() {
        let in_a_minute = epoch_ms() + 60_000;
        let left = Deadline::from_lambda_ms(in_a_minute).unwrap().time_left();
        assert!(
            left > Duration::from_secs(55) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        let local = Deadline::from_lambda_ms(600_000).unwrap().time_left();
        assert!(local > Duration::from_secs(595), "{local:?}");
        assert_eq!(
            Deadline::from_lambda_ms(epoch_ms() - 1)
                .unwrap()
                .time_left(),
            Duration::ZERO
        );
        assert_eq!(Deadline::from_lambda_ms(0), None);
    }
}
