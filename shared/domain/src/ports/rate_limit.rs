//! The rate-limit port: how many events a key saw lately, shared by every execution environment
//! of a deployment. Click-to-call counts its calls with it (per manager and per deployment) and
//! spends its single-use confirmations on it.
//!
//! The window slides: an event counts for exactly `window` after it was admitted, so "30 per
//! 10 minutes" holds for every 10-minute span, not only for spans that start on the clock's
//! tens.

use std::time::Duration;

use async_trait::async_trait;

/// Whether one more event was admitted under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted: fewer than the limit were admitted in the window before it.
    Admitted,
    /// Not counted: the limit was reached. `retry_after`: when the oldest counted event leaves
    /// the window (at least one second).
    Refused { retry_after: Duration },
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    /// The store could not be reached, refused the request, or stayed contended after the
    /// retries. Click-to-call then refuses the call: a limit that fails open limits nothing.
    #[error("rate-limit store unavailable: {0}")]
    Unavailable(String),
    /// The store answered with an entry this version cannot read.
    #[error("rate-limit entry `{key}` is malformed: {reason}")]
    Malformed { key: String, reason: String },
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Admits one event under `key` when fewer than `limit` were admitted in the `window`
    /// before now, and records it; otherwise records nothing. Concurrent callers never admit
    /// more than `limit` together.
    async fn admit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Admission, RateLimitError>;
}

/// The keys of click-to-call's counters, under one prefix of their own in the cache table (the
/// click-to-call function's IAM policy reaches only keys that start with it).
pub mod keys {
    /// Every click-to-call key starts with it.
    pub const PREFIX: &str = "click-to-call#";

    /// Calls of one manager (their CRM user id).
    pub fn manager(crm_user_id: &str) -> String {
        format!("{PREFIX}manager#{crm_user_id}")
    }

    /// Calls of the whole deployment.
    pub fn deployment() -> String {
        format!("{PREFIX}deployment")
    }

    /// One confirmation (its signature), spent by the call it starts.
    pub fn confirmation(signature: &str) -> String {
        format!("{PREFIX}confirmation#{signature}")
    }
}

/// One sliding-window decision, the same for every store: `hits` (epoch ms of the events
/// admitted under a key) loses what left the window before `now`; under `limit` the event is
/// admitted and `now` added, else refused until the oldest hit leaves the window.
pub fn slide(hits: &mut Vec<i64>, now: i64, limit: u32, window: Duration) -> Admission {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    hits.retain(|&at| at > now.saturating_sub(window_ms));
    if hits.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
        let oldest = hits.iter().copied().min().unwrap_or(now);
        return Admission::Refused {
            retry_after: retry_after_ms(oldest.saturating_add(window_ms) - now),
        };
    }
    hits.push(now);
    Admission::Admitted
}

/// Seconds a client should wait, from the milliseconds until an event leaves its window:
/// rounded up, at least one (`Retry-After` has whole seconds, and 0 would invite a retry loop).
pub fn retry_after_ms(ms: i64) -> Duration {
    let ms = u64::try_from(ms).unwrap_or(0);
    Duration::from_secs(ms.div_ceil(1000).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_never_says_zero() {
        assert_eq!(retry_after_ms(1), Duration::from_secs(1));
        assert_eq!(retry_after_ms(1000), Duration::from_secs(1));
        assert_eq!(retry_after_ms(1001), Duration::from_secs(2));
        assert_eq!(retry_after_ms(0), Duration::from_secs(1));
        assert_eq!(retry_after_ms(-5), Duration::from_secs(1));
    }
}
