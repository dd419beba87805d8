//! The clock port: what time it is, and waiting. Use cases never call `SystemTime::now` or
//! `tokio::time::sleep` themselves, so expiry and the response-time floor are testable with
//! a [`FixedClock`].

use std::fmt;
use std::ops::Add;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant in whole seconds since the Unix epoch: the unit of `expires_at` (DynamoDB's TTL
/// attribute), `created_at`, `password_changed_at` and the IP windows. A type of its own so a
/// lifetime, a count or milliseconds cannot be passed where an instant is meant: the only
/// arithmetic is an instant plus a [`Duration`], and the two expiry boundaries are comparisons
/// of instants (`TokenRecord::is_live`, `SlotRecord::is_live`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpochSecs(u64);

impl EpochSecs {
    /// The instant `secs` seconds after the epoch.
    pub const fn new(secs: u64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch, for the store's number attributes and the wire.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `secs` seconds later.
    pub const fn plus_secs(self, secs: u64) -> Self {
        Self(self.0 + secs)
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// The start of the fixed window of `len` that holds this instant (windows are aligned to
    /// the epoch, so every process agrees on them).
    pub fn window_start(self, len: Duration) -> Self {
        let len = len.as_secs().max(1);
        Self(self.0 - self.0 % len)
    }
}

impl Add<Duration> for EpochSecs {
    type Output = Self;

    /// Whole seconds of `d` later (sub-second parts are dropped, as the store keeps seconds).
    fn add(self, d: Duration) -> Self {
        Self(self.0 + d.as_secs())
    }
}

impl fmt::Display for EpochSecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Time source and sleeper.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);

    /// Now in whole seconds: the unit of `expires_at`.
    fn now_secs(&self) -> EpochSecs {
        EpochSecs(self.now_ms() / 1000)
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
    /// A clock standing at `at`.
    pub fn at(at: EpochSecs) -> Self {
        Self {
            state: Mutex::new((at.get() * 1000, Duration::ZERO)),
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
