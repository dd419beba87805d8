//! The clock port: what time it is, and waiting. Use cases never call `SystemTime::now` or
//! `tokio::time::sleep` themselves, so expiry and the response-time floor are testable with
//! a [`FixedClock`].

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time source and sleeper.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);

    /// Seconds since the Unix epoch: the unit of `expires_at`.
    fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock that only moves when told to. `sleep` returns at once and advances the clock, and
/// the total slept is recorded, so tests can assert on waiting without waiting.
#[derive(Debug)]
pub struct FixedClock {
    state: Mutex<(u64, Duration)>,
}

impl FixedClock {
    /// A clock standing at `epoch_secs`.
    pub fn at(epoch_secs: u64) -> Self {
        Self {
            state: Mutex::new((epoch_secs * 1000, Duration::ZERO)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut s = self.state.lock().expect("clock lock");
        s.0 += by.as_millis() as u64;
    }

    /// Total time passed to [`Clock::sleep`] so far.
    pub fn slept(&self) -> Duration {
        self.state.lock().expect("clock lock").1
    }
}

#[async_trait::async_trait]
impl Clock for FixedClock {
    fn now_ms(&self) -> u64 {
        self.state.lock().expect("clock lock").0
    }

    async fn sleep(&self, duration: Duration) {
        let mut s = self.state.lock().expect("clock lock");
        s.0 += duration.as_millis() as u64;
        s.1 += duration;
    }
}
