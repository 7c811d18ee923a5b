//! Time as a port, so expiry logic can be tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now_epoch_secs(&self) -> i64;

    /// Milliseconds since the Unix epoch (claims and leases are timed to the millisecond).
    fn now_epoch_ms(&self) -> i64 {
        self.now_epoch_secs().saturating_mul(1000)
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_epoch_secs(&self) -> i64 {
        jiff::Timestamp::now().as_second()
    }

    fn now_epoch_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn starting_at(epoch_secs: i64) -> Self {
        Self {
            now: AtomicI64::new(epoch_secs),
        }
    }

    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_epoch_secs(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}
