//! In-memory rate limiter: for local runs and unit tests. Its counts live in one process, so a
//! deployment of several execution environments needs [`crate::dynamodb::DynamoDbRateLimiter`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use bridge_domain::clock::{Clock, SystemClock};
use bridge_domain::ports::rate_limit::{Admission, RateLimitError, RateLimiter, slide};

pub struct MemoryRateLimiter {
    /// Admission times (epoch ms) per key, oldest first.
    hits: Mutex<HashMap<String, Vec<i64>>>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryRateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            hits: Mutex::new(HashMap::new()),
            clock,
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn admit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<Admission, RateLimitError> {
        let now = self.clock.now_epoch_ms();
        let mut all = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        let hits = all.entry(key.to_owned()).or_default();
        Ok(slide(hits, now, limit, window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_domain::clock::ManualClock;

    #[tokio::test]
    async fn the_window_slides_with_the_oldest_admission() {
        let clock = Arc::new(ManualClock::starting_at(1_000));
        let limiter = MemoryRateLimiter::with_clock(clock.clone());
        let window = Duration::from_secs(600);
        for _ in 0..3 {
            assert_eq!(
                limiter.admit("k", 3, window).await.unwrap(),
                Admission::Admitted
            );
            clock.advance(100);
        }
        // 300 s after the first admission: it still counts for 300 s more.
        assert_eq!(
            limiter.admit("k", 3, window).await.unwrap(),
            Admission::Refused {
                retry_after: Duration::from_secs(300)
            }
        );
        assert_eq!(
            limiter.admit("other", 3, window).await.unwrap(),
            Admission::Admitted
        );
        clock.advance(300);
        assert_eq!(
            limiter.admit("k", 3, window).await.unwrap(),
            Admission::Admitted
        );
    }
}
