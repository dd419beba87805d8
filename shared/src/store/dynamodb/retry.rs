//! Bounded retries with full-jitter exponential backoff, for the writes the SDK does not retry
//! itself: a transaction cancelled by `TransactionConflict` (another transaction touched the
//! same items at that moment) is worth one or two more tries, a little later and at a random
//! moment so the contenders do not collide again.

use std::future::Future;
use std::time::Duration;

use rand::TryRng;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Ceiling of the first wait; it doubles after every try, up to `cap`.
    pub base: Duration,
    /// Ceiling of any one wait.
    pub cap: Duration,
}

/// For the consume transaction: three tries, waits of at most 20 ms then 40 ms (cap 80 ms), so
/// a persistent conflict costs at most 60 ms of waiting before the caller gets a 503.
pub(crate) const TRANSACTION_CONFLICT: Backoff = Backoff {
    attempts: 3,
    base: Duration::from_millis(20),
    cap: Duration::from_millis(80),
};

/// What one try decided.
#[derive(Debug)]
pub(crate) enum Step<T> {
    /// Finished, for better or worse: return this.
    Done(T),
    /// Transient: try again if tries are left.
    Again,
}

impl Backoff {
    /// The largest wait before try `retry + 1` (`retry` >= 1): `base * 2^(retry-1)`, capped.
    pub(crate) fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: uniform in `[0, ceiling(retry)]`.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_micros() as u64;
        let draw = rand::rngs::SysRng.try_next_u64().unwrap_or(ceiling / 2);
        Duration::from_micros(draw % (ceiling + 1))
    }
}

/// Runs `attempt` until it is [`Step::Done`] or the tries are spent (`None`), sleeping a
/// jittered backoff between tries.
pub(crate) async fn retry<T, F, Fut>(policy: Backoff, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Step<T>>,
{
    for n in 0..policy.attempts {
        if n > 0 {
            tokio::time::sleep(policy.delay(n)).await;
        }
        if let Step::Done(out) = attempt().await {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const FAST: Backoff = Backoff {
        attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(4),
    };

    #[test]
    fn waits_double_from_the_base_and_stop_at_the_cap() {
        let p = TRANSACTION_CONFLICT;
        let ceilings: Vec<u128> = (1..=5).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, [20, 40, 80, 80, 80]);
        assert_eq!(
            p.ceiling(u32::MAX),
            p.cap,
            "no overflow on absurd retry counts"
        );
    }

    #[test]
    fn every_wait_is_drawn_between_zero_and_its_ceiling() {
        for retry in 1..=4 {
            let ceiling = TRANSACTION_CONFLICT.ceiling(retry);
            let draws: Vec<Duration> = (0..200)
                .map(|_| TRANSACTION_CONFLICT.delay(retry))
                .collect();
            assert!(draws.iter().all(|d| *d <= ceiling), "retry {retry}");
            // 200 draws from a uniform range are not all equal (jitter, not a fixed wait).
            assert!(draws.iter().any(|d| *d != draws[0]), "retry {retry}");
        }
    }

    #[tokio::test]
    async fn a_transient_failure_every_time_gives_up_after_the_bounded_tries() {
        let tries = Cell::new(0);
        let out: Option<()> = retry(FAST, || {
            tries.set(tries.get() + 1);
            async { Step::Again }
        })
        .await;
        assert_eq!(out, None);
        assert_eq!(tries.get(), 3);
    }

    #[tokio::test]
    async fn the_first_decisive_answer_ends_the_retries() {
        let tries = Cell::new(0);
        let out = retry(FAST, || {
            tries.set(tries.get() + 1);
            let n = tries.get();
            async move { if n == 2 { Step::Done(n) } else { Step::Again } }
        })
        .await;
        assert_eq!(out, Some(2));
        assert_eq!(tries.get(), 2);
    }
}
